#include "context/appsettings.h"

#include "run/blockingpool.h"
#include "run/engine.h"
#include "run/loopmonitor.h"

#include <algorithm>

namespace flowdeck::appsettings {

namespace {

const QString BlockingThreadsKey = QStringLiteral("Engine/blockingThreads");
const QString LoopLagThresholdKey = QStringLiteral("Engine/loopLagThresholdMs");
const QString FlowFoldersKey = QStringLiteral("Flows/folders");
const QString FlowFilesKey = QStringLiteral("Flows/files");
const QString DatabaseLocationKey = QStringLiteral("Database/location");
const QString PoolSizeKey = QStringLiteral("Database/poolSize");
const QString PoolOverflowKey = QStringLiteral("Database/maxOverflow");
const QString PoolTimeoutKey = QStringLiteral("Database/timeoutS");
const QString RunsStatesKey = QStringLiteral("Runs/filterStates");
const QString RunsFlowKey = QStringLiteral("Runs/filterFlow");
const QString RunsRangeKey = QStringLiteral("Runs/filterRange");
const QString RunsFromKey = QStringLiteral("Runs/filterFrom");
const QString RunsToKey = QStringLiteral("Runs/filterTo");
const QString RunsSearchKey = QStringLiteral("Runs/filterSearch");
const QString NotifyFailuresKey = QStringLiteral("Notifications/failures");
const QString NotifyCompletionsKey = QStringLiteral("Notifications/completions");
const QString NotifyApprovalsKey = QStringLiteral("Notifications/approvals");
const QString KeepInTrayKey = QStringLiteral("Notifications/keepInTray");

} // namespace

QSettings open()
{
    return QSettings(QStringLiteral("Flowdeck"), QStringLiteral("Flowdeck"));
}

int blockingThreads()
{
    const int value = open().value(BlockingThreadsKey, BlockingPool::DefaultThreads).toInt();
    return value > 0 ? value : BlockingPool::DefaultThreads;
}

void setBlockingThreads(int threads)
{
    open().setValue(BlockingThreadsKey, threads);
}

qint64 maxResultBytes()
{
    const qint64 value
        = open().value(QStringLiteral("Engine/maxResultBytes"), Engine::DefaultMaxResultBytes).toLongLong();
    return value > 0 ? value : Engine::DefaultMaxResultBytes;
}

void setMaxResultBytes(qint64 bytes)
{
    open().setValue(QStringLiteral("Engine/maxResultBytes"), bytes);
}

int loopLagThresholdMs()
{
    const int value = open().value(LoopLagThresholdKey, LoopMonitor::DefaultThresholdMs).toInt();
    return value > 0 ? value : LoopMonitor::DefaultThresholdMs;
}

void setLoopLagThresholdMs(int ms)
{
    open().setValue(LoopLagThresholdKey, ms);
}

QStringList flowFolders()
{
    return open().value(FlowFoldersKey).toStringList();
}

void setFlowFolders(const QStringList& folders)
{
    open().setValue(FlowFoldersKey, folders);
}

QStringList flowFiles()
{
    return open().value(FlowFilesKey).toStringList();
}

void setFlowFiles(const QStringList& files)
{
    open().setValue(FlowFilesKey, files);
}

QString databaseLocation()
{
    return open().value(DatabaseLocationKey).toString();
}

void setDatabaseLocation(const QString& location)
{
    QSettings settings = open();
    if (location.trimmed().isEmpty())
        settings.remove(DatabaseLocationKey);
    else
        settings.setValue(DatabaseLocationKey, location.trimmed());
}

PoolOptions poolOptions()
{
    const QSettings settings = open();
    PoolOptions options;
    options.poolSize = std::max(1, settings.value(PoolSizeKey, options.poolSize).toInt());
    options.maxOverflow = std::max(0, settings.value(PoolOverflowKey, options.maxOverflow).toInt());
    const double timeout = settings.value(PoolTimeoutKey, options.timeoutS).toDouble();
    options.timeoutS = timeout > 0 ? timeout : PoolOptions{}.timeoutS;
    return options;
}

void setPoolOptions(const PoolOptions& options)
{
    QSettings settings = open();
    settings.setValue(PoolSizeKey, options.poolSize);
    settings.setValue(PoolOverflowKey, options.maxOverflow);
    settings.setValue(PoolTimeoutKey, options.timeoutS);
}

RunsFilter runsFilter()
{
    const QSettings settings = open();
    RunsFilter filter;
    filter.states = settings.value(RunsStatesKey).toStringList();
    filter.flow = settings.value(RunsFlowKey).toString();
    filter.range = settings.value(RunsRangeKey).toString();
    filter.from = settings.value(RunsFromKey).toDateTime();
    filter.to = settings.value(RunsToKey).toDateTime();
    filter.search = settings.value(RunsSearchKey).toString();
    return filter;
}

void setRunsFilter(const RunsFilter& filter)
{
    QSettings settings = open();
    settings.setValue(RunsStatesKey, filter.states);
    settings.setValue(RunsFlowKey, filter.flow);
    settings.setValue(RunsRangeKey, filter.range);
    settings.setValue(RunsFromKey, filter.from);
    settings.setValue(RunsToKey, filter.to);
    settings.setValue(RunsSearchKey, filter.search);
}

NotifyOptions notifyOptions()
{
    const QSettings settings = open();
    const NotifyOptions defaults;
    NotifyOptions options;
    options.failures = settings.value(NotifyFailuresKey, defaults.failures).toBool();
    options.completions = settings.value(NotifyCompletionsKey, defaults.completions).toBool();
    options.approvals = settings.value(NotifyApprovalsKey, defaults.approvals).toBool();
    return options;
}

void setNotifyOptions(const NotifyOptions& options)
{
    QSettings settings = open();
    settings.setValue(NotifyFailuresKey, options.failures);
    settings.setValue(NotifyCompletionsKey, options.completions);
    settings.setValue(NotifyApprovalsKey, options.approvals);
}

bool keepInTray(bool schedulesExist)
{
    return open().value(KeepInTrayKey, schedulesExist).toBool();
}

bool keepInTrayIsSet()
{
    return open().contains(KeepInTrayKey);
}

void setKeepInTray(bool keep)
{
    open().setValue(KeepInTrayKey, keep);
}

} // namespace flowdeck::appsettings
