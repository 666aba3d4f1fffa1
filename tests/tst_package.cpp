// What the Debian package ships beside the binary, checked against the built flowdeck: the man page
// says everything --help says, --version names the commit and the libraries, and the bash completion
// script completes subcommands, options, flow files, states, run ids and tags.
#include "context/flowlibrary.h"
#include "flow/flowparser.h"
#include "flow/taskkind.h"
#include "testutil.h"

#include <QDir>
#include <QElapsedTimer>
#include <QFile>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QProcess>
#include <QRegularExpression>
#include <QStandardPaths>
#include <QTemporaryDir>
#include <QTest>

#include <sqlite3.h>

using namespace flowdeck;
using namespace flowdeck::test;

namespace {

struct Result {
    int exitCode = -1;
    QString out;
    QString err;
    qint64 elapsedMs = 0;
};

Result runProgram(const QString& program, const QStringList& args,
                  const QProcessEnvironment& env = QProcessEnvironment::systemEnvironment(),
                  int timeoutMs = 30000)
{
    QProcess p;
    p.setProcessEnvironment(env);
    QElapsedTimer timer;
    timer.start();
    p.start(program, args);
    Result r;
    if (!p.waitForFinished(timeoutMs)) {
        p.kill();
        p.waitForFinished();
        r.err = QStringLiteral("timed out");
        return r;
    }
    r.elapsedMs = timer.elapsed();
    r.exitCode = p.exitStatus() == QProcess::NormalExit ? p.exitCode() : -1;
    r.out = QString::fromUtf8(p.readAllStandardOutput());
    r.err = QString::fromUtf8(p.readAllStandardError());
    return r;
}

Result runFlowdeck(const QStringList& args,
                   const QProcessEnvironment& env = QProcessEnvironment::systemEnvironment())
{
    return runProgram(flowdeckBinary(), args, env);
}

//! The entries of a help section ("Commands:", "Subcommands:"): the first word of each line that
//! starts with two spaces and a letter.
QStringList sectionWords(const QString& help, const QString& header)
{
    QStringList words;
    bool inside = false;
    for (const QString& line : help.split(u'\n')) {
        if (!line.startsWith(u' ') && line.endsWith(u':')) {
            inside = line == header;
            continue;
        }
        if (line.isEmpty())
            inside = false;
        static const QRegularExpression entry(QStringLiteral("^  ([a-z][a-z-]*)"));
        if (const auto m = entry.match(line); inside && m.hasMatch() && !words.contains(m.captured(1)))
            words << m.captured(1);
    }
    return words;
}

QStringList longOptions(const QString& text)
{
    static const QRegularExpression option(QStringLiteral("(?<![\\w-])--[a-z][a-z-]*[a-z]"));
    QStringList found;
    for (auto it = option.globalMatch(text); it.hasNext();) {
        const QString name = it.next().captured(0);
        if (!found.contains(name))
            found << name;
    }
    return found;
}

//! The man page's text with roff's escapes undone, split into its .SS sections by title.
QHash<QString, QString> manSections(const QString& roff)
{
    QString text = roff;
    text.replace(QStringLiteral("\\-"), QStringLiteral("-"));
    text.replace(QRegularExpression(QStringLiteral("\\\\f[BIR]")), QString());
    text.replace(QStringLiteral("\\e"), QStringLiteral("\\"));
    QHash<QString, QString> sections;
    QString title;
    for (const QString& line : text.split(u'\n')) {
        if (line.startsWith(QStringLiteral(".SH ")) || line.startsWith(QStringLiteral(".SS "))) {
            title = line.mid(4);
            title.remove(u'"');
            continue;
        }
        sections[title] += line + u'\n';
    }
    return sections;
}

QString completionScript()
{
    return sourcePath(QStringLiteral("resources/completion/flowdeck.bash"));
}

//! bash-completion's library, which a Debian system with completion enabled loads first.
const QString BashCompletion = QStringLiteral("/usr/share/bash-completion/bash_completion");

//! \a word split as bash splits the command line for completion: '=' and ':' are word breaks, and a
//! run of them is a word of its own.
QStringList bashWords(const QString& word)
{
    QStringList parts;
    static const QRegularExpression pieces(QStringLiteral("[=:]+|[^=:]+"));
    for (auto it = pieces.globalMatch(word); it.hasNext();)
        parts << it.next().captured(0);
    return parts.isEmpty() ? QStringList{QString()} : parts;
}

QString shellQuoted(const QString& text)
{
    QString quoted = text;
    quoted.replace(u'\'', QStringLiteral("'\\''"));
    return u'\'' + quoted + u'\'';
}

/**
 * Completes \a words (the last one is being completed, the cursor at its end) the way bash does on
 * Tab: COMP_LINE, COMP_POINT, and COMP_WORDS split at bash's word breaks; with the completion script
 * as the package installs it, after bash-completion's library when \a withLibrary. Returns COMPREPLY,
 * one per line.
 */
Result complete(const QStringList& words,
                const QProcessEnvironment& env = QProcessEnvironment::systemEnvironment(),
                bool withLibrary = false)
{
    const QString line = words.join(u' ');
    QString array;
    qsizetype count = 0;
    for (const QString& w : words) {
        for (const QString& part : bashWords(w)) {
            array += u' ' + shellQuoted(part);
            ++count;
        }
    }
    const QString library = withLibrary ? QStringLiteral("source '%1'; ").arg(BashCompletion) : QString();
    const QString script = QStringLiteral("%1source '%2'; COMP_LINE=%3; COMP_POINT=%4; COMP_WORDS=(%5); "
                                          "COMP_CWORD=%6; _flowdeck; printf '%s\\n' \"${COMPREPLY[@]}\"")
                               .arg(library, completionScript(), shellQuoted(line))
                               .arg(line.size())
                               .arg(array)
                               .arg(count - 1);
    return runProgram(QStringLiteral("bash"), {QStringLiteral("-c"), script}, env);
}

QStringList lines(const QString& out)
{
    return out.split(u'\n', Qt::SkipEmptyParts);
}

} // namespace

