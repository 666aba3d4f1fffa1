// `flowdeck runs ls|show|logs|cancel`: the real binary against databases written by `flowdeck run`,
// on SQLite and on the PostgreSQL server in FLOWDECK_TEST_PG.
#include "cliutil.h"
#include "testutil.h"

#include <QDateTime>
#include <QElapsedTimer>
#include <QFile>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QProcess>
#include <QRegularExpression>
#include <QTemporaryDir>
#include <QTest>

#include <csignal>
#include <map>

using namespace flowdeck;
using namespace flowdeck::test;

namespace {

const QByteArray kHelloFlow = R"({
  "name": "c-hello",
  "tasks": [
    {"id": "greet", "kind": "shell", "command": ["echo", "hello from the cli test"]},
    {"id": "spread", "kind": "noop", "map": 2, "depends_on": ["greet"]}
  ]
})";

const QByteArray kFailFlow = R"({
  "name": "c-fail",
  "tasks": [{"id": "boom", "kind": "fail", "message": "failed for the cli test"}]
})";

const QByteArray kSleeperFlow = R"({
  "name": "c-sleeper",
  "tasks": [
    {"id": "say", "kind": "shell", "command": ["echo", "sleeper is up"]},
    {"id": "nap", "kind": "sleep", "seconds": 30}
  ]
})";

// Fails its first attempt (the marker file does not exist yet), then succeeds on the retry.
const QByteArray kRetryFlow = R"({
  "name": "c-retry",
  "parameters": {"word": "hi", "marker": "/nonexistent"},
  "tasks": [
    {"id": "flaky", "kind": "shell", "retries": 1,
     "command": ["sh", "-c", "echo try {{word}}; test -e {{marker}} || { touch {{marker}}; exit 3; }"]},
    {"id": "each", "kind": "shell", "map": 2, "depends_on": ["flaky"],
     "command": ["echo", "item {{map_index}} {{word}}"]}
  ]
})";

//! A database with three finished runs, oldest first: c-hello (COMPLETED), c-fail (FAILED), c-hello.
struct Fixture {
    QString db;
    QStringList ids; //!< oldest first
};

const QRegularExpression kIsoMs(QStringLiteral("^\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\d\\.\\d{3}Z$"));

} // namespace

class TestCliRuns : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void initTestCase();

    void lsHuman_data() { addBackendRows(); }
    void lsHuman();
    void lsJson_data() { addBackendRows(); }
    void lsJson();
    void lsFilters_data() { addBackendRows(); }
    void lsFilters();
    void showJson_data() { addBackendRows(); }
    void showJson();
    void showHuman_data() { addBackendRows(); }
    void showHuman();
    void logs_data() { addBackendRows(); }
    void logs();
    void cancelFinishedOrUnknown_data() { addBackendRows(); }
    void cancelFinishedOrUnknown();
    void cancelLiveRun_data() { addBackendRows(); }
    void cancelLiveRun();
    void showTask_data() { addBackendRows(); }
    void showTask();
    void shortIds_data() { addBackendRows(); }
    void shortIds();
    void badArguments_data();
    void badArguments();
    void help();

private:
    Fixture* fixture(const QString& backend);
    void build(Fixture& f);
    QJsonArray lsJsonOf(const Fixture& f, const QStringList& extra = {});

    QTemporaryDir m_dir;
    QString m_hello;
    QString m_fail;
    QString m_sleeper;
    std::map<QString, Fixture> m_fixtures;
};

#define USE_FIXTURE(f)                                                                                       \
    QFETCH(QString, backend);                                                                                \
    FLOWDECK_REQUIRE_BACKEND(backend);                                                                       \
    Fixture* f = fixture(backend);                                                                           \
    if (!f)                                                                                                  \
        return;

void TestCliRuns::initTestCase()
{
    QVERIFY2(QFile::exists(flowdeckBinary()),
             "FLOWDECK_BINARY must name the flowdeck executable (set by CTest)");
    QVERIFY(m_dir.isValid());
    auto write = [this](const QString& name, const QByteArray& json) {
        const QString path = m_dir.filePath(name);
        QFile file(path);
        if (!file.open(QIODevice::WriteOnly) || file.write(json) != json.size())
            qFatal("cannot write %s", qPrintable(path));
        return path;
    };
    m_hello = write(QStringLiteral("c-hello.json"), kHelloFlow);
    m_fail = write(QStringLiteral("c-fail.json"), kFailFlow);
    m_sleeper = write(QStringLiteral("c-sleeper.json"), kSleeperFlow);
}

Fixture* TestCliRuns::fixture(const QString& backend)
{
    auto it = m_fixtures.find(backend);
    if (it != m_fixtures.end()) {
        if (it->second.ids.size() == 3)
            return &it->second;
        QTest::qFail("the fixture of this backend failed in an earlier test", __FILE__, __LINE__);
        return nullptr;
    }
    Fixture& f = m_fixtures[backend];
    QString error;
    f.db = freshDatabaseUrl(backend, &error);
    if (f.db.isEmpty()) {
        QTest::qFail(qPrintable(QStringLiteral("no %1 database: %2").arg(backend, error)), __FILE__,
                     __LINE__);
        return nullptr;
    }
    build(f);
    if (QTest::currentTestFailed() || f.ids.size() != 3) {
        f.ids.clear();
        return nullptr;
    }
    return &f;
}

