#include "appcontext.h"

#include "appsettings.h"
#include "dirtyrows.h"
#include "engine.h"
#include "flowparser.h"
#include "taskkind.h"

#include <QCoreApplication>
#include <QDeadlineTimer>
#include <QTimer>

#include <algorithm>

namespace flowdeck {

namespace {

template<typename T>
void appendUnique(std::vector<T>& list, T value)
{
    if (std::find(list.begin(), list.end(), value) == list.end())
        list.push_back(value);
}

QString runLabel(const TaskRun& run)
{
    return run.mapIndex >= 0 ? QStringLiteral("%1[%2]").arg(run.taskId()).arg(run.mapIndex) : run.taskId();
}

} // namespace

//! On the engine's hot path: records, never signals. Everything is applied at the next tick.
class AppContext::Observer final : public EngineObserver {
public:
    explicit Observer(AppContext& context)
        : m_context(context)
    {
    }

    void onTransition(const TransitionEvent& e) override
    {
        AppContext& c = m_context;
        if (e.flowRun != c.m_lastChanged) {
            c.m_lastChanged = e.flowRun;
            appendUnique(c.m_pending.changedFlowRuns, e.flowRun);
        }
        if (e.taskRun) {
            for (DirtyRows* rows : c.m_dirtyRows) {
                if (rows->flowRun() == e.flowRun)
                    rows->mark(*e.taskRun);
            }
        } else {
            if (e.isNew)
                c.m_pending.startedFlowRuns.push_back(e.flowRun);
            if (isTerminal(e.type))
                c.m_pending.finishedFlowRuns.push_back(e.flowRun);
        }
        c.scheduleTick();
    }

    void onLog(const LogEvent& e) override
    {
        AppContext& c = m_context;
        if (!e.flowRun)
            return;
        LogBuffer& buffer = c.m_logs[e.flowRun];
        buffer.lines.push_back({e.timeUs, e.level, e.taskRun ? runLabel(*e.taskRun) : QString(), e.message});
        if (buffer.lines.size() > size_t(MaxLogLines)) {
            buffer.lines.pop_front();
            ++buffer.firstSeq;
        }
        appendUnique(c.m_pending.flowRunsWithLogs, e.flowRun);
        c.scheduleTick();
    }