class TestPackage : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void manPageHasEveryCommandAndOptionOfHelp();
    void manPageRendersWithoutWarnings();
    void versionNamesCommitQtAndSqlite();
    void completion_data();
    void completion();
    void completionOfFlowFiles();
    void completionFromDatabase_data();
    void completionFromDatabase();
    void completionOfUnreachableDatabaseIsQuickAndSilent();
    void nothingIsWrittenBesideTheBinary();
    void exampleFlowsOfTheSourceTree();
    void exampleFlowsInstalled();
};

void TestPackage::manPageHasEveryCommandAndOptionOfHelp()
{
    const Result man = runFlowdeck({QStringLiteral("__manpage")});
    QCOMPARE(man.exitCode, 0);
    const QHash<QString, QString> sections = manSections(man.out);

    // Everything the top-level --help names: its commands, the dashboard's options, -h and -v.
    const Result top = runFlowdeck({QStringLiteral("--help")});
    QCOMPARE(top.exitCode, 0);
    const QStringList commands = sectionWords(top.out, QStringLiteral("Commands:"));
    QVERIFY2(commands.size() >= 6, qPrintable(top.out));
    const QString dashboard = top.out.section(QStringLiteral("Dashboard options:"), 1)
                                  .section(QStringLiteral("Environment:"), 0, 0);
    QVERIFY(dashboard.contains(QStringLiteral("--screenshot")));
    for (const QString& option : longOptions(dashboard))
        QVERIFY2(sections.value(QStringLiteral("DASHBOARD OPTIONS")).contains(option), qPrintable(option));
    for (const QString& variable :
         {QStringLiteral("FLOWDECK_DB"), QStringLiteral("FLOWDECK_WRITE_RETRY_S")}) {
        QVERIFY(top.out.contains(variable));
        QVERIFY2(sections.value(QStringLiteral("ENVIRONMENT")).contains(variable), qPrintable(variable));
    }
    for (const QString& code : {QStringLiteral("130"), QStringLiteral("2")})
        QVERIFY2(sections.value(QStringLiteral("EXIT STATUS")).contains(u'\n' + code + u'\n'),
                 qPrintable(code));
    QVERIFY(sections.value(QStringLiteral("FILES")).contains(QStringLiteral("/etc/flowdeck/worker.env")));

    // Each command and each subcommand of a group has its section with every option its --help shows.
    int checked = 0;
    for (const QString& command : commands) {
        const Result help = runFlowdeck({command, QStringLiteral("--help")});
        QCOMPARE(help.exitCode, 0);
        QList<QStringList> paths{{command}};
        for (const QString& sub : sectionWords(help.out, QStringLiteral("Subcommands:")))
            paths << QStringList{command, sub};
        for (const QStringList& path : std::as_const(paths)) {
            const Result own = runFlowdeck(path + QStringList{QStringLiteral("--help")});
            QCOMPARE(own.exitCode, 0);
            const QString title = QStringLiteral("flowdeck ") + path.join(u' ');
            QVERIFY2(sections.contains(title), qPrintable(QStringLiteral("no section \"%1\"").arg(title)));
            // A group's own options are those of its subcommands, named in their sections.
            if (path.size() == 1 && paths.size() > 1)
                continue;
            for (const QString& option : longOptions(own.out.section(QStringLiteral("Options:"), 1))) {
                QVERIFY2(sections.value(title).contains(option),
                         qPrintable(QStringLiteral("%1: %2 is not in the man page").arg(title, option)));
                ++checked;
            }
        }
    }
    QVERIFY2(checked > 30, qPrintable(QString::number(checked)));
}