void TestCliRuns::build(Fixture& f)
{
    const QList<std::pair<QString, int>> runs = {{m_hello, 0}, {m_fail, 1}, {m_hello, 0}};
    for (const auto& [flow, expectedExit] : runs) {
        const QStringList args
            = {QStringLiteral("run"), flow, QStringLiteral("--db"), f.db, QStringLiteral("--json")};
        const CliResult r = runCli(args);
        QVERIFY2(r.exitCode == expectedExit, qPrintable(describe(args, r)));
        // The flow run id from the first transition line.
        const QJsonObject first = QJsonDocument::fromJson(r.out.section(u'\n', 0, 0).toUtf8()).object();
        const QString id = first.value(QStringLiteral("flow_run_id")).toString();
        QVERIFY2(!id.isEmpty(), qPrintable(describe(args, r)));
        f.ids << id;
    }
}

QJsonArray TestCliRuns::lsJsonOf(const Fixture& f, const QStringList& extra)
{
    const QStringList args = QStringList{QStringLiteral("runs"), QStringLiteral("ls"),
                                         QStringLiteral("--json"), QStringLiteral("--db"), f.db}
        + extra;
    const CliResult r = runCli(args);
    if (r.exitCode != 0) {
        qWarning("%s", qPrintable(describe(args, r)));
        return {};
    }
    QJsonParseError error;
    const QJsonDocument doc = QJsonDocument::fromJson(r.out.toUtf8(), &error);
    if (!doc.isArray())
        qWarning("not a JSON array (%s): %s", qPrintable(error.errorString()), qPrintable(r.out));
    return doc.array();
}

void TestCliRuns::lsHuman()
{
    USE_FIXTURE(f);
    const QStringList args = {QStringLiteral("runs"), QStringLiteral("ls"), QStringLiteral("--db"), f->db};
    const CliResult r = runCli(args);
    QVERIFY2(r.exitCode == 0, qPrintable(describe(args, r)));
    const QStringList lines = r.out.split(u'\n', Qt::SkipEmptyParts);
    QVERIFY2(lines.size() >= 4, qPrintable(r.out));
    const QStringList header = lines[0].split(QRegularExpression(QStringLiteral("\\s{2,}")));
    QCOMPARE(
        header,
        (QStringList{QStringLiteral("ID"), QStringLiteral("FLOW"), QStringLiteral("STATE"),
                     QStringLiteral("STARTED"), QStringLiteral("DURATION"), QStringLiteral("TASK RUNS")}));
    // Newest first; the columns line up under the header.
    QVERIFY2(lines[1].startsWith(f->ids[2]), qPrintable(r.out));
    QVERIFY2(lines[2].startsWith(f->ids[1]), qPrintable(r.out));
    QVERIFY2(lines[3].startsWith(f->ids[0]), qPrintable(r.out));
    const qsizetype stateColumn = lines[0].indexOf(QStringLiteral("STATE"));
    QCOMPARE(lines[2].mid(stateColumn, 6), QStringLiteral("FAILED"));
    QCOMPARE(lines[1].mid(stateColumn, 9), QStringLiteral("COMPLETED"));
    QVERIFY(lines[1].contains(QStringLiteral("c-hello")));
    QVERIFY(lines[1].trimmed().endsWith(u'3'));
    QVERIFY(r.err.isEmpty());
}

void TestCliRuns::lsJson()
{
    USE_FIXTURE(f);
    const QJsonArray runs = lsJsonOf(*f);
    QCOMPARE(runs.size(), 3);
    const QStringList flows
        = {QStringLiteral("c-hello"), QStringLiteral("c-fail"), QStringLiteral("c-hello")};
    const QStringList states
        = {QStringLiteral("COMPLETED"), QStringLiteral("FAILED"), QStringLiteral("COMPLETED")};
    QString previousCreated;
    for (int i = 0; i < 3; ++i) {
        const QJsonObject run = runs[i].toObject();
        const int n = 2 - i; // newest first
        QCOMPARE(run.value(QStringLiteral("id")).toString(), f->ids[n]);
        QCOMPARE(run.value(QStringLiteral("flow")).toString(), flows[n]);
        QCOMPARE(run.value(QStringLiteral("state")).toString(), states[n]);
        QCOMPARE(run.value(QStringLiteral("name")).toString(),
                 n == 1 ? QStringLiteral("Failed") : QStringLiteral("Completed"));
        for (const char* key : {"created", "started", "ended"}) {
            const QString time = run.value(QLatin1String(key)).toString();
            QVERIFY2(kIsoMs.match(time).hasMatch(),
                     qPrintable(QStringLiteral("%1: \"%2\"").arg(QLatin1String(key), time)));
        }
        QVERIFY(run.value(QStringLiteral("started")).toString()
                <= run.value(QStringLiteral("ended")).toString());
        QVERIFY(run.contains(QStringLiteral("message")));
        QCOMPARE(run.value(QStringLiteral("task_runs")).toInteger(), n == 1 ? 1LL : 3LL);
        const QString created = run.value(QStringLiteral("created")).toString();
        if (i > 0)
            QVERIFY(created <= previousCreated);
        previousCreated = created;
    }
    QVERIFY(!runs[1].toObject().value(QStringLiteral("message")).toString().isEmpty());
}

