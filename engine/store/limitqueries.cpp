#include "store/limitqueries.h"

#include "run/clock.h"
#include "store/connectionpool.h"
#include "store/sqlhelpers.h"

#include <QHash>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QSqlDriver>
#include <QSqlError>
#include <QSqlQuery>
#include <QVariant>

#include <chrono>
#include <cmath>
#include <limits>

namespace flowdeck {

using sql::fail;
using sql::isPostgres;
using sql::run;

namespace {

// Literal in the SQL (not a bound value) so that SQLite uses the partial index task_runs_waiting_idx,
// on `awaiting` (schema version 12), not state_name: the index then costs nothing to runs that never wait.
const QString kIsWaiting = QStringLiteral("t.awaiting = 'AwaitingConcurrencySlot'");

// When a task run took its slot: its last RUNNING, else its first.
const QString kHolderColumns
    = QStringLiteral("s.tag, s.task_run_id, t.flow_run_id, t.task, t.map_index, t.state, t.message, "
                     "COALESCE((SELECT max(h.time) FROM state_history h WHERE h.task_run_id = s.task_run_id "
                     "AND h.state = 'RUNNING'), "
                     "t.started_at, 0) AS since");

// When a task run began to wait: its last AwaitingConcurrencySlot, else its creation.
const QString kWaiterColumns
    = QStringLiteral("t.tags, t.id, t.flow_run_id, t.task, t.map_index, t.state, t.message, "
                     "COALESCE((SELECT max(h.time) FROM state_history h WHERE h.task_run_id = t.id "
                     "AND h.name = 'AwaitingConcurrencySlot'), t.created_at, 0) AS since");

/**
 * One transaction around \a body, rolled back when it throws or returns false. Writers take
 * SQLite's write lock up front (BEGIN IMMEDIATE): a deferred transaction that reads and then
 * writes can fail at once with SQLITE_BUSY instead of waiting. Readers get one snapshot.
 */
template<typename F>
auto inTransaction(QSqlDatabase& db, bool write, const QString& what, F body)
{
    if (isPostgres(db))
        sql::execDirect(db,
                        write ? QStringLiteral("BEGIN")
                              : QStringLiteral("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY"),
                        what);
    else
        sql::execDirect(db, write ? QStringLiteral("BEGIN IMMEDIATE") : QStringLiteral("BEGIN"), what);
    try {
        auto result = body();
        sql::execDirect(db, QStringLiteral("COMMIT"), what);
        return result;
    } catch (...) {
        QSqlQuery rollback(db);
        rollback.exec(QStringLiteral("ROLLBACK"));
        throw;
    }
}

//! A LIKE pattern that matches \a tag as one element of ',' || tags || ','.
QString tagPattern(const QString& tag)
{
    QString escaped = tag;
    escaped.replace(u'\\', QStringLiteral("\\\\"))
        .replace(u'%', QStringLiteral("\\%"))
        .replace(u'_', QStringLiteral("\\_"));
    return QStringLiteral("%,") + escaped + QStringLiteral(",%");
}

LimitRunRow readRun(const QSqlQuery& q)
{
    LimitRunRow r;
    r.taskRunId = q.value(1).toString();
    r.flowRunId = q.value(2).toString();
    r.task = q.value(3).toString();
    r.mapIndex = q.value(4).isNull() ? -1 : q.value(4).toInt();
    r.state = q.value(5).toString();
    r.message = q.value(6).toString();
    r.sinceUs = q.value(7).toLongLong();
    return r;
}

bool limitExists(QSqlDatabase& db, const QString& tag, const QString& what)
{
    QSqlQuery q = run(db, QStringLiteral("SELECT 1 FROM concurrency_limits WHERE tag = ?"), {tag}, what);
    return q.next();
}

void fillCounts(LimitRow& row)
{
    row.active = int(row.activeSlots.size());
    row.waiting = int(row.waitingRuns.size());
}

} // namespace

namespace detail {

QStringList waitingRunsSql()
{
    const QString select = QStringLiteral("SELECT ") + kWaiterColumns;
    return {
        select + QStringLiteral(" FROM task_runs t WHERE ") + kIsWaiting
            + QStringLiteral(" ORDER BY since, t.id"),
        select + QStringLiteral(" FROM task_runs t WHERE ") + kIsWaiting
            + QStringLiteral(" AND (',' || t.tags || ',') LIKE ? ESCAPE '\\' ORDER BY since, t.id"),
        select
            + QStringLiteral(", f.document FROM task_runs t JOIN flow_runs f ON f.id = t.flow_run_id WHERE ")
            + kIsWaiting + QStringLiteral(" ORDER BY since, t.id")};
}

} // namespace detail

void upsertLimit(QSqlDatabase& db, const QString& tag, int limit)
{
    run(db,
        QStringLiteral("INSERT INTO concurrency_limits (tag, slot_limit, updated_at) VALUES (?, ?, ?) "
                       "ON CONFLICT (tag) DO UPDATE SET slot_limit = excluded.slot_limit, updated_at = "
                       "excluded.updated_at"),
        {tag, limit, wallUs()}, QStringLiteral("setting the concurrency limit of tag \"%1\"").arg(tag));
}

bool deleteLimit(QSqlDatabase& db, const QString& tag)
{
    const QString what = QStringLiteral("deleting the concurrency limit of tag \"%1\"").arg(tag);
    return inTransaction(db, true, what, [&] {
        QSqlQuery q = run(db, QStringLiteral("DELETE FROM concurrency_limits WHERE tag = ?"), {tag}, what);
        if (q.numRowsAffected() <= 0)
            return false;
        run(db, QStringLiteral("DELETE FROM concurrency_slots WHERE tag = ?"), {tag}, what);
        return true;
    });
}

QList<LimitRow> listLimits(QSqlDatabase& db)
{
    const QString what = QStringLiteral("reading concurrency limits");
    return inTransaction(db, false, what, [&] {
        QList<LimitRow> rows;
        QHash<QString, qsizetype> byTag;
        {
            QSqlQuery q = run(
                db, QStringLiteral("SELECT tag, slot_limit FROM concurrency_limits ORDER BY tag"), {}, what);
            while (q.next()) {
                LimitRow row;
                row.tag = q.value(0).toString();
                row.limit = q.value(1).toInt();
                byTag.insert(row.tag, rows.size());
                rows.append(row);
            }
        }
        if (rows.isEmpty())
            return rows;
        {
            QSqlQuery q
                = run(db,
                      QStringLiteral("SELECT ") + kHolderColumns
                          + QStringLiteral(
                              " FROM concurrency_slots s LEFT JOIN task_runs t ON t.id = s.task_run_id "
                              "WHERE s.lease_expires_at > ? ORDER BY since, s.task_run_id"),
                      {wallUs()}, what);
            while (q.next()) {
                const auto it = byTag.constFind(q.value(0).toString());
                if (it != byTag.constEnd())
                    rows[*it].activeSlots.append(q.value(1).toString());
            }
        }
        {
            // Split in C++: exact and case-sensitive on both backends, one scan for every tag.
            QSqlQuery q = run(db, detail::waitingRunsSql().value(0), {}, what);
            while (q.next()) {
                const QStringList tags = q.value(0).toString().split(u',', Qt::SkipEmptyParts);
                for (const QString& tag : tags) {
                    const auto it = byTag.constFind(tag);
                    if (it != byTag.constEnd() && !rows[*it].waitingRuns.contains(q.value(1).toString()))
                        rows[*it].waitingRuns.append(q.value(1).toString());
                }
            }
        }
        for (LimitRow& row : rows)
            fillCounts(row);
        return rows;
    });
}

std::optional<LimitRow> inspectLimit(QSqlDatabase& db, const QString& tag)
{
    const QString what = QStringLiteral("reading the concurrency limit of tag \"%1\"").arg(tag);
    return inTransaction(db, false, what, [&]() -> std::optional<LimitRow> {
        LimitRow row;
        row.tag = tag;
        {
            QSqlQuery q = run(db, QStringLiteral("SELECT slot_limit FROM concurrency_limits WHERE tag = ?"),
                              {tag}, what);
            if (!q.next())
                return std::nullopt;
            row.limit = q.value(0).toInt();
        }
        {
            QSqlQuery q
                = run(db,
                      QStringLiteral("SELECT ") + kHolderColumns
                          + QStringLiteral(
                              " FROM concurrency_slots s LEFT JOIN task_runs t ON t.id = s.task_run_id "
                              "WHERE s.tag = ? AND s.lease_expires_at > ? ORDER BY since, s.task_run_id"),
                      {tag, wallUs()}, what);
            while (q.next()) {
                row.holders.append(readRun(q));
                row.activeSlots.append(row.holders.last().taskRunId);
            }
        }
        {
            // Only waiting runs are read (an index of them); the exact, case-sensitive tag match is here.
            QSqlQuery q = run(db, detail::waitingRunsSql().value(1), {tagPattern(tag)}, what);
            while (q.next()) {
                if (!q.value(0).toString().split(u',').contains(tag))
                    continue;
                row.waiters.append(readRun(q));
                row.waitingRuns.append(row.waiters.last().taskRunId);
            }
        }
        fillCounts(row);
        return row;
    });
}

int resetLimit(QSqlDatabase& db, const QString& tag)
{
    const QString what = QStringLiteral("resetting the concurrency limit of tag \"%1\"").arg(tag);
    return inTransaction(db, true, what, [&] {
        if (!limitExists(db, tag, what))
            return -1;
        // CANCELLING runs still run their code until it stops: their slots stay.
        QSqlQuery q
            = run(db,
                  QStringLiteral(
                      "DELETE FROM concurrency_slots WHERE tag = ? AND (lease_expires_at <= ? OR NOT EXISTS "
                      "(SELECT 1 FROM task_runs t WHERE t.id = concurrency_slots.task_run_id "
                      "AND t.state IN ('RUNNING', 'CANCELLING')))"),
                  {tag, wallUs()}, what);
        return std::max(0, q.numRowsAffected());
    });
}

QHash<QString, int> limitsByTag(QSqlDatabase& db)
{
    QSqlQuery q = run(db, QStringLiteral("SELECT tag, slot_limit FROM concurrency_limits"), {},
                      QStringLiteral("reading concurrency limits"));
    QHash<QString, int> limits;
    while (q.next())
        limits.insert(q.value(0).toString(), q.value(1).toInt());
    return limits;
}

} // namespace flowdeck