void TestPackage::manPageRendersWithoutWarnings()
{
    if (QStandardPaths::findExecutable(QStringLiteral("groff")).isEmpty()) {
        // scripts/setup.sh installs groff-base for the tests: in CI a missing groff is a set-up fault.
        QVERIFY2(!runningInCi(), "groff is not installed, but scripts/setup.sh test installs groff-base");
        QSKIP("groff is not installed (apt-get install groff-base)");
    }
    QTemporaryDir dir;
    const QString page = dir.filePath(QStringLiteral("flowdeck.1"));
    QCOMPARE(runFlowdeck({QStringLiteral("__manpage"), page}).exitCode, 0);
    const Result groff = runProgram(QStringLiteral("groff"),
                                    {QStringLiteral("-man"), QStringLiteral("-Tutf8"), QStringLiteral("-ww"),
                                     QStringLiteral("-z"), page});
    QCOMPARE(groff.exitCode, 0);
    QVERIFY2(groff.err.isEmpty(), qPrintable(groff.err));
}

void TestPackage::versionNamesCommitQtAndSqlite()
{
    const Result r = runFlowdeck({QStringLiteral("--version")});
    QCOMPARE(r.exitCode, 0);
    const QStringList got = lines(r.out);
    QCOMPARE(got.size(), 4);
    QCOMPARE(got.at(0), QStringLiteral("flowdeck " FLOWDECK_VERSION));
    QVERIFY2(got.at(1).startsWith(QStringLiteral("commit ")), qPrintable(got.at(1)));
    const Result git = runProgram(
        QStringLiteral("git"),
        {QStringLiteral("-C"), sourcePath(QString()), QStringLiteral("rev-parse"), QStringLiteral("HEAD")});
    if (git.exitCode == 0) {
        // The binary's commit is the checkout's (or an older one of it, when HEAD moved since the build).
        const QString commit = got.at(1).mid(7).section(u'-', 0, 0);
        QVERIFY2(QRegularExpression(QStringLiteral("^[0-9a-f]{12}$")).match(commit).hasMatch(),
                 qPrintable(commit));
        const Result known
            = runProgram(QStringLiteral("git"),
                         {QStringLiteral("-C"), sourcePath(QString()), QStringLiteral("cat-file"),
                          QStringLiteral("-e"), commit + QStringLiteral("^{commit}")});
        QVERIFY2(known.exitCode == 0, qPrintable(commit));
    } else {
        QCOMPARE(got.at(1), QStringLiteral("commit unknown"));
    }
    QCOMPARE(got.at(2), QStringLiteral("Qt ") + QString::fromLatin1(qVersion()));
    QCOMPARE(got.at(3), QStringLiteral("SQLite ") + QString::fromLatin1(sqlite3_libversion()));
}

