// ConnectionPool: QueuePool limits, timeouts, check-in on the database thread, recycling, errors;
// on SQLite and on the PostgreSQL server in FLOWDECK_TEST_PG.
#include "store/connectionpool.h"
#include "testutil.h"

#include <QCoreApplication>
#include <QDir>
#include <QFile>
#include <QScopeGuard>
#include <QSqlError>
#include <QSqlQuery>
#include <QTemporaryDir>
#include <QTest>
#include <QThread>
#include <QTimer>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstring>
#include <functional>
#include <linux/capability.h>
#include <memory>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <thread>
#include <unistd.h>
#include <vector>

using namespace flowdeck;
using namespace flowdeck::test;
using namespace std::chrono_literals;

namespace {

using Clock = std::chrono::steady_clock;

qint64 sinceMs(Clock::time_point start)
{
    return std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start).count();
}

void raiseTo(std::atomic<int>& maximum, int value)
{
    int seen = maximum.load();
    while (value > seen && !maximum.compare_exchange_weak(seen, value)) {}
}

//! Each caller arrives and waits (bounded) until \a n have arrived; false if they never did.
bool rendezvous(std::atomic<int>& arrived, int n, std::chrono::milliseconds limit = 5s)
{
    ++arrived;
    const auto end = Clock::now() + limit;
    while (arrived.load() < n) {
        if (Clock::now() > end)
            return false;
        std::this_thread::sleep_for(1ms);
    }
    return true;
}

//! Connections of \a pool that Qt knows about (added and not yet removed), by the pool's naming.
int qtConnections(const ConnectionPool* pool)
{
    const QString prefix = QStringLiteral("flowdeck-%1-").arg(quintptr(pool), 0, 16);
    int n = 0;
    for (const QString& name : QSqlDatabase::connectionNames()) {
        if (name.startsWith(prefix))
            ++n;
    }
    return n;
}

//! How one awaited job ended, seen from the awaiting coroutine.
struct Outcome {
    QString kind; //!< "ok", "PoolTimeout", "DatabaseError" or "exception"
    QString message;
    qint64 elapsedMs = 0;
    QThread* resumedOn = nullptr;
};

template<typename F>
QCoro::Task<Outcome> attempt(ConnectionPool* pool, F job)
{
    Outcome outcome;
    const auto start = Clock::now();
    try {
        // A named task: GCC 12 destroys temporaries inside a co_await expression twice.
        auto task = pool->run(std::move(job));
        co_await task;
        outcome.kind = QStringLiteral("ok");
    } catch (const PoolTimeout& e) {
        outcome.kind = QStringLiteral("PoolTimeout");
        outcome.message = QString::fromStdString(e.what());
    } catch (const DatabaseError& e) {
        outcome.kind = QStringLiteral("DatabaseError");
        outcome.message = QString::fromStdString(e.what());
    } catch (const std::exception& e) {
        outcome.kind = QStringLiteral("exception");
        outcome.message = QString::fromStdString(e.what());
    }
    outcome.elapsedMs = sinceMs(start);
    outcome.resumedOn = QThread::currentThread();
    co_return outcome;
}

//! Counts the coroutine frames alive that hold one.
struct FrameCount {
    explicit FrameCount(int& n)
        : count(n)
    {
        ++count;
    }
    ~FrameCount() { --count; }
    FrameCount(const FrameCount&) = delete;
    FrameCount& operator=(const FrameCount&) = delete;
    int& count;
};

//! Awaits \a job; when the pool closes, tries one more job. \a outcome: "ok", or the error(s) seen.
QCoro::Task<> awaitJob(ConnectionPool* pool, std::function<void(QSqlDatabase&)> job, QString* outcome,
                       int* frames)
{
    FrameCount alive(*frames);
    bool closed = false;
    try {
        auto task = pool->run(std::move(job));
        co_await task;
        *outcome = QStringLiteral("ok");
    } catch (const PoolClosed&) {
        *outcome = QStringLiteral("PoolClosed");
        closed = true;
    }
    if (!closed)
        co_return;
    try {
        auto again = pool->run([](QSqlDatabase&) {});
        co_await again;
        *outcome += QStringLiteral(", then ok");
    } catch (const PoolClosed&) {
        *outcome += QStringLiteral(", then PoolClosed");
    }
}

//! Waits (bounded) without processing events, so that no result is handed back meanwhile.
bool spinUntil(const std::atomic<bool>& flag, std::chrono::milliseconds limit = 10s)
{
    const auto end = Clock::now() + limit;
    while (!flag.load()) {
        if (Clock::now() > end)
            return false;
        std::this_thread::sleep_for(1ms);
    }
    return true;
}

template<typename T>
bool allReady(const std::vector<QCoro::Task<T>>& tasks)
{
    return std::all_of(tasks.begin(), tasks.end(), [](const QCoro::Task<T>& t) { return t.isReady(); });
}

