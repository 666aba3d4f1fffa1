// Retry, run again, pause and resume of stored flow runs through the real binary: `flowdeck run`
// children write the runs, `flowdeck runs retry|rerun|pause|resume` operate on them from other
// processes, and shell tasks that append to files count what really ran. SQLite files and the
// PostgreSQL server in FLOWDECK_TEST_PG.
#include "cliutil.h"
#include "testutil.h"

#include <QDir>
#include <QElapsedTimer>
#include <QFile>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QProcess>
#include <QSet>
#include <QTemporaryDir>
#include <QTest>

#include <csignal>
#include <memory>

using namespace flowdeck;
using namespace flowdeck::test;

namespace {

//! a, then b[0..3] (b[2] fails until DIR/fixed exists), then c; d on its own. Every run appends a line
//! to DIR/<task>.
QByteArray failingFlow(const QString& dir)
{
    return QStringLiteral(R"({
  "name": "rc-fail",
  "tasks": [
    {"id": "a", "kind": "shell", "command": ["sh", "-c", "echo a >> %1/a"]},
    {"id": "b", "kind": "shell", "map": 4, "depends_on": ["a"],
     "command": ["sh", "-c", "echo {{map_index}} >> %1/b; test {{map_index}} != 2 || test -e %1/fixed"]},
    {"id": "c", "kind": "shell", "depends_on": ["b"], "command": ["sh", "-c", "echo c >> %1/c"]},
    {"id": "d", "kind": "shell", "command": ["sh", "-c", "echo d >> %1/d"]}
  ]
})")
        .arg(dir)
        .toUtf8();
}

//! a, then b, which waits long unless DIR/fast exists: a run to kill while b runs.
QByteArray slowFlow(const QString& dir)
{
    return QStringLiteral(R"({
  "name": "rc-slow",
  "tasks": [
    {"id": "a", "kind": "shell", "command": ["sh", "-c", "echo a >> %1/a"]},
    {"id": "b", "kind": "shell", "depends_on": ["a"],
     "command": ["sh", "-c", "echo b >> %1/b; test -e %1/fast || sleep 60"]}
  ]
})")
        .arg(dir)
        .toUtf8();
}

//! Eight steps one after another, each appending its number to DIR/chain and taking 0.3 s.
QByteArray chainFlow(const QString& dir)
{
    QJsonArray tasks;
    for (int i = 0; i < 8; ++i) {
        QJsonObject task{{QStringLiteral("id"), QStringLiteral("s%1").arg(i)},
                         {QStringLiteral("kind"), QStringLiteral("shell")},
                         {QStringLiteral("command"),
                          QJsonArray{QStringLiteral("sh"), QStringLiteral("-c"),
                                     QStringLiteral("echo %1 >> %2/chain; sleep 0.3").arg(i).arg(dir)}}};
        if (i > 0)
            task.insert(QStringLiteral("depends_on"), QJsonArray{QStringLiteral("s%1").arg(i - 1)});
        tasks.append(task);
    }
    return QJsonDocument(QJsonObject{{QStringLiteral("name"), QStringLiteral("rc-chain")},
                                     {QStringLiteral("tasks"), tasks}})
        .toJson();
}

//! A parameter that reaches the file it writes to.
QByteArray wordFlow(const QString& dir)
{
    return QStringLiteral(R"({
  "name": "rc-word",
  "parameters": {"word": "first"},
  "tasks": [{"id": "say", "kind": "shell", "command": ["sh", "-c", "echo {{word}} >> %1/words"]}]
})")
        .arg(dir)
        .toUtf8();
}

QStringList linesOf(const QString& path)
{
    QFile f(path);
    if (!f.open(QIODevice::ReadOnly))
        return {};
    return QString::fromUtf8(f.readAll()).split(u'\n', Qt::SkipEmptyParts);
}

QString writeFile(const QString& path, const QByteArray& content)
{
    QFile f(path);
    if (!f.open(QIODevice::WriteOnly) || f.write(content) != content.size())
        qFatal("cannot write %s", qPrintable(path));
    return path;
}