void TestCliRuns::lsFilters()
{
    USE_FIXTURE(f);
    for (const QString& state :
         {QStringLiteral("failed"), QStringLiteral("FAILED"), QStringLiteral("Failed")}) {
        const QJsonArray failed = lsJsonOf(*f, {QStringLiteral("--state"), state});
        QCOMPARE(failed.size(), 1);
        QCOMPARE(failed[0].toObject().value(QStringLiteral("id")).toString(), f->ids[1]);
    }
    QCOMPARE(lsJsonOf(*f, {QStringLiteral("--state"), QStringLiteral("completed")}).size(), 2);
    QCOMPARE(lsJsonOf(*f, {QStringLiteral("--state"), QStringLiteral("running")}).size(), 0);
    const QJsonArray hello = lsJsonOf(*f, {QStringLiteral("--flow"), QStringLiteral("c-hello")});
    QCOMPARE(hello.size(), 2);
    QCOMPARE(hello[0].toObject().value(QStringLiteral("id")).toString(), f->ids[2]);
    QCOMPARE(hello[1].toObject().value(QStringLiteral("id")).toString(), f->ids[0]);
    const QJsonArray newest = lsJsonOf(*f, {QStringLiteral("--limit"), QStringLiteral("1")});
    QCOMPARE(newest.size(), 1);
    QCOMPARE(newest[0].toObject().value(QStringLiteral("id")).toString(), f->ids[2]);

    // Human output of an empty result.
    const QStringList args = {QStringLiteral("runs"),   QStringLiteral("ls"),
                              QStringLiteral("--flow"), QStringLiteral("nothing-like-it"),
                              QStringLiteral("--db"),   f->db};
    const CliResult r = runCli(args);
    QVERIFY2(r.exitCode == 0, qPrintable(describe(args, r)));
    QCOMPARE(r.out.trimmed(), QStringLiteral("no flow runs match"));
}

void TestCliRuns::showJson()
{
    USE_FIXTURE(f);
    // A unique prefix is enough.
    const QString id = f->ids[0];
    const QStringList args = {QStringLiteral("runs"),   QStringLiteral("show"), id.left(30),
                              QStringLiteral("--json"), QStringLiteral("--db"), f->db};
    const CliResult r = runCli(args);
    QVERIFY2(r.exitCode == 0, qPrintable(describe(args, r)));
    const QJsonObject run = QJsonDocument::fromJson(r.out.toUtf8()).object();
    QCOMPARE(run.value(QStringLiteral("id")).toString(), id);
    QCOMPARE(run.value(QStringLiteral("flow")).toString(), QStringLiteral("c-hello"));
    QCOMPARE(run.value(QStringLiteral("state")).toString(), QStringLiteral("COMPLETED"));
    QCOMPARE(run.value(QStringLiteral("name")).toString(), QStringLiteral("Completed"));
    QVERIFY(kIsoMs.match(run.value(QStringLiteral("started")).toString()).hasMatch());
    QVERIFY(kIsoMs.match(run.value(QStringLiteral("ended")).toString()).hasMatch());
    const QJsonArray tasks = run.value(QStringLiteral("task_runs")).toArray();
    QCOMPARE(tasks.size(), 3);
    QStringList labels;
    QSet<QString> ids;
    for (const QJsonValue& v : tasks) {
        const QJsonObject t = v.toObject();
        for (const char* key :
             {"id", "task", "map_index", "state", "name", "attempts", "started", "ended", "message", "tags"})
            QVERIFY2(t.contains(QLatin1String(key)), key);
        ids.insert(t.value(QStringLiteral("id")).toString());
        QCOMPARE(t.value(QStringLiteral("state")).toString(), QStringLiteral("COMPLETED"));
        QCOMPARE(t.value(QStringLiteral("attempts")).toInt(), 1);
        QVERIFY(kIsoMs.match(t.value(QStringLiteral("started")).toString()).hasMatch());
        QVERIFY(kIsoMs.match(t.value(QStringLiteral("ended")).toString()).hasMatch());
        const QJsonValue index = t.value(QStringLiteral("map_index"));
        labels << (index.isNull() ? t.value(QStringLiteral("task")).toString()
                                  : QStringLiteral("%1[%2]")
                                        .arg(t.value(QStringLiteral("task")).toString())
                                        .arg(index.toInt()));
    }
    QCOMPARE(
        labels,
        (QStringList{QStringLiteral("greet"), QStringLiteral("spread[0]"), QStringLiteral("spread[1]")}));
    QCOMPARE(ids.size(), 3);
    QCOMPARE(tasks[0].toObject().value(QStringLiteral("message")).toString(), QStringLiteral("exit code 0"));

    // A failed run: its task run's message says why.
    const QStringList failArgs = {QStringLiteral("runs"),   QStringLiteral("show"), f->ids[1],
                                  QStringLiteral("--json"), QStringLiteral("--db"), f->db};
    const CliResult failed = runCli(failArgs);
    QVERIFY2(failed.exitCode == 0, qPrintable(describe(failArgs, failed)));
    const QJsonObject failedRun = QJsonDocument::fromJson(failed.out.toUtf8()).object();
    QCOMPARE(failedRun.value(QStringLiteral("state")).toString(), QStringLiteral("FAILED"));
    const QJsonObject boom = failedRun.value(QStringLiteral("task_runs")).toArray().first().toObject();
    QCOMPARE(boom.value(QStringLiteral("task")).toString(), QStringLiteral("boom"));
    QCOMPARE(boom.value(QStringLiteral("state")).toString(), QStringLiteral("FAILED"));
    QVERIFY(boom.value(QStringLiteral("map_index")).isNull());
    QVERIFY(
        boom.value(QStringLiteral("message")).toString().contains(QStringLiteral("failed for the cli test")));
}

