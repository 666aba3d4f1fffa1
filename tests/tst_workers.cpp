// Scale-out: `flowdeck submit` queues flow runs in the database, `flowdeck worker` processes
// claim and run them. On SQLite and on the PostgreSQL server in FLOWDECK_TEST_PG (mandatory in CI).
// The schema step, the queue's claim (never the same run twice), three real worker processes on 50
// tagged flow runs with one SIGKILLed, a worker declared offline by its stale heartbeat, graceful
// shutdown and cancellation.
#include "models/workermodel.h"
#include "store/connectionpool.h"
#include "store/databaseurl.h"
#include "store/schema.h"
#include "store/workerqueries.h"
#include "testutil.h"

#include <QCoro/QCoroTask>
#include <QDir>
#include <QFile>
#include <QFileInfo>
#include <QJsonArray>
#include <QJsonDocument>
#include <QProcess>
#include <QRegularExpression>
#include <QScopeGuard>
#include <QSet>
#include <QSqlDriver>
#include <QSqlError>
#include <QSqlQuery>
#include <QSqlRecord>
#include <QTemporaryDir>
#include <QTest>

#include <chrono>
#include <csignal>
#include <functional>
#include <map>
#include <memory>

using namespace flowdeck;
using namespace flowdeck::test;

namespace {

qint64 nowUs()
{
    return std::chrono::duration_cast<std::chrono::microseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
}

//! Runs the event loop until \a condition holds or \a timeoutMs passes; returns whether it held.
bool waitFor(const std::function<bool()>& condition, int timeoutMs)
{
    QElapsedTimer timer;
    timer.start();
    while (!condition()) {
        if (timer.elapsed() > timeoutMs)
            return false;
        QTest::qWait(25);
    }
    return true;
}

struct CliResult {
    int exitCode = -1;
    QString out;
    QString err;
};

CliResult runCli(const QStringList& args, int timeoutMs = 30000)
{
    QProcess p;
    p.start(flowdeckBinary(), args);
    CliResult r;
    if (!p.waitForFinished(timeoutMs)) {
        p.kill();
        p.waitForFinished();
        r.err = QStringLiteral("timed out");
        return r;
    }
    r.exitCode = p.exitStatus() == QProcess::NormalExit ? p.exitCode() : -1;
    r.out = QString::fromUtf8(p.readAllStandardOutput());
    r.err = QString::fromUtf8(p.readAllStandardError());
    return r;
}

//! A `flowdeck worker` child; its output goes to files in \a dir (read after it ended).
struct WorkerProcess {
    std::unique_ptr<QProcess> process = std::make_unique<QProcess>();
    QString name;
    QString outPath;
    QString errPath;

