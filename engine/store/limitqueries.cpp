#include "store/limitqueries.h"

#include "run/clock.h"
#include "store/connectionpool.h"
#include "store/sqlhelpers.h"

#include <QHash>
#include <QSqlDriver>
#include <QSqlError>
#include <QSqlQuery>
#include <QVariant>

#include <chrono>

namespace flowdeck {

using sql::fail;
using sql::isPostgres;
using sql::run;

namespace {

// Literal in the SQL (not a bound value) so that SQLite uses the partial index task_runs_waiting_idx.
const QString kIsWaiting = QStringLiteral("t.state_name = 'AwaitingConcurrencySlot'");

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
            QSqlQuery q
                = run(db,
                      QStringLiteral("SELECT ") + kWaiterColumns + QStringLiteral(" FROM task_runs t WHERE ")
                          + kIsWaiting + QStringLiteral(" ORDER BY since, t.id"),
                      {}, what);
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
            QSqlQuery q = run(
                db,
                QStringLiteral("SELECT ") + kWaiterColumns + QStringLiteral(" FROM task_runs t WHERE ")
                    + kIsWaiting
                    + QStringLiteral(" AND (',' || t.tags || ',') LIKE ? ESCAPE '\\' ORDER BY since, t.id"),
                {tagPattern(tag)}, what);
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