/**
 * Root passes every file permission check. While this guard lives, this thread (and the threads it
 * starts, such as the pool's database threads) lose CAP_DAC_OVERRIDE and CAP_DAC_READ_SEARCH, so
 * file modes apply to them as to any user. Does nothing for other users.
 */
class FileModesApply {
public:
    FileModesApply()
    {
        if (geteuid() != 0)
            return;
        m_header.version = _LINUX_CAPABILITY_VERSION_3;
        m_header.pid = 0;
        if (syscall(SYS_capget, &m_header, m_saved) != 0)
            return;
        __user_cap_data_struct reduced[2];
        std::memcpy(reduced, m_saved, sizeof reduced);
        for (const int cap : {CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH, CAP_FOWNER})
            reduced[cap / 32].effective &= ~(1u << (cap % 32));
        m_active = syscall(SYS_capset, &m_header, reduced) == 0;
    }
    ~FileModesApply()
    {
        if (m_active)
            syscall(SYS_capset, &m_header, m_saved);
    }
    FileModesApply(const FileModesApply&) = delete;
    FileModesApply& operator=(const FileModesApply&) = delete;

    bool applies() const { return geteuid() != 0 || m_active; }

private:
    __user_cap_header_struct m_header{};
    __user_cap_data_struct m_saved[2]{};
    bool m_active = false;
};

} // namespace

class TestConnectionPool : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void runsOnDatabaseThreadsAndResumesOnTheCaller_data() { addBackendRows(); }
    void runsOnDatabaseThreadsAndResumesOnTheCaller();
    void connectionsStayWithinTheLimit_data();
    void connectionsStayWithinTheLimit();
    void overflowOpensUnderLoadAndClosesWhenIdle_data() { addBackendRows(); }
    void overflowOpensUnderLoadAndClosesWhenIdle();
    void timeoutHasQueuePoolMessage_data();
    void timeoutHasQueuePoolMessage();
    void timeoutsCountedUnderContention_data() { addBackendRows(); }
    void timeoutsCountedUnderContention();
    void blockedCallerHoldsNoConnection_data() { addBackendRows(); }
    void blockedCallerHoldsNoConnection();
    void recycleReopens_data() { addBackendRows(); }
    void recycleReopens();
    void jobExceptionsPropagate_data() { addBackendRows(); }
    void jobExceptionsPropagate();
    void failedJobLeavesNoTransactionOpen_data() { addBackendRows(); }
    void failedJobLeavesNoTransactionOpen();
    void setOptionsAppliesToNextCheckouts_data() { addBackendRows(); }
    void setOptionsAppliesToNextCheckouts();
    void destructorFinishesRunningJobsAndClosesConnections_data() { addBackendRows(); }
    void destructorFinishesRunningJobsAndClosesConnections();
    void destructorResumesEveryAwaiter_data() { addBackendRows(); }
    void destructorResumesEveryAwaiter();

    void postgresSessionsAreConfigured();
    void readOnlySqliteLocation_data();
    void readOnlySqliteLocation();
    void unreachablePostgres();
};

void TestConnectionPool::runsOnDatabaseThreadsAndResumesOnTheCaller()
{
    QFETCH(QString, backend);
    FLOWDECK_FRESH_DATABASE(url, backend);
    // What jobs touch is declared before the pool: on a failure the pool's destructor waits for them.
    std::atomic<bool> offThread{false};
    std::atomic<bool> connectionValid{false};
    ConnectionPool pool(*DatabaseUrl::parse(url, nullptr));

    // The loop keeps running while the job blocks its database thread.
    int ticks = 0;
    QTimer ticker;
    ticker.setInterval(5);
    connect(&ticker, &QTimer::timeout, this, [&ticks] { ++ticks; });
    ticker.start();

    const auto caller = std::this_thread::get_id();
    auto task = attempt(&pool, [&](QSqlDatabase& db) {
        offThread = std::this_thread::get_id() != caller;
        connectionValid = db.isOpen() && scalar(db, QStringLiteral("SELECT 1")) == 1;
        std::this_thread::sleep_for(200ms);
    });
    QTRY_VERIFY_WITH_TIMEOUT(task.isReady(), 10000);
    ticker.stop();
    const Outcome outcome = QCoro::waitFor(task);
    QCOMPARE(outcome.kind, QStringLiteral("ok"));
    QVERIFY(offThread);
    QVERIFY(connectionValid);
    QCOMPARE(outcome.resumedOn, pool.thread());
    QVERIFY2(ticks >= 15, qPrintable(QStringLiteral("only %1 timer ticks in 200 ms").arg(ticks)));

    // Values come back through run().
    QCOMPARE(runOnPool(pool, [](QSqlDatabase& db) { return scalar(db, QStringLiteral("SELECT 40 + 2")); }),
             qint64(42));
}

