// Storage faults met by the `flowdeck` processes: a full disk, a read-only file system, another
// application's database, a database locked or busy, a PostgreSQL restart, signals while stuck. Each
// test launches the CLI binary and checks the exit, the message and what the database holds after.
#include "faultutil.h"
#include "run/scheduler.h"
#include "session/session.h"
#include "store/connectionpool.h"
#include "store/databaseurl.h"
#include "store/sqlhelpers.h"
#include "testutil.h"

#include <QCryptographicHash>
#include <QDir>
#include <QElapsedTimer>
#include <QFile>
#include <QJsonDocument>
#include <QJsonObject>
#include <QProcess>
#include <QSet>
#include <QSqlDatabase>
#include <QSqlError>
#include <QSqlQuery>
#include <QTemporaryDir>
#include <QTest>

#include <csignal>
#include <sys/resource.h>
#include <unistd.h>

using namespace flowdeck;
using namespace flowdeck::test;

namespace {

struct Finished {
    int exitCode = -1;
    QProcess::ExitStatus status = QProcess::CrashExit;
    QByteArray out;
    QByteArray err;
    qint64 ms = 0;
    bool finished = false;
    QString describe() const
    {
        return QStringLiteral("exit %1%2 after %3 ms; stderr: %4")
            .arg(exitCode)
            .arg(status == QProcess::CrashExit ? QStringLiteral(" (crashed)") : QString())
            .arg(ms)
            .arg(QString::fromUtf8(err.right(3000)));
    }
};

//! Starts `flowdeck ARGS`; with \a fileSizeLimit > 0 the child may not grow any file beyond it
//! (RLIMIT_FSIZE: a full disk without root).
void start(QProcess& p, const QStringList& args, qint64 fileSizeLimit = 0,
           const QProcessEnvironment& env = QProcessEnvironment::systemEnvironment())
{
    p.setProcessEnvironment(env);
    if (fileSizeLimit > 0) {
        p.setChildProcessModifier([fileSizeLimit] {
            const rlimit limit{rlim_t(fileSizeLimit), rlim_t(fileSizeLimit)};
            ::setrlimit(RLIMIT_FSIZE, &limit);
        });
    }
    p.start(flowdeckBinary(), args);
}

Finished wait(QProcess& p, int timeoutMs, const QElapsedTimer& since)
{
    Finished f;
    f.finished = p.state() == QProcess::NotRunning || p.waitForFinished(timeoutMs);
    f.ms = since.elapsed();
    if (!f.finished) {
        p.kill();
        p.waitForFinished(5000);
    }
    f.exitCode = p.exitCode();
    f.status = p.exitStatus();
    f.out = p.readAllStandardOutput();
    f.err = p.readAllStandardError();
    return f;
}

//! Holds an exclusive lock on \a holder's database until \a p exits or \a limitMs pass, then
//! releases it and returns how \a p ended, with what it printed (\a out first); \a heldMs receives
//! how long the lock was held.
Finished holdLockUntilExit(Db& holder, QProcess& p, const QByteArray& out, int limitMs,
                           const QElapsedTimer& since, qint64* heldMs)
{
    QByteArray printed = out;
    holder.rows(QStringLiteral("BEGIN EXCLUSIVE"));
    QElapsedTimer held;
    held.start();
    while (p.state() == QProcess::Running && held.elapsed() < limitMs) {
        p.waitForReadyRead(50);
        printed += p.readAllStandardOutput();
    }
    *heldMs = held.elapsed();
    holder.rows(QStringLiteral("ROLLBACK"));
    Finished f = wait(p, 1000, since);
    f.out = printed + f.out;
    return f;
}

Finished cli(const QStringList& args, int timeoutMs = 60000, qint64 fileSizeLimit = 0,
             const QProcessEnvironment& env = QProcessEnvironment::systemEnvironment())
{
    QElapsedTimer t;
    t.start();
    QProcess p;
    start(p, args, fileSizeLimit, env);
    return wait(p, timeoutMs, t);
}

QString writeFile(const QTemporaryDir& dir, const QString& name, const QByteArray& text)
{
    QFile f(dir.filePath(name));
    if (!f.open(QIODevice::WriteOnly) || f.write(text) != text.size())
        return {};
    return f.fileName();
}

QByteArray sha256(const QString& path)
{
    QFile f(path);
    if (!f.open(QIODevice::ReadOnly))
        return {};
    return QCryptographicHash::hash(f.readAll(), QCryptographicHash::Sha256).toHex();
}

//! The transition lines of `run --json` output: (flow run id, task run id or "", state).
QList<std::tuple<QString, QString, QString>> reportedTransitions(const QByteArray& jsonLines)
{
    QList<std::tuple<QString, QString, QString>> reported;
    for (const QByteArray& line : jsonLines.split('\n')) {
        const QJsonObject o = QJsonDocument::fromJson(line).object();
        if (o.value(QStringLiteral("event")).toString() != QLatin1String("transition"))
            continue;
        reported.append({o.value(QStringLiteral("flow_run_id")).toString(),
                         o.value(QStringLiteral("task_run_id")).toString(),
                         o.value(QStringLiteral("state")).toString()});
    }
    return reported;
}

//! Every transition `run --json` reported (it reports only committed ones) is in the state history.
void verifyReportedAreStored(const QString& url, const QByteArray& jsonLines, int atLeast)
{
    const auto reported = reportedTransitions(jsonLines);
    QVERIFY2(reported.size() >= atLeast,
             qPrintable(QStringLiteral("only %1 transitions reported").arg(reported.size())));
    Db db(url);
    QVERIFY(db.ok());
    QSet<QString> stored;
    for (const QVariantList& row :
         db.rows(QStringLiteral("SELECT flow_run_id, COALESCE(task_run_id, ''), state FROM state_history"))) {
        stored.insert(row.value(0).toString() + u'|' + row.value(1).toString() + u'|'
                      + row.value(2).toString());
    }
    for (const auto& [flow, task, state] : reported) {
        const QString key = flow + u'|' + task + u'|' + state;
        QVERIFY2(stored.contains(key), qPrintable(QStringLiteral("reported but not stored: ") + key));
    }
}

//! Waits (reading stdout into \a out) until \a needle has been printed; false after \a timeoutMs.
bool waitForOutput(QProcess& p, QByteArray& out, const QByteArray& needle, int timeoutMs = 30000)
{
    QElapsedTimer t;
    t.start();
    p.waitForStarted(timeoutMs);
    while (!out.contains(needle) && t.elapsed() < timeoutMs && p.state() == QProcess::Running) {
        p.waitForReadyRead(50);
        out += p.readAllStandardOutput();
    }
    out += p.readAllStandardOutput();
    return out.contains(needle);
}

//! Executes \a sql unprepared (PostgreSQL cannot prepare DDL) on a connection of its own.
bool execDirect(const QString& urlText, const QString& sql)
{
    const auto url = DatabaseUrl::parse(urlText, nullptr);
    if (!url)
        return false;
    const QString name = QStringLiteral("tst_faults_direct");
    bool ok = false;
    {
        QSqlDatabase db = url->addConnection(name);
        ok = db.open() && QSqlQuery(db).exec(sql);
        db.close();
    }
    QSqlDatabase::removeDatabase(name);
    return ok;
}

QString runId(const QString& url)
{
    return query(url, QStringLiteral("SELECT id FROM flow_runs")).value(0).value(0).toString();
}

// Ten sleeps one after the other: about 3 s of writes.
const QByteArray ChainFlow = R"({"name": "chain", "tasks": [
    {"id": "s0", "kind": "sleep", "seconds": 0.3},
    {"id": "s1", "kind": "sleep", "seconds": 0.3, "depends_on": ["s0"]},
    {"id": "s2", "kind": "sleep", "seconds": 0.3, "depends_on": ["s1"]},
    {"id": "s3", "kind": "sleep", "seconds": 0.3, "depends_on": ["s2"]},
    {"id": "s4", "kind": "sleep", "seconds": 0.3, "depends_on": ["s3"]},
    {"id": "s5", "kind": "sleep", "seconds": 0.3, "depends_on": ["s4"]},
    {"id": "s6", "kind": "sleep", "seconds": 0.3, "depends_on": ["s5"]},
    {"id": "s7", "kind": "sleep", "seconds": 0.3, "depends_on": ["s6"]},
    {"id": "s8", "kind": "sleep", "seconds": 0.3, "depends_on": ["s7"]},
    {"id": "s9", "kind": "sleep", "seconds": 0.3, "depends_on": ["s8"]}]})";

