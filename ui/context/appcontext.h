#pragma once

#include "context/approvals.h"
#include "context/databaseconnection.h"
#include "context/globallimits.h"
#include "context/logbuffers.h"
#include "context/notifier.h"
#include "context/runhistory.h"
#include "context/runoperations.h"
#include "context/schedules.h"
#include "context/taglimits.h"
#include "context/workerdirectory.h"
#include "flow/flow.h"
#include "run/blockingpool.h"
#include "run/flowrun.h"
#include "run/loopmonitor.h"
#include "run/observer.h"

#include <QCoro/QCoroTask>
#include <QHash>
#include <QJsonObject>
#include <QObject>
#include <QPointer>

#include <array>
#include <deque>
#include <memory>
#include <vector>

class QTimer;
class QWidget;

namespace flowdeck {

class DirtyRows;
class Engine;
class RunLimitGate;
class ScheduleService;
class FlowParser;

//! What changed since the previous display tick; handed to models and pages once per tick.
struct UpdateBatch {
    std::vector<FlowRun*> startedFlowRuns;  //!< new flow runs, oldest first
    std::vector<FlowRun*> changedFlowRuns;  //!< state, counts or task runs changed (includes new ones)
    std::vector<FlowRun*> finishedFlowRuns; //!< reached a terminal state
    std::vector<FlowRun*> flowRunsWithLogs; //!< received log lines
    std::vector<StallRecord> stalls;        //!< loop stalls that ended, oldest first
    //! A flow run that goes on in this process under the id of an earlier copy (a retry, a resume of
    //! a stored run): (earlier copy, the run now), oldest first. The new run is in startedFlowRuns too.
    std::vector<std::pair<FlowRun*, FlowRun*>> continuedFlowRuns;
};

/**
 * What the pages need from the engine, in one place: it owns the Engine, starts and cancels runs,
 * reads pool and loop figures, and turns the engine's observer events into coalesced updates.
 *
 * The observer only records which runs changed (pointers into sets and a byte per task-run row);
 * a timer at display rate (≤ 30 Hz) hands them to the models as one UpdateBatch, so a burst of
 * 100k transitions costs the GUI a few row-level updates, never a signal per transition.
 * Flow runs are kept (never Engine::release()d) for the session, so pointers stay valid.
 *
 * What else the pages need has a class of its own, reached from here: the run store's connection
 * (database()), the runs read from it (history()), tag limits (limits()), registered workers
 * (workers()), log lines (logs()) and the operations on runs (operations()).
 */
class AppContext : public QObject {
    Q_OBJECT

public:
    static constexpr int TickIntervalMs = 33;
    static constexpr int PulseIntervalMs = 500;
    static constexpr int FirstFrameWaitMs = 3000;

    explicit AppContext(QObject* parent = nullptr);
    ~AppContext() override;

    Engine& engine() { return *m_engine; }
    const FlowParser& parser() const { return *m_parser; }
    DatabaseConnection& database() { return *m_database; }
    //! Fires the schedules due while the database is open (one ScheduleService per open session), else null.
    ScheduleService* schedules() const;
    //! Holds the max_active_runs of the flows started here while the database is open, else null.
    RunLimitGate* runLimits() const;
    const DatabaseConnection& database() const { return *m_database; }
    RunHistory& history() { return *m_history; }
    const RunHistory& history() const { return *m_history; }
    TagLimits& limits() { return *m_limits; }
    const TagLimits& limits() const { return *m_limits; }
    GlobalLimits& globalLimits() { return *m_globalLimits; }
    const WorkerDirectory& workers() const { return m_workers; }
    //! Approval task runs waiting for a decision, here and (with the store open) in other processes.
    Approvals& approvals() { return *m_approvals; }
    const Approvals& approvals() const { return *m_approvals; }
    const LogBuffers& logs() const { return m_logs; }
    //! Retry, run again, pause and resume of flow runs (this app's and the store's).
    RunOperations& operations() { return *m_operations; }
    const RunOperations& operations() const { return *m_operations; }
    //! Schedules in the store as the pages list and edit them (read and written on its database threads).
    Schedules& scheduleList() { return *m_scheduleList; }
    const Schedules& scheduleList() const { return *m_scheduleList; }
    //! What the desktop is told (tray icon and notifications), when it has a tray.
    Notifier& notifier() { return *m_notifier; }

    //! Validates \a document with parameter \a overrides and starts it. Returns null and fills
    //! \a errors when it does not validate.
    FlowRun* startFlow(const QJsonObject& document, const QString& source, const QJsonObject& overrides,
                       ValidationErrors* errors);
    //! Starts an already resolved flow. \a startedBy says who starts it when that is more than this
    //! dashboard (Run Again: "..., again as ID"); empty: RunOperations::identity(). A flow with
    //! max_active_runs is counted in the database first: it returns null then, and the run starts
    //! later (limitedRunStarted), waits on the Runs page as SCHEDULED with the reason, or is skipped;
    //! message() says which.
    FlowRun* startFlow(const FlowDefinition& flow, const QString& startedBy = {});
    //! Cancels \a run; a run of another process (from the store's history) gets a cancel request
    //! that its process applies within a second.
    bool cancelFlowRun(FlowRun* run);
    bool cancelTaskRun(TaskRun* run);

