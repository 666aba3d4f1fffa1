// Reads over many stored flow runs (the Flows page's runs × tasks grid): the right runs, each task's
// task runs counted per state, and a plan that reads indexes, not every stored run.
#include "store/connectionpool.h"
#include "store/databaseurl.h"
#include "store/historyqueries.h"
#include "store/schema.h"
#include "testutil.h"

#include <QCoreApplication>
#include <QDateTime>
#include <QElapsedTimer>
#include <QSqlError>
#include <QSqlQuery>
#include <QTest>

using namespace flowdeck;
using namespace flowdeck::test;

namespace {

std::unique_ptr<ConnectionPool> makePool(const QString& url)
{
    return std::make_unique<ConnectionPool>(*DatabaseUrl::parse(url, nullptr), PoolOptions{1, 0, 30.0, 3600});
}

void exec(QSqlDatabase& db, const QString& sql, const QVariantList& values)
{
    QSqlQuery q(db);
    if (!q.prepare(sql))
        throw DatabaseError(q.lastError().text().toStdString());
    for (const QVariant& v : values)
        q.addBindValue(v);
    if (!q.exec())
        throw DatabaseError(q.lastError().text().toStdString());
}

void addFlowRun(QSqlDatabase& db, const QString& id, const QString& flow, const QString& state,
                qint64 created)
{
    exec(db,
         QStringLiteral(
             "INSERT INTO flow_runs (id, flow_name, state, state_name, created_at, started_at, ended_at) "
             "VALUES (?, ?, ?, ?, ?, ?, ?)"),
         {id, flow, state, QString(state.left(1) + state.mid(1).toLower()), created, created + 10,
          created + 1000});
}

void addEndedFlowRun(QSqlDatabase& db, const QString& id, const QString& flow, const QString& state,
                     qint64 created, qint64 ended)
{
    exec(db,
         QStringLiteral(
             "INSERT INTO flow_runs (id, flow_name, state, state_name, created_at, started_at, ended_at) "
             "VALUES (?, ?, ?, ?, ?, ?, ?)"),
         {id, flow, state, state, created, created + 1,
          ended ? QVariant(ended) : QVariant(QMetaType(QMetaType::LongLong))});
}

qint64 countOf(QSqlDatabase& db, const QString& sql)
{
    QSqlQuery q(db);
    if (!q.exec(sql) || !q.next())
        throw DatabaseError(q.lastError().text().toStdString());
    return q.value(0).toLongLong();
}

//! "flow/task: runs failed finished average longest" per row, sorted, to compare whole answers.
QStringList describe(const QList<RunStats>& stats)
{
    QStringList out;
    for (const RunStats& s : stats)
        out << QStringLiteral("%1/%2: %3 %4 %5 %6 %7")
                   .arg(s.flow, s.task)
                   .arg(s.runs)
                   .arg(s.failed)
                   .arg(s.finished)
                   .arg(s.averageUs)
                   .arg(s.longestUs);
    out.sort();
    return out;
}

void addTaskRun(QSqlDatabase& db, const QString& id, const QString& flowRun, const QString& task,
                int mapIndex, const QString& state, int attempts, qint64 created, qint64 started,
                qint64 ended)
{
    exec(db,
         QStringLiteral(
             "INSERT INTO task_runs (id, flow_run_id, task, map_index, state, state_name, attempts, "
             "created_at, started_at, ended_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"),
         {id, flowRun, task, mapIndex < 0 ? QVariant(QMetaType(QMetaType::Int)) : QVariant(mapIndex), state,
          state, attempts, created, started ? QVariant(started) : QVariant(QMetaType(QMetaType::LongLong)),
          ended ? QVariant(ended) : QVariant(QMetaType(QMetaType::LongLong))});
}

} // namespace

class TestHistoryQueries : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void recentRunGridCountsEachTaskPerState_data() { addBackendRows(); }
    void recentRunGridCountsEachTaskPerState();
    void recentRunGridReadsIndexes();
    void trendsCountAndTime_data() { addBackendRows(); }
    void trendsCountAndTime();
    void trendsReadIndexes();
    void trendsPlansOnPostgres();
    void pastHoursComeFromTheCache_data() { addBackendRows(); }
    void pastHoursComeFromTheCache();
    void cacheFollowsRetriesLateRunsAndDeletes_data() { addBackendRows(); }
    void cacheFollowsRetriesLateRunsAndDeletes();
    void processesFillingAtOnceAgree_data() { addBackendRows(); }
    void processesFillingAtOnceAgree();
    void upgradeBackfillsTheCache_data() { addBackendRows(); }
    void upgradeBackfillsTheCache();
    void percentiles();
};