const QByteArray QuickFlow = R"({"name": "quick", "tasks": [{"id": "n", "kind": "noop"}]})";

} // namespace

class TestFaults : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void storageErrorsAreClassified();
    void readOnlySessionChangesNothing_data() { addBackendRows(); }
    void readOnlySessionChangesNothing();
    void fullDiskStopsTheRun_data();
    void fullDiskStopsTheRun();
    void fullDiskStopsTheWorker_data() { fullDiskStopsTheRun_data(); }
    void fullDiskStopsTheWorker();
    void readOnlyFileSystemIsRead();
    void readOnlyCommandsCreateNothing();
    void foreignSqliteFileRefusedUnchanged();
    void foreignPostgresDatabaseRefused();
    void busyDatabaseAtOpenWaitsItsTurn();
    void eightProcessesAtOnce();
    void lockedMidRunWaitsAndCompletes();
    void lockedTooLongFailsCleanly();
    void workerLockedTooLongFailsCleanly();
    void secondSignalExitsAtOnce();
    void postgresRestartLosesNothing();
};

void TestFaults::storageErrorsAreClassified()
{
    // Retrying cannot cure these: a writer that is asked to stops at once.
    QCOMPARE(sql::storageFailure(13), QStringLiteral("disk full"));        // SQLITE_FULL
    QVERIFY(sql::storageFailure(10).contains(QLatin1String("disk full"))); // SQLITE_IOERR (EFBIG too)
    QVERIFY(sql::storageFailure(778).contains(QLatin1String("disk")));     // SQLITE_IOERR_WRITE
    QVERIFY(!sql::storageFailure(8).isEmpty());                            // SQLITE_READONLY
    QCOMPARE(sql::storageFailure(QStringLiteral("53100")), QStringLiteral("disk full"));
    // Passing ones are retried: busy, locked, a lost connection, a serialization failure.
    for (int code : {5, 6, 1})
        QVERIFY2(sql::storageFailure(code).isEmpty(), qPrintable(QString::number(code)));
    for (const char* state : {"57P01", "08006", "40001", "40P01"})
        QVERIFY2(sql::storageFailure(QString::fromLatin1(state)).isEmpty(), state);

    // Qt's commit() keeps the driver's text but not its code.
    const QSqlError commitFailed(QStringLiteral("Unable to commit"),
                                 QStringLiteral("database or disk is full"), QSqlError::TransactionError);
    QVERIFY_THROWS_EXCEPTION(sql::StorageError,
                             sql::fail(QStringLiteral("committing a batch"), commitFailed));
    const QSqlError locked(QStringLiteral("database is locked"), QString(), QSqlError::StatementError,
                           QStringLiteral("5"));
    try {
        sql::fail(QStringLiteral("writing"), locked);
    } catch (const sql::StorageError&) {
        QFAIL("a locked database is not a storage failure");
    } catch (const DatabaseError& e) {
        QCOMPARE(QString::fromUtf8(e.what()), QStringLiteral("writing: database is locked"));
    }
    try {
        sql::fail(QStringLiteral("committing"), commitFailed);
    } catch (const DatabaseError& e) {
        QCOMPARE(QString::fromUtf8(e.what()),
                 QStringLiteral("disk full: committing: database or disk is full"));
    }
}