    //! Flow runs of this session, oldest first.
    const std::vector<std::unique_ptr<FlowRun>>& flowRuns() const;
    //! The run that went on under \a run's id (a retry or resume in this process), or null: \a run is
    //! then an earlier copy that the pages no longer show.
    FlowRun* continuedAs(const FlowRun* run) const { return m_continuedAs.value(run); }
    //! The newest flow run of this session, else the newest from the store, or null.
    FlowRun* newestFlowRun() const;
    int activeFlowRuns() const;

    BlockingPoolStats blockingPoolStats() const;
    LagStats lagStats() const;
    std::vector<double> lagPerSecond() const;
    const std::deque<StallRecord>& recentStalls() const;
    int loopLagThresholdMs() const;
    //! Flow runs (this session's and the store's) that ended FAILED or CRASHED at or after \a sinceUs.
    int failedFlowRunsSince(qint64 sinceUs) const;
    //! Task runs per state type, summed over the flow runs that have not finished.
    std::array<qint64, StateTypeCount> activeTaskRunCounts() const;

    /**
     * Stops watching the event loop until \a window showed its first frame (or a few seconds passed):
     * building and first painting the window is launch work, not a stall of the flows' loop.
     */
    void watchLoopFromFirstFrame(QWidget* window);

    //! Applies and stores the blocking pool size (live: BlockingPool::setMaxThreads).
    void setBlockingThreads(int threads);
    //! Applies and stores the loop monitor's stall threshold (live).
    void setLoopLagThresholdMs(int ms);

    //! Routes the task-run transitions of one flow run to \a rows until removed (used by TaskRunModel).
    void addDirtyRows(DirtyRows* rows);
    void removeDirtyRows(DirtyRows* rows);

    /**
     * Cancels every flow run that has not finished and runs the event loop until they have (or
     * \a timeoutMs passed), so that the engine is idle when it goes. Returns true when all ended.
     */
    bool cancelAllAndWait(int timeoutMs);

    //! Applies what the observer recorded now, instead of at the next tick, and refreshes the
    //! figures that change with time (a pulse): for tests and screenshots.
    void flush();

Q_SIGNALS:
    //! At most once per tick, when something changed.
    void updated(const flowdeck::UpdateBatch& batch);
    //! Every PulseIntervalMs: figures that change with time alone (durations, lag, pools).
    void pulse();
    //! Something worth a line in the status bar (from here, the database, history and limits).
    void message(const QString& text);
    //! A flow run that waited for its flow's max_active_runs (or was counted first) started here.
    void limitedRunStarted(flowdeck::FlowRun* run);

protected:
    bool eventFilter(QObject* watched, QEvent* event) override;

private:
    class Observer;
    friend class Observer;

    void startLoopWatch();
    void scheduleTick();
    void tick();
    void startDeferred();
    //! Starts flow in the engine; reports a run that cannot start through message and returns null.
    FlowRun* startNow(const FlowDefinition& flow, const QString& startedBy);
    //! startNow() for a flow with max_active_runs: through the gate, reported through message().
    static QCoro::Task<> startLimited(QPointer<AppContext> self, FlowDefinition flow, QString startedBy);
    //! Notes a new flow run that goes on under the id of a run the pages show (see continuedAs()).
    void noteContinued(FlowRun* run);
    //! Hands runs a history reload added or changed to the next tick.
    void applyHistory(const QList<FlowRun*>& added, const QList<FlowRun*>& changed);

    std::unique_ptr<Engine> m_engine;
    std::unique_ptr<FlowParser> m_parser;
    std::unique_ptr<Observer> m_observer;
    QTimer* m_tickTimer;
    QTimer* m_pulseTimer;
    bool m_tickPending = false;

    // Recorded by the observer between ticks.
    UpdateBatch m_pending;
    FlowRun* m_lastChanged = nullptr;
    std::vector<DirtyRows*> m_dirtyRows;
    LogBuffers m_logs;
    std::vector<std::pair<FlowDefinition, QString>> m_deferred; //!< started while the database opens, by
    QHash<const FlowRun*, FlowRun*> m_continuedAs;
    std::unique_ptr<Schedules> m_scheduleList;
    std::unique_ptr<Notifier> m_notifier;

    std::unique_ptr<DatabaseConnection> m_database;
    std::unique_ptr<RunHistory> m_history;
    std::unique_ptr<TagLimits> m_limits;
    std::unique_ptr<GlobalLimits> m_globalLimits;
    std::unique_ptr<Approvals> m_approvals;
    std::unique_ptr<RunOperations> m_operations;
    WorkerDirectory m_workers;
    QPointer<ScheduleService> m_schedules;
    QPointer<RunLimitGate> m_gate;
    QPointer<QWidget> m_firstFrameOf; //!< watched for its first frame
};

} // namespace flowdeck

Q_DECLARE_METATYPE(flowdeck::UpdateBatch)
