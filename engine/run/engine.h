#pragma once

#include "flow/flow.h"
#include "run/blockingpool.h"
#include "run/concurrencylimiter.h"
#include "run/durabilitysink.h"
#include "run/engineobserver.h"
#include "run/flowrun.h"
#include "run/loopmonitor.h"
#include "run/scheduler.h"
#include "run/slotsink.h"
#include "run/taskcache.h"
#include "run/taskcontext.h"

#include <QCoro/QCoroTask>
#include <QObject>

#include <deque>
#include <functional>
#include <limits>
#include <memory>
#include <optional>
#include <vector>

class QNetworkAccessManager;

namespace flowdeck {

struct TaskOutcome;

/**
 * Runs flows: task runs are coroutines on this thread's event loop, resumed through one batched
 * ready queue; blocking bodies run on a dedicated pool; every transition and log line goes to the
 * observers. One transition table (states.h) is enforced for flow runs and task runs.
 */
class Engine : public QObject {
    Q_OBJECT
public:
    explicit Engine(QObject* parent = nullptr);
    ~Engine() override;

    Scheduler& scheduler() { return *m_scheduler; }
    //! Watches this engine's event loop for stalls (started with the engine; stop() to turn it off).
    LoopMonitor& loopMonitor() { return *m_loopMonitor; }
    //! Tag concurrency limits of this engine's task runs.
    ConcurrencyLimiter& limiter() { return *m_limiter; }
    BlockingPool& blockingPool() { return m_blockingPool; }
    QNetworkAccessManager& network();

    //! Makes task runs wait for \a sink to commit their transitions before they move on (null: off).
    void setDurabilitySink(DurabilitySink* sink);
    DurabilitySink* durabilitySink() const { return m_durability; }
    //! Makes task runs also take their slots in a database shared with other processes (null: off).
    void setSlotSink(SlotSink* sink) { m_slotSink = sink; }
    SlotSink* slotSink() const { return m_slotSink; }

    //! Where results of tasks with "cache" are looked up and written (null: no caching).
    void setCacheSink(CacheSink* sink) { m_cacheSink = sink; }
    CacheSink* cacheSink() const { return m_cacheSink; }
    //! Flow runs started from now on ignore cache entries and overwrite them (`run --refresh-cache`).
    void setRefreshCache(bool refresh) { m_refreshCache = refresh; }
    //! The largest result a task run may end with when its task sets no "max_result_bytes" (1 MB by
    //! default); a larger one fails the run.
    void setDefaultMaxResultBytes(qint64 bytes) { m_defaultMaxResultBytes = bytes; }
    qint64 defaultMaxResultBytes() const { return m_defaultMaxResultBytes; }
    //! The result limit of a task's runs.
    qint64 maxResultBytes(const TaskDef& task) const
    {
        return task.maxResultBytes.value_or(m_defaultMaxResultBytes);
    }
    static constexpr qint64 DefaultMaxResultBytes = 1024 * 1024;
    //! Task runs are created only while at most this many transitions wait for the store (see caughtUp).
    static constexpr quint64 MaxUncommitted = 65536;
    //! A flow run of more task runs than this is cancelled a few at a time (cancelFlowRun), as are the
    //! runs of a task with more than this that will not run because one before it failed.
    static constexpr qint64 CancelSlice = 4096;
    //! Runs ended per turn of the ready queue then: about 20 us, as small as the queue's other items
    //! (it looks at the clock every 32 items).
    static constexpr int CancelStep = 128;
    //! Runs made ready per turn of the ready queue when a task with more than CancelSlice runs may
    //! start (its last upstream task completed): a push each, some 50 us for all of them.
    static constexpr int ReadyStep = 1024;
    //! Runs started per turn from those held while the store was behind: each start runs a task until
    //! it first waits, so a few hundred keep the turn short.
    static constexpr int HeldStep = 256;
    //! Blocks of finished runs freed per sweep (0.3 to 1 ms each); the next sweep frees the rest.
    static constexpr std::size_t SweepBlocks = 1;

    //! Who starts the flow runs this engine starts from now on, for people (FlowRun::startedBy).
    void setStartedBy(const QString& who) { m_startedBy = who; }
    /**
     * After a flow run of 10,000 task runs or more ends, hand the freed heap back to the system (glibc's
     * malloc_trim, on a pool thread). On by default. The dashboard turns it off: the trim holds the main
     * heap's lock for tens of milliseconds (36 ms after a million task runs), and every allocation of
     * the GUI thread waits for it; the freed memory is taken again by the next runs.
     */
    void setTrimAfterLargeRuns(bool trim) { m_trimAfterLargeRuns = trim; }
    bool trimsAfterLargeRuns() const { return m_trimAfterLargeRuns; }
    const QString& startedBy() const { return m_startedBy; }

