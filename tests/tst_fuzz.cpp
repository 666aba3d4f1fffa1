// Seeded fuzzing of the command line: mutated flow files through validate (and run, for quick noop
// flows) and mutated argument lists through every subcommand. Every case must end within a timeout
// with exit 0, 1 or 2 (never a signal), exit 2 must say where or what on stderr, and the working
// directory must stay empty. The seed is printed; FLOWDECK_FUZZ_SEED replays another one.
#include "testutil.h"

#include <QDir>
#include <QElapsedTimer>
#include <QFile>
#include <QFileInfo>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QProcess>
#include <QRandomGenerator>
#include <QTemporaryDir>
#include <QTest>

#include <functional>
#include <iterator>

using namespace flowdeck::test;

namespace {

constexpr quint32 DefaultSeed = 20261204;
constexpr int FlowCases = 300;
constexpr int MaxRunCases = 40;
constexpr int CliCases = 200;
constexpr int TimeoutMs = 20000;

quint32 fuzzSeed()
{
    bool ok = false;
    const quint32 seed = qEnvironmentVariable("FLOWDECK_FUZZ_SEED").toUInt(&ok);
    return ok ? seed : DefaultSeed;
}

struct Outcome {
    bool finished = false;
    QProcess::ExitStatus status = QProcess::NormalExit;
    int exitCode = -1;
    QByteArray out;
    QByteArray err;
    qint64 ms = 0;
};

QByteArray truncated(const QByteArray& bytes, int max = 1500)
{
    return bytes.size() <= max ? bytes
                               : bytes.left(max) + "…(" + QByteArray::number(bytes.size()) + " bytes)";
}

class Fuzzer {
public:
    explicit Fuzzer(quint32 seed)
        : rng(seed)
        , seed(seed)
    {
    }

    QRandomGenerator rng;
    quint32 seed;
    QTemporaryDir dataDir; //!< flow files, databases, HOME
    QTemporaryDir workDir; //!< the processes' working directory; must stay empty

    int bounded(int n) { return int(rng.bounded(quint32(n))); }
    bool chance(int percent) { return bounded(100) < percent; }

    Outcome run(const QStringList& args)
    {
        Outcome o;
        QProcess p;
        p.setWorkingDirectory(workDir.path());
        QProcessEnvironment env = QProcessEnvironment::systemEnvironment();
        env.insert(QStringLiteral("FLOWDECK_DB"), dataDir.filePath(QStringLiteral("env.db")));
        env.insert(QStringLiteral("HOME"), dataDir.filePath(QStringLiteral("home")));
        env.insert(QStringLiteral("XDG_DATA_HOME"), dataDir.filePath(QStringLiteral("home/data")));
        env.insert(QStringLiteral("XDG_CONFIG_HOME"), dataDir.filePath(QStringLiteral("home/config")));
        env.insert(QStringLiteral("XDG_CACHE_HOME"), dataDir.filePath(QStringLiteral("home/cache")));
        p.setProcessEnvironment(env);
        QElapsedTimer timer;
        timer.start();
        p.start(flowdeckBinary(), args);
        if (!p.waitForStarted())
            return o;
        p.closeWriteChannel();
        if (!p.waitForFinished(TimeoutMs)) {
            p.kill();
            p.waitForFinished();
            o.ms = timer.elapsed();
            o.err = p.readAllStandardError();
            return o;
        }
        o.ms = timer.elapsed();
        o.finished = true;
        o.status = p.exitStatus();
        o.exitCode = p.exitCode();
        o.out = p.readAllStandardOutput();
        o.err = p.readAllStandardError();
        return o;
    }

