// Fire-time accuracy of schedules: a per-second schedule (`--every 1s`, a one-task no-op flow) runs
// for SECONDS on a fresh database, fired by
//   worker      a `flowdeck worker` process (its ScheduleService claims and starts the runs), or
//   dashboard   this process as the dashboard does it: an engine with a session and the
//               ScheduleService AppContext runs, starting the runs in its own engine.
// Printed: p50, p99 and max of (flow run started_at - scheduled_for) over the fire times, from the
// stored rows.
//
//   bench_schedules [worker|dashboard|both] [SECONDS] [DB]
//       SECONDS default 300 (the figure for the notes); DB: a SQLite path or postgresql:// URL
//       (default: a fresh SQLite file in a temporary folder). The binary: $FLOWDECK_BINARY, else
//       ../../app/flowdeck from here.
#include "run/clock.h"
#include "run/engine.h"
#include "session/scheduleservice.h"
#include "session/session.h"
#include "store/connectionpool.h"
#include "store/databaseurl.h"
#include "store/schedulequeries.h"

#include <QCoreApplication>
#include <QCoro/QCoroTask>
#include <QCoro/QCoroTimer>
#include <QDir>
#include <QFile>
#include <QJsonDocument>
#include <QProcess>
#include <QSqlQuery>
#include <QTemporaryDir>
#include <QTimer>

#include <algorithm>
#include <csignal>
#include <cstdio>
#include <vector>

using namespace flowdeck;

namespace {

const QByteArray kTick = R"({"name": "tick", "tasks": [{"id": "a", "kind": "noop"}]})";

QString binary()
{
    const QString env = qEnvironmentVariable("FLOWDECK_BINARY");
    if (!env.isEmpty())
        return env;
    return QDir(QCoreApplication::applicationDirPath()).filePath(QStringLiteral("../../app/flowdeck"));
}

void addSchedule(ConnectionPool& pool)
{
    auto adding = pool.run([](QSqlDatabase& db) {
        schedules::ScheduleDraft d;
        d.name = QStringLiteral("tick");
        d.flowName = QStringLiteral("tick");
        d.document = QJsonDocument::fromJson(kTick).object();
        d.intervalUs = 1'000'000;
        d.timezone = QStringLiteral("UTC");
        schedules::addSchedule(db, d, wallUs());
    });
    QCoro::waitFor(adding);
}

std::vector<double> latenessMs(ConnectionPool& pool)
{
    auto reading = pool.run([](QSqlDatabase& db) {
        QSqlQuery q(db);
        q.exec(
            QStringLiteral("SELECT started_at - scheduled_for FROM flow_runs WHERE schedule_id IS NOT NULL "
                           "AND started_at IS NOT NULL ORDER BY scheduled_for"));
        std::vector<double> out;
        while (q.next())
            out.push_back(q.value(0).toDouble() / 1000.0);
        return out;
    });
    return QCoro::waitFor(reading);
}

void report(const char* where, int seconds, std::vector<double> ms)
{
    if (ms.empty()) {
        std::printf("%-10s no runs\n", where);
        return;
    }
    std::sort(ms.begin(), ms.end());
    const auto at = [&ms](double q) { return ms[std::min(ms.size() - 1, size_t(q * double(ms.size())))]; };
    std::printf("%-10s %4d s  %4zu runs  start - fire time: p50 %7.2f ms  p99 %7.2f ms  max %7.2f ms\n",
                where, seconds, ms.size(), at(0.5), at(0.99), ms.back());
    std::fflush(stdout);
}

//! Opens \a url with an engine, as the dashboard does.
struct Dashboard {
    Engine engine;
    Session session{engine.scheduler()};
};

void runDashboard(const QString& url, int seconds)
{
    Dashboard d;
    SessionOptions options;
    options.engine = &d.engine;
    auto opening = d.session.open(url, options);
    QCoro::waitFor(opening);
    addSchedule(*d.session.pool());
    ScheduleService service(d.engine, d.session);
    service.start();
    auto waiting = QCoro::sleepFor(std::chrono::seconds(seconds));
    QCoro::waitFor(waiting);
    service.stop();
    auto settle = QCoro::sleepFor(std::chrono::milliseconds(500));
    QCoro::waitFor(settle);
    report("dashboard", seconds, latenessMs(*d.session.pool()));
    auto closing = d.session.close();
    QCoro::waitFor(closing);
}

void runWorker(const QString& url, int seconds)
{
    {
        Dashboard d; // migrates and adds the schedule, then goes
        auto opening = d.session.open(url);
        QCoro::waitFor(opening);
        addSchedule(*d.session.pool());
        auto closing = d.session.close();
        QCoro::waitFor(closing);
    }
    QProcess worker;
    worker.setProcessChannelMode(QProcess::ForwardedErrorChannel);
    worker.setStandardOutputFile(QProcess::nullDevice());
    worker.start(binary(), {QStringLiteral("worker"), QStringLiteral("--db"), url});
    if (!worker.waitForStarted(10000)) {
        std::fprintf(stderr, "cannot start %s\n", qPrintable(binary()));
        return;
    }
    auto waiting = QCoro::sleepFor(std::chrono::seconds(seconds));
    QCoro::waitFor(waiting);
    ::kill(pid_t(worker.processId()), SIGTERM);
    worker.waitForFinished(30000);
    ConnectionPool pool(*DatabaseUrl::parse(url, nullptr));
    report("worker", seconds, latenessMs(pool));
}

} // namespace

int main(int argc, char** argv)
{
    QCoreApplication app(argc, argv);
    const QStringList args = app.arguments();
    const QString mode = args.value(1, QStringLiteral("both"));
    const int seconds = args.value(2, QStringLiteral("300")).toInt();
    QTemporaryDir dir;
    const auto urlFor = [&](const QString& name) {
        const QString given = args.value(3);
        return given.isEmpty() ? dir.filePath(name + QStringLiteral(".sqlite")) : given;
    };
    if (mode == u"worker" || mode == u"both")
        runWorker(urlFor(QStringLiteral("worker")), seconds);
    if (mode == u"dashboard" || mode == u"both")
        runDashboard(urlFor(QStringLiteral("dashboard")), seconds);
    return 0;
}
