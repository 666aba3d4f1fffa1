// Scale-out: 1, 2 and 3 `flowdeck worker` processes on one machine against one PostgreSQL
// database. Two figures per worker count:
//   claims      FLOWS queued flow runs of one no-op task each: flow runs claimed (and started) per
//               second, from the first flow run's RUNNING to the last one's, in the stored history
//   task runs   FLOWS2 queued flow runs of TASKS no-op task runs each: task runs completed per second
//               across the workers, from the first task run's RUNNING to the last one's end
//
//   bench_workers [URL] [FLOWS] [FLOWS2] [TASKS] [MAX_FLOW_RUNS]
//       URL: a postgresql:// server (default $FLOWDECK_TEST_PG; `source scripts/test-env.sh` starts one);
//       a fresh database is created on it per measurement and dropped after. A SQLite path works too
//       (one file per measurement, next to it). Defaults: 400 flows, 40 flows of 500 task runs,
//       --max-flow-runs 8. The binary: $FLOWDECK_BINARY, else ../../app/flowdeck from here.
#include "store/databaseurl.h"
#include "store/schema.h"
#include "store/workerqueries.h"

#include <QCoreApplication>
#include <QDir>
#include <QElapsedTimer>
#include <QFile>
#include <QJsonDocument>
#include <QProcess>
#include <QRandomGenerator>
#include <QSqlError>
#include <QSqlQuery>
#include <QSqlRecord>
#include <QThread>

#include <csignal>
#include <cstdio>
#include <functional>
#include <memory>
#include <vector>

using namespace flowdeck;

namespace {

QString binary()
{
    const QString env = qEnvironmentVariable("FLOWDECK_BINARY");
    if (!env.isEmpty())
        return env;
    return QDir(QCoreApplication::applicationDirPath()).filePath(QStringLiteral("../../app/flowdeck"));
}

QSqlDatabase open(const DatabaseUrl& url, const QString& connection)
{
    QSqlDatabase db = url.addConnection(connection);
    if (!db.open()) {
        std::fprintf(stderr, "cannot open %s: %s\n", qPrintable(url.redacted()),
                     qPrintable(db.lastError().text()));
        std::exit(2);
    }
    return db;
}

void exec(QSqlDatabase& db, const QString& sql)
{
    QSqlQuery q(db);
    if (!q.exec(sql)) {
        std::fprintf(stderr, "%s: %s\n", qPrintable(sql), qPrintable(q.lastError().text()));
        std::exit(2);
    }
}

QVariantList row(QSqlDatabase& db, const QString& sql)
{
    QSqlQuery q(db);
    QVariantList out;
    if (q.exec(sql) && q.next()) {
        for (int i = 0; i < q.record().count(); ++i)
            out << q.value(i);
    }
    return out;
}

//! A fresh database for one measurement: its URL text, and how to drop it.
struct Scratch {
    QString url;
    std::function<void()> drop;
};

Scratch scratch(const DatabaseUrl& base, int index)
{
    if (base.isSqlite()) {
        const QString path = base.path + QStringLiteral(".bench%1.sqlite").arg(index);
        for (const QString& suffix : {QString(), QStringLiteral("-wal"), QStringLiteral("-shm")})
            QFile::remove(path + suffix);
        return {path, [path] {
                    for (const QString& suffix : {QString(), QStringLiteral("-wal"), QStringLiteral("-shm")})
                        QFile::remove(path + suffix);
                }};
    }
    const QString name
        = QStringLiteral("flowdeck_bench_%1").arg(QRandomGenerator::global()->generate() % 1000000);
    {
        QSqlDatabase admin = open(base, QStringLiteral("admin"));
        exec(admin, QStringLiteral("CREATE DATABASE %1").arg(name));
    }
    QSqlDatabase::removeDatabase(QStringLiteral("admin"));
    DatabaseUrl url = base;
    url.database = name;
    QString text = QStringLiteral("postgresql://%1%2@%3:%4/%5")
                       .arg(url.user, url.password.isEmpty() ? QString() : QStringLiteral(":") + url.password,
                            url.host)
                       .arg(url.port)
                       .arg(name);
    return {text, [base, name] {
                {
                    QSqlDatabase admin = open(base, QStringLiteral("admin"));
                    exec(admin, QStringLiteral("DROP DATABASE IF EXISTS %1 WITH (FORCE)").arg(name));
                }
                QSqlDatabase::removeDatabase(QStringLiteral("admin"));
            }};
}

struct Figures {
    double seconds = 0;   //!< first RUNNING to last end
    double flowsPerS = 0; //!< flow runs started per second
    double tasksPerS = 0; //!< task runs completed per second
    qint64 taskRuns = 0;
};

Figures measure(const DatabaseUrl& base, int index, int workers, int flows, int tasksPerFlow, int maxFlowRuns)
{
    Scratch db = scratch(base, index);
    const QString connection = QStringLiteral("bench%1").arg(index);
    Figures f;
    {
        QSqlDatabase conn = open(*DatabaseUrl::parse(db.url, nullptr), connection);
        schema::migrate(conn);
        const QByteArray json = tasksPerFlow == 1
            ? QByteArray(R"({"name": "one", "tasks": [{"id": "n", "kind": "noop"}]})")
            : QStringLiteral(R"({"name": "many", "tasks": [{"id": "n", "kind": "noop", "map": %1}]})")
                  .arg(tasksPerFlow)
                  .toUtf8();
        workers::Submission s;
        s.document = QJsonDocument::fromJson(json).object();
        s.flowName = s.document.value(QStringLiteral("name")).toString();
        s.totalTaskRuns = tasksPerFlow;
        for (int i = 0; i < flows; ++i)
            workers::submitFlowRun(conn, s);

        std::vector<std::unique_ptr<QProcess>> ps;
        for (int i = 0; i < workers; ++i) {
            auto p = std::make_unique<QProcess>();
            p->setStandardOutputFile(QProcess::nullDevice());
            p->setStandardErrorFile(QProcess::nullDevice());
            p->start(binary(),
                     {QStringLiteral("worker"), QStringLiteral("--db"), db.url, QStringLiteral("--name"),
                      QStringLiteral("bench%1").arg(i), QStringLiteral("--max-flow-runs"),
                      QString::number(maxFlowRuns)});
            p->waitForStarted();
            ps.push_back(std::move(p));
        }
        QElapsedTimer wall;
        wall.start();
        for (;;) {
            const qint64 done = row(conn,
                                    QStringLiteral("SELECT count(*) FROM flow_runs WHERE state IN "
                                                   "('COMPLETED','FAILED','CANCELLED','CRASHED')"))
                                    .value(0)
                                    .toLongLong();
            if (done >= flows || wall.elapsed() > 600000)
                break;
            QThread::msleep(20);
        }
        for (auto& p : ps)
            ::kill(pid_t(p->processId()), SIGTERM);
        for (auto& p : ps)
            p->waitForFinished(60000);
        const QVariantList flowsWindow
            = row(conn,
                  QStringLiteral(
                      "SELECT min(time), max(time), count(*) FROM state_history WHERE task_run_id IS NULL "
                      "AND state = 'RUNNING'"));
        const QVariantList tasks = row(conn,
                                       QStringLiteral("SELECT min(started_at), max(ended_at), count(*) FROM "
                                                      "task_runs WHERE state = 'COMPLETED'"));
        const double flowSpan
            = double(flowsWindow.value(1).toLongLong() - flowsWindow.value(0).toLongLong()) / 1e6;
        const double taskSpan = double(tasks.value(1).toLongLong() - tasks.value(0).toLongLong()) / 1e6;
        f.taskRuns = tasks.value(2).toLongLong();
        f.seconds = taskSpan;
        f.flowsPerS = flowSpan > 0 ? double(flowsWindow.value(2).toLongLong() - 1) / flowSpan : 0;
        f.tasksPerS = taskSpan > 0 ? double(f.taskRuns) / taskSpan : 0;
    }
    QSqlDatabase::removeDatabase(connection);
    db.drop();
    return f;
}

} // namespace

