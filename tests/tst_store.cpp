// The store's write path: group commit, durability before a task run moves on, recoverable pool
// timeouts, bounded logs, stalls, and crash recovery; on SQLite and on PostgreSQL.
#include "flow/taskkind.h"
#include "run/engine.h"
#include "run/flowrun.h"
#include "run/taskcontext.h"
#include "session/enginelink.h"
#include "store/batchwriter.h"
#include "store/connectionpool.h"
#include "store/databaseurl.h"
#include "store/schema.h"
#include "store/store.h"
#include "testutil.h"

#include <QCoro/QCoroTask>
#include <QElapsedTimer>
#include <QFileInfo>
#include <QJsonDocument>
#include <QJsonObject>
#include <QProcess>
#include <QSet>
#include <QSqlError>
#include <QSqlQuery>
#include <QSqlRecord>
#include <QTemporaryDir>
#include <QTest>
#include <QThread>

#include <atomic>
#include <csignal>

using namespace flowdeck;
using namespace flowdeck::test;

namespace {

qint64 scalar(const QString& url, const QString& sql, const QVariantList& binds = {})
{
    return query(url, sql, binds).value(0).value(0).toLongLong();
}

//! Reads, from its own connection on a pool thread, the stored state of its own task run (or of
//! the run named in "upstream"): proves what was durable when the task's code started.
class ProbeKind final : public TaskKind {
public:
    static QString url;
    QString name() const override { return QStringLiteral("test_probe"); }
    QString summary() const override { return QStringLiteral("reads its stored state"); }
    QList<FieldSpec> fields() const override
    {
        FieldSpec upstream;
        upstream.name = QStringLiteral("upstream");
        upstream.type = FieldType::String;
        return {upstream};
    }
    QCoro::Task<TaskOutcome> run(TaskContext& ctx) const override
    {
        QString sql = QStringLiteral("SELECT state FROM task_runs WHERE id = ?");
        QString id = ctx.run().id.toString();
        const QString upstream = ctx.config().value(QStringLiteral("upstream")).toString();
        if (!upstream.isEmpty()) {
            sql = QStringLiteral("SELECT state FROM task_runs WHERE flow_run_id = ? AND task = ?");
            id = ctx.run().flowRun->id.toString();
        }
        const QString u = url;
        auto reading = ctx.runBlocking([u, sql, id, upstream](const CancelToken&) {
            QVariantList binds{id};
            if (!upstream.isEmpty())
                binds << upstream;
            return query(u, sql, binds).value(0).value(0).toString();
        });
        const QString state = co_await reading;
        co_return TaskOutcome::success(state);
    }
};
QString ProbeKind::url;

struct Harness {
    explicit Harness(const QString& urlText, const PoolOptions& options = {})
    {
        QString error;
        url = *DatabaseUrl::parse(urlText, &error);
        pool = std::make_unique<ConnectionPool>(url, options);
        store = std::make_unique<Store>(*pool, engine.scheduler());
        auto opening = store->open();
        recovery = finish(opening);
        link = std::make_unique<EngineLink>(*store, engine);
        engine.addObserver(&recorded);
    }
    ~Harness()
    {
        engine.removeObserver(&recorded);
        link.reset();
        store.reset();
        pool.reset();
    }
    FlowRun* runToEnd(const QByteArray& json, int timeoutMs = 60000)
    {
        const auto flow = parseFlow(json);
        if (!flow)
            return nullptr;
        FlowRun* run = engine.start(*flow);
        if (!waitForFlow(engine, run, timeoutMs))
            return nullptr;
        auto flushing = store->flush();
        finish(flushing);
        return run;
    }
    DatabaseUrl url;
    Engine engine;
    std::unique_ptr<ConnectionPool> pool;
    std::unique_ptr<Store> store;
    std::unique_ptr<EngineLink> link;
    RecordingObserver recorded;
    RecoveryReport recovery;
};

} // namespace

