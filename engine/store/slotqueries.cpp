#include "store/slotqueries.h"

#include "run/clock.h"
#include "store/schema.h"
#include "store/sqlhelpers.h"

#include <QSqlQuery>

namespace flowdeck {

namespace {

//! Whether \a tag has a free slot for \a runId now; false when it is full. Takes it when free.
bool takeSlot(QSqlDatabase& db, const QString& tag, const QString& runId, const QString& holder, qint64 now,
              qint64 leaseUs)
{
    QSqlQuery limit
        = sql::run(db,
                   sql::isPostgres(db)
                       ? QStringLiteral("SELECT slot_limit FROM concurrency_limits WHERE tag = ? FOR UPDATE")
                       : QStringLiteral("SELECT slot_limit FROM concurrency_limits WHERE tag = ?"),
                   {tag}, QStringLiteral("reading the limit of a tag"));
    if (!limit.next())
        return true; // the limit was deleted: nothing to take
    const qint64 allowed = limit.value(0).toLongLong();
    QSqlQuery used = sql::run(db,
                              QStringLiteral("SELECT count(*) FROM concurrency_slots WHERE tag = ? AND "
                                             "lease_expires_at > ? AND task_run_id <> ?"),
                              {tag, now, runId}, QStringLiteral("counting the slots of a tag"));
    used.next();
    if (used.value(0).toLongLong() >= allowed)
        return false;
    sql::run(db,
             QStringLiteral("INSERT INTO concurrency_slots (tag, task_run_id, holder, lease_expires_at) "
                            "VALUES (?, ?, ?, ?) "
                            "ON CONFLICT (tag, task_run_id) DO UPDATE SET holder = excluded.holder, "
                            "lease_expires_at = excluded.lease_expires_at"),
             {tag, runId, holder, now + leaseUs}, QStringLiteral("taking a slot"));
    return true;
}

void recordStart(QSqlDatabase& db, const SlotStart& start, qint64 startedUs)
{
    const QString what = QStringLiteral("recording the start of a task run");
    const QString type = toString(typeOf(start.name));
    sql::run(db,
             QStringLiteral("UPDATE task_runs SET state = ?, state_name = ?, message = NULL, attempts = ?, "
                            "started_at = COALESCE(started_at, ?) WHERE id = ?"),
             {type, toString(start.name), start.attempts, startedUs, start.taskRunId}, what);
    sql::run(
        db,
        QStringLiteral("INSERT INTO state_history (flow_run_id, task_run_id, time, state, name, message) "
                       "VALUES (?, ?, ?, ?, ?, NULL)"),
        {start.flowRunId, start.taskRunId, startedUs, type, toString(start.name)}, what);
    const QString from = schema::taskCountColumn(start.from);
    const QString to = schema::taskCountColumn(typeOf(start.name));
    sql::run(db, QStringLiteral("UPDATE flow_runs SET %1 = %1 - 1, %2 = %2 + 1 WHERE id = ?").arg(from, to),
             {start.flowRunId}, what);
}

} // namespace

qint64 acquireSlots(QSqlDatabase& db, const SlotStart& start, const QString& holder, const QStringList& tags,
                    qint64 leaseUs)
{
    // SQLite: BEGIN IMMEDIATE serialises writers; PostgreSQL: the limit's row lock does.
    sql::WriteTransaction transaction(db, QStringLiteral("starting a slot transaction"));
    const qint64 now = wallUs();
    for (const QString& tag : tags) {
        if (!takeSlot(db, tag, start.taskRunId, holder, now, leaseUs))
            return 0; // rolled back
    }
    // The start's time is taken now, after the locks and the count: never before the release that
    // made room.
    const qint64 startedUs = std::max(wallUs(), now);
    recordStart(db, start, startedUs);
    transaction.commit();
    return startedUs;
}

void renewSlotLeases(QSqlDatabase& db, const QString& holder, qint64 leaseUs)
{
    sql::run(db, QStringLiteral("UPDATE concurrency_slots SET lease_expires_at = ? WHERE holder = ?"),
             {wallUs() + leaseUs, holder}, QStringLiteral("renewing slot leases"));
}

} // namespace flowdeck
