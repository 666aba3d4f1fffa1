#pragma once

#include "flow/flow.h"
#include "run/observer.h"
#include "run/states.h"
#include "store/connectionpool.h"

#include <QByteArray>
#include <QCoreApplication>
#include <QElapsedTimer>
#include <QHash>
#include <QJsonObject>
#include <QList>
#include <QObject>
#include <QString>
#include <QTimer>
#include <QUrl>
#include <QVariant>

#include <algorithm>
#include <climits>
#include <optional>
#include <vector>

class QTcpServer;
class QTcpSocket;

namespace flowdeck {
class Engine;
struct FlowRun;
struct TaskRun;
} // namespace flowdeck

namespace flowdeck::test {

/**
 * How long the event loop stopped: the longest gap between ticks of a 1 ms precise timer, from the
 * probe's construction until stop().
 */
class LoopGapProbe {
public:
    LoopGapProbe()
    {
        m_timer.setTimerType(Qt::PreciseTimer);
        m_timer.setInterval(1);
        QObject::connect(&m_timer, &QTimer::timeout, [this] {
            const qint64 now = m_clock.nsecsElapsed();
            m_maxGapNs = std::max(m_maxGapNs, now - m_last);
            m_last = now;
        });
        m_clock.start();
        m_timer.start();
    }
    void stop() { m_timer.stop(); }
    qint64 maxGapNs() const { return m_maxGapNs; }
    qint64 elapsedMs() const { return m_clock.elapsed(); }

private:
    QElapsedTimer m_clock;
    qint64 m_last = 0;
    qint64 m_maxGapNs = 0;
    QTimer m_timer;
};

//! Absolute path of a file under the source tree (FLOWDECK_SOURCE_DIR, set by CTest).
QString sourcePath(const QString& relative);
//! The flowdeck executable under test (FLOWDECK_BINARY, set by CTest).
QString flowdeckBinary();

//! Matches any map index in RecordingObserver queries.
inline constexpr int AnyIndex = INT_MIN;

//! One transition as the observer saw it; taskId is empty for a flow run's own transitions.
struct RecordedTransition {
    qint64 timeUs = 0;
    const FlowRun* flowRun = nullptr;
    const TaskRun* taskRun = nullptr;
    QString taskId;
    int mapIndex = -1;
    bool isNew = false;
    StateType from = StateType::Pending;
    StateType type = StateType::Pending;
    StateName name = StateName::Pending;
    QString message;
};

struct RecordedLog {
    qint64 timeUs = 0;
    const FlowRun* flowRun = nullptr;
    const TaskRun* taskRun = nullptr;
    QString taskId;
    int mapIndex = -1;
    LogLevel level = LogLevel::Info;
    QString message;
};

//! Keeps every transition and log line an engine reports, in order, with queries for tests.
class RecordingObserver : public EngineObserver {
public:
    void onTransition(const TransitionEvent& event) override;
    void onLog(const LogEvent& event) override;

    std::vector<RecordedTransition> transitions;
    std::vector<RecordedLog> logs;