//! The flow run's state, state name, run_count and message, as stored.
QVariantList flowRow(const Db& db, const QString& id)
{
    return db
        .rows(QStringLiteral("SELECT state, state_name, run_count, message, worker, pause_requested "
                             "FROM flow_runs WHERE id = ?"),
              {id})
        .value(0);
}

struct Backend {
    QString url;
};

} // namespace

class TestRunControl : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void initTestCase() { QVERIFY(QFile::exists(flowdeckBinary())); }

    void retryRunsOnlyWhatDidNotComplete_data() { addBackendRows(); }
    void retryRunsOnlyWhatDidNotComplete();
    void retryCrashedRunFromAnotherProcess_data() { addBackendRows(); }
    void retryCrashedRunFromAnotherProcess();
    void retryThroughTheQueue_data() { addBackendRows(); }
    void retryThroughTheQueue();
    void rerunWithChangedParameter_data() { addBackendRows(); }
    void rerunWithChangedParameter();
    void pauseThenResumeInAnotherProcess_data() { addBackendRows(); }
    void pauseThenResumeInAnotherProcess();
    void pausedRunSurvivesItsProcessBeingKilled_data() { addBackendRows(); }
    void pausedRunSurvivesItsProcessBeingKilled();
    void refusedOperationsWriteNothing_data() { addBackendRows(); }
    void refusedOperationsWriteNothing();

private:
    //! A fresh database of \a backend; empty (with a warning) when the server refuses.
    QString databaseUrl(const QString& backend);
    QString newDir();
    //! Runs FLOW to its end with `flowdeck run`; returns the flow run id.
    QString runToEnd(const Backend& b, const QString& flow, int expectedExit);

    std::vector<std::unique_ptr<QTemporaryDir>> m_dirs;
};

QString TestRunControl::databaseUrl(const QString& backend)
{
    QString error;
    const QString url = freshDatabaseUrl(backend, &error);
    if (url.isEmpty())
        qWarning("no database: %s", qPrintable(error));
    return url;
}

QString TestRunControl::newDir()
{
    m_dirs.push_back(std::make_unique<QTemporaryDir>());
    return m_dirs.back()->path();
}

QString TestRunControl::runToEnd(const Backend& b, const QString& flow, int expectedExit)
{
    const QStringList args{QStringLiteral("run"), flow, QStringLiteral("--db"), b.url};
    const CliResult r = runCli(args);
    if (r.exitCode != expectedExit)
        qWarning().noquote() << describe(args, r);
    if (r.exitCode != expectedExit)
        return {};
    Db db(b.url);
    return db.value(QStringLiteral("SELECT id FROM flow_runs ORDER BY created_at DESC LIMIT 1")).toString();
}

// A test over one backend row: the PostgreSQL row runs in CI (it fails there without a server).
#define OPEN_BACKEND(b)                                                                                      \
    QFETCH(QString, backend);                                                                                \
    FLOWDECK_REQUIRE_BACKEND(backend);                                                                       \
    Backend b{databaseUrl(backend)};                                                                         \
    QVERIFY(!b.url.isEmpty());