void TestHistoryQueries::recentRunGridCountsEachTaskPerState()
{
    QFETCH(QString, backend);
    FLOWDECK_FRESH_DATABASE(url, backend);
    auto pool = makePool(url);
    runOnPool(*pool, [](QSqlDatabase& db) {
        schema::migrate(db);
        // Flow "etl": five runs, r1 (oldest) .. r5; flow "other": two runs in between.
        for (int i = 1; i <= 5; ++i)
            addFlowRun(db, QStringLiteral("r%1").arg(i), QStringLiteral("etl"),
                       i == 4 ? QStringLiteral("FAILED") : QStringLiteral("COMPLETED"), 1000 * i);
        addFlowRun(db, QStringLiteral("o1"), QStringLiteral("other"), QStringLiteral("COMPLETED"), 3500);
        addFlowRun(db, QStringLiteral("o2"), QStringLiteral("other"), QStringLiteral("COMPLETED"), 9000);
        addTaskRun(db, QStringLiteral("o1-t"), QStringLiteral("o1"), QStringLiteral("x"), -1,
                   QStringLiteral("COMPLETED"), 1, 3500, 3501, 3502);
        for (int i = 1; i <= 4; ++i) {
            const QString run = QStringLiteral("r%1").arg(i);
            const qint64 t = 1000 * i;
            addTaskRun(db, run + QStringLiteral("-extract"), run, QStringLiteral("extract"), -1,
                       QStringLiteral("COMPLETED"), i == 4 ? 3 : 1, t + 1, t + 2, t + 50);
            // "shard" maps to 4 runs; in r4 one failed after 2 attempts and one never ran.
            for (int m = 0; m < 4; ++m) {
                QString state = QStringLiteral("COMPLETED");
                if (i == 4 && m == 1)
                    state = QStringLiteral("FAILED");
                if (i == 4 && m == 3)
                    state = QStringLiteral("CANCELLED");
                addTaskRun(db, run + QStringLiteral("-shard-%1").arg(m), run, QStringLiteral("shard"), m,
                           state, i == 4 && m == 1 ? 2 : 1, t + 60 + m,
                           state == u"CANCELLED" ? 0 : t + 70 + m, t + 100 + m);
            }
        }
        // r5 has no task runs yet.
    });

    const QList<GridRun> grid
        = runOnPool(*pool, [](QSqlDatabase& db) { return recentRunGrid(db, QStringLiteral("etl"), 3); });
    QCOMPARE(grid.size(), 3);
    // The three newest of "etl", oldest first; other flows' runs are not among them.
    QCOMPARE(grid[0].id, QStringLiteral("r3"));
    QCOMPARE(grid[1].id, QStringLiteral("r4"));
    QCOMPARE(grid[2].id, QStringLiteral("r5"));
    QCOMPARE(grid[1].state, QStringLiteral("FAILED"));
    QCOMPARE(grid[1].createdUs, qint64(4000));
    QCOMPARE(grid[1].endedUs, qint64(5000));
    QVERIFY(grid[2].cells.isEmpty());

    // r3: extract (1 completed), then shard (4 completed), in the order the tasks were created.
    QCOMPARE(grid[0].cells.size(), 2);
    QCOMPARE(grid[0].cells[0].task, QStringLiteral("extract"));
    QCOMPARE(grid[0].cells[1].task, QStringLiteral("shard"));
    QCOMPARE(grid[0].cells[1].state, QStringLiteral("COMPLETED"));
    QCOMPARE(grid[0].cells[1].count, qint64(4));

    // r4: shard split by state: 2 completed, 1 failed (2 attempts), 1 cancelled (never started).
    QMap<QString, GridCell> shard;
    for (const GridCell& cell : grid[1].cells) {
        if (cell.task == u"shard")
            shard.insert(cell.state, cell);
        else
            QCOMPARE(cell.attempts, 3);
    }
    QCOMPARE(shard.size(), 3);
    QCOMPARE(shard[QStringLiteral("COMPLETED")].count, qint64(2));
    QCOMPARE(shard[QStringLiteral("COMPLETED")].startedUs, qint64(4070));
    QCOMPARE(shard[QStringLiteral("COMPLETED")].endedUs, qint64(4102));
    QCOMPARE(shard[QStringLiteral("FAILED")].count, qint64(1));
    QCOMPARE(shard[QStringLiteral("FAILED")].attempts, 2);
    QCOMPARE(shard[QStringLiteral("CANCELLED")].count, qint64(1));
    QCOMPARE(shard[QStringLiteral("CANCELLED")].startedUs, qint64(0));

    // Asking for more runs than there are gives them all; none of an unknown flow.
    QCOMPARE(runOnPool(*pool, [](QSqlDatabase& db) { return recentRunGrid(db, QStringLiteral("etl"), 50); })
                 .size(),
             5);
    QVERIFY(runOnPool(*pool, [](QSqlDatabase& db) {
                return recentRunGrid(db, QStringLiteral("nope"), 50);
            }).isEmpty());
}

