#include "run/taskcontext.h"

#include "flow/flowrandom.h"
#include "flow/taskkind.h"
#include "run/clock.h"
#include "run/engine.h"
#include "run/flowrun.h"

#include <cmath>

namespace flowdeck {

TaskContext::TaskContext(Engine& engine, TaskRun& run, QJsonObject config)
    : m_engine(engine)
    , m_run(run)
    , m_config(std::move(config))
{
}

const QString& TaskContext::taskId() const
{
    return m_run.taskId();
}

int TaskContext::mapIndex() const
{
    return m_run.mapIndex;
}

int TaskContext::attempt() const
{
    return m_run.attempts;
}

qint64 TaskContext::maxResultBytes() const
{
    return m_engine.maxResultBytes(*m_run.node->def);
}

QNetworkAccessManager& TaskContext::network() const
{
    return m_engine.network();
}

double TaskContext::random(quint32 salt) const
{
    return flowRandom(m_run.flowRun->seed, m_run.taskId(), m_run.mapIndex, salt);
}

void TaskContext::log(LogLevel level, const QString& message) const
{
    m_engine.log(m_run.flowRun, &m_run, level, message);
}

void TaskContext::throwIfInterrupted() const
{
    if (m_token.isCancelled())
        throw TaskInterrupted();
}

void TaskContext::wake()
{
    if (m_suspended) {
        const auto h = m_suspended;
        m_suspended = {};
        m_engine.scheduler().schedule(h, &m_run);
    } else {
        m_woken = true;
    }
}

void TaskContext::suspendForSleep(std::coroutine_handle<> h, double seconds)
{
    m_suspended = h;
    m_waitInterrupt = &TaskContext::onSleepInterrupted;
    const quint32 serial = ++m_run.sleepSerial;
    const double ns = std::isfinite(seconds) ? std::max(0.0, seconds) * 1e9 : 1e18;
    m_engine.scheduler().addDeadline(Scheduler::nowNs() + static_cast<std::int64_t>(ns),
                                     &TaskContext::onSleepDue, &m_run, serial);
}

void TaskContext::endSleep() const
{
    auto* self = const_cast<TaskContext*>(this);
    self->m_waitInterrupt = nullptr;
    self->m_suspended = {};
    throwIfInterrupted();
}

void TaskContext::onSleepDue(void* arg, std::uint64_t token)
{
    auto* run = static_cast<TaskRun*>(arg);
    TaskContext* ctx = run->active;
    if (!ctx || run->sleepSerial != token || !ctx->m_suspended)
        return; // the sleep ended early (interrupted); this entry is stale
    ++run->sleepSerial;
    const auto h = ctx->m_suspended;
    ctx->m_suspended = {};
    ctx->m_engine.scheduler().schedule(h, run);
}

void TaskContext::onSleepInterrupted(TaskContext* ctx)
{
    ++ctx->m_run.sleepSerial; // makes the deadline entry stale
    ctx->m_run.deadlineLeft = true;
    if (ctx->m_suspended) {
        const auto h = ctx->m_suspended;
        ctx->m_suspended = {};
        ctx->m_engine.scheduler().schedule(h, &ctx->m_run);
    }
}

void TaskContext::suspendForApproval(std::coroutine_handle<> h, const QString& prompt,
                                     std::optional<ApprovalDecision>* decision)
{
    m_suspended = h;
    m_approval = decision;
    m_waitInterrupt = &TaskContext::onApprovalInterrupted;
    // Waiting for a person holds no slot: other task runs of its tags may run meanwhile. Leaving
    // RUNNING frees its slots in the database too (the store does so with the transition).
    m_engine.m_limiter->release(m_run);
    m_engine.transition(m_run, StateName::AwaitingApproval, prompt);
    m_engine.m_awaitingApprovals.push_back(&m_run);
}

void TaskContext::endApproval(const std::optional<ApprovalDecision>& decision)
{
    m_waitInterrupt = nullptr;
    m_suspended = {};
    m_approval = nullptr;
    std::erase(m_engine.m_awaitingApprovals, &m_run);
    // A decision made just before the timeout fired stands.
    if (decision && decision->outcome != ApprovalDecision::Outcome::TimedOut
        && m_token.reason() == InterruptReason::TimedOut) {
        m_token.reset();
    }
    throwIfInterrupted();
    Q_ASSERT(decision);
    // PAUSED cannot end COMPLETED or FAILED directly: the attempt runs again for the instant it ends,
    // also while its flow run is paused (a decision ends an attempt that had started, it starts none).
    QString message;
    switch (decision->outcome) {
    case ApprovalDecision::Outcome::Approved:
        message = QStringLiteral("approved by %1").arg(decision->by);
        break;
    case ApprovalDecision::Outcome::Rejected:
        message = QStringLiteral("rejected by %1").arg(decision->by);
        break;
    case ApprovalDecision::Outcome::TimedOut:
        message = QStringLiteral("no decision within timeout_s");
        break;
    }
    if (isTransitionAllowed(m_run.type, StateType::Running))
        m_engine.applyTransition(m_run, StateName::Running, message, wallUs(), false);
}

void TaskContext::onApprovalInterrupted(TaskContext* ctx)
{
    // A pause (its grace over) stops attempts that hold something; a wait for a person holds nothing:
    // it goes on waiting, and may still be decided while its flow run is paused. The token is
    // cleared so that a cancel later still gets through (the first reason wins).
    if (ctx->m_token.reason() == InterruptReason::Paused) {
        ctx->m_token.reset();
        ctx->m_waitInterrupt = &TaskContext::onApprovalInterrupted;
        return;
    }
    // The task's timeout_s ends the wait with a decision (on_timeout), not as an interruption.
    if (ctx->m_token.reason() == InterruptReason::TimedOut && ctx->m_approval && !*ctx->m_approval) {
        ctx->m_token.reset();
        ctx->m_approval->emplace(ApprovalDecision{ApprovalDecision::Outcome::TimedOut, {}, {}});
    }
    if (ctx->m_suspended) {
        const auto h = ctx->m_suspended;
        ctx->m_suspended = {};
        ctx->m_engine.scheduler().schedule(h, &ctx->m_run);
    }
}

void TaskContext::submitBlocking(std::function<void()> body)
{
    m_engine.blockingPool().submit(std::move(body));
}

void TaskContext::resumeFromThread(std::coroutine_handle<> h)
{
    m_engine.scheduler().post(h, &m_run);
}

void TaskContext::interrupt(InterruptReason reason)
{
    m_token.request(reason);
    if (m_waitInterrupt) {
        auto fn = m_waitInterrupt;
        m_waitInterrupt = nullptr;
        fn(this);
    }
    if (m_interruptHandler) {
        auto handler = m_interruptHandler; // the handler may clear itself
        handler();
    }
}

} // namespace flowdeck