    QString out() const { return readAll(outPath); }
    QString err() const { return readAll(errPath); }
    static QString readAll(const QString& path)
    {
        QFile f(path);
        f.open(QIODevice::ReadOnly);
        return QString::fromUtf8(f.readAll());
    }
    //! Ids of the flow runs this worker says it claimed.
    QStringList claimed() const
    {
        static const QRegularExpression re(QStringLiteral("claimed flow run ([0-9a-f-]{36})"));
        QStringList ids;
        for (auto it = re.globalMatch(out()); it.hasNext();)
            ids << it.next().captured(1);
        return ids;
    }
    void signal(int sig) const { ::kill(pid_t(process->processId()), sig); }
    //! For a failed check of its exit: how it ended, and its stderr and where its files are kept.
    QString exitReport() const
    {
        return QStringLiteral("worker %1 exited %2 (%3); its output is kept in %4; its stderr:\n%5")
            .arg(name)
            .arg(process->exitCode())
            .arg(process->exitStatus() == QProcess::NormalExit ? QStringLiteral("normally")
                                                               : QStringLiteral("crashed"))
            .arg(QFileInfo(outPath).absolutePath(), err());
    }
};

std::unique_ptr<WorkerProcess> startWorker(const QString& url, const QString& name, const QString& dir,
                                           const QStringList& extra = {})
{
    auto w = std::make_unique<WorkerProcess>();
    w->name = name;
    w->outPath = QDir(dir).filePath(name + QStringLiteral(".out"));
    w->errPath = QDir(dir).filePath(name + QStringLiteral(".err"));
    w->process->setStandardOutputFile(w->outPath);
    w->process->setStandardErrorFile(w->errPath);
    w->process->start(
        flowdeckBinary(),
        QStringList{QStringLiteral("worker"), QStringLiteral("--db"), url, QStringLiteral("--name"), name}
            + extra);
    return w;
}

QString writeFile(const QTemporaryDir& dir, const QString& name, const QByteArray& content)
{
    QFile f(dir.filePath(name));
    f.open(QIODevice::WriteOnly);
    f.write(content);
    return f.fileName();
}

std::unique_ptr<ConnectionPool> makePool(const QString& url, int size = 2)
{
    return std::make_unique<ConnectionPool>(*DatabaseUrl::parse(url, nullptr),
                                            PoolOptions{size, 0, 30.0, 3600});
}

//! Queues \a n runs of \a json straight through the queue's SQL (the CLI is tested on its own).
QStringList submitMany(ConnectionPool& pool, const QByteArray& json, int n, qint64 taskRuns)
{
    const QJsonObject document = QJsonDocument::fromJson(json).object();
    return runOnPool(pool, [document, n, taskRuns](QSqlDatabase& db) {
        QStringList ids;
        for (int i = 0; i < n; ++i) {
            workers::Submission s;
            s.flowName = document.value(QStringLiteral("name")).toString();
            s.document = document;
            s.totalTaskRuns = taskRuns;
            s.retries = document.value(QStringLiteral("retries")).toInt();
            ids << workers::submitFlowRun(db, s);
        }
        return ids;
    });
}

const QString kUnfinished = QStringLiteral("('SCHEDULED','PENDING','RUNNING','PAUSED','CANCELLING')");

} // namespace

class TestWorkers : public QObject {
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
    void threeWorkersOneKilled_data() { addBackendRows(); }
    void threeWorkersOneKilled();
    void staleHeartbeatMarksWorkerOffline_data() { addBackendRows(); }
    void staleHeartbeatMarksWorkerOffline();
    void gracefulShutdown_data() { addBackendRows(); }
    void gracefulShutdown();
    void cancelReachesWorkerWithinOneSecond_data() { addBackendRows(); }
    void cancelReachesWorkerWithinOneSecond();
    void stopWhilePollWaitsForTheDatabase();
    void workerModelShowsReportedFigures();
    void runThatCannotStartFailsAlone_data() { addBackendRows(); }
    void runThatCannotStartFailsAlone();
};

void TestWorkers::workerModelShowsReportedFigures()
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

void TestWorkers::schemaUpgradeFromVersion2()
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

void TestWorkers::submitQueuesAndPrintsIdLast()
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

void TestWorkers::badInputExits2()
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

void TestWorkers::concurrentClaimsNeverOverlap()
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