void TestCliRuns::showHuman()
{
    USE_FIXTURE(f);
    const QStringList args
        = {QStringLiteral("runs"), QStringLiteral("show"), f->ids[1], QStringLiteral("--db"), f->db};
    const CliResult r = runCli(args);
    QVERIFY2(r.exitCode == 0, qPrintable(describe(args, r)));
    QVERIFY2(r.out.contains(QStringLiteral("flow run:    ") + f->ids[1]), qPrintable(r.out));
    QVERIFY2(r.out.contains(QStringLiteral("state:       FAILED")), qPrintable(r.out));
    QVERIFY2(r.out.contains(QStringLiteral("task runs:   1: 1 FAILED")), qPrintable(r.out));
    QVERIFY2(QRegularExpression(QStringLiteral("\\nboom\\s+FAILED\\s+1\\s+")).match(r.out).hasMatch(),
             qPrintable(r.out));

    // --state narrows the task runs.
    const QStringList completedArgs
        = {QStringLiteral("runs"),      QStringLiteral("show"), f->ids[0], QStringLiteral("--state"),
           QStringLiteral("completed"), QStringLiteral("--db"), f->db};
    const CliResult completed = runCli(completedArgs);
    QVERIFY2(completed.exitCode == 0, qPrintable(describe(completedArgs, completed)));
    QVERIFY(completed.out.contains(QStringLiteral("spread[1]")));

    // A big run: the counts, the first 50 task runs and a note; --json streams all of them in pages.
    const QString wide = m_dir.filePath(QStringLiteral("c-wide.json"));
    {
        QFile file(wide);
        QVERIFY(file.open(QIODevice::WriteOnly));
        file.write(R"({"name": "c-wide", "tasks": [{"id": "n", "kind": "noop", "map": 4100}]})");
    }
    const QStringList wideRun
        = {QStringLiteral("run"), wide, QStringLiteral("--db"), f->db, QStringLiteral("--json")};
    const CliResult ran = runCli(wideRun);
    QVERIFY2(ran.exitCode == 0, qPrintable(describe(wideRun, ran)));
    const QString wideId = QJsonDocument::fromJson(ran.out.section(u'\n', 0, 0).toUtf8())
                               .object()
                               .value(QStringLiteral("flow_run_id"))
                               .toString();
    const QStringList wideArgs
        = {QStringLiteral("runs"), QStringLiteral("show"), wideId, QStringLiteral("--db"), f->db};
    const CliResult big = runCli(wideArgs);
    QVERIFY2(big.exitCode == 0, qPrintable(describe(wideArgs, big)));
    QVERIFY2(big.out.contains(QStringLiteral("task runs:   4100: 4100 COMPLETED")), qPrintable(big.out));
    QVERIFY2(big.out.contains(QStringLiteral("n[49] ")) && !big.out.contains(QStringLiteral("n[50] ")),
             qPrintable(big.out));
    QVERIFY2(big.out.contains(QStringLiteral("showing task runs 1-50 of 4100")), qPrintable(big.out));
    const CliResult bigJson = runCli(wideArgs + QStringList{QStringLiteral("--json")});
    QVERIFY2(bigJson.exitCode == 0, qPrintable(describe(wideArgs, bigJson)));
    QJsonParseError parseError;
    const QJsonObject bigRun = QJsonDocument::fromJson(bigJson.out.toUtf8(), &parseError).object();
    QVERIFY2(parseError.error == QJsonParseError::NoError, qPrintable(parseError.errorString()));
    const QJsonArray all = bigRun.value(QStringLiteral("task_runs")).toArray();
    QCOMPARE(all.size(), 4100);
    QSet<QString> seen;
    for (int i = 0; i < all.size(); ++i) {
        QCOMPARE(all[i].toObject().value(QStringLiteral("map_index")).toInt(), i);
        seen.insert(all[i].toObject().value(QStringLiteral("id")).toString());
    }
    QCOMPARE(seen.size(), 4100);

    // An unknown id: one line, exit 2.
    const QString unknown = QStringLiteral("00000000-0000-7000-8000-000000000000");
    const QStringList unknownArgs
        = {QStringLiteral("runs"), QStringLiteral("show"), unknown, QStringLiteral("--db"), f->db};
    const CliResult missing = runCli(unknownArgs);
    QVERIFY2(missing.exitCode == 2, qPrintable(describe(unknownArgs, missing)));
    QCOMPARE(missing.errLines().size(), 1);
    QVERIFY2(missing.err.contains(QStringLiteral("no flow run with id ") + unknown), qPrintable(missing.err));
    QVERIFY(missing.out.isEmpty());
}

void TestCliRuns::logs()
{
    USE_FIXTURE(f);
    const QStringList args
        = {QStringLiteral("runs"), QStringLiteral("logs"), f->ids[2], QStringLiteral("--db"), f->db};
    const CliResult r = runCli(args);
    QVERIFY2(r.exitCode == 0, qPrintable(describe(args, r)));
    const QRegularExpression line(
        QStringLiteral(
            "^\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\d\\.\\d{3}Z INFO greet: hello from the cli test$"),
        QRegularExpression::MultilineOption);
    QVERIFY2(line.match(r.out).hasMatch(), qPrintable(r.out));
    // --follow on a finished run prints the same and exits at once.
    const QStringList followArgs = args + QStringList{QStringLiteral("--follow")};
    const CliResult followed = runCli(followArgs, 10000);
    QVERIFY2(followed.exitCode == 0, qPrintable(describe(followArgs, followed)));
    QCOMPARE(followed.out, r.out);
}

void TestCliRuns::cancelFinishedOrUnknown()
{
    USE_FIXTURE(f);
    const QStringList finishedArgs
        = {QStringLiteral("runs"), QStringLiteral("cancel"), f->ids[0], QStringLiteral("--db"), f->db};
    const CliResult finished = runCli(finishedArgs);
    QVERIFY2(finished.exitCode == 2, qPrintable(describe(finishedArgs, finished)));
    QCOMPARE(finished.errLines().size(), 1);
    QVERIFY2(finished.err.contains(QStringLiteral("already finished (COMPLETED)")), qPrintable(finished.err));

    const QString unknown = QStringLiteral("00000000-0000-7000-8000-000000000000");
    const QStringList unknownArgs
        = {QStringLiteral("runs"), QStringLiteral("cancel"), unknown, QStringLiteral("--db"), f->db};
    const CliResult missing = runCli(unknownArgs);
    QVERIFY2(missing.exitCode == 2, qPrintable(describe(unknownArgs, missing)));
    QCOMPARE(missing.errLines().size(), 1);
    QVERIFY2(missing.err.contains(QStringLiteral("no flow run with id")), qPrintable(missing.err));
}