int main(int argc, char** argv)
{
    QCoreApplication app(argc, argv);
    const QStringList args = app.arguments().mid(1);
    const QString urlText = args.value(0, qEnvironmentVariable("FLOWDECK_TEST_PG"));
    if (urlText.isEmpty()) {
        std::fprintf(stderr,
                     "bench_workers: give a postgresql:// URL or set FLOWDECK_TEST_PG "
                     "(source scripts/test-env.sh)\n");
        return 2;
    }
    QString error;
    const auto base = DatabaseUrl::parse(urlText, &error);
    if (!base) {
        std::fprintf(stderr, "bench_workers: %s\n", qPrintable(error));
        return 2;
    }
    const int flows = args.value(1, QStringLiteral("400")).toInt();
    const int flows2 = args.value(2, QStringLiteral("40")).toInt();
    const int tasks = args.value(3, QStringLiteral("500")).toInt();
    const int maxFlowRuns = args.value(4, QStringLiteral("8")).toInt();
    if (!QFile::exists(binary())) {
        std::fprintf(stderr, "bench_workers: no flowdeck binary at %s (set FLOWDECK_BINARY)\n",
                     qPrintable(binary()));
        return 2;
    }
    std::printf("%s, %d CPUs; workers with --max-flow-runs %d\n", qPrintable(base->redacted()),
                QThread::idealThreadCount(), maxFlowRuns);
    std::printf("%-8s %28s %34s\n", "workers", "claims: flow runs/s (1 task)",
                QStringLiteral("task runs/s (%1 x %2 no-op)").arg(flows2).arg(tasks).toUtf8().constData());
    int index = 0;
    for (int n = 1; n <= 3; ++n) {
        const Figures claims = measure(*base, index++, n, flows, 1, maxFlowRuns);
        const Figures work = measure(*base, index++, n, flows2, tasks, maxFlowRuns);
        std::printf("%-8d %19.0f (%5.2f s) %23.0f (%5.2f s)\n", n, claims.flowsPerS,
                    claims.flowsPerS > 0 ? flows / claims.flowsPerS : 0.0, work.tasksPerS, work.seconds);
        std::fflush(stdout);
    }
    std::printf(
        "\nWhat limits scaling here: every worker, and the PostgreSQL server, share the same 2 cores, so\n"
        "adding a process adds no CPU. Each task run costs a few rows in the database (task_runs upsert,\n"
        "state_history inserts) written by group commit, and the server's CPU and WAL are shared by all\n"
        "workers; claims are one short transaction each (SKIP LOCKED: workers never wait for each other).\n"
        "On separate machines the engine work scales out and the database becomes the limit.\n");
    return 0;
}