    /**
     * A flow run started with at least this many task runs, with a durability sink, frees its task
     * runs a block at a time once they have finished and nothing downstream needs them
     * (FlowRun::releasesFinished): they live on as rows in the store. Applies to flow runs started from
     * now on; DefaultReleaseFinishedFrom by default, NeverReleaseFinished turns it off. Below it a
     * finished task run keeps its 176-byte record (35 MB for 200k), and the dashboard shows the run
     * whole: its timeline, and task runs picked from the table to cancel.
     */
    void setReleaseFinishedFrom(qint64 taskRuns) { m_releaseFinishedFrom = taskRuns; }
    qint64 releaseFinishedFrom() const { return m_releaseFinishedFrom; }
    static constexpr qint64 DefaultReleaseFinishedFrom = 200'000;
    static constexpr qint64 NeverReleaseFinished = std::numeric_limits<qint64>::max();
    //! Whether \a run points to a task run of \a flow that is still in memory (not released). \a run
    //! is not dereferenced.
    static bool holdsTaskRun(const FlowRun& flow, const TaskRun* run);

    void addObserver(EngineObserver* observer);
    void removeObserver(EngineObserver* observer);

    //! Starts a run of a validated, resolved flow. The engine owns the returned run. Throws
    //! std::length_error for more than MaxTaskRunsPerFlowRun task runs, and std::bad_alloc when the
    //! task runs cannot be allocated; the engine is unchanged then.
    FlowRun* start(const FlowDefinition& flow);
    //! Starts a run under an id and creation time chosen elsewhere (a flow run that was queued in the
    //! store and claimed by a worker).
    FlowRun* start(const FlowDefinition& flow, const RunId& id, qint64 createdUs);

    /**
     * Starts \a flow as a subflow of \a parent (a task run of kind "flow"): a flow run of its own,
     * linked to the task run and its flow run (FlowRun::parentFlowRunId/parentTaskRunId), refreshing
     * the cache if the parent does; pausing or resuming the parent pauses or resumes it, with the
     * parent's grace (the task run waiting for it is not stopped by that grace) (subflows.cpp). Throws
     * as start() does.
     */
    FlowRun* startChild(const FlowDefinition& flow, TaskRun& parent);
    //! The unfinished flow runs started by task runs of \a parent.
    std::vector<FlowRun*> activeChildren(const FlowRun& parent) const;

    /**
     * Goes on with a stored flow run (a retry, or a resume in another process than the one that paused
     * it): same id, same seed; the task runs in \a continuation that completed keep their state and
     * result and do not run again; the others run again (after AwaitingRetry, attempts counted on from
     * where they were), and so do those that depend on them. Throws as start() does.
     */
    FlowRun* continueRun(const FlowDefinition& flow, const RunId& id, qint64 createdUs,
                         Continuation continuation);

    /**
     * Pauses a flow run: no task run of it starts afterwards (those ready or waiting for a slot or a
     * retry wait); task runs already running finish, or with \a graceSeconds are stopped after that long
     * (PAUSED "Suspended") and run again on resume. The flow run is PAUSED with \a by in its message.
     * Returns false if it has finished, is being cancelled or is already paused.
     */
    bool pauseFlowRun(FlowRun* run, const QString& by, std::optional<double> graceSeconds = {});
    //! Resumes a paused flow run where it stopped. Returns false if it is not paused.
    bool resumeFlowRun(FlowRun* run, const QString& by);

    //! Cancels a flow run: nothing of it starts afterwards; waiting task runs end at once, running
    //! ones are interrupted. Returns false if it has already finished.
    bool cancelFlowRun(FlowRun* run, const QString& reason = {});
    //! Cancels one task run. Returns false if it has already finished.
    bool cancelTaskRun(TaskRun* run, const QString& reason = {});

    //! Approves or rejects an approval task run that waits in AwaitingApproval (\a by: who, for
    //! people); it then ends COMPLETED, or FAILED with \a reason. False when it does not wait.
    bool decideApproval(TaskRun* run, bool approve, const QString& reason, const QString& by);
    //! Approval task runs waiting for a decision, in the order they began to wait.
    const std::vector<TaskRun*>& awaitingApprovals() const { return m_awaitingApprovals; }

