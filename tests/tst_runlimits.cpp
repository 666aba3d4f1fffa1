// A flow's "max_active_runs" holds for the flow runs a process starts itself, across processes on one
// database (SQLite and PostgreSQL): two `flowdeck run` of a flow with max_active_runs 1 started at the
// same instant never overlap, the second waiting SCHEDULED with the reason ("on_limit": "enqueue");
// with "skip" the second ends CANCELLED with the reason and exit code 3; the dashboard's Start waits
// for a `flowdeck run` of the flow; Ctrl+C of a waiting `flowdeck run` ends it CANCELLED.
#include "cliutil.h"
#include "context/appcontext.h"
#include "context/runhistory.h"
#include "context/runoperations.h"
#include "session/runlimitgate.h"
#include "store/connectionpool.h"
#include "store/databaseurl.h"
#include "testutil.h"

#include <QApplication>
#include <QFile>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QProcess>
#include <QSignalSpy>
#include <QSqlQuery>
#include <QTemporaryDir>
#include <QTest>

#include <csignal>
#include <memory>

using namespace flowdeck;
using namespace flowdeck::test;

namespace {

//! One shell task that notes when it starts and ends in the file "log" (nanoseconds since the epoch).
QByteArray limitedFlow(const char* onLimit)
{
    return QByteArray(R"({"name": "one-at-a-time", "max_active_runs": 1, "on_limit": ")") + onLimit
        + R"(", "parameters": {"log": "", "seconds": 2}, "tasks": [{"id": "work", "kind": "shell",
          "command": ["sh", "-c", "echo start $(date +%s%N) >> '{{log}}'; sleep {{seconds}}; echo end $(date +%s%N) >> '{{log}}'"]}]})";
}

struct Row {
    QString id;
    QString state;
    QString stateName;
    QString message;
    qint64 startedUs = 0;
    qint64 endedUs = 0;
};

QList<Row> flowRuns(ConnectionPool& pool)
{
    return runOnPool(pool, [](QSqlDatabase& db) {
        QSqlQuery q(db);
        q.exec(QStringLiteral("SELECT id, state, state_name, message, started_at, ended_at FROM flow_runs "
                              "WHERE flow_name = 'one-at-a-time' ORDER BY created_at, id"));
        QList<Row> rows;
        while (q.next())
            rows.append({q.value(0).toString(), q.value(1).toString(), q.value(2).toString(),
                         q.value(3).toString(), q.value(4).toLongLong(), q.value(5).toLongLong()});
        return rows;
    });
}

int countRows(ConnectionPool& pool, const QString& state, const QString& stateName = {})
{
    int n = 0;
    for (const Row& r : flowRuns(pool))
        n += r.state == state && (stateName.isEmpty() || r.stateName == stateName) ? 1 : 0;
    return n;
}

//! Waits (30 s at most) until exactly one of the flow's runs is in \a state (and \a stateName).
bool waitForOne(ConnectionPool& pool, const char* state, const char* stateName = nullptr)
{
    const QString name = stateName ? QString::fromLatin1(stateName) : QString();
    return QTest::qWaitFor([&] { return countRows(pool, QString::fromLatin1(state), name) == 1; }, 30000);
}

//! The log of two runs of the flow that never overlapped.
QStringList twoRunsOneAfterTheOther()
{
    return {QStringLiteral("start"), QStringLiteral("end"), QStringLiteral("start"), QStringLiteral("end")};
}

std::unique_ptr<ConnectionPool> makePool(const QString& url)
{
    return std::make_unique<ConnectionPool>(*DatabaseUrl::parse(url, nullptr), PoolOptions{2, 0, 30.0, 3600});
}

//! The start and end lines of the log, in the order written: runs that never overlap alternate.
QStringList logKinds(const QString& path)
{
    QFile f(path);
    if (!f.open(QIODevice::ReadOnly))
        return {};
    QStringList kinds;
    for (const QByteArray& line : f.readAll().split('\n')) {
        if (!line.isEmpty())
            kinds << QString::fromUtf8(line.split(' ').first());
    }
    return kinds;
}

QString logText(const QString& path)
{
    QFile f(path);
    f.open(QIODevice::ReadOnly);
    return QString::fromUtf8(f.readAll());
}