class TestStore : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void initTestCase() { TaskKindRegistry::instance().add(std::make_unique<ProbeKind>()); }

    void storesEveryTransitionInBatches_data() { addBackendRows(); }
    void storesEveryTransitionInBatches()
    {
        QFETCH(QString, backend);
        FLOWDECK_FRESH_DATABASE(url, backend);
        Harness h(url);
        FlowRun* run = h.runToEnd(R"({"name": "many", "tasks": [
            {"id": "a", "kind": "noop", "map": 2000},
            {"id": "b", "kind": "fail", "message": "boom", "retries": 1, "retry_delay_s": 0.01},
            {"id": "c", "kind": "noop", "depends_on": ["b"]}]})");
        QVERIFY(run);
        QCOMPARE(toString(run->type), QStringLiteral("FAILED"));
        const qint64 seen = qint64(h.recorded.transitions.size());
        QCOMPARE(scalar(url, QStringLiteral("SELECT count(*) FROM state_history WHERE flow_run_id = ?"),
                        {run->id.toString()}),
                 seen);
        QCOMPARE(scalar(url, QStringLiteral("SELECT count(*) FROM task_runs WHERE flow_run_id = ?"),
                        {run->id.toString()}),
                 qint64(2002));
        QCOMPARE(scalar(url,
                        QStringLiteral(
                            "SELECT count(*) FROM task_runs WHERE flow_run_id = ? AND state = 'COMPLETED'"),
                        {run->id.toString()}),
                 qint64(2000));
        const auto flowRow = query(
            url, QStringLiteral("SELECT state, state_name, total_task_runs FROM flow_runs WHERE id = ?"),
            {run->id.toString()});
        QCOMPARE(flowRow.value(0).value(0).toString(), QStringLiteral("FAILED"));
        QCOMPARE(flowRow.value(0).value(2).toLongLong(), qint64(2002));
        // c never ran: its stored history says why.
        const auto c = query(
            url,
            QStringLiteral("SELECT state_name, message FROM task_runs WHERE flow_run_id = ? AND task = 'c'"),
            {run->id.toString()});
        QCOMPARE(c.value(0).value(0).toString(), QStringLiteral("UpstreamFailed"));
        // b's history holds its retry, in order.
        const auto b = query(
            url,
            QStringLiteral("SELECT h.name FROM state_history h JOIN task_runs t ON t.id = h.task_run_id "
                           "WHERE t.flow_run_id = ? AND t.task = 'b' ORDER BY h.id"),
            {run->id.toString()});
        QStringList names;
        for (const auto& row : b)
            names << row.value(0).toString();
        QCOMPARE(names,
                 (QStringList{QStringLiteral("Pending"), QStringLiteral("Running"),
                              QStringLiteral("AwaitingRetry"), QStringLiteral("Retrying"),
                              QStringLiteral("Failed")}));
        // Group commit: far fewer transactions than transitions.
        const StoreMetrics m = h.store->metrics();
        qInfo("%lld transitions in %llu batches", seen, m.batches);
        QVERIFY(m.batches > 0);
        QVERIFY2(m.batches * 20 < quint64(seen), qPrintable(QStringLiteral("%1 batches").arg(m.batches)));
        QCOMPARE(m.transitionsWritten, quint64(seen));
    }

    void boundedBatchesCarryEveryTransition_data() { addBackendRows(); }
    void boundedBatchesCarryEveryTransition()
    {
        QFETCH(QString, backend);
        FLOWDECK_FRESH_DATABASE(url, backend);
        Harness h(url);
        // Batches are sealed at 50 transitions as they fill up; each is written whole, in order.
        h.store->setMaxBatchTransitions(50);
        FlowRun* run = h.runToEnd(R"({"name": "sealed", "tasks": [
            {"id": "a", "kind": "noop", "map": 600},
            {"id": "b", "kind": "fail", "message": "boom"}]})");
        QVERIFY(run);
        const qint64 seen = qint64(h.recorded.transitions.size());
        QVERIFY(seen > 1800);
        QCOMPARE(scalar(url, QStringLiteral("SELECT count(*) FROM state_history WHERE flow_run_id = ?"),
                        {run->id.toString()}),
                 seen);
        QCOMPARE(scalar(url,
                        QStringLiteral(
                            "SELECT count(*) FROM task_runs WHERE flow_run_id = ? AND state = 'COMPLETED' "
                            "AND map_index IS NOT NULL AND state_name = 'Completed'"),
                        {run->id.toString()}),
                 qint64(600));
        const auto b = query(url,
                             QStringLiteral("SELECT t.state_name, h.name, h.message FROM task_runs t JOIN "
                                            "state_history h ON h.task_run_id = t.id WHERE t.flow_run_id = ? "
                                            "AND t.task = 'b' ORDER BY h.id"),
                             {run->id.toString()});
        QCOMPARE(b.size(), 3);
        QCOMPARE(b.value(0).value(0).toString(), QStringLiteral("Failed"));
        QVERIFY(b.value(0).value(2).isNull()); // no message: NULL
        QCOMPARE(b.value(2).value(1).toString(), QStringLiteral("Failed"));
        QCOMPARE(b.value(2).value(2).toString(), QStringLiteral("boom"));
        const StoreMetrics m = h.store->metrics();
        QCOMPARE(m.transitionsWritten, quint64(seen));
        QVERIFY2(m.batches >= quint64(seen / 50), qPrintable(QString::number(m.batches)));
        QCOMPARE(m.pendingTransitions, quint64(0));
    }

    /**
     * On PostgreSQL a task run's later transitions are HOT updates (schema version 12): the new row
     * version goes on the old one's page and no index entry is written. Read from the server's
     * statistics, which a connection reports at the latest when it closes.
     */
    void transitionsAreHotUpdatesOnPostgres()
    {
        FLOWDECK_FRESH_DATABASE(url, QStringLiteral("postgres"));
        constexpr int Runs = 300;
        {
            Harness h(url);
            // A transaction per transition: each no-op run is inserted (Pending), then updated twice.
            h.store->setMaxBatchTransitions(1);
            FlowRun* run = h.runToEnd(QStringLiteral(R"({"name": "hot", "tasks": [
                {"id": "a", "kind": "noop", "map": %1}]})")
                                          .arg(Runs)
                                          .toUtf8());
            QVERIFY(run);
            QCOMPARE(toString(run->type), QStringLiteral("COMPLETED"));
        }
        const QString stats = QStringLiteral(
            "SELECT n_tup_upd, n_tup_hot_upd FROM pg_stat_user_tables WHERE relname = 'task_runs'");
        QTRY_VERIFY_WITH_TIMEOUT(query(url, stats).value(0).value(0).toLongLong() >= 2 * Runs, 30000);
        const QVariantList row = query(url, stats).value(0);
        const qint64 updates = row.value(0).toLongLong();
        const qint64 hot = row.value(1).toLongLong();
        qInfo("task_runs: %lld updates, %lld of them HOT", updates, hot);
        QVERIFY2(hot * 10 >= updates * 9, qPrintable(QStringLiteral("%1 of %2 HOT").arg(hot).arg(updates)));
    }

    /**
     * On PostgreSQL a batch finds the task runs it updates by their key, not by a hash join over all
     * of them (which PostgreSQL prefers for a few thousand rows, and whose cost grows with the table).
     * Two batches on one connection: thousands of new runs, then a transition of each; the server's
     * statistics then show no task run read by a sequential scan.
     */
    void batchUpdatesFindTaskRunsByKey()
    {
        FLOWDECK_FRESH_DATABASE(url, QStringLiteral("postgres"));
        constexpr int Runs = 3000;
        ConnectionPool pool(*DatabaseUrl::parse(url, nullptr), PoolOptions{1, 0, 30.0, 3600});
        const RunId flowRunId = RunId::generate();
        std::vector<RunId> ids(Runs);
        for (RunId& id : ids)
            id = RunId::generate();
        const QString task = QStringLiteral("a");
        const auto transition = [&](const RunId& taskRunId, int index, bool isNew, StateName name) {
            Store::TransitionRow row{};
            row.timeUs = 1000 + index;
            row.flowRunId = flowRunId;
            row.taskRunId = taskRunId;
            row.task = taskRunId.isNull() ? QString() : task;
            row.mapIndex = taskRunId.isNull() ? -1 : index;
            row.attempts = 1;
            row.isNew = isNew;
            row.from = StateType::Pending;
            row.type = typeOf(name);
            row.name = name;
            row.createdUs = 1000;
            return row;
        };
        Store::Batch created;
        created.flows.push_back({flowRunId, QStringLiteral("keyed"), {}, {}, 1, Runs, 1000, {}, {}, {}});
        created.transitions.push_back(transition({}, 0, true, StateName::Running));
        Store::Batch moved;
        for (int i = 0; i < Runs; ++i) {
            created.transitions.push_back(transition(ids[size_t(i)], i, true, StateName::Pending));
            moved.transitions.push_back(transition(ids[size_t(i)], i, false, StateName::Running));
        }
        runOnPool(pool, [&](QSqlDatabase& db) {
            schema::migrate(db);
            const QString engineId = QStringLiteral("engine-1");
            const QString host = QStringLiteral("box");
            BatchWriter(db, created, engineId, host).write();
            BatchWriter(db, moved, engineId, host).write();
            // Reported when this connection next goes idle (PostgreSQL 15 and later).
            QSqlQuery flush(db);
            flush.exec(QStringLiteral("SELECT pg_stat_force_next_flush()"));
        });
        const QString stats = QStringLiteral(
            "SELECT n_tup_upd, seq_tup_read FROM pg_stat_user_tables WHERE relname = 'task_runs'");
        QTRY_VERIFY_WITH_TIMEOUT(query(url, stats).value(0).value(0).toLongLong() >= Runs, 30000);
        const qint64 scanned = query(url, stats).value(0).value(1).toLongLong();
        QVERIFY2(scanned < Runs,
                 qPrintable(QStringLiteral("%1 task runs read by sequential scans").arg(scanned)));
        // (Read last: this count reads them all.)
        QCOMPARE(scalar(url, QStringLiteral("SELECT count(*) FROM task_runs WHERE state_name = 'Running'")),
                 qint64(Runs));
    }

    void walIsCheckpointedBesideTheWriter()
    {
        FLOWDECK_FRESH_DATABASE(url, QStringLiteral("sqlite"));
        Harness h(url);
        FlowRun* run = h.runToEnd(R"({"name": "big", "tasks": [{"id": "a", "kind": "noop", "map": 5000}]})");
        QVERIFY(run);
        QCOMPARE(toString(run->type), QStringLiteral("COMPLETED"));
        // 15k transitions: the WAL is copied into the database file by the store's checkpoint thread
        // (the writer's own commits no longer do it at SQLite's default 1000 pages).
        QTRY_VERIFY_WITH_TIMEOUT(h.store->metrics().walCheckpoints > 0, 10000);
        QVERIFY2(QFileInfo(h.url.path).size() > 2 * 1024 * 1024,
                 qPrintable(QString::number(QFileInfo(h.url.path).size())));
        QCOMPARE(query(url, QStringLiteral("PRAGMA integrity_check")).value(0).value(0).toString(),
                 QStringLiteral("ok"));
        QCOMPARE(scalar(url, QStringLiteral("SELECT count(*) FROM state_history WHERE flow_run_id = ?"),
                        {run->id.toString()}),
                 qint64(h.recorded.transitions.size()));
    }

    void durableBeforeMovingOn_data() { addBackendRows(); }
    void durableBeforeMovingOn()
    {
        QFETCH(QString, backend);
        FLOWDECK_FRESH_DATABASE(url, backend);
        Harness h(url);
        ProbeKind::url = url;
        // Each probe reads the database from another connection when its code starts.
        FlowRun* run = h.runToEnd(R"({"name": "probe", "tasks": [
            {"id": "self", "kind": "test_probe", "map": 20},
            {"id": "after", "kind": "test_probe", "upstream": "first", "depends_on": ["first"]},
            {"id": "first", "kind": "noop"}]})");
        QVERIFY(run);
        QCOMPARE(toString(run->type), QStringLiteral("COMPLETED"));
        // What each probe saw is its result, which lives in the store (the engine keeps results only
        // while a downstream task reads them).
        const auto seen = [&](const QString& task, int index) {
            return query(url,
                         QStringLiteral("SELECT result FROM task_runs WHERE flow_run_id = ? AND task = ? AND "
                                        "COALESCE(map_index, -1) = ?"),
                         {run->id.toString(), task, index})
                .value(0)
                .value(0)
                .toString();
        };
        for (int i = 0; i < 20; ++i) {
            // Its RUNNING state was on disk before its code ran.
            QCOMPARE(seen(QStringLiteral("self"), i), QStringLiteral("\"RUNNING\""));
        }
        // The upstream's COMPLETED was on disk before the downstream started.
        QCOMPARE(seen(QStringLiteral("after"), -1), QStringLiteral("\"COMPLETED\""));
    }

    void poolTimeoutsAreRetried_data() { addBackendRows(); }
    void poolTimeoutsAreRetried()
    {
        QFETCH(QString, backend);
        FLOWDECK_FRESH_DATABASE(url, backend);
        // One connection, no overflow, a 50 ms timeout, and a job that keeps grabbing it for 120 ms.
        Harness h(url, PoolOptions{1, 0, 0.05, 3600});
        std::atomic<bool> stop{false};
        int hogs = 0;
        std::function<void()> hog = [&] {
            if (stop)
                return;
            ++hogs;
            auto holding = h.pool->run([](QSqlDatabase&) { QThread::msleep(120); });
            auto chained = [](QCoro::Task<> t, std::function<void()>* again) -> QCoro::Task<> {
                try {
                    co_await t;
                } catch (...) {
                }
                (*again)();
            };
            auto running = chained(std::move(holding), &hog);
        };
        hog();
        hog();
        const auto flow
            = parseFlow(R"({"name": "contended", "tasks": [{"id": "a", "kind": "noop", "map": 300}]})");
        QVERIFY(flow);
        FlowRun* run = h.engine.start(*flow);
        QVERIFY(waitForFlow(h.engine, run, 60000));
        stop = true;
        auto flushing = h.store->flush();
        finish(flushing);
        QTest::qWait(300); // the last hog returns its connection
        const StoreMetrics m = h.store->metrics();
        qInfo("%llu pool timeouts, %llu retries, %d hogs", m.poolTimeouts, m.retries, hogs);
        QVERIFY(m.poolTimeouts > 0);
        QVERIFY(h.pool->metrics().timeouts >= m.poolTimeouts);
        QCOMPARE(toString(run->type), QStringLiteral("COMPLETED"));
        QCOMPARE(scalar(url, QStringLiteral("SELECT count(*) FROM state_history WHERE flow_run_id = ?"),
                        {run->id.toString()}),
                 qint64(h.recorded.transitions.size()));
    }

    void seedScenarioAtPrefectDefaults_data()
    {
        QTest::addColumn<QString>("backend");
        QTest::addColumn<QString>("kind");
        for (const char* backend : {"sqlite", "postgres"}) {
            for (const char* kind : {"loop_block", "blocking"})
                QTest::addRow("%s-%s", backend, kind)
                    << QString::fromLatin1(backend) << QString::fromLatin1(kind);
        }
    }
    void seedScenarioAtPrefectDefaults()
    {
        QFETCH(QString, backend);
        QFETCH(QString, kind);
        FLOWDECK_FRESH_DATABASE(url, backend);
        Harness h(url); // pool size 5, overflow 10, timeout 30 s
        // The seed at reduced scale: 60 tasks, random sleeps, then 70% block 0.1 s (on the loop when broken).
        const QByteArray json = QStringLiteral(R"({"name": "seed-%1", "seed": 3, "tasks": [
            {"id": "wait", "kind": "sleep", "seconds": [0.05, 0.5], "map": 60},
            {"id": "work", "kind": "%1", "seconds": 0.1, "chance": 0.7, "map_over": "wait"}]})")
                                    .arg(kind)
                                    .toUtf8();
        FlowRun* run = h.runToEnd(json, 120000);
        QVERIFY(run);
        QCOMPARE(toString(run->type), QStringLiteral("COMPLETED"));
        QCOMPARE(h.pool->metrics().timeouts, quint64(0));
        QCOMPARE(h.store->metrics().poolTimeouts, quint64(0));
        QCOMPARE(scalar(url, QStringLiteral("SELECT count(*) FROM state_history WHERE flow_run_id = ?"),
                        {run->id.toString()}),
                 qint64(h.recorded.transitions.size()));
    }

    void stallsAreStored_data() { addBackendRows(); }
    void stallsAreStored()
    {
        QFETCH(QString, backend);
        FLOWDECK_FRESH_DATABASE(url, backend);
        Harness h(url);
        FlowRun* run = h.runToEnd(
            R"({"name": "stall", "tasks": [{"id": "b", "kind": "loop_block", "seconds": 0.25}]})");
        QVERIFY(run);
        QTRY_VERIFY_WITH_TIMEOUT(h.store->metrics().pendingTransitions == 0, 5000);
        auto flushing = h.store->flush();
        finish(flushing);
        QTRY_COMPARE_WITH_TIMEOUT(scalar(url,
                                         QStringLiteral("SELECT count(*) FROM stalls WHERE flow_run_id = ?"),
                                         {run->id.toString()}),
                                  qint64(1), 5000);
        const auto row = query(
            url, QStringLiteral("SELECT task, duration_us, task_run_id FROM stalls WHERE flow_run_id = ?"),
            {run->id.toString()});
        QCOMPARE(row.value(0).value(0).toString(), QStringLiteral("b"));
        QVERIFY(row.value(0).value(1).toLongLong() >= 200'000);
        QCOMPARE(row.value(0).value(2).toString(), taskRun(run, QStringLiteral("b"))->id.toString());
        QCOMPARE(
            scalar(url,
                   QStringLiteral("SELECT stall_count FROM task_runs WHERE task = 'b' AND flow_run_id = ?"),
                   {run->id.toString()}),
            qint64(1));
        QCOMPARE(scalar(url, QStringLiteral("SELECT stall_count FROM flow_runs WHERE id = ?"),
                        {run->id.toString()}),
                 qint64(1));
    }

    void logOverflowIsReported()
    {
        FLOWDECK_FRESH_DATABASE(url, QStringLiteral("sqlite"));
        Harness h(url);
        h.store->setLogBufferLimit(10);
        FlowRun* run = h.runToEnd(R"({"name": "chatty", "tasks": [
            {"id": "s", "kind": "shell", "command": ["sh", "-c", "for i in $(seq 1 500); do echo line $i; done"]}]})");
        QVERIFY(run);
        QCOMPARE(toString(run->type), QStringLiteral("COMPLETED"));
        const StoreMetrics m = h.store->metrics();
        const qint64 stored = scalar(url, QStringLiteral("SELECT count(*) FROM logs WHERE flow_run_id = ?"),
                                     {run->id.toString()});
        qInfo("%lld log lines stored, %llu dropped", stored, m.logsDropped);
        // Every line is either stored or counted as dropped, never lost silently.
        QCOMPARE(quint64(stored) + m.logsDropped, quint64(500));
        QVERIFY(m.logsDropped > 0);
    }

    void recoversAfterSigkill_data() { addBackendRows(); }
    void recoversAfterSigkill()
    {
        QFETCH(QString, backend);
        FLOWDECK_FRESH_DATABASE(url, backend);
        QTemporaryDir dir;
        const QString flowPath = dir.filePath(QStringLiteral("big.json"));
        QFile file(flowPath);
        QVERIFY(file.open(QIODevice::WriteOnly));
        file.write(
            R"({"name": "big", "seed": 1, "tasks": [{"id": "t", "kind": "sleep", "seconds": [0, 3], "map": 10000}]})");
        file.close();

        QProcess child;
        child.setProgram(flowdeckBinary());
        child.setArguments(
            {QStringLiteral("run"), flowPath, QStringLiteral("--json"), QStringLiteral("--db"), url});
        child.setProcessChannelMode(QProcess::SeparateChannels);
        child.start();
        QVERIFY(child.waitForStarted());
        QByteArray out;
        QElapsedTimer timer;
        timer.start();
        // Kill it once a few thousand transitions have been reported, in the middle of the run.
        while (out.count('\n') < 4000 && timer.elapsed() < 60000 && child.state() == QProcess::Running) {
            child.waitForReadyRead(100);
            out += child.readAllStandardOutput();
        }
        QVERIFY2(child.state() == QProcess::Running, child.readAllStandardError().constData());
        ::kill(pid_t(child.processId()), SIGKILL);
        QVERIFY(child.waitForFinished(10000));
        out += child.readAllStandardOutput();

        // Every complete line the child printed.
        QSet<QString> printed;
        QString flowRunId;
        const QList<QByteArray> lines = out.split('\n');
        for (const QByteArray& line : lines) {
            const QJsonObject o = QJsonDocument::fromJson(line).object();
            if (o.value(QStringLiteral("event")).toString() != QLatin1String("transition"))
                continue;
            flowRunId = o.value(QStringLiteral("flow_run_id")).toString();
            printed.insert(o.value(QStringLiteral("task_run_id")).toString() + u'/'
                           + o.value(QStringLiteral("name")).toString());
        }
        QVERIFY(printed.size() > 1000);

        // Opening the database again recovers it.
        Harness h(url);
        QCOMPARE(h.recovery.crashedFlowRuns, 1);
        QVERIFY(h.recovery.crashedTaskRuns > 0);
        if (backend == QLatin1String("sqlite"))
            QCOMPARE(query(url, QStringLiteral("PRAGMA integrity_check")).value(0).value(0).toString(),
                     QStringLiteral("ok"));
        QSet<QString> stored;
        for (const auto& row :
             query(url, QStringLiteral("SELECT task_run_id, name FROM state_history WHERE flow_run_id = ?"),
                   {flowRunId})) {
            stored.insert(row.value(0).toString() + u'/' + row.value(1).toString());
        }
        int missing = 0;
        for (const QString& p : std::as_const(printed))
            missing += stored.contains(p) ? 0 : 1;
        qInfo("%lld transitions printed before SIGKILL, %lld stored, %d printed but missing",
              qint64(printed.size()), qint64(stored.size()), missing);
        QCOMPARE(missing, 0);
        const auto flowRow
            = query(url, QStringLiteral("SELECT state, message FROM flow_runs WHERE id = ?"), {flowRunId});
        QCOMPARE(flowRow.value(0).value(0).toString(), QStringLiteral("CRASHED"));
        QVERIFY(flowRow.value(0).value(1).toString().startsWith(
            QStringLiteral("the engine process exited while this run was")));
        QCOMPARE(
            scalar(url,
                   QStringLiteral("SELECT count(*) FROM task_runs WHERE flow_run_id = ? AND state NOT IN "
                                  "('COMPLETED','FAILED','CANCELLED','CRASHED')"),
                   {flowRunId}),
            qint64(0));
    }
};

QTEST_GUILESS_MAIN(TestStore)
#include "tst_store.moc"