    void clear();
    //! Index of the first (or last) transition of a task run into \a type, or -1.
    int first(const QString& taskId, int mapIndex, StateType type) const;
    int last(const QString& taskId, int mapIndex, StateType type) const;
    int firstNamed(const QString& taskId, int mapIndex, StateName name) const;
    //! Index of the first transition of a flow run (any flow run if null) into \a type, or -1.
    int firstOfFlow(StateType type, const FlowRun* flow = nullptr) const;
    //! How many transitions into \a type happened (for a task, or any task when taskId is empty).
    int count(const QString& taskId, int mapIndex, StateType type) const;
    //! The named states a task run went through, in order.
    QList<StateName> names(const QString& taskId, int mapIndex = -1) const;
    //! Log lines of a task run, in order.
    QStringList logLines(const QString& taskId, int mapIndex = -1) const;
    QList<LogLevel> logLevels(const QString& taskId, int mapIndex = -1) const;
    const RecordedTransition& at(int index) const { return transitions.at(size_t(index)); }

private:
    bool matches(const RecordedTransition& t, const QString& taskId, int mapIndex) const;
};

QString describe(const QList<StateName>& names);

//! A task with its kind's fields in \a config; other TaskDef fields are set by the caller.
TaskDef makeTask(const QString& id, const QString& kind, const QJsonObject& config = {},
                 const QStringList& dependsOn = {});
//! A flow built in code: sets each task's index and usesMapIndex.
FlowDefinition makeFlow(const QString& name, QList<TaskDef> tasks, std::optional<quint64> seed = {});
//! Parses a flow with the registered kinds; prints the errors and returns nullopt when invalid.
std::optional<FlowDefinition> parseFlow(const QByteArray& json, const QJsonObject& overrides = {});

//! Runs the event loop until \a condition() holds or \a timeoutMs passes; returns whether it held.
template<typename F>
bool waitUntil(F condition, int timeoutMs)
{
    QElapsedTimer timer;
    timer.start();
    while (!condition()) {
        if (timer.elapsed() > timeoutMs)
            return false;
        QCoreApplication::processEvents(QEventLoop::AllEvents | QEventLoop::WaitForMoreEvents, 5);
    }
    return true;
}

//! Runs the event loop until \a run is terminal or \a timeoutMs passes. Returns whether it finished.
bool waitForFlow(Engine& engine, FlowRun* run, int timeoutMs = 10000);
//! Cancels every active flow run of \a engine and waits (bounded) until they have finished.
void cancelAndDrain(Engine& engine, int timeoutMs = 10000);

/**
 * Checks what must hold for every finished flow run: every task run is terminal, its history starts
 * with Pending, countByType matches the runs' states and the last transition the observer saw of
 * each run. Fails the current test (QVERIFY) otherwise.
 */
void verifyFlowConsistent(const FlowRun* flow, const RecordingObserver& recorded);

//! The task run of a task by id and map index (0 when not mapped), or null.
TaskRun* taskRun(FlowRun* flow, const QString& taskId, int index = 0);

/**
 * A tiny HTTP/1.1 server on 127.0.0.1 for kind tests. Routes: GET /ok (200, a body), /missing (404),
 * /slow (never answers), /echo (200, echoes the request body), /big (200, 10000 bytes), /json (200,
 * jsonBody()). Every request it parses is recorded. Bytes that are not HTTP (a TLS handshake) get a plain 400
 * reply.
 */
class TestHttpServer : public QObject {
public:
    struct Request {
        QByteArray method;
        QByteArray path;
        QHash<QByteArray, QByteArray> headers; //!< names in lower case
        QByteArray body;
    };

    static constexpr int BigBodySize = 10000;
    static QByteArray okBody() { return QByteArrayLiteral("hello from the test server"); }
    //! The body of /json (served as application/json).
    static QByteArray jsonBody() { return QByteArrayLiteral(R"({"items":[{"name":"a"},{"name":"b"}]})"); }

    explicit TestHttpServer(QObject* parent = nullptr);
    ~TestHttpServer() override;

    bool listen();
    quint16 port() const;
    QUrl url(const QString& path, const QString& scheme = QStringLiteral("http")) const;

    QList<Request> requests;
    //! Connections that did not speak HTTP.
    int rejectedConnections = 0;

private:
    void onReadyRead(QTcpSocket* socket);
    void respond(QTcpSocket* socket, const Request& request);