void TestFaults::readOnlySessionChangesNothing()
{
    QFETCH(QString, backend);
    FLOWDECK_FRESH_DATABASE(url, backend);
    Scheduler scheduler;
    const SessionOptions readOnly{.engine = nullptr, .registerEngine = false, .readOnly = true, .pool = {}};
    {
        // Nothing there yet: an error, and nothing created.
        Session session(scheduler);
        auto opening = session.open(url, readOnly);
        const QString error = sessionErrorOf(opening);
        QVERIFY2(error.contains(backend == QLatin1String("sqlite") ? QLatin1String("no such file")
                                                                   : QLatin1String("no Flowdeck schema yet")),
                 qPrintable(error));
        QVERIFY(!session.isOpen());
    }
    if (backend == QLatin1String("sqlite"))
        QVERIFY(!QFileInfo::exists(url));
    else
        QCOMPARE(query(url,
                       QStringLiteral("SELECT count(*) FROM information_schema.tables "
                                      "WHERE table_schema = current_schema()"))
                     .value(0)
                     .value(0)
                     .toInt(),
                 0);
    {
        Session writer(scheduler);
        auto opening = writer.open(url);
        QCOMPARE(sessionErrorOf(opening), QString());
        auto closing = writer.close();
        finish(closing);
    }
    Session session(scheduler);
    auto opening = session.open(url, readOnly);
    QCOMPARE(sessionErrorOf(opening), QString());
    QVERIFY(session.isOpen());
    // Not registered, and its connections cannot write.
    QCOMPARE(query(url, QStringLiteral("SELECT count(*) FROM engines")).value(0).value(0).toInt(), 0);
    QString writeError;
    bool written = false;
    auto writing = [&]() -> QCoro::Task<> {
        try {
            auto inserting = session.pool()->run([](QSqlDatabase& db) {
                sql::execDirect(db, QStringLiteral("INSERT INTO settings (key, value) VALUES ('a', 'b')"),
                                QStringLiteral("writing"));
            });
            co_await inserting;
        } catch (const DatabaseError& e) {
            writeError = QString::fromUtf8(e.what());
        }
        written = true;
    };
    auto trying = writing();
    QTRY_VERIFY_WITH_TIMEOUT(written, 10000);
    QVERIFY2(writeError.contains(QLatin1String("cannot be written: writing: ")), qPrintable(writeError));
    QCOMPARE(
        query(url, QStringLiteral("SELECT count(*) FROM settings WHERE key = 'a'")).value(0).value(0).toInt(),
        0);
    // Not with an engine.
    Session forEngine(scheduler);
    auto registering
        = forEngine.open(url, {.engine = nullptr, .registerEngine = true, .readOnly = true, .pool = {}});
    QVERIFY(!sessionErrorOf(registering).isEmpty());
}

void TestFaults::fullDiskStopsTheRun_data()
{
    QTest::addColumn<bool>("tmpfs");
    // Works anywhere: the process may not grow a file beyond 4 MB (SQLite sees EFBIG, an I/O error).
    QTest::newRow("file size limit") << false;
    // A real full file system (SQLite sees ENOSPC, "database or disk is full"); needs root.
    QTest::newRow("full tmpfs") << true;
}

