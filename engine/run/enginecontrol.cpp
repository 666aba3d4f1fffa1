#include "flow/subflows.h"
#include "run/clock.h"
#include "run/engine.h"
#include "run/flowrun.h"
#include "run/taskcontext.h"

#include <algorithm>
#include <utility>

// The engine's ways to stop and go on: cancelling, pausing and resuming a flow run, going on with a
// stored one (a retry, or a resume elsewhere), deciding an approval, finding and releasing runs.
namespace flowdeck {

FlowRun* Engine::continueRun(const FlowDefinition& definition, const RunId& id, qint64 createdUs,
                             Continuation continuation)
{
    FlowRun& flow = build(definition, id, createdUs);
    // The stored task runs by node and map index; with several rows for one (a flow-level requeue
    // left its crashed ones), the newest.
    auto prior = std::make_unique<std::vector<std::vector<PriorTaskRun*>>>(flow.nodes.size());
    flow.continuation = std::make_unique<Continuation>(std::move(continuation));
    for (PriorTaskRun& p : flow.continuation->taskRuns) {
        const int node = flow.def.indexOf(p.task);
        if (node < 0)
            continue;
        // A for_each task's runs are counted only when it expands: any map index is kept.
        const bool growing = flow.nodes[size_t(node)].awaitingItems;
        const int count = flow.nodes[size_t(node)].count;
        const int slot = std::max(0, int(p.mapIndex));
        if (!growing && slot >= count)
            continue;
        std::vector<PriorTaskRun*>& runs = (*prior)[size_t(node)];
        if (runs.size() <= size_t(slot))
            runs.resize(growing ? size_t(slot) + 1 : size_t(count), nullptr);
        PriorTaskRun*& kept = runs[size_t(slot)];
        if (!kept || kept->createdUs <= p.createdUs)
            kept = &p;
    }
    flow.prior = std::move(prior);
    const StateName from = flow.continuation->from;
    flow.type = typeOf(from);
    flow.name = from;
    flow.startedUs = flow.continuation->startedUs;
    const qint64 now = wallUs();
    flow.history.push_back({now, from});
    // New to the observers (a FlowRun they have not seen), though its row exists: the store's insert of
    // an existing row updates only its state.
    if (!m_observers.empty()) {
        notifyTransition(now, flow, nullptr, true, flow.type, from,
                         QStringLiteral("goes on with %1 stored task runs; seed %2")
                             .arg(flow.continuation->taskRuns.size())
                             .arg(flow.seed));
    }
    if (flow.type != StateType::Pending)
        transition(flow, StateName::Pending);
    if (flow.startedUs == 0)
        flow.startedUs = wallUs();
    transition(flow, StateName::Running);
    auto task = materialize(&flow);
    return &flow;
}

bool Engine::createFromPrior(FlowRun& flow, TaskNode& node, int index, TaskRun& run)
{
    const std::vector<PriorTaskRun*>& runs = (*flow.prior)[size_t(node.index)];
    PriorTaskRun* p = size_t(index) < runs.size() ? runs[size_t(index)] : nullptr;
    if (!p)
        return false; // never created before (the run stopped while it created its task runs)
    run.id = p->id;
    run.attempts = p->attempts;
    run.createdUs = p->createdUs;
    run.startedUs = p->startedUs;
    if (p->type == StateType::Completed) {
        // Already stored as it is: nothing is written for it.
        run.type = StateType::Completed;
        run.name = p->name;
        run.endedUs = p->endedUs;
        run.message = std::move(p->message);
        run.result = std::move(p->result);
        run.history.push_back({p->endedUs, p->name});
        ++flow.countByType[int(StateType::Completed)];
        ++node.countByType[int(StateType::Completed)];
        return true;
    }
    run.type = p->type;
    run.name = p->name;
    run.message = std::move(p->message);
    run.history.push_back({p->createdUs, p->name});
    ++flow.countByType[int(p->type)];
    ++node.countByType[int(p->type)];
    // A run that ended without completing (or was left running by a process that is gone) is
    // reopened: terminal states allow no transition, so this one is applied as the retry's decision.
    if (p->type != StateType::Pending)
        applyTransition(run, StateName::AwaitingRetry, flow.continuation->reopenMessage, wallUs(), false);
    return true;
}

bool Engine::holdForPause(TaskRun& run)
{
    if (!run.flowRun->pauseRequested)
        return false;
    m_limiter->release(run); // a slot granted while paused goes to the next in line
    if (run.name == StateName::AwaitingConcurrencySlot)
        transition(run, StateName::Pending, QStringLiteral("held: its flow run is paused"));
    return true;
}

void Engine::onPauseWaitInterrupted(TaskContext* ctx)
{
    FlowRun& flow = *ctx->m_run.flowRun;
    std::erase(flow.pausedDrivers, &ctx->m_run);
    if (ctx->m_suspended) {
        const auto h = ctx->m_suspended;
        ctx->m_suspended = {};
        ctx->m_engine.m_scheduler->schedule(h, &ctx->m_run);
    }
}

void Engine::onPauseGrace(void* arg, std::uint64_t serial)
{
    auto* flow = static_cast<FlowRun*>(arg);
    if (!flow->pauseRequested || flow->pauseSerial != serial)
        return; // resumed (or paused again) since
    for (TaskNode& node : flow->nodes) {
        if (node.def->kind == subflowKindName())
            continue; // it waits for its subflow run, which was paused with the same grace
        for (int i = 0; i < node.materialized; ++i) {
            const TaskRun* run = node.runs.find(size_t(i)); // null: finished and released
            TaskContext* ctx = run ? run->active : nullptr;
            if (ctx && ctx->m_inAttempt)
                ctx->interrupt(InterruptReason::Paused);
        }
    }
}

bool Engine::pauseFlowRun(FlowRun* flow, const QString& by, std::optional<double> graceSeconds)
{
    if (!flow || flow->isTerminal() || flow->cancelRequested || flow->pauseRequested)
        return false;
    flow->pauseRequested = true;
    ++flow->pauseSerial;
    flow->pauseGraceSeconds = graceSeconds.value_or(-1);
    QString message = by.isEmpty() ? QStringLiteral("paused") : QStringLiteral("paused by ") + by;
    if (graceSeconds) {
        message += QStringLiteral("; task runs still running are stopped after %1 s")
                       .arg(secondsText(*graceSeconds));
    }
    transition(*flow, StateName::Paused, message);
    if (graceSeconds) {
        m_scheduler->addDeadline(Scheduler::nowNs() + std::int64_t(std::max(0.0, *graceSeconds) * 1e9),
                                 &Engine::onPauseGrace, flow, flow->pauseSerial);
    }
    pauseChildren(*flow, by, graceSeconds);
    return true;
}

bool Engine::resumeFlowRun(FlowRun* flow, const QString& by)
{
    if (!flow || !flow->pauseRequested || flow->isTerminal())
        return false;
    flow->pauseRequested = false;
    ++flow->pauseSerial;
    if (flow->type == StateType::Paused)
        transition(*flow, StateName::Running,
                   by.isEmpty() ? QStringLiteral("resumed") : QStringLiteral("resumed by ") + by);
    for (TaskRun* run : std::exchange(flow->heldRuns, {})) {
        if (!run->isTerminal() && !run->started)
            makeReady(*run);
    }
    for (TaskRun* run : std::exchange(flow->pausedDrivers, {})) {
        TaskContext* ctx = run->active;
        if (ctx && ctx->m_suspended) {
            ctx->m_waitInterrupt = nullptr;
            m_scheduler->schedule(std::exchange(ctx->m_suspended, {}), run);
        }
    }
    resumeChildren(*flow, by);
    return true;
}

bool Engine::decideApproval(TaskRun* run, bool approve, const QString& reason, const QString& by)
{
    if (!run || run->name != StateName::AwaitingApproval)
        return false;
    TaskContext* ctx = run->active;
    if (!ctx || !ctx->m_approval || ctx->m_approval->has_value() || !ctx->m_suspended)
        return false; // not waiting, or decided already (it resumes from the ready queue)
    using Outcome = ApprovalDecision::Outcome;
    ctx->m_approval->emplace(ApprovalDecision{approve ? Outcome::Approved : Outcome::Rejected, reason, by});
    ctx->m_waitInterrupt = nullptr;
    const auto h = ctx->m_suspended;
    ctx->m_suspended = {};
    m_scheduler->schedule(h, run);
    return true;
}

bool Engine::cancelFlowRun(FlowRun* flow, const QString& reason)
{
    if (!flow || flow->isTerminal())
        return false;
    if (flow->cancelRequested)
        return true;
    flow->cancelRequested = true;
    flow->pauseRequested = false; // held runs end below; drivers at the pause gate are interrupted
    flow->heldRuns.clear();
    const QString message = reason.isEmpty() ? QStringLiteral("the flow run was cancelled") : reason;
    transition(*flow, StateName::Cancelling, message);
    auto cancelling = endRuns(flow, -1, message);
    return true;
}

QCoro::Task<bool> Engine::forEachRun(FlowRun* flow, std::size_t firstNode, std::size_t endNode, int step,
                                     std::function<void(TaskNode&, TaskRun&)> visit)
{
    // A million task runs take a few hundred milliseconds: beyond CancelSlice, \a step at a time, so
    // that the loop (and the window on it) goes on meanwhile; fewer are done before this returns (the
    // coroutine never suspends). Each node's runs are those created when the loop reaches it: any
    // created later see for themselves what the visit would have done (createTaskRun).
    qint64 runs = 0;
    for (std::size_t n = firstNode; n < endNode; ++n)
        runs += flow->nodes[n].materialized;
    const bool sliced = runs > CancelSlice;
    const RunId id = flow->id;
    int sinceYield = 0;
    for (std::size_t n = firstNode; n < endNode; ++n) {
        const int created = flow->nodes[n].materialized;
        for (int i = 0; i < created; ++i) {
            TaskNode& node = flow->nodes[n];
            if (TaskRun* run = node.runs.find(size_t(i))) // null: finished and released
                visit(node, *run);
            if (!sliced || ++sinceYield < step)
                continue;
            sinceYield = 0;
            co_await m_scheduler->yield();
            if (findFlowRun(id) != flow || flow->isTerminal())
                co_return false;
        }
    }
    co_return true;
}

QCoro::Task<> Engine::endRuns(FlowRun* flow, int blockedNode, QString message)
{
    // None of them starts in between: the flow run is CANCELLING or the task blocked, and a run starts
    // only while neither is so.
    const std::size_t first = blockedNode < 0 ? 0 : std::size_t(blockedNode);
    const std::size_t end = blockedNode < 0 ? flow->nodes.size() : first + 1;
    const bool whole = co_await forEachRun(flow, first, end, CancelStep, [&](TaskNode& node, TaskRun& run) {
        if (run.isTerminal())
            return;
        if (blockedNode < 0)
            cancelTaskRun(&run, message);
        else if (!run.started)
            endWithoutRunning(run, node.blockedAs, node.blockedMessage);
    });
    // Not whole: every task run ended meanwhile, and the flow run with them.
    if (whole && blockedNode < 0)
        maybeFinishFlow(*flow);
}

bool Engine::cancelTaskRun(TaskRun* run, const QString& reason)
{
    if (!run || run->isTerminal())
        return false;
    const QString message = reason.isEmpty() ? QStringLiteral("cancelled") : reason;
    if (!run->started) {
        endWithoutRunning(*run, StateName::Cancelled, message);
        return true;
    }
    if (run->type == StateType::Cancelling)
        return true;
    if (run->type == StateType::Running)
        transition(*run, StateName::Cancelling, message);
    interrupt(*run, InterruptReason::Cancelled);
    return true;
}

void Engine::interrupt(TaskRun& run, InterruptReason reason)
{
    if (run.active)
        run.active->interrupt(reason);
}

FlowRun* Engine::findFlowRun(const RunId& id) const
{
    // Newest first: a retried or resumed run is a new FlowRun with the id of its finished copy.
    for (auto it = m_flowRuns.rbegin(); it != m_flowRuns.rend(); ++it) {
        if ((*it)->id == id)
            return it->get();
    }
    return nullptr;
}

bool Engine::release(FlowRun* flow)
{
    if (!flow || !flow->isTerminal() || flow->activeDrivers > 0)
        return false;
    m_scheduler->purgeDeadlines([flow](void* arg) {
        return arg == flow /* its pause's grace */ || holdsTaskRun(*flow, static_cast<const TaskRun*>(arg));
    });
    forgetSweeps(*flow);
    // Runs held back for the store point into the flow run: they must not outlive it.
    std::erase_if(m_heldForStore, [flow](const TaskRun* run) { return run->flowRun == flow; });
    std::erase_if(m_flowRuns, [flow](const std::unique_ptr<FlowRun>& f) { return f.get() == flow; });
    return true;
}

} // namespace flowdeck