void TestPackage::completion_data()
{
    QTest::addColumn<QStringList>("words");
    QTest::addColumn<QStringList>("expected"); //!< exactly these, in any order, or with "..." at least these
    const QString f = QStringLiteral("flowdeck");
    QTest::newRow("subcommands") << QStringList{f, QStringLiteral("ru")}
                                 << QStringList{QStringLiteral("run"), QStringLiteral("runs")};
    QTest::newRow("every subcommand")
        << QStringList{f, QString()}
        << QStringList{QStringLiteral("cache"),  QStringLiteral("concurrency-limit"),
                       QStringLiteral("run"),    QStringLiteral("runs"),
                       QStringLiteral("submit"), QStringLiteral("validate"),
                       QStringLiteral("worker"), QStringLiteral("...")};
    QTest::newRow("group's subcommands")
        << QStringList{f, QStringLiteral("runs"), QString()}
        << QStringList{QStringLiteral("ls"), QStringLiteral("show"), QStringLiteral("logs"),
                       QStringLiteral("cancel"), QStringLiteral("...")};
    QTest::newRow("options") << QStringList{f, QStringLiteral("worker"), QStringLiteral("--gr")}
                             << QStringList{QStringLiteral("--grace-seconds")};
    QTest::newRow("subcommand's options")
        << QStringList{f, QStringLiteral("runs"), QStringLiteral("ls"), QStringLiteral("--")}
        << QStringList{QStringLiteral("--state"), QStringLiteral("--flow"), QStringLiteral("--parent"),
                       QStringLiteral("--limit"), QStringLiteral("--json"), QStringLiteral("--db"),
                       QStringLiteral("--help")};
    QTest::newRow("cache's subcommands") << QStringList{f, QStringLiteral("cache"), QString()}
                                         << QStringList{QStringLiteral("ls"), QStringLiteral("clear")};
    QTest::newRow("cache clear's options")
        << QStringList{f, QStringLiteral("cache"), QStringLiteral("clear"), QStringLiteral("--")}
        << QStringList{QStringLiteral("--flow"), QStringLiteral("--all"), QStringLiteral("--db"),
                       QStringLiteral("--help")};
    QTest::newRow("dashboard options") << QStringList{f, QStringLiteral("--pa")}
                                       << QStringList{QStringLiteral("--page"), QStringLiteral("--palette")};
    QTest::newRow("pages") << QStringList{f, QStringLiteral("--page"), QStringLiteral("c")}
                           << QStringList{QStringLiteral("concurrency")};
    QTest::newRow("states") << QStringList{f, QStringLiteral("runs"), QStringLiteral("ls"),
                                           QStringLiteral("--state"), QString()}
                            << QStringList{QStringLiteral("scheduled"), QStringLiteral("pending"),
                                           QStringLiteral("running"),   QStringLiteral("completed"),
                                           QStringLiteral("failed"),    QStringLiteral("cancelled"),
                                           QStringLiteral("crashed"),   QStringLiteral("paused"),
                                           QStringLiteral("cancelling")};
    QTest::newRow("state after other options") << QStringList{f,
                                                              QStringLiteral("runs"),
                                                              QStringLiteral("ls"),
                                                              QStringLiteral("--limit"),
                                                              QStringLiteral("5"),
                                                              QStringLiteral("--state"),
                                                              QStringLiteral("fa")}
                                               << QStringList{QStringLiteral("failed")};
    QTest::newRow("code-defined flows") << QStringList{f, QStringLiteral("run"), QStringLiteral("code-")}
                                        << QStringList{QStringLiteral("code-demo"), QStringLiteral("...")};
    QTest::newRow("state after =") << QStringList{f, QStringLiteral("runs"), QStringLiteral("ls"),
                                                  QStringLiteral("--state=fa")}
                                   << QStringList{QStringLiteral("failed")};
    QTest::newRow("page after =") << QStringList{f, QStringLiteral("--page=ru")}
                                  << QStringList{QStringLiteral("run"), QStringLiteral("runs")};
    QTest::newRow("no value for --param")
        << QStringList{f, QStringLiteral("run"), QStringLiteral("--param"), QString()} << QStringList{};
}