struct Setup {
    QTemporaryDir dir;
    QString flowPath;
    QString logPath;
    QStringList runArgs(const QString& url, int seconds) const
    {
        return {QStringLiteral("run"),     flowPath,
                QStringLiteral("--param"), QStringLiteral("log=") + logPath,
                QStringLiteral("--param"), QStringLiteral("seconds=%1").arg(seconds),
                QStringLiteral("--db"),    url};
    }
};

std::unique_ptr<Setup> setUp(const char* onLimit)
{
    auto s = std::make_unique<Setup>();
    s->flowPath = s->dir.filePath(QStringLiteral("limited.json"));
    s->logPath = s->dir.filePath(QStringLiteral("log.txt"));
    QFile f(s->flowPath);
    f.open(QIODevice::WriteOnly);
    f.write(limitedFlow(onLimit));
    return s;
}

} // namespace

class TestRunLimits : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void enqueueTwoProcesses_data() { addBackendRows(); }
    void enqueueTwoProcesses();
    void skipSecondProcess_data() { addBackendRows(); }
    void skipSecondProcess();
    void dashboardWaitsForProcess_data() { addBackendRows(); }
    void dashboardWaitsForProcess();
    void interruptWhileWaiting_data() { addBackendRows(); }
    void interruptWhileWaiting();
    void dashboardRetryWaitsForProcess_data() { addBackendRows(); }
    void dashboardRetryWaitsForProcess();
    void pausedRunKeepsItsPlace_data() { addBackendRows(); }
    void pausedRunKeepsItsPlace();
    void rerunWaitsAndCancelRequestEndsWait_data() { addBackendRows(); }
    void rerunWaitsAndCancelRequestEndsWait();
};

void TestRunLimits::enqueueTwoProcesses()
{
    QFETCH(QString, backend);
    FLOWDECK_FRESH_DATABASE(url, backend);
    const auto s = setUp("enqueue");
    // At the same instant: both count the flow's active runs at once.
    std::unique_ptr<QProcess> first(startCli(s->runArgs(url, 2)));
    std::unique_ptr<QProcess> second(startCli(s->runArgs(url, 2)));
    auto pool = makePool(url);
    // The one that lost waits, stored SCHEDULED with the reason, and `runs ls` shows it.
    QVERIFY(waitForOne(*pool, "SCHEDULED", "AwaitingConcurrencySlot"));
    const CliResult ls
        = runCli({QStringLiteral("runs"), QStringLiteral("ls"), QStringLiteral("--state"),
                  QStringLiteral("SCHEDULED"), QStringLiteral("--json"), QStringLiteral("--db"), url});
    QVERIFY2(ls.out.contains(QStringLiteral("waiting: 1 of max_active_runs 1 of flow one-at-a-time active")),
             qPrintable(ls.out + ls.err));
    const CliResult a = finish(*first, 60000);
    const CliResult b = finish(*second, 60000);
    QVERIFY2(a.exitCode == 0, qPrintable(a.out + a.err));
    QVERIFY2(b.exitCode == 0, qPrintable(b.out + b.err));
    const QString printed = a.out + b.out;
    QVERIFY2(printed.contains(QStringLiteral("SCHEDULED (AwaitingConcurrencySlot) - waiting: 1 of "
                                             "max_active_runs 1 of flow one-at-a-time active")),
             qPrintable(printed));
    // Never overlapping: the second task started after the first ended.
    QCOMPARE(logKinds(s->logPath), twoRunsOneAfterTheOther());
    const QList<Row> rows = flowRuns(*pool);
    QCOMPARE(rows.size(), 2);
    for (const Row& r : rows)
        QCOMPARE(r.state, QStringLiteral("COMPLETED"));
    const Row& early = rows[0].endedUs <= rows[1].endedUs ? rows[0] : rows[1];
    const Row& late = &early == &rows[0] ? rows[1] : rows[0];
    QVERIFY2(late.startedUs >= early.endedUs, qPrintable(logText(s->logPath)));
}

