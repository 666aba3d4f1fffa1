// The command line: exit codes, --json lines, validate, help, bad usage, signals.
#include "testutil.h"

#include <QDir>
#include <QElapsedTimer>
#include <QFileInfo>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QProcess>
#include <QRegularExpression>
#include <QTemporaryDir>
#include <QTest>

#include <csignal>
#include <sys/resource.h>

using namespace flowdeck::test;

namespace {

struct Result {
    int exitCode = -1;
    QByteArray out;
    QByteArray err;
};

class Cli {
public:
    Cli() { QVERIFY(m_dir.isValid()); }
    QString db() const { return m_dir.filePath(QStringLiteral("cli.db")); }
    QString write(const QString& name, const QByteArray& json)
    {
        const QString path = m_dir.filePath(name);
        QFile f(path);
        if (f.open(QIODevice::WriteOnly))
            f.write(json);
        return path;
    }
    Result run(const QStringList& args, int timeoutMs = 60000, const QString& workingDir = {}) const
    {
        QProcess p;
        if (!workingDir.isEmpty())
            p.setWorkingDirectory(workingDir);
        QProcessEnvironment env = QProcessEnvironment::systemEnvironment();
        env.insert(QStringLiteral("FLOWDECK_DB"), db());
        p.setProcessEnvironment(env);
        p.start(flowdeckBinary(), args);
        if (!p.waitForStarted())
            return {};
        p.closeWriteChannel();
        if (!p.waitForFinished(timeoutMs)) {
            p.kill();
            p.waitForFinished();
            return {};
        }
        return {p.exitStatus() == QProcess::NormalExit ? p.exitCode() : -1, p.readAllStandardOutput(),
                p.readAllStandardError()};
    }

private:
    QTemporaryDir m_dir;
};

QList<QJsonObject> jsonLines(const QByteArray& out, bool* allJson)
{
    QList<QJsonObject> objects;
    *allJson = true;
    for (const QByteArray& line : out.split('\n')) {
        if (line.isEmpty())
            continue;
        QJsonParseError error;
        const QJsonDocument doc = QJsonDocument::fromJson(line, &error);
        if (error.error != QJsonParseError::NoError || !doc.isObject()) {
            *allJson = false;
            continue;
        }
        objects << doc.object();
    }
    return objects;
}

} // namespace

