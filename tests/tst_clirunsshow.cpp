// `flowdeck runs show` over a big run: a summary, pages of task runs and streamed output, with memory
// that does not grow with the run; the real binary on SQLite and on the PostgreSQL server in
// FLOWDECK_TEST_PG.
#include "cliutil.h"
#include "testutil.h"

#include <QElapsedTimer>
#include <QFile>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QRegularExpression>
#include <QTemporaryDir>
#include <QTest>

#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

using namespace flowdeck;
using namespace flowdeck::test;

namespace {

//! VmHWM of process \a pid (its peak resident memory since its exec) in KB; -1 when it is gone.
long peakRssKbOfProcess(pid_t pid)
{
    QFile status(QStringLiteral("/proc/%1/status").arg(pid));
    if (!status.open(QIODevice::ReadOnly))
        return -1;
    for (const QByteArray& line : status.readAll().split('\n')) {
        if (line.startsWith("VmHWM:"))
            return line.mid(6).trimmed().split(' ').value(0).toLong();
    }
    return -1;
}

/**
 * Runs the flowdeck binary under test with \a args and returns its peak resident memory in KB (-1
 * when it could not run or failed). Its output goes through a pipe of one page that is read a page at
 * a time, its peak read before each: it cannot get more than a page ahead, so the last reading is
 * taken when it has printed all but its last page. (wait4's ru_maxrss would count this process's
 * memory too: Linux keeps it across the child's exec.)
 */
long peakKbOf(const QStringList& args)
{
    QList<QByteArray> storage{QFile::encodeName(flowdeckBinary())};
    for (const QString& a : args)
        storage << a.toLocal8Bit();
    std::vector<char*> argv;
    for (QByteArray& a : storage)
        argv.push_back(a.data());
    argv.push_back(nullptr);
    int fds[2];
    if (pipe(fds) != 0)
        return -1;
    fcntl(fds[1], F_SETPIPE_SZ, 4096);
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, fds[1], 1);
    posix_spawn_file_actions_addclose(&actions, fds[0]);
    pid_t pid = 0;
    const int spawned = posix_spawn(&pid, argv[0], &actions, nullptr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    close(fds[1]);
    long peak = -1;
    if (spawned == 0) {
        char buffer[4096];
        for (;;) {
            peak = std::max(peak, peakRssKbOfProcess(pid));
            const ssize_t got = read(fds[0], buffer, sizeof buffer);
            if (got == 0 || (got < 0 && errno != EINTR))
                break;
        }
    }
    close(fds[0]);
    int status = 0;
    if (spawned != 0 || waitpid(pid, &status, 0) != pid || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
        return -1;
    return peak;
}

} // namespace

class TestCliRunsShow : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void showPagesABigRun_data() { addBackendRows(); }
    void showPagesABigRun();
};

