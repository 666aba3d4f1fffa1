// The flow-run queue of the scale-out, on SQLite and on the PostgreSQL server in FLOWDECK_TEST_PG
// (mandatory in CI): the schema step from version 2, `flowdeck submit` (a worker then runs what it
// queued), its bad input, concurrent claims that never take the same run twice, and the Workers
// page's model. Worker processes at work are in tst_workers.
#include "cliutil.h"
#include "models/workermodel.h"
#include "store/connectionpool.h"
#include "store/schema.h"
#include "store/workerqueries.h"
#include "testutil.h"
#include "workerutil.h"

#include <QCoro/QCoroTask>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QRegularExpression>
#include <QSet>
#include <QSqlDriver>
#include <QSqlError>
#include <QSqlQuery>
#include <QSqlRecord>
#include <QTemporaryDir>
#include <QTest>

#include <csignal>
#include <map>
#include <memory>
#include <vector>

using namespace flowdeck;
using namespace flowdeck::test;

class TestWorkerQueue : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void schemaUpgradeFromVersion2_data() { addBackendRows(); }
    void schemaUpgradeFromVersion2();
    void submitQueuesAndPrintsIdLast_data() { addBackendRows(); }
    void submitQueuesAndPrintsIdLast();
    void badInputExits2_data() { addBackendRows(); }
    void badInputExits2();
    void concurrentClaimsNeverOverlap_data() { addBackendRows(); }
    void concurrentClaimsNeverOverlap();
    void workerModelShowsReportedFigures();
};

void TestWorkerQueue::workerModelShowsReportedFigures()
{
    workers::WorkerRow w;
    w.id = QStringLiteral("e1");
    w.name = QStringLiteral("build-1");
    w.kind = QStringLiteral("worker");
    w.host = QStringLiteral("box");
    w.pid = 42;
    w.heartbeatUs = 10'000'000;
    w.leaseUs = 2'000'000;
    w.maxFlowRuns = 4;
    w.flowRunsRunning = 3;
    w.blockingBusy = 7;
    w.blockingMax = 40;
    w.loopLagUs = 2500;
    workers::WorkerRow late = w;
    late.id = QStringLiteral("e2");
    late.name = QStringLiteral("build-2");
    late.heartbeatUs = 7'000'000;
    WorkerModel model;
    model.setRows({w, late}, 10'500'000);
    QCOMPARE(model.rowCount(), 2);
    auto text = [&](int row, int column) { return model.index(row, column).data().toString(); };
    QCOMPARE(text(0, WorkerModel::Name), QStringLiteral("build-1"));
    QCOMPARE(text(0, WorkerModel::Host), QStringLiteral("box"));
    QCOMPARE(text(0, WorkerModel::Pid), QStringLiteral("42"));
    QCOMPARE(text(0, WorkerModel::Heartbeat), QStringLiteral("0.5 s ago"));
    QCOMPARE(text(0, WorkerModel::FlowRuns), QStringLiteral("3 / 4"));
    QCOMPARE(text(0, WorkerModel::BlockingPool), QStringLiteral("7 / 40"));
    QCOMPARE(text(0, WorkerModel::LoopLag), QStringLiteral("2.5 ms"));
    QCOMPARE(text(0, WorkerModel::Status), QStringLiteral("online"));
    QCOMPARE(text(1, WorkerModel::Status), QStringLiteral("offline")); // 3.5 s > its 2 s lease
    QCOMPARE(model.online(), 1);
}

