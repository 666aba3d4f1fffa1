#pragma once

#include "blockingpool.h"
#include "flow.h"
#include "loopmonitor.h"
#include "observer.h"
#include "runs.h"

#include <QJsonObject>
#include <QObject>

#include <array>
#include <deque>
#include <memory>
#include <unordered_map>
#include <vector>

class QTimer;

namespace flowdeck {

class DirtyRows;
class Engine;
class FlowParser;

//! What changed since the previous display tick; handed to models and pages once per tick.
struct UpdateBatch {
    std::vector<FlowRun*> startedFlowRuns;  //!< new flow runs, oldest first
    std::vector<FlowRun*> changedFlowRuns;  //!< state, counts or task runs changed (includes new ones)
    std::vector<FlowRun*> finishedFlowRuns; //!< reached a terminal state
    std::vector<FlowRun*> flowRunsWithLogs; //!< received log lines
    std::vector<StallRecord> stalls;        //!< loop stalls that ended, oldest first
};

//! One log line kept for the Run page.
struct LogLine {
    qint64 timeUs = 0;
    LogLevel level = LogLevel::Info;
    QString task; //!< "id" or "id[3]"; empty for the flow run's own lines
    QString message;
};

//! The last AppContext::MaxLogLines log lines of one flow run; seq numbers count every line ever added.
struct LogBuffer {
    std::deque<LogLine> lines;
    quint64 firstSeq = 0;
    quint64 endSeq() const { return firstSeq + lines.size(); }
};

/**
 * What the pages need from the engine, in one place: it owns the Engine, starts and cancels runs,
 * reads pool and loop figures, and turns the engine's observer events into coalesced updates.
 *
 * The observer only records which runs changed (pointers into sets and a byte per task-run row);
 * a timer at display rate (≤ 30 Hz) hands them to the models as one UpdateBatch, so a burst of
 * 100k transitions costs the GUI a few row-level updates, never a signal per transition.
 * Flow runs are kept (never Engine::release()d) for the session, so pointers stay valid.
 */
class AppContext : public QObject {
    Q_OBJECT

public:
    static constexpr int TickIntervalMs = 33;
    static constexpr int PulseIntervalMs = 500;
    static constexpr int MaxLogLines = 10000;

    explicit AppContext(QObject* parent = nullptr);
    ~AppContext() override;

    Engine& engine() { return *m_engine; }
    const FlowParser& parser() const { return *m_parser; }

    //! Validates \a document with parameter \a overrides and starts it. Returns null and fills
    //! \a errors when it does not validate.
    FlowRun* startFlow(const QJsonObject& document, const QString& source, const QJsonObject& overrides,
                       ValidationErrors* errors);
    //! Starts an already resolved flow.
    FlowRun* startFlow(const FlowDefinition& flow);
    bool cancelFlowRun(FlowRun* run);
    bool cancelTaskRun(TaskRun* run);

    //! Flow runs of this session, oldest first.
    const std::vector<std::unique_ptr<FlowRun>>& flowRuns() const;
    //! The newest flow run, or null.
    FlowRun* newestFlowRun() const;
    int activeFlowRuns() const;

    BlockingPoolStats blockingPoolStats() const;
    LagStats lagStats() const;
    std::vector<double> lagPerSecond() const;
    const std::deque<StallRecord>& recentStalls() const;
    int loopLagThresholdMs() const;
    //! Task runs per state type, summed over the flow runs that have not finished.
    std::array<qint64, StateTypeCount> activeTaskRunCounts() const;

    //! Log lines of \a run, or null when it has none.
    const LogBuffer* logs(const FlowRun* run) const;

    //! Applies and stores the blocking pool size (live: BlockingPool::setMaxThreads).
    void setBlockingThreads(int threads);
    //! Applies and stores the loop monitor's stall threshold (live).
    void setLoopLagThresholdMs(int ms);

    //! The database pool's figures belong here once the run store exists (issue 3); until then the
    //! Health page shows the pool as not connected.
    bool hasDatabasePool() const { return false; }

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

private:
    class Observer;
    friend class Observer;

    void scheduleTick();
    void tick();

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
    std::unordered_map<const FlowRun*, LogBuffer> m_logs;
};

} // namespace flowdeck

Q_DECLARE_METATYPE(flowdeck::UpdateBatch)