void TestPackage::completion()
{
    QFETCH(QStringList, words);
    QFETCH(QStringList, expected);
    words[0] = flowdeckBinary();
    const bool atLeast = expected.removeAll(QStringLiteral("...")) > 0;
    expected.sort();
    // Alone, and after bash-completion's library (which splits words its own way) when it is installed.
    for (const bool withLibrary : {false, true}) {
        if (withLibrary && !QFile::exists(BashCompletion))
            break;
        const Result r = complete(words, QProcessEnvironment::systemEnvironment(), withLibrary);
        QCOMPARE(r.exitCode, 0);
        QVERIFY2(r.err.isEmpty(), qPrintable(r.err));
        QStringList got = lines(r.out);
        got.sort();
        if (atLeast) {
            for (const QString& e : std::as_const(expected))
                QVERIFY2(got.contains(e), qPrintable(e + QStringLiteral(" not in ") + got.join(u' ')));
        } else {
            QCOMPARE(got, expected);
        }
    }
}

void TestPackage::completionOfFlowFiles()
{
    QTemporaryDir dir;
    QVERIFY(QDir(dir.path()).mkdir(QStringLiteral("more")));
    for (const QString& name : {QStringLiteral("a.json"), QStringLiteral("notes.txt")}) {
        QFile file(dir.filePath(name));
        QVERIFY(file.open(QIODevice::WriteOnly));
    }
    const Result r = complete({flowdeckBinary(), QStringLiteral("validate"), dir.path() + u'/'});
    QCOMPARE(r.exitCode, 0);
    QStringList got = lines(r.out);
    got.sort();
    QCOMPARE(got,
             (QStringList{dir.filePath(QStringLiteral("a.json")), dir.filePath(QStringLiteral("more"))}));

    // --db takes any file.
    const Result db = complete({flowdeckBinary(), QStringLiteral("runs"), QStringLiteral("ls"),
                                QStringLiteral("--db"), dir.filePath(QStringLiteral("n"))});
    QCOMPARE(lines(db.out), QStringList{dir.filePath(QStringLiteral("notes.txt"))});
    const Result joined = complete({flowdeckBinary(), QStringLiteral("runs"), QStringLiteral("ls"),
                                    QStringLiteral("--db=") + dir.filePath(QStringLiteral("n"))});
    QCOMPARE(lines(joined.out), QStringList{dir.filePath(QStringLiteral("notes.txt"))});
}

void TestPackage::completionFromDatabase_data()
{
    addBackendRows();
}