void TestWorkers::threeWorkersOneKilled()
{
    QFETCH(QString, backend);
    FLOWDECK_FRESH_DATABASE(url, backend);
    QTemporaryDir dir;
    constexpr int Runs = 50;
    constexpr int Limit = 5;
    const CliResult limit
        = runCli({QStringLiteral("concurrency-limit"), QStringLiteral("create"), QStringLiteral("shared"),
                  QString::number(Limit), QStringLiteral("--db"), url});
    QVERIFY2(limit.exitCode == 0, qPrintable(limit.err));
    // Each flow run: 4 tagged sleeps, then a no-op; requeued once if its worker dies.
    const QByteArray flow = R"({"name": "tagged", "retries": 1, "tasks": [
               {"id": "t", "kind": "sleep", "seconds": [0.05, 0.15], "map": 4, "tags": ["shared"]},
               {"id": "done", "kind": "noop", "depends_on": ["t"]}]})";
    auto pool = makePool(url, 1);
    const QStringList ids = submitMany(*pool, flow, Runs, 5);
    QCOMPARE(ids.size(), Runs);

    std::vector<std::unique_ptr<WorkerProcess>> ws;
    const QStringList options = {QStringLiteral("--max-flow-runs"), QStringLiteral("4"),
                                 QStringLiteral("--lease-seconds"), QStringLiteral("2"),
                                 QStringLiteral("--grace-seconds"), QStringLiteral("20")};
    for (int i = 0; i < 3; ++i)
        ws.push_back(startWorker(url, QStringLiteral("w%1").arg(i), dir.path(), options));
    for (auto& w : ws)
        QVERIFY(w->process->waitForStarted());

    Db db(url);
    QVERIFY(db.ok());
    // Kill w0 mid-way: some runs done, and w0 in the middle of some of its own.
    const bool midway = waitFor(
        [&] {
            return db.count(QStringLiteral("SELECT count(*) FROM flow_runs WHERE state = 'COMPLETED'")) >= 10
                && db.count(
                       QStringLiteral("SELECT count(*) FROM flow_runs WHERE worker_name = 'w0' AND state = "
                                      "'RUNNING'"))
                >= 1;
        },
        60000);
    QVERIFY2(midway, qPrintable(ws[0]->err() + ws[1]->err()));
    QVERIFY2(ws[0]->process->state() == QProcess::Running, "w0 ended before it could be killed");
    ws[0]->signal(SIGKILL);
    const qint64 killedAtUs = nowUs();
    QVERIFY(ws[0]->process->waitForFinished(10000));

    // The other two finish everything, including w0's runs (requeued by its flow-level retry).
    const bool allDone = waitFor(
        [&] {
            return db.count(QStringLiteral("SELECT count(*) FROM flow_runs WHERE state IN ") + kUnfinished)
                == 0;
        },
        90000);
    QVERIFY2(allDone, qPrintable(ws[1]->err() + ws[2]->err()));
    for (int i = 1; i < 3; ++i) {
        ws[size_t(i)]->signal(SIGTERM);
        QVERIFY(ws[size_t(i)]->process->waitForFinished(30000));
        QVERIFY2(ws[size_t(i)]->process->exitCode() == 0, qPrintable(ws[size_t(i)]->err()));
    }

    // Every run completed exactly once.
    QCOMPARE(db.count(QStringLiteral("SELECT count(*) FROM flow_runs WHERE state = 'COMPLETED'")),
             qint64(Runs));
    const auto flowHistory = db.rows(
        QStringLiteral("SELECT flow_run_id, state, name, time FROM state_history WHERE task_run_id IS NULL "
                       "ORDER BY flow_run_id, id"));
    std::map<QString, QStringList> sequence;
    std::map<QString, qint64> requeuedAt;
    for (const auto& h : flowHistory) {
        sequence[h[0].toString()] << h[1].toString();
        if (h[2].toString() == QLatin1String("AwaitingRetry"))
            requeuedAt[h[0].toString()] = h[3].toLongLong();
    }
    const auto runCounts = db.rows(QStringLiteral("SELECT id, run_count, worker_name FROM flow_runs"));
    QCOMPARE(runCounts.size(), Runs);
    int requeued = 0;
    for (const auto& r : runCounts) {
        const QString id = r[0].toString();
        const QStringList& states = sequence[id];
        QCOMPARE(states.count(QStringLiteral("COMPLETED")), 1);
        QCOMPARE(states.last(), QStringLiteral("COMPLETED"));
        QCOMPARE(states.count(QStringLiteral("CRASHED")) + states.count(QStringLiteral("FAILED"))
                     + states.count(QStringLiteral("CANCELLED")),
                 0);
        // One RUNNING per attempt, except an attempt w0 claimed but was killed before it wrote RUNNING.
        const int running = int(states.count(QStringLiteral("RUNNING")));
        QVERIFY(r[1].toInt() == 1 || r[1].toInt() == 2);
        QVERIFY2(running == r[1].toInt() || (r[1].toInt() == 2 && running == 1),
                 qPrintable(QStringLiteral("%1 RUNNING for %2 claims").arg(running).arg(r[1].toInt())));
        if (r[1].toInt() == 2) {
            ++requeued;
            QVERIFY(requeuedAt.count(id));
            QVERIFY(requeuedAt[id] >= killedAtUs);
            // Noticed by the others well within the lease (same host: the process is gone at once).
            QVERIFY2(requeuedAt[id] - killedAtUs < 2'000'000 + 3'000'000,
                     qPrintable(QStringLiteral("requeued %1 ms after the kill")
                                    .arg((requeuedAt[id] - killedAtUs) / 1000)));
            QVERIFY(r[2].toString() != QLatin1String("w0"));
        }
    }
    QVERIFY2(requeued >= 1, "w0 was killed while running flow runs: they must have been requeued");
    // Survivors: never the same run twice, and with w0's completed runs they cover every run once.
    const QStringList claimed1 = ws[1]->claimed();
    const QStringList claimed2 = ws[2]->claimed();
    QStringList survivors = claimed1 + claimed2;
    QCOMPARE(QSet<QString>(survivors.begin(), survivors.end()).size(), survivors.size());
    QVERIFY(!claimed1.isEmpty() && !claimed2.isEmpty());
    QSet<QString> covered(survivors.begin(), survivors.end());
    for (const auto& r : db.rows(QStringLiteral("SELECT id FROM flow_runs WHERE worker_name = 'w0'"))) {
        QVERIFY2(!covered.contains(r[0].toString()), "a run w0 completed was claimed by another worker too");
        covered.insert(r[0].toString());
    }
    QCOMPARE(covered, QSet<QString>(ids.begin(), ids.end()));

    // At no instant more than the limit RUNNING, from the stored history (a crashed attempt counts
    // until its CRASHED row, written in the transaction that freed its slots).
    std::map<qint64, int> deltas;
    const auto history = db.rows(QStringLiteral(
        "SELECT h.task_run_id, h.time, h.state FROM state_history h JOIN task_runs t ON t.id = h.task_run_id "
        "WHERE t.tags = 'shared' ORDER BY h.task_run_id, h.time, h.id"));
    QString current;
    qint64 since = -1;
    int intervals = 0;
    struct Interval {
        QString taskRun;
        qint64 start;
        qint64 end;
        QString endState;
    };
    std::vector<Interval> all;
    QString endState;
    auto close = [&](qint64 end) {
        if (since >= 0) {
            deltas[since] += 1;
            deltas[end] -= 1;
            ++intervals;
            all.push_back({current, since, end, endState});
        }
        since = -1;
    };
    const qint64 open = nowUs();
    for (const auto& h : history) {
        if (h[0].toString() != current) {
            close(open); // never ended: counts as running until now (there must be none)
            current = h[0].toString();
        }
        const QString state = h[2].toString();
        endState = state;
        if (state == QLatin1String("RUNNING"))
            since = h[1].toLongLong();
        else if (state != QLatin1String("CANCELLING"))
            close(h[1].toLongLong());
    }
    endState = QStringLiteral("(none)");
    close(open);
    int now = 0;
    int peak = 0;
    qint64 peakAt = 0;
    for (const auto& [time, delta] : deltas) {
        now += delta;
        if (now > peak) {
            peak = now;
            peakAt = time;
        }
    }
    if (peak > Limit) {
        // Which runs overlapped, for the failure message.
        for (const Interval& i : all) {
            if (i.start <= peakAt && i.end > peakAt)
                qWarning("RUNNING at the peak: %s from %+lld us to %+lld us, then %s", qPrintable(i.taskRun),
                         i.start - peakAt, i.end - peakAt, qPrintable(i.endState));
        }
    }
    qInfo("%d flow runs, %d requeued after the kill; %d RUNNING intervals of task runs; peak %d at once",
          Runs, requeued, intervals, peak);
    QVERIFY2(peak <= Limit, qPrintable(QStringLiteral("%1 tagged task runs RUNNING at once").arg(peak)));
    QCOMPARE(peak, Limit); // and the limit was used
    QCOMPARE(db.count(QStringLiteral("SELECT count(*) FROM task_runs WHERE state = 'RUNNING'")), qint64(0));
    QCOMPARE(db.count(QStringLiteral("SELECT count(*) FROM task_runs WHERE state = 'CRASHED'")) > 0, true);
    // Nobody is registered any more: w0 was declared gone, the others left; no slot is held.
    QCOMPARE(db.count(QStringLiteral("SELECT count(*) FROM engines")), qint64(0));
    QCOMPARE(db.count(QStringLiteral("SELECT count(*) FROM concurrency_slots")), qint64(0));
    QVERIFY(ws[1]->out().contains(QStringLiteral("an engine stopped heartbeating"))
            || ws[2]->out().contains(QStringLiteral("an engine stopped heartbeating")));
}