    /**
     * The checks every case must pass; returns an empty string when they hold, else what failed.
     * \a located says whether a stderr line names the place (used for exit 2).
     */
    QString check(const Outcome& o, const std::function<bool(const QByteArray&)>& located)
    {
        if (!o.finished)
            return QStringLiteral("no exit within %1 ms (killed); stderr: %2")
                .arg(TimeoutMs)
                .arg(QString::fromUtf8(truncated(o.err)));
        if (o.status != QProcess::NormalExit)
            return QStringLiteral("crashed (signal), exit code %1; stderr: %2")
                .arg(o.exitCode)
                .arg(QString::fromUtf8(truncated(o.err)));
        if (o.exitCode < 0 || o.exitCode > 2)
            return QStringLiteral("exit code %1 (expected 0, 1 or 2); stderr: %2")
                .arg(o.exitCode)
                .arg(QString::fromUtf8(truncated(o.err)));
        if (o.exitCode == 2) {
            bool any = false;
            for (const QByteArray& line : o.err.split('\n'))
                if (!line.trimmed().isEmpty() && located(line))
                    any = true;
            if (!any)
                return QStringLiteral("exit 2 without a located message on stderr: \"%1\"")
                    .arg(QString::fromUtf8(truncated(o.err)));
        }
        const QStringList stray
            = QDir(workDir.path())
                  .entryList(QDir::AllEntries | QDir::Hidden | QDir::System | QDir::NoDotAndDotDot);
        if (!stray.isEmpty()) {
            for (const QString& name : stray) { // so that the next case starts from an empty folder again
                QDir(workDir.filePath(name)).removeRecursively();
                QFile::remove(workDir.filePath(name));
            }
            return QStringLiteral("stray files in the working directory: %1")
                .arg(stray.join(QStringLiteral(", ")));
        }
        return {};
    }

    // ---- flow mutations ---------------------------------------------------------------------

    QByteArray randomString()
    {
        static const QStringList pieces = {
            QStringLiteral("a"),        QStringLiteral("{{who}}"), QStringLiteral("{{n}}"),
            QStringLiteral("{{"),       QStringLiteral("}}"),      QStringLiteral("\u00e9\u4e2d\U0001F600"),
            QStringLiteral("\\u0000"),  QStringLiteral("\\n"),     QStringLiteral("\\r\\n"),
            QStringLiteral("\\t"),      QStringLiteral("\\\""),    QStringLiteral("\\ud800"),
            QStringLiteral("tasks[0]"), QStringLiteral(" "),       QStringLiteral("-")};
        QString s;
        const int n = bounded(6);
        for (int i = 0; i < n; ++i)
            s += pieces.at(bounded(int(pieces.size())));
        if (chance(15))
            s += QString(bounded(3) == 0 ? 70000 : 3000, QLatin1Char('x'));
        return '"' + s.toUtf8() + '"';
    }

    QByteArray randomValue(int depth = 0)
    {
        static const QList<QByteArray> scalars = {"0",
                                                  "-1",
                                                  "1",
                                                  "0.0001",
                                                  "-0.5",
                                                  "1e308",
                                                  "-1e308",
                                                  "1e400",
                                                  "1e10",
                                                  "1e7",
                                                  "10000001",
                                                  "2147483647",
                                                  "2147483648",
                                                  "-2147483648",
                                                  "9223372036854775807",
                                                  "18446744073709551616",
                                                  "NaN",
                                                  "Infinity",
                                                  "-Infinity",
                                                  "null",
                                                  "true",
                                                  "false",
                                                  "[]",
                                                  "{}",
                                                  "\"\"",
                                                  "\"noop\"",
                                                  "\"sleep\"",
                                                  "1.5",
                                                  "00",
                                                  "-0",
                                                  "1e-400",
                                                  "0x10",
                                                  "[0,1]",
                                                  "[1,0]",
                                                  "[-1,5]"};
        switch (bounded(4)) {
        case 0:
            return randomString();
        case 1:
            if (depth < 3) {
                QByteArray a = "[";
                const int n = bounded(4);
                for (int i = 0; i < n; ++i)
                    a += (i ? "," : "") + randomValue(depth + 1);
                return a + "]";
            }
            [[fallthrough]];
        default:
            return scalars.at(bounded(int(scalars.size())));
        }
    }