void TestFaults::fullDiskStopsTheRun()
{
    QFETCH(bool, tmpfs);
    QTemporaryDir dir;
    const QString flow = writeFile(dir, QStringLiteral("filling.json"), FillingFlow);
    std::unique_ptr<TmpfsMount> mount;
    QString url = dir.filePath(QStringLiteral("store.db"));
    qint64 limit = 4'000'000;
    if (tmpfs) {
        mount = std::make_unique<TmpfsMount>(QStringLiteral("4m"));
        if (!mount->ok())
            QSKIP(qPrintable(mount->why()));
        url = mount->path(QStringLiteral("store.db"));
        limit = 0;
    }
    const Finished run = cli(
        {QStringLiteral("run"), flow, QStringLiteral("--json"), QStringLiteral("--db"), url}, 60000, limit);
    // Not retried forever: a clear error and exit 1 within seconds.
    QVERIFY2(run.finished && run.ms < 20000, qPrintable(run.describe()));
    QVERIFY2(run.status == QProcess::NormalExit && run.exitCode == 1, qPrintable(run.describe()));
    QVERIFY2(
        run.err.contains(QByteArray("flowdeck run: cannot write to the database " + url.toUtf8() + ": disk")),
        qPrintable(run.describe()));
    QVERIFY2(run.err.contains("disk full"), qPrintable(run.describe()));

    // What was committed stays: intact, every transition reported is there, the run ended CRASHED
    // with the reason where the disk still took it (else the next writer marks it).
    QCOMPARE(query(url, QStringLiteral("PRAGMA integrity_check")).value(0).value(0).toString(),
             QStringLiteral("ok"));
    verifyReportedAreStored(url, run.out, 300);
    const auto flows = query(url, QStringLiteral("SELECT id, state, message FROM flow_runs"));
    QCOMPARE(flows.size(), 1);
    const QString state = flows[0][1].toString();
    QVERIFY2(state == QLatin1String("CRASHED") || state == QLatin1String("RUNNING"), qPrintable(state));
    if (state == QLatin1String("CRASHED"))
        QVERIFY2(flows[0][2].toString().contains(QLatin1String("disk full")),
                 qPrintable(flows[0][2].toString()));
    QCOMPARE(
        query(url, QStringLiteral("SELECT count(*) FROM task_runs WHERE task = 'a' AND state = 'COMPLETED'"))
            .value(0)
            .value(0)
            .toInt(),
        300);

    // Reading needs no write: on the full disk (files may not grow beyond 32 KB: the database is
    // read, its shared-memory index fits, nothing else can be written) the read commands work.
    const QString id = flows[0][0].toString();
    const qint64 readLimit = tmpfs ? 0 : 32768;
    const QByteArray before = sha256(url);
    const Finished ls
        = cli({QStringLiteral("runs"), QStringLiteral("ls"), QStringLiteral("--db"), url}, 30000, readLimit);
    QVERIFY2(ls.exitCode == 0 && ls.out.contains(id.toUtf8()), qPrintable(ls.describe()));
    const Finished show = cli(
        {QStringLiteral("runs"), QStringLiteral("show"), id, QStringLiteral("--db"), url}, 30000, readLimit);
    QVERIFY2(show.exitCode == 0 && show.out.contains("filling"), qPrintable(show.describe()));
    const Finished logs = cli(
        {QStringLiteral("runs"), QStringLiteral("logs"), id, QStringLiteral("--db"), url}, 30000, readLimit);
    QVERIFY2(logs.exitCode == 0 && logs.out.contains("line 0 x"), qPrintable(logs.describe()));
    QCOMPARE(sha256(url), before);
}

void TestFaults::fullDiskStopsTheWorker()
{
    QFETCH(bool, tmpfs);
    QTemporaryDir dir;
    const QString flow = writeFile(dir, QStringLiteral("filling.json"), FillingFlow);
    std::unique_ptr<TmpfsMount> mount;
    QString url = dir.filePath(QStringLiteral("store.db"));
    qint64 limit = 4'000'000;
    if (tmpfs) {
        mount = std::make_unique<TmpfsMount>(QStringLiteral("4m"));
        if (!mount->ok())
            QSKIP(qPrintable(mount->why()));
        url = mount->path(QStringLiteral("store.db"));
        limit = 0;
    }
    const Finished submit = cli({QStringLiteral("submit"), flow, QStringLiteral("--db"), url});
    QVERIFY2(submit.exitCode == 0, qPrintable(submit.describe()));
    const QString id = runId(url);
    QVERIFY(!id.isEmpty());

    // The worker claims the run, which logs until the disk is full: not retried forever, but a clear
    // error naming the database and exit 1 within seconds.
    const Finished worker = cli({QStringLiteral("worker"), QStringLiteral("--poll-seconds"),
                                 QStringLiteral("0.1"), QStringLiteral("--db"), url},
                                60000, limit);
    QVERIFY2(worker.finished && worker.ms < 20000, qPrintable(worker.describe()));
    QVERIFY2(worker.status == QProcess::NormalExit && worker.exitCode == 1, qPrintable(worker.describe()));
    QVERIFY2(worker.out.contains(QByteArray("claimed flow run " + id.toUtf8())),
             qPrintable(worker.describe()));
    QVERIFY2(worker.err.contains(
                 QByteArray("flowdeck worker: cannot write to the database " + url.toUtf8() + ": disk")),
             qPrintable(worker.describe()));
    QVERIFY2(worker.err.contains("disk full"), qPrintable(worker.describe()));

    // What was committed stays: intact, the run ended CRASHED with the reason where the disk still
    // took it (else the next process to recover the database marks it).
    QCOMPARE(query(url, QStringLiteral("PRAGMA integrity_check")).value(0).value(0).toString(),
             QStringLiteral("ok"));
    const auto flows = query(url, QStringLiteral("SELECT id, state, message FROM flow_runs"));
    QCOMPARE(flows.size(), 1);
    const QString state = flows[0][1].toString();
    QVERIFY2(state == QLatin1String("CRASHED") || state == QLatin1String("RUNNING"), qPrintable(state));
    if (state == QLatin1String("CRASHED"))
        QVERIFY2(flows[0][2].toString().contains(QLatin1String("disk full")),
                 qPrintable(flows[0][2].toString()));
    QCOMPARE(
        query(url, QStringLiteral("SELECT count(*) FROM task_runs WHERE task = 'a' AND state = 'COMPLETED'"))
            .value(0)
            .value(0)
            .toInt(),
        300);
    const QByteArray before = sha256(url);
    const Finished show
        = cli({QStringLiteral("runs"), QStringLiteral("show"), id, QStringLiteral("--db"), url}, 30000,
              tmpfs ? 0 : 32768);
    QVERIFY2(show.exitCode == 0 && show.out.contains("filling"), qPrintable(show.describe()));
    QCOMPARE(sha256(url), before);
}

