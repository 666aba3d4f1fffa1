// Session: the one way in. Opens a database from a URL, connects its store to an engine (runs become
// durable; limits and cancel requests written by other connections reach the engine through its
// poll) and closes it; a failure gives one message and leaves nothing open. Real SQLite files and,
// where FLOWDECK_TEST_PG is set, real PostgreSQL.
#include "faultutil.h"
#include "run/concurrencylimiter.h"
#include "run/engine.h"
#include "run/flowrun.h"
#include "run/scheduler.h"
#include "session/session.h"
#include "store/store.h"
#include "testutil.h"

#include <QDir>
#include <QElapsedTimer>
#include <QPointer>
#include <QScopeGuard>
#include <QSqlQuery>
#include <QTest>
#include <QTimer>

#include <atomic>
#include <chrono>
#include <memory>
#include <thread>

using namespace flowdeck;
using namespace flowdeck::test;

namespace {

QCoro::Task<RecoveryReport> openWith(Session& session, const QString& url, Engine* engine)
{
    auto opening = session.open(url, {.engine = engine, .registerEngine = false, .pool = {}});
    co_return co_await opening;
}

//! Holds the pool's connection until \a release is set (bounded); \a outcome says how the await ended.
QCoro::Task<> holdConnection(ConnectionPool* pool, std::atomic<bool>* holding, std::atomic<bool>* release,
                             QString* outcome)
{
    try {
        auto holdingTask = pool->run([holding, release](QSqlDatabase&) {
            *holding = true;
            const auto end = std::chrono::steady_clock::now() + std::chrono::seconds(30);
            while (!*release && std::chrono::steady_clock::now() < end)
                std::this_thread::sleep_for(std::chrono::milliseconds(1));
        });
        co_await holdingTask;
        *outcome = QStringLiteral("resumed");
    } catch (const PoolClosed&) {
        *outcome = QStringLiteral("PoolClosed");
    }
}

} // namespace