void TestRunLimits::skipSecondProcess()
{
    QFETCH(QString, backend);
    FLOWDECK_FRESH_DATABASE(url, backend);
    const auto s = setUp("skip");
    std::unique_ptr<QProcess> first(startCli(s->runArgs(url, 4)));
    auto pool = makePool(url);
    QVERIFY(waitForOne(*pool, "RUNNING"));
    const QStringList args = s->runArgs(url, 0);
    const CliResult skipped = runCli(args);
    QVERIFY2(skipped.exitCode == 3, qPrintable(describe(args, skipped)));
    QVERIFY2(
        skipped.err.contains(QStringLiteral("skipped: 1 of max_active_runs 1 of flow one-at-a-time active "
                                            "(on_limit skip)")),
        qPrintable(describe(args, skipped)));
    const CliResult a = finish(*first, 60000);
    QVERIFY2(a.exitCode == 0, qPrintable(a.out + a.err));
    // --help says which exit code that is.
    const CliResult help = runCli({QStringLiteral("run"), QStringLiteral("--help")});
    QVERIFY2(help.out.contains(QStringLiteral("3 skipped by max_active_runs")), qPrintable(help.out));
    QCOMPARE(logKinds(s->logPath), (QStringList{QStringLiteral("start"), QStringLiteral("end")}));
    QCOMPARE(countRows(*pool, QStringLiteral("COMPLETED")), 1);
    QCOMPARE(countRows(*pool, QStringLiteral("CANCELLED")), 1);
    for (const Row& r : flowRuns(*pool)) {
        if (r.state == u"CANCELLED")
            QVERIFY2(r.message.startsWith(QStringLiteral("skipped: 1 of max_active_runs 1")),
                     qPrintable(r.message));
    }
}

//! The dashboard's Start of the flow while a `flowdeck run` of it runs: stored waiting, started in the
//! dashboard's engine once the other ended.
void TestRunLimits::dashboardWaitsForProcess()
{
    QFETCH(QString, backend);
    FLOWDECK_FRESH_DATABASE(url, backend);
    const auto s = setUp("enqueue");
    std::unique_ptr<QProcess> other(startCli(s->runArgs(url, 3)));
    auto pool = makePool(url);
    QVERIFY(waitForOne(*pool, "RUNNING"));

    AppContext context;
    QVERIFY(context.database().open(url));
    QTRY_VERIFY_WITH_TIMEOUT(context.database().state() == DatabaseState::Open, 20000);
    QVERIFY(context.runLimits());
    QSignalSpy started(&context, &AppContext::limitedRunStarted);
    ValidationErrors errors;
    QJsonObject overrides{{QStringLiteral("log"), s->logPath}, {QStringLiteral("seconds"), 0}};
    QVERIFY(!context.startFlow(QJsonDocument::fromJson(limitedFlow("enqueue")).object(),
                               QStringLiteral("limited.json"), overrides, &errors));
    QVERIFY(errors.isEmpty());
    QVERIFY(waitForOne(*pool, "SCHEDULED", "AwaitingConcurrencySlot"));
    QCOMPARE(context.runLimits()->waitingIds().size(), 1);
    QVERIFY(started.isEmpty());
    const CliResult a = finish(*other, 60000);
    QVERIFY2(a.exitCode == 0, qPrintable(a.out + a.err));
    QTRY_COMPARE_WITH_TIMEOUT(started.size(), 1, 20000);
    QTRY_VERIFY_WITH_TIMEOUT(countRows(*pool, QStringLiteral("COMPLETED")) == 2, 20000);
    QCOMPARE(logKinds(s->logPath), twoRunsOneAfterTheOther());
    QVERIFY(context.cancelAllAndWait(10000));
}

//! The dashboard's Retry of a run of the flow while a `flowdeck run` of it runs: the retried run waits
//! (SCHEDULED with the reason) and runs once the other ended, never beside it.
void TestRunLimits::dashboardRetryWaitsForProcess()
{
    QFETCH(QString, backend);
    FLOWDECK_FRESH_DATABASE(url, backend);
    const auto s = setUp("enqueue");
    // A cancelled run to retry: one that waited for its place and was interrupted.
    std::unique_ptr<QProcess> first(startCli(s->runArgs(url, 4)));
    auto pool = makePool(url);
    QVERIFY(waitForOne(*pool, "RUNNING"));
    std::unique_ptr<QProcess> waiting(startCli(s->runArgs(url, 0)));
    QVERIFY(waitForOne(*pool, "SCHEDULED", "AwaitingConcurrencySlot"));
    ::kill(pid_t(waiting->processId()), SIGINT);
    QCOMPARE(finish(*waiting, 20000).exitCode, 130);
    QString cancelledId;
    for (const Row& r : flowRuns(*pool)) {
        if (r.state == u"CANCELLED")
            cancelledId = r.id;
    }
    QVERIFY(!cancelledId.isEmpty());

    AppContext context;
    QVERIFY(context.database().open(url));
    QTRY_VERIFY_WITH_TIMEOUT(context.database().state() == DatabaseState::Open, 20000);
    QVERIFY(context.runLimits());
    FlowRun* cancelled = nullptr;
    QTRY_VERIFY_WITH_TIMEOUT(
        [&] {
            context.history().reload();
            for (FlowRun* r : context.history().runs()) {
                if (r->id.toString() == cancelledId)
                    cancelled = r;
            }
            return cancelled != nullptr;
        }(),
        20000);
    QCOMPARE(context.operations().retry({cancelled}), 1);
    // The first still runs: the retried run waits with the reason, and has not started.
    QVERIFY(waitForOne(*pool, "SCHEDULED", "AwaitingConcurrencySlot"));
    QCOMPARE(logKinds(s->logPath), QStringList{QStringLiteral("start")});
    const CliResult a = finish(*first, 60000);
    QVERIFY2(a.exitCode == 0, qPrintable(a.out + a.err));
    QTRY_VERIFY_WITH_TIMEOUT(countRows(*pool, QStringLiteral("COMPLETED")) == 2, 30000);
    QCOMPARE(logKinds(s->logPath), twoRunsOneAfterTheOther());
    QVERIFY(context.cancelAllAndWait(10000));
}