    //! The newest flow run with \a id (a retried one is a new FlowRun with its earlier copy's id).
    FlowRun* findFlowRun(const RunId& id) const;
    const std::vector<std::unique_ptr<FlowRun>>& flowRuns() const { return m_flowRuns; }
    //! Forgets a finished flow run (its memory is freed). Returns false if it is still active.
    bool release(FlowRun* run);

    //! Number of flow runs not finished yet.
    int activeFlowRuns() const { return m_active; }

    //! Emits a log line for a flow run or task run to the observers.
    void log(FlowRun* flowRun, TaskRun* taskRun, LogLevel level, const QString& message);

Q_SIGNALS:
    //! Once per flow run, when it reaches a terminal state.
    void flowRunFinished(flowdeck::FlowRun* run);

private:
    friend class TaskContext;

    FlowRun& build(const FlowDefinition& flow, const RunId& id, qint64 createdUs);
    //! Announces a built flow run and starts creating its task runs.
    FlowRun* launch(FlowRun& flow);
    void pauseChildren(const FlowRun& parent, const QString& by, std::optional<double> graceSeconds);
    void resumeChildren(const FlowRun& parent, const QString& by);
    QCoro::Task<> materialize(FlowRun* flow);
    //! Creates a task run of a continued flow run from its stored row; false when there is none.
    bool createFromPrior(FlowRun& flow, TaskNode& node, int index, TaskRun& run);
    //! Awaitable: the driver of \a run waits here while its flow run is paused.
    auto pauseGate(TaskContext& ctx)
    {
        struct Awaiter {
            Engine* engine;
            TaskContext* ctx;
            bool await_ready() const noexcept
            {
                return ctx->isInterrupted() || !ctx->m_run.flowRun->pauseRequested;
            }
            void await_suspend(std::coroutine_handle<> h)
            {
                ctx->m_suspended = h;
                ctx->m_waitInterrupt = &Engine::onPauseWaitInterrupted;
                ctx->m_run.flowRun->pausedDrivers.push_back(&ctx->m_run);
            }
            void await_resume() const noexcept
            {
                ctx->m_waitInterrupt = nullptr;
                ctx->m_suspended = {};
            }
        };
        return Awaiter{this, &ctx};
    }
    static void onPauseWaitInterrupted(TaskContext* ctx);
    static void onPauseGrace(void* flow, std::uint64_t serial);
    //! A run about to take slots or start an attempt while its flow run is paused: gives back what it
    //! took and says it waits. True when the run must wait at the pause gate.
    bool holdForPause(TaskRun& run);
    QCoro::Task<> drive(TaskRun* run);
    // Results between task runs (engineresults.cpp).
    //! Counts, per task, the task runs (and the flow's result) that will read its results.
    void countResultReaders(FlowRun& flow);
    //! The run's configuration with its references resolved (resolveTaskConfig); when they do not
    //! resolve the run ends FAILED and \a ok is false.
    QJsonObject takeInputs(TaskRun& run, bool& ok);
    //! \a runs task runs of \a reader have read (or will never read) what they reference.
    void releaseReads(FlowRun& flow, const TaskNode& reader, qint64 runs);
    //! On a task run's end: releases what it never read; drops its result if nobody will read it.
    void resultsOnFinish(TaskRun& run);
    //! Fails \a outcome when its result is larger than the task's limit; else keeps its JSON text for
    //! the COMPLETED transition's observers.
    void checkResultSize(const TaskRun& run, TaskOutcome& outcome);
    //! After the COMPLETED transition: with a store, the result stays in memory only if it is read.
    void afterCompleted(TaskRun& run);
    //! A for_each task whose array is known: its runs are created after the flow run's others.
    void queueExpansion(FlowRun& flow, TaskNode& node);
    void startExpansions(FlowRun& flow);
    QCoro::Task<> expandQueued(FlowRun* flow);
    //! Creates the runs of a for_each task once what it maps over is known.
    QCoro::Task<> expandForEach(FlowRun* flow, TaskNode* node);
    //! Sets the flow's own result; false (with \a why) when it does not resolve.
    bool settleFlowResult(FlowRun& flow, QString* why);
    enum class SlotOutcome { Ready, StartedWithSlots, Cancelled, Paused };
    //! Waits for the run's slots in this process and, with a SlotSink, in the database (where taking
    //! them also records the start). Cancelled: the run ended while waiting (CANCELLED, or FAILED when
    //! it can never hold its limits).
    QCoro::Task<SlotOutcome> takeSlots(TaskRun* run, TaskContext* ctx);
    //! Releases what the run took so far and ends it CANCELLED (from takeSlots).
    SlotOutcome cancelWhileTakingSlots(TaskRun& run, bool startedWithSlots);
    //! Releases what the run took so far and ends it FAILED: it can never hold its limits (from
    //! takeSlots, which then reports Cancelled: the run has ended).
    SlotOutcome failWhileTakingSlots(TaskRun& run, const QString& why);
    //! Counts an attempt and moves the run to RUNNING (or Retrying); false when its flow run no longer
    //! runs (then the run ended CANCELLED).
    bool startAttempt(TaskRun& run);
    enum class AttemptEnd { Finished, Retry, Suspended };
    //! After the kind's code returned: releases the slots and moves the run to the state its outcome
    //! calls for; Retry when it fails and may run again (\a outcome then says why it failed).
    AttemptEnd endAttempt(TaskRun& run, TaskContext& ctx, TaskOutcome& outcome);
    //! A run of a task with "cache" whose key has an unexpired entry ends COMPLETED "Cached" with its
    //! result: true then (taskcache.cpp).
    QCoro::Task<bool> takeFromCache(TaskRun* run, TaskContext* ctx);
    //! Writes the result of a run that COMPLETED by running under its cache key.
    QCoro::Task<> putInCache(TaskRun* run, TaskContext* ctx);
    QCoro::Task<bool> awaitRetry(TaskRun* run, TaskContext* ctx, QString failure);
    QCoro::Task<> announceFinished(FlowRun* flow);
    //! Awaitable: resumes once every transition so far is durable (immediately without a sink).
    auto durable(TaskRun* run)
    {
        struct Awaiter {
            Engine* engine;
            TaskRun* run;
            quint64 sequence;
            bool await_ready() const noexcept
            {
                return !engine->m_durability || engine->m_durability->isCommitted(sequence);
            }
            void await_suspend(std::coroutine_handle<> h)
            {
                engine->m_durability->whenCommitted(sequence, &Engine::resumeDurable, h.address(), run);
            }
            void await_resume() const noexcept {}
        };
        return Awaiter{this, run, m_durability ? m_durability->lastSequence() : 0};
    }
    /**
     * Awaitable: with a sink, resumes once at most MaxUncommitted transitions wait to be committed.
     * Creating task runs waits on it, so that a flow of a million runs does not queue (and hold frames
     * for) a million transitions while the store writes; it never blocks the thread, it suspends.
     */
    auto caughtUp()
    {
        struct Awaiter {
            Engine* engine;
            bool await_ready() const noexcept { return !engine->storeBehind(); }
            void await_suspend(std::coroutine_handle<> h)
            {
                engine->m_durability->whenCommitted(engine->caughtUpSequence(), &Engine::resumeDurable,
                                                    h.address(), nullptr);
            }
            void await_resume() const noexcept {}
        };
        return Awaiter{this};
    }
    //! What the store has caught up with once this is committed: the backlog is down to half, so that
    //! its writer always has a batch when work goes on.
    quint64 caughtUpSequence() const { return m_durability->lastSequence() - MaxUncommitted / 2; }
    //! More than MaxUncommitted transitions handed to the sink wait to be committed.
    bool storeBehind() const
    {
        if (!m_durability)
            return false;
        const quint64 last = m_durability->lastSequence();
        return last > MaxUncommitted && !m_durability->isCommitted(last - MaxUncommitted);
    }
    static void startThunk(void* engine, void* run);
    //! Runs ready to start while the store was behind start once it has caught up (see caughtUp).
    void holdForStore(TaskRun& run);
    static void startHeldForStore(void* engine, void*);
    static void resumeDurable(void* handle, void* run);
    static void onSlotWaitInterrupted(TaskContext* ctx);
    //! Awaitable: resumes once the run holds a slot of each of its limited tags.
    auto slots(TaskContext& ctx)
    {
        struct Awaiter {
            Engine* engine;
            TaskContext* ctx;
            bool await_ready() const noexcept { return ctx->isInterrupted(); }
            void await_suspend(std::coroutine_handle<> h)
            {
                ctx->m_suspended = h;
                ctx->m_waitInterrupt = &Engine::onSlotWaitInterrupted;
                engine->m_limiter->wait(ctx->m_run, h);
            }
            void await_resume() const
            {
                ctx->m_waitInterrupt = nullptr;
                ctx->m_suspended = {};
                ctx->throwIfInterrupted();
            }
        };
        return Awaiter{this, &ctx};
    }
    static void onTimeout(void* arg, std::uint64_t token);
    void createTaskRun(FlowRun& flow, TaskNode& node, int index);
    void makeReady(TaskRun& run);
    void endWithoutRunning(TaskRun& run, StateName name, const QString& message);
    void taskRunFinished(TaskRun& run);
    void nodeFinished(FlowRun& flow, TaskNode& node);
    void blockNode(FlowRun& flow, TaskNode& node, StateName as, const QString& message);
    void maybeFinishFlow(FlowRun& flow);
    bool transition(TaskRun& run, StateName name, const QString& message = {});
    //! A start (RUNNING / Retrying) that the slot transaction already wrote, at its recorded time.
    void startPersisted(TaskRun& run, const SlotSink::Start& start, qint64 timeUs);
    bool transition(FlowRun& run, StateName name, const QString& message = {});
    void notifyTransition(qint64 timeUs, FlowRun& flow, TaskRun* run, bool isNew, StateType from,
                          StateName name, const QString& message, bool persisted = false);
    void applyTransition(TaskRun& run, StateName name, const QString& message, qint64 nowUs, bool persisted);
    void interrupt(TaskRun& run, InterruptReason reason);
    void onStallEnded(StallRecord stall);
    /**
     * Cancels the task runs of \a flow (\a blockedNode -1, with \a message), or ends those of its
     * blocked node \a blockedNode that have not started, as the node's blockedAs; beyond CancelSlice
     * runs, CancelStep per turn of the ready queue.
     */
    QCoro::Task<> endRuns(FlowRun* flow, int blockedNode, QString message);
    /**
     * Calls \a visit on each run of \a flow's nodes [firstNode, endNode) that exists, in order; beyond
     * CancelSlice runs in all, \a step per turn of the ready queue. False if the flow run ended or
     * went meanwhile (the rest were not visited).
     */
    QCoro::Task<bool> forEachRun(FlowRun* flow, std::size_t firstNode, std::size_t endNode, int step,
                                 std::function<void(TaskNode&, TaskRun&)> visit);
    //! Makes ready the runs of \a flow's node \a nodeIndex created so far whose upstream has completed;
    //! beyond CancelSlice runs, ReadyStep per turn of the ready queue. Runs created later make
    //! themselves ready (createTaskRun).
    QCoro::Task<> readyRuns(FlowRun* flow, int nodeIndex);
    //! Releasing finished task runs (enginerelease.cpp): a block of \a run's node may have finished.
    void noteFinishedForRelease(TaskRun& run);
    //! Looks at \a flow's finished blocks once everything already in the ready queue has run.
    void requestSweep(FlowRun& flow);
    static void sweepThunk(void* engine, void*);
    //! Frees up to SweepBlocks finished blocks of \a flow noted up to \a horizon; true if more are free.
    bool sweepFinished(FlowRun& flow, quint64 horizon);
    bool canRelease(const FlowRun& flow, const TaskNode& node, std::size_t block) const;
    void forgetSweeps(const FlowRun& flow);