void TestCliRuns::cancelLiveRun()
{
    USE_FIXTURE(f);
    std::unique_ptr<QProcess> runner(
        startCli({QStringLiteral("run"), m_sleeper, QStringLiteral("--db"), f->db}));
    QVERIFY(runner->waitForStarted(10000));

    // Wait until `runs ls` shows it RUNNING.
    QString id;
    QElapsedTimer waited;
    waited.start();
    while (id.isEmpty() && waited.elapsed() < 20000 && runner->state() == QProcess::Running) {
        const QJsonArray running = lsJsonOf(*f, {QStringLiteral("--state"), QStringLiteral("running")});
        for (const QJsonValue& v : running) {
            if (v.toObject().value(QStringLiteral("flow")).toString() == u"c-sleeper")
                id = v.toObject().value(QStringLiteral("id")).toString();
        }
        if (id.isEmpty())
            QTest::qWait(50);
    }
    QVERIFY2(!id.isEmpty(), qPrintable(QString::fromUtf8(runner->readAllStandardError())));

    // Two followers, started together (two processes open the database at once): one is
    // interrupted, the other sees the run end.
    const QStringList followArgs = {QStringLiteral("runs"),     QStringLiteral("logs"), id,
                                    QStringLiteral("--follow"), QStringLiteral("--db"), f->db};
    std::unique_ptr<QProcess> follower(startCli(followArgs));
    std::unique_ptr<QProcess> interrupted(startCli(followArgs));
    for (QProcess* process : {follower.get(), interrupted.get()}) {
        QVERIFY(process->waitForStarted(10000));
        // Once it has printed the shell task's line, it is following.
        QTRY_VERIFY2_WITH_TIMEOUT(process->peek(1 << 16).contains("sleeper is up"),
                                  qPrintable(QStringLiteral("state %1, stderr: %2")
                                                 .arg(process->state())
                                                 .arg(QString::fromUtf8(process->readAllStandardError()))),
                                  10000);
    }
    QCOMPARE(interrupted->state(), QProcess::Running);
    ::kill(pid_t(interrupted->processId()), SIGINT);
    const CliResult stopped = finish(*interrupted, 5000);
    QVERIFY2(stopped.exitCode == 130, qPrintable(describe(followArgs, stopped)));

    const QStringList cancelArgs
        = {QStringLiteral("runs"), QStringLiteral("cancel"), id, QStringLiteral("--db"), f->db};
    const CliResult cancel = runCli(cancelArgs);
    QVERIFY2(cancel.exitCode == 0, qPrintable(describe(cancelArgs, cancel)));
    QVERIFY2(cancel.out.contains(QStringLiteral("cancel requested for flow run ") + id),
             qPrintable(cancel.out));
    QElapsedTimer sinceCancel;
    sinceCancel.start();
    const CliResult ran = finish(*runner, 5000);
    QVERIFY2(ran.exitCode == 1, qPrintable(describe({QStringLiteral("run"), m_sleeper}, ran)));
    QVERIFY2(sinceCancel.elapsed() < 5000, qPrintable(QString::number(sinceCancel.elapsed())));

    const CliResult followed = finish(*follower, 5000);
    QVERIFY2(followed.exitCode == 0, qPrintable(describe(followArgs, followed)));
    QVERIFY(followed.out.contains(QStringLiteral("INFO say: sleeper is up")));

    const QStringList showArgs = {QStringLiteral("runs"),   QStringLiteral("show"), id,
                                  QStringLiteral("--json"), QStringLiteral("--db"), f->db};
    const CliResult shown = runCli(showArgs);
    QVERIFY2(shown.exitCode == 0, qPrintable(describe(showArgs, shown)));
    const QJsonObject run = QJsonDocument::fromJson(shown.out.toUtf8()).object();
    QCOMPARE(run.value(QStringLiteral("state")).toString(), QStringLiteral("CANCELLED"));
    QCOMPARE(run.value(QStringLiteral("cancel_requested")).toBool(), true);
    bool napCancelled = false;
    for (const QJsonValue& v : run.value(QStringLiteral("task_runs")).toArray()) {
        if (v.toObject().value(QStringLiteral("task")).toString() == u"nap")
            napCancelled = v.toObject().value(QStringLiteral("state")).toString() == u"CANCELLED";
    }
    QVERIFY(napCancelled);

    // Once finished, it cannot be cancelled again.
    const CliResult again = runCli(cancelArgs);
    QVERIFY2(again.exitCode == 2, qPrintable(describe(cancelArgs, again)));
    QVERIFY(again.err.contains(QStringLiteral("already finished (CANCELLED)")));
}

