#pragma once

#include <QList>
#include <QSqlDatabase>
#include <QString>

// Reads over many stored flow runs at once, for the dashboard's history views. They run on a
// database thread inside ConnectionPool::run jobs and throw DatabaseError naming what failed.
namespace flowdeck {

//! The task runs of one task in one flow run that are in one state type.
struct GridCell {
    QString task;
    QString state;        //!< a state type, "COMPLETED"
    qint64 count = 0;     //!< task runs of the task in that state
    int attempts = 0;     //!< the most attempts one of them took
    qint64 createdUs = 0; //!< the first was created
    qint64 startedUs = 0; //!< the first started; 0 if none did
    qint64 endedUs = 0;   //!< the last ended; 0 if none did
};

//! One flow run of a grid column: its own state and its tasks' cells.
struct GridRun {
    QString id;
    QString state;
    QString name;
    qint64 createdUs = 0;
    qint64 startedUs = 0;
    qint64 endedUs = 0;
    QList<GridCell> cells; //!< by task, then state
};

/**
 * The newest \a runs flow runs of \a flow, oldest first, with their task runs counted per task and
 * state type: one statement (the runs from the (flow_name, created_at) index, their task runs from
 * the (flow_run_id, ...) indexes), so a screenful costs one round trip at any number of stored runs.
 */
QList<GridRun> recentRunGrid(QSqlDatabase& db, const QString& flow, int runs);

//! The statement recentRunGrid() runs on SQLite or on PostgreSQL, with its two parameters (flow name,
//! number of runs).
QString recentRunGridSql(bool postgres = false);

//! Flow runs created in one bucket of time that are in one state type now.
struct RunBucket {
    qint64 bucket = 0; //!< index from the window's start
    QString state;
    qint64 count = 0;
};

//! A flow's or a task's runs over a window: how many, how many failed, how long they took.
struct RunStats {
    QString flow;
    QString task; //!< empty for a flow's own runs
    qint64 runs = 0;
    qint64 failed = 0;    //!< FAILED or CRASHED
    qint64 finished = 0;  //!< with both a start and an end
    double averageUs = 0; //!< over the finished ones
    qint64 longestUs = 0;
};

//! One run's duration of a task: its task runs' durations (several for a mapped task).
struct TaskDuration {
    QString flowRunId;
    qint64 createdUs = 0;
    QList<qint64> durationsUs;
};

//! Everything the trends show, read in one job.
struct TrendsData {
    qint64 sinceUs = 0;
    qint64 bucketUs = 0;
    int buckets = 0;
    QList<RunBucket> runsPerBucket;
    QList<RunStats> flows; //!< every flow with runs in the window
    QList<RunStats> tasks; //!< every task of those runs
};

/**
 * Flow runs created at or after \a sinceUs per bucket of \a bucketUs and state type: from the hours'
 * figures (see flowStats()) when the window starts on an hour and buckets are whole hours, else from an
 * index-only range of the (created_at, state, ended_at) index.
 */
QList<RunBucket> runsPerBucket(QSqlDatabase& db, qint64 sinceUs, qint64 bucketUs, qint64 nowUs = 0);
/**
 * Per flow, its runs created at or after \a sinceUs. Past hours come from the cached figures per hour
 * (trend_rollups), checked against the runs with one index-only range and filled again when a run of
 * the hour was added, retried or deleted since; hours with unfinished runs and the hour of \a nowUs
 * (0: the clock's) are read from the runs.
 */
QList<RunStats> flowStats(QSqlDatabase& db, qint64 sinceUs, qint64 nowUs = 0);
//! Per flow and task, the task runs of the flow runs created at or after \a sinceUs (as flowStats()).
QList<RunStats> taskStats(QSqlDatabase& db, qint64 sinceUs, qint64 nowUs = 0);
//! runsPerBucket(), flowStats() and taskStats() of one window, the cache checked once.
TrendsData readTrends(QSqlDatabase& db, qint64 sinceUs, qint64 bucketUs, int buckets, qint64 nowUs = 0);
/**
 * Caches the figures of the given hours (hour = created_at / 3600000000), in ascending order, whose
 * flow runs have all finished, replacing what was cached for them; with no hours, every hour from the
 * one holding \a sinceUs to the current one. One transaction, one process at a time.
 */
void fillTrendHours(QSqlDatabase& db, const QList<qint64>& hours = {}, qint64 sinceUs = 0);
//! fillTrendHours() in the caller's transaction (the schema migration's).
void writeTrendHours(QSqlDatabase& db, const QList<qint64>& hours = {}, qint64 sinceUs = 0);
//! \a task's durations in the newest \a runs runs of \a flow that ran it, oldest first.
QList<TaskDuration> taskDurations(QSqlDatabase& db, const QString& flow, const QString& task, int runs);
//! The statements above on SQLite, for query plans in tests: runsPerBucket, the hours' check, the
//! cached hours, the cached figures, the live flow figures, the live task figures, taskDurations, and
//! the fill's three inserts.
QStringList trendsSql();
//! The same on PostgreSQL.
QStringList trendsSqlPostgres();

//! A flow run's task runs of one task in one state type: what a graph of a run too large to read
//! whole shows.
struct TaskStateTally {
    QString task;
    QString state;             //!< a state type, "COMPLETED"
    qint64 count = 0;          //!< task runs of the task in that state
    qint64 firstCreatedUs = 0; //!< the first of them was created
    bool mapped = false;       //!< they have map indexes
};

/**
 * \a flowRunId's task runs counted per task and state type by the database, by task then state: one
 * statement and one pass over the run's rows (from its (flow_run_id, state) index), so a run of a
 * million task runs is counted without a row leaving the database.
 */
QList<TaskStateTally> taskStateTallies(QSqlDatabase& db, const QString& flowRunId);

//! The value at fraction \a q (0..1) of \a values (nearest rank); 0 when empty.
qint64 percentileOf(QList<qint64> values, double q);

} // namespace flowdeck