void TestHistoryQueries::recentRunGridReadsIndexes()
{
    // SQLite's plan (PostgreSQL plans by table statistics, which a test database does not have).
    FLOWDECK_FRESH_DATABASE(url, QStringLiteral("sqlite"));
    auto pool = makePool(url);
    const QString plan = runOnPool(*pool, [](QSqlDatabase& db) {
        schema::migrate(db);
        QSqlQuery q(db);
        const QString sql = recentRunGridSql()
                                .replace(QStringLiteral("flow_name = ?"), QStringLiteral("flow_name = 'etl'"))
                                .replace(QStringLiteral("LIMIT ?"), QStringLiteral("LIMIT 40"));
        if (!q.exec(QStringLiteral("EXPLAIN QUERY PLAN ") + sql))
            throw DatabaseError(q.lastError().text().toStdString());
        QString out;
        while (q.next())
            out += q.value(3).toString() + u'\n';
        return out;
    });
    // The runs from the (flow_name, created_at) index, newest first without a sort; their task runs by
    // the flow run's id; no table is read whole.
    QVERIFY2(plan.contains(QStringLiteral("flow_runs_flow_created_idx")), qPrintable(plan));
    QVERIFY2(plan.contains(QStringLiteral("task_runs_flow_task_idx"))
                 || plan.contains(QStringLiteral("task_runs_flow_state_idx")),
             qPrintable(plan));
    QVERIFY2(!plan.contains(QStringLiteral("SCAN flow_runs"))
                 && !plan.contains(QStringLiteral("SCAN task_runs"))
                 && !plan.contains(QStringLiteral("SCAN t\n")) && !plan.contains(QStringLiteral("SCAN t ")),
             qPrintable(plan));
}