    QByteArray mutateBytes(QByteArray text)
    {
        if (text.isEmpty())
            return text;
        const int pos = bounded(int(text.size()));
        switch (bounded(7)) {
        case 0: // delete a run of bytes
            text.remove(pos, 1 + bounded(8));
            break;
        case 1: { // duplicate a run
            const QByteArray run = text.mid(pos, 1 + bounded(40));
            text.insert(pos, run);
            break;
        }
        case 2: { // swap two bytes
            const int other = bounded(int(text.size()));
            std::swap(text[pos], text[other]);
            break;
        }
        case 3: // a random byte, control characters included
            text[pos] = char(bounded(256));
            break;
        case 4: { // delete or duplicate a JSON token
            static const QByteArray tokens = "{}[],:\"";
            const int at = text.indexOf(tokens.at(bounded(int(tokens.size()))), pos);
            if (at >= 0) {
                if (chance(50))
                    text.remove(at, 1);
                else
                    text.insert(at, text.at(at));
            }
            break;
        }
        case 5: // a raw control or non-UTF-8 byte inside the text
            text.insert(pos, QByteArray(1, char(bounded(2) ? bounded(32) : 0x80 + bounded(128))));
            break;
        default: // truncate
            text.truncate(pos);
            break;
        }
        return text;
    }

    QJsonValue jsonFrom(const QByteArray& literal)
    {
        const QJsonDocument doc = QJsonDocument::fromJson("[" + literal + "]");
        return doc.isArray() && !doc.array().isEmpty() ? doc.array().at(0)
                                                       : QJsonValue(QString::fromUtf8(literal));
    }

    //! Structural mutations on the parsed flow; keeps it JSON.
    QByteArray mutateStructure(QJsonObject flow)
    {
        QJsonArray tasks = flow.value(QStringLiteral("tasks")).toArray();
        const int rounds = 1 + bounded(3);
        for (int r = 0; r < rounds; ++r) {
            switch (bounded(9)) {
            case 0: { // replace a field of a task by a random value
                if (tasks.isEmpty())
                    break;
                const int i = bounded(int(tasks.size()));
                QJsonObject t = tasks.at(i).toObject();
                static const QStringList keys = {QStringLiteral("id"),
                                                 QStringLiteral("kind"),
                                                 QStringLiteral("seconds"),
                                                 QStringLiteral("depends_on"),
                                                 QStringLiteral("map"),
                                                 QStringLiteral("retries"),
                                                 QStringLiteral("retry_delay_s"),
                                                 QStringLiteral("timeout_s"),
                                                 QStringLiteral("tags"),
                                                 QStringLiteral("description"),
                                                 QStringLiteral("command"),
                                                 QStringLiteral("map_over"),
                                                 QStringLiteral("junk")};
                const QString key = keys.at(bounded(int(keys.size())));
                // Only values that cannot make a task do harm: never a shell command or a URL of ours.
                if (key == QLatin1String("command"))
                    t.insert(key, QJsonArray{QStringLiteral("true")});
                else
                    t.insert(key, jsonFrom(randomValue()));
                tasks.replace(i, t);
                break;
            }
            case 1: // duplicate a task (duplicate ids)
                if (!tasks.isEmpty())
                    tasks.append(tasks.at(bounded(int(tasks.size()))));
                break;
            case 2: // remove a task (dangling depends_on)
                if (!tasks.isEmpty())
                    tasks.removeAt(bounded(int(tasks.size())));
                break;
            case 3: { // a cycle in depends_on
                if (tasks.isEmpty())
                    break;
                const int i = bounded(int(tasks.size()));
                const int j = bounded(int(tasks.size()));
                QJsonObject a = tasks.at(i).toObject();
                QJsonObject b = tasks.at(j).toObject();
                a.insert(QStringLiteral("depends_on"), QJsonArray{b.value(QStringLiteral("id"))});
                tasks.replace(i, a);
                b = tasks.at(j).toObject();
                b.insert(QStringLiteral("depends_on"), QJsonArray{a.value(QStringLiteral("id"))});
                tasks.replace(j, b);
                break;
            }
            case 4: { // deep nesting somewhere
                QByteArray deep = QByteArray(64 + bounded(2000), '[') + "1";
                deep += QByteArray(deep.size() - 1, ']');
                flow.insert(QStringLiteral("deep"), jsonFrom(deep));
                break;
            }
            case 5: // parameters of wrong types or huge values
                flow.insert(QStringLiteral("parameters"),
                            chance(70)
                                ? QJsonValue(QJsonObject{{QStringLiteral("n"), jsonFrom(randomValue())},
                                                         {QStringLiteral("who"), jsonFrom(randomValue())}})
                                : jsonFrom(randomValue()));
                break;
            case 6: // a top-level field of the wrong type
                static const QStringList tops = {QStringLiteral("name"), QStringLiteral("seed"),
                                                 QStringLiteral("description"), QStringLiteral("tasks")};
                flow.insert(tops.at(bounded(int(tops.size()))), jsonFrom(randomValue()));
                tasks = flow.value(QStringLiteral("tasks")).toArray();
                break;
            case 7: // a task that is not an object
                tasks.append(jsonFrom(randomValue()));
                break;
            default: // many tasks
                for (int k = bounded(200); k > 0; --k)
                    tasks.append(QJsonObject{{QStringLiteral("id"), QStringLiteral("t%1").arg(k)},
                                             {QStringLiteral("kind"), QStringLiteral("noop")}});
                break;
            }
        }
        if (flow.value(QStringLiteral("tasks")).isArray() || chance(90))
            flow.insert(QStringLiteral("tasks"), tasks);
        return QJsonDocument(flow).toJson(chance(50) ? QJsonDocument::Compact : QJsonDocument::Indented);
    }