void TestCliRunsShow::showPagesABigRun()
{
    QFETCH(QString, backend);
    FLOWDECK_FRESH_DATABASE(url, backend);
    QTemporaryDir dir;
    const int n = backend == u"sqlite" ? 100000 : 5000;
    const QString flow = dir.filePath(QStringLiteral("c-many-%1.json").arg(backend));
    {
        QFile file(flow);
        QVERIFY(file.open(QIODevice::WriteOnly));
        // "boom" sorts before "n": its three failed runs come first.
        file.write(QStringLiteral(R"({"name": "c-many", "tasks": [{"id": "n", "kind": "noop", "map": %1},
            {"id": "boom", "kind": "fail", "map": 3, "message": "many fail"}]})")
                       .arg(n)
                       .toUtf8());
    }
    const QStringList runArgs
        = {QStringLiteral("run"), flow, QStringLiteral("--db"), url, QStringLiteral("--json")};
    const CliResult ran = runCli(runArgs, 600000);
    QVERIFY2(ran.exitCode == 1, qPrintable(describe(runArgs, ran))); // FAILED: boom fails
    const QString id = QJsonDocument::fromJson(ran.out.section(u'\n', 0, 0).toUtf8())
                           .object()
                           .value(QStringLiteral("flow_run_id"))
                           .toString();
    QVERIFY2(!id.isEmpty(), qPrintable(ran.out.left(500)));
    const int total = n + 3;
    const QStringList show
        = {QStringLiteral("runs"), QStringLiteral("show"), id, QStringLiteral("--db"), url};
    auto rowsOf = [](const QString& out) {
        static const QRegularExpression row(QStringLiteral("^(boom|n)\\[(\\d+)\\]\\s"),
                                            QRegularExpression::MultilineOption);
        QStringList labels;
        for (auto it = row.globalMatch(out); it.hasNext();) {
            const auto m = it.next();
            labels << m.captured(1) + u'[' + m.captured(2) + u']';
        }
        return labels;
    };

    // By default: the counts, the durations, the first 50 and how to see more.
    const CliResult first = runCli(show);
    QVERIFY2(first.exitCode == 0, qPrintable(describe(show, first)));
    QVERIFY2(first.out.contains(QStringLiteral("task runs:   %1: %2 COMPLETED, 3 FAILED").arg(total).arg(n)),
             qPrintable(first.out.left(3000)));
    QVERIFY2(QRegularExpression(
                 QStringLiteral("durations:\\s+%1 COMPLETED: min [^,]+, mean [^,]+, max \\S+").arg(n))
                 .match(first.out)
                 .hasMatch(),
             qPrintable(first.out.left(3000)));
    QStringList rows = rowsOf(first.out);
    QCOMPARE(rows.size(), 50);
    QCOMPARE(rows.first(), QStringLiteral("boom[0]"));
    QCOMPARE(rows.last(), QStringLiteral("n[46]"));
    QVERIFY2(
        first.out.contains(QStringLiteral("... showing task runs 1-50 of %1; next: --offset 50").arg(total)),
        qPrintable(first.out.right(500)));

    // A page further on, and a state.
    const CliResult page = runCli(show
                                  + QStringList{QStringLiteral("--limit"), QStringLiteral("7"),
                                                QStringLiteral("--offset"), QStringLiteral("1003")});
    QVERIFY2(page.exitCode == 0, qPrintable(page.err));
    rows = rowsOf(page.out);
    QCOMPARE(rows,
             (QStringList{QStringLiteral("n[1000]"), QStringLiteral("n[1001]"), QStringLiteral("n[1002]"),
                          QStringLiteral("n[1003]"), QStringLiteral("n[1004]"), QStringLiteral("n[1005]"),
                          QStringLiteral("n[1006]")}));
    QVERIFY2(page.out.contains(
                 QStringLiteral("showing task runs 1004-1010 of %1; next: --offset 1010").arg(total)),
             qPrintable(page.out.right(500)));
    const CliResult failed = runCli(show + QStringList{QStringLiteral("--state"), QStringLiteral("failed")});
    QVERIFY2(failed.exitCode == 0, qPrintable(failed.err));
    QCOMPARE(rowsOf(failed.out),
             (QStringList{QStringLiteral("boom[0]"), QStringLiteral("boom[1]"), QStringLiteral("boom[2]")}));
    QVERIFY2(!failed.out.contains(QStringLiteral("showing task runs")), qPrintable(failed.out));

    // --all: every row once, in order, read a page at a time.
    const CliResult all = runCli(show + QStringList{QStringLiteral("--all")}, 300000);
    QVERIFY2(all.exitCode == 0, qPrintable(all.err));
    rows = rowsOf(all.out);
    QCOMPARE(rows.size(), total);
    QCOMPARE(rows.at(3), QStringLiteral("n[0]"));
    QCOMPARE(rows.at(2003), QStringLiteral("n[2000]")); // across a page boundary
    QCOMPARE(rows.last(), QStringLiteral("n[%1]").arg(n - 1));
    QVERIFY(!all.out.contains(QStringLiteral("showing task runs")));

    // --json: every task run unless paged; --limit and --offset page it too.
    const CliResult json = runCli(show + QStringList{QStringLiteral("--json")}, 300000);
    QVERIFY2(json.exitCode == 0, qPrintable(json.err));
    QJsonParseError error;
    const QJsonObject whole = QJsonDocument::fromJson(json.out.toUtf8(), &error).object();
    QVERIFY2(error.error == QJsonParseError::NoError, qPrintable(error.errorString()));
    const QJsonArray every = whole.value(QStringLiteral("task_runs")).toArray();
    QCOMPARE(every.size(), total);
    QCOMPARE(every.last().toObject().value(QStringLiteral("map_index")).toInt(), n - 1);
    QCOMPARE(whole.value(QStringLiteral("task_run_durations"))
                 .toObject()
                 .value(QStringLiteral("COMPLETED"))
                 .toObject()
                 .value(QStringLiteral("count"))
                 .toInteger(),
             qint64(n));
    const CliResult jsonPage
        = runCli(show
                 + QStringList{QStringLiteral("--json"), QStringLiteral("--offset"), QStringLiteral("3"),
                               QStringLiteral("--limit"), QStringLiteral("2")});
    QVERIFY2(jsonPage.exitCode == 0, qPrintable(jsonPage.err));
    const QJsonObject paged = QJsonDocument::fromJson(jsonPage.out.toUtf8()).object();
    QCOMPARE(paged.value(QStringLiteral("task_runs_offset")).toInteger(), 3);
    QCOMPARE(paged.value(QStringLiteral("task_runs_limit")).toInteger(), 2);
    const QJsonArray two = paged.value(QStringLiteral("task_runs")).toArray();
    QCOMPARE(two.size(), 2);
    QCOMPARE(two.first().toObject().value(QStringLiteral("map_index")).toInt(), 0);

    // Bad paging options: one line, exit 2.
    for (const QStringList& bad :
         {QStringList{QStringLiteral("--limit"), QStringLiteral("0")},
          QStringList{QStringLiteral("--offset"), QStringLiteral("-1")},
          QStringList{QStringLiteral("--all"), QStringLiteral("--limit"), QStringLiteral("5")},
          QStringList{QStringLiteral("--task"), QStringLiteral("n[1]"), QStringLiteral("--all")}}) {
        const CliResult r = runCli(show + bad);
        QVERIFY2(r.exitCode == 2 && r.errLines().size() == 1, qPrintable(describe(show + bad, r)));
    }

    // Memory: printing every row costs about what printing one does (a page is in memory at a time).
    if (backend == u"sqlite") {
        const long one = peakKbOf(show + QStringList{QStringLiteral("--limit"), QStringLiteral("1")});
        const long every = peakKbOf(show + QStringList{QStringLiteral("--all")});
        const long everyJson = peakKbOf(show + QStringList{QStringLiteral("--json")});
        QVERIFY(one > 0 && every > 0 && everyJson > 0);
        qInfo("peak RSS of runs show over %d task runs: --limit 1 %ld KB, --all %ld KB, --json %ld KB", total,
              one, every, everyJson);
        // Holding every row would take far more than 16 MB for 100k task runs.
        QVERIFY2(every - one < 16 * 1024, qPrintable(QStringLiteral("--all grew by %1 KB").arg(every - one)));
        QVERIFY2(everyJson - one < 16 * 1024,
                 qPrintable(QStringLiteral("--json grew by %1 KB").arg(everyJson - one)));
    }
}

QTEST_GUILESS_MAIN(TestCliRunsShow)

#include "tst_clirunsshow.moc"
