#pragma once

#include "run/observer.h"
#include "run/runid.h"
#include "run/states.h"
#include "store/recovery.h"

#include <QCoro/QCoroTask>
#include <QJsonObject>
#include <QLoggingCategory>
#include <QObject>
#include <QPointer>
#include <QStringList>

Q_DECLARE_LOGGING_CATEGORY(lcStore)

#include <chrono>
#include <coroutine>
#include <deque>
#include <limits>
#include <memory>
#include <vector>

namespace flowdeck {

class ConnectionPool;
class WalCheckpointer;
class Scheduler;

//! Figures of the store's write path.
struct StoreMetrics {
    quint64 batches = 0;
    quint64 transitionsWritten = 0;
    quint64 logsWritten = 0;
    quint64 logsDropped = 0; //!< log lines dropped because the log buffer was full
    quint64 retries = 0;     //!< batches retried after a pool timeout or a database error
    quint64 poolTimeouts = 0;
    int lastBatchRows = 0;
    double lastCommitMs = 0;
    double maxCommitMs = 0;
    double maxLoopStepMs = 0; //!< longest time the store's own work held the GUI thread at once
    quint64 pendingTransitions = 0;
    quint64 walCheckpoints = 0; //!< SQLite: WAL checkpoints run beside the writer (see WalCheckpointer)
    QString lastError;
};

/**
 * The durable record of runs: every transition, log line and stall of the engine's observer is
 * written in batches (group commit) through the connection pool, never on the calling thread.
 * As the engine's DurabilitySink it lets task runs move on only once their transition committed;
 * as its SlotSink it takes concurrency slots shared with other processes. The store writes and
 * reads; a Session (session/session.h) opens it and connects it to an engine.
 */
class Store : public QObject, public EngineObserver, public DurabilitySink, public SlotSink {
    Q_OBJECT
public:
    static constexpr int DefaultLogBufferLimit = 100'000;
    //! Transitions per transaction by default: bounded, so that the first task runs of a large flow
    //! move on (and their next transitions accumulate) while later ones are still being written.
    static constexpr int DefaultMaxBatch = 16'384;

    Store(ConnectionPool& pool, Scheduler& scheduler, QObject* parent = nullptr);
    ~Store() override;

    //! Migrates the schema, marks runs left by dead processes CRASHED, and (for a process that runs
    //! flows) registers this process so that others can tell it is alive. Over a read-only pool
    //! (PoolOptions::readOnly) it only checks that the database holds the current Flowdeck schema.
    QCoro::Task<RecoveryReport> open(bool registerEngine = true);
    //! Writes what is buffered and unregisters this process; call before a clean exit.
    QCoro::Task<> close();
    //! open()'s recovery again while running, for workers that watch each other.
    QCoro::Task<RecoveryReport> recoverNow();
    //! Resolves once everything buffered so far is committed.
    QCoro::Task<> flush();

    //! This process's id in the engines table.
    const QString& engineId() const { return m_engineId; }
    StoreMetrics metrics() const;
    ConnectionPool& pool() { return m_pool; }
    void setLogBufferLimit(int lines) { m_logLimit = lines; }
    //! At most this many transitions per transaction (default: DefaultMaxBatch). 1 makes one
    //! transaction per transition, for comparison in benchmarks.
    void setMaxBatchTransitions(int transitions) { m_maxBatch = std::max(1, transitions); }
    /**
     * A batch that fails for a passing reason (the database locked, the connection lost) is written
     * again after a back-off, by default for ever (a dashboard goes on once the database is back).
     * With a limit, after \a seconds of failing the store gives up for good (writeFailed), for a
     * process that should stop rather than wait (flowdeck run, worker). A storage failure (disk
     * full, an I/O error, see sql::StorageError), which waiting does not cure, always gives up at once.
     */
    void setRetryLimitSeconds(double seconds) { m_retryLimitS = std::max(0.0, seconds); }
    //! Why the store stopped writing (writeFailed), or empty while it writes.
    const QString& failure() const { return m_failure; }
    /**
     * After writeFailed, once no engine writes here any more (detached): resumes the task runs that
     * wait for transitions that will never be committed, so that they end in memory. For a process
     * that goes on without this store (the dashboard); does nothing while the store writes.
     */
    void abandonWaiters();

    void onTransition(const TransitionEvent& event) override;
    void onLog(const LogEvent& event) override;
    void onStall(const StallRecord& stall) override;