void TestFaults::readOnlyFileSystemIsRead()
{
    TmpfsMount mount(QStringLiteral("8m"));
    if (!mount.ok())
        QSKIP(qPrintable(mount.why()));
    QTemporaryDir dir;
    const QString flow = writeFile(dir, QStringLiteral("quick.json"), QuickFlow);
    const QString url = mount.path(QStringLiteral("store.db"));
    const Finished run = cli({QStringLiteral("run"), flow, QStringLiteral("--db"), url});
    QVERIFY2(run.exitCode == 0, qPrintable(run.describe()));
    const QString id = runId(url);
    QVERIFY(!id.isEmpty());
    QVERIFY(mount.remountReadOnly());
    const QStringList filesBefore = QDir(mount.path(QString())).entryList(QDir::Files);
    const QByteArray before = sha256(url);

    const Finished ls = cli({QStringLiteral("runs"), QStringLiteral("ls"), QStringLiteral("--db"), url});
    QVERIFY2(ls.exitCode == 0 && ls.out.contains(id.toUtf8()), qPrintable(ls.describe()));
    const Finished show
        = cli({QStringLiteral("runs"), QStringLiteral("show"), id, QStringLiteral("--db"), url});
    QVERIFY2(show.exitCode == 0 && show.out.contains("COMPLETED"), qPrintable(show.describe()));
    const Finished logs
        = cli({QStringLiteral("runs"), QStringLiteral("logs"), id, QStringLiteral("--db"), url});
    QVERIFY2(logs.exitCode == 0, qPrintable(logs.describe()));
    QCOMPARE(sha256(url), before);
    QCOMPARE(QDir(mount.path(QString())).entryList(QDir::Files), filesBefore);

    // A command that writes says why it cannot.
    const Finished again = cli({QStringLiteral("run"), flow, QStringLiteral("--db"), url});
    QVERIFY2(again.exitCode == 2 && again.err.contains(url.toUtf8()), qPrintable(again.describe()));
}

void TestFaults::readOnlyCommandsCreateNothing()
{
    QTemporaryDir dir;
    // No file: an error naming it, and still no file.
    const QString missing = dir.filePath(QStringLiteral("missing.db"));
    const Finished ls = cli({QStringLiteral("runs"), QStringLiteral("ls"), QStringLiteral("--db"), missing});
    QVERIFY2(ls.exitCode == 2 && ls.err.contains(QByteArray("\"" + missing.toUtf8() + "\": no such file")),
             qPrintable(ls.describe()));
    const Finished show = cli({QStringLiteral("runs"), QStringLiteral("show"), QStringLiteral("0123"),
                               QStringLiteral("--db"), missing});
    QVERIFY2(show.exitCode == 2 && show.err.contains("no such file"), qPrintable(show.describe()));
    QCOMPARE(QDir(dir.path()).entryList(QDir::Files), QStringList());

    // An empty file: no Flowdeck schema yet, said so, and the file stays empty.
    const QString empty = writeFile(dir, QStringLiteral("empty.db"), {});
    const Finished lsEmpty
        = cli({QStringLiteral("runs"), QStringLiteral("ls"), QStringLiteral("--db"), empty});
    QVERIFY2(lsEmpty.exitCode == 2 && lsEmpty.err.contains("no Flowdeck schema yet"),
             qPrintable(lsEmpty.describe()));
    QCOMPARE(QFileInfo(empty).size(), 0);
    QCOMPARE(QDir(dir.path()).entryList(QDir::Files), QStringList{QStringLiteral("empty.db")});
}