    void onStall(const StallRecord& stall) override
    {
        m_context.m_pending.stalls.push_back(stall);
        m_context.scheduleTick();
    }

private:
    AppContext& m_context;
};

AppContext::AppContext(QObject* parent)
    : QObject(parent)
    , m_engine(std::make_unique<Engine>())
    , m_parser(std::make_unique<FlowParser>(TaskKindRegistry::instance()))
    , m_observer(std::make_unique<Observer>(*this))
    , m_tickTimer(new QTimer(this))
    , m_pulseTimer(new QTimer(this))
{
    qRegisterMetaType<flowdeck::UpdateBatch>();
    m_engine->blockingPool().setMaxThreads(appsettings::blockingThreads());
    m_engine->loopMonitor().setThresholdMs(appsettings::loopLagThresholdMs());
    m_engine->addObserver(m_observer.get());

    m_tickTimer->setSingleShot(true);
    m_tickTimer->setInterval(TickIntervalMs);
    connect(m_tickTimer, &QTimer::timeout, this, &AppContext::tick);
    m_pulseTimer->setInterval(PulseIntervalMs);
    connect(m_pulseTimer, &QTimer::timeout, this, &AppContext::pulse);
    m_pulseTimer->start();
}

AppContext::~AppContext()
{
    // The engine cancels what still runs when it goes; nothing of that should reach the pages.
    m_engine->removeObserver(m_observer.get());
    m_engine.reset();
}

FlowRun* AppContext::startFlow(const QJsonObject& document, const QString& source,
                               const QJsonObject& overrides, ValidationErrors* errors)
{
    ValidationErrors found;
    const std::optional<FlowDefinition> flow = m_parser->resolve(document, source, found, overrides);
    if (errors)
        *errors = found;
    if (!flow)
        return nullptr;
    return startFlow(*flow);
}

FlowRun* AppContext::startFlow(const FlowDefinition& flow)
{
    return m_engine->start(flow);
}

bool AppContext::cancelFlowRun(FlowRun* run)
{
    return m_engine->cancelFlowRun(run, tr("cancelled from the dashboard"));
}

bool AppContext::cancelTaskRun(TaskRun* run)
{
    return m_engine->cancelTaskRun(run, tr("cancelled from the dashboard"));
}

const std::vector<std::unique_ptr<FlowRun>>& AppContext::flowRuns() const
{
    return m_engine->flowRuns();
}

FlowRun* AppContext::newestFlowRun() const
{
    const auto& runs = m_engine->flowRuns();
    return runs.empty() ? nullptr : runs.back().get();
}

int AppContext::activeFlowRuns() const
{
    return m_engine->activeFlowRuns();
}

BlockingPoolStats AppContext::blockingPoolStats() const
{
    return m_engine->blockingPool().stats();
}

LagStats AppContext::lagStats() const
{
    return m_engine->loopMonitor().lagStats();
}

std::vector<double> AppContext::lagPerSecond() const
{
    return m_engine->loopMonitor().lagPerSecond();
}

const std::deque<StallRecord>& AppContext::recentStalls() const
{
    return m_engine->loopMonitor().recentStalls();
}

int AppContext::loopLagThresholdMs() const
{
    return m_engine->loopMonitor().thresholdMs();
}

std::array<qint64, StateTypeCount> AppContext::activeTaskRunCounts() const
{
    std::array<qint64, StateTypeCount> counts{};
    for (const auto& run : m_engine->flowRuns()) {
        if (run->isTerminal())
            continue;
        for (int i = 0; i < StateTypeCount; ++i)
            counts[size_t(i)] += run->countByType[size_t(i)];
    }
    return counts;
}

const LogBuffer* AppContext::logs(const FlowRun* run) const
{
    const auto it = m_logs.find(run);
    return it == m_logs.end() ? nullptr : &it->second;
}

void AppContext::setBlockingThreads(int threads)
{
    m_engine->blockingPool().setMaxThreads(threads);
    appsettings::setBlockingThreads(m_engine->blockingPool().maxThreads());
}

void AppContext::setLoopLagThresholdMs(int ms)
{
    m_engine->loopMonitor().setThresholdMs(std::max(1, ms));
    appsettings::setLoopLagThresholdMs(m_engine->loopMonitor().thresholdMs());
}

void AppContext::addDirtyRows(DirtyRows* rows)
{
    appendUnique(m_dirtyRows, rows);
}

void AppContext::removeDirtyRows(DirtyRows* rows)
{
    std::erase(m_dirtyRows, rows);
}

bool AppContext::cancelAllAndWait(int timeoutMs)
{
    for (const auto& run : m_engine->flowRuns()) {
        if (!run->isTerminal())
            m_engine->cancelFlowRun(run.get(), tr("the dashboard is closing"));
    }
    // Only when the window closes: the loop keeps processing events (repaints included) while the
    // cancelled runs wind down, so nothing is blocked; their coroutines must finish before the engine goes.
    QDeadlineTimer deadline(timeoutMs);
    while (m_engine->activeFlowRuns() > 0 && !deadline.hasExpired())
        QCoreApplication::processEvents(QEventLoop::WaitForMoreEvents, 20);
    return m_engine->activeFlowRuns() == 0;
}

void AppContext::flush()
{
    if (m_tickPending) {
        m_tickTimer->stop();
        tick();
    }
    Q_EMIT pulse();
}

void AppContext::scheduleTick()
{
    if (m_tickPending)
        return;
    m_tickPending = true;
    m_tickTimer->start();
}

void AppContext::tick()
{
    m_tickPending = false;
    m_lastChanged = nullptr;
    UpdateBatch batch;
    std::swap(batch, m_pending);
    Q_EMIT updated(batch);
}

} // namespace flowdeck