void TestRunControl::retryRunsOnlyWhatDidNotComplete()
{
    OPEN_BACKEND(b);
    const QString dir = newDir();
    const QString flow = writeFile(dir + QStringLiteral("/fail.json"), failingFlow(dir));
    const QString id = runToEnd(b, flow, 1);
    QVERIFY(!id.isEmpty());
    QCOMPARE(linesOf(dir + QStringLiteral("/b")).size(), 4);
    QCOMPARE(linesOf(dir + QStringLiteral("/c")).size(), 0);

    writeFile(dir + QStringLiteral("/fixed"), "");
    // The short id the window shows (its last 8 hex digits) works here.
    const QString shortId = QString(id).remove(u'-').right(8);
    const QStringList args{QStringLiteral("runs"),   QStringLiteral("retry"), shortId,
                           QStringLiteral("--json"), QStringLiteral("--db"),  b.url};
    const CliResult r = runCli(args);
    QVERIFY2(r.exitCode == 0, qPrintable(describe(args, r)));
    // Printed as `flowdeck run --json` prints: one object per line, with the same flow run id.
    const QStringList lines = r.out.split(u'\n', Qt::SkipEmptyParts);
    QVERIFY(!lines.isEmpty());
    for (const QString& line : lines) {
        const QJsonObject o = QJsonDocument::fromJson(line.toUtf8()).object();
        QVERIFY2(!o.isEmpty(), qPrintable(line));
        QCOMPARE(o.value(QStringLiteral("flow_run_id")).toString(), id);
    }

    // Only b[2] and c ran again; a, the other b runs and d kept their results.
    QCOMPARE(linesOf(dir + QStringLiteral("/a")).size(), 1);
    QStringList bLines = linesOf(dir + QStringLiteral("/b")); // the map's runs run in any order
    bLines.sort();
    QCOMPARE(bLines,
             (QStringList{QStringLiteral("0"), QStringLiteral("1"), QStringLiteral("2"), QStringLiteral("2"),
                          QStringLiteral("3")}));
    QCOMPARE(linesOf(dir + QStringLiteral("/c")).size(), 1);
    QCOMPARE(linesOf(dir + QStringLiteral("/d")).size(), 1);

    Db db(b.url);
    QCOMPARE(db.count(QStringLiteral("SELECT count(*) FROM flow_runs")), 1);
    QCOMPARE(flowRow(db, id).value(0).toString(), QStringLiteral("COMPLETED"));
    QCOMPARE(db.count(QStringLiteral("SELECT count(*) FROM task_runs WHERE flow_run_id = ?"), {id}), 7);
    // Attempts go on from where they were.
    QCOMPARE(db.count(QStringLiteral("SELECT attempts FROM task_runs WHERE task = 'b' AND map_index = 2")),
             2);
    QCOMPARE(db.count(QStringLiteral("SELECT attempts FROM task_runs WHERE task = 'b' AND map_index = 1")),
             1);
    // The counts kept in the flow run's row agree with its task runs.
    QCOMPARE(db.count(QStringLiteral("SELECT tr_completed FROM flow_runs WHERE id = ?"), {id}), 7);
    QCOMPARE(db.count(QStringLiteral("SELECT tr_failed FROM flow_runs WHERE id = ?"), {id}), 0);
    // Through AwaitingRetry, as Prefect does, and the history of b[2] keeps its failure.
    QVERIFY(db.count(QStringLiteral("SELECT count(*) FROM state_history WHERE flow_run_id = ? AND "
                                    "task_run_id IS NULL AND name = 'AwaitingRetry'"),
                     {id})
            >= 1);
    QCOMPARE(db.count(QStringLiteral("SELECT count(*) FROM state_history h JOIN task_runs t ON "
                                     "t.id = h.task_run_id WHERE t.task = 'b' AND t.map_index = 2 AND "
                                     "h.state = 'FAILED'")),
             1);
}