void TestConnectionPool::connectionsStayWithinTheLimit_data()
{
    QTest::addColumn<QString>("backend");
    QTest::addColumn<int>("poolSize");
    QTest::addColumn<int>("maxOverflow");
    const std::pair<int, int> sizes[] = {{1, 0}, {2, 2}, {5, 10}};
    for (const QString& backend : {QStringLiteral("sqlite"), QStringLiteral("postgres")}) {
        for (const auto& [size, overflow] : sizes) {
            QTest::addRow("%s, size %d overflow %d", qPrintable(backend), size, overflow)
                << backend << size << overflow;
        }
    }
}

void TestConnectionPool::connectionsStayWithinTheLimit()
{
    QFETCH(QString, backend);
    QFETCH(int, poolSize);
    QFETCH(int, maxOverflow);
    FLOWDECK_FRESH_DATABASE(url, backend);
    std::atomic<int> inJob{0}, maxInJob{0}, maxOpen{0}, maxQtConnections{0}, offThread{0};
    std::atomic<bool> go{false};
    ConnectionPool pool(*DatabaseUrl::parse(url, nullptr), PoolOptions{poolSize, maxOverflow, 30.0, 3600});
    runOnPool(pool, [](QSqlDatabase& db) { execOrThrow(db, QStringLiteral("CREATE TABLE t (n INTEGER)")); });

    constexpr int Jobs = 50;
    const int limit = poolSize + maxOverflow;
    const auto caller = std::this_thread::get_id();
    std::vector<QCoro::Task<Outcome>> tasks;
    for (int i = 0; i < Jobs; ++i) {
        tasks.push_back(attempt(&pool, [&, i](QSqlDatabase& db) {
            // The first jobs wait until all are queued, so that the queue is deterministic.
            const auto gateEnd = Clock::now() + 5s;
            while (!go && Clock::now() < gateEnd)
                std::this_thread::sleep_for(1ms);
            raiseTo(maxInJob, ++inJob);
            raiseTo(maxOpen, pool.metrics().open);
            raiseTo(maxQtConnections, qtConnections(&pool));
            if (std::this_thread::get_id() != caller)
                ++offThread;
            execOrThrow(db, QStringLiteral("INSERT INTO t (n) VALUES (%1)").arg(i));
            std::this_thread::sleep_for(10ms);
            --inJob;
        }));
    }
    const int waiting = pool.metrics().waiters;
    go = true;
    QVERIFY2(waiting >= Jobs - limit, qPrintable(QString::number(waiting)));
    QTRY_VERIFY_WITH_TIMEOUT(allReady(tasks), 15000);
    for (auto& task : tasks) {
        const Outcome outcome = QCoro::waitFor(task);
        QVERIFY2(outcome.kind == QLatin1String("ok"), qPrintable(outcome.kind + u' ' + outcome.message));
    }
    QCOMPARE(offThread.load(), Jobs);
    QVERIFY2(maxInJob <= limit, qPrintable(QStringLiteral("%1 jobs ran at once").arg(maxInJob.load())));
    QVERIFY2(maxOpen <= limit, qPrintable(QStringLiteral("%1 connections open").arg(maxOpen.load())));
    QVERIFY2(maxQtConnections <= limit, qPrintable(QString::number(maxQtConnections.load())));
    if (maxOverflow > 0)
        QVERIFY2(maxInJob > poolSize, "overflow connections open under load");

    // Overflow connections closed when they became idle; the pool keeps poolSize.
    QTRY_COMPARE(pool.metrics().open, poolSize);
    QCOMPARE(qtConnections(&pool), poolSize);
    const PoolMetrics m = pool.metrics();
    QCOMPARE(m.poolSize, poolSize);
    QCOMPARE(m.maxOverflow, maxOverflow);
    QCOMPARE(m.idle, poolSize);
    QCOMPARE(m.checkedOut, 0);
    QCOMPARE(m.overflowInUse, 0);
    QCOMPARE(m.waiters, 0);
    QCOMPARE(m.timeouts, quint64(0));
    QCOMPARE(m.checkouts, quint64(Jobs + 1));
    QVERIFY(m.waitP99Ms >= m.waitP50Ms);
    QVERIFY(m.waitP99Ms > 0);
    QCOMPARE(runOnPool(pool,
                       [](QSqlDatabase& db) { return scalar(db, QStringLiteral("SELECT count(*) FROM t")); }),
             qint64(Jobs));
}

