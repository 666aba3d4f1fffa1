// The systemd unit flowdeck-worker@.service: its settings keep the worker's promise to drain on a
// stop, and the command line it runs, stopped the way systemd stops it (SIGTERM to the main
// process), lets the running flow run finish and unregisters the worker.
#include "testutil.h"

#include <QDir>
#include <QElapsedTimer>
#include <QFile>
#include <QFileInfo>
#include <QProcess>
#include <QTemporaryDir>
#include <QTest>

#include <csignal>
#include <sys/types.h>

using namespace flowdeck;
using namespace flowdeck::test;

namespace {

//! The [Service] settings of a unit file: key -> values, in order (a key may repeat).
QMultiMap<QString, QString> serviceSettings(const QString& path)
{
    QMultiMap<QString, QString> settings;
    QFile file(path);
    if (!file.open(QIODevice::ReadOnly | QIODevice::Text))
        return settings;
    QString section;
    for (const QString& raw : QString::fromUtf8(file.readAll()).split(u'\n')) {
        const QString line = raw.trimmed();
        if (line.isEmpty() || line.startsWith(u'#'))
            continue;
        if (line.startsWith(u'[')) {
            section = line;
            continue;
        }
        if (section == u"[Service]")
            settings.insert(line.section(u'=', 0, 0).trimmed(), line.section(u'=', 1).trimmed());
    }
    return settings;
}

//! A systemd duration in seconds ("60", "60s", "1min", "1min 30s").
double seconds(const QString& value)
{
    double total = 0;
    for (const QString& part : value.split(u' ', Qt::SkipEmptyParts)) {
        qsizetype digits = 0;
        while (digits < part.size() && (part.at(digits).isDigit() || part.at(digits) == u'.'))
            ++digits;
        const double n = part.left(digits).toDouble();
        const QString unit = part.mid(digits);
        total += unit == u"min" ? n * 60 : unit == u"h" ? n * 3600 : unit == u"ms" ? n / 1000 : n;
    }
    return total;
}

int count(const QString& url, const QString& sql, const QVariantList& binds = {})
{
    return query(url, sql, binds).value(0).value(0).toInt();
}

} // namespace

class TestWorkerService : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void unitStopsByDraining();
    void unitCommandDrainsAndUnregistersOnSigterm_data();
    void unitCommandDrainsAndUnregistersOnSigterm();
};

void TestWorkerService::unitStopsByDraining()
{
    const auto unit
        = serviceSettings(sourcePath(QStringLiteral("resources/systemd/flowdeck-worker@.service")));
    QVERIFY(!unit.isEmpty());
    QCOMPARE(unit.value(QStringLiteral("EnvironmentFile")), QStringLiteral("/etc/flowdeck/worker.env"));
    QCOMPARE(unit.value(QStringLiteral("KillSignal")), QStringLiteral("SIGTERM"));
    // Only the worker gets SIGTERM: its tasks' processes keep running while it drains.
    QCOMPARE(unit.value(QStringLiteral("KillMode")), QStringLiteral("mixed"));
    QCOMPARE(unit.value(QStringLiteral("DynamicUser")), QStringLiteral("yes"));
    QVERIFY(!unit.value(QStringLiteral("User")).isEmpty());
    const QStringList exec = QProcess::splitCommand(unit.value(QStringLiteral("ExecStart")));
    QCOMPARE(exec.value(0), QStringLiteral("/usr/bin/flowdeck"));
    QCOMPARE(exec.value(1), QStringLiteral("worker"));
    QVERIFY(exec.contains(QStringLiteral("%i")));
    // systemd waits longer than the grace period, and some more for the cancellation after it.
    const qsizetype grace = exec.indexOf(QStringLiteral("--grace-seconds"));
    QVERIFY(grace > 0);
    const double graceSeconds = exec.value(grace + 1).toDouble();
    QVERIFY(graceSeconds > 0);
    QVERIFY2(seconds(unit.value(QStringLiteral("TimeoutStopSec"))) >= graceSeconds + 10,
             qPrintable(unit.value(QStringLiteral("TimeoutStopSec"))));

    // The example environment file sets the database.
    QFile env(sourcePath(QStringLiteral("resources/systemd/worker.env")));
    QVERIFY(env.open(QIODevice::ReadOnly));
    QVERIFY(QString::fromUtf8(env.readAll()).contains(QStringLiteral("\nFLOWDECK_DB=")));
}

