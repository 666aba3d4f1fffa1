#include "store/schedulequeries.h"

#include "run/runid.h"
#include "schedule/schedulespec.h"
#include "store/sqlhelpers.h"

#include <QJsonDocument>
#include <QSet>
#include <QSqlQuery>
#include <QVariant>

namespace flowdeck::schedules {

using sql::jsonText;
using sql::run;
using sql::WriteTransaction;

namespace {

const QString kColumns = QStringLiteral(
    "id, name, flow_name, source, document, parameters, cron, timezone, interval_us, anchor_at, active, "
    "catchup, max_active_runs, on_limit, version, created_at, updated_at");

QJsonObject jsonObject(const QVariant& v)
{
    return v.isNull() ? QJsonObject() : QJsonDocument::fromJson(v.toString().toUtf8()).object();
}

QVariant nullable(const QString& s)
{
    return s.isEmpty() ? QVariant(QMetaType::fromType<QString>()) : QVariant(s);
}

QVariant nullable(std::optional<qint64> v)
{
    return v ? QVariant(*v) : QVariant(QMetaType::fromType<qint64>());
}

ScheduleRow readRow(const QSqlQuery& q)
{
    ScheduleRow r;
    r.id = q.value(0).toString();
    ScheduleDraft& d = r.draft;
    d.name = q.value(1).toString();
    d.flowName = q.value(2).toString();
    d.source = q.value(3).toString();
    d.document = jsonObject(q.value(4));
    d.parameters = jsonObject(q.value(5));
    d.cron = q.value(6).toString();
    d.timezone = q.value(7).toString();
    d.intervalUs = q.value(8).toLongLong();
    if (!q.value(9).isNull())
        d.anchorUs = q.value(9).toLongLong();
    d.active = q.value(10).toLongLong() != 0;
    parseCatchup(q.value(11).toString(), &d.catchup);
    d.maxActiveRuns = q.value(12).toInt();
    parseOnLimit(q.value(13).toString(), &d.onLimit);
    r.version = q.value(14).toInt();
    r.createdUs = q.value(15).toLongLong();
    r.updatedUs = q.value(16).toLongLong();
    return r;
}

//! Next fire times, last run and active runs of \a r.
void complete(QSqlDatabase& db, ScheduleRow& r, qint64 nowUs, int nextCount)
{
    if (r.draft.active) {
        if (const std::optional<ScheduleSpec> spec = r.draft.spec())
            r.nextFireUs = spec->nextFireTimes(nowUs, nextCount);
    }
    QSqlQuery last
        = run(db,
              QStringLiteral("SELECT id, state, scheduled_for FROM flow_runs WHERE schedule_id = ? "
                             "AND state <> 'SCHEDULED' ORDER BY scheduled_for DESC LIMIT 1"),
              {r.id}, QStringLiteral("reading the last run of schedule %1").arg(r.draft.name));
    if (last.next()) {
        r.lastRunId = last.value(0).toString();
        r.lastRunState = last.value(1).toString();
        r.lastRunFireUs = last.value(2).toLongLong();
    }
    QSqlQuery active
        = run(db,
              QStringLiteral("SELECT count(*) FROM flow_runs WHERE schedule_id = ? AND (state IN "
                             "('PENDING','RUNNING','PAUSED','CANCELLING') OR "
                             "(state = 'SCHEDULED' AND worker IS NOT NULL))"),
              {r.id}, QStringLiteral("counting the active runs of schedule %1").arg(r.draft.name));
    if (active.next())
        r.activeRuns = active.value(0).toInt();
}

void validate(const ScheduleDraft& d)
{
    if (d.name.trimmed().isEmpty())
        throw ScheduleInvalid(std::string("a schedule needs a name"));
    if (d.cron.isEmpty() == (d.intervalUs <= 0))
        throw ScheduleInvalid(std::string("a schedule has either a cron expression or an interval"));
    ScheduleExprError error;
    if (!d.spec(&error))
        throw ScheduleInvalid(error.message().toStdString());
    if (d.maxActiveRuns < 0)
        throw ScheduleInvalid(std::string("max_active_runs cannot be negative"));
}

/**
 * Takes back the runs of schedule \a id that nobody claimed: future fire times are deleted (they are
 * only a plan, and may be planned again by a new version or a resume); due ones (waiting for their
 * limit, or for a claimer) end CANCELLED with \a message.
 */
int cancelPlanned(QSqlDatabase& db, const QString& id, const QString& message, qint64 nowUs,
                  const QString& what)
{
    QSqlQuery pick = run(db,
                         QStringLiteral("SELECT id, scheduled_for FROM flow_runs WHERE schedule_id = ? AND "
                                        "state = 'SCHEDULED' AND worker IS NULL"),
                         {id}, what);
    QList<std::pair<QString, qint64>> runs;
    while (pick.next())
        runs.append({pick.value(0).toString(), pick.value(1).toLongLong()});
    pick.finish();
    int n = 0;
    for (const auto& [runId, fireUs] : runs) {
        if (fireUs > nowUs) {
            QSqlQuery q = run(db,
                              QStringLiteral("DELETE FROM flow_runs WHERE id = ? AND state = 'SCHEDULED' AND "
                                             "worker IS NULL"),
                              {runId}, what);
            if (q.numRowsAffected() > 0)
                run(db, QStringLiteral("DELETE FROM state_history WHERE flow_run_id = ?"), {runId}, what);
            continue;
        }
        QSqlQuery q
            = run(db,
                  QStringLiteral("UPDATE flow_runs SET state = 'CANCELLED', state_name = 'Cancelled', "
                                 "message = ?, ended_at = ? "
                                 "WHERE id = ? AND state = 'SCHEDULED' AND worker IS NULL"),
                  {message, nowUs, runId}, what);
        if (q.numRowsAffected() > 0) {
            sql::addFlowHistory(db, runId, nowUs, QStringLiteral("CANCELLED"), QStringLiteral("Cancelled"),
                                message, what);
            ++n;
        }
    }
    return n;
}

//! The cap a run of schedule \a row counts against: the schedule's own, else its flow document's.
workers::RunLimit runLimitOf(const ScheduleRow& row)
{
    if (row.draft.maxActiveRuns > 0)
        return {QStringLiteral("schedule:") + row.id, row.draft.maxActiveRuns,
                row.draft.onLimit == OnLimit::Skip};
    return workers::documentRunLimit(row.draft.flowName, row.draft.document);
}

//! Inserts the run of \a row for \a fireUs unless one exists (the unique key); true when added.
bool insertPlanned(QSqlDatabase& db, const ScheduleRow& row, const ScheduleSpec& spec, qint64 fireUs,
                   qint64 nowUs, bool late, const QString& what)
{
    const QString id = RunId::generate().toString();
    const workers::RunLimit limit = runLimitOf(row);
    const QString when = isoWithOffset(spec.toZoned(fireUs));
    const QString message = late
        ? QStringLiteral("late: a missed fire time of schedule %1 (%2), run by catchup %3")
              .arg(row.draft.name, when, toString(row.draft.catchup))
        : QStringLiteral("planned by schedule %1 for %2").arg(row.draft.name, when);
    QSqlQuery q
        = run(db,
              QStringLiteral(
                  "INSERT INTO flow_runs (id, flow_name, state, state_name, message, parameters, document, "
                  "total_task_runs, created_at, retries, run_count, started_by, schedule_id, scheduled_for, "
                  "limit_key, max_active_runs, on_limit) "
                  "VALUES (?, ?, 'SCHEDULED', ?, ?, ?, ?, 0, ?, ?, 0, ?, ?, ?, ?, ?, ?) "
                  "ON CONFLICT DO NOTHING"),
              {id, row.draft.flowName, late ? QStringLiteral("Late") : QStringLiteral("Scheduled"), message,
               jsonText(row.draft.parameters), jsonText(row.draft.document), nowUs,
               std::max(0, row.draft.document.value(QStringLiteral("retries")).toInt()),
               QStringLiteral("schedule %1").arg(row.draft.name), row.id, fireUs,
               limit.max > 0 ? QVariant(limit.key) : QVariant(QMetaType::fromType<QString>()), limit.max,
               limit.max > 0 ? QVariant(limit.skip ? QStringLiteral("skip") : QStringLiteral("enqueue"))
                             : QVariant(QMetaType::fromType<QString>())},
              what);
    if (q.numRowsAffected() <= 0)
        return false;
    sql::addFlowHistory(db, id, nowUs, QStringLiteral("SCHEDULED"),
                        late ? QStringLiteral("Late") : QStringLiteral("Scheduled"), message, what);
    return true;
}

//! planSchedules for one schedule, in its own transaction.
void planOne(QSqlDatabase& db, const QString& scheduleId, qint64 nowUs, PlanReport* report)
{
    const QString what = QStringLiteral("planning schedule runs");
    WriteTransaction tx(db, what);
    // PostgreSQL: one planner per schedule at a time (SQLite's write lock does that already).
    QSqlQuery q = run(db,
                      QStringLiteral("SELECT %1, planned_until FROM schedules WHERE id = ? AND active <> 0%2")
                          .arg(kColumns, sql::isPostgres(db) ? QStringLiteral(" FOR UPDATE") : QString()),
                      {scheduleId}, what);
    if (!q.next())
        return;
    const ScheduleRow row = readRow(q);
    const qint64 plannedUntil = q.value(17).isNull() ? row.createdUs : q.value(17).toLongLong();
    q.finish();
    const std::optional<ScheduleSpec> spec = row.draft.spec();
    if (!spec)
        return; // stored by another build that reads it differently: left alone
    const qint64 missedBefore = nowUs - MissedAfterUs;

    // Missed fire times: planned runs nobody claimed within MissedAfterUs, and fire times never planned
    // because no process was up (after planned_until, up to now).
    QSqlQuery old = run(db,
                        QStringLiteral("SELECT id, scheduled_for FROM flow_runs WHERE schedule_id = ? AND "
                                       "state = 'SCHEDULED' AND worker IS NULL AND state_name = 'Scheduled' "
                                       "AND scheduled_for <= ? ORDER BY scheduled_for"),
                        {row.id, missedBefore}, what);
    QList<std::pair<QString, qint64>> missedRows;
    while (old.next())
        missedRows.append({old.value(0).toString(), old.value(1).toLongLong()});
    old.finish();
    constexpr int MaxCatchup = 10'000;
    QList<qint64> missedTimes;
    qint64 cursor = plannedUntil;
    while (cursor < nowUs) {
        const std::optional<qint64> next = spec->nextAfter(cursor);
        if (!next || *next > nowUs)
            break;
        cursor = *next;
        missedTimes << *next;
        if (missedTimes.size() > MaxCatchup)
            missedTimes.removeFirst();
    }
    qint64 latest = missedTimes.isEmpty() ? 0 : missedTimes.last();
    for (const auto& [id, fireUs] : missedRows)
        latest = std::max(latest, fireUs);
    const Catchup catchup = row.draft.catchup;
    const auto kept = [catchup, latest](qint64 fireUs) {
        return catchup == Catchup::All || (catchup == Catchup::Latest && fireUs == latest);
    };
    const QString reason = QStringLiteral("missed: no process was running at its fire time (catchup %1)")
                               .arg(toString(catchup));
    const QString lateMessage
        = QStringLiteral("late: runs as a missed fire time (catchup %1)").arg(toString(catchup));
    for (const auto& [id, fireUs] : missedRows) {
        // Kept ones become Late: claimable although past MissedAfterUs.
        QSqlQuery c = kept(fireUs)
            ? run(db,
                  QStringLiteral("UPDATE flow_runs SET state_name = 'Late', message = ? WHERE id = ? AND "
                                 "state = 'SCHEDULED' AND worker IS NULL"),
                  {lateMessage, id}, what)
            : run(db,
                  QStringLiteral("UPDATE flow_runs SET state = 'CANCELLED', state_name = 'Cancelled', "
                                 "message = ?, ended_at = ? WHERE id = ? AND state = 'SCHEDULED' AND "
                                 "worker IS NULL"),
                  {reason, nowUs, id}, what);
        if (c.numRowsAffected() <= 0)
            continue;
        if (kept(fireUs)) {
            sql::addFlowHistory(db, id, nowUs, QStringLiteral("SCHEDULED"), QStringLiteral("Late"),
                                lateMessage, what);
            ++report->due;
        } else {
            sql::addFlowHistory(db, id, nowUs, QStringLiteral("CANCELLED"), QStringLiteral("Cancelled"),
                                reason, what);
            ++report->missedCancelled;
        }
    }
    for (const qint64 fireUs : missedTimes) {
        if (kept(fireUs) && insertPlanned(db, row, *spec, fireUs, nowUs, true, what)) {
            ++report->planned;
            ++report->due;
        }
    }
    // The next PlannedAhead fire times (those planned already are kept by the unique key).
    cursor = nowUs;
    for (int ahead = 0; ahead < PlannedAhead; ++ahead) {
        const std::optional<qint64> next = spec->nextAfter(cursor);
        if (!next)
            break;
        cursor = *next;
        report->planned += insertPlanned(db, row, *spec, *next, nowUs, false, what) ? 1 : 0;
    }
    const qint64 until = std::max({plannedUntil, cursor, nowUs});
    if (until != plannedUntil)
        run(db, QStringLiteral("UPDATE schedules SET planned_until = ? WHERE id = ?"), {until, row.id}, what);
    tx.commit(what);
}

std::optional<ScheduleRow> readByName(QSqlDatabase& db, const QString& name, const QString& what)
{
    QSqlQuery q
        = run(db, QStringLiteral("SELECT %1 FROM schedules WHERE name = ?").arg(kColumns), {name}, what);
    if (!q.next())
        return std::nullopt;
    return readRow(q);
}

} // namespace

QList<ScheduleRow> listSchedules(QSqlDatabase& db, qint64 nowUs, int nextCount)
{
    QSqlQuery q = run(db, QStringLiteral("SELECT %1 FROM schedules ORDER BY name").arg(kColumns), {},
                      QStringLiteral("listing schedules"));
    QList<ScheduleRow> rows;
    while (q.next())
        rows << readRow(q);
    q.finish();
    for (ScheduleRow& r : rows)
        complete(db, r, nowUs, nextCount);
    return rows;
}

std::optional<ScheduleRow> findSchedule(QSqlDatabase& db, const QString& name, qint64 nowUs, int nextCount)
{
    std::optional<ScheduleRow> row = readByName(db, name, QStringLiteral("reading schedule %1").arg(name));
    if (row)
        complete(db, *row, nowUs, nextCount);
    return row;
}

ScheduleRow addSchedule(QSqlDatabase& db, const ScheduleDraft& d, qint64 nowUs)
{
    validate(d);
    const QString what = QStringLiteral("adding schedule %1").arg(d.name);
    {
        WriteTransaction tx(db, what);
        if (readByName(db, d.name, what))
            throw ScheduleConflict(
                QStringLiteral("a schedule named \"%1\" already exists (schedule update changes it)")
                    .arg(d.name)
                    .toStdString());
        run(db,
            QStringLiteral("INSERT INTO schedules (id, name, flow_name, source, document, parameters, cron, "
                           "timezone, interval_us, anchor_at, active, catchup, max_active_runs, on_limit, "
                           "version, created_at, updated_at, planned_until) "
                           "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 1, ?, ?, ?)"),
            {RunId::generate().toString(), d.name, d.flowName, nullable(d.source), jsonText(d.document),
             jsonText(d.parameters), nullable(d.cron), nullable(d.timezone),
             d.intervalUs > 0 ? QVariant(d.intervalUs) : QVariant(QMetaType::fromType<qint64>()),
             nullable(d.anchorUs), d.active ? 1 : 0, toString(d.catchup), d.maxActiveRuns,
             toString(d.onLimit), nowUs, nowUs, nowUs},
            what);
        tx.commit(what);
    }
    planSchedules(db, nowUs);
    return *findSchedule(db, d.name, nowUs);
}

std::optional<ScheduleRow> updateSchedule(QSqlDatabase& db, const QString& name, const ScheduleDraft& d,
                                          qint64 nowUs)
{
    validate(d);
    const QString what = QStringLiteral("updating schedule %1").arg(name);
    {
        WriteTransaction tx(db, what);
        std::optional<ScheduleRow> old = readByName(db, name, what);
        if (!old)
            return std::nullopt;
        if (d.name != name && readByName(db, d.name, what))
            throw ScheduleConflict(
                QStringLiteral("cannot rename schedule \"%1\": a schedule named \"%2\" already exists")
                    .arg(name, d.name)
                    .toStdString());
        cancelPlanned(
            db, old->id,
            QStringLiteral("schedule %1 was updated to version %2").arg(d.name).arg(old->version + 1), nowUs,
            what);
        run(db,
            QStringLiteral(
                "UPDATE schedules SET name = ?, flow_name = ?, source = ?, document = ?, "
                "parameters = ?, cron = ?, timezone = ?, interval_us = ?, anchor_at = ?, active = ?, "
                "catchup = ?, max_active_runs = ?, on_limit = ?, version = version + 1, "
                "updated_at = ?, planned_until = ? WHERE id = ?"),
            {d.name, d.flowName, nullable(d.source), jsonText(d.document), jsonText(d.parameters),
             nullable(d.cron), nullable(d.timezone),
             d.intervalUs > 0 ? QVariant(d.intervalUs) : QVariant(QMetaType::fromType<qint64>()),
             nullable(d.anchorUs), d.active ? 1 : 0, toString(d.catchup), d.maxActiveRuns,
             toString(d.onLimit), nowUs, nowUs, old->id},
            what);
        tx.commit(what);
    }
    planSchedules(db, nowUs);
    return findSchedule(db, d.name, nowUs);
}

bool setScheduleActive(QSqlDatabase& db, const QString& name, bool active, qint64 nowUs)
{
    const QString what = QStringLiteral("%1 schedule %2")
                             .arg(active ? QStringLiteral("resuming") : QStringLiteral("pausing"), name);
    {
        WriteTransaction tx(db, what);
        std::optional<ScheduleRow> row = readByName(db, name, what);
        if (!row)
            return false;
        if (row->draft.active != active) {
            if (!active)
                cancelPlanned(db, row->id, QStringLiteral("schedule %1 was paused").arg(name), nowUs, what);
            // Resumed: planned again from now, so fire times missed while paused never run.
            run(db,
                QStringLiteral(
                    "UPDATE schedules SET active = ?, updated_at = ?, planned_until = ? WHERE id = ?"),
                {active ? 1 : 0, nowUs, nowUs, row->id}, what);
        }
        tx.commit(what);
    }
    if (active)
        planSchedules(db, nowUs);
    return true;
}

int pauseAllSchedules(QSqlDatabase& db, qint64 nowUs)
{
    const QString what = QStringLiteral("pausing every schedule");
    WriteTransaction tx(db, what);
    QSqlQuery q = run(db, QStringLiteral("SELECT id, name FROM schedules WHERE active <> 0"), {}, what);
    QList<std::pair<QString, QString>> active;
    while (q.next())
        active.append({q.value(0).toString(), q.value(1).toString()});
    q.finish();
    for (const auto& [id, name] : active) {
        cancelPlanned(db, id, QStringLiteral("schedule %1 was paused (all schedules paused)").arg(name),
                      nowUs, what);
        run(db, QStringLiteral("UPDATE schedules SET active = 0, updated_at = ? WHERE id = ?"), {nowUs, id},
            what);
    }
    tx.commit(what);
    return int(active.size());
}

bool deleteSchedule(QSqlDatabase& db, const QString& name, qint64 nowUs)
{
    const QString what = QStringLiteral("deleting schedule %1").arg(name);
    WriteTransaction tx(db, what);
    std::optional<ScheduleRow> row = readByName(db, name, what);
    if (!row)
        return false;
    cancelPlanned(db, row->id, QStringLiteral("schedule %1 was deleted").arg(name), nowUs, what);
    run(db, QStringLiteral("DELETE FROM schedules WHERE id = ?"), {row->id}, what);
    tx.commit(what);
    return true;
}

PlanReport planSchedules(QSqlDatabase& db, qint64 nowUs)
{
    const QString what = QStringLiteral("listing active schedules");
    // Read first, write only where needed: in the steady state every schedule has its next fire times
    // planned and nothing missed, and a plan takes no write lock at all.
    QSqlQuery q
        = run(db, QStringLiteral("SELECT %1, planned_until FROM schedules WHERE active <> 0").arg(kColumns),
              {}, what);
    QList<std::pair<ScheduleRow, qint64>> active;
    while (q.next())
        active.append({readRow(q), q.value(17).isNull() ? 0 : q.value(17).toLongLong()});
    q.finish();
    QSqlQuery m
        = run(db,
              QStringLiteral("SELECT DISTINCT schedule_id FROM flow_runs WHERE state = 'SCHEDULED' AND "
                             "worker IS NULL AND scheduled_for IS NOT NULL AND scheduled_for <= ? AND "
                             "state_name = 'Scheduled'"),
              {nowUs - MissedAfterUs}, what);
    QSet<QString> withMissed;
    while (m.next())
        withMissed.insert(m.value(0).toString());
    m.finish();
    PlanReport report;
    for (const auto& [row, plannedUntil] : active) {
        const std::optional<ScheduleSpec> spec = row.draft.spec();
        const QList<qint64> next = spec ? spec->nextFireTimes(nowUs, PlannedAhead) : QList<qint64>();
        const bool planned = plannedUntil >= nowUs && (next.isEmpty() || next.last() <= plannedUntil);
        if (planned && !withMissed.contains(row.id))
            continue;
        planOne(db, row.id, nowUs, &report);
    }
    report.nextFireUs = nextPlannedFireUs(db);
    return report;
}

qint64 nextPlannedFireUs(QSqlDatabase& db)
{
    QSqlQuery q = run(db,
                      QStringLiteral("SELECT min(scheduled_for) FROM flow_runs WHERE state = 'SCHEDULED' "
                                     "AND worker IS NULL AND scheduled_for IS NOT NULL "
                                     "AND state_name = 'Scheduled'"),
                      {}, QStringLiteral("reading the next fire time"));
    return q.next() && !q.value(0).isNull() ? q.value(0).toLongLong() : 0;
}

int holdDueScheduledRuns(QSqlDatabase& db, qint64 nowUs, const QString& holder)
{
    const QString what = QStringLiteral("holding due schedule runs until there is room");
    const QString select
        = QStringLiteral("SELECT id FROM flow_runs WHERE state = 'SCHEDULED' AND worker IS NULL AND "
                         "scheduled_for IS NOT NULL AND scheduled_for <= ? AND scheduled_for > ? AND "
                         "state_name = 'Scheduled'");
    QSqlQuery pick = run(db, select, {nowUs, nowUs - MissedAfterUs}, what);
    if (!pick.next())
        return 0;
    pick.finish();
    const QString message
        = QStringLiteral("late: due while %1 had no room for another flow run; it starts when room frees")
              .arg(holder);
    WriteTransaction tx(db, what);
    QSqlQuery due = run(db, select, {nowUs, nowUs - MissedAfterUs}, what);
    QStringList ids;
    while (due.next())
        ids << due.value(0).toString();
    due.finish();
    int held = 0;
    for (const QString& id : std::as_const(ids)) {
        QSqlQuery q
            = run(db,
                  QStringLiteral("UPDATE flow_runs SET state_name = 'Late', message = ? WHERE id = ? "
                                 "AND state = 'SCHEDULED' AND worker IS NULL AND state_name = 'Scheduled'"),
                  {message, id}, what);
        if (q.numRowsAffected() > 0) {
            sql::addFlowHistory(db, id, nowUs, QStringLiteral("SCHEDULED"), QStringLiteral("Late"), message,
                                what);
            ++held;
        }
    }
    tx.commit(what);
    return held;
}

workers::ClaimResult claimDueScheduledRuns(QSqlDatabase& db, const QString& engineId,
                                           const QString& workerName, const QString& host, qint64 pid,
                                           qint64 nowUs, int max)
{
    workers::ClaimResult result;
    if (max <= 0)
        return result;
    const QString what = QStringLiteral("claiming due schedule runs");
    WriteTransaction tx(db, what);
    // flow_runs_due_idx serves this condition; runs waiting for their limit stay due, so more are looked
    // at than are wanted.
    QSqlQuery pick
        = run(db,
              QStringLiteral("SELECT id, cancel_requested, limit_key, max_active_runs, on_limit "
                             "FROM flow_runs WHERE state = 'SCHEDULED' AND worker IS NULL AND "
                             "scheduled_for IS NOT NULL AND scheduled_for <= ? "
                             "AND (scheduled_for > ? OR state_name <> 'Scheduled') "
                             "ORDER BY scheduled_for LIMIT %1%2")
                  .arg(max * 4 + 16)
                  .arg(sql::isPostgres(db) ? QStringLiteral(" FOR UPDATE SKIP LOCKED") : QString()),
              {nowUs, nowUs - MissedAfterUs}, what);
    const QList<workers::Candidate> candidates = workers::readCandidates(pick);
    if (candidates.isEmpty())
        return result;
    workers::takeCandidates(db, candidates, engineId, workerName, host, pid, max,
                            QStringLiteral("fired: claimed by %1 on %2").arg(workerName, host), &result,
                            what);
    tx.commit(what);
    return result;
}

} // namespace flowdeck::schedules