void TestConnectionPool::overflowOpensUnderLoadAndClosesWhenIdle()
{
    QFETCH(QString, backend);
    FLOWDECK_FRESH_DATABASE(url, backend);
    std::atomic<int> arrived{0}, met{0}, maxOpen{0};
    ConnectionPool pool(*DatabaseUrl::parse(url, nullptr), PoolOptions{1, 2, 30.0, 3600});

    std::vector<QCoro::Task<Outcome>> tasks;
    for (int i = 0; i < 3; ++i) {
        tasks.push_back(attempt(&pool, [&](QSqlDatabase&) {
            if (rendezvous(arrived, 3))
                ++met;
            raiseTo(maxOpen, pool.metrics().open);
        }));
    }
    QTRY_VERIFY_WITH_TIMEOUT(allReady(tasks), 10000);
    QCOMPARE(met.load(), 3);
    QCOMPARE(maxOpen.load(), 3);
    QTRY_COMPARE(pool.metrics().open, 1);
    QCOMPARE(qtConnections(&pool), 1);
    QCOMPARE(pool.metrics().idle, 1);
    QCOMPARE(pool.metrics().overflowInUse, 0);
}

void TestConnectionPool::timeoutHasQueuePoolMessage_data()
{
    QTest::addColumn<QString>("backend");
    QTest::addColumn<int>("poolSize");
    QTest::addColumn<int>("maxOverflow");
    QTest::addColumn<double>("timeoutS");
    QTest::addColumn<QString>("message");
    for (const QString& backend : {QStringLiteral("sqlite"), QStringLiteral("postgres")}) {
        QTest::addRow("%s, size 1 overflow 0", qPrintable(backend))
            << backend << 1 << 0 << 0.05
            << QStringLiteral(
                   "QueuePool limit of size 1 overflow 0 reached, connection timed out, timeout 0.05");
        QTest::addRow("%s, size 2 overflow 1", qPrintable(backend))
            << backend << 2 << 1 << 0.1
            << QStringLiteral(
                   "QueuePool limit of size 2 overflow 1 reached, connection timed out, timeout 0.10");
    }
}

void TestConnectionPool::timeoutHasQueuePoolMessage()
{
    QFETCH(QString, backend);
    QFETCH(int, poolSize);
    QFETCH(int, maxOverflow);
    QFETCH(double, timeoutS);
    QFETCH(QString, message);
    FLOWDECK_FRESH_DATABASE(url, backend);
    std::atomic<int> holding{0};
    std::atomic<bool> ran{false};
    ConnectionPool pool(*DatabaseUrl::parse(url, nullptr),
                        PoolOptions{poolSize, maxOverflow, timeoutS, 3600});

    const int limit = poolSize + maxOverflow;
    std::vector<QCoro::Task<Outcome>> holders;
    for (int i = 0; i < limit; ++i) {
        holders.push_back(attempt(&pool, [&](QSqlDatabase&) {
            ++holding;
            std::this_thread::sleep_for(400ms);
        }));
    }
    QTRY_COMPARE_WITH_TIMEOUT(holding.load(), limit, 5000);

    auto waiter = attempt(&pool, [&](QSqlDatabase&) { ran = true; });
    QCOMPARE(pool.metrics().waiters, 1);
    QTRY_VERIFY_WITH_TIMEOUT(waiter.isReady(), 5000);
    const Outcome outcome = QCoro::waitFor(waiter);
    QCOMPARE(outcome.kind, QStringLiteral("PoolTimeout"));
    QCOMPARE(outcome.message, message);
    QVERIFY2(outcome.elapsedMs >= qint64(timeoutS * 1000) - 1,
             qPrintable(QString::number(outcome.elapsedMs)));
    QVERIFY2(!allReady(holders), "the timeout fires while the connections are still held");
    QVERIFY(!ran);
    QCOMPARE(outcome.resumedOn, pool.thread());
    PoolMetrics m = pool.metrics();
    QCOMPARE(m.timeouts, quint64(1));
    QCOMPARE(m.waiters, 0);
    QCOMPARE(m.checkedOut, limit);

    QTRY_VERIFY_WITH_TIMEOUT(allReady(holders), 5000);
    for (auto& holder : holders)
        QCOMPARE(QCoro::waitFor(holder).kind, QStringLiteral("ok"));
    // A timeout is recoverable: the next job gets a connection.
    QCOMPARE(runOnPool(pool, [](QSqlDatabase& db) { return scalar(db, QStringLiteral("SELECT 7")); }),
             qint64(7));
    m = pool.metrics();
    QCOMPARE(m.checkouts, quint64(limit + 1));
    QCOMPARE(m.timeouts, quint64(1));
}