void TestHistoryQueries::trendsCountAndTime()
{
    QFETCH(QString, backend);
    FLOWDECK_FRESH_DATABASE(url, backend);
    auto pool = makePool(url);
    constexpr qint64 Hour = 3'600'000'000LL;
    constexpr qint64 Since = 1000 * Hour;
    runOnPool(*pool, [](QSqlDatabase& db) {
        schema::migrate(db);
        // Before the window: not counted.
        addFlowRun(db, QStringLiteral("old"), QStringLiteral("etl"), QStringLiteral("FAILED"), Since - 1);
        // Hour 0: two etl runs (one failed); hour 2: one etl, one "report".
        addFlowRun(db, QStringLiteral("a"), QStringLiteral("etl"), QStringLiteral("COMPLETED"), Since + 10);
        addFlowRun(db, QStringLiteral("b"), QStringLiteral("etl"), QStringLiteral("FAILED"),
                   Since + Hour - 1);
        addFlowRun(db, QStringLiteral("c"), QStringLiteral("etl"), QStringLiteral("COMPLETED"),
                   Since + 2 * Hour);
        addFlowRun(db, QStringLiteral("d"), QStringLiteral("report"), QStringLiteral("CRASHED"),
                   Since + 2 * Hour + 5);
        // extract took 100, 300 and 200 us; shard (mapped) in run c: 10, 20, 30, 40 us; b's shard failed.
        addTaskRun(db, QStringLiteral("a-x"), QStringLiteral("a"), QStringLiteral("extract"), -1,
                   QStringLiteral("COMPLETED"), 1, Since + 11, Since + 20, Since + 120);
        addTaskRun(db, QStringLiteral("b-x"), QStringLiteral("b"), QStringLiteral("extract"), -1,
                   QStringLiteral("COMPLETED"), 1, Since + Hour, Since + Hour, Since + Hour + 300);
        addTaskRun(db, QStringLiteral("b-s"), QStringLiteral("b"), QStringLiteral("shard"), 0,
                   QStringLiteral("FAILED"), 2, Since + Hour + 1, Since + Hour + 301, Since + Hour + 311);
        addTaskRun(db, QStringLiteral("c-x"), QStringLiteral("c"), QStringLiteral("extract"), -1,
                   QStringLiteral("COMPLETED"), 1, Since + 2 * Hour, Since + 2 * Hour,
                   Since + 2 * Hour + 200);
        for (int m = 0; m < 4; ++m)
            addTaskRun(db, QStringLiteral("c-s%1").arg(m), QStringLiteral("c"), QStringLiteral("shard"), m,
                       QStringLiteral("COMPLETED"), 1, Since + 2 * Hour + 1, Since + 2 * Hour + 300,
                       Since + 2 * Hour + 310 + 10 * m);
        addTaskRun(db, QStringLiteral("old-x"), QStringLiteral("old"), QStringLiteral("extract"), -1,
                   QStringLiteral("FAILED"), 1, Since - 1, Since, Since + 99999);
    });

    const QList<RunBucket> buckets
        = runOnPool(*pool, [](QSqlDatabase& db) { return runsPerBucket(db, Since, Hour); });
    QMap<QString, qint64> byBucket;
    for (const RunBucket& b : buckets)
        byBucket[QStringLiteral("%1/%2").arg(b.bucket).arg(b.state)] += b.count;
    QCOMPARE(byBucket,
             (QMap<QString, qint64>{{QStringLiteral("0/COMPLETED"), 1},
                                    {QStringLiteral("0/FAILED"), 1},
                                    {QStringLiteral("2/COMPLETED"), 1},
                                    {QStringLiteral("2/CRASHED"), 1}}));

    const QList<RunStats> flows = runOnPool(*pool, [](QSqlDatabase& db) { return flowStats(db, Since); });
    QCOMPARE(flows.size(), 2);
    for (const RunStats& f : flows) {
        if (f.flow == u"etl") {
            QCOMPARE(f.runs, qint64(3));
            QCOMPARE(f.failed, qint64(1));
            QCOMPARE(f.finished, qint64(3));
            QCOMPARE(f.longestUs, qint64(990)); // created + 10 .. created + 1000
        } else {
            QCOMPARE(f.flow, QStringLiteral("report"));
            QCOMPARE(f.failed, qint64(1)); // CRASHED counts as failing
        }
    }

    const QList<RunStats> tasks = runOnPool(*pool, [](QSqlDatabase& db) { return taskStats(db, Since); });
    QCOMPARE(tasks.size(), 2);
    for (const RunStats& t : tasks) {
        QCOMPARE(t.flow, QStringLiteral("etl"));
        if (t.task == u"extract") {
            QCOMPARE(t.runs, qint64(3)); // not the one of the run before the window
            QCOMPARE(t.failed, qint64(0));
            QCOMPARE(t.averageUs, 200.0);
            QCOMPARE(t.longestUs, qint64(300));
        } else {
            QCOMPARE(t.task, QStringLiteral("shard"));
            QCOMPARE(t.runs, qint64(5));
            QCOMPARE(t.failed, qint64(1));
        }
    }

    // The newest two runs of etl that ran shard, oldest first; a mapped task gives all its durations.
    const QList<TaskDuration> durations = runOnPool(*pool, [](QSqlDatabase& db) {
        return taskDurations(db, QStringLiteral("etl"), QStringLiteral("shard"), 2);
    });
    QCOMPARE(durations.size(), 2);
    QCOMPARE(durations[0].flowRunId, QStringLiteral("b"));
    QCOMPARE(durations[0].durationsUs, (QList<qint64>{10}));
    QCOMPARE(durations[1].flowRunId, QStringLiteral("c"));
    QList<qint64> c = durations[1].durationsUs;
    std::sort(c.begin(), c.end());
    QCOMPARE(c, (QList<qint64>{10, 20, 30, 40}));
}

namespace {

//! \a sql with literal values in place of its parameters: the plan is what matters.
QString withLiterals(QString sql)
{
    sql.replace(QStringLiteral("flow_name = ?"), QStringLiteral("flow_name = 'etl'"));
    sql.replace(QStringLiteral("task = ?"), QStringLiteral("task = 'x'"));
    sql.replace(u'?', QStringLiteral("1000"));
    return sql;
}

} // namespace