//! A PAUSED run of the flow keeps its place: a new run waits until the paused one was resumed and ended.
void TestRunLimits::pausedRunKeepsItsPlace()
{
    QFETCH(QString, backend);
    FLOWDECK_FRESH_DATABASE(url, backend);
    const auto s = setUp("enqueue");
    std::unique_ptr<QProcess> first(startCli(s->runArgs(url, 3)));
    auto pool = makePool(url);
    QVERIFY(waitForOne(*pool, "RUNNING"));
    const QString firstId = flowRuns(*pool).first().id;
    // Grace 0: its running task is stopped now and runs again on resume, so the run stays under way.
    const CliResult pause
        = runCli({QStringLiteral("runs"), QStringLiteral("pause"), firstId, QStringLiteral("--grace"),
                  QStringLiteral("0"), QStringLiteral("--db"), url});
    QVERIFY2(pause.exitCode == 0, qPrintable(pause.out + pause.err));
    QVERIFY(waitForOne(*pool, "PAUSED"));
    std::unique_ptr<QProcess> second(startCli(s->runArgs(url, 0)));
    QVERIFY(waitForOne(*pool, "SCHEDULED", "AwaitingConcurrencySlot"));
    QCOMPARE(logKinds(s->logPath), QStringList{QStringLiteral("start")});
    const CliResult resume
        = runCli({QStringLiteral("runs"), QStringLiteral("resume"), firstId, QStringLiteral("--db"), url});
    QVERIFY2(resume.exitCode == 0, qPrintable(resume.out + resume.err));
    const CliResult a = finish(*first, 60000);
    QVERIFY2(a.exitCode == 0, qPrintable(a.out + a.err));
    const CliResult b = finish(*second, 60000);
    QVERIFY2(b.exitCode == 0, qPrintable(b.out + b.err));
    QCOMPARE(countRows(*pool, QStringLiteral("COMPLETED")), 2);
    // The stopped attempt, the first run again after the resume, then the second.
    QCOMPARE(logKinds(s->logPath),
             (QStringList{QStringLiteral("start"), QStringLiteral("start"), QStringLiteral("end"),
                          QStringLiteral("start"), QStringLiteral("end")}));
}

//! Ctrl+C of a `flowdeck run` that waits for its place: CANCELLED with the reason, exit 130, and the
//! run never starts.
void TestRunLimits::interruptWhileWaiting()
{
    QFETCH(QString, backend);
    FLOWDECK_FRESH_DATABASE(url, backend);
    const auto s = setUp("enqueue");
    std::unique_ptr<QProcess> first(startCli(s->runArgs(url, 4)));
    auto pool = makePool(url);
    QVERIFY(waitForOne(*pool, "RUNNING"));
    std::unique_ptr<QProcess> waiting(startCli(s->runArgs(url, 0)));
    QVERIFY(waitForOne(*pool, "SCHEDULED", "AwaitingConcurrencySlot"));
    ::kill(pid_t(waiting->processId()), SIGINT);
    const CliResult b = finish(*waiting, 20000);
    QVERIFY2(b.exitCode == 130, qPrintable(b.out + b.err));
    QVERIFY2(b.err.contains(QStringLiteral("cancelled while it waited")), qPrintable(b.err));
    const CliResult a = finish(*first, 60000);
    QVERIFY2(a.exitCode == 0, qPrintable(a.out + a.err));
    QCOMPARE(logKinds(s->logPath), (QStringList{QStringLiteral("start"), QStringLiteral("end")}));
    QCOMPARE(countRows(*pool, QStringLiteral("COMPLETED")), 1);
    QCOMPARE(countRows(*pool, QStringLiteral("CANCELLED")), 1);
    for (const Row& r : flowRuns(*pool)) {
        if (r.state == u"CANCELLED")
            QVERIFY2(r.message.contains(
                         QStringLiteral("cancelled by SIGINT while waiting for its max_active_runs")),
                     qPrintable(r.message));
    }
}