void TestConnectionPool::timeoutsCountedUnderContention()
{
    QFETCH(QString, backend);
    FLOWDECK_FRESH_DATABASE(url, backend);
    std::atomic<int> ran{0};
    ConnectionPool pool(*DatabaseUrl::parse(url, nullptr), PoolOptions{1, 0, 0.05, 3600});
    runOnPool(pool, [](QSqlDatabase&) {}); // connected, so that timing is about the jobs only

    constexpr int Jobs = 20;
    std::vector<QCoro::Task<Outcome>> tasks;
    for (int i = 0; i < Jobs; ++i) {
        tasks.push_back(attempt(&pool, [&](QSqlDatabase&) {
            ++ran;
            std::this_thread::sleep_for(20ms);
        }));
    }
    QTRY_VERIFY_WITH_TIMEOUT(allReady(tasks), 10000);
    int ok = 0, timedOut = 0;
    for (auto& task : tasks) {
        const Outcome outcome = QCoro::waitFor(task);
        if (outcome.kind == QLatin1String("ok"))
            ++ok;
        else if (outcome.kind == QLatin1String("PoolTimeout"))
            ++timedOut;
    }
    QCOMPARE(ok + timedOut, Jobs);
    QVERIFY(ok >= 1);
    QVERIFY(timedOut >= 1);
    QCOMPARE(ran.load(), ok); // a job that timed out never ran
    const PoolMetrics m = pool.metrics();
    QCOMPARE(m.timeouts, quint64(timedOut));
    QCOMPARE(m.checkouts, quint64(ok + 1));
    QCOMPARE(m.waiters, 0);
}

void TestConnectionPool::blockedCallerHoldsNoConnection()
{
    QFETCH(QString, backend);
    FLOWDECK_FRESH_DATABASE(url, backend);
    std::atomic<qint64> aEndNs{0}, bStartNs{0};
    ConnectionPool pool(*DatabaseUrl::parse(url, nullptr), PoolOptions{1, 0, 10.0, 3600});
    runOnPool(pool, [](QSqlDatabase&) {});

    auto nowNs = [] { return qint64(std::chrono::nanoseconds(Clock::now().time_since_epoch()).count()); };
    auto a = attempt(&pool, [&](QSqlDatabase&) {
        std::this_thread::sleep_for(100ms);
        aEndNs = nowNs();
    });
    auto b = attempt(&pool, [&](QSqlDatabase&) { bStartNs = nowNs(); });

    // This slot blocks the caller's event loop (a busy wait): A's result cannot be delivered, yet its
    // connection is already back in the pool and B gets it.
    const qint64 blockStart = nowNs();
    while (nowNs() - blockStart < 300'000'000) {}
    const qint64 blockEnd = nowNs();
    const PoolMetrics during = pool.metrics();
    QVERIFY(!a.isReady());
    QVERIFY(!b.isReady());

    QVERIFY2(bStartNs > 0, "B got no connection while the caller was blocked");
    QVERIFY(bStartNs < blockEnd);
    QVERIFY(bStartNs >= aEndNs);
    QVERIFY2(
        bStartNs - aEndNs < 100'000'000,
        qPrintable(QStringLiteral("B waited %1 ms after A returned").arg((bStartNs - aEndNs) / 1'000'000)));
    QCOMPARE(during.checkouts, quint64(3));
    QCOMPARE(during.checkedOut, 0);
    QCOMPARE(during.waiters, 0);

    QTRY_VERIFY_WITH_TIMEOUT(a.isReady() && b.isReady(), 5000);
    QCOMPARE(QCoro::waitFor(a).kind, QStringLiteral("ok"));
    QCOMPARE(QCoro::waitFor(b).kind, QStringLiteral("ok"));
}

void TestConnectionPool::recycleReopens()
{
    QFETCH(QString, backend);
    FLOWDECK_FRESH_DATABASE(url, backend);
    ConnectionPool pool(*DatabaseUrl::parse(url, nullptr), PoolOptions{1, 0, 10.0, 0.1});
    auto identity = [&backend](QSqlDatabase& db) {
        // The connection name changes on every open; the server process id proves a new session.
        QString id = db.connectionName();
        if (backend == QLatin1String("postgres"))
            id += u'/' + QString::number(scalar(db, QStringLiteral("SELECT pg_backend_pid()")));
        return id;
    };

    const QString first = runOnPool(pool, identity);
    QCOMPARE(runOnPool(pool, identity), first); // younger than recycleS: reused
    QTest::qWait(150);
    const QString second = runOnPool(pool, identity);
    QVERIFY2(second != first, qPrintable(first));
    if (backend == QLatin1String("postgres"))
        QVERIFY(second.section(u'/', 1) != first.section(u'/', 1));
    QVERIFY(!QSqlDatabase::connectionNames().contains(first.section(u'/', 0, 0)));
    QCOMPARE(pool.metrics().open, 1);
    QCOMPARE(qtConnections(&pool), 1);

    pool.setOptions(PoolOptions{1, 0, 10.0, 0}); // never recycle
    const QString third = runOnPool(pool, identity);
    QTest::qWait(150);
    QCOMPARE(runOnPool(pool, identity), third);
}

