#include "store/historyqueries.h"

#include "store/sqlhelpers.h"

#include <QDateTime>
#include <QHash>
#include <QMap>
#include <QSet>
#include <QSqlError>
#include <QSqlQuery>
#include <QStringList>
#include <QVariant>

#include <algorithm>
#include <cmath>
#include <limits>
#include <utility>

namespace flowdeck {

QString recentRunGridSql(bool postgres)
{
    // The LEFT JOIN keeps a run that has no task runs yet (queued) as an empty column. PostgreSQL
    // reads each run's task runs through the (flow_run_id, ...) index with a LATERAL join: a plain
    // join (or a LATERAL one it may flatten: OFFSET 0 keeps it apart) becomes a hash join over every
    // stored task run when the table's statistics are missing or stale.
    const QString taskRuns = postgres
        ? QStringLiteral(
            "LEFT JOIN LATERAL (SELECT id, task, state, attempts, created_at, started_at, ended_at "
            "FROM task_runs WHERE flow_run_id = r.id OFFSET 0) t ON true ")
        : QStringLiteral("LEFT JOIN task_runs t ON t.flow_run_id = r.id ");
    return QStringLiteral(
               "WITH recent AS (SELECT id, state, state_name, created_at, started_at, ended_at FROM "
               "flow_runs "
               "WHERE flow_name = ? ORDER BY created_at DESC, id DESC LIMIT ?) "
               "SELECT r.id, r.state, r.state_name, r.created_at, r.started_at, r.ended_at, t.task, t.state, "
               "count(t.id), max(t.attempts), min(t.created_at), min(t.started_at), max(t.ended_at) "
               "FROM recent r ")
        + taskRuns
        + QStringLiteral(
               "GROUP BY r.id, r.state, r.state_name, r.created_at, r.started_at, r.ended_at, t.task, "
               "t.state ORDER BY r.created_at, r.id, min(t.created_at), t.task, t.state");
}

QList<GridRun> recentRunGrid(QSqlDatabase& db, const QString& flow, int runs)
{
    QSqlQuery q = sql::run(db, recentRunGridSql(sql::isPostgres(db)), {flow, std::max(0, runs)},
                           QStringLiteral("reading the recent runs of flow %1").arg(flow));
    QList<GridRun> out;
    while (q.next()) {
        const QString id = q.value(0).toString();
        if (out.isEmpty() || out.last().id != id) {
            GridRun run;
            run.id = id;
            run.state = q.value(1).toString();
            run.name = q.value(2).toString();
            run.createdUs = q.value(3).toLongLong();
            run.startedUs = q.value(4).toLongLong();
            run.endedUs = q.value(5).toLongLong();
            out.append(run);
        }
        if (q.value(6).isNull())
            continue; // no task runs
        GridCell cell;
        cell.task = q.value(6).toString();
        cell.state = q.value(7).toString();
        cell.count = q.value(8).toLongLong();
        cell.attempts = q.value(9).toInt();
        cell.createdUs = q.value(10).toLongLong();
        cell.startedUs = q.value(11).toLongLong();
        cell.endedUs = q.value(12).toLongLong();
        out.last().cells.append(cell);
    }
    return out;
}

namespace {

// Flow runs per bucket and state straight from the (created_at, state, ended_at) index: an
// index-only range, exact for any window start.
const QString BucketSql = QStringLiteral(
    "SELECT (created_at - ?) / ?, state, count(*) FROM flow_runs WHERE created_at >= ? GROUP BY 1, 2");

constexpr qint64 HourUs = 3'600'000'000LL;
// ended_at modulo this prime, summed over an hour's runs: changes when a run of the hour ends again.
// Summed as 32-bit integers (PostgreSQL adds BIGINTs as NUMERIC, several times slower).
#define FLOWDECK_HOUR_FINGERPRINT "count(*), sum(CAST(COALESCE(ended_at, 0) % 2147483647 AS INTEGER))"
#define FLOWDECK_UNFINISHED                                                                                  \
    "sum(CASE WHEN state IN ('SCHEDULED','PENDING','RUNNING','PAUSED','CANCELLING') THEN 1 ELSE 0 END)"
#define FLOWDECK_RUN_FIGURES(t)                                                                              \
    "count(*), sum(CASE WHEN " t "started_at IS NOT NULL AND " t "ended_at IS NOT NULL THEN 1 ELSE 0 END), " \
    "COALESCE(sum(CASE WHEN " t "started_at IS NOT NULL AND " t "ended_at IS NOT NULL THEN " t               \
    "ended_at - " t "started_at END), 0), "                                                                  \
    "COALESCE(max(CASE WHEN " t "started_at IS NOT NULL AND " t "ended_at IS NOT NULL THEN " t               \
    "ended_at - " t "started_at END), 0)"

// Each hour of created_at (hour = created_at / 3600000000): how many runs, how many unfinished, and the
// fingerprint of their ends. Index-only on the (created_at, state, ended_at) index.
const QString HourCheckSql
    = QStringLiteral("SELECT created_at / 3600000000, " FLOWDECK_HOUR_FINGERPRINT ", " FLOWDECK_UNFINISHED
                     " FROM flow_runs WHERE created_at >= ? AND created_at < ? GROUP BY 1");
const QString CachedHoursSql
    = QStringLiteral("SELECT hour, flow_runs, ended_sum FROM trend_hours WHERE hour >= ? AND hour < ?");
const QString CachedRowsSql = QStringLiteral(
    "SELECT hour, flow_name, task, state, runs, finished, duration_sum, duration_max FROM trend_rollups "
    "WHERE hour >= ? AND hour < ?");

// The same figures computed from the runs themselves, for hours not cached: the flow runs' own ('' as
// the task) and their task runs', per hour, flow, task and state.
const QString LiveFlowsSql
    = QStringLiteral("SELECT created_at / 3600000000, flow_name, '', state, " FLOWDECK_RUN_FIGURES(
        "") " FROM flow_runs WHERE created_at >= ? AND created_at < ? GROUP BY 1, 2, 4");
const QString LiveTasksSql = QStringLiteral(
    "WITH w AS MATERIALIZED (SELECT id, flow_name, created_at FROM flow_runs WHERE created_at >= ? AND "
    "created_at < ?) "
    "SELECT r.created_at / 3600000000, r.flow_name, t.task, t.state, " FLOWDECK_RUN_FIGURES(
        "t.") " FROM w r JOIN task_runs t ON t.flow_run_id = r.id GROUP BY 1, 2, 3, 4");
// The same on PostgreSQL, each run's task runs through the index (see recentRunGridSql()).
const QString LiveTasksSqlPostgres = QStringLiteral(
    "WITH w AS MATERIALIZED (SELECT id, flow_name, created_at FROM flow_runs WHERE created_at >= ? AND "
    "created_at < ?) "
    "SELECT r.created_at / 3600000000, r.flow_name, t.task, t.state, " FLOWDECK_RUN_FIGURES(
        "t.") " FROM w r JOIN LATERAL (SELECT task, state, started_at, ended_at FROM task_runs WHERE "
              "flow_run_id = "
              "r.id OFFSET 0) t ON true GROUP BY 1, 2, 3, 4");

// Filling the cache for the hours of a range [?, ?) that are closed (no unfinished run), in SQL, for the
// schema upgrade's backfill: their fingerprints first, then their figures (in one write transaction).
const QString ClearHoursSql = QStringLiteral("DELETE FROM trend_hours WHERE hour >= ? AND hour < ?");
const QString ClearRowsSql = QStringLiteral("DELETE FROM trend_rollups WHERE hour >= ? AND hour < ?");
const QString FillHoursSql
    = QStringLiteral("INSERT INTO trend_hours (hour, flow_runs, ended_sum, filled_at) SELECT created_at / "
                     "3600000000, " FLOWDECK_HOUR_FINGERPRINT
                     ", ? FROM flow_runs WHERE created_at >= ? AND created_at < ? GROUP BY 1 "
                     "HAVING " FLOWDECK_UNFINISHED " = 0");
const QString FillFlowsSql = QStringLiteral(
    "INSERT INTO trend_rollups (hour, flow_name, task, state, runs, finished, duration_sum, duration_max) "
    "SELECT r.created_at / 3600000000, r.flow_name, '', r.state, " FLOWDECK_RUN_FIGURES(
        "r.") " FROM flow_runs r JOIN trend_hours h ON h.hour = r.created_at / 3600000000 "
              "WHERE r.created_at >= ? AND r.created_at < ? GROUP BY 1, 2, 4");
const QString FillTasksSql = QStringLiteral(
    "INSERT INTO trend_rollups (hour, flow_name, task, state, runs, finished, duration_sum, duration_max) "
    "SELECT r.created_at / 3600000000, r.flow_name, t.task, t.state, " FLOWDECK_RUN_FIGURES(
        "t.") " FROM flow_runs r JOIN trend_hours h ON h.hour = r.created_at / 3600000000 "
              "JOIN task_runs t ON t.flow_run_id = r.id WHERE r.created_at >= ? AND r.created_at < ? "
              "GROUP BY 1, 2, 3, 4");
const QString FillTasksSqlPostgres = QStringLiteral(
    "INSERT INTO trend_rollups (hour, flow_name, task, state, runs, finished, duration_sum, duration_max) "
    "SELECT r.created_at / 3600000000, r.flow_name, t.task, t.state, " FLOWDECK_RUN_FIGURES(
        "t.") " FROM flow_runs r JOIN trend_hours h ON h.hour = r.created_at / 3600000000 "
              "JOIN LATERAL (SELECT task, state, started_at, ended_at FROM task_runs WHERE flow_run_id = "
              "r.id "
              "OFFSET 0) t ON true WHERE r.created_at >= ? AND r.created_at < ? GROUP BY 1, 2, 3, 4");

#undef FLOWDECK_HOUR_FINGERPRINT
#undef FLOWDECK_UNFINISHED
#undef FLOWDECK_RUN_FIGURES

// Every process stores the same hours the same way; one at a time ("trends" in ASCII).
constexpr qint64 TrendsLockKey = 128034676827251;

const QString DurationsSql
    = QStringLiteral("WITH recent AS (SELECT id, created_at FROM flow_runs WHERE flow_name = ? ORDER BY "
                     "created_at DESC, id DESC "
                     "LIMIT ?) "
                     "SELECT r.id, r.created_at, t.ended_at - t.started_at FROM recent r "
                     "JOIN task_runs t ON t.flow_run_id = r.id AND t.task = ? "
                     "WHERE t.started_at IS NOT NULL AND t.ended_at IS NOT NULL ORDER BY r.created_at, r.id");
// The same on PostgreSQL, each run's task runs through the index (see recentRunGridSql()).
const QString DurationsSqlPostgres = QStringLiteral(
    "WITH recent AS (SELECT id, created_at FROM flow_runs WHERE flow_name = ? ORDER BY created_at DESC, id "
    "DESC "
    "LIMIT ?) "
    "SELECT r.id, r.created_at, t.ended_at - t.started_at FROM recent r "
    "JOIN LATERAL (SELECT started_at, ended_at FROM task_runs WHERE flow_run_id = r.id AND task = ? "
    "AND started_at IS NOT NULL AND ended_at IS NOT NULL OFFSET 0) t ON true ORDER BY r.created_at, r.id");

//! One hour's figures of a flow's runs (task empty) or a task's runs in one state.
struct HourRow {
    qint64 hour = 0;
    QString flow;
    QString task;
    QString state;
    qint64 runs = 0;
    qint64 finished = 0;
    qint64 durationSum = 0;
    qint64 durationMax = 0;
};

void readHourRows(QSqlQuery& q, QList<HourRow>& out, const QSet<qint64>* only = nullptr)
{
    while (q.next()) {
        const qint64 hour = q.value(0).toLongLong();
        if (only && !only->contains(hour))
            continue;
        out.append({hour, q.value(1).toString(), q.value(2).toString(), q.value(3).toString(),
                    q.value(4).toLongLong(), q.value(5).toLongLong(), q.value(6).toLongLong(),
                    q.value(7).toLongLong()});
    }
}

qint64 currentUs()
{
    return QDateTime::currentMSecsSinceEpoch() * 1000;
}

//! Live figures of the runs created in [fromUs, toUs).
void addLiveRows(QSqlDatabase& db, qint64 fromUs, qint64 toUs, QList<HourRow>& out)
{
    if (fromUs >= toUs)
        return;
    const QString what = QStringLiteral("reading the runs' figures per hour");
    QSqlQuery flows = sql::run(db, LiveFlowsSql, {fromUs, toUs}, what);
    readHourRows(flows, out);
    QSqlQuery tasks
        = sql::run(db, sql::isPostgres(db) ? LiveTasksSqlPostgres : LiveTasksSql, {fromUs, toUs}, what);
    readHourRows(tasks, out);
}

//! How many runs an hour holds, how many of them are unfinished, and the fingerprint of their ends.
struct HourCheck {
    qint64 runs = 0;
    qint64 endedSum = 0;
    qint64 unfinished = 0;
};

//! Calls \a f(from, to) for each run of consecutive hours in \a hours (sorted).
template<typename F>
void forRanges(const QList<qint64>& hours, F f)
{
    for (qsizetype i = 0; i < hours.size();) {
        qsizetype j = i + 1;
        while (j < hours.size() && hours[j] == hours[j - 1] + 1)
            ++j;
        f(hours[i], hours[j - 1] + 1);
        i = j;
    }
}

/**
 * Stores the figures of \a hours, read from the runs in the same snapshot as their \a checks, in place
 * of what was cached for them. A short write transaction after the read, so that writers never wait for
 * the reading; best effort: a database this connection cannot write leaves the cache as it was (the
 * figures were read all the same). Two processes storing the same hour one after the other leave the
 * later one's, and each stores a fingerprint from the snapshot its figures came from, so an older
 * snapshot is checked again and refilled next time.
 */
void storeHours(QSqlDatabase& db, const QList<qint64>& hours, const QHash<qint64, HourCheck>& checks,
                const QList<HourRow>& rows)
{
    const QString what = QStringLiteral("caching the trends of past hours");
    try {
        sql::WriteTransaction tx(db, what, 0);
        if (sql::isPostgres(db))
            sql::execDirect(db, QStringLiteral("SELECT pg_advisory_xact_lock(%1)").arg(TrendsLockKey), what);
        forRanges(hours, [&](qint64 from, qint64 to) {
            sql::run(db, ClearRowsSql, {from, to}, what);
            sql::run(db, ClearHoursSql, {from, to}, what);
        });
        const qint64 filledAt = currentUs();
        QSqlQuery hour(db);
        hour.prepare(QStringLiteral(
            "INSERT INTO trend_hours (hour, flow_runs, ended_sum, filled_at) VALUES (?, ?, ?, ?)"));
        for (qint64 h : hours) {
            const auto it = checks.constFind(h);
            if (it == checks.constEnd())
                continue; // no runs any more: nothing to cache
            hour.bindValue(0, h);
            hour.bindValue(1, it->runs);
            hour.bindValue(2, it->endedSum);
            hour.bindValue(3, filledAt);
            sql::exec(hour, what);
        }
        QSqlQuery row(db);
        row.prepare(QStringLiteral("INSERT INTO trend_rollups (hour, flow_name, task, state, runs, finished, "
                                   "duration_sum, duration_max) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"));
        for (const HourRow& r : rows) {
            int i = 0;
            for (const QVariant& v :
                 {QVariant(r.hour), QVariant(r.flow), QVariant(r.task), QVariant(r.state), QVariant(r.runs),
                  QVariant(r.finished), QVariant(r.durationSum), QVariant(r.durationMax)})
                row.bindValue(i++, v);
            sql::exec(row, what);
        }
        tx.commit(what);
    } catch (const DatabaseError&) {
        // Read-only file, permissions, or another writer holding the lock: cached next time.
    }
}

/**
 * The figures per hour of the runs created at or after \a sinceUs, up to \a nowUs and beyond, read in
 * one snapshot. Hours before the current one whose runs have all finished come from trend_rollups when
 * trend_hours' fingerprint of the hour (how many runs, the sum of their ends) still matches the runs: a
 * run added late, retried (its end cleared, then set again) or deleted changes it, and the hour is read
 * from the runs and stored again. Hours with unfinished runs, the current hour and a partial first hour
 * are read from the runs.
 */
QList<HourRow> hourRows(QSqlDatabase& db, qint64 sinceUs, qint64 nowUs)
{
    const qint64 firstHour = (std::max<qint64>(0, sinceUs) + HourUs - 1) / HourUs;
    const qint64 currentHour = nowUs / HourUs;
    QList<HourRow> rows;
    if (firstHour >= currentHour) {
        addLiveRows(db, sinceUs, std::numeric_limits<qint64>::max(), rows);
        return rows;
    }
    const QString what = QStringLiteral("checking the cached trends");
    const bool pg = sql::isPostgres(db);
    // One snapshot for the check, the cached figures and the runs' own.
    if (!db.transaction())
        sql::fail(what, db.lastError());
    QHash<qint64, HourCheck> checks;
    QList<qint64> stale; // hours to read from the runs and store again
    QList<HourRow> staleRows;
    try {
        if (pg)
            sql::execDirect(db, QStringLiteral("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY"),
                            what);
        {
            QSqlQuery q = sql::run(db, HourCheckSql, {firstHour * HourUs, currentHour * HourUs}, what);
            while (q.next())
                checks.insert(q.value(0).toLongLong(),
                              {q.value(1).toLongLong(), q.value(2).toLongLong(), q.value(3).toLongLong()});
        }
        QSet<qint64> cached;
        {
            QSqlQuery q = sql::run(db, CachedHoursSql, {firstHour, currentHour}, what);
            while (q.next()) {
                const qint64 hour = q.value(0).toLongLong();
                const auto it = checks.constFind(hour);
                if (it != checks.constEnd() && it->unfinished == 0 && it->runs == q.value(1).toLongLong()
                    && it->endedSum == q.value(2).toLongLong())
                    cached.insert(hour);
                else if (it == checks.constEnd() || it->unfinished == 0)
                    stale.append(hour);
            }
        }
        QList<qint64> live; // hours with unfinished runs
        for (auto it = checks.constBegin(); it != checks.constEnd(); ++it) {
            if (it->unfinished > 0)
                live.append(it.key());
            else if (!cached.contains(it.key()) && !stale.contains(it.key()))
                stale.append(it.key());
        }
        std::sort(stale.begin(), stale.end());
        std::sort(live.begin(), live.end());
        {
            QSqlQuery q = sql::run(db, CachedRowsSql, {firstHour, currentHour}, what);
            readHourRows(q, rows, &cached);
        }
        forRanges(stale,
                  [&](qint64 from, qint64 to) { addLiveRows(db, from * HourUs, to * HourUs, staleRows); });
        addLiveRows(db, sinceUs, firstHour * HourUs, rows);
        forRanges(live, [&](qint64 from, qint64 to) { addLiveRows(db, from * HourUs, to * HourUs, rows); });
        addLiveRows(db, currentHour * HourUs, std::numeric_limits<qint64>::max(), rows);
        if (!db.commit())
            sql::fail(what, db.lastError());
    } catch (...) {
        db.rollback();
        throw;
    }
    if (!stale.isEmpty())
        storeHours(db, stale, checks, staleRows);
    rows += staleRows;
    return rows;
}

//! Per flow (\a tasks false) or per flow and task, the hours' figures added up.
QList<RunStats> statsOf(const QList<HourRow>& rows, bool tasks)
{
    QMap<std::pair<QString, QString>, RunStats> byKey;
    QHash<std::pair<QString, QString>, qint64> durationSums;
    for (const HourRow& r : rows) {
        if (r.task.isEmpty() == tasks)
            continue;
        const std::pair<QString, QString> key{r.flow, r.task};
        RunStats& s = byKey[key];
        s.flow = r.flow;
        s.task = r.task;
        s.runs += r.runs;
        if (r.state == u"FAILED" || r.state == u"CRASHED")
            s.failed += r.runs;
        s.finished += r.finished;
        s.longestUs = std::max(s.longestUs, r.durationMax);
        durationSums[key] += r.durationSum;
    }
    QList<RunStats> out;
    out.reserve(byKey.size());
    for (auto it = byKey.begin(); it != byKey.end(); ++it) {
        RunStats s = it.value();
        s.averageUs = s.finished > 0 ? double(durationSums.value(it.key())) / double(s.finished) : 0.0;
        out.append(s);
    }
    return out;
}

} // namespace

void writeTrendHours(QSqlDatabase& db, const QList<qint64>& hours, qint64 sinceUs)
{
    const QString what = QStringLiteral("caching the trends of past hours");
    const bool pg = sql::isPostgres(db);
    const qint64 filledAt = currentUs();
    auto fill = [&](qint64 fromHour, qint64 toHour) {
        const qint64 fromUs = fromHour * HourUs;
        const qint64 toUs = toHour * HourUs;
        sql::run(db, ClearRowsSql, {fromHour, toHour}, what);
        sql::run(db, ClearHoursSql, {fromHour, toHour}, what);
        sql::run(db, FillHoursSql, {filledAt, fromUs, toUs}, what);
        sql::run(db, FillFlowsSql, {fromUs, toUs}, what);
        sql::run(db, pg ? FillTasksSqlPostgres : FillTasksSql, {fromUs, toUs}, what);
    };
    if (hours.isEmpty()) {
        fill(std::max<qint64>(0, sinceUs) / HourUs, filledAt / HourUs);
        return;
    }
    for (qsizetype i = 0; i < hours.size();) {
        qsizetype j = i + 1;
        while (j < hours.size() && hours[j] == hours[j - 1] + 1)
            ++j;
        fill(hours[i], hours[j - 1] + 1);
        i = j;
    }
}

void fillTrendHours(QSqlDatabase& db, const QList<qint64>& hours, qint64 sinceUs)
{
    const QString what = QStringLiteral("caching the trends of past hours");
    sql::WriteTransaction tx(db, what);
    if (sql::isPostgres(db))
        sql::execDirect(db, QStringLiteral("SELECT pg_advisory_xact_lock(%1)").arg(TrendsLockKey), what);
    writeTrendHours(db, hours, sinceUs);
    tx.commit(what);
}

namespace {

//! Buckets of whole hours from a window starting on an hour: added up from the hours' figures.
bool bucketsOfHours(qint64 sinceUs, qint64 bucketUs)
{
    return sinceUs >= 0 && sinceUs % HourUs == 0 && bucketUs > 0 && bucketUs % HourUs == 0;
}

QList<RunBucket> bucketsOf(const QList<HourRow>& rows, qint64 sinceUs, qint64 bucketUs)
{
    QMap<std::pair<qint64, QString>, qint64> counts;
    for (const HourRow& r : rows) {
        if (r.task.isEmpty() && r.hour * HourUs >= sinceUs)
            counts[{(r.hour * HourUs - sinceUs) / bucketUs, r.state}] += r.runs;
    }
    QList<RunBucket> out;
    out.reserve(counts.size());
    for (auto it = counts.begin(); it != counts.end(); ++it)
        out.append({it.key().first, it.key().second, it.value()});
    return out;
}

QList<RunBucket> bucketsFromRuns(QSqlDatabase& db, qint64 sinceUs, qint64 bucketUs)
{
    QSqlQuery q = sql::run(db, BucketSql, {sinceUs, bucketUs, sinceUs},
                           QStringLiteral("counting flow runs per hour"));
    QList<RunBucket> out;
    while (q.next())
        out.append({q.value(0).toLongLong(), q.value(1).toString(), q.value(2).toLongLong()});
    return out;
}

} // namespace

QList<RunBucket> runsPerBucket(QSqlDatabase& db, qint64 sinceUs, qint64 bucketUs, qint64 nowUs)
{
    const qint64 bucket = std::max<qint64>(1, bucketUs);
    if (bucketsOfHours(sinceUs, bucket))
        return bucketsOf(hourRows(db, sinceUs, nowUs > 0 ? nowUs : currentUs()), sinceUs, bucket);
    return bucketsFromRuns(db, sinceUs, bucket);
}

QList<RunStats> flowStats(QSqlDatabase& db, qint64 sinceUs, qint64 nowUs)
{
    return statsOf(hourRows(db, sinceUs, nowUs > 0 ? nowUs : currentUs()), false);
}

QList<RunStats> taskStats(QSqlDatabase& db, qint64 sinceUs, qint64 nowUs)
{
    return statsOf(hourRows(db, sinceUs, nowUs > 0 ? nowUs : currentUs()), true);
}

TrendsData readTrends(QSqlDatabase& db, qint64 sinceUs, qint64 bucketUs, int buckets, qint64 nowUs)
{
    TrendsData data;
    data.sinceUs = sinceUs;
    data.bucketUs = bucketUs;
    data.buckets = buckets;
    const QList<HourRow> rows = hourRows(db, sinceUs, nowUs > 0 ? nowUs : currentUs());
    const qint64 bucket = std::max<qint64>(1, bucketUs);
    data.runsPerBucket = bucketsOfHours(sinceUs, bucket) ? bucketsOf(rows, sinceUs, bucket)
                                                         : bucketsFromRuns(db, sinceUs, bucket);
    data.flows = statsOf(rows, false);
    data.tasks = statsOf(rows, true);
    return data;
}

QList<TaskDuration> taskDurations(QSqlDatabase& db, const QString& flow, const QString& task, int runs)
{
    QSqlQuery q = sql::run(db, sql::isPostgres(db) ? DurationsSqlPostgres : DurationsSql,
                           {flow, std::max(0, runs), task},
                           QStringLiteral("reading the durations of task %1 of flow %2").arg(task, flow));
    QList<TaskDuration> out;
    while (q.next()) {
        const QString id = q.value(0).toString();
        if (out.isEmpty() || out.last().flowRunId != id)
            out.append({id, q.value(1).toLongLong(), {}});
        out.last().durationsUs.append(q.value(2).toLongLong());
    }
    return out;
}

QStringList trendsSql()
{
    return {BucketSql,    HourCheckSql, CachedHoursSql, CachedRowsSql, LiveFlowsSql,
            LiveTasksSql, DurationsSql, FillHoursSql,   FillFlowsSql,  FillTasksSql};
}

QStringList trendsSqlPostgres()
{
    return {BucketSql,    HourCheckSql,         CachedHoursSql,       CachedRowsSql,
            LiveFlowsSql, LiveTasksSqlPostgres, DurationsSqlPostgres, FillHoursSql,
            FillFlowsSql, FillTasksSqlPostgres};
}

QList<TaskStateTally> taskStateTallies(QSqlDatabase& db, const QString& flowRunId)
{
    QSqlQuery q = sql::run(
        db,
        QStringLiteral("SELECT task, state, count(*), min(created_at), max(map_index) FROM task_runs "
                       "WHERE flow_run_id = ? GROUP BY task, state ORDER BY task, state"),
        {flowRunId}, QStringLiteral("counting the task runs of flow run %1 per task").arg(flowRunId));
    QList<TaskStateTally> rows;
    while (q.next()) {
        TaskStateTally row;
        row.task = q.value(0).toString();
        row.state = q.value(1).toString();
        row.count = q.value(2).toLongLong();
        row.firstCreatedUs = q.value(3).toLongLong();
        row.mapped = !q.value(4).isNull() && q.value(4).toLongLong() >= 0;
        rows.append(row);
    }
    return rows;
}

qint64 percentileOf(QList<qint64> values, double q)
{
    if (values.isEmpty())
        return 0;
    std::sort(values.begin(), values.end());
    const qsizetype rank = qsizetype(std::ceil(std::clamp(q, 0.0, 1.0) * double(values.size())));
    return values[std::clamp<qsizetype>(rank - 1, 0, values.size() - 1)];
}

} // namespace flowdeck