// A run of many task runs: `runs show` prints the counts and durations, a page of task runs and how
// to see the rest; --limit/--offset/--state page through them, --all and --json stream every one a page
// at a time, in memory that does not grow with the run.
void TestCliRuns::showTask()
{
    USE_FIXTURE(f);
    const QString flowPath = m_dir.filePath(QStringLiteral("c-retry.json"));
    {
        QFile file(flowPath);
        QVERIFY(file.open(QIODevice::WriteOnly));
        file.write(kRetryFlow);
    }
    const QString marker
        = m_dir.filePath(QStringLiteral("marker-") + QString::fromLatin1(QTest::currentDataTag()));
    const QStringList runArgs = {QStringLiteral("run"),     flowPath,
                                 QStringLiteral("--db"),    f->db,
                                 QStringLiteral("--param"), QStringLiteral("word=yo"),
                                 QStringLiteral("--param"), QStringLiteral("marker=") + marker,
                                 QStringLiteral("--json")};
    const CliResult ran = runCli(runArgs);
    QVERIFY2(ran.exitCode == 0, qPrintable(describe(runArgs, ran)));
    const QString id = QJsonDocument::fromJson(ran.out.section(u'\n', 0, 0).toUtf8())
                           .object()
                           .value(QStringLiteral("flow_run_id"))
                           .toString();
    auto show = [&f, &id](const QStringList& extra) {
        const QStringList args = QStringList{QStringLiteral("runs"), QStringLiteral("show"), id.right(8),
                                             QStringLiteral("--db"), f->db}
            + extra;
        return std::make_pair(args, runCli(args));
    };

    // JSON: every transition in order with its time and how long it lasted, the attempts, the
    // configuration with the parameters substituted and this task run's log lines only.
    const auto [jsonArgs, json]
        = show({QStringLiteral("--task"), QStringLiteral("flaky"), QStringLiteral("--json")});
    QVERIFY2(json.exitCode == 0, qPrintable(describe(jsonArgs, json)));
    const QJsonObject flaky = QJsonDocument::fromJson(json.out.toUtf8()).object();
    QCOMPARE(flaky.value(QStringLiteral("task")).toString(), QStringLiteral("flaky"));
    QCOMPARE(flaky.value(QStringLiteral("flow_run_id")).toString(), id);
    QCOMPARE(flaky.value(QStringLiteral("attempts")).toInt(), 2);
    QCOMPARE(flaky.value(QStringLiteral("kind")).toString(), QStringLiteral("shell"));
    QCOMPARE(flaky.value(QStringLiteral("state")).toString(), QStringLiteral("COMPLETED"));
    const QJsonArray history = flaky.value(QStringLiteral("history")).toArray();
    QStringList names;
    for (const QJsonValue& h : history) {
        names << h.toObject().value(QStringLiteral("name")).toString();
        QVERIFY(kIsoMs.match(h.toObject().value(QStringLiteral("time")).toString()).hasMatch());
    }
    QCOMPARE(
        names,
        (QStringList{QStringLiteral("Pending"), QStringLiteral("Running"), QStringLiteral("AwaitingRetry"),
                     QStringLiteral("Retrying"), QStringLiteral("Completed")}));
    QVERIFY(history[2]
                .toObject()
                .value(QStringLiteral("message"))
                .toString()
                .contains(QStringLiteral("exit code 3")));
    QVERIFY(history[0].toObject().value(QStringLiteral("duration_ms")).toDouble() >= 0);
    QVERIFY(history[4].toObject().value(QStringLiteral("duration_ms")).isNull());
    const QString command = flaky.value(QStringLiteral("config"))
                                .toObject()
                                .value(QStringLiteral("command"))
                                .toArray()
                                .at(2)
                                .toString();
    QVERIFY2(command.startsWith(QStringLiteral("echo try yo; test -e ") + marker), qPrintable(command));
    QStringList messages;
    for (const QJsonValue& l : flaky.value(QStringLiteral("logs")).toArray())
        messages << l.toObject().value(QStringLiteral("message")).toString();
    QCOMPARE(messages.count(QStringLiteral("try yo")), 2);
    QVERIFY2(!messages.join(u'\n').contains(QStringLiteral("item")), qPrintable(messages.join(u'\n')));
    QCOMPARE(flaky.value(QStringLiteral("stalls")).toArray().size(), 0);

    // A mapped task run by its index: "{{map_index}}" resolved.
    const auto [mappedArgs, mapped]
        = show({QStringLiteral("--task"), QStringLiteral("each[1]"), QStringLiteral("--json")});
    QVERIFY2(mapped.exitCode == 0, qPrintable(describe(mappedArgs, mapped)));
    const QJsonObject each = QJsonDocument::fromJson(mapped.out.toUtf8()).object();
    QCOMPARE(each.value(QStringLiteral("map_index")).toInt(), 1);
    QCOMPARE(each.value(QStringLiteral("config"))
                 .toObject()
                 .value(QStringLiteral("command"))
                 .toArray()
                 .at(1)
                 .toString(),
             QStringLiteral("item 1 yo"));
    QCOMPARE(each.value(QStringLiteral("log_count")).toInt(), 1);

    // The same for people.
    const auto [humanArgs, human] = show({QStringLiteral("--task"), QStringLiteral("flaky")});
    QVERIFY2(human.exitCode == 0, qPrintable(describe(humanArgs, human)));
    for (const QString& expected :
         {QStringLiteral("attempts:    2"), QStringLiteral("state:       COMPLETED"),
          QStringLiteral("configuration:"), QStringLiteral("\"echo try yo; test -e "),
          QStringLiteral("state history:"), QStringLiteral("stalls: none"), QStringLiteral("INFO try yo")})
        QVERIFY2(human.out.contains(expected), qPrintable(expected + QStringLiteral("\n") + human.out));
    QVERIFY2(
        QRegularExpression(
            QStringLiteral("\\n  \\S+Z\\s+SCHEDULED \\(AwaitingRetry\\)\\s+\\S+ (µs|ms|s)\\s+attempt 1 of 2"))
            .match(human.out)
            .hasMatch(),
        qPrintable(human.out));
    QVERIFY(!human.out.contains(QStringLiteral("item 0")));

    // Bad TASK or INDEX: one clear line, exit 2.
    const QList<std::pair<QString, QString>> bad = {
        {QStringLiteral("nope"), QStringLiteral("has no task \"nope\" (its tasks are each, flaky)")},
        {QStringLiteral("each"),
         QStringLiteral("task \"each\" is mapped: give an index, each[0] to each[1]")},
        {QStringLiteral("each[2]"),
         QStringLiteral("task \"each\" has no task run [2]: it has each[0] to each[1]")},
        {QStringLiteral("flaky[0]"), QStringLiteral("task \"flaky\" is not mapped")},
        {QStringLiteral("each[x]"), QStringLiteral("expected TASK or TASK[INDEX]")},
        {QStringLiteral("each[-1]"), QStringLiteral("expected TASK or TASK[INDEX]")},
    };
    for (const auto& [task, expected] : bad) {
        const auto [args, r] = show({QStringLiteral("--task"), task});
        QVERIFY2(r.exitCode == 2 && r.out.isEmpty() && r.errLines().size() == 1 && r.err.contains(expected),
                 qPrintable(describe(args, r)));
    }
}

