#pragma once

#include "flow/flow.h"
#include "run/engineobserver.h"
#include "store/storedruns.h"

#include <QCoro/QCoroTask>
#include <QHash>
#include <QList>
#include <QObject>
#include <QPointer>
#include <QSet>

#include <memory>
#include <vector>

class QTimer;

namespace flowdeck {

class DatabaseConnection;
class Engine;
class LogBuffers;
struct FlowRun;
struct FlowRunRow;

/**
 * Flow runs read from the store: earlier sessions and other processes (workers included). Reads
 * the newest page on open and every few seconds, reads a run's task runs and logs when asked (built
 * off the GUI thread), names the worker of a stored run, queues runs for workers, and asks the
 * process running a stored run to cancel it. All SQL runs on the connection's pool.
 *
 * Stored runs are owned here and kept for the session (never freed before it), so that pages
 * holding a pointer never dangle, even after the database changed.
 */
class RunHistory : public QObject {
    Q_OBJECT

public:
    static constexpr int PageSize = 200; //!< flow runs read at a time (the newest)
    static constexpr int ReloadMs = 5000;
    //! A stored flow run with more task runs than this is paged: its task runs are not read into
    //! memory as a whole, the Run page reads them a page at a time (StoredTaskRunModel).
    static constexpr qint64 PagedTaskRuns = 50'000;

    RunHistory(Engine& engine, DatabaseConnection& database, LogBuffers& logs, QObject* parent = nullptr);
    ~RunHistory() override;

    //! Flow runs read from the store, newest first; kept until the database changes.
    const std::vector<FlowRun*>& runs() const { return m_order; }
    //! A flow run read from the store, by id; null when not read.
    FlowRun* storedRun(const QString& id) const { return m_byId.value(id); }
    //! True for a flow run read from the store (not run by this process).
    bool isStored(const FlowRun* run) const { return m_stored.contains(run); }
    //! True when \a run is from the store and its task runs, history and logs are not read yet.
    bool needsDetails(const FlowRun* run) const;
    //! Reads the task runs, their state history and the logs of a stored flow run (asynchronously);
    //! detailsLoaded(run) follows. For a paged run (isPaged()), its logs only.
    void loadDetails(FlowRun* run);
    //! True for a stored flow run of more than PagedTaskRuns task runs: it never has its task runs
    //! in memory (its counts are its row's, kept current by reload()).
    bool isPaged(const FlowRun* run) const;
    //! Reads the newest flow runs from the store again (done on open; also every few seconds).
    void reload();
    /**
     * Reads the row of the stored \a run again, whatever its age (reload() reads the newest only):
     * its state and counts, for a page that shows it while another process runs it. runsUpdated()
     * follows when it moved on. Does nothing while a read of it is in flight.
     */
    void refreshRun(FlowRun* run);

    /**
     * The counts of \a run's row, newer than its task runs: set for a stored run whose task runs were
     * read while it went on (they are a snapshot, and the run's own counts count them). Null for
     * every other run: its own counts are current.
     */
    const TaskRunCounts* rowCountsOf(const FlowRun* run) const;

    //! Who runs \a run: "this app" for a run of this process, the worker's name for a stored run a
    //! worker claimed, "host (pid N)" for one another process ran (this app in an earlier session,
    //! `flowdeck run`), empty for a queued run.
    QString workerNameOf(const FlowRun* run) const;
    //! True for a stored run that a worker claimed.
    bool isClaimedByWorker(const FlowRun* run) const { return m_claimedByWorker.contains(run); }
    /**
     * Queues \a flow for a worker, as `flowdeck submit` does: the run is stored SCHEDULED with its
     * document and parameters, then the history is read again so that it shows in the Runs table.
     * flowRunQueued() or an error follows. Returns false (and does nothing) without an open store.
     * \a startedBy is stored as who started it (empty: this dashboard, RunOperations::identity()).
     */
    bool queueFlowRun(const FlowDefinition& flow, const QString& startedBy = {});
    //! Asks the process running the stored \a run to cancel it, as `flowdeck runs cancel` does (it
    //! does so within a second). Returns false when \a run has finished or was asked already.
    bool requestCancel(FlowRun* run);

Q_SIGNALS:
    //! runs() changed as a whole (loaded, or cleared because the database changed).
    void historyChanged();
    //! A reload found runs of other processes: \a added (newest first) went on top of runs(), and
    //! \a changed moved on (state, counts or worker).
    void runsUpdated(const QList<flowdeck::FlowRun*>& added, const QList<flowdeck::FlowRun*>& changed);
    //! A stored flow run's task runs, history and logs are read (see loadDetails()).
    void detailsLoaded(flowdeck::FlowRun* run);
    //! Stalls of earlier sessions (recorded before this one started), newest first: read once the
    //! database opens.
    void earlierStallsRead(const QList<flowdeck::StallRecord>& stalls);
    //! queueFlowRun() stored the run \a id of flow \a flowName.
    void flowRunQueued(const QString& id, const QString& flowName);
    //! Something worth a line in the status bar.
    void message(const QString& text);

private:
    void clear();
    FlowRun* adopt(const FlowRunRow& row, const QMap<QString, qint64>& counts);
    //! Records the worker of a stored run; true when it changed.
    bool noteWorker(const FlowRun* run, const FlowRunRow& row);
    //! Applies a newer read of \a known's row and counts; true when anything shown changed.
    bool refreshKnown(FlowRun* known, const FlowRunRow& row, const QMap<QString, qint64>& counts);
    //! Reads the history again once no read is in flight (one started before a write may miss it).
    void reloadAfterWrite(int attempts = 0);
    // Hold a QPointer and the database generation: a result for a database since replaced is dropped.
    static QCoro::Task<> stallsTask(QPointer<RunHistory> self, quint64 generation);
    static QCoro::Task<> reloadTask(QPointer<RunHistory> self, quint64 generation);
    static QCoro::Task<> detailsTask(QPointer<RunHistory> self, FlowRun* run, quint64 generation);
    static QCoro::Task<> queueTask(QPointer<RunHistory> self, FlowDefinition flow, QString startedBy,
                                   quint64 generation);
    static QCoro::Task<> cancelTask(QPointer<RunHistory> self, QString id, quint64 generation);
    static QCoro::Task<> refreshTask(QPointer<RunHistory> self, FlowRun* run, quint64 generation);

    Engine& m_engine;
    DatabaseConnection& m_database;
    LogBuffers& m_logs;
    QTimer* m_timer;
    bool m_loading = false;
    qint64 m_sessionStartUs = 0;
    std::vector<std::unique_ptr<FlowRun>> m_owned;
    std::vector<FlowRun*> m_order;
    QHash<QString, FlowRun*> m_byId;
    QSet<const FlowRun*> m_stored;
    QSet<const FlowRun*> m_detailed;
    QSet<const FlowRun*> m_paged; //!< detailed without their task runs (isPaged())
    QSet<const FlowRun*> m_detailsLoading;
    QSet<const FlowRun*> m_refreshing;                //!< refreshRun() reads in flight
    QHash<const FlowRun*, TaskRunCounts> m_rowCounts; //!< of detailed runs, see rowCountsOf()
    QHash<const FlowRun*, QString> m_workerNames;     //!< of stored runs: worker, or host and pid
    QSet<const FlowRun*> m_claimedByWorker;
};

} // namespace flowdeck
