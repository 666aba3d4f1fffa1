#pragma once

#include "flow/flow.h"
#include "run/blockingpool.h"
#include "run/flowrun.h"
#include "run/loopmonitor.h"
#include "run/observer.h"
#include "store/connectionpool.h"
#include "store/limitqueries.h"

#include <QHash>
#include <QJsonObject>
#include <QObject>
#include <QSet>

#include <array>
#include <deque>
#include <memory>
#include <unordered_map>
#include <vector>

class QTimer;

#include <QCoro/QCoroTask>
#include <QPointer>

namespace flowdeck {

class DirtyRows;
class Engine;
class FlowParser;
class Store;
struct FlowRunRow;

//! What changed since the previous display tick; handed to models and pages once per tick.
struct UpdateBatch {
    std::vector<FlowRun*> startedFlowRuns;  //!< new flow runs, oldest first
    std::vector<FlowRun*> changedFlowRuns;  //!< state, counts or task runs changed (includes new ones)
    std::vector<FlowRun*> finishedFlowRuns; //!< reached a terminal state
    std::vector<FlowRun*> flowRunsWithLogs; //!< received log lines
    std::vector<StallRecord> stalls;        //!< loop stalls that ended, oldest first
};

//! Where the run store stands: flow runs are durable only while it is Open.
enum class DatabaseState { None, Opening, Open, Failed };

//! One tag of the Concurrency page: its limit and its use in this process and across processes.
struct TagRow {
    QString tag;
    int limit = 0;
    int active = 0;        //!< slots held, by this process and others sharing the database
    int waiting = 0;       //!< task runs waiting for a slot, here and elsewhere
    int remoteActive = 0;  //!< of active, held by other processes
    int remoteWaiting = 0; //!< of waiting, in other processes
    bool operator==(const TagRow&) const = default;
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
    //! Cancels \a run; a run of another process (from the store's history) gets a cancel request
    //! that its process applies within a second.
    bool cancelFlowRun(FlowRun* run);
    bool cancelTaskRun(TaskRun* run);

    //! Flow runs of this session, oldest first.
    const std::vector<std::unique_ptr<FlowRun>>& flowRuns() const;
    //! Flow runs read from the store (earlier sessions and other processes), newest first; they
    //! are kept until the database changes, so pointers stay valid while it is open.
    const std::vector<FlowRun*>& history() const { return m_historyOrder; }
    //! True for a flow run read from the store (not run by this process).
    bool isStored(const FlowRun* run) const { return m_stored.contains(run); }
    //! True when \a run is from the store and its task runs, history and logs are not read yet.
    bool needsDetails(const FlowRun* run) const;
    //! Reads the task runs, their state history and the logs of a stored flow run (asynchronously);
    //! flowRunDetailsLoaded(run) follows.
    void loadDetails(FlowRun* run);
    //! The newest flow run of this session, else the newest from the store, or null.
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

    /**
     * Opens the run store at \a location (a SQLite path or postgresql:// URL; empty: $FLOWDECK_DB, else
     * the location chosen in Settings, else flowdeck.db in the app data folder), asynchronously: SQL
     * runs only on the pool's database threads. On success the engine's runs are durable, limits come
     * from the store and the history is loaded; on failure databaseError() says why and the app goes
     * on without persistence. Flows started while it opens start once it is open (or has failed).
     * Replacing an open database requires that no flow run is active; returns false otherwise.
     */
    bool openDatabase(const QString& location = {});
    //! The location openDatabase() uses without an argument, and where it comes from.
    static QString defaultDatabaseLocation(QString* source = nullptr);
    DatabaseState databaseState() const { return m_dbState; }
    //! The open (or last tried) database, password redacted.
    QString databaseDescription() const { return m_dbDescription; }
    QString databaseErrorText() const { return m_dbError; }
    Store* store() const { return m_dbState == DatabaseState::Open ? m_store.get() : nullptr; }
    bool hasDatabasePool() const { return m_pool && m_dbState == DatabaseState::Open; }
    PoolMetrics databasePoolMetrics() const;
    PoolOptions databasePoolOptions() const;
    //! Applies and stores the pool's size, overflow and timeout (live for the next checkouts).
    void setDatabasePoolOptions(const PoolOptions& options);
    /**
     * Writes what is buffered, unregisters this process and closes the store, running the event loop
     * until done or \a timeoutMs passed (at exit, after cancelAllAndWait). Returns true when closed.
     */
    bool closeDatabaseAndWait(int timeoutMs);
    //! Reads the newest flow runs from the store again (done on open; also every few seconds).
    void reloadHistory();

    //! Checks a limit as typed: the tag (non-empty, no whitespace, commas or control characters) and
    //! the limit (a non-negative integer). Returns an empty string when valid, else one line saying why.
    static QString validateLimit(const QString& tag, const QString& limit, int* value = nullptr);
    /**
     * Creates or changes the limit of \a tag: in the store when it is open (then applied to the
     * limiter, and to other processes within a second), else in the limiter only. Returns false (and
     * changes nothing) when \a tag or \a limit is invalid. limitsChanged() or databaseError() follows.
     */
    bool setConcurrencyLimit(const QString& tag, int limit);
    bool removeConcurrencyLimit(const QString& tag);
    //! Every limited tag with its use, by tag: this process's limiter merged with the store's view.
    QList<TagRow> tagRows() const;
    //! The store's view of \a tag's holders and waiters (other processes included), asynchronously:
    //! tagInspected() follows. Nothing happens without a store.
    void inspectTag(const QString& tag);

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