namespace {

struct JobFailed : std::exception {
    int code = 0;
    explicit JobFailed(int c)
        : code(c)
    {
    }
    const char* what() const noexcept override { return "job failed"; }
};

QCoro::Task<int> catchJobFailed(ConnectionPool* pool)
{
    try {
        auto task = pool->run([](QSqlDatabase&) -> int { throw JobFailed(17); });
        co_await task;
    } catch (const JobFailed& e) {
        co_return e.code;
    }
    co_return -1;
}

} // namespace

void TestConnectionPool::jobExceptionsPropagate()
{
    QFETCH(QString, backend);
    FLOWDECK_FRESH_DATABASE(url, backend);
    ConnectionPool pool(*DatabaseUrl::parse(url, nullptr), PoolOptions{1, 0, 10.0, 3600});

    auto typed = catchJobFailed(&pool);
    QTRY_VERIFY_WITH_TIMEOUT(typed.isReady(), 10000);
    QCOMPARE(QCoro::waitFor(typed), 17); // the job's own exception type, with its data

    auto runtime = attempt(&pool, [](QSqlDatabase&) { throw std::runtime_error("boom"); });
    QTRY_VERIFY_WITH_TIMEOUT(runtime.isReady(), 10000);
    Outcome outcome = QCoro::waitFor(runtime);
    QCOMPARE(outcome.kind, QStringLiteral("exception"));
    QCOMPARE(outcome.message, QStringLiteral("boom"));

    auto sql = attempt(
        &pool, [](QSqlDatabase& db) { execOrThrow(db, QStringLiteral("SELECT * FROM no_such_table")); });
    QTRY_VERIFY_WITH_TIMEOUT(sql.isReady(), 10000);
    outcome = QCoro::waitFor(sql);
    QCOMPARE(outcome.kind, QStringLiteral("DatabaseError"));
    QVERIFY2(outcome.message.contains(QLatin1String("no_such_table")), qPrintable(outcome.message));

    // The pool is unharmed: same connection, no timeouts.
    QCOMPARE(runOnPool(pool, [](QSqlDatabase& db) { return scalar(db, QStringLiteral("SELECT 1")); }),
             qint64(1));
    QCOMPARE(pool.metrics().open, 1);
    QCOMPARE(pool.metrics().checkouts, quint64(4));
}

void TestConnectionPool::failedJobLeavesNoTransactionOpen()
{
    QFETCH(QString, backend);
    FLOWDECK_FRESH_DATABASE(url, backend);
    ConnectionPool pool(*DatabaseUrl::parse(url, nullptr), PoolOptions{1, 0, 10.0, 3600});
    runOnPool(pool, [](QSqlDatabase& db) { execOrThrow(db, QStringLiteral("CREATE TABLE t (n INTEGER)")); });

    auto failing = attempt(&pool, [](QSqlDatabase& db) {
        execOrThrow(db, QStringLiteral("BEGIN"));
        execOrThrow(db, QStringLiteral("INSERT INTO t (n) VALUES (1)"));
        throw std::runtime_error("failed half-way");
    });
    QTRY_VERIFY_WITH_TIMEOUT(failing.isReady(), 10000);
    QCOMPARE(QCoro::waitFor(failing).kind, QStringLiteral("exception"));

    // The same (only) connection: the half-done transaction was rolled back on return.
    const qint64 rows = runOnPool(pool, [](QSqlDatabase& db) {
        execOrThrow(db, QStringLiteral("BEGIN"));
        execOrThrow(db, QStringLiteral("INSERT INTO t (n) VALUES (2)"));
        execOrThrow(db, QStringLiteral("COMMIT"));
        return scalar(db, QStringLiteral("SELECT count(*) FROM t"));
    });
    QCOMPARE(rows, qint64(1));
}

