#include "appsettings.h"

#include "blockingpool.h"
#include "loopmonitor.h"

namespace flowdeck::appsettings {

namespace {

const QString BlockingThreadsKey = QStringLiteral("Engine/blockingThreads");
const QString LoopLagThresholdKey = QStringLiteral("Engine/loopLagThresholdMs");
const QString FlowFoldersKey = QStringLiteral("Flows/folders");
const QString FlowFilesKey = QStringLiteral("Flows/files");

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

} // namespace flowdeck::appsettings