void TestWorkers::staleHeartbeatMarksWorkerOffline()
{
    QFETCH(QString, backend);
    FLOWDECK_FRESH_DATABASE(url, backend);
    QTemporaryDir dir;
    dir.setAutoRemove(false); // kept for a failure; removed at the end
    const QString flow
        = writeFile(dir, QStringLiteral("long.json"),
                    R"({"name": "long", "tasks": [{"id": "s", "kind": "sleep", "seconds": 60}]})");
    const CliResult submitted = runCli({QStringLiteral("submit"), flow, QStringLiteral("--db"), url});
    QVERIFY2(submitted.exitCode == 0, qPrintable(submitted.err));
    const QString id = submitted.out.trimmed().split(u' ').last();
    const QStringList lease = {QStringLiteral("--lease-seconds"), QStringLiteral("1.5")};
    auto a = startWorker(url, QStringLiteral("a"), dir.path(), lease);
    Db db(url);
    QVERIFY(waitFor(
        [&] {
            return db.value(QStringLiteral("SELECT state FROM flow_runs WHERE id = ?"), {id}).toString()
                == QLatin1String("RUNNING");
        },
        30000));
    auto b = startWorker(url, QStringLiteral("b"), dir.path(), lease);
    QVERIFY(waitFor(
        [&] { return db.count(QStringLiteral("SELECT count(*) FROM engines WHERE kind = 'worker'")) == 2; },
        30000));
    // Alive but silent: its process exists, so only the stale heartbeat can tell.
    a->signal(SIGSTOP);
    const qint64 stoppedAtUs = nowUs();
    QVERIFY2(
        waitFor(
            [&] {
                return db.value(QStringLiteral("SELECT state FROM flow_runs WHERE id = ?"), {id}).toString()
                    == QLatin1String("CRASHED");
            },
            20000),
        qPrintable(b->err()));
    const qint64 crashedAt
        = db.value(QStringLiteral("SELECT ended_at FROM flow_runs WHERE id = ?"), {id}).toLongLong();
    // Not before the lease ran out (the last beat came at most a beat interval before the stop).
    QVERIFY2(
        crashedAt - stoppedAtUs >= 1'000'000,
        qPrintable(
            QStringLiteral("declared offline %1 ms after it stopped").arg((crashedAt - stoppedAtUs) / 1000)));
    QVERIFY2(
        crashedAt - stoppedAtUs <= 1'500'000 + 3'000'000,
        qPrintable(
            QStringLiteral("declared offline %1 ms after it stopped").arg((crashedAt - stoppedAtUs) / 1000)));
    QCOMPARE(db.count(QStringLiteral("SELECT count(*) FROM engines WHERE name = 'a'")), qint64(0));
    QCOMPARE(
        db.count(QStringLiteral("SELECT count(*) FROM task_runs WHERE flow_run_id = ? AND state = 'CRASHED'"),
                 {id}),
        qint64(1));

    // Woken up, it finds itself offline, stops its run and exits 1 without overwriting the record.
    a->signal(SIGCONT);
    QVERIFY(a->process->waitForFinished(20000));
    QCOMPARE(a->process->exitCode(), 1);
    QVERIFY2(a->err().contains(QStringLiteral("declared offline")), qPrintable(a->err()));
    QCOMPARE(db.value(QStringLiteral("SELECT state FROM flow_runs WHERE id = ?"), {id}).toString(),
             QStringLiteral("CRASHED"));
    b->signal(SIGTERM);
    QVERIFY(b->process->waitForFinished(15000));
    QVERIFY2(b->process->exitStatus() == QProcess::NormalExit && b->process->exitCode() == 0,
             qPrintable(b->exitReport()));
    dir.setAutoRemove(true);
}