void TestHistoryQueries::trendsReadIndexes()
{
    FLOWDECK_FRESH_DATABASE(url, QStringLiteral("sqlite"));
    auto pool = makePool(url);
    const QStringList plans = runOnPool(*pool, [](QSqlDatabase& db) {
        schema::migrate(db);
        QStringList out;
        for (const QString& sql : trendsSql()) {
            QSqlQuery q(db);
            if (!q.exec(QStringLiteral("EXPLAIN QUERY PLAN ") + withLiterals(sql)))
                throw DatabaseError(q.lastError().text().toStdString());
            QString plan;
            while (q.next())
                plan += q.value(3).toString() + u'\n';
            out << plan;
        }
        return out;
    });
    QCOMPARE(plans.size(), 10);
    for (const QString& plan : plans)
        qInfo().noquote() << plan;
    // runsPerBucket and the hours' check: index-only ranges of (created_at, state, ended_at).
    for (int i : {0, 1})
        QVERIFY2(plans[i].contains(QStringLiteral("SEARCH flow_runs USING COVERING INDEX "
                                                  "flow_runs_created_state_end_idx (created_at>")),
                 qPrintable(plans[i]));
    // The cached hours and their figures: ranges of their primary keys.
    QVERIFY2(plans[2].contains(QStringLiteral("SEARCH trend_hours USING ")), qPrintable(plans[2]));
    QVERIFY2(
        plans[3].contains(QStringLiteral("SEARCH trend_rollups USING INDEX sqlite_autoindex_trend_rollups")),
        qPrintable(plans[3]));
    // The hours read from the runs: a created_at range, each run's task runs by its id.
    for (int i : {4, 5, 8, 9})
        QVERIFY2(plans[i].contains(QStringLiteral("SEARCH flow_runs USING"))
                     || plans[i].contains(QStringLiteral("SEARCH r USING")),
                 qPrintable(plans[i]));
    for (int i : {5, 9})
        QVERIFY2(plans[i].contains(QStringLiteral("SEARCH t USING INDEX task_runs_flow_")),
                 qPrintable(plans[i]));
    // A task's durations: the flow's newest runs from its index, their task runs by id.
    QVERIFY2(plans[6].contains(QStringLiteral("flow_runs_flow_created_idx")), qPrintable(plans[6]));
    QVERIFY2(plans[6].contains(QStringLiteral("task_runs_flow_")), qPrintable(plans[6]));
    // No table is read whole.
    for (const QString& plan : plans)
        QVERIFY2(!plan.contains(QStringLiteral("SCAN flow_runs"))
                     && !plan.contains(QStringLiteral("SCAN task_runs"))
                     && !plan.contains(QStringLiteral("SCAN t\n"))
                     && !plan.contains(QStringLiteral("SCAN t "))
                     && !plan.contains(QStringLiteral("SCAN trend_")),
                 qPrintable(plan));
}

void TestHistoryQueries::trendsPlansOnPostgres()
{
    // PostgreSQL plans by table statistics, which a fresh test database does not have: its plans are
    // printed, for reading beside bench_store_queries' figures, and must not read task_runs whole.
    FLOWDECK_FRESH_DATABASE(url, QStringLiteral("postgres"));
    auto pool = makePool(url);
    const QStringList plans = runOnPool(*pool, [](QSqlDatabase& db) {
        schema::migrate(db);
        QStringList out;
        for (const QString& sql : trendsSqlPostgres()) {
            QSqlQuery q(db);
            if (!q.exec(QStringLiteral("EXPLAIN ") + withLiterals(sql)))
                throw DatabaseError(q.lastError().text().toStdString());
            QString plan = sql + u'\n';
            while (q.next())
                plan += q.value(0).toString() + u'\n';
            out << plan;
        }
        return out;
    });
    QCOMPARE(plans.size(), 10);
    for (const QString& plan : plans) {
        qInfo().noquote() << plan;
        QVERIFY2(!plan.contains(QStringLiteral("Seq Scan on task_runs")), qPrintable(plan));
    }
}

namespace {

constexpr qint64 HourUs = 3'600'000'000LL;
constexpr qint64 H0 = 1000 * HourUs; // long past: every hour of these tests can be cached

//! Two etl runs in the past: a (completed, hour 0) and b (failed, hour 1), one task run "x" each.
void addTwoPastRuns(QSqlDatabase& db)
{
    schema::migrate(db);
    addEndedFlowRun(db, QStringLiteral("a"), QStringLiteral("etl"), QStringLiteral("COMPLETED"), H0 + 10,
                    H0 + 1000);
    addTaskRun(db, QStringLiteral("a-x"), QStringLiteral("a"), QStringLiteral("x"), -1,
               QStringLiteral("COMPLETED"), 1, H0 + 11, H0 + 20, H0 + 120);
    addEndedFlowRun(db, QStringLiteral("b"), QStringLiteral("etl"), QStringLiteral("FAILED"), H0 + HourUs + 5,
                    H0 + HourUs + 2000);
    addTaskRun(db, QStringLiteral("b-x"), QStringLiteral("b"), QStringLiteral("x"), -1,
               QStringLiteral("FAILED"), 1, H0 + HourUs + 6, H0 + HourUs + 10, H0 + HourUs + 310);
}

//! The same figures computed from the runs alone (the cache emptied first).
QStringList uncached(ConnectionPool& pool, bool tasks)
{
    return runOnPool(pool, [tasks](QSqlDatabase& db) {
        exec(db, QStringLiteral("DELETE FROM trend_rollups"), {});
        exec(db, QStringLiteral("DELETE FROM trend_hours"), {});
        return describe(tasks ? taskStats(db, H0) : flowStats(db, H0));
    });
}

} // namespace