void TestRunControl::retryCrashedRunFromAnotherProcess()
{
    OPEN_BACKEND(b);
    const QString dir = newDir();
    const QString flow = writeFile(dir + QStringLiteral("/slow.json"), slowFlow(dir));
    std::unique_ptr<QProcess> first(startCli({QStringLiteral("run"), flow, QStringLiteral("--db"), b.url}));
    Db db(b.url);
    // b's body runs once its RUNNING is stored: its line in the file says it started.
    QVERIFY2(waitUntil([&] { return linesOf(dir + QStringLiteral("/b")).size() == 1; }, 30000),
             "b never ran");
    const QString id = db.value(QStringLiteral("SELECT id FROM flow_runs")).toString();
    ::kill(pid_t(first->processId()), SIGKILL);
    first->waitForFinished(10000);

    writeFile(dir + QStringLiteral("/fast"), "");
    const QStringList args{QStringLiteral("runs"), QStringLiteral("retry"), id, QStringLiteral("--db"),
                           b.url};
    const CliResult r = runCli(args);
    // Opening the database found the dead process's run (CRASHED), and the retry took it.
    QVERIFY2(r.exitCode == 0, qPrintable(describe(args, r)));
    QVERIFY2(r.out.contains(QStringLiteral("COMPLETED")), qPrintable(r.out));
    QCOMPARE(flowRow(db, id).value(0).toString(), QStringLiteral("COMPLETED"));
    QCOMPARE(linesOf(dir + QStringLiteral("/a")).size(), 1);
    QCOMPARE(linesOf(dir + QStringLiteral("/b")).size(), 2);
    QCOMPARE(db.count(QStringLiteral("SELECT count(*) FROM state_history WHERE flow_run_id = ? AND "
                                     "task_run_id IS NULL AND state = 'CRASHED'"),
                      {id}),
             1);
}

void TestRunControl::retryThroughTheQueue()
{
    OPEN_BACKEND(b);
    const QString dir = newDir();
    const QString flow = writeFile(dir + QStringLiteral("/fail.json"), failingFlow(dir));
    const QString id = runToEnd(b, flow, 1);
    QVERIFY(!id.isEmpty());
    writeFile(dir + QStringLiteral("/fixed"), "");
    const QStringList args{QStringLiteral("runs"),    QStringLiteral("retry"), id,
                           QStringLiteral("--queue"), QStringLiteral("--db"),  b.url};
    const CliResult r = runCli(args);
    QVERIFY2(r.exitCode == 0, qPrintable(describe(args, r)));
    QCOMPARE(r.out.trimmed().split(u' ').last(), id); // the id is the last word, as `submit` prints it
    Db db(b.url);
    QCOMPARE(flowRow(db, id).value(1).toString(), QStringLiteral("AwaitingRetry"));
    QVERIFY(flowRow(db, id).value(4).isNull()); // no process holds it: the queue does

    std::unique_ptr<QProcess> worker(startCli({QStringLiteral("worker"), QStringLiteral("--poll-seconds"),
                                               QStringLiteral("0.1"), QStringLiteral("--db"), b.url}));
    const bool done
        = waitUntil([&] { return flowRow(db, id).value(0).toString() == QLatin1String("COMPLETED"); }, 30000);
    ::kill(pid_t(worker->processId()), SIGTERM);
    worker->waitForFinished(15000);
    QVERIFY2(done,
             qPrintable(flowRow(db, id).value(3).toString() + QStringLiteral("\nworker: ")
                        + QString::fromUtf8(worker->readAllStandardError())));
    QCOMPARE(linesOf(dir + QStringLiteral("/a")).size(), 1);
    QCOMPARE(linesOf(dir + QStringLiteral("/b")).size(), 5);
    QCOMPARE(linesOf(dir + QStringLiteral("/c")).size(), 1);
    QCOMPARE(db.count(QStringLiteral("SELECT count(*) FROM task_runs WHERE flow_run_id = ?"), {id}), 7);
}