void TestWorkerQueue::schemaUpgradeFromVersion2()
{
    QFETCH(QString, backend);
    FLOWDECK_FRESH_DATABASE(url, backend);
    auto pool = makePool(url, 1);
    runOnPool(*pool, [](QSqlDatabase& db) {
        schema::migrateTo(db, 2);
        for (const QString& sql : {
                 QStringLiteral("INSERT INTO engines (id, host, pid, started_at, heartbeat_at) "
                                "VALUES ('engine-1', 'box', 4242, 1, 2)"),
                 QStringLiteral(
                     "INSERT INTO flow_runs (id, flow_name, state, state_name, created_at, worker) "
                     "VALUES ('run-1', 'etl', 'RUNNING', 'Running', 1700000000000000, 'engine-1')"),
             }) {
            QSqlQuery q(db);
            if (!q.exec(sql))
                throw DatabaseError(q.lastError().text().toStdString());
        }
    });
    QVERIFY(!runOnPool(*pool, [](QSqlDatabase& db) {
        return db.record(QStringLiteral("engines")).contains(QStringLiteral("lease_us"));
    }));

    runOnPool(*pool, [](QSqlDatabase& db) { schema::migrate(db); });
    QVERIFY(schema::latestVersion() >= 3);
    QCOMPARE(runOnPool(*pool, [](QSqlDatabase& db) { return schema::currentVersion(db); }),
             schema::latestVersion());
    // The rows of version 2 are there, with the new columns' defaults.
    const auto engine = runOnPool(*pool, [](QSqlDatabase& db) {
        QSqlQuery q(db);
        q.exec(QStringLiteral("SELECT host, pid, name, kind, lease_us, max_flow_runs, flow_runs_running, "
                              "blocking_busy, blocking_max, loop_lag_us FROM engines WHERE id = 'engine-1'"));
        QVariantList row;
        if (q.next()) {
            for (int i = 0; i < 10; ++i)
                row << q.value(i);
        }
        return row;
    });
    QCOMPARE(engine.size(), 10);
    QCOMPARE(engine[0].toString(), QStringLiteral("box"));
    QCOMPARE(engine[1].toInt(), 4242);
    QVERIFY(engine[2].isNull());
    QCOMPARE(engine[3].toString(), QStringLiteral("engine"));
    QCOMPARE(engine[4].toLongLong(), qint64(30'000'000));
    for (int i = 5; i < 10; ++i)
        QCOMPARE(engine[i].toLongLong(), qint64(0));
    const auto run = runOnPool(*pool, [](QSqlDatabase& db) {
        QSqlQuery q(db);
        q.exec(QStringLiteral("SELECT state, worker, worker_name, retries, run_count FROM flow_runs "
                              "WHERE id = 'run-1'"));
        QVariantList row;
        if (q.next()) {
            for (int i = 0; i < 5; ++i)
                row << q.value(i);
        }
        return row;
    });
    QCOMPARE(run.size(), 5);
    QCOMPARE(run[0].toString(), QStringLiteral("RUNNING"));
    QCOMPARE(run[1].toString(), QStringLiteral("engine-1"));
    QVERIFY(run[2].isNull());
    QCOMPARE(run[3].toInt(), 0);
    QCOMPARE(run[4].toInt(), 0);
    // The queue's index, and the queue works on upgraded data (the old RUNNING row is not queued).
    const QStringList indexes = runOnPool(*pool, [](QSqlDatabase& db) {
        QSqlQuery q(db);
        q.exec(db.driver()->dbmsType() == QSqlDriver::PostgreSQL
                   ? QStringLiteral("SELECT indexname FROM pg_indexes WHERE schemaname = current_schema()")
                   : QStringLiteral("SELECT name FROM sqlite_master WHERE type = 'index'"));
        QStringList names;
        while (q.next())
            names << q.value(0).toString();
        return names;
    });
    QVERIFY(indexes.contains(QStringLiteral("flow_runs_queue_idx")));
    QVERIFY(indexes.contains(QStringLiteral("flow_runs_worker_state_idx")));
    QCOMPARE(runOnPool(*pool, [](QSqlDatabase& db) { return workers::queuedFlowRuns(db); }), 0);
    const auto claimed = runOnPool(*pool, [](QSqlDatabase& db) {
        return workers::claimFlowRuns(db, QStringLiteral("w"), QStringLiteral("w"), QStringLiteral("box"), 1,
                                      5);
    });
    QVERIFY(claimed.claimed.isEmpty());
}

