// Loop monitor overhead: the 100k no-op flow with the monitor on and off (target <= 2%).
//
//   cmake --build build/release --target bench_monitor && build/release/tests/bench/bench_monitor [N]
//   [ROUNDS]
#include "benchprobe.h"
#include "flow/flowparser.h"
#include "flow/taskkind.h"
#include "run/engine.h"
#include "run/loopmonitor.h"

#include <QCoreApplication>
#include <QElapsedTimer>

#include <algorithm>
#include <cstdio>
#include <vector>

using namespace flowdeck;

namespace {

double runOnce(const FlowDefinition& flow, bool monitor)
{
    Engine engine;
    if (!monitor)
        engine.loopMonitor().stop();
    bool done = false;
    QObject::connect(&engine, &Engine::flowRunFinished, &engine, [&] { done = true; });
    QElapsedTimer timer;
    timer.start();
    engine.start(flow);
    while (!done)
        QCoreApplication::processEvents(QEventLoop::AllEvents | QEventLoop::WaitForMoreEvents, 50);
    return double(timer.nsecsElapsed()) / 1e6;
}

double median(std::vector<double> v)
{
    std::sort(v.begin(), v.end());
    return v[v.size() / 2];
}

} // namespace

int main(int argc, char* argv[])
{
    QCoreApplication app(argc, argv);
    const int n = argc > 1 ? std::atoi(argv[1]) : 100000;
    const int rounds = argc > 2 ? std::atoi(argv[2]) : 9;
    ValidationErrors errors;
    const auto flow
        = FlowParser(TaskKindRegistry::instance())
              .parse(QStringLiteral(R"({"name": "noop", "tasks": [{"id": "x", "kind": "noop", "map": %1}]})")
                         .arg(n)
                         .toUtf8(),
                     QStringLiteral("bench"), errors);
    std::vector<double> on;
    std::vector<double> off;
    runOnce(*flow, true); // warm-up
    for (int i = 0; i < rounds; ++i) {
        // Alternate, so that drift of the machine affects both alike.
        off.push_back(runOnce(*flow, false));
        on.push_back(runOnce(*flow, true));
    }
    const double mOn = median(on);
    const double mOff = median(off);
    const double probeUs = bench::readyQueueProbeUs();
    std::printf("%d no-op task runs, median of %d rounds: monitor off %.2f ms (%.3f us/task), on %.2f ms "
                "(%.3f us/task): "
                "overhead %+.2f%% (target <= 2%%); probe: a coroutine resumed 3 times through the ready "
                "queue %.3f us, monitor on %.2f probes per task run\n",
                n, rounds, mOff, mOff * 1000 / n, mOn, mOn * 1000 / n, (mOn - mOff) / mOff * 100, probeUs,
                mOn * 1000 / n / probeUs);
    return 0;
}