void TestRunControl::rerunWithChangedParameter()
{
    OPEN_BACKEND(b);
    const QString dir = newDir();
    const QString flow = writeFile(dir + QStringLiteral("/word.json"), wordFlow(dir));
    const QString id = runToEnd(b, flow, 0);
    QVERIFY(!id.isEmpty());
    QFile::remove(flow); // the stored document is what runs again, not the file

    const QStringList args{
        QStringLiteral("runs"),        QStringLiteral("rerun"), id,   QStringLiteral("--param"),
        QStringLiteral("word=second"), QStringLiteral("--db"),  b.url};
    const CliResult r = runCli(args);
    QVERIFY2(r.exitCode == 0, qPrintable(describe(args, r)));
    QCOMPARE(linesOf(dir + QStringLiteral("/words")),
             (QStringList{QStringLiteral("first"), QStringLiteral("second")}));

    Db db(b.url);
    const QList<QVariantList> runs = db.rows(
        QStringLiteral("SELECT id, state, parameters, started_by FROM flow_runs ORDER BY created_at"));
    QCOMPARE(runs.size(), 2);
    QVERIFY(runs[1][0].toString() != id);
    QCOMPARE(runs[1][1].toString(), QStringLiteral("COMPLETED"));
    QCOMPARE(QJsonDocument::fromJson(runs[1][2].toString().toUtf8())
                 .object()
                 .value(QStringLiteral("word"))
                 .toString(),
             QStringLiteral("second"));
    QVERIFY2(runs[1][3].toString().contains(QStringLiteral("runs rerun")), qPrintable(runs[1][3].toString()));
    QVERIFY2(runs[0][3].toString().contains(QStringLiteral("flowdeck run")),
             qPrintable(runs[0][3].toString()));

    // Queued: the id of the new run is the last word, and it waits for a worker.
    const CliResult queued = runCli({QStringLiteral("runs"), QStringLiteral("rerun"), id,
                                     QStringLiteral("--queue"), QStringLiteral("--db"), b.url});
    QCOMPARE(queued.exitCode, 0);
    const QString newId = queued.out.trimmed().split(u' ').last();
    QCOMPARE(flowRow(db, newId).value(0).toString(), QStringLiteral("SCHEDULED"));

    // A bad override: exit 2, nothing new stored.
    const CliResult bad
        = runCli({QStringLiteral("runs"), QStringLiteral("rerun"), id, QStringLiteral("--param"),
                  QStringLiteral("nosuch=1"), QStringLiteral("--db"), b.url});
    QCOMPARE(bad.exitCode, 2);
    QVERIFY2(bad.err.contains(QStringLiteral("nosuch")), qPrintable(bad.err));
    QCOMPARE(db.count(QStringLiteral("SELECT count(*) FROM flow_runs")), 3);
}

void TestRunControl::pauseThenResumeInAnotherProcess()
{
    OPEN_BACKEND(b);
    const QString dir = newDir();
    const QString flow = writeFile(dir + QStringLiteral("/chain.json"), chainFlow(dir));
    std::unique_ptr<QProcess> first(startCli({QStringLiteral("run"), flow, QStringLiteral("--db"), b.url}));
    Db db(b.url);
    QVERIFY2(waitUntil([&] { return linesOf(dir + QStringLiteral("/chain")).size() >= 2; }, 30000),
             "the chain never started");
    const QString id = db.value(QStringLiteral("SELECT id FROM flow_runs")).toString();

    QElapsedTimer latency;
    latency.start();
    const QStringList pauseArgs{QStringLiteral("runs"), QStringLiteral("pause"), id, QStringLiteral("--db"),
                                b.url};
    const CliResult paused = runCli(pauseArgs);
    QVERIFY2(paused.exitCode == 0, qPrintable(describe(pauseArgs, paused)));
    // The running process applied it within its poll (the command waits to see it, at most 5 s).
    QVERIFY2(paused.out.contains(QStringLiteral("is PAUSED")), qPrintable(paused.out));
    qInfo("pause across processes applied after %lld ms (including the command's start)", latency.elapsed());
    QCOMPARE(flowRow(db, id).value(0).toString(), QStringLiteral("PAUSED"));
    QVERIFY2(flowRow(db, id).value(3).toString().contains(QStringLiteral("runs pause")),
             qPrintable(flowRow(db, id).value(3).toString()));

    // The step that ran when it paused finishes; nothing starts after it.
    QVERIFY(waitUntil(
        [&] {
            return db.count(QStringLiteral("SELECT count(*) FROM task_runs WHERE state = "
                                           "'RUNNING'"))
                == 0;
        },
        10000));
    const int stepsWhenPaused = int(linesOf(dir + QStringLiteral("/chain")).size());
    QTest::qWait(1000);
    QCOMPARE(int(linesOf(dir + QStringLiteral("/chain")).size()), stepsWhenPaused);
    QVERIFY(stepsWhenPaused < 8);

    // Its process stops: the run stays PAUSED (not CRASHED), for any process to resume.
    ::kill(pid_t(first->processId()), SIGINT);
    const CliResult firstEnd = finish(*first, 15000);
    QCOMPARE(firstEnd.exitCode, 130);
    QVERIFY2(firstEnd.out.contains(QStringLiteral("leaving it PAUSED")), qPrintable(firstEnd.out));
    QCOMPARE(flowRow(db, id).value(0).toString(), QStringLiteral("PAUSED"));

    const QStringList resumeArgs{QStringLiteral("runs"), QStringLiteral("resume"), id.left(8),
                                 QStringLiteral("--db"), b.url};
    const CliResult resumed = runCli(resumeArgs);
    QVERIFY2(resumed.exitCode == 0, qPrintable(describe(resumeArgs, resumed)));
    QCOMPARE(flowRow(db, id).value(0).toString(), QStringLiteral("COMPLETED"));
    // Every step ran exactly once, in order.
    QStringList expected;
    for (int i = 0; i < 8; ++i)
        expected << QString::number(i);
    QCOMPARE(linesOf(dir + QStringLiteral("/chain")), expected);
    QCOMPARE(db.count(QStringLiteral("SELECT count(*) FROM task_runs WHERE attempts <> 1")), 0);
}

