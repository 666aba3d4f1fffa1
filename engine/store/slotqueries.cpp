#include "store/slotqueries.h"

#include "run/clock.h"
#include "store/schema.h"
#include "store/sqlhelpers.h"

#include <QSqlQuery>

#include <algorithm>
#include <cmath>

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

//! How long a rate limit's slot stays taken: limit / decay seconds, in µs.
qint64 decayUs(qint64 limit, double decayPerSecond)
{
    return qint64(std::ceil(double(std::max<qint64>(limit, 1)) / decayPerSecond * 1e6));
}

/**
 * Whether the slots of global limit \a take are free for \a runId now. 1: free (\a decayLifeUs says
 * how long a rate slot will count, 0 for a held slot or a limit that does not throttle); 0: full;
 * negative: full only with rate slots that decay in minus that many µs.
 */
qint64 checkGlobal(QSqlDatabase& db, const LimitTake& take, const QString& runId, qint64 now,
                   qint64& decayLifeUs)
{
    decayLifeUs = 0;
    QSqlQuery limit = sql::run(
        db,
        sql::isPostgres(db) ? QStringLiteral("SELECT slot_limit, active, slot_decay_per_second FROM "
                                             "global_concurrency_limits WHERE name = ? FOR UPDATE")
                            : QStringLiteral("SELECT slot_limit, active, slot_decay_per_second FROM "
                                             "global_concurrency_limits WHERE name = ?"),
        {take.name}, QStringLiteral("reading global concurrency limit \"%1\"").arg(take.name));
    if (!limit.next() || limit.value(1).toInt() == 0)
        return 1; // deleted or inactive meanwhile: nothing to take
    const qint64 allowed = limit.value(0).toLongLong();
    const double decay = limit.value(2).isNull() ? 0.0 : limit.value(2).toDouble();
    if (take.decays && decay <= 0)
        return 1; // lost its decay meanwhile: the engine fails the run when it hears of it
    // A run's own held slots (of an earlier attempt) do not count against it; its rate slots do.
    QSqlQuery used = sql::run(
        db,
        QStringLiteral(
            "SELECT COALESCE(sum(occupy), 0), COALESCE(sum(CASE WHEN decays = 1 THEN occupy END), 0), "
            "min(CASE WHEN decays = 1 THEN lease_expires_at END) FROM global_concurrency_slots "
            "WHERE name = ? AND lease_expires_at > ? AND (decays = 1 OR task_run_id <> ?)"),
        {take.name, now, runId}, QStringLiteral("counting the slots of global limit \"%1\"").arg(take.name));
    used.next();
    const qint64 inUse = used.value(0).toLongLong();
    const qint64 decaying = used.value(1).toLongLong();
    if (inUse + take.occupy <= allowed) {
        if (take.decays)
            decayLifeUs = decayUs(allowed, decay);
        return 1;
    }
    if (decaying > 0 && inUse - decaying + take.occupy <= allowed)
        return -std::max<qint64>(1, used.value(2).toLongLong() - now);
    return 0;
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
                    qint64 leaseUs, const QList<LimitTake>& limits)
{
    // SQLite: BEGIN IMMEDIATE serialises writers; PostgreSQL: the limits' row locks do, taken in name
    // order so that two runs asking for the same limits in another order cannot deadlock.
    sql::WriteTransaction transaction(db, QStringLiteral("starting a slot transaction"));
    const qint64 now = wallUs();
    QStringList sortedTags = tags;
    sortedTags.sort();
    for (const QString& tag : std::as_const(sortedTags)) {
        if (!takeSlot(db, tag, start.taskRunId, holder, now, leaseUs))
            return 0; // rolled back
    }
    QList<LimitTake> sorted = limits;
    std::sort(sorted.begin(), sorted.end(),
              [](const LimitTake& a, const LimitTake& b) { return a.name < b.name; });
    QList<std::pair<LimitTake, qint64>> granted;
    qint64 refusal = 1;
    for (const LimitTake& take : std::as_const(sorted)) {
        const QString owner = take.flowRunId.isEmpty() ? start.taskRunId : take.flowRunId;
        if (!take.flowRunId.isEmpty()) {
            // A flow run's slots: taken once, by whichever of its task runs came first.
            QSqlQuery held
                = sql::run(db,
                           QStringLiteral("SELECT 1 FROM global_concurrency_slots WHERE name = ? AND "
                                          "task_run_id = ? AND decays = 0 AND lease_expires_at > ?"),
                           {take.name, owner, now}, QStringLiteral("reading a flow run's slots"));
            if (held.next())
                continue;
        }
        qint64 lifeUs = 0;
        const qint64 free = checkGlobal(db, take, owner, now, lifeUs);
        if (free <= 0) {
            // Full: say how long a rate limit makes it wait, when only that holds it back.
            refusal = refusal == 1 ? free : (free < 0 && refusal < 0 ? std::max(free, refusal) : 0);
            continue;
        }
        granted.append({take, lifeUs});
    }
    if (refusal <= 0)
        return refusal; // rolled back
    // The start's time is taken now, after the locks and the count: never before the release that
    // made room. A rate slot counts from that time, so recorded starts keep to the limit exactly.
    const qint64 startedUs = std::max(wallUs(), now);
    for (const auto& [take, lifeUs] : std::as_const(granted)) {
        const QString what = QStringLiteral("taking slots of global limit \"%1\"").arg(take.name);
        const QString owner = take.flowRunId.isEmpty() ? start.taskRunId : take.flowRunId;
        if (!take.decays)
            sql::run(
                db,
                QStringLiteral("DELETE FROM global_concurrency_slots WHERE name = ? AND task_run_id = ? AND "
                               "decays = 0"),
                {take.name, owner}, what);
        else if (lifeUs <= 0)
            continue; // the limit does not throttle (inactive or gone)
        sql::run(
            db,
            QStringLiteral("INSERT INTO global_concurrency_slots (name, task_run_id, occupy, holder, decays, "
                           "lease_expires_at) VALUES (?, ?, ?, ?, ?, ?)"),
            {take.name, owner, take.occupy, holder, take.decays ? 1 : 0,
             take.decays ? startedUs + lifeUs : now + leaseUs},
            what);
    }
    recordStart(db, start, startedUs);
    transaction.commit();
    return startedUs;
}

void renewSlotLeases(QSqlDatabase& db, const QString& holder, qint64 leaseUs)
{
    const qint64 until = wallUs() + leaseUs;
    sql::run(db, QStringLiteral("UPDATE concurrency_slots SET lease_expires_at = ? WHERE holder = ?"),
             {until, holder}, QStringLiteral("renewing slot leases"));
    // Rate slots are never renewed: they decay.
    sql::run(db,
             QStringLiteral(
                 "UPDATE global_concurrency_slots SET lease_expires_at = ? WHERE holder = ? AND decays = 0"),
             {until, holder}, QStringLiteral("renewing slot leases"));
}

} // namespace flowdeck
