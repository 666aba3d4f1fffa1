#include "run/engine.h"

#include "flow/substitution.h"
#include "flow/taskkind.h"
#include "run/clock.h"
#include "run/flowrun.h"

#include <QLoggingCategory>
#include <QNetworkAccessManager>
#include <QRandomGenerator>
#include <QThreadPool>
#include <QTimer>

#include <chrono>
#include <stdexcept>
#include <utility>

#ifdef __GLIBC__
#include <malloc.h>
#endif

Q_LOGGING_CATEGORY(lcEngine, "flowdeck.engine")

namespace flowdeck {

namespace {

// A yield every this many created task runs keeps flow start-up from stalling the loop.
constexpr int MaterializeBatch = 1024;
// After a flow this large, free() has left its many coroutine frames resident: give them back.
constexpr qint64 TrimAfterTaskRuns = 10000;

// A task without runs (map: 0) is over once every task it waits for is, not before: no run of it
// carries that order to its dependents.
bool emptyNodeReady(const FlowRun& flow, const TaskNode& node)
{
    return node.count == 0 && !node.awaitingItems && !node.settled && !node.blocked && node.pendingDeps == 0
        && (node.mapOverUpstream < 0 || flow.nodes[size_t(node.mapOverUpstream)].settled);
}

} // namespace

Engine::Engine(QObject* parent)
    : QObject(parent)
    , m_scheduler(new Scheduler(this))
    , m_loopMonitor(new LoopMonitor(*m_scheduler, this))
    , m_limiter(std::make_unique<ConcurrencyLimiter>(*m_scheduler))
{
    connect(m_loopMonitor, &LoopMonitor::stallEnded, this, &Engine::onStallEnded);
    m_loopMonitor->start();
}

Engine::~Engine()
{
    m_loopMonitor->stop();
    for (auto& flow : m_flowRuns) {
        if (!flow->isTerminal() && flow->type != StateType::Paused)
            cancelFlowRun(flow.get(), QStringLiteral("the engine is shutting down"));
    }
    // A paused flow run stays PAUSED where it is stored, for any process to resume: what remains of it
    // here stops without a word to the observers (a task run still running is run again on resume).
    m_observers.clear();
    m_durability = nullptr;
    m_slotSink = nullptr;
    for (auto& flow : m_flowRuns) {
        if (!flow->isTerminal())
            cancelFlowRun(flow.get(), QStringLiteral("the engine is shutting down"));
    }
    // Blocking bodies poll their tokens (the built-in ones every 20 ms), so this shutdown-only wait is
    // short; the runs they point to must outlive them.
    m_blockingPool.threadPool()->waitForDone();
}

QNetworkAccessManager& Engine::network()
{
    if (!m_network)
        m_network = new QNetworkAccessManager(this);
    return *m_network;
}

void Engine::addObserver(EngineObserver* observer)
{
    if (std::find(m_observers.begin(), m_observers.end(), observer) == m_observers.end())
        m_observers.push_back(observer);
}

void Engine::removeObserver(EngineObserver* observer)
{
    std::erase(m_observers, observer);
}

FlowRun* Engine::start(const FlowDefinition& definition)
{
    return start(definition, RunId::generate(), wallUs());
}

FlowRun& Engine::build(const FlowDefinition& definition, const RunId& id, qint64 createdUs)
{
    auto owned = std::make_unique<FlowRun>();
    FlowRun& flow = *owned;
    flow.id = id;
    flow.def = definition;
    flow.seed = definition.seed ? *definition.seed : QRandomGenerator::system()->generate64() >> 11;
    flow.createdUs = createdUs;
    flow.startedBy = m_startedBy;
    flow.refreshCache = m_refreshCache;

    const int n = int(flow.def.tasks.size());
    flow.nodes.resize(size_t(n));
    std::vector<int> indegree(static_cast<size_t>(n), 0);
    std::vector<std::vector<int>> downstream(static_cast<size_t>(n));
    for (int i = 0; i < n; ++i) {
        TaskNode& node = flow.nodes[size_t(i)];
        node.def = &flow.def.tasks[i];
        node.index = i;
        node.kind = TaskKindRegistry::instance().find(node.def->kind);
        Q_ASSERT_X(node.kind, "Engine::start", "flows must be validated before they run");
        node.config = node.def->config;
        for (const QString& dep : node.def->dependsOn) {
            const int d = flow.def.indexOf(dep);
            downstream[size_t(d)].push_back(i);
            flow.nodes[size_t(d)].dependents.push_back(i);
            ++node.pendingDeps;
            ++indegree[size_t(i)];
        }
        if (!node.def->mapOver.isEmpty()) {
            node.mapOverUpstream = flow.def.indexOf(node.def->mapOver);
            downstream[size_t(node.mapOverUpstream)].push_back(i);
            flow.nodes[size_t(node.mapOverUpstream)].mapOverDependents.push_back(i);
            ++indegree[size_t(i)];
        }
    }
    // Kahn's order: upstream tasks are created (and counted) before the tasks that wait for them.
    for (int i = 0; i < n; ++i) {
        if (indegree[size_t(i)] == 0)
            flow.order.push_back(i);
    }
    for (size_t k = 0; k < flow.order.size(); ++k) {
        for (int d : downstream[size_t(flow.order[k])]) {
            if (--indegree[size_t(d)] == 0)
                flow.order.push_back(d);
        }
    }
    Q_ASSERT(int(flow.order.size()) == n);
    qint64 total = 0;
    for (int i : flow.order) {
        TaskNode& node = flow.nodes[size_t(i)];
        if (node.mapOverUpstream >= 0)
            node.count = flow.nodes[size_t(node.mapOverUpstream)].count;
        else if (!node.def->forEach.isEmpty())
            node.count = 0; // known once what it maps over is (expandForEach)
        else
            node.count = node.def->map.value_or(1);
        total += node.count;
    }
    // The parser refuses such flows; a definition that did not pass through it is refused here,
    // before anything is allocated, rather than failing on a huge allocation.
    if (total > MaxTaskRunsPerFlowRun) {
        throw std::length_error(QStringLiteral("the flow has %1 task runs, more than the maximum of %2")
                                    .arg(total)
                                    .arg(MaxTaskRunsPerFlowRun)
                                    .toStdString());
    }
    for (int i : flow.order) {
        TaskNode& node = flow.nodes[size_t(i)];
        if (node.count > 0)
            node.runs = TaskRunArray(size_t(node.count));
        flow.totalTaskRuns += node.count;
    }
    flow.releasesFinished = m_durability && flow.totalTaskRuns >= m_releaseFinishedFrom;
    countResultReaders(flow);

    m_flowRuns.push_back(std::move(owned));
    ++m_active;
    return flow;
}

FlowRun* Engine::start(const FlowDefinition& definition, const RunId& id, qint64 createdUs)
{
    return launch(build(definition, id, createdUs));
}

FlowRun* Engine::launch(FlowRun& flow)
{
    flow.history.push_back({flow.createdUs, StateName::Scheduled});
    if (!m_observers.empty()) {
        notifyTransition(flow.createdUs, flow, nullptr, true, StateType::Scheduled, StateName::Scheduled,
                         QStringLiteral("%1 task runs; seed %2").arg(flow.totalTaskRuns).arg(flow.seed));
    }
    transition(flow, StateName::Pending);
    flow.startedUs = wallUs();
    transition(flow, StateName::Running);
    auto task = materialize(&flow);
    return &flow;
}

QCoro::Task<> Engine::materialize(FlowRun* flowPtr)
{
    FlowRun& flow = *flowPtr;
    int sinceYield = 0;
    for (int i : flow.order) {
        TaskNode& node = flow.nodes[size_t(i)];
        if (!node.def->forEach.isEmpty())
            continue; // its runs are created by expandForEach
        for (int k = 0; k < node.count; ++k) {
            createTaskRun(flow, node, k);
            if (++sinceYield >= MaterializeBatch) {
                sinceYield = 0;
                co_await m_scheduler->yield();
                co_await caughtUp();
            }
        }
        if (node.count == 0 ? emptyNodeReady(flow, node) : node.isFinished())
            nodeFinished(flow, node);
    }
    // A for_each task not expanded yet still needs the stored task runs of a continued flow run.
    if (flow.expanding == 0 && std::none_of(flow.nodes.begin(), flow.nodes.end(), [](const TaskNode& n) {
            return n.awaitingItems;
        })) {
        flow.prior.reset();
        flow.continuation.reset();
    }
    flow.materializing = false;
    startExpansions(flow);
    maybeFinishFlow(flow);
}

void Engine::createTaskRun(FlowRun& flow, TaskNode& node, int index)
{
    Q_ASSERT(size_t(index) == node.runs.constructed());
    TaskRun& run = node.runs.emplaceBack();
    run.flowRun = &flow;
    run.node = &node;
    run.mapIndex = (node.def->map || node.mapOverUpstream >= 0 || node.itemsKnown) ? index : -1;
    ++node.materialized;
    ++flow.materializedTaskRuns;
    if (flow.prior && createFromPrior(flow, node, index, run)) {
        if (run.type == StateType::Completed) {
            taskRunFinished(run);
            return;
        }
    } else {
        run.id = RunId::generate();
        run.createdUs = wallUs();
        run.history.push_back({run.createdUs, StateName::Pending});
        ++flow.countByType[int(StateType::Pending)];
        ++node.countByType[int(StateType::Pending)];
        notifyTransition(run.createdUs, flow, &run, true, StateType::Pending, StateName::Pending, QString());
    }

    if (flow.cancelRequested) {
        endWithoutRunning(run, StateName::Cancelled, QStringLiteral("the flow run was cancelled"));
        return;
    }
    if (node.blocked) {
        endWithoutRunning(run, node.blockedAs, node.blockedMessage);
        return;
    }
    if (node.mapOverUpstream >= 0) {
        // Kept until this run exists (Engine::canRelease).
        const TaskRun& up = flow.nodes[size_t(node.mapOverUpstream)].runs[size_t(index)];
        if (up.type == StateType::Completed) {
            run.upstreamPending = 0;
        } else if (up.isTerminal()) {
            const bool cancelled = up.type == StateType::Cancelled;
            endWithoutRunning(
                run, cancelled ? StateName::Cancelled : StateName::UpstreamFailed,
                QStringLiteral("upstream task run %1 %2")
                    .arg(taskRunLabel(up),
                         cancelled ? QStringLiteral("was cancelled") : QStringLiteral("did not complete")));
            return;
        } else {
            run.upstreamPending = 1;
        }
    }
    if (node.pendingDeps == 0 && run.upstreamPending == 0)
        makeReady(run);
}

void Engine::makeReady(TaskRun& run)
{
    m_scheduler->schedule(&Engine::startThunk, this, &run);
}

void Engine::startThunk(void* engine, void* runPtr)
{
    auto* self = static_cast<Engine*>(engine);
    auto* run = static_cast<TaskRun*>(runPtr);
    if (run->started || run->isTerminal())
        return; // cancelled or ended while it sat in the ready queue
    if (run->flowRun->pauseRequested) {
        run->flowRun->heldRuns.push_back(run); // started on resume; no frame meanwhile
        return;
    }
    if (self->storeBehind()) {
        self->holdForStore(*run); // a million ready runs would otherwise queue a million RUNNING rows
        return;
    }
    run->started = true;
    auto task = self->drive(run);
}

void Engine::holdForStore(TaskRun& run)
{
    m_heldForStore.push_back(&run);
    if (m_awaitingStore)
        return;
    m_awaitingStore = true;
    m_durability->whenCommitted(caughtUpSequence(), &Engine::startHeldForStore, this, nullptr);
}

void Engine::startHeldForStore(void* engine, void*)
{
    auto* self = static_cast<Engine*>(engine);
    self->m_awaitingStore = false;
    // Each start adds a transition: start runs until the store is behind again, then wait once more;
    // HeldStep at a time, the rest on the next turn of the ready queue.
    int started = 0;
    for (; started < HeldStep && !self->m_heldForStore.empty() && !self->storeBehind(); ++started) {
        TaskRun* run = self->m_heldForStore.front();
        self->m_heldForStore.pop_front();
        startThunk(self, run);
    }
    if (started > 1)
        self->m_scheduler->noteLongItem();
    if (self->m_heldForStore.empty() || self->m_awaitingStore)
        return;
    self->m_awaitingStore = true;
    if (self->storeBehind()) {
        self->m_durability->whenCommitted(self->caughtUpSequence(), &Engine::startHeldForStore, self,
                                          nullptr);
    } else {
        self->m_scheduler->schedule(&Engine::startHeldForStore, self, nullptr);
    }
}

void Engine::setDurabilitySink(DurabilitySink* sink)
{
    if (sink == m_durability)
        return;
    m_durability = sink;
    // Held for the sink that went: they start now (or wait for the new one).
    if (!m_heldForStore.empty()) {
        m_awaitingStore = true;
        m_scheduler->schedule(&Engine::startHeldForStore, this, nullptr);
    }
}

// Out of drive() for the same reason as takeSlots(). False when cancelled meanwhile (the run is then
// CANCELLED).
QCoro::Task<bool> Engine::awaitRetry(TaskRun* runPtr, TaskContext* ctxPtr, QString failure)
{
    TaskRun& run = *runPtr;
    TaskContext& ctx = *ctxPtr;
    const TaskDef& def = *run.node->def;
    ctx.m_token.reset();
    const QString message = QStringLiteral("attempt %1 of %2 failed: %3; retrying in %4 s")
                                .arg(run.attempts)
                                .arg(def.retries + 1)
                                .arg(failure, secondsText(def.retryDelaySeconds));
    log(run.flowRun, &run, LogLevel::Warning, message);
    transition(run, StateName::AwaitingRetry, message);
    bool cancelled = false;
    try {
        co_await ctx.sleep(def.retryDelaySeconds);
    } catch (const TaskInterrupted&) {
        cancelled = true;
    }
    if (cancelled) {
        transition(run, StateName::Cancelled, QStringLiteral("cancelled while awaiting a retry"));
        co_return false;
    }
    co_return true;
}

QCoro::Task<> Engine::drive(TaskRun* runPtr)
{
    TaskRun& run = *runPtr;
    TaskNode& node = *run.node;
    FlowRun& flow = *run.flowRun;
    const TaskDef& def = *node.def;
    bool inputsOk = true;
    TaskContext ctx(*this, run, takeInputs(run, inputsOk));
    run.active = &ctx;
    ++flow.activeDrivers;

    while (inputsOk) {
        if (flow.pauseRequested) {
            co_await pauseGate(ctx);
            if (ctx.isInterrupted()) {
                transition(run, StateName::Cancelled,
                           QStringLiteral("cancelled while its flow run was paused"));
                break;
            }
        }
        if (def.cache && run.attempts == 0) {
            auto looking = takeFromCache(&run, &ctx);
            if (co_await looking)
                break; // cached: nothing runs, no slot is taken
        }
        // A run holds slots of its limited tags only while an attempt runs (not while awaiting a retry).
        bool startedWithSlots = false;
        if (m_limiter->needsSlots(run)) {
            auto taking = takeSlots(&run, &ctx);
            const SlotOutcome taken = co_await taking;
            if (taken == SlotOutcome::Cancelled)
                break;
            if (taken == SlotOutcome::Paused) {
                holdForPause(run);
                continue;
            }
            startedWithSlots = taken == SlotOutcome::StartedWithSlots;
        }
        if (!startedWithSlots) {
            if (holdForPause(run))
                continue;
            if (!startAttempt(run))
                break;
            // The run is reported RUNNING only once that is on disk; then its code runs.
            co_await durable(&run);
        }
        ctx.m_inAttempt = true;
        if (def.timeoutSeconds > 0) {
            run.deadlineLeft = true;
            m_scheduler->addDeadline(Scheduler::nowNs() + std::int64_t(def.timeoutSeconds * 1e9),
                                     &Engine::onTimeout, &run, run.attempts);
        }
        TaskOutcome outcome;
        try {
            outcome = co_await node.kind->run(ctx);
        } catch (const TaskInterrupted&) {
            outcome = TaskOutcome::failure(QStringLiteral("interrupted"));
        } catch (const std::exception& e) {
            outcome = TaskOutcome::failure(QString::fromUtf8(e.what()));
        } catch (...) {
            outcome = TaskOutcome::failure(QStringLiteral("unknown exception"));
        }
        const AttemptEnd end = endAttempt(run, ctx, outcome);
        if (end == AttemptEnd::Finished)
            break;
        if (end == AttemptEnd::Suspended)
            continue; // waits at the pause gate
        auto waiting = awaitRetry(&run, &ctx, outcome.message);
        const bool retry = co_await waiting;
        if (!retry)
            break;
    }
    if (def.cache && run.name == StateName::Completed) {
        auto writing = putInCache(&run, &ctx);
        co_await writing;
    }
    // Downstream tasks hear of the end only once it is durable.
    co_await durable(&run);
    run.active = nullptr;
    --flow.activeDrivers;
    taskRunFinished(run);
}

bool Engine::startAttempt(TaskRun& run)
{
    ++run.attempts;
    if (transition(run, run.attempts > 1 ? StateName::Retrying : StateName::Running))
        return true;
    m_limiter->release(run);
    transition(run, StateName::Cancelled, QStringLiteral("the flow run is no longer running"));
    return false;
}

Engine::AttemptEnd Engine::endAttempt(TaskRun& run, TaskContext& ctx, TaskOutcome& outcome)
{
    const TaskDef& def = *run.node->def;
    ctx.m_inAttempt = false;
    ctx.clearInterruptHandler();
    m_limiter->release(run); // on every end of an attempt: success, failure, timeout, cancel

    bool timedOut = false;
    if (ctx.isInterrupted()) {
        if (ctx.interruptReason() == InterruptReason::Paused && run.type == StateType::Running) {
            transition(
                run, StateName::Suspended,
                QStringLiteral("stopped: its flow run was paused and the grace of %1 s ran out; it runs "
                               "again on resume")
                    .arg(secondsText(run.flowRun->pauseGraceSeconds)));
            ctx.m_token.reset();
            return AttemptEnd::Suspended;
        }
        if (ctx.interruptReason() != InterruptReason::TimedOut) {
            transition(run, StateName::Cancelled,
                       run.type == StateType::Cancelling ? run.message : QStringLiteral("cancelled"));
            return AttemptEnd::Finished;
        }
        timedOut = true;
        outcome = TaskOutcome::failure(
            QStringLiteral("timed out after %1 s (timeout_s)").arg(secondsText(def.timeoutSeconds)));
    }
    if (outcome.ok)
        checkResultSize(run, outcome);
    if (outcome.ok) {
        run.result = outcome.result;
        transition(run, StateName::Completed, outcome.message);
        afterCompleted(run);
        return AttemptEnd::Finished;
    }
    if (run.attempts <= def.retries && !run.flowRun->cancelRequested)
        return AttemptEnd::Retry;
    log(run.flowRun, &run, LogLevel::Error, outcome.message);
    transition(run, timedOut ? StateName::TimedOut : StateName::Failed, outcome.message);
    return AttemptEnd::Finished;
}

void Engine::resumeDurable(void* handle, void* run)
{
    Q_UNUSED(run)
    std::coroutine_handle<>::from_address(handle).resume();
}

QCoro::Task<> Engine::announceFinished(FlowRun* flow)
{
    m_limiter->releaseFlow(*flow); // its flow-level limits, held for the whole flow run
    co_await durable(nullptr);
    --m_active;
    const bool large = flow->totalTaskRuns >= TrimAfterTaskRuns; // read before a slot may release it
    Q_EMIT flowRunFinished(flow);
#ifdef __GLIBC__
    // glibc's free() only returns the top of the heap; frames of runs that waited together are free now.
    // Trimming a large heap takes tens of milliseconds: not on the event loop.
    if (large && m_trimAfterLargeRuns)
        QThreadPool::globalInstance()->start([] { malloc_trim(0); });
#else
    Q_UNUSED(large)
#endif
}

void Engine::onTimeout(void* arg, std::uint64_t token)
{
    auto* run = static_cast<TaskRun*>(arg);
    TaskContext* ctx = run->active;
    if (!ctx || !ctx->m_inAttempt || run->attempts != token)
        return; // that attempt already ended
    ctx->interrupt(InterruptReason::TimedOut);
}

void Engine::endWithoutRunning(TaskRun& run, StateName name, const QString& message)
{
    if (!transition(run, name, message))
        return;
    taskRunFinished(run);
}

void Engine::taskRunFinished(TaskRun& run)
{
    TaskNode& node = *run.node;
    FlowRun& flow = *run.flowRun;
    resultsOnFinish(run);
    noteFinishedForRelease(run); // released later, by a sweep, if at all
    ++node.finished;
    ++flow.finishedTaskRuns;
    if (run.type == StateType::Completed) {
        ++node.completed;
        for (int d : node.mapOverDependents) {
            TaskNode& down = flow.nodes[size_t(d)];
            // Not created yet (it will see this run completed), or finished and released.
            TaskRun* next = down.runs.find(size_t(run.mapIndex));
            if (next && next->upstreamPending) {
                next->upstreamPending = 0;
                if (!next->isTerminal() && down.pendingDeps == 0 && !down.blocked)
                    makeReady(*next);
            }
        }
    } else {
        if (flow.firstFailure.isEmpty() && (run.type == StateType::Failed || run.type == StateType::Crashed)
            && run.name != StateName::UpstreamFailed) {
            flow.firstFailure = taskRunLabel(run) + QStringLiteral(": ") + run.message;
        }
        StateName as = StateName::UpstreamFailed;
        QString message;
        if (flow.cancelRequested) {
            as = StateName::Cancelled;
            message = QStringLiteral("the flow run was cancelled");
        } else if (run.type == StateType::Cancelled) {
            as = StateName::Cancelled;
            message = QStringLiteral("upstream task run %1 was cancelled").arg(taskRunLabel(run));
        } else {
            message = QStringLiteral("upstream task run %1 did not complete (%2)")
                          .arg(taskRunLabel(run), toString(run.name));
        }
        for (int d : node.dependents)
            blockNode(flow, flow.nodes[size_t(d)], as, message);
        for (int d : node.mapOverDependents) {
            TaskNode& down = flow.nodes[size_t(d)];
            TaskRun* next = down.runs.find(size_t(run.mapIndex));
            if (next && !next->isTerminal() && !next->started)
                endWithoutRunning(*next, as, message);
        }
    }
    if (node.isFinished())
        nodeFinished(flow, node);
    maybeFinishFlow(flow);
}

void Engine::blockNode(FlowRun& flow, TaskNode& node, StateName as, const QString& message)
{
    if (node.blocked)
        return;
    node.blocked = true;
    node.blockedAs = as;
    node.blockedMessage = message;
    // Runs created from now on end as they are created (the node is blocked).
    auto ending = endRuns(&flow, node.index, {});
    if (node.count == 0) {
        // No run of it will fail to pass the news on: block its dependents directly.
        node.settled = true;
        for (int d : node.dependents)
            blockNode(flow, flow.nodes[size_t(d)], as, message);
        for (int d : node.mapOverDependents)
            blockNode(flow, flow.nodes[size_t(d)], as, message);
    }
}

void Engine::nodeFinished(FlowRun& flow, TaskNode& node)
{
    if (node.settled)
        return;
    node.settled = true;
    if (node.completed != node.count)
        return; // its dependents were blocked when the first run did not complete
    for (int d : node.dependents) {
        TaskNode& down = flow.nodes[size_t(d)];
        if (--down.pendingDeps != 0 || down.blocked)
            continue;
        if (down.awaitingItems) {
            queueExpansion(flow, down);
            continue;
        }
        auto readying = readyRuns(&flow, d);
        if (emptyNodeReady(flow, down))
            nodeFinished(flow, down);
    }
    for (int d : node.mapOverDependents) {
        if (emptyNodeReady(flow, flow.nodes[size_t(d)]))
            nodeFinished(flow, flow.nodes[size_t(d)]);
    }
}

QCoro::Task<> Engine::readyRuns(FlowRun* flow, int nodeIndex)
{
    const auto node = std::size_t(nodeIndex);
    co_await forEachRun(flow, node, node + 1, ReadyStep, [this](TaskNode&, TaskRun& run) {
        if (!run.isTerminal() && !run.started && run.upstreamPending == 0)
            makeReady(run);
    });
}

void Engine::maybeFinishFlow(FlowRun& flow)
{
    if (flow.isTerminal() || flow.materializing || flow.expanding > 0
        || flow.finishedTaskRuns < flow.totalTaskRuns)
        return;
    if (flow.type == StateType::Paused) {
        // The task runs that ran when it paused were the last ones: nothing is left to resume.
        flow.pauseRequested = false;
        transition(flow, StateName::Running, QStringLiteral("every task run finished while it was paused"));
    }
    // Stalls caused by this flow's task runs are attributed before the flow run ends.
    if (m_loopMonitor->isRunning())
        m_loopMonitor->settle();
    const qint64 bad = flow.count(StateType::Failed) + flow.count(StateType::Crashed);
    const qint64 cancelled = flow.count(StateType::Cancelled);
    if (flow.type == StateType::Cancelling || flow.cancelRequested) {
        transition(flow, StateName::Cancelled,
                   QStringLiteral("cancelled: %1 of %2 task runs completed")
                       .arg(flow.count(StateType::Completed))
                       .arg(flow.totalTaskRuns));
    } else if (bad > 0) {
        transition(flow, StateName::Failed,
                   QStringLiteral("%1 of %2 task runs did not complete; first failure: %3")
                       .arg(bad + cancelled)
                       .arg(flow.totalTaskRuns)
                       .arg(flow.firstFailure));
    } else if (cancelled > 0) {
        transition(
            flow, StateName::Cancelled,
            QStringLiteral("%1 of %2 task runs were cancelled").arg(cancelled).arg(flow.totalTaskRuns));
    } else if (QString why; !settleFlowResult(flow, &why)) {
        transition(flow, StateName::Failed, why);
    } else {
        transition(flow, StateName::Completed,
                   QStringLiteral("all %1 task runs completed").arg(flow.totalTaskRuns));
    }
    auto announce = announceFinished(&flow);
}

void Engine::onStallEnded(StallRecord stall)
{
    // The run seen on the loop during the stall may have been released since; look it up again.
    // Its block may have been released too: the pointer is checked against the blocks held before
    // it is read.
    const bool known = stall.flowRun && findFlowRun(stall.flowRunId) == stall.flowRun && stall.taskRun
        && holdsTaskRun(*stall.flowRun, stall.taskRun) && stall.taskRun->id == stall.taskRunId;
    if (!known) {
        stall.taskRun = nullptr;
        stall.flowRun
            = stall.flowRun && findFlowRun(stall.flowRunId) == stall.flowRun ? stall.flowRun : nullptr;
    }
    if (stall.taskRun) {
        ++stall.taskRun->stallCount;
        stall.taskRun->stallTotalUs += stall.durationUs;
        log(stall.flowRun, stall.taskRun, LogLevel::Warning,
            QStringLiteral(
                "blocked the event loop for %1 ms; run blocking work with kind \"blocking\" so it runs on "
                "a worker thread")
                .arg(stall.durationUs / 1000));
    }
    for (auto* o : m_observers)
        o->onStall(stall);
}

void Engine::log(FlowRun* flowRun, TaskRun* taskRun, LogLevel level, const QString& message)
{
    if (m_observers.empty())
        return;
    LogEvent e;
    e.timeUs = wallUs();
    e.flowRun = flowRun;
    e.taskRun = taskRun;
    e.level = level;
    e.message = message;
    for (auto* o : m_observers)
        o->onLog(e);
}

bool Engine::transition(TaskRun& run, StateName name, const QString& message)
{
    const StateType to = typeOf(name);
    if (!isTransitionAllowed(run.type, to) && !isNamedTransitionAllowed(run.name, name)) {
        qCWarning(lcEngine) << "refused transition of task run" << taskRunLabel(run) << ":"
                            << transitionError(run.type, to);
        return false;
    }
    if (to == StateType::Running && run.flowRun->type != StateType::Running)
        return false; // a task run may only run while its flow run runs
    applyTransition(run, name, message, wallUs(), false);
    return true;
}

void Engine::startPersisted(TaskRun& run, const SlotSink::Start& start, qint64 timeUs)
{
    // Already committed with the slots, so applied as recorded (a cancel that came meanwhile is
    // handled next, as RUNNING -> CANCELLED).
    Q_ASSERT(isTransitionAllowed(run.type, typeOf(start.name)));
    run.attempts = quint16(start.attempts);
    applyTransition(run, start.name, {}, timeUs, true);
}

void Engine::applyTransition(TaskRun& run, StateName name, const QString& message, qint64 now, bool persisted)
{
    const StateType to = typeOf(name);
    FlowRun& flow = *run.flowRun;
    const StateType from = run.type;
    --flow.countByType[int(from)];
    ++flow.countByType[int(to)];
    --run.node->countByType[int(from)];
    ++run.node->countByType[int(to)];
    run.type = to;
    run.name = name;
    run.message = message;
    if (to == StateType::Running && run.startedUs == 0)
        run.startedUs = now;
    if (isTerminal(to))
        run.endedUs = now;
    run.history.push_back({now, name});
    notifyTransition(now, flow, &run, false, from, name, message, persisted);
}

bool Engine::transition(FlowRun& flow, StateName name, const QString& message)
{
    const StateType to = typeOf(name);
    if (!isTransitionAllowed(flow.type, to)) {
        qCWarning(lcEngine) << "refused transition of flow run" << flow.def.name << ":"
                            << transitionError(flow.type, to);
        return false;
    }
    const qint64 now = wallUs();
    const StateType from = flow.type;
    flow.type = to;
    flow.name = name;
    flow.message = message;
    if (isTerminal(to))
        flow.endedUs = now;
    flow.history.push_back({now, name});
    notifyTransition(now, flow, nullptr, false, from, name, message);
    return true;
}

void Engine::notifyTransition(qint64 timeUs, FlowRun& flow, TaskRun* run, bool isNew, StateType from,
                              StateName name, const QString& message, bool persisted)
{
    QByteArray result
        = typeOf(name) == StateType::Completed ? std::exchange(m_completedResult, {}) : QByteArray();
    if (m_observers.empty())
        return;
    TransitionEvent e;
    e.timeUs = timeUs;
    e.flowRun = &flow;
    e.taskRun = run;
    e.isNew = isNew;
    e.from = from;
    e.type = typeOf(name);
    e.name = name;
    e.message = message;
    e.persisted = persisted;
    e.result = std::move(result);
    for (auto* o : m_observers)
        o->onTransition(e);
}

} // namespace flowdeck