    quint64 lastSequence() const override { return m_sequence; }
    bool isCommitted(quint64 sequence) const override { return sequence <= m_committed; }
    void whenCommitted(quint64 sequence, void (*callback)(void*, void*), void* a, void* b) override;

    QCoro::Task<qint64> acquireSlots(const TaskRun& run, const QStringList& tags, const Start& start,
                                     const QList<LimitTake>& limits = {}) override;
    //! How long a slot stays taken without renewal (default 30 s); renewed every third of it.
    void setSlotLeaseSeconds(double seconds) { m_slotLeaseUs = qint64(seconds * 1e6); }
    qint64 slotLeaseUs() const { return m_slotLeaseUs; }

    struct TransitionRow {
        qint64 timeUs;
        RunId flowRunId;
        RunId taskRunId; //!< null for the flow run itself
        QString task;
        qint32 mapIndex;
        quint16 attempts;
        bool isNew;
        StateType from; //!< the state before (not for a new run): for the flow run's counts per state
        StateType type;
        StateName name;
        QString message;
        qint64 createdUs;
        qint64 startedUs;
        qint64 endedUs;
        QStringList tags;         //!< on the run's first row
        bool leftRunning = false; //!< a run with limits left RUNNING: its slots are freed with this row
        //! The run's result as JSON text on the row that completes it (TransitionEvent::result); empty
        //! otherwise.
        QByteArray result;
        //! A flow run's task runs so far (a for_each adds to them while it runs); 0 for a task run.
        qint64 totalTaskRuns = 0;
    };
    struct FlowRow {
        RunId id;
        QString name;
        QJsonObject parameters;
        QJsonObject document;
        quint64 seed;
        qint64 totalTaskRuns;
        qint64 createdUs;
        QString startedBy;
        RunId parentFlowRunId; //!< a subflow's: the flow run and task run that started it
        RunId parentTaskRunId;
    };
    struct LogRow {
        qint64 timeUs;
        RunId flowRunId;
        RunId taskRunId;
        LogLevel level;
        QString message;
    };
    struct StallRow {
        StallRecord stall;
        quint32 runStallCount;
        qint64 runStallTotalUs;
    };
    struct Batch {
        std::vector<FlowRow> flows;
        // Deques: growing them on the GUI thread never copies what is already buffered.
        std::deque<TransitionRow> transitions;
        std::deque<LogRow> logs;
        std::vector<StallRow> stalls;
        quint64 droppedLogs = 0;
        quint64 lastSequence = 0;
        bool empty() const
        {
            return flows.empty() && transitions.empty() && logs.empty() && stalls.empty() && !droppedLogs;
        }
    };

Q_SIGNALS:
    //! A batch could not be written and is being retried (the message says why).
    void writeProblem(const QString& message);
    //! Everything up to \a sequence is committed.
    void committed(quint64 sequence);
    //! The store stopped writing for good (see setRetryLimitSeconds): what is not committed yet
    //! never will be, and task runs waiting for their transitions stay waiting.
    void writeFailed(const QString& message);

private:
    QCoro::Task<> writeLoop();
    Batch takeBatch();
    void noteWritten(quint64 transitions, quint64 logs, quint64 lastSequence);
    void noteProblem(const QString& problem);
    void giveUp(const QString& message);
    void wakeWriter();

    void releaseWaiters();
    void noteLoopStep(std::chrono::steady_clock::time_point started);

    ConnectionPool& m_pool;
    Scheduler& m_scheduler;
    QString m_engineId;
    Batch m_buffer;           //!< filling up
    std::deque<Batch> m_full; //!< sealed at m_maxBatch transitions, oldest first: taken without copying
    qsizetype m_fullLogs = 0; //!< log lines in m_full, counted against the log buffer's limit
    quint64 m_sequence = 0;
    quint64 m_committed = 0;
    int m_logLimit = DefaultLogBufferLimit;
    int m_maxBatch = DefaultMaxBatch;
    StoreMetrics m_metrics;
    struct Waiter {
        quint64 sequence;
        void (*callback)(void*, void*);
        void* a;
        void* b;
    };
    std::deque<Waiter> m_waiters;
    std::coroutine_handle<> m_writerIdle;
    bool m_wakePosted = false;
    bool m_releasePosted = false;
    bool m_stopping = false;
    bool m_writerRunning = false;
    QCoro::Task<> m_writer;
    qint64 m_slotLeaseUs = 30'000'000;
    std::shared_ptr<WalCheckpointer> m_checkpointer; //!< SQLite only
    bool m_registered = false;
    double m_retryLimitS = 0;
    QString m_failure;
};

} // namespace flowdeck