namespace flowdeck {

namespace {

const QString kGlobalHolderColumns
    = QStringLiteral("s.name, s.task_run_id, t.flow_run_id, t.task, t.map_index, t.state, t.message, "
                     "COALESCE((SELECT max(h.time) FROM state_history h WHERE h.task_run_id = s.task_run_id "
                     "AND h.state = 'RUNNING'), t.started_at, 0) AS since, s.occupy, s.decays");

//! A stored run's "concurrency" and "rate_limit" names, as written in its flow's document.
QStringList limitNamesOf(const QJsonObject& task)
{
    QStringList names;
    const auto add = [&](const QJsonValue& v) {
        const QString name
            = v.isObject() ? v.toObject().value(QStringLiteral("name")).toString() : v.toString();
        if (!name.isEmpty() && !names.contains(name))
            names << name;
    };
    const QJsonValue concurrency = task.value(QStringLiteral("concurrency"));
    if (concurrency.isArray()) {
        for (const QJsonValue& v : concurrency.toArray())
            add(v);
    }
    if (task.contains(QStringLiteral("rate_limit")))
        add(task.value(QStringLiteral("rate_limit")));
    return names;
}

/**
 * The waiting task runs of global limits, by limit name, in queue order. Which limits a waiting run
 * asks for comes from its flow's stored document (only waiting runs are read, through their index).
 */
QHash<QString, QList<LimitRunRow>> globalWaiters(QSqlDatabase& db, const QString& what)
{
    QHash<QString, QList<LimitRunRow>> byName;
    QSqlQuery q = run(db, detail::waitingRunsSql().value(2), {}, what);
    QHash<QString, QHash<QString, QStringList>> namesByFlow; // flow run id -> task id -> limit names
    while (q.next()) {
        const QString flowRunId = q.value(2).toString();
        auto flow = namesByFlow.find(flowRunId);
        if (flow == namesByFlow.end()) {
            QHash<QString, QStringList> tasks;
            const QJsonObject document = QJsonDocument::fromJson(q.value(8).toString().toUtf8()).object();
            for (const QJsonValue& t : document.value(QStringLiteral("tasks")).toArray()) {
                const QJsonObject task = t.toObject();
                const QStringList names = limitNamesOf(task);
                if (!names.isEmpty())
                    tasks.insert(task.value(QStringLiteral("id")).toString(), names);
            }
            flow = namesByFlow.insert(flowRunId, tasks);
        }
        const QStringList names = flow->value(q.value(3).toString());
        for (const QString& name : names)
            byName[name].append(readRun(q));
    }
    return byName;
}

GlobalLimitRow readGlobalLimit(const QSqlQuery& q)
{
    GlobalLimitRow row;
    row.name = q.value(0).toString();
    row.limit = q.value(1).toInt();
    row.active = q.value(2).toInt() != 0;
    if (!q.value(3).isNull() && q.value(3).toDouble() > 0)
        row.slotDecayPerSecond = q.value(3).toDouble();
    return row;
}

const QString kGlobalLimitColumns = QStringLiteral("name, slot_limit, active, slot_decay_per_second");

//! Sets the occupied slots of \a name to \a count (see GlobalLimitChange::activeSlots).
void setActiveSlots(QSqlDatabase& db, const QString& name, int count, const QString& what)
{
    run(db,
        QStringLiteral(
            "DELETE FROM global_concurrency_slots WHERE name = ? AND (decays = 1 OR task_run_id = '')"),
        {name}, what);
    QSqlQuery limit
        = run(db,
              QStringLiteral(
                  "SELECT slot_limit, slot_decay_per_second FROM global_concurrency_limits WHERE name = ?"),
              {name}, what);
    limit.next();
    const qint64 now = wallUs();
    QSqlQuery held
        = run(db,
              QStringLiteral("SELECT COALESCE(sum(occupy), 0) FROM global_concurrency_slots WHERE name = ? "
                             "AND lease_expires_at > ?"),
              {name, now}, what);
    held.next();
    const qint64 extra = count - held.value(0).toLongLong();
    if (extra <= 0)
        return;
    const double decay = limit.value(1).isNull() ? 0.0 : limit.value(1).toDouble();
    // Unowned slots of a rate limit decay like taken ones; others stay until reset or changed.
    const qint64 until = decay > 0
        ? now + qint64(std::ceil(double(std::max(limit.value(0).toInt(), 1)) / decay * 1e6))
        : std::numeric_limits<qint64>::max() / 2;
    run(db,
        QStringLiteral("INSERT INTO global_concurrency_slots (name, task_run_id, occupy, holder, decays, "
                       "lease_expires_at) VALUES (?, '', ?, '', ?, ?)"),
        {name, extra, decay > 0 ? 1 : 0, until}, what);
}

QVariant decayValue(const std::optional<double>& decay)
{
    return decay && *decay > 0 ? QVariant(*decay) : QVariant(QMetaType(QMetaType::Double));
}

} // namespace

bool createGlobalLimit(QSqlDatabase& db, const QString& name, const GlobalLimitChange& values)
{
    const QString what = QStringLiteral("creating global concurrency limit \"%1\"").arg(name);
    return inTransaction(db, true, what, [&] {
        QSqlQuery exists
            = run(db, QStringLiteral("SELECT 1 FROM global_concurrency_limits WHERE name = ?"), {name}, what);
        if (exists.next())
            return false;
        run(db,
            QStringLiteral(
                "INSERT INTO global_concurrency_limits (name, slot_limit, active, slot_decay_per_second, "
                "updated_at) VALUES (?, ?, ?, ?, ?)"),
            {name, values.limit.value_or(0), values.active.value_or(true) ? 1 : 0,
             decayValue(values.slotDecayPerSecond.value_or(std::nullopt)), wallUs()},
            what);
        // Slot rows of an earlier limit of that name (deleted while a run held them) start afresh.
        run(db, QStringLiteral("DELETE FROM global_concurrency_slots WHERE name = ? AND task_run_id = ''"),
            {name}, what);
        if (values.activeSlots)
            setActiveSlots(db, name, *values.activeSlots, what);
        return true;
    });
}

bool updateGlobalLimit(QSqlDatabase& db, const QString& name, const GlobalLimitChange& change)
{
    const QString what = QStringLiteral("changing global concurrency limit \"%1\"").arg(name);
    return inTransaction(db, true, what, [&] {
        QSqlQuery exists
            = run(db, QStringLiteral("SELECT 1 FROM global_concurrency_limits WHERE name = ?"), {name}, what);
        if (!exists.next())
            return false;
        const qint64 now = wallUs();
        if (change.limit)
            run(db,
                QStringLiteral(
                    "UPDATE global_concurrency_limits SET slot_limit = ?, updated_at = ? WHERE name = ?"),
                {*change.limit, now, name}, what);
        if (change.active)
            run(db,
                QStringLiteral(
                    "UPDATE global_concurrency_limits SET active = ?, updated_at = ? WHERE name = ?"),
                {*change.active ? 1 : 0, now, name}, what);
        if (change.slotDecayPerSecond)
            run(db,
                QStringLiteral(
                    "UPDATE global_concurrency_limits SET slot_decay_per_second = ?, updated_at = ? "
                    "WHERE name = ?"),
                {decayValue(*change.slotDecayPerSecond), now, name}, what);
        if (change.activeSlots)
            setActiveSlots(db, name, *change.activeSlots, what);
        return true;
    });
}

bool deleteGlobalLimit(QSqlDatabase& db, const QString& name)
{
    const QString what = QStringLiteral("deleting global concurrency limit \"%1\"").arg(name);
    return inTransaction(db, true, what, [&] {
        QSqlQuery q
            = run(db, QStringLiteral("DELETE FROM global_concurrency_limits WHERE name = ?"), {name}, what);
        if (q.numRowsAffected() <= 0)
            return false;
        run(db, QStringLiteral("DELETE FROM global_concurrency_slots WHERE name = ?"), {name}, what);
        return true;
    });
}

QHash<QString, GlobalLimitSpec> globalLimitsByName(QSqlDatabase& db)
{
    QSqlQuery q = run(db,
                      QStringLiteral("SELECT ") + kGlobalLimitColumns
                          + QStringLiteral(" FROM global_concurrency_limits"),
                      {}, QStringLiteral("reading global concurrency limits"));
    QHash<QString, GlobalLimitSpec> limits;
    while (q.next()) {
        const GlobalLimitRow row = readGlobalLimit(q);
        limits.insert(row.name, {row.limit, row.active, row.slotDecayPerSecond.value_or(0.0)});
    }
    return limits;
}

namespace {

//! Fills the slots, holders (with details when \a details) and waiters of \a rows.
void fillGlobalUse(QSqlDatabase& db, QList<GlobalLimitRow>& rows, bool details, const QString& what)
{
    QHash<QString, qsizetype> byName;
    for (qsizetype i = 0; i < rows.size(); ++i)
        byName.insert(rows[i].name, i);
    const bool one = rows.size() == 1;
    QSqlQuery q = run(db,
                      QStringLiteral("SELECT ") + kGlobalHolderColumns
                          + QStringLiteral(" FROM global_concurrency_slots s LEFT JOIN task_runs t ON t.id = "
                                           "s.task_run_id WHERE s.lease_expires_at > ?")
                          + (one ? QStringLiteral(" AND s.name = ?") : QString())
                          + QStringLiteral(" ORDER BY since, s.task_run_id"),
                      one ? QVariantList{wallUs(), rows[0].name} : QVariantList{wallUs()}, what);
    while (q.next()) {
        const auto it = byName.constFind(q.value(0).toString());
        if (it == byName.constEnd())
            continue;
        GlobalLimitRow& row = rows[*it];
        const int occupy = q.value(8).toInt();
        row.activeSlots += occupy;
        if (q.value(9).toInt() != 0) {
            row.decayingSlots += occupy;
            continue;
        }
        const QString id = q.value(1).toString();
        if (id.isEmpty() || row.holderRuns.contains(id))
            continue;
        row.holderRuns.append(id);
        if (details)
            row.holders.append(readRun(q));
    }
    const QHash<QString, QList<LimitRunRow>> waiting = globalWaiters(db, what);
    for (GlobalLimitRow& row : rows) {
        for (const LimitRunRow& w : waiting.value(row.name)) {
            row.waitingRuns.append(w.taskRunId);
            if (details)
                row.waiters.append(w);
        }
        row.waiting = int(row.waitingRuns.size());
    }
}

} // namespace

QList<GlobalLimitRow> listGlobalLimits(QSqlDatabase& db)
{
    const QString what = QStringLiteral("reading global concurrency limits");
    return inTransaction(db, false, what, [&] {
        QList<GlobalLimitRow> rows;
        QSqlQuery q = run(db,
                          QStringLiteral("SELECT ") + kGlobalLimitColumns
                              + QStringLiteral(" FROM global_concurrency_limits ORDER BY name"),
                          {}, what);
        while (q.next())
            rows.append(readGlobalLimit(q));
        if (!rows.isEmpty())
            fillGlobalUse(db, rows, false, what);
        return rows;
    });
}

std::optional<GlobalLimitRow> inspectGlobalLimit(QSqlDatabase& db, const QString& name)
{
    const QString what = QStringLiteral("reading global concurrency limit \"%1\"").arg(name);
    return inTransaction(db, false, what, [&]() -> std::optional<GlobalLimitRow> {
        QSqlQuery q = run(db,
                          QStringLiteral("SELECT ") + kGlobalLimitColumns
                              + QStringLiteral(" FROM global_concurrency_limits WHERE name = ?"),
                          {name}, what);
        if (!q.next())
            return std::nullopt;
        QList<GlobalLimitRow> rows{readGlobalLimit(q)};
        fillGlobalUse(db, rows, true, what);
        return rows.first();
    });
}

int resetGlobalLimit(QSqlDatabase& db, const QString& name)
{
    const QString what = QStringLiteral("resetting global concurrency limit \"%1\"").arg(name);
    return inTransaction(db, true, what, [&] {
        QSqlQuery exists
            = run(db, QStringLiteral("SELECT 1 FROM global_concurrency_limits WHERE name = ?"), {name}, what);
        if (!exists.next())
            return -1;
        // CANCELLING runs still run their code until it stops: their slots stay. A flow run's slots
        // (held for the whole flow run) stay while it runs.
        QSqlQuery q
            = run(db,
                  QStringLiteral(
                      "DELETE FROM global_concurrency_slots WHERE name = ? AND decays = 0 AND "
                      "(lease_expires_at <= ? OR task_run_id = '' OR (NOT EXISTS (SELECT 1 FROM task_runs t "
                      "WHERE t.id = global_concurrency_slots.task_run_id AND t.state IN ('RUNNING', "
                      "'CANCELLING')) AND NOT EXISTS (SELECT 1 FROM flow_runs f WHERE f.id = "
                      "global_concurrency_slots.task_run_id AND f.state IN ('RUNNING', 'CANCELLING', "
                      "'PAUSED'))))"),
                  {name, wallUs()}, what);
        return std::max(0, q.numRowsAffected());
    });
}

} // namespace flowdeck
