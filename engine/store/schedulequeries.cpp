#include "store/schedulequeries.h"

#include "run/runid.h"
#include "schedule/schedulespec.h"
#include "store/sqlhelpers.h"

#include <QJsonDocument>
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

//! Ends the planned runs of schedule \a id that nobody claimed CANCELLED with \a message.
int cancelPlanned(QSqlDatabase& db, const QString& id, const QString& message, qint64 nowUs,
                  const QString& what)
{
    QSqlQuery pick
        = run(db,
              QStringLiteral("SELECT id FROM flow_runs WHERE schedule_id = ? AND state = 'SCHEDULED' "
                             "AND worker IS NULL"),
              {id}, what);
    QStringList ids;
    while (pick.next())
        ids << pick.value(0).toString();
    pick.finish();
    int n = 0;
    for (const QString& runId : ids) {
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

PlanReport planSchedules(QSqlDatabase&, qint64)
{
    // Filled in by the planner (next commit).
    return {};
}

qint64 nextPlannedFireUs(QSqlDatabase& db)
{
    QSqlQuery q = run(db,
                      QStringLiteral("SELECT min(scheduled_for) FROM flow_runs WHERE state = 'SCHEDULED' "
                                     "AND worker IS NULL AND scheduled_for IS NOT NULL"),
                      {}, QStringLiteral("reading the next fire time"));
    return q.next() && !q.value(0).isNull() ? q.value(0).toLongLong() : 0;
}

workers::ClaimResult claimDueScheduledRuns(QSqlDatabase&, const QString&, const QString&, const QString&,
                                           qint64, qint64, int)
{
    // Filled in by the claimer (next commit).
    return {};
}

} // namespace flowdeck::schedules
