#include "store/historyqueries.h"

#include "store/sqlhelpers.h"

#include <QSqlQuery>
#include <QStringList>
#include <QVariant>

#include <algorithm>
#include <cmath>

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

const QString BucketSql = QStringLiteral(
    "SELECT (created_at - ?) / ?, state, count(*) FROM flow_runs WHERE created_at >= ? GROUP BY 1, 2");
// The window's runs first (the created_at index), materialized: otherwise a planner may walk the
// whole (flow_name, created_at) index to group by flow without sorting.
const QString FlowStatsSql = QStringLiteral(
    "WITH w AS MATERIALIZED (SELECT flow_name, state, started_at, ended_at FROM flow_runs WHERE created_at "
    ">= ?) "
    "SELECT flow_name, count(*), "
    "sum(CASE WHEN state IN ('FAILED', 'CRASHED') THEN 1 ELSE 0 END), "
    "sum(CASE WHEN started_at IS NOT NULL AND ended_at IS NOT NULL THEN 1 ELSE 0 END), "
    "avg(CASE WHEN started_at IS NOT NULL AND ended_at IS NOT NULL THEN ended_at - started_at END), "
    "max(CASE WHEN started_at IS NOT NULL AND ended_at IS NOT NULL THEN ended_at - started_at END) "
    "FROM w GROUP BY flow_name");
// From the flow runs of the window (created_at index) to their task runs (flow_run_id indexes):
// task_runs has no index on its own created_at.
const QString TaskStatsSql = QStringLiteral(
    "WITH w AS MATERIALIZED (SELECT id, flow_name FROM flow_runs WHERE created_at >= ?) "
    "SELECT r.flow_name, t.task, count(*), "
    "sum(CASE WHEN t.state IN ('FAILED', 'CRASHED') THEN 1 ELSE 0 END), "
    "sum(CASE WHEN t.started_at IS NOT NULL AND t.ended_at IS NOT NULL THEN 1 ELSE 0 END), "
    "avg(CASE WHEN t.started_at IS NOT NULL AND t.ended_at IS NOT NULL THEN t.ended_at - t.started_at END), "
    "max(CASE WHEN t.started_at IS NOT NULL AND t.ended_at IS NOT NULL THEN t.ended_at - t.started_at END) "
    "FROM w r JOIN task_runs t ON t.flow_run_id = r.id GROUP BY r.flow_name, t.task");
// The same on PostgreSQL, each run's task runs through the index (see recentRunGridSql()).
const QString TaskStatsSqlPostgres = QStringLiteral(
    "WITH w AS MATERIALIZED (SELECT id, flow_name FROM flow_runs WHERE created_at >= ?) "
    "SELECT r.flow_name, t.task, count(*), "
    "sum(CASE WHEN t.state IN ('FAILED', 'CRASHED') THEN 1 ELSE 0 END), "
    "sum(CASE WHEN t.started_at IS NOT NULL AND t.ended_at IS NOT NULL THEN 1 ELSE 0 END), "
    "avg(CASE WHEN t.started_at IS NOT NULL AND t.ended_at IS NOT NULL THEN t.ended_at - t.started_at END), "
    "max(CASE WHEN t.started_at IS NOT NULL AND t.ended_at IS NOT NULL THEN t.ended_at - t.started_at END) "
    "FROM w r JOIN LATERAL (SELECT task, state, started_at, ended_at FROM task_runs WHERE flow_run_id = r.id "
    "OFFSET 0) t ON true GROUP BY r.flow_name, t.task");
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

QList<RunStats> readStats(QSqlQuery& q, bool withTask)
{
    QList<RunStats> out;
    while (q.next()) {
        RunStats s;
        int c = 0;
        s.flow = q.value(c++).toString();
        if (withTask)
            s.task = q.value(c++).toString();
        s.runs = q.value(c++).toLongLong();
        s.failed = q.value(c++).toLongLong();
        s.finished = q.value(c++).toLongLong();
        s.averageUs = q.value(c++).toDouble();
        s.longestUs = q.value(c++).toLongLong();
        out.append(s);
    }
    return out;
}

} // namespace

QList<RunBucket> runsPerBucket(QSqlDatabase& db, qint64 sinceUs, qint64 bucketUs)
{
    const qint64 bucket = std::max<qint64>(1, bucketUs);
    QSqlQuery q
        = sql::run(db, BucketSql, {sinceUs, bucket, sinceUs}, QStringLiteral("counting flow runs per hour"));
    QList<RunBucket> out;
    while (q.next())
        out.append({q.value(0).toLongLong(), q.value(1).toString(), q.value(2).toLongLong()});
    return out;
}

QList<RunStats> flowStats(QSqlDatabase& db, qint64 sinceUs)
{
    QSqlQuery q = sql::run(db, FlowStatsSql, {sinceUs}, QStringLiteral("reading the flows' recent runs"));
    return readStats(q, false);
}

QList<RunStats> taskStats(QSqlDatabase& db, qint64 sinceUs)
{
    QSqlQuery q = sql::run(db, sql::isPostgres(db) ? TaskStatsSqlPostgres : TaskStatsSql, {sinceUs},
                           QStringLiteral("reading the tasks' recent runs"));
    return readStats(q, true);
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
    return {BucketSql, FlowStatsSql, TaskStatsSql, DurationsSql};
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
