// Scale-out: real `flowdeck worker` processes on flow runs queued in the database, on SQLite and on
// the PostgreSQL server in FLOWDECK_TEST_PG (mandatory in CI). Three workers on 50 tagged flow runs
// with one SIGKILLed, a worker declared offline by its stale heartbeat, graceful shutdown,
// cancellation, and a run that cannot start. The queue itself is in tst_workerqueue.
#include "cliutil.h"
#include "run/clock.h"
#include "store/connectionpool.h"
#include "store/databaseurl.h"
#include "store/schema.h"
#include "testutil.h"
#include "workerutil.h"

#include <QProcess>
#include <QScopeGuard>
#include <QSet>
#include <QSqlQuery>
#include <QTemporaryDir>
#include <QTest>

#include <csignal>
#include <map>
#include <memory>
#include <vector>

using namespace flowdeck;
using namespace flowdeck::test;

namespace {

const QString kUnfinished = QStringLiteral("('SCHEDULED','PENDING','RUNNING','PAUSED','CANCELLING')");

} // namespace

class TestWorkers : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void threeWorkersOneKilled_data() { addBackendRows(); }
    void threeWorkersOneKilled();
    void staleHeartbeatMarksWorkerOffline_data() { addBackendRows(); }
    void staleHeartbeatMarksWorkerOffline();
    void gracefulShutdown_data() { addBackendRows(); }
    void gracefulShutdown();
    void cancelReachesWorkerWithinOneSecond_data() { addBackendRows(); }
    void cancelReachesWorkerWithinOneSecond();
    void stopWhilePollWaitsForTheDatabase();
    void runThatCannotStartFailsAlone_data() { addBackendRows(); }
    void runThatCannotStartFailsAlone();
};

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
    const qint64 killedAtUs = wallUs();
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
    const qint64 open = wallUs();
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
    const qint64 stoppedAtUs = wallUs();
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
    const qint64 requestedBy = wallUs(); // the request was committed before the command exited
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
