// Results between tasks, every transition and result durable on SQLite:
//
//   cmake --build build/release --target bench_results
//   build/release/tests/bench/bench_results noop [N]      # N no-op task runs, each with a small result
//   build/release/tests/bench/bench_results object [N]    # the same with a small object as result
//   build/release/tests/bench/bench_results plain [N]     # the same without results, for comparison
//   build/release/tests/bench/bench_results foreach [N]   # for_each over an N-element result made at run
//   time
//
// N defaults to 100000. Each invocation measures one flow in a fresh process, so peak RSS belongs to
// it alone. Beside the time: a bare probe measured in the same run (SQLite rows inserted per second
// in one transaction), and the ratio (the time per task run in probe rows), which is the figure to
// compare between machines.
#include "benchprobe.h"
#include "flow/flowparser.h"
#include "flow/taskkind.h"
#include "run/engine.h"
#include "run/flowrun.h"
#include "session/enginelink.h"
#include "store/connectionpool.h"
#include "store/databaseurl.h"
#include "store/store.h"

#include <QCoreApplication>
#include <QCoro/QCoroTask>
#include <QElapsedTimer>
#include <QEventLoop>
#include <QSqlDatabase>
#include <QSqlQuery>
#include <QTemporaryDir>

#include <cstdio>
#include <optional>
#include <sys/resource.h>

using namespace flowdeck;

namespace {

template<typename T>
T finish(QCoro::Task<T>& task)
{
    return QCoro::waitFor(task);
}

double cpuSeconds()
{
    rusage usage{};
    getrusage(RUSAGE_SELF, &usage);
    return double(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec)
        + double(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6;
}

long peakRssKb()
{
    rusage usage{};
    getrusage(RUSAGE_SELF, &usage);
    return usage.ru_maxrss;
}

QByteArray flowJson(const QString& mode, int n)
{
    if (mode == u"plain")
        return QStringLiteral(R"({"name": "plain", "tasks": [{"id": "x", "kind": "noop", "map": %1}]})")
            .arg(n)
            .toUtf8();
    if (mode == u"noop") {
        return QStringLiteral(R"({"name": "results", "tasks": [
            {"id": "x", "kind": "noop", "map": %1, "value": "{{map_index}}"}]})")
            .arg(n)
            .toUtf8();
    }
    if (mode == u"object") {
        return QStringLiteral(R"({"name": "objects", "tasks": [
            {"id": "x", "kind": "noop", "map": %1, "value": {"i": "{{map_index}}", "ok": true}}]})")
            .arg(n)
            .toUtf8();
    }
    // The list is printed by a command, so its length is known only at run time.
    return QStringLiteral(R"({"name": "foreach", "tasks": [
        {"id": "list", "kind": "shell", "result": "json", "max_result_bytes": 100000000,
         "command": ["sh", "-c", "printf '['; seq -s, 0 %1 | tr -d '\\n'; printf ']'"]},
        {"id": "each", "kind": "noop", "for_each": "{{tasks.list.result}}", "value": "{{item}}"}]})")
        .arg(n - 1)
        .toUtf8();
}

} // namespace

int main(int argc, char* argv[])
{
    QCoreApplication app(argc, argv);
    const QStringList args = app.arguments().mid(1);
    const QString mode = args.value(0);
    if (mode != u"noop" && mode != u"object" && mode != u"plain" && mode != u"foreach") {
        std::fprintf(stderr, "usage: bench_results noop|object|plain|foreach [N]\n");
        return 2;
    }
    const int n = args.value(1, QStringLiteral("100000")).toInt();
    QTemporaryDir dir;
    const double probe = bench::sqliteRowsPerSecond(dir.filePath(QStringLiteral("probe.db")));
    std::printf("probe: SQLite inserts %.0f rows/s in one transaction (%.2f us per row)\n", probe,
                1e6 / probe);

    QString error;
    const std::optional<DatabaseUrl> url
        = DatabaseUrl::parse(dir.filePath(QStringLiteral("bench.db")), &error);
    const long before = peakRssKb();
    Engine engine;
    ConnectionPool pool(*url);
    Store store(pool, engine.scheduler());
    auto opening = store.open();
    finish(opening);
    std::optional<EngineLink> link;
    link.emplace(store, engine);
    ValidationErrors errors;
    const auto flow
        = FlowParser(TaskKindRegistry::instance()).parse(flowJson(mode, n), QStringLiteral("bench"), errors);
    if (!flow) {
        std::fprintf(stderr, "bench_results: %s\n", qPrintable(errors.value(0).toString()));
        return 2;
    }
    QElapsedTimer timer;
    timer.start();
    const double cpuStart = cpuSeconds();
    bool done = false;
    QEventLoop loop;
    QObject::connect(&engine, &Engine::flowRunFinished, &loop, [&] {
        done = true;
        loop.quit();
    });
    FlowRun* run = engine.start(*flow);
    if (!done)
        loop.exec();
    const double wallS = double(timer.nsecsElapsed()) / 1e9;
    const double cpuS = cpuSeconds() - cpuStart;
    auto flushing = store.flush();
    finish(flushing);
    const qint64 taskRuns = run->totalTaskRuns;
    const QString state = toString(run->type);
    const StoreMetrics m = store.metrics();
    link.reset();
    qint64 stored = 0;
    {
        QSqlDatabase db = QSqlDatabase::addDatabase(QStringLiteral("QSQLITE"), QStringLiteral("check"));
        db.setDatabaseName(url->path);
        db.open();
        QSqlQuery q(QStringLiteral("SELECT count(*) FROM task_runs WHERE result IS NOT NULL"), db);
        q.next();
        stored = q.value(0).toLongLong();
    }
    QSqlDatabase::removeDatabase(QStringLiteral("check"));
    const double usPerRun = wallS * 1e6 / double(taskRuns);
    std::printf(
        "%s: %s, %lld task runs, %lld results stored; wall %.3f s = %.2f us per task run (%.2f probe rows), "
        "CPU %.3f s (all threads); %llu transitions in %llu batches, longest commit %.1f ms\n",
        qPrintable(mode), qPrintable(state), taskRuns, stored, wallS, usPerRun, usPerRun * probe / 1e6, cpuS,
        m.transitionsWritten, m.batches, m.maxCommitMs);
    std::printf("  peak RSS %ld MB (%.0f B per task run; the process had %ld MB before the flow)\n",
                peakRssKb() / 1024, double(peakRssKb() - before) * 1024.0 / double(taskRuns), before / 1024);
    std::printf("targets (SQLite, 2 cores): noop <= 12 us per task run; peak RSS <= 10%% above plain\n");
    return 0;
}
