#include "flow/taskkind.h"
#include "run/clock.h"
#include "run/engine.h"
#include "run/flowrun.h"
#include "run/taskcontext.h"

#include <utility>

// How a task run takes the slots of its limited tags and global limits: waiting in line, taking
// slots other processes might hold, and what happens when it is cancelled, paused or fails meanwhile.
namespace flowdeck {

namespace {

// How soon a run tries again for slots that other processes hold.
constexpr double SlotRetrySeconds = 0.1;

//! The run's tags that have a limit, in the order the task lists them.
QStringList limitedTags(const ConcurrencyLimiter& limiter, const TaskDef& def)
{
    QStringList tags;
    for (const QString& tag : def.tags) {
        if (limiter.limit(tag))
            tags << tag;
    }
    return tags;
}

} // namespace

// Kept out of drive(): its locals and awaiters would otherwise sit in the coroutine frame of every task
// run, tagged or not (frames of suspended runs are most of the memory of a 100k-task flow).
QCoro::Task<Engine::SlotOutcome> Engine::takeSlots(TaskRun* runPtr, TaskContext* ctxPtr)
{
    TaskRun& run = *runPtr;
    TaskContext& ctx = *ctxPtr;
    FlowRun& flow = *run.flowRun;
    if (m_limiter->needsSlots(run)) {
        for (const QString& name : m_limiter->takeMissingWarnings(run)) {
            log(&flow, &run, LogLevel::Warning,
                QStringLiteral("global concurrency limit \"%1\" does not exist: task runs asking for it run "
                               "without it (\"strict\": true fails them instead)")
                    .arg(name));
        }
    }
    // A flow run's own limits first: its first task run to start takes them for the whole flow run.
    if (!m_limiter->tryAcquireFlow(run)) {
        if (QString failure = m_limiter->failure(run); !failure.isEmpty())
            co_return failWhileTakingSlots(run, failure);
        if (run.name != StateName::AwaitingConcurrencySlot) {
            const auto why = m_limiter->whyWaiting(run);
            transition(run, StateName::AwaitingConcurrencySlot, why ? why->describe() : QString());
        }
        bool cancelled = false;
        try {
            co_await slots(ctx);
        } catch (const TaskInterrupted&) {
            cancelled = true;
        }
        if (cancelled)
            co_return cancelWhileTakingSlots(run, false);
        if (QString failure = m_limiter->failure(run); !failure.isEmpty())
            co_return failWhileTakingSlots(run, failure);
    }
    if (m_limiter->needsSlots(run) && !m_limiter->tryAcquire(run)) {
        if (QString failure = m_limiter->failure(run); !failure.isEmpty())
            co_return failWhileTakingSlots(run, failure);
        // Also after AwaitingRetry: the run says why it waits, and inspect lists it as waiting.
        if (run.name != StateName::AwaitingConcurrencySlot) {
            const auto why = m_limiter->whyWaiting(run);
            transition(run, StateName::AwaitingConcurrencySlot, why ? why->describe() : QString());
        }
        bool cancelled = false;
        try {
            co_await slots(ctx);
        } catch (const TaskInterrupted&) {
            cancelled = true;
        }
        if (cancelled)
            co_return cancelWhileTakingSlots(run, false);
        // A limit changed while it waited so that it can never run (lowered below its occupy).
        if (QString failure = m_limiter->failure(run); !failure.isEmpty())
            co_return failWhileTakingSlots(run, failure);
    }
    // Other processes sharing the database count too: take the slots there as well, in the same
    // transaction that records the start, so the database never shows a slot without a RUNNING run.
    const QList<LimitTake> limits = m_limiter->globalTakes(run) + m_limiter->flowTakes(run);
    if (!m_slotSink || (!m_limiter->holdsSlots(run) && limits.isEmpty()))
        co_return SlotOutcome::Ready;
    const QStringList tags
        = m_limiter->holdsSlots(run) ? limitedTags(*m_limiter, *run.node->def) : QStringList();
    bool startedWithSlots = false;
    bool cancelled = false;
    for (;;) {
        // The slot transaction updates the run's row: its earlier states must be on disk first
        // (or a later group commit would write them over the start).
        co_await durable(&run);
        if (ctx.isInterrupted())
            break;
        if (flow.pauseRequested)
            co_return SlotOutcome::Paused; // the caller gives back the local slots and waits
        if (!m_slotSink) // the database went meanwhile (its session closed): local slots only
            co_return SlotOutcome::Ready;
        const SlotSink::Start start{run.attempts >= 1 ? StateName::Retrying : StateName::Running,
                                    run.attempts + 1, run.type};
        qint64 startedUs = 0;
        try {
            auto acquiring = m_slotSink->acquireSlots(run, tags, start, limits);
            startedUs = co_await acquiring;
        } catch (const std::exception& e) {
            log(&flow, &run, LogLevel::Warning,
                QStringLiteral("taking a slot in the database failed: %1; retrying")
                    .arg(QString::fromUtf8(e.what())));
        }
        if (startedUs > 0) {
            m_limiter->flowTakenInDatabase(run);
            startedWithSlots = true;
            startPersisted(run, start, startedUs);
            if (flow.pauseRequested && !ctx.isInterrupted()) {
                // Paused while the database recorded the start: its body does not run; it gives the
                // slots back (leaving RUNNING frees them there too) and waits for the resume.
                m_limiter->release(run);
                --run.attempts;
                transition(run, StateName::Suspended,
                           QStringLiteral("held: its flow run was paused as it started"));
                co_return SlotOutcome::Paused;
            }
            break;
        }
        if (ctx.isInterrupted())
            break;
        if (run.name != StateName::AwaitingConcurrencySlot) {
            QStringList names = tags;
            for (const LimitTake& take : limits)
                names << QStringLiteral("global limit ") + take.name;
            transition(run, StateName::AwaitingConcurrencySlot,
                       QStringLiteral("waiting for a slot of %1 held by other processes")
                           .arg(names.join(QStringLiteral(", "))));
        }
        try {
            // A rate limit's slots come back at a known time: wait exactly that long.
            co_await ctx.sleep(startedUs < 0 ? double(-startedUs) / 1e6 : SlotRetrySeconds);
        } catch (const TaskInterrupted&) {
            cancelled = true;
            break;
        }
    }
    if (cancelled || ctx.isInterrupted())
        co_return cancelWhileTakingSlots(run, startedWithSlots);
    co_return startedWithSlots ? SlotOutcome::StartedWithSlots : SlotOutcome::Ready;
}

Engine::SlotOutcome Engine::failWhileTakingSlots(TaskRun& run, const QString& why)
{
    m_limiter->release(run);
    log(run.flowRun, &run, LogLevel::Error, why);
    transition(run, StateName::Failed, why);
    return SlotOutcome::Cancelled;
}

Engine::SlotOutcome Engine::cancelWhileTakingSlots(TaskRun& run, bool startedWithSlots)
{
    m_limiter->release(run);
    // Started in the database just as it was cancelled: RUNNING -> CANCELLED frees the slots.
    transition(run, StateName::Cancelled,
               startedWithSlots ? QStringLiteral("cancelled")
                                : QStringLiteral("cancelled while waiting for a concurrency slot"));
    return SlotOutcome::Cancelled;
}

void Engine::onSlotWaitInterrupted(TaskContext* ctx)
{
    Engine& engine = ctx->m_engine;
    if (engine.m_limiter->cancelWait(ctx->m_run) && ctx->m_suspended) {
        const auto h = ctx->m_suspended;
        ctx->m_suspended = {};
        engine.m_scheduler->schedule(h, &ctx->m_run);
    }
    // Otherwise the slots were granted and the resume is already queued; it sees the interruption.
}

} // namespace flowdeck
