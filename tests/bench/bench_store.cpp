// Store benchmark: transitions persisted per second (group commit vs a transaction per transition),
// on SQLite and PostgreSQL, and the no-op flow with every transition durable.
//
//   cmake --build build/release --target bench_store flowdeck
//   build/release/tests/bench/bench_store sqlite [N]          # SQLite file in a temp folder
//   build/release/tests/bench/bench_store postgres URL [N]    # e.g. after `source scripts/test-env.sh`
// Each invocation measures one backend in a fresh process, so peak RSS belongs to it alone.
#include "flow/flowparser.h"
#include "flow/taskkind.h"
#include "run/engine.h"
#include "run/loopmonitor.h"
#include "session/enginelink.h"
#include "store/connectionpool.h"
#include "store/databaseurl.h"
#include "store/store.h"

#include <QCoreApplication>
#include <QCoro/QCoroTask>
#include <QElapsedTimer>
#include <QEventLoop>
#include <QTemporaryDir>

#include <cstdio>
#include <optional>
#include <sys/resource.h>

using namespace flowdeck;

namespace {

// QCoro::waitFor() runs an event loop that sleeps until something happens. (A loop over
// QCoreApplication::processEvents(flags, ms) would spin: that overload drops WaitForMoreEvents, and the
// spinning main thread took a core from the database thread.)
template<typename T>
T finish(QCoro::Task<T>& task)
{
    return QCoro::waitFor(task);
}

//! CPU time of the whole process (every thread), in seconds: less noisy than wall time on a busy machine.
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

struct Figures {
    double wallS = 0;
    double cpuS = 0;
    quint64 transitions = 0;
    quint64 batches = 0;
    double maxCommitMs = 0;
    double maxLoopStepMs = 0;
    double lagMaxMs = 0;
};

Figures runNoops(const DatabaseUrl& url, int n, int maxBatch)
{
    Engine engine;
    ConnectionPool pool(url);
    Store store(pool, engine.scheduler());
    auto opening = store.open();
    finish(opening);
    std::optional<EngineLink> link;
    link.emplace(store, engine);
    if (maxBatch > 0)
        store.setMaxBatchTransitions(maxBatch);
    ValidationErrors errors;
    const QByteArray json
        = QStringLiteral(R"({"name": "noop-%1", "tasks": [{"id": "x", "kind": "noop", "map": %1}]})")
              .arg(n)
              .toUtf8();
    const auto flow = FlowParser(TaskKindRegistry::instance()).parse(json, QStringLiteral("bench"), errors);
    QElapsedTimer timer;
    timer.start();
    const double cpuStart = cpuSeconds();
    bool done = false;
    QEventLoop loop;
    QObject::connect(&engine, &Engine::flowRunFinished, &loop, [&] {
        done = true;
        loop.quit();
    });
    engine.start(*flow);
    if (!done)
        loop.exec();
    Figures f;
    f.wallS = double(timer.nsecsElapsed()) / 1e9;
    f.cpuS = cpuSeconds() - cpuStart;
    const StoreMetrics m = store.metrics();
    f.transitions = m.transitionsWritten;
    f.batches = m.batches;
    f.maxCommitMs = m.maxCommitMs;
    f.maxLoopStepMs = m.maxLoopStepMs;
    f.lagMaxMs = engine.loopMonitor().lagStats().max;
    link.reset();
    return f;
}

void print(const char* what, int n, const Figures& f)
{
    std::printf("%-34s N=%-7d wall %8.3f s  %8.1f us/task  %9.0f transitions/s  %6llu batches  "
                "longest commit %7.1f ms  longest GUI-thread store step %6.3f ms  loop lag max %6.1f ms  "
                "CPU %.3f s (all threads)\n",
                what, n, f.wallS, f.wallS * 1e6 / n, double(f.transitions) / f.wallS, f.batches,
                f.maxCommitMs, f.maxLoopStepMs, f.lagMaxMs, f.cpuS);
    std::fflush(stdout);
}

} // namespace

int main(int argc, char* argv[])
{
    QCoreApplication app(argc, argv);
    const QStringList args = app.arguments().mid(1);
    if (args.isEmpty() || (args.first() != u"sqlite" && args.first() != u"postgres")) {
        std::fprintf(stderr, "usage: bench_store sqlite [N] | bench_store postgres URL [N]\n");
        return 2;
    }
    QTemporaryDir dir;
    QString error;
    std::optional<DatabaseUrl> url;
    int n = 100000;
    if (args.first() == u"sqlite") {
        url = DatabaseUrl::parse(dir.filePath(QStringLiteral("bench.db")), &error);
        n = args.value(1, QStringLiteral("100000")).toInt();
    } else {
        url = DatabaseUrl::parse(args.value(1), &error);
        n = args.value(2, QStringLiteral("20000")).toInt();
    }
    if (!url) {
        std::fprintf(stderr, "bench_store: %s\n", qPrintable(error));
        return 2;
    }
    std::printf("backend %s\n", qPrintable(url->redacted()));
    const long before = peakRssKb();
    const Figures batched = runNoops(*url, n, 0); // the store's default batch bound
    print("no-op flow, group commit", n, batched);
    std::printf("  peak RSS %ld MB (%.0f B per task run; the process started at %ld MB)\n",
                peakRssKb() / 1024, double(peakRssKb() - before) * 1024.0 / n, before / 1024);
    const int small = std::min(n, 2000);
    const Figures single = runNoops(*url, small, 1);
    print("no-op flow, one commit/transition", small, single);
    std::printf("group commit vs one transaction per transition: %.1fx the transitions per second\n",
                (double(batched.transitions) / batched.wallS) / (double(single.transitions) / single.wallS));
    std::printf(
        "targets (SQLite, 2 cores): >= 300000 transitions/s batched; <= 10 us per task; <= 200 MB peak; "
        "GUI thread in a store call <= 1 ms\n");
    return 0;
}