class TestSession : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void invalidUrlOpensNothing()
    {
        Scheduler scheduler;
        Session session(scheduler);
        auto opening = session.open(QStringLiteral("postgresql://u@h:0/d"));
        const QString error = sessionErrorOf(opening);
        QVERIFY2(error.startsWith(QLatin1String("invalid database URL \"postgresql://u@h:0/d\"")),
                 qPrintable(error));
        QVERIFY(!session.isOpen());
        QVERIFY(!session.store());
        QVERIFY(!session.pool());
    }

    void unreachableDatabaseOpensNothing()
    {
        Engine engine;
        Session session(engine.scheduler());
        const QString path = QDir(freshSqlitePath()).filePath(QStringLiteral("no/such/folder/x.db"));
        auto opening = openWith(session, path, &engine);
        const QString error = sessionErrorOf(opening);
        QVERIFY2(error.startsWith(QStringLiteral("cannot open the database %1: ").arg(path)),
                 qPrintable(error));
        QVERIFY(!session.isOpen());
        QVERIFY(!session.store());
        QVERIFY(!engine.durabilitySink());
        QVERIFY(!engine.slotSink());
    }

    void openDoesNotBlockTheLoop()
    {
        Scheduler scheduler;
        Session session(scheduler);
        int ticks = 0;
        QTimer ticker;
        ticker.setInterval(1);
        connect(&ticker, &QTimer::timeout, this, [&ticks] { ++ticks; });
        ticker.start();
        auto opening = session.open(freshSqlitePath());
        finish(opening);
        QVERIFY(session.isOpen());
        QVERIFY(ticks > 0);
    }

    void openAttachMakesRunsDurable_data() { addBackendRows(); }
    void openAttachMakesRunsDurable()
    {
        QFETCH(QString, backend);
        FLOWDECK_FRESH_DATABASE(url, backend);
        Engine engine;
        Session session(engine.scheduler());
        auto opening = openWith(session, url, &engine);
        finish(opening);
        QVERIFY(session.isOpen());
        QCOMPARE(engine.durabilitySink(), static_cast<DurabilitySink*>(session.store()));
        QCOMPARE(engine.slotSink(), static_cast<SlotSink*>(session.store()));
        Db db(url);
        QVERIFY(db.ok());
        QCOMPARE(db.count(QStringLiteral("SELECT count(*) FROM engines WHERE id = ?"),
                          {session.store()->engineId()}),
                 1);

        const auto flow = parseFlow(R"({"name": "durable", "tasks": [{"id": "a", "kind": "noop"},
            {"id": "b", "kind": "noop", "depends_on": ["a"]}]})");
        QVERIFY(flow);
        FlowRun* run = engine.start(*flow);
        QVERIFY(waitForFlow(engine, run));
        // Finished means committed: the rows are there without a flush.
        QCOMPARE(db.value(QStringLiteral("SELECT state FROM flow_runs WHERE id = ?"), {run->id.toString()})
                     .toString(),
                 QStringLiteral("COMPLETED"));
        QCOMPARE(db.count(QStringLiteral("SELECT count(*) FROM task_runs WHERE flow_run_id = ? AND state = "
                                         "'COMPLETED'"),
                          {run->id.toString()}),
                 2);
        auto closing = session.close();
        finish(closing);
    }

    void limitFromAnotherConnectionReachesTheEngine_data() { addBackendRows(); }
    void limitFromAnotherConnectionReachesTheEngine()
    {
        QFETCH(QString, backend);
        FLOWDECK_FRESH_DATABASE(url, backend);
        Engine engine;
        Session session(engine.scheduler());
        auto opening = openWith(session, url, &engine);
        finish(opening);
        QCOMPARE(engine.limiter().limit(QStringLiteral("shared")), std::nullopt);
        Db db(url);
        db.rows(
            QStringLiteral("INSERT INTO concurrency_limits (tag, slot_limit, updated_at) VALUES (?, ?, ?)"),
            {QStringLiteral("shared"), 3, 0});
        QTRY_COMPARE_WITH_TIMEOUT(engine.limiter().limit(QStringLiteral("shared")), std::optional<int>(3),
                                  5000);
        db.rows(QStringLiteral("DELETE FROM concurrency_limits WHERE tag = ?"), {QStringLiteral("shared")});
        QTRY_COMPARE_WITH_TIMEOUT(engine.limiter().limit(QStringLiteral("shared")), std::nullopt, 5000);
        auto closing = session.close();
        finish(closing);
    }

    void attachAppliesStoredLimitsAtOnce_data() { addBackendRows(); }
    void attachAppliesStoredLimitsAtOnce()
    {
        QFETCH(QString, backend);
        FLOWDECK_FRESH_DATABASE(url, backend);
        {
            Scheduler scheduler;
            Session first(scheduler);
            auto opening = first.open(url);
            finish(opening); // creates the schema
        }
        Db db(url);
        db.rows(
            QStringLiteral("INSERT INTO concurrency_limits (tag, slot_limit, updated_at) VALUES (?, ?, ?)"),
            {QStringLiteral("db"), 2, 0});
        Engine engine;
        Session session(engine.scheduler());
        auto opening = openWith(session, url, &engine);
        finish(opening);
        QCOMPARE(engine.limiter().limit(QStringLiteral("db")), std::optional<int>(2));
        auto closing = session.close();
        finish(closing);
    }

    void cancelRequestFromAnotherConnection_data() { addBackendRows(); }
    void cancelRequestFromAnotherConnection()
    {
        QFETCH(QString, backend);
        FLOWDECK_FRESH_DATABASE(url, backend);
        Engine engine;
        Session session(engine.scheduler());
        auto opening = openWith(session, url, &engine);
        finish(opening);
        const auto flow
            = parseFlow(R"({"name": "long", "tasks": [{"id": "s", "kind": "sleep", "seconds": 60}]})");
        QVERIFY(flow);
        FlowRun* run = engine.start(*flow);
        const QString id = run->id.toString();
        Db db(url);
        QTRY_COMPARE_WITH_TIMEOUT(
            db.count(QStringLiteral("SELECT count(*) FROM flow_runs WHERE id = ?"), {id}), 1, 5000);
        db.rows(QStringLiteral("UPDATE flow_runs SET cancel_requested = 1 WHERE id = ?"), {id});
        QVERIFY(waitForFlow(engine, run, 10000));
        QVERIFY2(run->type == StateType::Cancelled, qPrintable(toString(run->type)));
        QCOMPARE(db.value(QStringLiteral("SELECT state FROM flow_runs WHERE id = ?"), {id}).toString(),
                 QStringLiteral("CANCELLED"));
        auto closing = session.close();
        finish(closing);
    }

    //! The dashboard's order: open (registered), check the open is still wanted, then attach.
    void registerThenAttach_data() { addBackendRows(); }
    void registerThenAttach()
    {
        QFETCH(QString, backend);
        FLOWDECK_FRESH_DATABASE(url, backend);
        Engine engine;
        Session session(engine.scheduler());
        auto opening = session.open(url, {.engine = nullptr, .registerEngine = true, .pool = {}});
        finish(opening);
        Db db(url);
        QCOMPARE(db.count(QStringLiteral("SELECT count(*) FROM engines WHERE id = ?"),
                          {session.store()->engineId()}),
                 1);
        QVERIFY(!engine.durabilitySink());
        db.rows(
            QStringLiteral("INSERT INTO concurrency_limits (tag, slot_limit, updated_at) VALUES (?, ?, ?)"),
            {QStringLiteral("later"), 5, 0});
        auto attaching = session.attach(engine);
        finish(attaching);
        QCOMPARE(engine.durabilitySink(), static_cast<DurabilitySink*>(session.store()));
        QCOMPARE(engine.limiter().limit(QStringLiteral("later")), std::optional<int>(5));
        session.detach();
        QVERIFY(!engine.durabilitySink());
        auto closing = session.close();
        finish(closing);
    }

    //! The engine link polls the database every half second; a session destroyed while a poll waits
    //! for the database leaves no coroutine suspended (each would leak its frames).
    void destroyedWithPollInFlightLeavesNothingSuspended_data() { addBackendRows(); }
    void destroyedWithPollInFlightLeavesNothingSuspended()
    {
        QFETCH(QString, backend);
        FLOWDECK_FRESH_DATABASE(url, backend);
        const int before = ConnectionPool::awaitersAlive();
        // Declared before the session, whose pool resumes the coroutine that writes them when it goes.
        std::atomic<bool> holding{false}, release{false};
        QString held;
        Engine engine;
        auto session = std::make_unique<Session>(engine.scheduler());
        const auto releasing = qScopeGuard([&] { release = true; }); // also when a check fails
        auto opening
            = session->open(url, {.engine = &engine, .registerEngine = false, .pool = {1, 0, 30.0, 3600}});
        finish(opening);
        QVERIFY(session->isOpen());

        // The only connection is held: the next poll waits for it.
        auto holder = holdConnection(session->pool(), &holding, &release, &held);
        QTRY_VERIFY_WITH_TIMEOUT(holding.load(), 10000);
        QTRY_VERIFY_WITH_TIMEOUT(session->pool()->metrics().waiters >= 1, 10000);

        release = true;
        session.reset(); // no event is processed: the poll's result never comes through the loop
        QCOMPARE(held, QStringLiteral("PoolClosed"));
        QCOMPARE(ConnectionPool::awaitersAlive(), before);
        QVERIFY(!engine.durabilitySink());
        QVERIFY(!engine.slotSink());
        QCoreApplication::processEvents(); // nothing resumes twice
        QCOMPARE(ConnectionPool::awaitersAlive(), before);
    }

    void closeUnregistersAndDetaches_data() { addBackendRows(); }
    void closeUnregistersAndDetaches()
    {
        QFETCH(QString, backend);
        FLOWDECK_FRESH_DATABASE(url, backend);
        Engine engine;
        Session session(engine.scheduler());
        auto opening = openWith(session, url, &engine);
        finish(opening);
        const QString engineId = session.store()->engineId();
        Db db(url);
        QCOMPARE(db.count(QStringLiteral("SELECT count(*) FROM engines WHERE id = ?"), {engineId}), 1);
        auto closing = session.close();
        finish(closing);
        QVERIFY(!session.isOpen());
        QCOMPARE(db.count(QStringLiteral("SELECT count(*) FROM engines WHERE id = ?"), {engineId}), 0);
        QVERIFY(!engine.durabilitySink());
        QVERIFY(!engine.slotSink());
        // The rows stay readable through the session's pool until it is destroyed.
        QVERIFY(session.pool());
        const qint64 limits = runOnPool(*session.pool(), [](QSqlDatabase& d) {
            QSqlQuery q(d);
            q.exec(QStringLiteral("SELECT count(*) FROM concurrency_limits"));
            q.next();
            return q.value(0).toLongLong();
        });
        QCOMPARE(limits, 0);
    }
};

QTEST_GUILESS_MAIN(TestSession)
#include "tst_session.moc"