    // scale-out (#7): runs on workers.
    //! Who runs \a run: "this app" for a run of this process, the worker's name for a stored run a
    //! worker claimed, empty for a queued run (or one run by a process that is not a worker).
    QString workerNameOf(const FlowRun* run) const;
    /**
     * Queues \a flow for a worker, as `flowdeck submit` does: the run is stored SCHEDULED with its
     * document and parameters (asynchronously, on the store's pool), then the history is read again
     * so that it shows in the Runs table. flowRunQueued() or databaseError() follows. Returns false
     * (and does nothing) without an open store.
     */
    bool queueFlowRun(const FlowDefinition& flow);

Q_SIGNALS:
    //! At most once per tick, when something changed.
    void updated(const flowdeck::UpdateBatch& batch);
    //! Every PulseIntervalMs: figures that change with time alone (durations, lag, pools).
    void pulse();
    //! The database opened, failed or closed.
    void databaseStateChanged(flowdeck::DatabaseState state);
    //! A database operation failed; \a message says what and where.
    void databaseError(const QString& message);
    //! history() changed (loaded, grown, or cleared because the database changed).
    void historyChanged();
    //! A stored flow run's task runs, history and logs are read (see loadDetails()).
    void flowRunDetailsLoaded(flowdeck::FlowRun* run);
    //! A limit was written, or the store's view of limits was read again (tagRows() changed).
    void limitsChanged();
    void tagInspected(const QString& tag, const flowdeck::LimitRow& row);
    //! Something worth a line in the status bar.
    void message(const QString& text);
    //! queueFlowRun() stored the run \a id of flow \a flowName.
    void flowRunQueued(const QString& id, const QString& flowName);

private:
    class Observer;
    friend class Observer;

    void scheduleTick();
    void tick();
    void setDatabaseState(DatabaseState state, const QString& error = {});
    void startDeferred();
    void clearHistory();
    void refreshStoreLimits();
    FlowRun* adoptStored(const FlowRunRow& row, const QMap<QString, qint64>& counts);
    // Coroutines hold a QPointer to the context and a generation number: a result for a database
    // that has since been replaced, or a context that is gone, is dropped.
    static QCoro::Task<> openTask(QPointer<AppContext> self, QString location, quint64 generation);
    static QCoro::Task<> historyTask(QPointer<AppContext> self, quint64 generation);
    static QCoro::Task<> detailsTask(QPointer<AppContext> self, FlowRun* run, quint64 generation);
    static QCoro::Task<> limitTask(QPointer<AppContext> self, QString tag, int limit, bool remove,
                                   quint64 generation);
    static QCoro::Task<> limitsTask(QPointer<AppContext> self, quint64 generation);
    static QCoro::Task<> inspectTask(QPointer<AppContext> self, QString tag, quint64 generation);
    static QCoro::Task<> cancelTask(QPointer<AppContext> self, QString id, quint64 generation);
    static QCoro::Task<> closeTask(std::shared_ptr<Store> store, std::shared_ptr<ConnectionPool> pool,
                                   std::shared_ptr<bool> done, bool releaseLater);
    void retireDatabase();
    // scale-out (#7)
    //! Records the worker of a stored run; true when it changed.
    bool noteWorker(const FlowRun* run, const FlowRunRow& row);
    //! Reads the history again once no read is in flight (one started before a write may miss it).
    void reloadHistoryAfterWrite(int attempts = 0);
    static QCoro::Task<> queueTask(QPointer<AppContext> self, FlowDefinition flow, quint64 generation);

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

    // The run store.
    std::unique_ptr<ConnectionPool> m_pool;
    std::unique_ptr<Store> m_store;
    DatabaseState m_dbState = DatabaseState::None;
    QString m_dbDescription;
    QString m_dbError;
    quint64 m_dbGeneration = 0;
    std::vector<FlowDefinition> m_deferred;
    bool m_historyLoading = false;
    bool m_limitsLoading = false;
    QTimer* m_historyTimer;
    QList<LimitRow> m_storeLimits;
    // Stored flow runs: owned here; kept alive (never freed before the context) so that pages
    // holding a pointer never dangle, even after the database changed.
    std::vector<std::unique_ptr<FlowRun>> m_storedRuns;
    std::vector<FlowRun*> m_historyOrder;
    QHash<QString, FlowRun*> m_storedById;
    QSet<const FlowRun*> m_stored;
    QSet<const FlowRun*> m_detailed;
    QSet<const FlowRun*> m_detailsLoading;
    // Tagged task runs of this process: the store's slot holders and waiters that are not among
    // them belong to other processes.
    QSet<RunId> m_localTagged;
    // scale-out (#7): worker names of stored runs claimed by workers.
    QHash<const FlowRun*, QString> m_workerNames;
};

} // namespace flowdeck

Q_DECLARE_METATYPE(flowdeck::UpdateBatch)
