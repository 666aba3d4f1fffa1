#pragma once

#include "run/flowrun.h"
#include "store/workerrow.h"

#include <QJsonObject>
#include <QList>
#include <QSqlDatabase>
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