void TestWorkers::gracefulShutdown()
{
    QFETCH(QString, backend);
    FLOWDECK_FRESH_DATABASE(url, backend);
    QTemporaryDir dir;
    const QByteArray shortFlow
        = R"({"name": "short", "tasks": [{"id": "s", "kind": "sleep", "seconds": 1.5}]})";
    const QByteArray longFlow
        = R"({"name": "long", "tasks": [{"id": "s", "kind": "blocking", "seconds": 60}]})";
    auto pool = makePool(url, 1);
    runOnPool(*pool, [](QSqlDatabase& db) { schema::migrate(db); });
    const QString shortId = submitMany(*pool, shortFlow, 1, 1).first();
    const QString longId = submitMany(*pool, longFlow, 1, 1).first();

    QProcess worker;
    worker.setStandardErrorFile(dir.filePath(QStringLiteral("worker.err")));
    worker.start(flowdeckBinary(),
                 {QStringLiteral("worker"), QStringLiteral("--db"), url, QStringLiteral("--name"),
                  QStringLiteral("g"), QStringLiteral("--grace-seconds"), QStringLiteral("4")});
    Db db(url);
    QVERIFY(waitFor(
        [&] {
            return db.count(QStringLiteral("SELECT count(*) FROM task_runs WHERE state = 'RUNNING'")) == 2;
        },
        30000));
    QByteArray out;
    ::kill(pid_t(worker.processId()), SIGTERM);
    QElapsedTimer sinceTerm;
    sinceTerm.start();
    QVERIFY(waitFor(
        [&] {
            out += worker.readAllStandardOutput();
            return out.contains("no more claims");
        },
        10000));
    // Submitted after the worker stopped claiming: it stays queued.
    const QString lateId = submitMany(*pool, shortFlow, 1, 1).first();
    QVERIFY(worker.waitForFinished(30000));
    out += worker.readAllStandardOutput();
    QCOMPARE(worker.exitStatus(), QProcess::NormalExit);
    QVERIFY2(worker.exitCode() == 0, out.constData());
    QVERIFY2(sinceTerm.elapsed() >= 3000, "the worker did not wait for the grace period");

    auto stateOf = [&](const QString& id) {
        return db.value(QStringLiteral("SELECT state FROM flow_runs WHERE id = ?"), {id}).toString();
    };
    QCOMPARE(stateOf(shortId), QStringLiteral("COMPLETED")); // finished within the grace period
    QCOMPARE(stateOf(longId), QStringLiteral("CANCELLED"));  // cancelled when it was over
    const QString why = db.value(QStringLiteral("SELECT message FROM state_history WHERE flow_run_id = ? AND "
                                                "task_run_id IS NULL AND state = 'CANCELLING'"),
                                 {longId})
                            .toString();
    QVERIFY2(why.contains(QStringLiteral("grace period")), qPrintable(why));
    QCOMPARE(stateOf(lateId), QStringLiteral("SCHEDULED"));
    QVERIFY(db.value(QStringLiteral("SELECT worker FROM flow_runs WHERE id = ?"), {lateId}).isNull());
    QCOMPARE(db.count(QStringLiteral(
                 "SELECT count(*) FROM flow_runs WHERE state IN ('RUNNING','PENDING','CANCELLING')")),
             qint64(0));
    QCOMPARE(db.count(QStringLiteral(
                 "SELECT count(*) FROM task_runs WHERE state IN ('RUNNING','PENDING','CANCELLING')")),
             qint64(0));
    QCOMPARE(db.count(QStringLiteral("SELECT count(*) FROM engines")), qint64(0)); // unregistered
    QVERIFY2(out.contains("unregistered"), out.constData());
}

