#pragma once

#include "run/flowrun.h"
#include "store/workerrow.h"

#include <QJsonObject>
#include <QList>
#include <QSqlDatabase>
#include <QSqlQuery>
#include <QString>

#include <optional>

// The SQL of the flow-run queue and the worker registry. Workers are rows of the
// engines table (kind 'worker'); a queued flow run is a flow_runs row in state SCHEDULED with no
// worker. Every function runs on a database thread inside a ConnectionPool::run job and throws
// DatabaseError naming what failed.
namespace flowdeck::workers {

//! A flow run to queue: the flow's document travels with it, so a worker needs no files.
struct Submission {
    QString flowName;
    QJsonObject document;   //!< as written (before substitution)
    QJsonObject parameters; //!< defaults with the overrides applied
    std::optional<quint64> seed;
    qint64 totalTaskRuns = 0;
    int retries = 0;   //!< flow-level "retries": requeued after a crash this many times
    QString startedBy; //!< who submitted it, for people (flow_runs.started_by)
};

//! Queues a flow run (SCHEDULED, no worker) and returns its id.
QString submitFlowRun(QSqlDatabase& db, const Submission& submission);

//! Registers this process in the engines table, so that others can tell it is alive.
void registerEngine(QSqlDatabase& db, const QString& engineId, const QString& host);
//! Removes this process's row from the engines table (a clean exit).
void unregisterEngine(QSqlDatabase& db, const QString& engineId);
//! Renews the heartbeat of an engine that runs flows without being a worker.
void beatEngine(QSqlDatabase& db, const QString& engineId);

//! Turns the engine row \a engineId into a worker's: name, kind, capacity, heartbeat lease.
void registerWorker(QSqlDatabase& db, const QString& engineId, const QString& name, int maxFlowRuns,
                    qint64 leaseUs);

//! What a worker reports with each heartbeat.
struct WorkerFigures {
    int flowRunsRunning = 0;
    int blockingBusy = 0;
    int blockingMax = 0;
    qint64 loopLagUs = 0;
};

//! Renews the heartbeat with the figures. False when the row is gone: others declared this worker
//! offline (its heartbeat was stale for longer than its lease) and took its runs over.
bool heartbeat(QSqlDatabase& db, const QString& engineId, const WorkerFigures& figures);

//! A flow run claimed from the queue.
struct ClaimedRun {
    QString id;
    QString flowName;
    QJsonObject document;
    QJsonObject parameters;
    std::optional<quint64> seed;
    qint64 createdUs = 0;
    int runCount = 0; //!< 1 on the first attempt; more after a requeue
    int retries = 0;
    //! The fire time of a schedule's run (microseconds since the epoch); 0 for a submitted run.
    qint64 scheduledForUs = 0;
    //! Who queued or planned it, as stored (flow_runs.started_by: "schedule nightly", "flowdeck submit ...").
    QString startedBy;
    //! A retried or resumed run: it goes on with its task runs (Engine::continueRun).
    std::optional<Continuation> continuation;
};

struct ClaimResult {
    QList<ClaimedRun> claimed;
    //! Queued runs whose cancellation was requested before any worker took them: now CANCELLED.
    QStringList cancelled;
};

/**
 * Claims up to \a max of the oldest queued flow runs for the engine \a engineId, in one transaction:
 * PostgreSQL locks them with SELECT ... FOR UPDATE SKIP LOCKED (workers never wait for each other);
 * SQLite takes the write lock up front (BEGIN IMMEDIATE) and guards the UPDATE on the run still being
 * unclaimed. Two workers never claim the same run.
 */
ClaimResult claimFlowRuns(QSqlDatabase& db, const QString& engineId, const QString& workerName,
                          const QString& host, qint64 pid, int max);

//! A cap on active flow runs: "max_active_runs" of a flow document or of a schedule.
struct RunLimit {
    QString key;       //!< "flow:NAME" or "schedule:ID"; the runs sharing it count against max
    int max = 0;       //!< 0: no cap
    bool skip = false; //!< "on_limit": "skip" (end CANCELLED) rather than "enqueue" (wait)
};

//! The cap a flow document sets ("max_active_runs", "on_limit"), keyed by the flow's name.
RunLimit documentRunLimit(const QString& flowName, const QJsonObject& document);

//! A queued or due run looked at by a claim.
struct Candidate {
    QString id;
    bool cancelRequested = false;
    RunLimit limit;
};

//! The candidates of \a pick (id, cancel_requested, limit_key, max_active_runs, on_limit), finished.
QList<Candidate> readCandidates(QSqlQuery& pick);

/**
 * Inside a claim's write transaction: takes up to \a max of \a candidates in order for the engine
 * \a engineId. A run whose cancel was requested ends CANCELLED; one over its cap of active runs waits
 * (SCHEDULED AwaitingConcurrencySlot, its message says why) or, with on_limit skip, ends CANCELLED
 * with the reason. Adds what it did to \a result.
 */
void takeCandidates(QSqlDatabase& db, const QList<Candidate>& candidates, const QString& engineId,
                    const QString& workerName, const QString& host, qint64 pid, int max,
                    const QString& claimMessage, ClaimResult* result, const QString& what);

//! Ends a claimed run that cannot start (its stored flow no longer validates) as FAILED.
void failClaimedRun(QSqlDatabase& db, const QString& flowRunId, const QString& engineId,
                    const QString& message);

//! Whether some engine other than \a engineId looks gone: its heartbeat is older than its lease, or
//! it ran on \a host and its process no longer exists. Cheap: read-only, one small table.
bool anyEngineGone(QSqlDatabase& db, const QString& engineId, const QString& host);

//! Every registered engine, workers first, then by name and start.
QList<WorkerRow> listWorkers(QSqlDatabase& db);

//! Queued flow runs not yet claimed.
int queuedFlowRuns(QSqlDatabase& db);

} // namespace flowdeck::workers