    //! The same flow with every task a noop (no kind-specific fields), for the runnable subset.
    static QJsonObject noopVariant(QJsonObject flow)
    {
        QJsonArray tasks;
        for (const QJsonValue& v : flow.value(QStringLiteral("tasks")).toArray()) {
            const QJsonObject t = v.toObject();
            QJsonObject n{{QStringLiteral("id"), t.value(QStringLiteral("id"))},
                          {QStringLiteral("kind"), QStringLiteral("noop")}};
            if (t.contains(QStringLiteral("depends_on")))
                n.insert(QStringLiteral("depends_on"), t.value(QStringLiteral("depends_on")));
            tasks.append(n);
        }
        flow.insert(QStringLiteral("tasks"), tasks);
        return flow;
    }

    //! Whether a flow file is safe and quick to run: only noop tasks, no map at all.
    static bool onlyQuickNoops(const QByteArray& text)
    {
        QJsonParseError error;
        const QJsonDocument doc = QJsonDocument::fromJson(text, &error);
        if (error.error != QJsonParseError::NoError || !doc.isObject())
            return false;
        const QJsonValue tasks = doc.object().value(QStringLiteral("tasks"));
        if (!tasks.isArray() || tasks.toArray().size() > 300)
            return false;
        for (const QJsonValue& v : tasks.toArray()) {
            const QJsonObject t = v.toObject();
            if (t.value(QStringLiteral("kind")).toString() != QLatin1String("noop"))
                return false;
            for (auto it = t.begin(); it != t.end(); ++it)
                if (it.key() != QLatin1String("id") && it.key() != QLatin1String("kind")
                    && it.key() != QLatin1String("depends_on") && it.key() != QLatin1String("description"))
                    return false;
        }
        return true;
    }
};

//! The first failures in full (each says how to replay it), then how many more there were.
QString summary(const QStringList& failures)
{
    constexpr int Shown = 20;
    QString text = failures.mid(0, Shown).join(QLatin1Char('\n'));
    if (failures.size() > Shown)
        text += QStringLiteral("\n… and %1 more failing cases").arg(failures.size() - Shown);
    return text;
}

bool namesFlowPlace(const QByteArray& line, const QString& fileName)
{
    return line.contains(fileName.toUtf8()) || line.contains("tasks[") || line.contains("parameters")
        || line.contains("flowdeck");
}

} // namespace