//! `runs rerun` (which runs as `flowdeck run` does) waits for the flow's place too; a cancel requested
//! from elsewhere (`runs cancel`, as the dashboard's Cancel of a stored run) ends a wait CANCELLED.
void TestRunLimits::rerunWaitsAndCancelRequestEndsWait()
{
    QFETCH(QString, backend);
    FLOWDECK_FRESH_DATABASE(url, backend);
    const auto s = setUp("enqueue");
    const CliResult firstRun = runCli(s->runArgs(url, 0));
    QVERIFY2(firstRun.exitCode == 0, qPrintable(firstRun.out + firstRun.err));
    auto pool = makePool(url);
    const QString firstId = flowRuns(*pool).first().id;
    std::unique_ptr<QProcess> running(startCli(s->runArgs(url, 3)));
    QVERIFY(waitForOne(*pool, "RUNNING"));
    std::unique_ptr<QProcess> rerun(
        startCli({QStringLiteral("runs"), QStringLiteral("rerun"), firstId, QStringLiteral("--db"), url}));
    QVERIFY(waitForOne(*pool, "SCHEDULED", "AwaitingConcurrencySlot"));
    std::unique_ptr<QProcess> cancelled(startCli(s->runArgs(url, 0)));
    QTRY_VERIFY_WITH_TIMEOUT(
        countRows(*pool, QStringLiteral("SCHEDULED"), QStringLiteral("AwaitingConcurrencySlot")) == 2, 30000);
    // The newest waiting one (the plain run) is asked to cancel from another process.
    QString newest;
    for (const Row& r : flowRuns(*pool)) {
        if (r.stateName == u"AwaitingConcurrencySlot")
            newest = r.id;
    }
    const CliResult cancel
        = runCli({QStringLiteral("runs"), QStringLiteral("cancel"), newest, QStringLiteral("--db"), url});
    QVERIFY2(cancel.exitCode == 0, qPrintable(cancel.out + cancel.err));
    const CliResult c = finish(*cancelled, 30000);
    const CliResult r = finish(*rerun, 60000);
    const CliResult a = finish(*running, 60000);
    QVERIFY2(a.exitCode == 0, qPrintable(a.out + a.err));
    QVERIFY2(r.exitCode == 0, qPrintable(r.out + r.err));
    QVERIFY2(c.exitCode == 130 && c.err.contains(QStringLiteral("cancelled while it waited")),
             qPrintable(c.out + c.err));
    QCOMPARE(countRows(*pool, QStringLiteral("CANCELLED")), 1);
    QCOMPARE(countRows(*pool, QStringLiteral("COMPLETED")), 3);
    for (const Row& row : flowRuns(*pool)) {
        if (row.state == u"CANCELLED")
            QVERIFY2(row.message.contains(QStringLiteral("cancelled while waiting for its max_active_runs")),
                     qPrintable(row.message));
    }
    // Never two at once: starts and ends alternating (the first run, the running one, the rerun).
    const QStringList kinds = logKinds(s->logPath);
    QCOMPARE(kinds.size(), 6);
    for (int i = 0; i < kinds.size(); ++i)
        QCOMPARE(kinds[i], i % 2 == 0 ? QStringLiteral("start") : QStringLiteral("end"));
}

int main(int argc, char** argv)
{
    if (qEnvironmentVariableIsEmpty("QT_QPA_PLATFORM"))
        qputenv("QT_QPA_PLATFORM", "offscreen");
    QApplication app(argc, argv);
    TestRunLimits test;
    return QTest::qExec(&test, argc, argv);
}

#include "tst_runlimits.moc"