void TestRunControl::pausedRunSurvivesItsProcessBeingKilled()
{
    OPEN_BACKEND(b);
    const QString dir = newDir();
    const QString flow = writeFile(dir + QStringLiteral("/chain.json"), chainFlow(dir));
    std::unique_ptr<QProcess> first(startCli({QStringLiteral("run"), flow, QStringLiteral("--db"), b.url}));
    Db db(b.url);
    QVERIFY(waitUntil([&] { return !linesOf(dir + QStringLiteral("/chain")).isEmpty(); }, 30000));
    const QString id = db.value(QStringLiteral("SELECT id FROM flow_runs")).toString();
    // A grace of 0: the step running when the pause applies is stopped and runs again on resume.
    const CliResult paused
        = runCli({QStringLiteral("runs"), QStringLiteral("pause"), id, QStringLiteral("--grace"),
                  QStringLiteral("0"), QStringLiteral("--db"), b.url});
    QVERIFY2(paused.exitCode == 0 && paused.out.contains(QStringLiteral("is PAUSED")),
             qPrintable(paused.out));
    ::kill(pid_t(first->processId()), SIGKILL);
    first->waitForFinished(10000);

    // The next process to open the database finds its holder gone: PAUSED stays, held by nobody.
    const CliResult show
        = runCli({QStringLiteral("runs"), QStringLiteral("show"), id, QStringLiteral("--db"), b.url});
    QCOMPARE(show.exitCode, 0);
    QVERIFY2(show.out.contains(QStringLiteral("PAUSED")), qPrintable(show.out));
    QVERIFY2(show.out.contains(QStringLiteral("paused by:")), qPrintable(show.out));
    QVERIFY2(show.out.contains(QStringLiteral("started by:")), qPrintable(show.out));
    // A process that writes recovers the database first: the dead holder's PAUSED run is let go, not
    // crashed.
    QVERIFY(!runToEnd(b, writeFile(dir + QStringLiteral("/word.json"), wordFlow(dir)), 0).isEmpty());
    QCOMPARE(flowRow(db, id).value(0).toString(), QStringLiteral("PAUSED"));
    QVERIFY(flowRow(db, id).value(4).isNull()); // held by nobody
    QCOMPARE(db.count(QStringLiteral("SELECT count(*) FROM task_runs WHERE state = 'RUNNING'")), 0);

    const CliResult resumed
        = runCli({QStringLiteral("runs"), QStringLiteral("resume"), id, QStringLiteral("--db"), b.url});
    QVERIFY2(resumed.exitCode == 0, qPrintable(resumed.out + resumed.err));
    QCOMPARE(flowRow(db, id).value(0).toString(), QStringLiteral("COMPLETED"));
    QSet<QString> steps;
    for (const QString& line : linesOf(dir + QStringLiteral("/chain")))
        steps.insert(line);
    QCOMPARE(steps.size(), 8); // every step ran (the stopped one twice)
}