class TestFuzz : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void initTestCase()
    {
        QVERIFY(QFileInfo(flowdeckBinary()).isExecutable());
        qInfo("fuzz seed %u (set FLOWDECK_FUZZ_SEED to replay another)", fuzzSeed());
    }

    void mutatedFlows()
    {
        Fuzzer f(fuzzSeed());
        QVERIFY(f.dataDir.isValid() && f.workDir.isValid());
        QDir(f.dataDir.path()).mkpath(QStringLiteral("home"));
        const QDir flowsDir(sourcePath(QStringLiteral("resources/flows")));
        QList<QByteArray> bases;
        QList<QJsonObject> objects;
        for (const QString& name : flowsDir.entryList({QStringLiteral("*.json")}, QDir::Files, QDir::Name)) {
            QFile file(flowsDir.filePath(name));
            QVERIFY2(file.open(QIODevice::ReadOnly), qPrintable(file.fileName()));
            const QByteArray text = file.readAll();
            bases << text;
            const QJsonObject object = QJsonDocument::fromJson(text).object();
            objects << object << Fuzzer::noopVariant(object);
        }
        QVERIFY(!bases.isEmpty());

        QElapsedTimer timer;
        timer.start();
        QStringList failures;
        int validated = 0, runs = 0;
        for (int i = 0; i < FlowCases; ++i) {
            QByteArray text;
            if (f.chance(40)) {
                text = bases.at(f.bounded(int(bases.size())));
                for (int k = 1 + f.bounded(4); k > 0; --k)
                    text = f.mutateBytes(text);
            } else {
                text = f.mutateStructure(objects.at(f.bounded(int(objects.size()))));
                if (f.chance(15))
                    text = f.mutateBytes(text);
            }
            const QString name = QStringLiteral("case-%1.json").arg(i);
            const QString path = f.dataDir.filePath(name);
            {
                QFile file(path);
                QVERIFY(file.open(QIODevice::WriteOnly));
                file.write(text);
            }
            auto report = [&](const QStringList& args, const QString& what) {
                failures << QStringLiteral("seed %1 flow case %2: flowdeck %3\n  %4\n  file: %5")
                                .arg(f.seed)
                                .arg(i)
                                .arg(args.join(QLatin1Char(' ')), what, QString::fromUtf8(truncated(text)));
            };
            const QStringList validate{QStringLiteral("validate"), path};
            const Outcome v = f.run(validate);
            const auto located = [&](const QByteArray& line) { return namesFlowPlace(line, name); };
            if (const QString problem = f.check(v, located); !problem.isEmpty()) {
                report(validate, problem);
                continue;
            }
            if (v.exitCode != 0)
                continue;
            ++validated;
            if (runs < MaxRunCases && Fuzzer::onlyQuickNoops(text)) {
                ++runs;
                const QStringList run{QStringLiteral("run"), path, QStringLiteral("--db"),
                                      f.dataDir.filePath(QStringLiteral("f.db"))};
                const Outcome r = f.run(run);
                if (const QString problem = f.check(r, located); !problem.isEmpty())
                    report(run, problem);
            }
        }
        qInfo("%d mutated flows (%d valid, %d run) in %lld ms", FlowCases, validated, runs, timer.elapsed());
        QVERIFY2(failures.isEmpty(), qPrintable(summary(failures)));
    }

    void mutatedArguments()
    {
        Fuzzer f(fuzzSeed() ^ 0x5a5a5a5au);
        QVERIFY(f.dataDir.isValid() && f.workDir.isValid());
        QDir(f.dataDir.path()).mkpath(QStringLiteral("home"));
        const QString noopFlow = f.dataDir.filePath(QStringLiteral("noop.json"));
        {
            QFile file(noopFlow);
            QVERIFY(file.open(QIODevice::WriteOnly));
            file.write(R"({"name":"fuzz","parameters":{"n":2},"tasks":[{"id":"a","kind":"noop"},)"
                       R"({"id":"b","kind":"noop","depends_on":["a"]}]})");
        }
        const QString db = f.dataDir.filePath(QStringLiteral("cli.db"));
        const QStringList commands[] = {
            {QStringLiteral("run")},
            {QStringLiteral("validate")},
            {QStringLiteral("runs"), QStringLiteral("ls")},
            {QStringLiteral("runs"), QStringLiteral("show")},
            {QStringLiteral("runs"), QStringLiteral("logs")},
            {QStringLiteral("runs"), QStringLiteral("cancel")},
            {QStringLiteral("runs")},
            {QStringLiteral("submit")},
            {QStringLiteral("concurrency-limit"), QStringLiteral("create")},
            {QStringLiteral("concurrency-limit"), QStringLiteral("ls")},
            {QStringLiteral("concurrency-limit"), QStringLiteral("inspect")},
            {QStringLiteral("concurrency-limit"), QStringLiteral("reset")},
            {QStringLiteral("concurrency-limit"), QStringLiteral("delete")},
            {QStringLiteral("concurrency-limit")},
            {QStringLiteral("worker")},
            {QStringLiteral("nonsense")},
            // No empty list: without a subcommand flowdeck opens the dashboard, which is no CLI case.
        };
        const QStringList junk = {QString(),
                                  QStringLiteral(" "),
                                  QStringLiteral("--"),
                                  QStringLiteral("-"),
                                  QStringLiteral("-x"),
                                  QStringLiteral("--nope"),
                                  QStringLiteral("--db="),
                                  QStringLiteral("=="),
                                  QStringLiteral("-1"),
                                  QStringLiteral("0"),
                                  QStringLiteral("1e9"),
                                  QStringLiteral("NaN"),
                                  QStringLiteral("shared"),
                                  QStringLiteral("tag with space"),
                                  QStringLiteral("\u00e9\U0001F600"),
                                  QStringLiteral("\t\r\n"),
                                  QStringLiteral("9999999999999999999"),
                                  QString(3000, QLatin1Char('y')),
                                  QStringLiteral("00000000-0000-0000-0000-000000000000"),
                                  QStringLiteral("%s%n"),
                                  QStringLiteral("'; DROP TABLE flow_runs; --"),
                                  noopFlow,
                                  f.dataDir.filePath(QStringLiteral("missing.json"))};
        const QStringList values = {QString(),
                                    QStringLiteral("-1"),
                                    QStringLiteral("0"),
                                    QStringLiteral("3"),
                                    QStringLiteral("1e9"),
                                    QStringLiteral("2147483648"),
                                    QStringLiteral("abc"),
                                    QStringLiteral("n=1"),
                                    QStringLiteral("n="),
                                    QStringLiteral("=1"),
                                    QStringLiteral("who=x"),
                                    QStringLiteral("COMPLETED"),
                                    QStringLiteral("running"),
                                    QStringLiteral("--json"),
                                    QStringLiteral("--"),
                                    QStringLiteral("\u00e9")};
        const QStringList valued
            = {QStringLiteral("--param"), QStringLiteral("--state"),   QStringLiteral("--limit"),
               QStringLiteral("--seed"),  QStringLiteral("--threads"), QStringLiteral("--flow"),
               QStringLiteral("-p")};

        QElapsedTimer timer;
        timer.start();
        QStringList failures;
        int exits[3] = {0, 0, 0};
        for (int i = 0; i < CliCases; ++i) {
            const QStringList command = commands[f.bounded(int(std::size(commands)))];
            QStringList args = command;
            const bool worker = command.value(0) == QLatin1String("worker");
            QStringList rest;
            bool dbWithoutValue = false;
            if (command.value(0) == QLatin1String("run") || command.value(0) == QLatin1String("validate")
                || command.value(0) == QLatin1String("submit"))
                if (f.chance(70))
                    rest << noopFlow;
            const bool plausible = f.chance(35); // mostly well-formed, to reach past the option parser
            if (plausible) {
                const QString sub = command.value(1);
                if (sub == QLatin1String("show") || sub == QLatin1String("logs")
                    || sub == QLatin1String("cancel"))
                    rest << (f.chance(50) ? QStringLiteral("00000000-0000-0000-0000-000000000000")
                                          : junk.at(f.bounded(int(junk.size()))));
                else if (sub == QLatin1String("create"))
                    rest << QStringLiteral("shared") << values.at(f.bounded(int(values.size())));
                else if (sub == QLatin1String("inspect") || sub == QLatin1String("reset")
                         || sub == QLatin1String("delete"))
                    rest << (f.chance(70) ? QStringLiteral("shared") : junk.at(f.bounded(int(junk.size()))));
                rest << QStringLiteral("--db") << db;
            }
            for (int k = f.bounded(plausible ? 2 : 5); k > 0; --k) {
                switch (f.bounded(8)) {
                case 0:
                    rest << junk.at(f.bounded(int(junk.size())));
                    break;
                case 1:
                case 2:
                    rest << valued.at(f.bounded(int(valued.size())));
                    if (f.chance(80))
                        rest << values.at(f.bounded(int(values.size())));
                    break;
                case 3:
                    rest << QStringLiteral("--json");
                    break;
                case 4:
                    rest << QStringLiteral("--help");
                    break;
                case 5: // a database inside the temporary folder, or (last, below) a missing value
                    if (f.chance(80))
                        rest << QStringLiteral("--db")
                             << (f.chance(80) ? db : f.dataDir.filePath(QStringLiteral("other.db")));
                    else
                        dbWithoutValue = true;
                    break;
                case 6:
                    rest << QStringLiteral("--");
                    break;
                default: {
                    // Anywhere but right after --db: a junk value there is a relative database path,
                    // which rightly makes a file in the working directory.
                    int at = f.bounded(int(rest.size()) + 1);
                    if (at > 0 && rest.at(at - 1) == QLatin1String("--db"))
                        --at;
                    rest.insert(at, junk.at(f.bounded(int(junk.size()))));
                    break;
                }
                }
            }
            // Last, so that no junk token after it is taken for a database file in the working directory.
            if (dbWithoutValue)
                rest << QStringLiteral("--db");
            if (worker) {
                // Never a worker left running: only help or an unknown option, which stops it at once.
                rest = {f.chance(50) ? QStringLiteral("--help") : QStringLiteral("--no-such-worker-option")};
                if (f.chance(50))
                    rest << QStringLiteral("--db") << db;
            }
            args << rest;
            const Outcome o = f.run(args);
            if (o.finished && o.status == QProcess::NormalExit && o.exitCode >= 0 && o.exitCode <= 2)
                ++exits[o.exitCode];
            const QString problem
                = f.check(o, [](const QByteArray& line) { return !line.trimmed().isEmpty(); });
            if (!problem.isEmpty()) {
                QStringList quoted;
                for (const QString& a : args)
                    quoted << QLatin1Char('\'') + (a.size() > 80 ? a.left(80) + QStringLiteral("…") : a)
                            + QLatin1Char('\'');
                failures << QStringLiteral("seed %1 argument case %2: flowdeck %3\n  %4")
                                .arg(f.seed)
                                .arg(i)
                                .arg(quoted.join(QLatin1Char(' ')), problem);
            }
        }
        qInfo("%d argument lists (exit 0: %d, 1: %d, 2: %d) in %lld ms", CliCases, exits[0], exits[1],
              exits[2], timer.elapsed());
        QVERIFY2(failures.isEmpty(), qPrintable(summary(failures)));
    }
};

QTEST_GUILESS_MAIN(TestFuzz)
#include "tst_fuzz.moc"