void TestWorkers::cancelReachesWorkerWithinOneSecond()
{
    QFETCH(QString, backend);
    FLOWDECK_FRESH_DATABASE(url, backend);
    QTemporaryDir dir;
    dir.setAutoRemove(false); // kept for a failure; removed at the end
    auto pool = makePool(url, 1);
    runOnPool(*pool, [](QSqlDatabase& db) { schema::migrate(db); });
    const QString id
        = submitMany(*pool, R"({"name": "long", "tasks": [{"id": "s", "kind": "sleep", "seconds": 60}]})", 1,
                     1)
              .first();
    auto w = startWorker(url, QStringLiteral("c"), dir.path());
    Db db(url);
    QVERIFY(waitFor(
        [&] {
            return db.count(QStringLiteral("SELECT count(*) FROM task_runs WHERE state = 'RUNNING'")) == 1;
        },
        30000));
    const CliResult cancel
        = runCli({QStringLiteral("runs"), QStringLiteral("cancel"), id, QStringLiteral("--db"), url});
    const qint64 requestedBy = nowUs(); // the request was committed before the command exited
    QVERIFY2(cancel.exitCode == 0, qPrintable(cancel.err));
    QVERIFY(waitFor(
        [&] {
            return db.value(QStringLiteral("SELECT state FROM flow_runs WHERE id = ?"), {id}).toString()
                == QLatin1String("CANCELLED");
        },
        10000));
    const qint64 reachedAt
        = db.value(QStringLiteral("SELECT min(time) FROM state_history WHERE flow_run_id = ? AND "
                                  "task_run_id IS NULL AND state IN ('CANCELLING', 'CANCELLED')"),
                   {id})
              .toLongLong();
    qInfo("the worker applied the cancel request %.0f ms after 'runs cancel' exited",
          double(reachedAt - requestedBy) / 1000.0);
    QVERIFY2(reachedAt - requestedBy <= 1'000'000,
             qPrintable(QStringLiteral("%1 ms").arg((reachedAt - requestedBy) / 1000)));
    w->signal(SIGTERM);
    QVERIFY2(w->process->waitForFinished(15000), qPrintable(w->exitReport()));
    QVERIFY2(w->process->exitStatus() == QProcess::NormalExit && w->process->exitCode() == 0,
             qPrintable(w->exitReport()));
    QVERIFY2(w->out().contains(QStringLiteral("ended CANCELLED")), qPrintable(w->out()));
    dir.setAutoRemove(true);
}