    QTcpServer* m_server;
};

//! A new SQLite file path (the file does not exist yet) in a temporary folder that lives until exit.
/**
 * A direct connection of the test's own (in the test's thread) for reading and arranging rows in the
 * database that the code under test reaches through its pools or from other processes.
 */
class Db {
public:
    explicit Db(const QString& urlText);
    ~Db();
    Db(const Db&) = delete;
    Db& operator=(const Db&) = delete;
    bool ok() const { return m_ok; }
    //! Every row's columns; a failed statement is reported with qWarning and gives no rows.
    QList<QVariantList> rows(const QString& sql, const QVariantList& binds = {}) const;
    QVariant value(const QString& sql, const QVariantList& binds = {}) const
    {
        return rows(sql, binds).value(0).value(0);
    }
    qint64 count(const QString& sql, const QVariantList& binds = {}) const
    {
        return value(sql, binds).toLongLong();
    }

private:
    QString m_name;
    bool m_ok = false;
};

/**
 * Runs one statement on a connection of its own, opened and closed in the calling thread (any
 * thread); returns every row's columns. Any failure aborts the test run.
 */
QList<QVariantList> query(const QString& urlText, const QString& sql, const QVariantList& binds = {});

//! Runs \a sql on \a db (on its own thread); throws DatabaseError, naming the statement, if it fails.
void execOrThrow(QSqlDatabase& db, const QString& sql);
//! The first column of the first row \a sql returns on \a db; throws DatabaseError if there is none.
qint64 scalar(QSqlDatabase& db, const QString& sql);

QString freshSqlitePath();
//! Whether FLOWDECK_TEST_PG names a PostgreSQL server for the tests.
bool postgresConfigured();
//! Whether the tests run in CI (CI=true): then the PostgreSQL rows must run, not skip.
bool runningInCi();
/**
 * Creates an empty database (flowdeck_t_<random>) on the FLOWDECK_TEST_PG server and returns its
 * URL, so that parallel tests never share one; it is dropped when the application exits. Returns
 * an empty string and sets \a error when the server is not configured or refuses.
 */
QString freshPostgresDatabase(QString* error = nullptr);
//! For tests over both backends: adds the QString column "backend" and the rows "sqlite", "postgres".
void addBackendRows();
//! A fresh database URL for \a backend ("sqlite" or "postgres"); empty with \a error on failure.
QString freshDatabaseUrl(const QString& backend, QString* error);

/**
 * Drives the event loop until \a task is done, then returns its result. Only for tasks that do not
 * throw: QCoro::waitFor never returns for one that did. A task that has not finished after
 * \a timeoutMs aborts the test run: its coroutine would outlive the test's stack.
 */
template<typename T>
T finish(QCoro::Task<T>& task, int timeoutMs = 30000)
{
    QElapsedTimer timer;
    timer.start();
    while (!task.isReady() && timer.elapsed() < timeoutMs)
        QCoreApplication::processEvents(QEventLoop::AllEvents | QEventLoop::WaitForMoreEvents, 20);
    if (!task.isReady())
        qFatal("a coroutine did not finish within %d ms", timeoutMs);
    return QCoro::waitFor(task);
}

/**
 * Runs \a job on \a pool and returns its result (or rethrows its exception), driving the event loop
 * meanwhile. A job that has not finished after \a timeoutMs aborts the test run: its coroutine would
 * outlive the test's stack.
 */
template<typename F>
auto runOnPool(ConnectionPool& pool, F job, int timeoutMs = 10000)
{
    auto task = pool.run(std::move(job));
    QElapsedTimer timer;
    timer.start();
    while (!task.isReady() && timer.elapsed() < timeoutMs)
        QCoreApplication::processEvents(QEventLoop::AllEvents | QEventLoop::WaitForMoreEvents, 20);
    if (!task.isReady())
        qFatal("runOnPool: the job did not finish within %d ms", timeoutMs);
    return QCoro::waitFor(task);
}

} // namespace flowdeck::test

/**
 * For tests over both backends: without FLOWDECK_TEST_PG the PostgreSQL rows fail in CI (CI=true),
 * where they must run, and are skipped elsewhere.
 */
#define FLOWDECK_REQUIRE_BACKEND(backend)                                                                    \
    do {                                                                                                     \
        if ((backend) == QLatin1String("postgres") && !::flowdeck::test::postgresConfigured()) {             \
            if (::flowdeck::test::runningInCi())                                                             \
                QFAIL("FLOWDECK_TEST_PG is not set, but the PostgreSQL rows must run in CI "                 \
                      "(scripts/setup.sh test sources scripts/test-env.sh to start a server)");              \
            QSKIP("FLOWDECK_TEST_PG is not set: source scripts/test-env.sh to run the PostgreSQL rows");     \
        }                                                                                                    \
    } while (false)

/**
 * Declares QString \a url holding a fresh database of \a backend ("sqlite" or "postgres"), following
 * FLOWDECK_REQUIRE_BACKEND; a server that is configured but unusable always fails the test.
 */
#define FLOWDECK_FRESH_DATABASE(url, backend)                                                                \
    QString url;                                                                                             \
    do {                                                                                                     \
        FLOWDECK_REQUIRE_BACKEND(backend);                                                                   \
        QString flowdeckFreshDatabaseError_;                                                                 \
        url = ::flowdeck::test::freshDatabaseUrl((backend), &flowdeckFreshDatabaseError_);                   \
        QVERIFY2(!url.isEmpty(), qPrintable(flowdeckFreshDatabaseError_));                                   \
    } while (false)