void TestHistoryQueries::pastHoursComeFromTheCache()
{
    QFETCH(QString, backend);
    FLOWDECK_FRESH_DATABASE(url, backend);
    auto pool = makePool(url);
    runOnPool(*pool, [](QSqlDatabase& db) { addTwoPastRuns(db); });
    const QStringList first = runOnPool(*pool, [](QSqlDatabase& db) { return describe(taskStats(db, H0)); });
    QCOMPARE(first, QStringList{QStringLiteral("etl/x: 2 1 2 200 300")});
    QCOMPARE(runOnPool(*pool,
                       [](QSqlDatabase& db) {
                           return countOf(db, QStringLiteral("SELECT count(*) FROM trend_hours"));
                       }),
             qint64(2));
    // A cached row changed behind the queries' back shows: the past hours are read from trend_rollups,
    // not from the runs.
    const QList<RunStats> tampered = runOnPool(*pool, [](QSqlDatabase& db) {
        exec(db, QStringLiteral("UPDATE trend_rollups SET runs = runs + 40 WHERE state = 'COMPLETED'"), {});
        return taskStats(db, H0);
    });
    QCOMPARE(tampered.size(), 1);
    QCOMPARE(tampered[0].runs, qint64(42));
    const QList<RunStats> flows = runOnPool(*pool, [](QSqlDatabase& db) { return flowStats(db, H0); });
    QCOMPARE(flows.size(), 1);
    QCOMPARE(flows[0].runs, qint64(42));
    QCOMPARE(flows[0].failed, qint64(1));
    const QList<RunBucket> buckets
        = runOnPool(*pool, [](QSqlDatabase& db) { return runsPerBucket(db, H0, HourUs); });
    QCOMPARE(buckets.size(), 2);
    QCOMPARE(buckets[0].bucket, qint64(0));
    QCOMPARE(buckets[0].state, QStringLiteral("COMPLETED"));
    QCOMPARE(buckets[0].count, qint64(41));
    // An hour with an unfinished run is read from the runs and not cached.
    const QList<RunStats> withRunning = runOnPool(*pool, [](QSqlDatabase& db) {
        addEndedFlowRun(db, QStringLiteral("c"), QStringLiteral("etl"), QStringLiteral("RUNNING"),
                        H0 + 2 * HourUs, 0);
        addTaskRun(db, QStringLiteral("c-x"), QStringLiteral("c"), QStringLiteral("x"), -1,
                   QStringLiteral("RUNNING"), 1, H0 + 2 * HourUs, H0 + 2 * HourUs + 1, 0);
        return taskStats(db, H0);
    });
    QCOMPARE(withRunning.size(), 1);
    QCOMPARE(withRunning[0].runs, qint64(43));
    QCOMPARE(withRunning[0].finished, qint64(2));
    QCOMPARE(runOnPool(*pool,
                       [](QSqlDatabase& db) {
                           return countOf(db, QStringLiteral("SELECT count(*) FROM trend_hours"));
                       }),
             qint64(2));
}

