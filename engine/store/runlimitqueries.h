#pragma once

#include "store/workerqueries.h"

#include <QJsonObject>
#include <QList>
#include <QSqlDatabase>
#include <QString>
#include <QStringList>

#include <optional>

// A flow's "max_active_runs" for the flow runs a process starts itself (`flowdeck run`, `runs rerun`,
// `runs retry` without --queue, the dashboard's Start and Run Again). Such a run is stored before it
// starts, in the same transaction that counts the active runs of its limit key, under the lock the
// claims of queued and scheduled runs take (PostgreSQL: an advisory lock on the key; SQLite: the write
// lock): two processes never both see a free place. While it waits, its row is SCHEDULED
// AwaitingConcurrencySlot, held by the process (flow_runs.worker), and does not count as active.
// Every function runs on a database thread and throws DatabaseError naming what failed.
namespace flowdeck::runlimits {

//! Serialises the counts and claims of \a key: PostgreSQL's advisory lock for the transaction;
//! nothing on SQLite, whose write transaction holds the database's one write lock.
void lockKey(QSqlDatabase& db, const QString& key, const QString& what);

/**
 * The flow runs counted against \a key: PENDING, RUNNING and CANCELLING ones, and SCHEDULED ones a
 * process took to start (a worker's claim, an admitted run) but not those waiting for the limit.
 * \a exceptId is not counted (a stored run admitted again).
 */
int activeRuns(QSqlDatabase& db, const QString& key, const QString& exceptId, const QString& what);

//! "1 of max_active_runs 1 of flow etl active": why a run waits or was skipped.
QString limitReason(int active, const workers::RunLimit& limit);

//! The process that holds the runs it admits (flow_runs.worker, host, pid).
struct Holder {
    QString engineId;
    QString host;
    qint64 pid = 0;
};

//! A flow run that a process starts itself, under its flow's limit.
struct LocalRun {
    QString id;
    QString flowName;
    QJsonObject document;   //!< as written (before substitution)
    QJsonObject parameters; //!< the values it runs with
    std::optional<quint64> seed;
    qint64 totalTaskRuns = 0;
    qint64 createdUs = 0;
    QString startedBy;
    workers::RunLimit limit;
    //! Its row exists and this process holds it already (a retry in this process): admitted in place.
    bool stored = false;
};

enum class Admission {
    Admitted,  //!< stored SCHEDULED, held here: start it now
    Waiting,   //!< stored SCHEDULED AwaitingConcurrencySlot: try again when a place may be free
    Skipped,   //!< on_limit skip: stored CANCELLED with the reason
    Cancelled, //!< its cancellation was requested while it waited: now CANCELLED
    Gone,      //!< no longer held here (ended or taken by another process): nothing to start
};

struct AdmissionResult {
    QString id;
    Admission outcome = Admission::Gone;
    QString message; //!< what the row now says (the reason it waits, was skipped or ended)
};

//! The first try of \a run: stores it (or, stored, takes it) as admitted, waiting or skipped.
AdmissionResult admit(QSqlDatabase& db, const Holder& holder, const LocalRun& run);

//! Tries again the runs \a runs that wait here, in order, in one transaction; one result for each.
QList<AdmissionResult> admitWaiting(QSqlDatabase& db, const Holder& holder, const QList<LocalRun>& runs);

//! Ends the runs \a ids that still wait here CANCELLED with \a message; returns those it ended.
QStringList cancelWaiting(QSqlDatabase& db, const QString& engineId, const QStringList& ids,
                          const QString& message);

} // namespace flowdeck::runlimits