void TestConnectionPool::setOptionsAppliesToNextCheckouts()
{
    QFETCH(QString, backend);
    FLOWDECK_FRESH_DATABASE(url, backend);
    std::atomic<int> arrived{0}, met{0}, inJob{0}, maxInJob{0};
    ConnectionPool pool(*DatabaseUrl::parse(url, nullptr), PoolOptions{3, 0, 10.0, 3600});

    std::vector<QCoro::Task<Outcome>> tasks;
    for (int i = 0; i < 3; ++i) {
        tasks.push_back(attempt(&pool, [&](QSqlDatabase&) {
            if (rendezvous(arrived, 3))
                ++met;
        }));
    }
    QTRY_VERIFY_WITH_TIMEOUT(allReady(tasks), 10000);
    QCOMPARE(met.load(), 3);
    QCOMPARE(pool.metrics().open, 3);

    pool.setOptions(PoolOptions{1, 0, 10.0, 3600});
    QCOMPARE(pool.options().poolSize, 1);
    QCOMPARE(pool.metrics().poolSize, 1);
    QTRY_COMPARE(pool.metrics().open, 1); // extra idle connections close
    QTRY_COMPARE(qtConnections(&pool), 1);

    tasks.clear();
    for (int i = 0; i < 4; ++i) {
        tasks.push_back(attempt(&pool, [&](QSqlDatabase&) {
            raiseTo(maxInJob, ++inJob);
            std::this_thread::sleep_for(20ms);
            --inJob;
        }));
    }
    QTRY_VERIFY_WITH_TIMEOUT(allReady(tasks), 10000);
    QCOMPARE(maxInJob.load(), 1);

    // Growing again opens connections on demand, up to the new limit.
    pool.setOptions(PoolOptions{2, 0, 10.0, 3600});
    arrived = 0;
    met = 0;
    tasks.clear();
    for (int i = 0; i < 2; ++i) {
        tasks.push_back(attempt(&pool, [&](QSqlDatabase&) {
            if (rendezvous(arrived, 2))
                ++met;
        }));
    }
    QTRY_VERIFY_WITH_TIMEOUT(allReady(tasks), 10000);
    QCOMPARE(met.load(), 2);
    QCOMPARE(pool.metrics().open, 2);
}

void TestConnectionPool::destructorFinishesRunningJobsAndClosesConnections()
{
    QFETCH(QString, backend);
    FLOWDECK_FRESH_DATABASE(url, backend);
    auto pool
        = std::make_unique<ConnectionPool>(*DatabaseUrl::parse(url, nullptr), PoolOptions{1, 0, 10.0, 3600});
    const ConnectionPool* address = pool.get();

    // Submitted without a coroutine: nothing is left waiting for a resumption that never comes.
    std::atomic<bool> started{false}, finished{false}, queuedRan{false};
    auto running = pool->submit([&](QSqlDatabase&) {
        started = true;
        std::this_thread::sleep_for(200ms);
        finished = true;
    });
    running.await_suspend(std::noop_coroutine());
    auto queued = pool->submit([&](QSqlDatabase&) { queuedRan = true; });
    queued.await_suspend(std::noop_coroutine());
    QTRY_VERIFY_WITH_TIMEOUT(started.load(), 10000);
    QCOMPARE(qtConnections(address), 1);

    pool.reset();
    QVERIFY2(finished, "the destructor lets the running job finish");
    QVERIFY2(!queuedRan, "jobs still waiting for a connection are dropped");
    QCOMPARE(qtConnections(address), 0);
    QCoreApplication::processEvents(); // the result on its way must not arrive after the pool
}

void TestConnectionPool::destructorResumesEveryAwaiter()
{
    QFETCH(QString, backend);
    FLOWDECK_FRESH_DATABASE(url, backend);
    const int before = ConnectionPool::awaitersAlive();
    // Declared before the pool, which resumes the coroutines that write them when it goes.
    int frames = 0;
    QString finishedOutcome, runningOutcome, queuedOutcome;
    std::atomic<bool> finishedRan{false}, runningStarted{false}, release{false};
    auto pool
        = std::make_unique<ConnectionPool>(*DatabaseUrl::parse(url, nullptr), PoolOptions{1, 0, 30.0, 3600});
    const auto releasing = qScopeGuard([&] { release = true; }); // also when a check fails

    // Finished on its database thread, its result not yet handed back (no event processed since).
    auto finished = awaitJob(
        pool.get(), [&](QSqlDatabase&) { finishedRan = true; }, &finishedOutcome, &frames);
    QVERIFY(spinUntil(finishedRan));
    // Running when the pool goes.
    auto running = awaitJob(
        pool.get(),
        [&](QSqlDatabase&) {
            runningStarted = true;
            spinUntil(release);
        },
        &runningOutcome, &frames);
    QVERIFY(spinUntil(runningStarted));
    // Waiting for the only connection.
    auto queued = awaitJob(
        pool.get(), [](QSqlDatabase&) {}, &queuedOutcome, &frames);
    QCOMPARE(frames, 3);
    QVERIFY(ConnectionPool::awaitersAlive() > before);

    release = true;
    pool.reset();
    // Each resumed at once with PoolClosed; a job submitted then fails at once too.
    QCOMPARE(finishedOutcome, QStringLiteral("PoolClosed, then PoolClosed"));
    QCOMPARE(runningOutcome, QStringLiteral("PoolClosed, then PoolClosed"));
    QCOMPARE(queuedOutcome, QStringLiteral("PoolClosed, then PoolClosed"));
    QVERIFY(finished.isReady() && running.isReady() && queued.isReady());
    QCOMPARE(frames, 0);
    QCOMPARE(ConnectionPool::awaitersAlive(), before);
    QCoreApplication::processEvents(); // nothing resumes twice
    QCOMPARE(ConnectionPool::awaitersAlive(), before);
}