void TestFaults::foreignSqliteFileRefusedUnchanged()
{
    QTemporaryDir dir;
    const QString flow = writeFile(dir, QStringLiteral("quick.json"), QuickFlow);
    const QString other = dir.filePath(QStringLiteral("other-app.db"));
    {
        Db db(other);
        QVERIFY(db.ok());
        db.rows(QStringLiteral("CREATE TABLE customers (id INTEGER PRIMARY KEY, name TEXT)"));
        db.rows(QStringLiteral("INSERT INTO customers (name) VALUES ('Ada')"));
        db.rows(QStringLiteral("CREATE TABLE orders (id INTEGER PRIMARY KEY)"));
    }
    const QByteArray before = sha256(other);
    QVERIFY(!before.isEmpty());
    for (const QStringList& args :
         {QStringList{QStringLiteral("run"), flow}, QStringList{QStringLiteral("runs"), QStringLiteral("ls")},
          QStringList{QStringLiteral("concurrency-limit"), QStringLiteral("ls")}}) {
        const Finished f = cli(args + QStringList{QStringLiteral("--db"), other});
        QVERIFY2(f.exitCode == 2, qPrintable(f.describe()));
        QVERIFY2(f.err.contains(other.toUtf8()) && f.err.contains("not a Flowdeck database")
                     && f.err.contains("(customers, orders)"),
                 qPrintable(f.describe()));
        QCOMPARE(sha256(other), before);
        QCOMPARE(QDir(dir.path()).entryList(QDir::Files),
                 (QStringList{QStringLiteral("other-app.db"), QStringLiteral("quick.json")}));
    }

    // An empty file is a new database, and a Flowdeck database opens as before.
    const QString empty = writeFile(dir, QStringLiteral("empty.db"), {});
    const Finished first = cli({QStringLiteral("run"), flow, QStringLiteral("--db"), empty});
    QVERIFY2(first.exitCode == 0, qPrintable(first.describe()));
    const Finished second = cli({QStringLiteral("run"), flow, QStringLiteral("--db"), empty});
    QVERIFY2(second.exitCode == 0, qPrintable(second.describe()));
}

void TestFaults::foreignPostgresDatabaseRefused()
{
    const QString backend = QStringLiteral("postgres");
    FLOWDECK_FRESH_DATABASE(url, backend);
    QTemporaryDir dir;
    const QString flow = writeFile(dir, QStringLiteral("quick.json"), QuickFlow);
    QVERIFY(execDirect(url, QStringLiteral("CREATE TABLE customers (id INTEGER PRIMARY KEY, name TEXT)")));
    const Finished run = cli({QStringLiteral("run"), flow, QStringLiteral("--db"), url});
    QVERIFY2(run.exitCode == 2 && run.err.contains("not a Flowdeck database")
                 && run.err.contains("(customers)"),
             qPrintable(run.describe()));
    const auto tables = query(url,
                              QStringLiteral("SELECT table_name FROM information_schema.tables "
                                             "WHERE table_schema = current_schema()"));
    QCOMPARE(tables.size(), 1);
    QCOMPARE(tables[0][0].toString(), QStringLiteral("customers"));
}

void TestFaults::busyDatabaseAtOpenWaitsItsTurn()
{
    // Another process holds the write lock for 7 s, longer than SQLite's 5 s busy timeout: the run
    // waits for its turn instead of failing.
    QTemporaryDir dir;
    const QString flow = writeFile(dir, QStringLiteral("quick.json"), QuickFlow);
    const QString url = dir.filePath(QStringLiteral("busy.db"));
    Db holder(url);
    QVERIFY(holder.ok());
    holder.rows(QStringLiteral("PRAGMA journal_mode = WAL"));
    holder.rows(QStringLiteral("BEGIN EXCLUSIVE"));
    holder.rows(QStringLiteral("CREATE TABLE held (x INTEGER)"));
    QElapsedTimer t;
    t.start();
    QProcess p;
    start(p, {QStringLiteral("run"), flow, QStringLiteral("--db"), url});
    QVERIFY(p.waitForStarted());
    QTest::qWait(7000); // the lock's holding time, not a wait for a result
    QCOMPARE(p.state(), QProcess::Running);
    holder.rows(QStringLiteral("ROLLBACK"));
    const Finished f = wait(p, 30000, t);
    QVERIFY2(f.exitCode == 0, qPrintable(f.describe()));
    QCOMPARE(query(url, QStringLiteral("SELECT state FROM flow_runs")).value(0).value(0).toString(),
             QStringLiteral("COMPLETED"));
}

void TestFaults::eightProcessesAtOnce()
{
    QTemporaryDir dir;
    const QString flow = writeFile(dir, QStringLiteral("quick.json"), QuickFlow);
    for (int round = 0; round < 3; ++round) {
        const QString url = dir.filePath(QStringLiteral("round%1.db").arg(round));
        std::vector<std::unique_ptr<QProcess>> processes;
        QElapsedTimer t;
        t.start();
        for (int i = 0; i < 8; ++i) {
            processes.push_back(std::make_unique<QProcess>());
            start(*processes.back(), {QStringLiteral("run"), flow, QStringLiteral("--db"), url});
        }
        for (auto& p : processes) {
            const Finished f = wait(*p, 60000, t);
            QVERIFY2(f.exitCode == 0 && f.status == QProcess::NormalExit, qPrintable(f.describe()));
        }
        const auto states
            = query(url, QStringLiteral("SELECT state, count(*) FROM flow_runs GROUP BY state"));
        QCOMPARE(states.size(), 1);
        QCOMPARE(states[0][0].toString(), QStringLiteral("COMPLETED"));
        QCOMPARE(states[0][1].toInt(), 8);
    }
}