//! A worker stopped while its half-second poll waits for the database exits 0 once the poll ends,
//! with nothing on stderr (under AddressSanitizer a coroutine left suspended reports a leak and
//! turns the exit code into 1). PostgreSQL only: there a lock makes the poll wait.
void TestWorkers::stopWhilePollWaitsForTheDatabase()
{
    FLOWDECK_FRESH_DATABASE(url, QStringLiteral("postgres"));
    QTemporaryDir dir;
    dir.setAutoRemove(false); // kept for a failure; removed at the end
    auto w = startWorker(url, QStringLiteral("p"), dir.path());
    QVERIFY(waitFor([&] { return w->out().contains(QStringLiteral("claiming up to")); }, 30000));
    // The lock is held on a connection of its own, in a transaction (Db prepares every statement,
    // and PostgreSQL cannot prepare BEGIN).
    const QString lockName = QStringLiteral("tst_workers_lock");
    QSqlDatabase locker = DatabaseUrl::parse(url, nullptr)->addConnection(lockName);
    QVERIFY(locker.open());
    auto unlock = qScopeGuard([&] {
        locker.commit();
        locker.close();
        locker = QSqlDatabase();
        QSqlDatabase::removeDatabase(lockName);
    });
    QVERIFY(locker.transaction());
    QVERIFY(QSqlQuery(locker).exec(QStringLiteral("LOCK TABLE concurrency_limits IN ACCESS EXCLUSIVE MODE")));
    Db watcher(url);
    // The poll reads the limits: it waits for the lock. Only this database's locks count: other tests
    // share the server.
    QVERIFY(waitFor(
        [&] {
            return watcher.count(QStringLiteral(
                       "SELECT count(*) FROM pg_locks l JOIN pg_database d ON d.oid = l.database "
                       "WHERE NOT l.granted AND d.datname = current_database() "
                       "AND l.relation = 'concurrency_limits'::regclass"))
                > 0;
        },
        10000));
    w->signal(SIGTERM);
    QVERIFY2(waitFor([&] { return w->out().contains(QStringLiteral("unregistered")); }, 15000),
             qPrintable(w->exitReport()));
    QVERIFY(locker.commit()); // the poll ends after the worker closed its session
    QVERIFY2(w->process->waitForFinished(15000), qPrintable(w->exitReport()));
    QVERIFY2(w->process->exitStatus() == QProcess::NormalExit && w->process->exitCode() == 0,
             qPrintable(w->exitReport()));
    QVERIFY2(w->err().isEmpty(), qPrintable(w->exitReport()));
    dir.setAutoRemove(true);
}