    Scheduler* m_scheduler;
    LoopMonitor* m_loopMonitor;
    std::unique_ptr<ConcurrencyLimiter> m_limiter;
    BlockingPool m_blockingPool;
    QNetworkAccessManager* m_network = nullptr;
    std::vector<EngineObserver*> m_observers;
    DurabilitySink* m_durability = nullptr;
    std::deque<TaskRun*> m_heldForStore; //!< ready, not started: the store was behind
    bool m_awaitingStore = false;        //!< startHeldForStore is registered with the sink
    SlotSink* m_slotSink = nullptr;
    CacheSink* m_cacheSink = nullptr;
    bool m_refreshCache = false;
    std::vector<std::unique_ptr<FlowRun>> m_flowRuns;
    std::vector<TaskRun*> m_awaitingApprovals;
    int m_active = 0;
    bool m_trimAfterLargeRuns = true;
    qint64 m_releaseFinishedFrom = DefaultReleaseFinishedFrom;
    std::vector<FlowRun*> m_sweeps; //!< flow runs with finished blocks to look at (sweepThunk)
    bool m_sweepQueued = false;
    quint64 m_sweepClock = 0;   //!< counts finished blocks noted
    quint64 m_sweepHorizon = 0; //!< the clock when the queued sweep was queued
    QString m_startedBy;
    qint64 m_defaultMaxResultBytes = DefaultMaxResultBytes;
    QByteArray m_completedResult; //!< JSON of the result the next COMPLETED transition carries
};

} // namespace flowdeck
