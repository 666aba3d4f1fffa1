// Tag limits across processes: three `flowdeck run` processes share one database and a limit of 4;
// one is SIGKILLed mid-run. From the stored history, no more than 4 ran at once, the others finish,
// and the killed one's slots come back when their lease expires.
#include "run/engine.h"
#include "run/flowrun.h"
#include "session/enginelink.h"
#include "store/connectionpool.h"
#include "store/databaseurl.h"
#include "store/store.h"
#include "testutil.h"

#include <QCoreApplication>
#include <QDateTime>
#include <QElapsedTimer>
#include <QProcess>
#include <QSqlError>
#include <QSqlQuery>
#include <QTemporaryDir>
#include <QTest>

#include <chrono>
#include <csignal>
#include <map>
#include <optional>

using namespace flowdeck;
using namespace flowdeck::test;

namespace {

qint64 nowUs()
{
    return std::chrono::duration_cast<std::chrono::microseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
}

} // namespace

class TestCrossProcess : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void limitHoldsAcrossProcesses_data() { addBackendRows(); }
    void limitHoldsAcrossProcesses()
    {
        QFETCH(QString, backend);
        FLOWDECK_FRESH_DATABASE(url, backend);
        QTemporaryDir dir;
        auto write = [&](const QString& name, const QByteArray& json) {
            QFile f(dir.filePath(name));
            f.open(QIODevice::WriteOnly);
            f.write(json);
            return f.fileName();
        };
        const QString flow = write(
            QStringLiteral("shared.json"),
            R"({"name": "shared", "tasks": [{"id": "t", "kind": "sleep", "seconds": [0.2, 0.5], "map": 30, "tags": ["shared"]}]})");
        const QString hello = write(QStringLiteral("hello.json"),
                                    R"({"name": "hello", "tasks": [{"id": "n", "kind": "noop"}]})");
        QProcessEnvironment env = QProcessEnvironment::systemEnvironment();
        env.insert(QStringLiteral("FLOWDECK_SLOT_LEASE_S"), QStringLiteral("3"));
        {
            // Creates the schema; then the limit goes in as the CLI would write it.
            QProcess p;
            p.setProcessEnvironment(env);
            p.start(flowdeckBinary(), {QStringLiteral("run"), hello, QStringLiteral("--db"), url});
            QVERIFY(p.waitForFinished(30000));
            QCOMPARE(p.exitCode(), 0);
        }
        Db db(url);
        QVERIFY(db.ok());
        db.rows(QStringLiteral(
            "INSERT INTO concurrency_limits (tag, slot_limit, updated_at) VALUES ('shared', 4, 0)"));

        QList<QProcess*> children;
        for (int i = 0; i < 3; ++i) {
            auto* p = new QProcess(this);
            p->setProcessEnvironment(env);
            if (i > 0)
                p->setStandardOutputFile(QProcess::nullDevice()); // only the first one's lines are read
            p->start(flowdeckBinary(),
                     {QStringLiteral("run"), flow, QStringLiteral("--json"), QStringLiteral("--db"), url});
            QVERIFY(p->waitForStarted());
            children << p;
        }
        // Kill the first once a few of its task runs have been reported RUNNING.
        QByteArray firstOut;
        QElapsedTimer t;
        t.start();
        while (firstOut.count("\"state\":\"RUNNING\",\"task\":\"t\"") < 3 && t.elapsed() < 60000) {
            children[0]->waitForReadyRead(50);
            firstOut += children[0]->readAllStandardOutput();
        }
        QVERIFY2(children[0]->state() == QProcess::Running,
                 "the first process ended before it could be killed");
        ::kill(pid_t(children[0]->processId()), SIGKILL);
        const qint64 killedAtUs = nowUs();
        QVERIFY(children[0]->waitForFinished(10000));
        for (int i = 1; i < 3; ++i) {
            QVERIFY2(children[i]->waitForFinished(120000), "a surviving process did not finish");
            const QByteArray err = children[i]->readAllStandardError();
            QVERIFY2(children[i]->exitCode() == 0, err.right(2000).constData());
        }

        // The killed process's slots are free again within the lease of its last renewal, which came
        // before the kill (the survivors may have finished sooner; their slots went with their runs).
        const qint64 leaseEndUs = killedAtUs + 3'000'000;
        const qint64 leftOver
            = db.rows(QStringLiteral("SELECT count(*) FROM concurrency_slots WHERE lease_expires_at > ?"),
                      {std::max(nowUs(), leaseEndUs)})
                  .value(0)
                  .value(0)
                  .toLongLong();
        QCOMPARE(leftOver, qint64(0));

        // From the stored history: intervals of RUNNING, ended by the next transition (or the kill).
        const auto flows
            = db.rows(QStringLiteral("SELECT id, state FROM flow_runs WHERE flow_name = 'shared'"));
        QCOMPARE(flows.size(), 3);
        int completed = 0;
        for (const auto& f : flows)
            completed += f.value(1).toString() == QLatin1String("COMPLETED") ? 1 : 0;
        QCOMPARE(completed, 2);
        std::map<qint64, int> deltas;
        const auto history = db.rows(
            QStringLiteral("SELECT h.task_run_id, h.time, h.state FROM state_history h JOIN flow_runs f ON "
                           "f.id = h.flow_run_id WHERE f.flow_name = 'shared' AND h.task_run_id IS NOT "
                           "NULL ORDER BY h.task_run_id, h.time, h.id"));
        QString current;
        qint64 runningSince = -1;
        auto close = [&](qint64 end) {
            if (runningSince >= 0) {
                deltas[runningSince] += 1;
                deltas[end] -= 1;
            }
            runningSince = -1;
        };
        for (const auto& row : history) {
            if (row.value(0).toString() != current) {
                close(killedAtUs); // a run the killed process never finished
                current = row.value(0).toString();
            }
            const QString state = row.value(2).toString();
            if (state == QLatin1String("RUNNING"))
                runningSince = row.value(1).toLongLong();
            else if (state != QLatin1String("CANCELLING"))
                close(std::min(row.value(1).toLongLong(),
                               state == QLatin1String("CRASHED") ? killedAtUs : row.value(1).toLongLong()));
        }
        close(killedAtUs);
        int now = 0;
        int peak = 0;
        for (const auto& [time, delta] : deltas) {
            now += delta;
            peak = std::max(peak, now);
        }
        qInfo("%lld history rows, peak of %d task runs RUNNING at once across the three processes",
              qint64(history.size()), peak);
        QVERIFY2(peak <= 4, qPrintable(QStringLiteral("%1 ran at once").arg(peak)));
        QCOMPARE(peak, 4); // and the limit was used
        qDeleteAll(children);
    }

    void slotTakenWithItsStart_data() { addBackendRows(); }
    void slotTakenWithItsStart()
    {
        // The transaction that takes a run's slots also records its start (RUNNING / Retrying), so no
        // process ever sees a slot held in the database by a run that is not RUNNING there.
        QFETCH(QString, backend);
        FLOWDECK_FRESH_DATABASE(urlText, backend);
        QString error;
        const auto url = DatabaseUrl::parse(urlText, &error);
        QVERIFY2(url, qPrintable(error));
        Engine engine;
        ConnectionPool pool(*url);
        Store store(pool, engine.scheduler());
        auto drive = [](auto& task) {
            QElapsedTimer t;
            t.start();
            while (!task.isReady() && t.elapsed() < 30000)
                QCoreApplication::processEvents(QEventLoop::AllEvents | QEventLoop::WaitForMoreEvents, 20);
            QVERIFY(task.isReady());
        };
        auto opening = store.open();
        drive(opening);
        std::optional<EngineLink> link;
        link.emplace(store, engine);
        Db db(urlText);
        QVERIFY(db.ok());
        db.rows(QStringLiteral(
            "INSERT INTO concurrency_limits (tag, slot_limit, updated_at) VALUES ('x', 1, 0)"));
        // Another process holds the only slot.
        db.rows(QStringLiteral("INSERT INTO concurrency_slots (tag, task_run_id, holder, lease_expires_at) "
                               "VALUES ('x', 'elsewhere', 'other-engine', ?)"),
                {nowUs() + 60'000'000});
        auto refreshing = link->refreshLimits();
        drive(refreshing);
        const auto flow
            = parseFlow(R"({"name": "one-slot", "tasks": [{"id": "t", "kind": "noop", "tags": ["x"]}]})");
        QVERIFY(flow);
        FlowRun* run = engine.start(*flow);
        TaskRun* t = taskRun(run, QStringLiteral("t"));
        const QString id = t->id.toString();
        auto historyOf = [&](const QString& state) {
            return db
                .rows(QStringLiteral("SELECT count(*) FROM state_history WHERE task_run_id = ? AND name = ?"),
                      {id, state})
                .value(0)
                .value(0)
                .toInt();
        };
        QTRY_COMPARE_WITH_TIMEOUT(historyOf(QStringLiteral("AwaitingConcurrencySlot")), 1, 10000);
        QCOMPARE(historyOf(QStringLiteral("Running")), 0);
        // The other process lets go: the run starts, and its one RUNNING row came with the slot.
        db.rows(QStringLiteral("DELETE FROM concurrency_slots WHERE holder = 'other-engine'"));
        QVERIFY(waitForFlow(engine, run, 20000));
        QCOMPARE(toString(t->type), QStringLiteral("COMPLETED"));
        auto flushing = store.flush();
        drive(flushing);
        QCOMPARE(historyOf(QStringLiteral("Running")), 1);
        QCOMPARE(db.rows(QStringLiteral("SELECT count(*) FROM concurrency_slots")).value(0).value(0).toInt(),
                 0);
        // The flow run's counts per state followed the start written with the slot, too.
        QCOMPARE(
            db.rows(QStringLiteral("SELECT tr_pending, tr_scheduled, tr_running, tr_completed FROM flow_runs "
                                   "WHERE id = ?"),
                    {run->id.toString()})
                .value(0),
            (QVariantList{0, 0, 0, 1}));

        // The contract itself: once acquireSlots says yes, the slot and the start are both committed.
        const qint64 askedUs = nowUs();
        auto acquiring = store.acquireSlots(*t, {QStringLiteral("x")}, {StateName::Retrying, 2, t->type});
        drive(acquiring);
        const qint64 startedUs = QCoro::waitFor(acquiring);
        QVERIFY(startedUs >= askedUs); // taken inside the transaction, once the slot was secured
        QCOMPARE(db.rows(QStringLiteral("SELECT count(*) FROM concurrency_slots WHERE task_run_id = ?"), {id})
                     .value(0)
                     .value(0)
                     .toInt(),
                 1);
        QCOMPARE(historyOf(QStringLiteral("Retrying")), 1);
        QCOMPARE(db.rows(QStringLiteral(
                             "SELECT time FROM state_history WHERE task_run_id = ? AND name = 'Retrying'"),
                         {id})
                     .value(0)
                     .value(0)
                     .toLongLong(),
                 startedUs);
        QCOMPARE(db.rows(QStringLiteral("SELECT state, attempts FROM task_runs WHERE id = ?"), {id}).value(0),
                 (QVariantList{QStringLiteral("RUNNING"), 2}));
        // And when the limit is full, nothing is written at all.
        const auto second = parseFlow(R"({"name": "full", "tasks": [{"id": "u", "kind": "noop"}]})");
        FlowRun* other = engine.start(*second);
        QVERIFY(waitForFlow(engine, other, 10000));
        TaskRun* u = taskRun(other, QStringLiteral("u"));
        auto refused = store.acquireSlots(*u, {QStringLiteral("x")}, {StateName::Retrying, 2, u->type});
        drive(refused);
        QCOMPARE(QCoro::waitFor(refused), qint64(0));
        QCOMPARE(
            db.rows(QStringLiteral(
                        "SELECT count(*) FROM state_history WHERE task_run_id = ? AND name = 'Retrying'"),
                    {u->id.toString()})
                .value(0)
                .value(0)
                .toInt(),
            0);
        link.reset();
        auto closing = store.close();
        drive(closing);
    }
};

QTEST_GUILESS_MAIN(TestCrossProcess)
#include "tst_crossprocess.moc"