void TestWorkerQueue::submitQueuesAndPrintsIdLast()
{
    QFETCH(QString, backend);
    FLOWDECK_FRESH_DATABASE(url, backend);
    QTemporaryDir dir;
    const QString flow = writeFile(dir, QStringLiteral("p.json"), R"({
        "name": "param-flow", "retries": 2, "parameters": {"n": 2, "label": "x"},
        "tasks": [{"id": "t", "kind": "noop", "map": "{{n}}"}]})");
    const CliResult r = runCli({QStringLiteral("submit"), flow, QStringLiteral("--param"),
                                QStringLiteral("n=3"), QStringLiteral("--db"), url});
    QVERIFY2(r.exitCode == 0, qPrintable(r.err));
    const QString id = r.out.trimmed().split(QRegularExpression(QStringLiteral("\\s+"))).last();
    QCOMPARE(id.size(), 36);
    QVERIFY2(r.err.contains(QStringLiteral("no worker is online")), qPrintable(r.err));

    Db db(url);
    QVERIFY(db.ok());
    const auto rows
        = db.rows(QStringLiteral("SELECT flow_name, state, state_name, worker, parameters, document, "
                                 "total_task_runs, retries, run_count FROM flow_runs"));
    QCOMPARE(rows.size(), 1);
    const QVariantList row = rows.first();
    QCOMPARE(row[0].toString(), QStringLiteral("param-flow"));
    QCOMPARE(row[1].toString(), QStringLiteral("SCHEDULED"));
    QCOMPARE(row[2].toString(), QStringLiteral("Scheduled"));
    QVERIFY(row[3].isNull()); // nobody runs it yet
    const QJsonObject parameters = QJsonDocument::fromJson(row[4].toString().toUtf8()).object();
    QCOMPARE(parameters.value(QStringLiteral("n")).toInt(), 3);
    QCOMPARE(parameters.value(QStringLiteral("label")).toString(), QStringLiteral("x"));
    // The document travels with the run: a worker needs no file.
    const QJsonObject document = QJsonDocument::fromJson(row[5].toString().toUtf8()).object();
    QCOMPARE(document.value(QStringLiteral("name")).toString(), QStringLiteral("param-flow"));
    QCOMPARE(document.value(QStringLiteral("tasks")).toArray().size(), 1);
    QCOMPARE(row[6].toLongLong(), qint64(3));
    QCOMPARE(row[7].toInt(), 2);
    QCOMPARE(row[8].toInt(), 0);
    QCOMPARE(db.value(QStringLiteral("SELECT id FROM flow_runs")).toString(), id);
    QCOMPARE(db.count(QStringLiteral("SELECT count(*) FROM state_history WHERE flow_run_id = ? AND state = "
                                     "'SCHEDULED'"),
                      {id}),
             qint64(1));
    // `runs ls` sees it as any other run.
    const CliResult ls = runCli({QStringLiteral("runs"), QStringLiteral("ls"), QStringLiteral("--db"), url});
    QVERIFY2(ls.exitCode == 0 && ls.out.contains(id.left(8)), qPrintable(ls.out + ls.err));

    // A worker runs it with the submitted parameter (3 task runs), under the same id, then stops.
    QTemporaryDir logs;
    logs.setAutoRemove(false); // kept for a failure; removed at the end
    auto w = startWorker(url, QStringLiteral("solo"), logs.path());
    QVERIFY(waitFor(
        [&] {
            return db.value(QStringLiteral("SELECT state FROM flow_runs")).toString()
                == QLatin1String("COMPLETED");
        },
        30000));
    w->signal(SIGTERM);
    QVERIFY(w->process->waitForFinished(15000));
    QVERIFY2(w->process->exitStatus() == QProcess::NormalExit && w->process->exitCode() == 0,
             qPrintable(w->exitReport()));
    QCOMPARE(db.count(QStringLiteral("SELECT count(*) FROM flow_runs")), qint64(1));
    QCOMPARE(db.count(QStringLiteral(
                          "SELECT count(*) FROM task_runs WHERE flow_run_id = ? AND state = 'COMPLETED'"),
                      {id}),
             qint64(3));
    QCOMPARE(db.value(QStringLiteral("SELECT worker_name FROM flow_runs")).toString(),
             QStringLiteral("solo"));
    QCOMPARE(db.count(QStringLiteral("SELECT run_count FROM flow_runs")), qint64(1));
    QCOMPARE(w->claimed(), QStringList{id});
    logs.setAutoRemove(true);
}

void TestWorkerQueue::badInputExits2()
{
    QFETCH(QString, backend);
    FLOWDECK_FRESH_DATABASE(url, backend);
    auto pool = makePool(url, 1);
    runOnPool(*pool, [](QSqlDatabase& db) { schema::migrate(db); });
    QTemporaryDir dir;
    const QString good
        = writeFile(dir, QStringLiteral("g.json"),
                    R"({"name": "g", "parameters": {"n": 1}, "tasks": [{"id": "t", "kind": "noop"}]})");
    const QString negative
        = writeFile(dir, QStringLiteral("n.json"),
                    R"({"name": "n", "retries": -1, "tasks": [{"id": "t", "kind": "noop"}]})");
    const QString text
        = writeFile(dir, QStringLiteral("s.json"),
                    R"({"name": "s", "retries": "two", "tasks": [{"id": "t", "kind": "noop"}]})");
    struct Case {
        QStringList args;
        QString expected;
    };
    const QList<Case> cases = {
        {{QStringLiteral("submit"), negative}, QStringLiteral("retries: ")},
        {{QStringLiteral("submit"), text}, QStringLiteral("retries: expected an integer")},
        {{QStringLiteral("submit"), good, QStringLiteral("--param"), QStringLiteral("nope=1")},
         QStringLiteral("--param nope=1")},
        {{QStringLiteral("submit")}, QStringLiteral("missing FLOW")},
        {{QStringLiteral("submit"), good, QStringLiteral("--seed"), QStringLiteral("-3")},
         QStringLiteral("--seed")},
        {{QStringLiteral("worker"), QStringLiteral("--max-flow-runs"), QStringLiteral("0")},
         QStringLiteral("--max-flow-runs: expected an integer from 1")},
        {{QStringLiteral("worker"), QStringLiteral("--lease-seconds"), QStringLiteral("soon")},
         QStringLiteral("--lease-seconds: expected a number")},
        {{QStringLiteral("worker"), QStringLiteral("--grace-seconds"), QStringLiteral("-1")},
         QStringLiteral("--grace-seconds")},
        {{QStringLiteral("worker"), QStringLiteral("--name"), QStringLiteral(" ")}, QStringLiteral("--name")},
        {{QStringLiteral("worker"), QStringLiteral("extra")}, QStringLiteral("unexpected argument")},
    };
    for (const Case& c : cases) {
        const CliResult r = runCli(c.args + QStringList{QStringLiteral("--db"), url});
        QVERIFY2(r.exitCode == 2,
                 qPrintable(c.args.join(u' ') + QStringLiteral(": exit %1").arg(r.exitCode)));
        QVERIFY2(r.err.contains(c.expected), qPrintable(c.args.join(u' ') + QStringLiteral(": ") + r.err));
    }
    // Nothing was queued, nobody registered.
    Db db(url);
    QVERIFY(db.ok());
    QCOMPARE(db.count(QStringLiteral("SELECT count(*) FROM flow_runs")), qint64(0));
    QCOMPARE(db.count(QStringLiteral("SELECT count(*) FROM engines")), qint64(0));
}

