#include "workerutil.h"

#include "store/databaseurl.h"
#include "store/workerqueries.h"
#include "testutil.h"

#include <QDir>
#include <QElapsedTimer>
#include <QFile>
#include <QFileInfo>
#include <QJsonDocument>
#include <QJsonObject>
#include <QRegularExpression>
#include <QTest>

#include <csignal>

namespace flowdeck::test {

QString WorkerProcess::readAll(const QString& path)
{
    QFile f(path);
    f.open(QIODevice::ReadOnly);
    return QString::fromUtf8(f.readAll());
}

QString WorkerProcess::out() const
{
    return readAll(outPath);
}

QString WorkerProcess::err() const
{
    return readAll(errPath);
}

QStringList WorkerProcess::claimed() const
{
    static const QRegularExpression re(QStringLiteral("claimed flow run ([0-9a-f-]{36})"));
    QStringList ids;
    for (auto it = re.globalMatch(out()); it.hasNext();)
        ids << it.next().captured(1);
    return ids;
}

void WorkerProcess::signal(int sig) const
{
    ::kill(pid_t(process->processId()), sig);
}

QString WorkerProcess::exitReport() const
{
    return QStringLiteral("worker %1 exited %2 (%3); its output is kept in %4; its stderr:\n%5")
        .arg(name)
        .arg(process->exitCode())
        .arg(process->exitStatus() == QProcess::NormalExit ? QStringLiteral("normally")
                                                           : QStringLiteral("crashed"))
        .arg(QFileInfo(outPath).absolutePath(), err());
}

std::unique_ptr<WorkerProcess> startWorker(const QString& url, const QString& name, const QString& dir,
                                           const QStringList& extra)
{
    auto w = std::make_unique<WorkerProcess>();
    w->name = name;
    w->outPath = QDir(dir).filePath(name + QStringLiteral(".out"));
    w->errPath = QDir(dir).filePath(name + QStringLiteral(".err"));
    w->process->setStandardOutputFile(w->outPath);
    w->process->setStandardErrorFile(w->errPath);
    w->process->start(
        flowdeckBinary(),
        QStringList{QStringLiteral("worker"), QStringLiteral("--db"), url, QStringLiteral("--name"), name}
            + extra);
    return w;
}

bool waitFor(const std::function<bool()>& condition, int timeoutMs)
{
    QElapsedTimer timer;
    timer.start();
    while (!condition()) {
        if (timer.elapsed() > timeoutMs)
            return false;
        QTest::qWait(25);
    }
    return true;
}

QString writeFile(const QTemporaryDir& dir, const QString& name, const QByteArray& content)
{
    QFile f(dir.filePath(name));
    f.open(QIODevice::WriteOnly);
    f.write(content);
    return f.fileName();
}

std::unique_ptr<ConnectionPool> makePool(const QString& url, int size)
{
    return std::make_unique<ConnectionPool>(*DatabaseUrl::parse(url, nullptr),
                                            PoolOptions{size, 0, 30.0, 3600});
}

QStringList submitMany(ConnectionPool& pool, const QByteArray& json, int n, qint64 taskRuns)
{
    const QJsonObject document = QJsonDocument::fromJson(json).object();
    return runOnPool(pool, [document, n, taskRuns](QSqlDatabase& db) {
        QStringList ids;
        for (int i = 0; i < n; ++i) {
            workers::Submission s;
            s.flowName = document.value(QStringLiteral("name")).toString();
            s.document = document;
            s.totalTaskRuns = taskRuns;
            s.retries = document.value(QStringLiteral("retries")).toInt();
            ids << workers::submitFlowRun(db, s);
        }
        return ids;
    });
}

} // namespace flowdeck::test