void TestFaults::lockedMidRunWaitsAndCompletes()
{
    QTemporaryDir dir;
    const QString flow = writeFile(dir, QStringLiteral("chain.json"), ChainFlow);
    const QString url = dir.filePath(QStringLiteral("locked.db"));
    QElapsedTimer t;
    t.start();
    QProcess p;
    start(p, {QStringLiteral("run"), flow, QStringLiteral("--json"), QStringLiteral("--db"), url});
    QByteArray out;
    QVERIFY(waitForOutput(p, out, R"("state":"RUNNING","task":"s1")"));
    {
        // Held for 3 s while the run goes on writing: its batches wait and retry.
        Db holder(url);
        QVERIFY(holder.ok());
        holder.rows(QStringLiteral("BEGIN EXCLUSIVE"));
        QElapsedTimer held;
        held.start();
        while (held.elapsed() < 3000) {
            p.waitForReadyRead(50);
            out += p.readAllStandardOutput();
        }
        holder.rows(QStringLiteral("ROLLBACK"));
    }
    Finished f = wait(p, 60000, t);
    f.out = out + f.out;
    QVERIFY2(f.exitCode == 0, qPrintable(f.describe()));
    QCOMPARE(query(url, QStringLiteral("SELECT count(*) FROM task_runs WHERE state = 'COMPLETED'"))
                 .value(0)
                 .value(0)
                 .toInt(),
             10);
    verifyReportedAreStored(url, f.out, 30);
}

void TestFaults::lockedTooLongFailsCleanly()
{
    // Held beyond the retry bound ($FLOWDECK_WRITE_RETRY_S, 1 s here; each try waits SQLite's 5 s
    // busy timeout): a clear error and exit 1, what was committed intact.
    QTemporaryDir dir;
    const QString flow = writeFile(dir, QStringLiteral("chain.json"), ChainFlow);
    const QString url = dir.filePath(QStringLiteral("locked.db"));
    QProcessEnvironment env = QProcessEnvironment::systemEnvironment();
    env.insert(QStringLiteral("FLOWDECK_WRITE_RETRY_S"), QStringLiteral("1"));
    QElapsedTimer t;
    t.start();
    QProcess p;
    start(p, {QStringLiteral("run"), flow, QStringLiteral("--json"), QStringLiteral("--db"), url}, 0, env);
    QByteArray out;
    QVERIFY(waitForOutput(p, out, R"("state":"RUNNING","task":"s1")"));
    Db holder(url);
    QVERIFY(holder.ok());
    qint64 heldMs = 0;
    Finished f = holdLockUntilExit(holder, p, out, 30000, t, &heldMs);
    QVERIFY2(f.finished && f.exitCode == 1 && heldMs < 25000, qPrintable(f.describe()));
    QVERIFY2(f.err.contains(QByteArray("flowdeck run: cannot write to the database " + url.toUtf8()))
                 && f.err.contains("database is locked") && f.err.contains("still failing after"),
             qPrintable(f.describe()));
    QCOMPARE(query(url, QStringLiteral("PRAGMA integrity_check")).value(0).value(0).toString(),
             QStringLiteral("ok"));
    verifyReportedAreStored(url, f.out, 4);
}

void TestFaults::workerLockedTooLongFailsCleanly()
{
    // A passing failure (the database locked) is retried by the worker too, within the same bound
    // as run ($FLOWDECK_WRITE_RETRY_S, 1 s here; each try waits SQLite's 5 s busy timeout), then it
    // stops with a clear error, not retrying for ever.
    QTemporaryDir dir;
    const QString flow = writeFile(dir, QStringLiteral("chain.json"), ChainFlow);
    const QString url = dir.filePath(QStringLiteral("locked.db"));
    const Finished submit = cli({QStringLiteral("submit"), flow, QStringLiteral("--db"), url});
    QVERIFY2(submit.exitCode == 0, qPrintable(submit.describe()));
    QProcessEnvironment env = QProcessEnvironment::systemEnvironment();
    env.insert(QStringLiteral("FLOWDECK_WRITE_RETRY_S"), QStringLiteral("1"));
    QElapsedTimer t;
    t.start();
    QProcess p;
    start(p,
          {QStringLiteral("worker"), QStringLiteral("--poll-seconds"), QStringLiteral("0.1"),
           QStringLiteral("--db"), url},
          0, env);
    QByteArray out;
    QVERIFY(waitForOutput(p, out, "claimed flow run"));
    Db holder(url);
    QVERIFY(holder.ok());
    qint64 heldMs = 0;
    Finished f = holdLockUntilExit(holder, p, out, 60000, t, &heldMs);
    // Bounded: a claim in flight waits up to sql::BusyWaitSeconds (30 s) for the lock, and marking
    // the runs CRASHED waits its turn behind it.
    QVERIFY2(f.finished && f.exitCode == 1 && heldMs < 45000, qPrintable(f.describe()));
    QVERIFY2(f.err.contains(QByteArray("flowdeck worker: cannot write to the database " + url.toUtf8()))
                 && f.err.contains("database is locked") && f.err.contains("still failing after"),
             qPrintable(f.describe()));
    QCOMPARE(query(url, QStringLiteral("PRAGMA integrity_check")).value(0).value(0).toString(),
             QStringLiteral("ok"));
}