void TestWorkerQueue::concurrentClaimsNeverOverlap()
{
    QFETCH(QString, backend);
    FLOWDECK_FRESH_DATABASE(url, backend);
    auto setup = makePool(url, 1);
    runOnPool(*setup, [](QSqlDatabase& db) { schema::migrate(db); });
    const QStringList ids
        = submitMany(*setup, R"({"name": "q", "tasks": [{"id": "t", "kind": "noop"}]})", 120, 1);
    QCOMPARE(ids.size(), 120);

    // Two "workers" (pools), each with three claims in flight at a time, until the queue is empty.
    auto a = makePool(url, 3);
    auto b = makePool(url, 3);
    std::map<QString, QStringList> byWorker;
    int loopsRunning = 0;
    QString failure;
    auto claimLoop = [](ConnectionPool* pool, QString worker, QStringList* out, int* running,
                        QString* failure) -> QCoro::Task<> {
        try {
            for (;;) {
                auto claiming = pool->run([worker](QSqlDatabase& db) {
                    return workers::claimFlowRuns(db, worker, worker, QStringLiteral("box"), 1, 4);
                });
                const workers::ClaimResult r = co_await claiming;
                if (r.claimed.isEmpty())
                    break;
                for (const workers::ClaimedRun& c : r.claimed)
                    *out << c.id;
            }
        } catch (const std::exception& e) {
            *failure = QString::fromUtf8(e.what());
        }
        --*running;
    };
    std::vector<QCoro::Task<>> tasks;
    for (int i = 0; i < 3; ++i) {
        for (auto& [pool, name] : {std::pair{a.get(), QStringLiteral("worker-a")},
                                   std::pair{b.get(), QStringLiteral("worker-b")}}) {
            ++loopsRunning;
            tasks.push_back(claimLoop(pool, name, &byWorker[name], &loopsRunning, &failure));
        }
    }
    QVERIFY(waitFor([&] { return loopsRunning == 0; }, 60000));
    QVERIFY2(failure.isEmpty(), qPrintable(failure));
    QStringList all = byWorker[QStringLiteral("worker-a")] + byWorker[QStringLiteral("worker-b")];
    QCOMPARE(all.size(), 120);
    QCOMPARE(QSet<QString>(all.begin(), all.end()).size(), 120); // never the same run twice
    QCOMPARE(QSet<QString>(all.begin(), all.end()), QSet<QString>(ids.begin(), ids.end()));
    QVERIFY(!byWorker[QStringLiteral("worker-a")].isEmpty());
    QVERIFY(!byWorker[QStringLiteral("worker-b")].isEmpty());
    Db db(url);
    QCOMPARE(
        db.count(QStringLiteral("SELECT count(*) FROM flow_runs WHERE run_count = 1 AND worker = worker_name "
                                "AND worker IN ('worker-a', 'worker-b')")),
        qint64(120));
    QCOMPARE(db.count(QStringLiteral("SELECT count(*) FROM flow_runs WHERE worker = 'worker-a'")),
             qint64(byWorker[QStringLiteral("worker-a")].size()));
}

QTEST_GUILESS_MAIN(TestWorkerQueue)
#include "tst_workerqueue.moc"