void TestHistoryQueries::cacheFollowsRetriesLateRunsAndDeletes()
{
    QFETCH(QString, backend);
    FLOWDECK_FRESH_DATABASE(url, backend);
    auto pool = makePool(url);
    runOnPool(*pool, [](QSqlDatabase& db) { addTwoPastRuns(db); });
    auto tasks
        = [&pool] { return runOnPool(*pool, [](QSqlDatabase& db) { return describe(taskStats(db, H0)); }); };
    auto flows
        = [&pool] { return runOnPool(*pool, [](QSqlDatabase& db) { return describe(flowStats(db, H0)); }); };
    QCOMPARE(tasks(), QStringList{QStringLiteral("etl/x: 2 1 2 200 300")});

    // b is retried, as RunControl does it: its end cleared, its task run waiting again.
    runOnPool(*pool, [](QSqlDatabase& db) {
        exec(db, QStringLiteral("UPDATE flow_runs SET state = 'SCHEDULED', ended_at = NULL WHERE id = 'b'"),
             {});
        exec(db,
             QStringLiteral("UPDATE task_runs SET state = 'PENDING', started_at = NULL, ended_at = NULL "
                            "WHERE id = 'b-x'"),
             {});
    });
    QCOMPARE(tasks(), QStringList{QStringLiteral("etl/x: 2 0 1 100 100")});
    QCOMPARE(flows(), QStringList{QStringLiteral("etl/: 2 0 1 989 989")});
    // ... and completes, later, in 50 us.
    runOnPool(*pool, [](QSqlDatabase& db) {
        exec(db, QStringLiteral("UPDATE flow_runs SET state = 'COMPLETED', ended_at = ? WHERE id = 'b'"),
             {H0 + 3 * HourUs});
        exec(db,
             QStringLiteral("UPDATE task_runs SET state = 'COMPLETED', started_at = ?, ended_at = ? "
                            "WHERE id = 'b-x'"),
             {H0 + 3 * HourUs - 100, H0 + 3 * HourUs - 50});
    });
    QCOMPARE(tasks(), QStringList{QStringLiteral("etl/x: 2 0 2 75 100")});
    // A run written late into an hour already cached (another process's batch) counts.
    runOnPool(*pool, [](QSqlDatabase& db) {
        addEndedFlowRun(db, QStringLiteral("d"), QStringLiteral("etl"), QStringLiteral("CRASHED"), H0 + 30,
                        H0 + 40);
        addTaskRun(db, QStringLiteral("d-x"), QStringLiteral("d"), QStringLiteral("x"), -1,
                   QStringLiteral("CRASHED"), 1, H0 + 31, H0 + 32, H0 + 39);
    });
    QCOMPARE(tasks(), QStringList{QStringLiteral("etl/x: 3 1 3 52.3333 100")});
    // A deleted run no longer counts.
    runOnPool(*pool, [](QSqlDatabase& db) {
        exec(db, QStringLiteral("DELETE FROM task_runs WHERE flow_run_id = 'a'"), {});
        exec(db, QStringLiteral("DELETE FROM flow_runs WHERE id = 'a'"), {});
    });
    QCOMPARE(tasks(), QStringList{QStringLiteral("etl/x: 2 1 2 28.5 50")});
    // Whatever happened, the cached answer is the one computed from the runs alone.
    const QStringList cachedTasks = tasks();
    const QStringList cachedFlows = flows();
    QCOMPARE(uncached(*pool, true), cachedTasks);
    QCOMPARE(uncached(*pool, false), cachedFlows);
}

void TestHistoryQueries::processesFillingAtOnceAgree()
{
    QFETCH(QString, backend);
    FLOWDECK_FRESH_DATABASE(url, backend);
    // Two pools: two connections, as two processes on one database.
    auto one = makePool(url);
    auto two = makePool(url);
    runOnPool(*one, [](QSqlDatabase& db) {
        schema::migrate(db);
        for (int i = 0; i < 48; ++i) {
            const QString id = QStringLiteral("r%1").arg(i);
            const qint64 t = H0 + i * HourUs / 2;
            addEndedFlowRun(db, id, QStringLiteral("f%1").arg(i % 3),
                            i % 5 ? QStringLiteral("COMPLETED") : QStringLiteral("FAILED"), t, t + 500);
            for (int k = 0; k < 3; ++k)
                addTaskRun(db, id + QString::number(k), id, QStringLiteral("t%1").arg(k), -1,
                           QStringLiteral("COMPLETED"), 1, t + 1, t + 2, t + 2 + 10 * k + i);
        }
    });
    const QStringList expected = uncached(*one, true);
    QCOMPARE(expected.size(), 9);
    for (int round = 0; round < 5; ++round) {
        runOnPool(*one, [](QSqlDatabase& db) {
            exec(db, QStringLiteral("DELETE FROM trend_rollups"), {});
            exec(db, QStringLiteral("DELETE FROM trend_hours"), {});
        });
        auto job = [](QSqlDatabase& db) { return describe(taskStats(db, H0)); };
        auto a = one->run(job);
        auto b = two->run(job);
        QElapsedTimer timer;
        timer.start();
        while ((!a.isReady() || !b.isReady()) && timer.elapsed() < 20000)
            QCoreApplication::processEvents(QEventLoop::AllEvents | QEventLoop::WaitForMoreEvents, 20);
        QVERIFY(a.isReady() && b.isReady());
        QCOMPARE(QCoro::waitFor(a), expected);
        QCOMPARE(QCoro::waitFor(b), expected);
    }
}