void TestFaults::secondSignalExitsAtOnce()
{
    // The first SIGTERM cancels, but the cancellation cannot be written while another process holds
    // the database: a second SIGTERM ends the process at once.
    QTemporaryDir dir;
    const QString flow = writeFile(dir, QStringLiteral("chain.json"), ChainFlow);
    const QString url = dir.filePath(QStringLiteral("signals.db"));
    QElapsedTimer t;
    t.start();
    QProcess p;
    start(p, {QStringLiteral("run"), flow, QStringLiteral("--db"), url});
    QByteArray out;
    QVERIFY(waitForOutput(p, out, "): RUNNING"));
    Db holder(url);
    QVERIFY(holder.ok());
    holder.rows(QStringLiteral("BEGIN EXCLUSIVE"));
    ::kill(pid_t(p.processId()), SIGTERM);
    QVERIFY2(waitForOutput(p, out, "received SIGTERM: cancelling", 10000), out.constData());
    QElapsedTimer second;
    second.start();
    ::kill(pid_t(p.processId()), SIGTERM);
    const Finished f = wait(p, 3000, t);
    holder.rows(QStringLiteral("ROLLBACK"));
    QVERIFY2(f.finished && second.elapsed() < 3000, qPrintable(f.describe()));
    QCOMPARE(f.status, QProcess::NormalExit);
    QCOMPARE(f.exitCode, 128 + SIGTERM);
}

void TestFaults::postgresRestartLosesNothing()
{
    const QString backend = QStringLiteral("postgres");
    FLOWDECK_FRESH_DATABASE(url, backend);
    const QString pgDir = qEnvironmentVariable("FLOWDECK_TEST_PG_DIR");
    const QString pgBin = qEnvironmentVariable("FLOWDECK_TEST_PG_BIN");
    const QString pgUser = qEnvironmentVariable("FLOWDECK_TEST_PG_USER");
    if (pgDir.isEmpty() || pgBin.isEmpty())
        QSKIP("FLOWDECK_TEST_PG_DIR/BIN are not set: the server was not started by scripts/test-env.sh");
    QTemporaryDir dir;
    const QString flow = writeFile(dir, QStringLiteral("chain.json"), ChainFlow);
    QElapsedTimer t;
    t.start();
    QProcess p;
    start(p, {QStringLiteral("run"), flow, QStringLiteral("--json"), QStringLiteral("--db"), url});
    QByteArray out;
    QVERIFY(waitForOutput(p, out, R"("state":"RUNNING","task":"s2")"));
    // pg_ctl runs as the cluster's owner (root: through runuser), as scripts/test-env.sh does.
    const QStringList pgCtl = {pgBin + QStringLiteral("/pg_ctl"),
                               QStringLiteral("-D"),
                               pgDir + QStringLiteral("/data"),
                               QStringLiteral("-l"),
                               pgDir + QStringLiteral("/server.log"),
                               QStringLiteral("-m"),
                               QStringLiteral("fast"),
                               QStringLiteral("-w"),
                               QStringLiteral("restart")};
    QString output;
    QProcess restart;
    restart.setWorkingDirectory(pgDir);
    restart.setProcessChannelMode(QProcess::MergedChannels);
    if (::geteuid() == 0 && !pgUser.isEmpty())
        restart.start(QStringLiteral("runuser"),
                      QStringList{QStringLiteral("-u"), pgUser, QStringLiteral("--")} + pgCtl);
    else
        restart.start(pgCtl.first(), pgCtl.mid(1));
    QElapsedTimer restarting;
    restarting.start();
    while (restart.state() != QProcess::NotRunning && restarting.elapsed() < 60000) {
        restart.waitForFinished(50);
        out += p.readAllStandardOutput();
    }
    QVERIFY2(restart.exitStatus() == QProcess::NormalExit && restart.exitCode() == 0,
             restart.readAll().constData());
    Finished f = wait(p, 90000, t);
    f.out = out + f.out;
    QVERIFY2(f.exitCode == 0, qPrintable(f.describe()));
    QCOMPARE(query(url, QStringLiteral("SELECT count(*) FROM task_runs WHERE state = 'COMPLETED'"))
                 .value(0)
                 .value(0)
                 .toInt(),
             10);
    QCOMPARE(query(url, QStringLiteral("SELECT state FROM flow_runs")).value(0).value(0).toString(),
             QStringLiteral("COMPLETED"));
    verifyReportedAreStored(url, f.out, 30);
}

QTEST_GUILESS_MAIN(TestFaults)
#include "tst_faults.moc"