void TestCliRuns::shortIds()
{
    USE_FIXTURE(f);
    const QString id = f->ids[1]; // the c-fail run
    const QString digits = QString(id).remove(u'-');
    auto show = [&f](const QString& runId) {
        const QStringList args = {QStringLiteral("runs"),   QStringLiteral("show"), runId,
                                  QStringLiteral("--json"), QStringLiteral("--db"), f->db};
        return std::make_pair(args, runCli(args));
    };
    // Runs created seconds apart share the first 8 digits of their time-ordered ids, so a prefix
    // takes 14 digits here; the window shows the last 8.
    for (const QString& shortId :
         {id, id.toUpper(), digits, digits.left(14), digits.left(14).toUpper(), id.left(16), id.right(8),
          id.right(6), id.right(14), digits.right(10).toUpper(), id.right(17).toUpper()}) {
        const auto [args, r] = show(shortId);
        QVERIFY2(r.exitCode == 0, qPrintable(describe(args, r)));
        QCOMPARE(QJsonDocument::fromJson(r.out.toUtf8()).object().value(QStringLiteral("id")).toString(), id);
    }
    // logs and cancel resolve the same way.
    const QStringList logsArgs
        = {QStringLiteral("runs"), QStringLiteral("logs"), f->ids[2].right(8), QStringLiteral("--db"), f->db};
    const CliResult logs = runCli(logsArgs);
    QVERIFY2(logs.exitCode == 0 && logs.out.contains(QStringLiteral("hello from the cli test")),
             qPrintable(describe(logsArgs, logs)));
    const QStringList cancelArgs = {QStringLiteral("runs"), QStringLiteral("cancel"),
                                    digits.right(8).toUpper(), QStringLiteral("--db"), f->db};
    const CliResult cancel = runCli(cancelArgs);
    QVERIFY2(cancel.exitCode == 2 && cancel.err.contains(QStringLiteral("already finished (FAILED)"))
                 && cancel.err.contains(id),
             qPrintable(describe(cancelArgs, cancel)));

    // Two runs whose ids share a start, and two whose ids share an end.
    const QString sql = QStringLiteral("INSERT INTO flow_runs (id, flow_name, state, state_name, created_at, "
                                       "started_at) VALUES (?, ?, ?, ?, ?, ?)");
    const qint64 now = QDateTime::currentMSecsSinceEpoch() * 1000;
    const QStringList twins = {QStringLiteral("ab12cd34-0000-7000-8000-0000000000a1"),
                               QStringLiteral("ab12cd34-0000-7000-8000-0000000000a2"),
                               QStringLiteral("0000000b-0000-7000-8000-00000fee1bad"),
                               QStringLiteral("0000000c-0000-7000-8000-00000fee1bad")};
    for (int i = 0; i < twins.size(); ++i) {
        query(f->db, sql,
              {twins[i], QStringLiteral("c-twin%1").arg(i), QStringLiteral("COMPLETED"),
               QStringLiteral("Completed"), now, now});
    }
    for (const auto& [shortId, pair] :
         {std::make_pair(QStringLiteral("AB12CD"), std::make_pair(0, 1)),
          std::make_pair(QStringLiteral("ab12cd34-0"), std::make_pair(0, 1)),
          std::make_pair(QStringLiteral("fee1bad"), std::make_pair(2, 3)),
          std::make_pair(QStringLiteral("0-00000FEE1BAD"), std::make_pair(2, 3))}) {
        const auto [args, r] = show(shortId);
        QVERIFY2(r.exitCode == 2 && r.out.isEmpty(), qPrintable(describe(args, r)));
        QVERIFY2(r.err.contains(QStringLiteral("is ambiguous")), qPrintable(describe(args, r)));
        for (int i : {pair.first, pair.second}) {
            QVERIFY2(QRegularExpression(
                         QStringLiteral("\\n  %1\\s+c-twin%2\\s+COMPLETED\\s+\\d{4}-").arg(twins[i]).arg(i))
                         .match(r.err)
                         .hasMatch(),
                     qPrintable(describe(args, r)));
        }
    }
    // One more digit tells them apart.
    const auto [oneArgs, one] = show(QStringLiteral("ab12cd34-0000-7000-8000-0000000000a2"));
    QVERIFY2(one.exitCode == 0, qPrintable(describe(oneArgs, one)));
    const auto [twoArgs, two] = show(QStringLiteral("0000000B"));
    QVERIFY2(two.exitCode == 0 && two.out.contains(twins[2]), qPrintable(describe(twoArgs, two)));

    const auto [unknownArgs, unknown] = show(QStringLiteral("0123456789abcd"));
    QVERIFY2(unknown.exitCode == 2 && unknown.errLines().size() == 1
                 && unknown.err.contains(QStringLiteral("no flow run with id 0123456789abcd")),
             qPrintable(describe(unknownArgs, unknown)));
    const auto [shortArgs, tooShort] = show(QStringLiteral("a-b-c-d-e"));
    QVERIFY2(tooShort.exitCode == 2 && tooShort.errLines().size() == 1
                 && tooShort.err.contains(QStringLiteral("at least 6 hex digits")),
             qPrintable(describe(shortArgs, tooShort)));
    const auto [badArgs, bad] = show(QStringLiteral("xyz123456"));
    QVERIFY2(bad.exitCode == 2 && bad.err.contains(QStringLiteral("hex digits")),
             qPrintable(describe(badArgs, bad)));
}

