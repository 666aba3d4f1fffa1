// Reads over many stored flow runs (the Flows page's runs × tasks grid): the right runs, each task's
// task runs counted per state, and a plan that reads indexes, not every stored run.
#include "store/connectionpool.h"
#include "store/databaseurl.h"
#include "store/historyqueries.h"
#include "store/schema.h"
#include "testutil.h"

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

void TestHistoryQueries::trendsReadIndexes()
{
    FLOWDECK_FRESH_DATABASE(url, QStringLiteral("sqlite"));
    auto pool = makePool(url);
    const QStringList plans = runOnPool(*pool, [](QSqlDatabase& db) {
        schema::migrate(db);
        QStringList out;
        for (QString sql : trendsSql()) {
            // Literal values in place of the parameters: the plan is what matters.
            sql.replace(QStringLiteral("flow_name = ?"), QStringLiteral("flow_name = 'etl'"));
            sql.replace(QStringLiteral("t.task = ?"), QStringLiteral("t.task = 'x'"));
            sql.replace(u'?', QStringLiteral("1000"));
            QSqlQuery q(db);
            if (!q.exec(QStringLiteral("EXPLAIN QUERY PLAN ") + sql))
                throw DatabaseError(q.lastError().text().toStdString());
            QString plan;
            while (q.next())
                plan += q.value(3).toString() + u'\n';
            out << plan;
        }
        return out;
    });
    QCOMPARE(plans.size(), 4);
    // The window's runs come from the created_at index; a task's durations from the flow's index;
    // task runs by their flow run's id; no table is read whole (a SCAN of r is of the window's runs,
    // already chosen by the index).
    for (int i = 0; i < 3; ++i)
        QVERIFY2(plans[i].contains(QStringLiteral("flow_runs_created_idx")), qPrintable(plans[i]));
    QVERIFY2(plans[3].contains(QStringLiteral("flow_runs_flow_created_idx")), qPrintable(plans[3]));
    for (int i : {2, 3})
        QVERIFY2(plans[i].contains(QStringLiteral("task_runs_flow_")), qPrintable(plans[i]));
    for (const QString& plan : plans)
        QVERIFY2(!plan.contains(QStringLiteral("SCAN flow_runs"))
                     && !plan.contains(QStringLiteral("SCAN task_runs"))
                     && !plan.contains(QStringLiteral("SCAN t\n")),
                 qPrintable(plan));
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
