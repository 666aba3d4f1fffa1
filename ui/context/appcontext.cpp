#include "context/appcontext.h"

#include "context/appsettings.h"
#include "context/dirtyrows.h"
#include "flow/flowparser.h"
#include "flow/taskkind.h"
#include "run/engine.h"
#include "run/flowrun.h"
#include "session/runlimitgate.h"
#include "session/scheduleservice.h"
#include "session/session.h"

#include <QCoreApplication>
#include <QDeadlineTimer>
#include <QEvent>
#include <QScopeGuard>
#include <QTimer>
#include <QWidget>

#include <algorithm>
#ifdef __GLIBC__
#include <malloc.h>
#endif

namespace flowdeck {

namespace {

template<typename T>
void appendUnique(std::vector<T>& list, T value)
{
    if (std::find(list.begin(), list.end(), value) == list.end())
        list.push_back(value);
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
            if (e.isNew && !e.taskRun->node->def->tags.isEmpty())
                c.m_limits->noteLocalTagged(e.taskRun->id);
            for (DirtyRows* rows : c.m_dirtyRows) {
                if (rows->flowRun() == e.flowRun)
                    rows->mark(*e.taskRun);
            }
        } else {
            if (e.isNew) {
                c.m_pending.startedFlowRuns.push_back(e.flowRun);
                c.noteContinued(e.flowRun);
            }
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
        c.m_logs.append(e.flowRun,
                        {e.timeUs, e.level, e.taskRun ? taskRunLabel(*e.taskRun) : QString(), e.message});
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
    , m_database(std::make_unique<DatabaseConnection>(*m_engine))
    , m_history(std::make_unique<RunHistory>(*m_engine, *m_database, m_logs))
    , m_limits(std::make_unique<TagLimits>(*m_engine, *m_database))
    , m_globalLimits(std::make_unique<GlobalLimits>(*m_engine, *m_database))
    , m_approvals(std::make_unique<Approvals>(*m_engine, *m_database))
    , m_operations(std::make_unique<RunOperations>(*m_engine, *m_database, *m_history))
    , m_workers(*m_database)
{
    qRegisterMetaType<flowdeck::UpdateBatch>();
    m_scheduleList = std::make_unique<Schedules>(*m_database);
    connect(m_scheduleList.get(), &Schedules::message, this, &AppContext::message);
    // A schedule added, changed, paused or resumed here is planned at once, not at the next plan.
    connect(m_scheduleList.get(), &Schedules::written, this, [this] {
        if (m_schedules)
            m_schedules->wake();
    });
    m_notifier = std::make_unique<Notifier>(*this);
    m_notifier->setOptions(appsettings::notifyOptions());
    m_engine->blockingPool().setMaxThreads(appsettings::blockingThreads());
    m_engine->setDefaultMaxResultBytes(appsettings::maxResultBytes());
    m_engine->loopMonitor().setThresholdMs(appsettings::loopLagThresholdMs());
    m_engine->addObserver(m_observer.get());
    // The runs this dashboard starts say so in the store (flow_runs.started_by) and on the Run page.
    m_engine->setStartedBy(RunOperations::identity());
    // No heap trim after big runs here: it would hold the GUI thread's allocations for tens of ms.
    m_engine->setTrimAfterLargeRuns(false);
#ifdef __GLIBC__
    // glibc keeps small freed chunks in "fast bins", unmerged, and merges them all in the next large
    // allocation (malloc_consolidate). While a large flow run frees its finished task runs, that one
    // allocation held the GUI thread for 26-30 ms (a coalesced update, in a 500k-run flow). Without
    // fast bins each free merges its chunk as it goes: the same work, spread over the frees.
    mallopt(M_MXFAST, 0);
#endif

    m_tickTimer->setSingleShot(true);
    m_tickTimer->setInterval(TickIntervalMs);
    connect(m_tickTimer, &QTimer::timeout, this, &AppContext::tick);
    m_pulseTimer->setInterval(PulseIntervalMs);
    connect(m_pulseTimer, &QTimer::timeout, this, &AppContext::pulse);
    m_pulseTimer->start();
    // The store's view of limits (other processes' slots and waiters) is read on the pulse.
    connect(m_pulseTimer, &QTimer::timeout, m_limits.get(), &TagLimits::refresh);
    connect(m_pulseTimer, &QTimer::timeout, m_globalLimits.get(), &GlobalLimits::refresh);
    // So are the approvals waiting in other processes (the partial index of waiting task runs).
    connect(m_pulseTimer, &QTimer::timeout, m_approvals.get(), &Approvals::refresh);
    // Runs started while the database opens are held back: their first transition must be stored.
    connect(m_database.get(), &DatabaseConnection::openEnded, this, &AppContext::startDeferred);
    connect(m_history.get(), &RunHistory::runsUpdated, this, &AppContext::applyHistory);
    connect(m_database.get(), &DatabaseConnection::message, this, &AppContext::message);
    connect(m_history.get(), &RunHistory::message, this, &AppContext::message);
    connect(m_limits.get(), &TagLimits::message, this, &AppContext::message);
    connect(m_globalLimits.get(), &GlobalLimits::message, this, &AppContext::message);
    connect(m_approvals.get(), &Approvals::message, this, &AppContext::message);
    connect(m_operations.get(), &RunOperations::message, this, &AppContext::message);
    // The dashboard fires schedules like every worker does, while its database is open.
    connect(m_database.get(), &DatabaseConnection::stateChanged, this, [this](DatabaseState state) {
        delete m_schedules.data();
        delete m_gate.data();
        if (state != DatabaseState::Open || !m_database->session())
            return;
        // The flows started here count their max_active_runs with every process on the database.
        m_gate = new RunLimitGate(*m_engine, *m_database->session(), this);
        // Retry and resume in this process pass the same gate.
        m_operations->setRunLimits(m_gate.data());
        connect(m_gate.data(), &RunLimitGate::problem, this, &AppContext::message);
        connect(m_gate.data(), &RunLimitGate::waiting, this,
                [this](const QString& id, const QString& flowName, const QString& why) {
                    Q_EMIT message(tr("%1 waits (flow run %2, SCHEDULED on the Runs page): %3")
                                       .arg(flowName, id.left(8), why));
                });
        m_schedules = new ScheduleService(*m_engine, *m_database->session(), {}, this);
        connect(m_schedules.data(), &ScheduleService::problem, this, &AppContext::message);
        m_schedules->start();
    });
}

AppContext::~AppContext()
{
    // The engine cancels what still runs when it goes; nothing of that should reach the pages.
    m_engine->removeObserver(m_observer.get());
    delete m_schedules.data();
    delete m_gate.data();
    m_database->detach();
    m_operations.reset();
    m_notifier.reset();
    m_scheduleList.reset();
    m_approvals.reset();
    m_limits.reset();
    m_globalLimits.reset();
    m_history.reset();
    // The store calls the engine's scheduler until it is gone: it goes first.
    m_database.reset();
    Session::freeReleased();
    m_engine.reset();
}

ScheduleService* AppContext::schedules() const
{
    return m_schedules.data();
}

RunLimitGate* AppContext::runLimits() const
{
    return m_gate.data();
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

FlowRun* AppContext::startFlow(const FlowDefinition& flow, const QString& startedBy)
{
    if (const QString failure = m_database->writeFailure(); !failure.isEmpty()) {
        // It would run unsaved; the user frees space and reconnects first.
        Q_EMIT message(tr("%1 cannot start: the database cannot be written (%2); free space, then "
                          "reconnect (Retry in the status bar)")
                           .arg(flow.name, failure));
        return nullptr;
    }
    if (m_database->state() == DatabaseState::Opening) {
        // Runs are durable from their first transition: they start once the store is attached.
        m_deferred.emplace_back(flow, startedBy);
        Q_EMIT message(tr("%1 starts once the database is open").arg(flow.name));
        return nullptr;
    }
    return startNow(flow, startedBy);
}

FlowRun* AppContext::startNow(const FlowDefinition& flow, const QString& startedBy)
{
    if (m_gate && m_gate->limits(flow)) {
        auto task = startLimited(this, flow, startedBy.isEmpty() ? RunOperations::identity() : startedBy);
        return nullptr;
    }
    // The engine stamps each run it starts with who started it: this one's, then the dashboard's again.
    if (!startedBy.isEmpty())
        m_engine->setStartedBy(startedBy);
    const auto restore = qScopeGuard([this, &startedBy] {
        if (!startedBy.isEmpty())
            m_engine->setStartedBy(RunOperations::identity());
    });
    // Called from Qt's event loop (a click, a deferred start): an exception must not escape into it.
    try {
        return m_engine->start(flow);
    } catch (const std::exception& e) {
        Q_EMIT message(tr("%1 cannot start: %2").arg(flow.name, QString::fromUtf8(e.what())));
        return nullptr;
    }
}

QCoro::Task<> AppContext::startLimited(QPointer<AppContext> self, FlowDefinition flow, QString startedBy)
{
    QPointer<RunLimitGate> gate = self->m_gate;
    auto passing = gate->start(flow, startedBy);
    const GateOutcome out = co_await passing;
    if (!self)
        co_return;
    const QString shortId = out.id.left(8);
    switch (out.kind) {
    case GateOutcome::Started:
        Q_EMIT self->message(tr("Started %1").arg(flow.name));
        Q_EMIT self->limitedRunStarted(out.run);
        break;
    case GateOutcome::Skipped:
        Q_EMIT self->message(tr("%1 skipped (flow run %2): %3").arg(flow.name, shortId, out.message));
        break;
    case GateOutcome::Cancelled:
        Q_EMIT self->message(
            tr("%1 cancelled while it waited (flow run %2): %3").arg(flow.name, shortId, out.message));
        break;
    case GateOutcome::Failed:
        Q_EMIT self->message(tr("%1 cannot start: %2").arg(flow.name, out.message));
        break;
    }
}

void AppContext::startDeferred()
{
    std::vector<std::pair<FlowDefinition, QString>> flows;
    std::swap(flows, m_deferred);
    for (const auto& [flow, startedBy] : flows) {
        if (startNow(flow, startedBy))
            Q_EMIT message(tr("Started %1").arg(flow.name)); // replaces "starts once the database is open"
    }
}

bool AppContext::cancelFlowRun(FlowRun* run)
{
    if (!m_history->isStored(run))
        return m_engine->cancelFlowRun(run, tr("cancelled from the dashboard"));
    // Another process runs it (or ran it): ask that process through the store.
    return m_history->requestCancel(run);
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
    if (!runs.empty())
        return runs.back().get();
    const std::vector<FlowRun*>& stored = m_history->runs();
    return stored.empty() ? nullptr : stored.front();
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

int AppContext::failedFlowRunsSince(qint64 sinceUs) const
{
    auto failedSince = [sinceUs](const FlowRun& run) {
        return (run.type == StateType::Failed || run.type == StateType::Crashed) && run.endedUs >= sinceUs;
    };
    // An earlier copy of a run that went on (a retry) no longer counts.
    int n = 0;
    for (const auto& run : m_engine->flowRuns())
        n += failedSince(*run) && !m_continuedAs.contains(run.get()) ? 1 : 0;
    for (const FlowRun* run : m_history->runs())
        n += failedSince(*run) && !m_continuedAs.contains(run) ? 1 : 0;
    return n;
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

void AppContext::watchLoopFromFirstFrame(QWidget* window)
{
    m_engine->loopMonitor().stop();
    m_firstFrameOf = window;
    window->installEventFilter(this);
    // Should no frame come (a window never shown), the loop is watched all the same.
    QTimer::singleShot(FirstFrameWaitMs, this, &AppContext::startLoopWatch);
}

bool AppContext::eventFilter(QObject* watched, QEvent* event)
{
    if (watched == m_firstFrameOf && event->type() == QEvent::Paint) {
        m_firstFrameOf->removeEventFilter(this);
        m_firstFrameOf = nullptr;
        // After this paint event returns the frame is flushed: watch from the next loop iteration.
        QTimer::singleShot(0, this, &AppContext::startLoopWatch);
    }
    return QObject::eventFilter(watched, event);
}

void AppContext::startLoopWatch()
{
    if (m_firstFrameOf) {
        m_firstFrameOf->removeEventFilter(this);
        m_firstFrameOf = nullptr;
    }
    m_engine->loopMonitor().start(); // no-op when it runs already
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
    // Runs waiting for their max_active_runs end CANCELLED in the database, not left to recovery.
    const auto waiting = [this] { return m_gate && !m_gate->waitingIds().isEmpty(); };
    if (waiting()) {
        auto task
            = m_gate->cancelAll(tr("the dashboard closed while the run waited for its max_active_runs"));
    }
    // At exit only (main() after QApplication::exec() returned, and test teardown): this pumps events
    // while the cancelled runs wind down; their coroutines must finish before the engine goes.
    QDeadlineTimer deadline(timeoutMs);
    while ((m_engine->activeFlowRuns() > 0 || waiting()) && !deadline.hasExpired())
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

void AppContext::noteContinued(FlowRun* run)
{
    // A flow-level event, once per flow run: a scan of the session's flow runs is cheap here.
    FlowRun* earlier = nullptr;
    for (const auto& other : m_engine->flowRuns()) {
        if (other.get() != run && other->id == run->id && !m_continuedAs.contains(other.get()))
            earlier = other.get();
    }
    if (!earlier) {
        FlowRun* stored = m_history->storedRun(run->id.toString());
        if (stored && !m_continuedAs.contains(stored))
            earlier = stored;
    }
    if (!earlier)
        return;
    m_continuedAs.insert(earlier, run);
    m_pending.continuedFlowRuns.emplace_back(earlier, run);
}

void AppContext::applyHistory(const QList<FlowRun*>& added, const QList<FlowRun*>& changed)
{
    for (FlowRun* run : changed)
        appendUnique(m_pending.changedFlowRuns, run);
    // Added newest first; started runs go oldest first, as the engine's do.
    for (auto it = added.rbegin(); it != added.rend(); ++it) {
        m_pending.startedFlowRuns.push_back(*it);
        appendUnique(m_pending.changedFlowRuns, *it);
    }
    scheduleTick();
}

} // namespace flowdeck
