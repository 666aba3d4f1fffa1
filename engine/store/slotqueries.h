#pragma once

#include "run/slotsink.h"
#include "run/states.h"

#include <QSqlDatabase>
#include <QString>
#include <QStringList>

// Concurrency slots as stored, beside the limits (limitqueries.h): a task run takes a slot of each
// of its tags in one transaction with its start. Functions run on a database thread inside
// ConnectionPool::run jobs and throw DatabaseError naming what failed.
namespace flowdeck {

//! What the slot transaction records of a task run's start (the RUNNING or Retrying transition).
struct SlotStart {
    QString flowRunId;
    QString taskRunId;
    StateName name;
    int attempts;
    StateType from;
};

/**
 * Takes a slot of every tag and the slots of every global limit in \a limits for a run, all or none,
 * guarded against every process's slots, and records its start in the same transaction: a held slot
 * is in the database exactly while the run is RUNNING there; a rate limit's slots count from the
 * start's time until they decay. Returns the start's time; 0 when a limit has no free slot, or minus
 * the µs until a rate limit's slots decay when only that holds it back (nothing written).
 */
qint64 acquireSlots(QSqlDatabase& db, const SlotStart& start, const QString& holder, const QStringList& tags,
                    qint64 leaseUs, const QList<LimitTake>& limits = {});

//! Extends the lease of every slot \a holder holds to now + \a leaseUs.
void renewSlotLeases(QSqlDatabase& db, const QString& holder, qint64 leaseUs);

} // namespace flowdeck