void TestWorkers::runThatCannotStartFailsAlone()
{
#if defined(__SANITIZE_ADDRESS__)
    QSKIP("an address-space limit and AddressSanitizer's shadow memory do not go together");
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
    QSKIP("an address-space limit and AddressSanitizer's shadow memory do not go together");
#endif
#endif
    QFETCH(QString, backend);
    FLOWDECK_FRESH_DATABASE(url, backend);
    auto setup = makePool(url, 1);
    runOnPool(*setup, [](QSqlDatabase& db) { schema::migrate(db); });
    // Queued straight through SQL, past submit's validation: the worker's own validation refuses it.
    const QString invalid = submitMany(
        *setup, R"({"name": "huge", "tasks": [{"id": "a", "kind": "noop", "map": 1000000000}]})", 1, 1)[0];
    // Valid (the maximum of task runs), but more memory than the worker may take: Engine::start throws
    // std::bad_alloc for it.
    const QString tooBig
        = submitMany(*setup, R"({"name": "big", "tasks": [{"id": "a", "kind": "noop", "map": 10000000}]})", 1,
                     10000000)[0];
    const QStringList good
        = submitMany(*setup, R"({"name": "hello", "tasks": [{"id": "t", "kind": "noop"}]})", 2, 1);

    QTemporaryDir logs;
    logs.setAutoRemove(false); // kept for a failure; removed at the end
    QProcess worker;
    worker.setStandardOutputFile(logs.filePath(QStringLiteral("w.out")));
    worker.setStandardErrorFile(logs.filePath(QStringLiteral("w.err")));
    worker.start(QStringLiteral("/bin/sh"),
                 {QStringLiteral("-c"), QStringLiteral("ulimit -v 1500000 && exec \"$0\" \"$@\""),
                  flowdeckBinary(), QStringLiteral("worker"), QStringLiteral("--db"), url,
                  QStringLiteral("--name"), QStringLiteral("capped"), QStringLiteral("--max-flow-runs"),
                  QStringLiteral("8")});
    Db db(url);
    QVERIFY(db.ok());
    const bool settled = waitFor(
        [&] {
            return db.count(
                       QStringLiteral("SELECT count(*) FROM flow_runs WHERE state IN %1").arg(kUnfinished))
                == 0;
        },
        30000);
    worker.terminate();
    worker.waitForFinished(15000);
    const QString err = WorkerProcess::readAll(logs.filePath(QStringLiteral("w.err")));
    QVERIFY2(settled, qPrintable(QStringLiteral("runs left unfinished; worker's stderr:\n") + err));
    for (const QString& id : good)
        QCOMPARE(db.value(QStringLiteral("SELECT state FROM flow_runs WHERE id = ?"), {id}).toString(),
                 QStringLiteral("COMPLETED"));
    QCOMPARE(db.value(QStringLiteral("SELECT state FROM flow_runs WHERE id = ?"), {invalid}).toString(),
             QStringLiteral("FAILED"));
    QVERIFY(db.value(QStringLiteral("SELECT message FROM flow_runs WHERE id = ?"), {invalid})
                .toString()
                .contains(QStringLiteral("invalid")));
    QCOMPARE(db.value(QStringLiteral("SELECT state FROM flow_runs WHERE id = ?"), {tooBig}).toString(),
             QStringLiteral("FAILED"));
    const QString message
        = db.value(QStringLiteral("SELECT message FROM flow_runs WHERE id = ?"), {tooBig}).toString();
    QVERIFY2(message.contains(QStringLiteral("cannot start"))
                 && message.contains(QStringLiteral("bad_alloc")),
             qPrintable(message));
    QVERIFY2(!err.contains(QStringLiteral("claiming flow runs failed")), qPrintable(err));
    logs.setAutoRemove(true);
}

QTEST_GUILESS_MAIN(TestWorkers)
#include "tst_workers.moc"