void TestRunControl::refusedOperationsWriteNothing()
{
    OPEN_BACKEND(b);
    const QString dir = newDir();
    const QString done = runToEnd(b, writeFile(dir + QStringLiteral("/word.json"), wordFlow(dir)), 0);
    QVERIFY(!done.isEmpty());
    const QString flow = writeFile(dir + QStringLiteral("/slow.json"), slowFlow(dir));
    std::unique_ptr<QProcess> live(startCli({QStringLiteral("run"), flow, QStringLiteral("--db"), b.url}));
    Db db(b.url);
    QVERIFY(waitUntil(
        [&] {
            return db.count(QStringLiteral("SELECT count(*) FROM task_runs WHERE task = 'b' AND "
                                           "state = 'RUNNING'"))
                == 1;
        },
        30000));
    const QString active
        = db.value(QStringLiteral("SELECT id FROM flow_runs WHERE state = 'RUNNING'")).toString();
    const QVariantList doneBefore = flowRow(db, done);
    const QVariantList activeBefore = flowRow(db, active);

    struct Case {
        QStringList args;
        QString says;
    };
    const QString digits = QString(done).remove(u'-');
    const QList<Case> cases = {
        {{QStringLiteral("retry"), done}, QStringLiteral("it is COMPLETED")},
        {{QStringLiteral("retry"), active}, QStringLiteral("it is still RUNNING")},
        {{QStringLiteral("retry"), active, QStringLiteral("--queue")}, QStringLiteral("it is still RUNNING")},
        {{QStringLiteral("pause"), done}, QStringLiteral("it has finished (COMPLETED)")},
        {{QStringLiteral("resume"), done}, QStringLiteral("only a PAUSED run can be resumed")},
        {{QStringLiteral("resume"), active}, QStringLiteral("only a PAUSED run can be resumed")},
        {{QStringLiteral("retry"), QStringLiteral("ffffffffff")}, QStringLiteral("no flow run")},
        {{QStringLiteral("rerun"), QStringLiteral("ffffffffff")}, QStringLiteral("no flow run")},
        {{QStringLiteral("pause"), QStringLiteral("abc")}, QStringLiteral("at least 6")},
        // Both runs were made within the same second: their ids share the first 6 hex digits.
        {{QStringLiteral("retry"), digits.left(6)}, QStringLiteral("matches")},
        {{QStringLiteral("pause"), active, QStringLiteral("--grace"), QStringLiteral("-1")},
         QStringLiteral("--grace")},
    };
    for (const Case& c : cases) {
        const QStringList args
            = QStringList{QStringLiteral("runs")} + c.args + QStringList{QStringLiteral("--db"), b.url};
        const CliResult r = runCli(args);
        QVERIFY2(r.exitCode == 2, qPrintable(describe(args, r)));
        QVERIFY2(r.err.contains(c.says, Qt::CaseInsensitive), qPrintable(describe(args, r)));
    }
    QCOMPARE(flowRow(db, done), doneBefore);
    QCOMPARE(flowRow(db, active), activeBefore);
    QCOMPARE(db.count(QStringLiteral("SELECT count(*) FROM flow_runs")), 2);

    writeFile(dir + QStringLiteral("/fast"), "");
    ::kill(pid_t(live->processId()), SIGTERM);
    finish(*live, 15000);
}

QTEST_GUILESS_MAIN(TestRunControl)
#include "tst_runcontrol.moc"