void TestWorkerService::unitCommandDrainsAndUnregistersOnSigterm_data()
{
    addBackendRows();
}

void TestWorkerService::unitCommandDrainsAndUnregistersOnSigterm()
{
    QFETCH(QString, backend);
    FLOWDECK_FRESH_DATABASE(url, backend);
    // This machine has no systemd as PID 1 (a container): the unit's command line runs as systemd
    // would run it for flowdeck-worker@test, with the database from the environment, as the
    // EnvironmentFile gives it.
    const auto unit
        = serviceSettings(sourcePath(QStringLiteral("resources/systemd/flowdeck-worker@.service")));
    QStringList exec = QProcess::splitCommand(unit.value(QStringLiteral("ExecStart")));
    QVERIFY(exec.size() > 2);
    exec.replaceInStrings(QStringLiteral("%i"), QStringLiteral("test"));
    exec.removeFirst();

    QTemporaryDir dir;
    QFile flow(dir.filePath(QStringLiteral("drain.json")));
    QVERIFY(flow.open(QIODevice::WriteOnly));
    flow.write(R"({"name": "drain", "tasks": [{"id": "s", "kind": "sleep", "seconds": 3}]})");
    flow.close();
    QProcessEnvironment env = QProcessEnvironment::systemEnvironment();
    env.insert(QStringLiteral("FLOWDECK_DB"), url);

    QProcess submit;
    submit.setProcessEnvironment(env);
    submit.start(flowdeckBinary(), {QStringLiteral("submit"), flow.fileName()});
    QVERIFY(submit.waitForFinished(30000));
    QCOMPARE(submit.exitCode(), 0);
    const QString runId
        = QString::fromUtf8(submit.readAllStandardOutput()).split(u' ', Qt::SkipEmptyParts).last().trimmed();
    QVERIFY(!runId.isEmpty());

    QProcess worker;
    worker.setProcessEnvironment(env);
    worker.setWorkingDirectory(dir.path());
    worker.setStandardOutputFile(dir.filePath(QStringLiteral("worker.out")));
    worker.setStandardErrorFile(dir.filePath(QStringLiteral("worker.err")));
    worker.start(flowdeckBinary(), exec);
    QVERIFY(worker.waitForStarted());
    const QString stateSql = QStringLiteral("SELECT state FROM flow_runs WHERE id = ?");
    QTRY_VERIFY_WITH_TIMEOUT(query(url, stateSql, {runId}).value(0).value(0).toString() == u"RUNNING", 30000);
    QCOMPARE(
        count(url, QStringLiteral("SELECT count(*) FROM engines WHERE name = 'test' AND kind = 'worker'")),
        1);

    // systemctl stop: SIGTERM to the main process.
    QElapsedTimer stopping;
    stopping.start();
    QCOMPARE(::kill(pid_t(worker.processId()), SIGTERM), 0);
    QVERIFY(worker.waitForFinished(60000));
    const double stopSeconds = stopping.elapsed() / 1000.0;
    QFile err(dir.filePath(QStringLiteral("worker.err")));
    QVERIFY(err.open(QIODevice::ReadOnly));
    const QByteArray errors = err.readAll();
    QCOMPARE(worker.exitStatus(), QProcess::NormalExit);
    QVERIFY2(worker.exitCode() == 0, errors.constData());
    QVERIFY2(stopSeconds < seconds(unit.value(QStringLiteral("TimeoutStopSec"))),
             qPrintable(QString::number(stopSeconds)));
    // It drained: the running flow run finished rather than being cancelled, and the worker is gone.
    QCOMPARE(query(url, stateSql, {runId}).value(0).value(0).toString(), QStringLiteral("COMPLETED"));
    QCOMPARE(count(url, QStringLiteral("SELECT count(*) FROM engines WHERE name = 'test'")), 0);
}

QTEST_GUILESS_MAIN(TestWorkerService)
#include "tst_workerservice.moc"