void TestConnectionPool::postgresSessionsAreConfigured()
{
    const QString backend = QStringLiteral("postgres");
    FLOWDECK_FRESH_DATABASE(url, backend);
    ConnectionPool pool(*DatabaseUrl::parse(url, nullptr));
    const QString jit = runOnPool(pool, [](QSqlDatabase& db) {
        QSqlQuery query(db);
        query.exec(QStringLiteral("SHOW jit"));
        return query.next() ? query.value(0).toString() : QString();
    });
    // No JIT compiling of the store's short statements (0.5 s a query on tables without statistics).
    QCOMPARE(jit, QStringLiteral("off"));
}

void TestConnectionPool::readOnlySqliteLocation_data()
{
    QTest::addColumn<bool>("existing");
    QTest::addColumn<bool>("readOnlyFile");
    QTest::addColumn<QString>("messageStart");
    QTest::newRow("read-only folder, new file")
        << false << false << QStringLiteral("cannot create SQLite database");
    QTest::newRow("read-only file") << true << true << QStringLiteral("cannot open SQLite database");
    QTest::newRow("read-only folder, existing file")
        << true << false << QStringLiteral("cannot open SQLite database");
}

void TestConnectionPool::readOnlySqliteLocation()
{
    QFETCH(bool, existing);
    QFETCH(bool, readOnlyFile);
    QFETCH(QString, messageStart);
    QTemporaryDir dir;
    QVERIFY(dir.isValid());
    const QString path = dir.filePath(QStringLiteral("flowdeck.db"));
    if (existing) {
        ConnectionPool writer(*DatabaseUrl::parse(path, nullptr));
        runOnPool(writer,
                  [](QSqlDatabase& db) { execOrThrow(db, QStringLiteral("CREATE TABLE t (n INTEGER)")); });
    }
    const QByteArray folder = QFile::encodeName(dir.path());
    const QByteArray file = QFile::encodeName(path);
    if (readOnlyFile)
        QCOMPARE(::chmod(file.constData(), 0444), 0);
    else
        QCOMPARE(::chmod(folder.constData(), 0555), 0);

    Outcome outcome;
    {
        FileModesApply asAnyUser;
        QVERIFY2(asAnyUser.applies(), "cannot drop root's file capabilities for this test");
        ConnectionPool pool(*DatabaseUrl::parse(path, nullptr));
        auto task = attempt(&pool, [](QSqlDatabase&) {});
        QTRY_VERIFY_WITH_TIMEOUT(task.isReady(), 10000);
        outcome = QCoro::waitFor(task);
        QCOMPARE(pool.metrics().open, 0);
    }
    ::chmod(folder.constData(), 0700);
    ::chmod(file.constData(), 0600);

    QCOMPARE(outcome.kind, QStringLiteral("DatabaseError"));
    QVERIFY2(outcome.message.startsWith(messageStart + QStringLiteral(" \"") + path + u'"'),
             qPrintable(outcome.message));
    QVERIFY(!outcome.message.contains(u'\n'));
    if (!existing || readOnlyFile)
        QVERIFY2(outcome.message.endsWith(QString::fromLocal8Bit(std::strerror(EACCES))),
                 qPrintable(outcome.message));
    if (!existing)
        QVERIFY(!QFile::exists(path));
}

void TestConnectionPool::unreachablePostgres()
{
    const auto url
        = DatabaseUrl::parse(QStringLiteral("postgresql://flowdeck:hunter2@127.0.0.1:1/flowdeck"), nullptr);
    QVERIFY(url);
    ConnectionPool pool(*url, PoolOptions{2, 0, 10.0, 3600});
    for (int i = 0; i < 2; ++i) { // every checkout tries again, and fails the same way
        auto task = attempt(&pool, [](QSqlDatabase&) {});
        QTRY_VERIFY_WITH_TIMEOUT(task.isReady(), 10000);
        const Outcome outcome = QCoro::waitFor(task);
        QCOMPARE(outcome.kind, QStringLiteral("DatabaseError"));
        QVERIFY2(outcome.message.startsWith(QStringLiteral(
                     "cannot connect to PostgreSQL at postgresql://flowdeck:***@127.0.0.1:1/flowdeck: ")),
                 qPrintable(outcome.message));
        QVERIFY2(outcome.message.contains(QLatin1String("refused"), Qt::CaseInsensitive),
                 qPrintable(outcome.message));
        QVERIFY(!outcome.message.contains(QLatin1String("hunter2")));
        QVERIFY(!outcome.message.contains(u'\n'));
    }
    QCOMPARE(pool.metrics().open, 0);
    QCOMPARE(qtConnections(&pool), 0);
}

QTEST_GUILESS_MAIN(TestConnectionPool)
#include "tst_connectionpool.moc"