void TestPackage::completionFromDatabase()
{
    QFETCH(QString, backend);
    FLOWDECK_FRESH_DATABASE(url, backend);
    QCOMPARE(runFlowdeck({QStringLiteral("run"), sourcePath(QStringLiteral("resources/flows/hello.json")),
                          QStringLiteral("--db"), url})
                 .exitCode,
             0);
    for (const QString& tag : {QStringLiteral("gpu"), QStringLiteral("database")}) {
        QCOMPARE(runFlowdeck({QStringLiteral("concurrency-limit"), QStringLiteral("create"), tag,
                              QStringLiteral("2"), QStringLiteral("--db"), url})
                     .exitCode,
                 0);
    }
    const Result ls = runFlowdeck({QStringLiteral("runs"), QStringLiteral("ls"), QStringLiteral("--json"),
                                   QStringLiteral("--db"), url});
    const QJsonArray runs = QJsonDocument::fromJson(ls.out.toUtf8()).array();
    QCOMPARE(runs.size(), 1);
    const QString runId = runs.first().toObject().value(QStringLiteral("id")).toString();
    QVERIFY(!runId.isEmpty());

    const QProcessEnvironment plain = QProcessEnvironment::systemEnvironment();
    QProcessEnvironment env = plain;
    env.insert(QStringLiteral("FLOWDECK_DB"), url);
    const QString f = flowdeckBinary();
    // Alone, and after bash-completion's library, which joins "postgresql://..." its own way.
    for (const bool lib : {false, true}) {
        if (lib && !QFile::exists(BashCompletion))
            break;
        // Run ids, with --db (as one word or two) or from $FLOWDECK_DB.
        const Result ids = complete(
            {f, QStringLiteral("runs"), QStringLiteral("show"), QStringLiteral("--db"), url, QString()},
            plain, lib);
        QCOMPARE(lines(ids.out), QStringList{runId});
        const Result joined = complete(
            {f, QStringLiteral("runs"), QStringLiteral("show"), QStringLiteral("--db=") + url, QString()},
            plain, lib);
        QCOMPARE(lines(joined.out), QStringList{runId});
        const Result prefix = complete(
            {f, QStringLiteral("runs"), QStringLiteral("cancel"), QStringLiteral("--db"), url, runId.left(4)},
            plain, lib);
        QCOMPARE(lines(prefix.out), QStringList{runId});
        const Result other = complete({f, QStringLiteral("runs"), QStringLiteral("logs"),
                                       QStringLiteral("--db"), url, QStringLiteral("zz")},
                                      plain, lib);
        QVERIFY(lines(other.out).isEmpty());
        const Result fromEnv
            = complete({f, QStringLiteral("runs"), QStringLiteral("logs"), QString()}, env, lib);
        QCOMPARE(lines(fromEnv.out), QStringList{runId});

        // Tags of the concurrency limits.
        const Result tags = complete({f, QStringLiteral("concurrency-limit"), QStringLiteral("inspect"),
                                      QStringLiteral("--db"), url, QString()},
                                     plain, lib);
        QCOMPARE(lines(tags.out), (QStringList{QStringLiteral("database"), QStringLiteral("gpu")}));
        const Result tag = complete(
            {f, QStringLiteral("concurrency-limit"), QStringLiteral("delete"), QStringLiteral("g")}, env,
            lib);
        QCOMPARE(lines(tag.out), QStringList{QStringLiteral("gpu")});
    }
}

void TestPackage::completionOfUnreachableDatabaseIsQuickAndSilent()
{
    QTemporaryDir dir;
    const QString missing = dir.filePath(QStringLiteral("missing.db"));
    // A port nobody listens on, and an address that never answers (a blackhole in TEST-NET-1).
    const QStringList urls{missing, QStringLiteral("postgresql://flowdeck@127.0.0.1:1/flowdeck"),
                           QStringLiteral("postgresql://flowdeck@192.0.2.1:5432/flowdeck")};
    for (const QString& url : urls) {
        const Result r = complete({flowdeckBinary(), QStringLiteral("runs"), QStringLiteral("show"),
                                   QStringLiteral("--db"), url, QString()});
        QCOMPARE(r.exitCode, 0);
        QVERIFY2(lines(r.out).isEmpty() && r.err.isEmpty(), qPrintable(url + u':' + r.out + r.err));
        QVERIFY2(r.elapsedMs < 2500, qPrintable(QStringLiteral("%1: %2 ms").arg(url).arg(r.elapsedMs)));
    }
    QVERIFY2(!QFile::exists(missing), "completion created the database file");
}