void TestHistoryQueries::upgradeBackfillsTheCache()
{
    QFETCH(QString, backend);
    FLOWDECK_FRESH_DATABASE(url, backend);
    auto pool = makePool(url);
    // A version 10 database with runs in two hours of the last days, one unfinished run, and a run of
    // a month ago.
    const qint64 base = (QDateTime::currentMSecsSinceEpoch() * 1000 / HourUs - 48) * HourUs;
    const qint64 old = base - 30 * 24 * HourUs;
    const auto cache = runOnPool(*pool, [base, old](QSqlDatabase& db) {
        schema::migrateTo(db, 10);
        exec(db,
             QStringLiteral(
                 "INSERT INTO flow_runs (id, flow_name, state, state_name, created_at, started_at, ended_at) "
                 "VALUES ('a', 'etl', 'COMPLETED', 'Completed', ?, ?, ?), "
                 "('b', 'etl', 'FAILED', 'Failed', ?, ?, ?), ('c', 'etl', 'RUNNING', 'Running', ?, ?, NULL), "
                 "('o', 'etl', 'COMPLETED', 'Completed', ?, ?, ?)"),
             {base + 10, base + 11, base + 1000, base + HourUs + 5, base + HourUs + 6, base + HourUs + 2000,
              base + 2 * HourUs, base + 2 * HourUs + 1, old, old + 1, old + 2});
        addTaskRun(db, QStringLiteral("a-x"), QStringLiteral("a"), QStringLiteral("x"), -1,
                   QStringLiteral("COMPLETED"), 1, base + 11, base + 20, base + 120);
        addTaskRun(db, QStringLiteral("b-x"), QStringLiteral("b"), QStringLiteral("x"), -1,
                   QStringLiteral("FAILED"), 1, base + HourUs + 6, base + HourUs + 10, base + HourUs + 310);
        addTaskRun(db, QStringLiteral("o-x"), QStringLiteral("o"), QStringLiteral("x"), -1,
                   QStringLiteral("COMPLETED"), 1, old + 1, old + 1, old + 2);
        schema::migrate(db);
        QStringList rows;
        QSqlQuery q(db);
        if (!q.exec(QStringLiteral("SELECT hour, flow_name, task, state, runs, finished, duration_sum, "
                                   "duration_max FROM trend_rollups ORDER BY hour, task, state")))
            throw DatabaseError(q.lastError().text().toStdString());
        while (q.next()) {
            QStringList row;
            for (int i = 0; i < 8; ++i)
                row << q.value(i).toString();
            rows << row.join(u' ');
        }
        rows << QStringLiteral("hours %1")
                    .arg(countOf(db, QStringLiteral("SELECT count(*) FROM trend_hours")));
        return rows;
    });
    // The two hours of the last days are filled (the flow runs' own under task ''); the hour with an
    // unfinished run is not, nor the month-old one.
    const QString h = QString::number(base / HourUs);
    const QString h1 = QString::number(base / HourUs + 1);
    QCOMPARE(cache,
             (QStringList{h + QStringLiteral(" etl  COMPLETED 1 1 989 989"),
                          h + QStringLiteral(" etl x COMPLETED 1 1 100 100"),
                          h1 + QStringLiteral(" etl  FAILED 1 1 1994 1994"),
                          h1 + QStringLiteral(" etl x FAILED 1 1 300 300"), QStringLiteral("hours 2")}));
    // The month-old hour is filled when first asked for.
    QCOMPARE(runOnPool(*pool, [base](QSqlDatabase& db) { return describe(taskStats(db, base)); }),
             QStringList{QStringLiteral("etl/x: 2 1 2 200 300")});
    QCOMPARE(runOnPool(*pool, [old](QSqlDatabase& db) { return describe(taskStats(db, old)); }),
             QStringList{QStringLiteral("etl/x: 3 1 3 133.667 300")});
    QCOMPARE(runOnPool(*pool,
                       [](QSqlDatabase& db) {
                           return countOf(db, QStringLiteral("SELECT count(*) FROM trend_hours"));
                       }),
             qint64(3));
}

void TestHistoryQueries::percentiles()
{
    QCOMPARE(percentileOf({}, 0.5), qint64(0));
    QCOMPARE(percentileOf({7}, 0.95), qint64(7));
    QCOMPARE(percentileOf({40, 10, 30, 20}, 0.5), qint64(20));
    QCOMPARE(percentileOf({40, 10, 30, 20}, 0.95), qint64(40));
    QList<qint64> hundred;
    for (int i = 100; i >= 1; --i)
        hundred << i;
    QCOMPARE(percentileOf(hundred, 0.5), qint64(50));
    QCOMPARE(percentileOf(hundred, 0.95), qint64(95));
}

QTEST_GUILESS_MAIN(TestHistoryQueries)
#include "tst_historyqueries.moc"