void TestCliRuns::badArguments_data()
{
    QTest::addColumn<QStringList>("args");
    QTest::addColumn<QString>("expected");
    const QString db = QStringLiteral("--db=") + freshSqlitePath();
    QTest::newRow("no subcommand") << QStringList{QStringLiteral("runs")}
                                   << QStringLiteral("missing subcommand");
    QTest::newRow("unknown subcommand") << QStringList{QStringLiteral("runs"), QStringLiteral("rm")}
                                        << QStringLiteral("unknown subcommand \"rm\"");
    QTest::newRow("bad state") << QStringList{QStringLiteral("runs"), QStringLiteral("ls"),
                                              QStringLiteral("--state"), QStringLiteral("done"), db}
                               << QStringLiteral("--state: unknown state type \"done\"");
    QTest::newRow("zero limit") << QStringList{QStringLiteral("runs"), QStringLiteral("ls"),
                                               QStringLiteral("--limit"), QStringLiteral("0"), db}
                                << QStringLiteral("--limit: expected a positive integer");
    QTest::newRow("text limit") << QStringList{QStringLiteral("runs"), QStringLiteral("ls"),
                                               QStringLiteral("--limit=ten"), db}
                                << QStringLiteral("--limit: expected a positive integer");
    QTest::newRow("unknown option") << QStringList{QStringLiteral("runs"), QStringLiteral("ls"),
                                                   QStringLiteral("--newest"), db}
                                    << QStringLiteral("newest");
    QTest::newRow("ls argument") << QStringList{QStringLiteral("runs"), QStringLiteral("ls"),
                                                QStringLiteral("extra"), db}
                                 << QStringLiteral("unexpected argument \"extra\"");
    QTest::newRow("show without id") << QStringList{QStringLiteral("runs"), QStringLiteral("show"), db}
                                     << QStringLiteral("missing RUN_ID");
    QTest::newRow("show two ids") << QStringList{QStringLiteral("runs"), QStringLiteral("show"),
                                                 QStringLiteral("a"), QStringLiteral("b"), db}
                                  << QStringLiteral("expected one RUN_ID");
    QTest::newRow("logs without id") << QStringList{QStringLiteral("runs"), QStringLiteral("logs"), db}
                                     << QStringLiteral("missing RUN_ID");
    QTest::newRow("cancel without id") << QStringList{QStringLiteral("runs"), QStringLiteral("cancel"), db}
                                       << QStringLiteral("missing RUN_ID");
    // show, ls and logs only read: a database that does not exist is not created for them (before
    // the next row, which creates it).
    QTest::newRow("show without database")
        << QStringList{QStringLiteral("runs"), QStringLiteral("show"), QStringLiteral("0123"), db}
        << QStringLiteral("no such file");
    QTest::newRow("short prefix") << QStringList{QStringLiteral("runs"), QStringLiteral("cancel"),
                                                 QStringLiteral("0123"), db}
                                  << QStringLiteral("too short");
    QTest::newRow("bad database url")
        << QStringList{QStringLiteral("runs"), QStringLiteral("ls"), QStringLiteral("--db=postgresql://")}
        << QStringLiteral("flowdeck runs ls:");
}

void TestCliRuns::badArguments()
{
    QFETCH(QStringList, args);
    QFETCH(QString, expected);
    const CliResult r = runCli(args, 20000);
    QVERIFY2(r.exitCode == 2, qPrintable(describe(args, r)));
    QVERIFY2(r.errLines().size() == 1, qPrintable(describe(args, r)));
    QVERIFY2(r.err.contains(expected), qPrintable(describe(args, r)));
    QVERIFY2(r.out.isEmpty(), qPrintable(describe(args, r)));
}

void TestCliRuns::help()
{
    const CliResult r = runCli({QStringLiteral("runs"), QStringLiteral("--help")});
    QCOMPARE(r.exitCode, 0);
    for (const QString& sub :
         {QStringLiteral("ls"), QStringLiteral("show"), QStringLiteral("logs"), QStringLiteral("cancel")})
        QVERIFY2(r.out.contains(QStringLiteral("  ") + sub + u' '), qPrintable(r.out));
    const CliResult top = runCli({QStringLiteral("--help")});
    QCOMPARE(top.exitCode, 0);
    QVERIFY(top.out.contains(QStringLiteral("  runs ")));
    const CliResult ls = runCli({QStringLiteral("runs"), QStringLiteral("ls"), QStringLiteral("--help")});
    QCOMPARE(ls.exitCode, 0);
    QVERIFY(ls.out.contains(QStringLiteral("--state")));
    QVERIFY(ls.out.contains(QStringLiteral("--db")));
}

QTEST_GUILESS_MAIN(TestCliRuns)
#include "tst_cliruns.moc"