void TestPackage::nothingIsWrittenBesideTheBinary()
{
    // The binary alone in a folder: running it (validate, a run with its database elsewhere, the man
    // page, a completion) leaves the folder as it was.
    QTemporaryDir bin;
    QTemporaryDir home;
    const QString copy = bin.filePath(QStringLiteral("flowdeck"));
    QVERIFY(QFile::copy(flowdeckBinary(), copy));
    QProcessEnvironment env = QProcessEnvironment::systemEnvironment();
    env.insert(QStringLiteral("HOME"), home.path());
    env.insert(QStringLiteral("XDG_DATA_HOME"), home.filePath(QStringLiteral("data")));
    env.insert(QStringLiteral("XDG_CONFIG_HOME"), home.filePath(QStringLiteral("config")));
    env.remove(QStringLiteral("FLOWDECK_DB"));
    const QString hello = sourcePath(QStringLiteral("resources/flows/hello.json"));
    QCOMPARE(runProgram(copy, {QStringLiteral("validate"), hello}, env).exitCode, 0);
    QCOMPARE(runProgram(copy, {QStringLiteral("run"), hello}, env).exitCode, 0);
    QCOMPARE(runProgram(copy, {QStringLiteral("__manpage")}, env).exitCode, 0);
    QCOMPARE(runProgram(copy,
                        {QStringLiteral("__complete"), QStringLiteral("3"), QStringLiteral("flowdeck"),
                         QStringLiteral("runs"), QStringLiteral("show"), QString()},
                        env)
                 .exitCode,
             0);
    QCOMPARE(QDir(bin.path()).entryList(QDir::AllEntries | QDir::NoDotAndDotDot | QDir::Hidden),
             QStringList{QStringLiteral("flowdeck")});
    // The run's database went to the data folder.
    QVERIFY(QFile::exists(home.filePath(QStringLiteral("data/Flowdeck/flowdeck/flowdeck.db"))));
}

void TestPackage::exampleFlowsOfTheSourceTree()
{
    // This test runs from the build folder: the examples are the source tree's files, with paths the
    // command line takes too (not copies inside the binary).
    const QString folder = QDir(sourcePath(QStringLiteral("resources/flows"))).canonicalPath();
    QCOMPARE(flowlibrary::exampleFolder(), folder);
    const QList<FlowEntry> examples = flowlibrary::loadExamples(FlowParser(TaskKindRegistry::instance()));
    QCOMPARE(examples.size(), QDir(folder).entryList({QStringLiteral("*.json")}, QDir::Files).size());
    for (const FlowEntry& e : examples) {
        QVERIFY2(e.source.startsWith(folder + u'/') && QFile::exists(e.source), qPrintable(e.source));
        QVERIFY2(e.isValid(), qPrintable(e.source));
    }
}

void TestPackage::exampleFlowsInstalled()
{
    // PREFIX/bin/flowdeck finds PREFIX/share/flowdeck/flows, wherever PREFIX is.
    QTemporaryDir prefix;
    QVERIFY(QDir(prefix.path()).mkpath(QStringLiteral("bin")));
    QVERIFY(QDir(prefix.path()).mkpath(QStringLiteral("share/flowdeck/flows")));
    const QString flows = QDir(prefix.filePath(QStringLiteral("share/flowdeck/flows"))).canonicalPath();
    QVERIFY(QFile::copy(sourcePath(QStringLiteral("resources/flows/hello.json")),
                        flows + QStringLiteral("/hello.json")));
    QCOMPARE(flowlibrary::exampleFolder(prefix.filePath(QStringLiteral("bin"))), flows);
}

QTEST_GUILESS_MAIN(TestPackage)
#include "tst_package.moc"