class TestCli : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void initTestCase() { QVERIFY2(!flowdeckBinary().isEmpty(), "FLOWDECK_BINARY is not set"); }

    void completedExitsZero()
    {
        Cli cli;
        const QString flow = cli.write(QStringLiteral("ok.json"), R"({"name": "ok", "tasks": [
            {"id": "a", "kind": "noop", "map": 3}, {"id": "b", "kind": "shell", "command": ["echo", "hi"], "depends_on": ["a"]}]})");
        const Result r = cli.run({QStringLiteral("run"), flow});
        QCOMPARE(r.exitCode, 0);
        // A line per flow-level event, then a summary table per task.
        QVERIFY(r.out.contains("flow run ok"));
        QVERIFY(r.out.contains("RUNNING"));
        QVERIFY(r.out.contains("COMPLETED"));
        QVERIFY(QString::fromUtf8(r.out).contains(QRegularExpression(QStringLiteral("\\na\\s+3\\s+3\\s+0"))));
    }

    void failedExitsOne()
    {
        Cli cli;
        const QString flow
            = cli.write(QStringLiteral("bad.json"),
                        R"({"name": "bad", "tasks": [{"id": "f", "kind": "fail", "message": "nope"}]})");
        const Result r = cli.run({QStringLiteral("run"), flow});
        QCOMPARE(r.exitCode, 1);
        QVERIFY(r.out.contains("nope"));
        const QString shellFlow = cli.write(
            QStringLiteral("exit3.json"),
            R"({"name": "exit3", "tasks": [{"id": "s", "kind": "shell", "command": ["sh", "-c", "exit 3"]}]})");
        const Result s = cli.run({QStringLiteral("run"), shellFlow});
        QCOMPARE(s.exitCode, 1);
        QVERIFY(s.out.contains("exit code 3"));
    }

    void invalidFlowExitsTwoWithEveryError()
    {
        Cli cli;
        const QString flow = cli.write(QStringLiteral("invalid.json"), R"({"name": "x", "tasks": [
            {"id": "a", "kind": "nosuchkind"},
            {"id": "b", "kind": "sleep", "seconds": "long", "depends_on": ["lod"]}]})");
        for (const QString& command : {QStringLiteral("run"), QStringLiteral("validate")}) {
            const Result r = cli.run({command, flow});
            QCOMPARE(r.exitCode, 2);
            QVERIFY2(r.err.contains("tasks[0].kind"), r.err.constData());
            QVERIFY2(r.err.contains("tasks[1].seconds"), r.err.constData());
            QVERIFY2(r.err.contains("tasks[1].depends_on[0]: no task named \"lod\""), r.err.constData());
        }
    }

    void hugeMapExitsTwoWithThePlace()
    {
        // More task runs than a flow run may have: refused before anything runs, with the place.
        Cli cli;
        const QString flow
            = cli.write(QStringLiteral("huge.json"),
                        R"({"name": "huge", "tasks": [{"id": "a", "kind": "noop", "map": 1000000000}]})");
        const QString param = cli.write(
            QStringLiteral("param.json"),
            R"({"name": "p", "parameters": {"n": 1}, "tasks": [{"id": "a", "kind": "noop", "map": "{{n}}"}]})");
        const QList<QStringList> commands = {
            {QStringLiteral("validate"), flow},
            {QStringLiteral("run"), flow},
            {QStringLiteral("submit"), flow},
            {QStringLiteral("validate"), param, QStringLiteral("--param"), QStringLiteral("n=1e9")},
            {QStringLiteral("run"), param, QStringLiteral("--param"), QStringLiteral("n=1e9")},
        };
        for (const QStringList& args : commands) {
            const Result r = cli.run(args, 20000);
            QCOMPARE(r.exitCode, 2);
            QVERIFY2(r.err.contains("tasks[0].map: must be at most 10000000, found 1000000000"),
                     r.err.constData());
        }
    }

    void failingStartExitsOne()
    {
        // A flow run whose task runs cannot be allocated (here: the most a flow run may have, under
        // a 1 GB address space) is an error and exit 1, not a process waiting for ever.
#if defined(__SANITIZE_ADDRESS__)
        QSKIP("the sanitizers need more address space than the limit this test sets");
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
        QSKIP("the sanitizers need more address space than the limit this test sets");
#endif
#endif
        Cli cli;
        const QString flow
            = cli.write(QStringLiteral("max.json"),
                        R"({"name": "max", "tasks": [{"id": "a", "kind": "noop", "map": 10000000}]})");
        QProcess p;
        QProcessEnvironment env = QProcessEnvironment::systemEnvironment();
        env.insert(QStringLiteral("FLOWDECK_DB"), cli.db());
        p.setProcessEnvironment(env);
        p.setChildProcessModifier([] {
            const rlimit limit{1000000000, 1000000000};
            setrlimit(RLIMIT_AS, &limit);
        });
        p.start(flowdeckBinary(), {QStringLiteral("run"), flow});
        QVERIFY(p.waitForStarted());
        p.closeWriteChannel();
        if (!p.waitForFinished(30000)) {
            p.kill();
            p.waitForFinished();
            QFAIL("flowdeck run did not end after failing to start the flow run");
        }
        const QByteArray err = p.readAllStandardError();
        QCOMPARE(p.exitStatus(), QProcess::NormalExit);
        QCOMPARE(p.exitCode(), 1);
        QVERIFY2(
            err.contains("flowdeck run: cannot start the flow run: out of memory allocating its 10000000 "
                         "task runs"),
            err.constData());
    }

    void validateSummarises()
    {
        Cli cli;
        const Result r = cli.run(
            {QStringLiteral("validate"), sourcePath(QStringLiteral("resources/flows/seed-fixed.json"))});
        QCOMPARE(r.exitCode, 0);
        QVERIFY2(r.out.contains("1000 task runs"), r.out.constData());
        QCOMPARE(r.out.count('\n'), 1);
    }

    void badUsageExitsTwo_data()
    {
        QTest::addColumn<QStringList>("args");
        QTest::addColumn<QString>("expected");
        QTest::newRow("unknown command")
            << QStringList{QStringLiteral("frobnicate")} << QStringLiteral("unknown command");
        QTest::newRow("unknown option")
            << QStringList{QStringLiteral("run"), QStringLiteral("--frob"), QStringLiteral("x.json")}
            << QStringLiteral("frob");
        QTest::newRow("missing flow") << QStringList{QStringLiteral("run")} << QStringLiteral("missing FLOW");
        QTest::newRow("no such file")
            << QStringList{QStringLiteral("run"), QStringLiteral("/nonexistent/flow.json")}
            << QStringLiteral("no flow file");
        QTest::newRow("bad param") << QStringList{QStringLiteral("run"), QStringLiteral("code-demo"),
                                                  QStringLiteral("--param"), QStringLiteral("parts=many")}
                                   << QStringLiteral("parts");
        QTest::newRow("unknown param") << QStringList{QStringLiteral("run"), QStringLiteral("code-demo"),
                                                      QStringLiteral("--param"), QStringLiteral("nope=1")}
                                       << QStringLiteral("nope");
        QTest::newRow("bad threads") << QStringList{QStringLiteral("run"), QStringLiteral("code-demo"),
                                                    QStringLiteral("--threads"), QStringLiteral("0")}
                                     << QStringLiteral("--threads");
        QTest::newRow("bad db url") << QStringList{QStringLiteral("run"), QStringLiteral("code-demo"),
                                                   QStringLiteral("--db"), QStringLiteral("postgresql://@/x")}
                                    << QStringLiteral("postgresql");
    }
    void badUsageExitsTwo()
    {
        QFETCH(QStringList, args);
        QFETCH(QString, expected);
        Cli cli;
        const Result r = cli.run(args);
        QCOMPARE(r.exitCode, 2);
        QVERIFY2(QString::fromUtf8(r.err).contains(expected), r.err.constData());
        QVERIFY2(r.err.trimmed().count('\n') == 0, r.err.constData()); // one clear line
    }

    void badDatabaseOptionExitsTwoAndCreatesNothing_data()
    {
        QTest::addColumn<QStringList>("args");
        QTest::addColumn<QString>("expected");
        const QString db = QStringLiteral("--db");
        const QString missing = QStringLiteral("missing value");
        const QString empty = QStringLiteral("empty database URL");
        const QString memory = QStringLiteral("in-memory database is not supported");
        const QString limit = QStringLiteral("concurrency-limit");
        const QString runs = QStringLiteral("runs");
        const QString demo = QStringLiteral("code-demo");
        auto row = [](const QStringList& args, const QString& expected) {
            QTest::newRow(qPrintable(args.join(u' '))) << args << expected;
        };
        // A valued option last, or followed by another option (or by "--"), has no value.
        row({limit, QStringLiteral("create"), QStringLiteral("t"), QStringLiteral("3"), db}, missing);
        row({limit, QStringLiteral("ls"), db}, missing);
        row({limit, QStringLiteral("inspect"), QStringLiteral("t"), db}, missing);
        row({limit, QStringLiteral("reset"), QStringLiteral("t"), db}, missing);
        row({limit, QStringLiteral("delete"), QStringLiteral("t"), db}, missing);
        row({limit, QStringLiteral("ls"), db, QStringLiteral("--json")}, missing);
        row({limit, QStringLiteral("create"), db, QStringLiteral("--"), QStringLiteral("t"),
             QStringLiteral("3")},
            missing);
        row({runs, QStringLiteral("ls"), db}, missing);
        row({runs, QStringLiteral("ls"), db, QStringLiteral("--json")}, missing);
        row({runs, QStringLiteral("ls"), QStringLiteral("--state"), db, QStringLiteral("x.db")}, missing);
        row({runs, QStringLiteral("show"), QStringLiteral("x"), db}, missing);
        row({runs, QStringLiteral("logs"), QStringLiteral("x"), db}, missing);
        row({runs, QStringLiteral("cancel"), QStringLiteral("x"), db}, missing);
        row({QStringLiteral("run"), demo, db}, missing);
        row({QStringLiteral("run"), demo, db, QStringLiteral("--json")}, missing);
        row({QStringLiteral("run"), demo, QStringLiteral("--seed"), QStringLiteral("--json")}, missing);
        row({QStringLiteral("submit"), demo, db}, missing);
        row({QStringLiteral("worker"), db}, missing);
        row({QStringLiteral("worker"), QStringLiteral("--name"), db, QStringLiteral("x.db")}, missing);
        // An empty or blank --db is refused, not read as "not given".
        for (const QString& value : {QString(), QStringLiteral(" ")}) {
            row({limit, QStringLiteral("create"), QStringLiteral("t"), QStringLiteral("3"), db, value},
                empty);
            row({limit, QStringLiteral("ls"), db, value}, empty);
            row({runs, QStringLiteral("ls"), db, value}, empty);
            row({QStringLiteral("run"), demo, db, value}, empty);
            row({QStringLiteral("submit"), demo, db, value}, empty);
            row({QStringLiteral("worker"), db, value}, empty);
        }
        row({runs, QStringLiteral("ls"), QStringLiteral("--db=")}, empty);
        // SQLite's in-memory name is refused before a file of that name is created.
        row({limit, QStringLiteral("ls"), db, QStringLiteral(":memory:")}, memory);
        row({runs, QStringLiteral("ls"), db, QStringLiteral(":memory:")}, memory);
        row({QStringLiteral("run"), demo, db, QStringLiteral("sqlite::memory:")}, memory);
    }
    void badDatabaseOptionExitsTwoAndCreatesNothing()
    {
        QFETCH(QStringList, args);
        QFETCH(QString, expected);
        Cli cli;
        QTemporaryDir work;
        QVERIFY(work.isValid());
        const Result r = cli.run(args, 15000, work.path());
        QVERIFY2(QString::fromUtf8(r.err).contains(expected, Qt::CaseInsensitive), r.err.constData());
        QCOMPARE(r.exitCode, 2);
        QVERIFY2(r.err.trimmed().count('\n') == 0, r.err.constData()); // one clear line
        QCOMPARE(QDir(work.path()).entryList(QDir::AllEntries | QDir::Hidden | QDir::NoDotAndDotDot),
                 QStringList());
        QVERIFY2(!QFileInfo::exists(cli.db()), "the $FLOWDECK_DB database was opened");
    }

    void helpAndVersion()
    {
        Cli cli;
        Result r = cli.run({QStringLiteral("--help")});
        QCOMPARE(r.exitCode, 0);
        QVERIFY(r.out.contains("run FLOW"));
        r = cli.run({QStringLiteral("--version")});
        QCOMPARE(r.exitCode, 0);
        QVERIFY(r.out.startsWith("flowdeck "));
        r = cli.run({QStringLiteral("run"), QStringLiteral("--help")});
        QCOMPARE(r.exitCode, 0);
        QVERIFY(r.out.contains("--param"));
    }

    void dashboardOptionWithoutValueExitsTwo_data()
    {
        QTest::addColumn<QStringList>("args");
        QTest::newRow("--screenshot --after-ms=5")
            << QStringList{QStringLiteral("--screenshot"), QStringLiteral("--after-ms=5")};
        QTest::newRow("--page --screenshot x.png")
            << QStringList{QStringLiteral("--page"), QStringLiteral("--screenshot"), QStringLiteral("x.png")};
        QTest::newRow("--screenshot") << QStringList{QStringLiteral("--screenshot")};
    }
    void dashboardOptionWithoutValueExitsTwo()
    {
        QFETCH(QStringList, args);
        Cli cli;
        QTemporaryDir work;
        QVERIFY(work.isValid());
        const Result r = cli.run(args, 15000, work.path());
        QVERIFY2(QString::fromUtf8(r.err).contains(QLatin1String("missing value"), Qt::CaseInsensitive),
                 r.err.constData());
        QCOMPARE(r.exitCode, 2);
        QCOMPARE(QDir(work.path()).entryList(QDir::AllEntries | QDir::Hidden | QDir::NoDotAndDotDot),
                 QStringList());
    }

    void dbHelpSaysWhereAPasswordIsSeen()
    {
        Cli cli;
        for (const QStringList& args :
             {QStringList{QStringLiteral("runs"), QStringLiteral("ls"), QStringLiteral("--help")},
              QStringList{QStringLiteral("run"), QStringLiteral("--help")}}) {
            const Result r = cli.run(args);
            QCOMPARE(r.exitCode, 0);
            const QString help = QString::fromUtf8(r.out).simplified();
            QVERIFY2(help.contains(QLatin1String("process list (ps)")), r.out.constData());
            QVERIFY2(help.contains(QLatin1String("~/.pgpass")), r.out.constData());
        }
    }

    void jsonLinesCarryTheFields()
    {
        Cli cli;
        const QString flow
            = cli.write(QStringLiteral("j.json"), R"({"name": "j", "parameters": {"n": 2}, "tasks": [
            {"id": "m", "kind": "noop", "map": "{{n}}"}, {"id": "s", "kind": "shell", "command": ["echo", "out"]}]})");
        const Result r = cli.run({QStringLiteral("run"), flow, QStringLiteral("--json"),
                                  QStringLiteral("--param"), QStringLiteral("n=3")});
        QCOMPARE(r.exitCode, 0);
        bool allJson = false;
        const QList<QJsonObject> objects = jsonLines(r.out, &allJson);
        QVERIFY2(allJson, "stdout must carry only JSON lines with --json");
        QVERIFY(!r.err.isEmpty()); // human text goes to stderr
        int flowLevel = 0;
        int mapped = 0;
        QSet<int> indexes;
        const QRegularExpression iso(QStringLiteral("^\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\d\\.\\d{3}Z$"));
        for (const QJsonObject& o : objects) {
            if (o.value(QStringLiteral("event")).toString() != QLatin1String("transition"))
                continue;
            for (const char* key :
                 {"time", "flow_run_id", "task_run_id", "task", "map_index", "state", "name", "message"})
                QVERIFY2(o.contains(QLatin1String(key)), key);
            QVERIFY(iso.match(o.value(QStringLiteral("time")).toString()).hasMatch());
            if (o.value(QStringLiteral("task_run_id")).isNull()) {
                QVERIFY(o.value(QStringLiteral("task")).isNull());
                ++flowLevel;
            } else if (o.value(QStringLiteral("task")).toString() == QLatin1String("m")) {
                ++mapped;
                indexes.insert(o.value(QStringLiteral("map_index")).toInt());
            } else {
                QVERIFY(o.value(QStringLiteral("map_index")).isNull());
            }
        }
        QVERIFY(flowLevel >= 4);                 // SCHEDULED, PENDING, RUNNING, COMPLETED
        QCOMPARE(indexes, (QSet<int>{0, 1, 2})); // the override made it 3
        QCOMPARE(mapped, 9);
        QCOMPARE(objects.last().value(QStringLiteral("state")).toString(), QStringLiteral("COMPLETED"));
    }

    void jsonStallLinesUseTheTransitionFields()
    {
        Cli cli;
        const QString flow = cli.write(QStringLiteral("stall.json"), R"({"name": "stall", "tasks": [
            {"id": "block", "kind": "loop_block", "seconds": 0.2, "map": 2}]})");
        const Result r = cli.run({QStringLiteral("run"), flow, QStringLiteral("--json")});
        QCOMPARE(r.exitCode, 0);
        bool allJson = false;
        const QList<QJsonObject> objects = jsonLines(r.out, &allJson);
        QVERIFY2(allJson, "stdout must carry only JSON lines with --json");
        // task run id -> (task, map_index) as the transition lines give them
        QHash<QString, QPair<QJsonValue, QJsonValue>> byTaskRun;
        for (const QJsonObject& o : objects) {
            if (o.value(QStringLiteral("event")).toString() == QLatin1String("transition")
                && !o.value(QStringLiteral("task_run_id")).isNull())
                byTaskRun.insert(o.value(QStringLiteral("task_run_id")).toString(),
                                 {o.value(QStringLiteral("task")), o.value(QStringLiteral("map_index"))});
        }
        int stalls = 0;
        for (const QJsonObject& o : objects) {
            if (o.value(QStringLiteral("event")).toString() != QLatin1String("stall"))
                continue;
            for (const char* key : {"flow_run_id", "task_run_id", "task", "map_index"})
                QVERIFY2(o.contains(QLatin1String(key)), key);
            const QString taskRun = o.value(QStringLiteral("task_run_id")).toString();
            if (taskRun.isEmpty())
                continue; // a stall outside any task run
            ++stalls;
            QVERIFY2(byTaskRun.contains(taskRun), qPrintable(taskRun));
            QCOMPARE(o.value(QStringLiteral("task")).toString(), QStringLiteral("block"));
            QCOMPARE(o.value(QStringLiteral("task")), byTaskRun[taskRun].first);
            QCOMPARE(o.value(QStringLiteral("map_index")), byTaskRun[taskRun].second);
            QVERIFY(o.value(QStringLiteral("map_index")).isDouble());
        }
        QVERIFY2(stalls >= 1, r.out.constData());
    }

    void signalsCancel_data()
    {
        QTest::addColumn<int>("sig");
        QTest::newRow("SIGINT") << int(SIGINT);
        QTest::newRow("SIGTERM") << int(SIGTERM);
    }
    void signalsCancel()
    {
        QFETCH(int, sig);
        Cli cli;
        const QString flow = cli.write(QStringLiteral("long.json"), R"({"name": "long", "tasks": [
            {"id": "s", "kind": "sleep", "seconds": 30}, {"id": "after", "kind": "noop", "depends_on": ["s"]}]})");
        QProcess p;
        QProcessEnvironment env = QProcessEnvironment::systemEnvironment();
        env.insert(QStringLiteral("FLOWDECK_DB"), cli.db());
        p.setProcessEnvironment(env);
        p.start(flowdeckBinary(), {QStringLiteral("run"), flow, QStringLiteral("--json")});
        QVERIFY(p.waitForStarted());
        QByteArray out;
        QElapsedTimer t;
        t.start();
        while (!out.contains("\"name\":\"Running\",\"state\":\"RUNNING\",\"task\":\"s\"")
               && t.elapsed() < 20000) {
            p.waitForReadyRead(100);
            out += p.readAllStandardOutput();
        }
        QVERIFY2(out.contains("\"task\":\"s\""), out.constData());
        ::kill(pid_t(p.processId()), sig);
        QVERIFY(p.waitForFinished(10000));
        QCOMPARE(p.exitCode(), 130);
        out += p.readAllStandardOutput();
        const QByteArray err = p.readAllStandardError();
        QVERIFY2(err.contains("CANCELLED"), err.constData()); // the summary is still printed
        // Nothing of the cancelled run started afterwards.
        QVERIFY(!out.contains("\"name\":\"Running\",\"state\":\"RUNNING\",\"task\":\"after\""));
        QVERIFY(out.contains("\"name\":\"Cancelled\",\"state\":\"CANCELLED\",\"task\":\"after\""));
    }
};

QTEST_GUILESS_MAIN(TestCli)
#include "tst_cli.moc"
