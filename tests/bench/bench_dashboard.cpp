// Dashboard benchmark: event-loop lag while the real MainWindow (offscreen) shows a 100k-task flow
// run live. Prints figures; it is not a pass/fail test. Targets (issue 5): p99 lag <= 5 ms and the
// longest stall <= 16 ms with the Runs and Run pages shown.
//
//   cmake -S . -B build/ui-release -G Ninja -DCMAKE_BUILD_TYPE=Release
//   cmake --build build/ui-release --target bench_dashboard
//   QT_QPA_PLATFORM=offscreen build/ui-release/tests/bench/bench_dashboard [--tasks N] [--only PHASE]
//                                                                         [--switch-ms M] [--trace]
//
// Phases (each a flow of N task runs, default 100,000):
//   noop     one task "noop" with map N
//   sleep    one task "sleep" seconds [0, 0.5] with map N
//   sleep5   one task "sleep" seconds [0, 5] with map N: five seconds of steady transitions
// Each phase runs in four modes: headless (AppContext only: the engine and the coalescing observer,
// no window) as the baseline; the window showing the Runs page; the Run page (the flow run's task
// table, timeline and log); and both, switching every M ms (1000).
//
// Columns: 'lag' is how late a 1 ms precise timer fires while the flow runs (p50/p99/max), and
// 'after' its largest lateness in the 300 ms after the flow run ended; 'mon' is the LoopMonitor's
// own p99/max (10 ms heartbeat). Wall-clock lag includes time the process waited for a core, so the
// event columns use thread CPU time: the longest single event of the dashboard (widgets, models,
// AppContext timers) and of the engine (Scheduler, Engine, LoopMonitor), and the dashboard's share
// of the loop thread's CPU. 'tick' is the wall time to apply one coalesced update. --trace lists the
// slowest events of each mode.

#include "appcontext.h"
#include "engine.h"
#include "flowcatalog.h"
#include "mainwindow.h"
#include "runpage.h"
#include "scheduler.h"

#include <QApplication>
#include <QElapsedTimer>
#include <QFile>
#include <QJsonArray>
#include <QTimer>
#include <QWidget>

#include <algorithm>
#include <cstdio>
#include <ctime>
#include <map>
#include <memory>
#include <vector>

using namespace flowdeck;

namespace {

struct Options {
    int tasks = 100'000;
    int switchMs = 1000;
    QString only;
    bool trace = false;
};

struct Percentiles {
    double p50 = 0;
    double p99 = 0;
    double max = 0;
};

Percentiles percentiles(std::vector<double> values)
{
    Percentiles p;
    if (values.empty())
        return p;
    std::sort(values.begin(), values.end());
    auto at
        = [&](double q) { return values[std::min(values.size() - 1, size_t(q * double(values.size())))]; };
    p.p50 = at(0.50);
    p.p99 = at(0.99);
    p.max = values.back();
    return p;
}

double threadCpuMs()
{
    timespec ts{};
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return double(ts.tv_sec) * 1e3 + double(ts.tv_nsec) / 1e6;
}

QByteArray loadAverage()
{
    QFile file(QStringLiteral("/proc/loadavg"));
    return file.open(QIODevice::ReadOnly) ? file.readAll().split(' ').value(0) : QByteArray("?");
}

enum class Owner { Dashboard, Engine, Other };

//! Whose code handles an event: the engine's objects, the dashboard's widgets and models, or the
//! benchmark's own probe.
Owner ownerOf(const QObject* receiver)
{
    for (const QObject* o = receiver; o; o = o->parent()) {
        if (qobject_cast<const Scheduler*>(o) || qobject_cast<const Engine*>(o)
            || qobject_cast<const LoopMonitor*>(o))
            return Owner::Engine;
        if (o->isWidgetType() || qobject_cast<const AppContext*>(o) || o->inherits("QWidgetWindow"))
            return Owner::Dashboard;
    }
    return Owner::Other;
}

//! Times every event the loop delivers (wall and thread CPU), by owner.
class TracingApplication : public QApplication {
public:
    using QApplication::QApplication;

    struct Slow {
        double wallMs;
        double cpuMs;
        QByteArray what;
    };
    bool recording = false;
    double maxCpu[3] = {0, 0, 0};
    double totalCpu[3] = {0, 0, 0};
    std::vector<Slow> slow;

    void reset()
    {
        std::fill(std::begin(maxCpu), std::end(maxCpu), 0.0);
        std::fill(std::begin(totalCpu), std::end(totalCpu), 0.0);
        slow.clear();
        paints.clear();
        events.clear();
    }

    struct PaintCost {
        int count = 0;
        double totalMs = 0;
        double maxMs = 0;
    };
    std::map<QByteArray, PaintCost> paints; // thread CPU per widget class, nested paint events
    std::map<QByteArray, PaintCost> events; // thread CPU per receiver and event type, top level

    bool notify(QObject* receiver, QEvent* event) override
    {
        if (recording && m_depth > 0 && event->type() == QEvent::Paint) {
            const QObject* named = receiver->objectName() == u"qt_scrollarea_viewport" && receiver->parent()
                ? receiver->parent()
                : receiver;
            const QByteArray what
                = QByteArray(named->metaObject()->className()) + ' ' + named->objectName().toUtf8();
            const double cpu0 = threadCpuMs();
            const bool result = QApplication::notify(receiver, event);
            const double cpu = threadCpuMs() - cpu0;
            PaintCost& cost = paints[what];
            ++cost.count;
            cost.totalMs += cpu;
            cost.maxMs = std::max(cost.maxMs, cpu);
            return result;
        }
        if (!recording || m_depth > 0)
            return QApplication::notify(receiver, event);
        // The receiver may be gone once the event is handled: look at it first.
        const Owner owner = ownerOf(receiver);
        const bool viewportOrTimer
            = receiver->objectName() == u"qt_scrollarea_viewport" || qobject_cast<QTimer*>(receiver);
        const QObject* named = viewportOrTimer && receiver->parent() ? receiver->parent() : receiver;
        QByteArray what = QByteArray(named->metaObject()->className()) + ' ' + named->objectName().toUtf8()
            + " event " + QByteArray::number(int(event->type()));
        if (const auto* timer = qobject_cast<const QTimer*>(receiver))
            what += " (timer " + QByteArray::number(timer->interval()) + " ms)";
        ++m_depth;
        QElapsedTimer timer;
        timer.start();
        const double cpu0 = threadCpuMs();
        const bool result = QApplication::notify(receiver, event);
        const double cpu = threadCpuMs() - cpu0;
        const double wall = double(timer.nsecsElapsed()) / 1e6;
        --m_depth;
        maxCpu[int(owner)] = std::max(maxCpu[int(owner)], cpu);
        PaintCost& cost = events[what];
        ++cost.count;
        cost.totalMs += cpu;
        cost.maxMs = std::max(cost.maxMs, cpu);
        totalCpu[int(owner)] += cpu;
        if (cpu >= 2.0)
            slow.push_back({wall, cpu, what});
        return result;
    }

private:
    int m_depth = 0;
};

//! How late a 1 ms precise timer fires.
class LagProbe {
public:
    LagProbe()
    {
        m_timer.setTimerType(Qt::PreciseTimer);
        m_timer.setInterval(1);
        QObject::connect(&m_timer, &QTimer::timeout, [this] {
            const std::int64_t now = Scheduler::nowNs();
            if (m_last)
                (m_after ? m_afterMs : m_lagsMs)
                    .push_back(double(std::max<std::int64_t>(0, now - m_last - 1'000'000)) / 1e6);
            m_last = now;
        });
    }
    void start()
    {
        m_lagsMs.clear();
        m_lagsMs.reserve(200'000);
        m_afterMs.clear();
        m_after = false;
        m_last = 0;
        m_timer.start();
    }
    //! Samples from now on belong to the time after the flow run ended.
    void markEnd() { m_after = true; }
    void stop() { m_timer.stop(); }
    const std::vector<double>& lags() const { return m_lagsMs; }
    const std::vector<double>& after() const { return m_afterMs; }

private:
    QTimer m_timer;
    std::int64_t m_last = 0;
    bool m_after = false;
    std::vector<double> m_lagsMs;
    std::vector<double> m_afterMs;
};

QJsonObject flowDocument(const QString& phase, int tasks)
{
    QJsonObject fields{{QStringLiteral("map"), tasks}};
    QString kind = QStringLiteral("noop");
    if (phase == u"sleep") {
        kind = QStringLiteral("sleep");
        fields.insert(QStringLiteral("seconds"), QJsonArray{0, 0.5});
    } else if (phase == u"sleep5") {
        kind = QStringLiteral("sleep");
        fields.insert(QStringLiteral("seconds"), QJsonArray{0, 5});
    }
    return FlowBuilder(QStringLiteral("bench-") + phase)
        .task(QStringLiteral("work"), kind, fields)
        .seed(5)
        .document();
}

void wait(int ms)
{
    QEventLoop loop;
    QTimer::singleShot(ms, &loop, &QEventLoop::quit);
    loop.exec();
}

enum class Mode { Headless, Runs, Run, Both };
const char* const ModeNames[] = {"headless", "runs", "run", "both"};

void measure(TracingApplication& app, const char* phase, Mode mode, const QJsonObject& document,
             const Options& options)
{
    AppContext context;
    std::vector<double> tickMs;
    tickMs.reserve(10'000); // no reallocation while measuring
    QElapsedTimer tick;
    // Connected before the window's models and pages, and after them: brackets their work.
    QObject::connect(&context, &AppContext::updated, [&] { tick.start(); });
    std::unique_ptr<MainWindow> window;
    if (mode != Mode::Headless) {
        window = std::make_unique<MainWindow>(&context, MainWindow::Options{false});
        window->resize(1280, 800);
        window->show();
        window->showPage(mode == Mode::Run ? MainWindow::Page::Run : MainWindow::Page::Runs);
    }
    QObject::connect(&context, &AppContext::updated,
                     [&] { tickMs.push_back(double(tick.nsecsElapsed()) / 1e6); });
    QTimer pages;
    bool runPage = false;
    if (mode == Mode::Both) {
        QObject::connect(&pages, &QTimer::timeout, [&] {
            runPage = !runPage;
            window->showPage(runPage ? MainWindow::Page::Run : MainWindow::Page::Runs);
        });
    }
    context.engine().loopMonitor().setThresholdMs(16);
    wait(300); // the window is laid out and painted once

    LagProbe probe;
    probe.start();
    app.reset();
    app.recording = true;
    const double cpu0 = threadCpuMs();
    QElapsedTimer wall;
    wall.start();
    FlowRun* run = context.startFlow(document, QStringLiteral("bench"), {}, nullptr);
    if (!run) {
        std::fprintf(stderr, "bench_dashboard: the flow does not validate\n");
        std::exit(1);
    }
    if (window)
        window->runPage()->setFlowRun(run, true);
    pages.start(options.switchMs);
    QEventLoop loop;
    QObject::connect(&context.engine(), &Engine::flowRunFinished, &loop, [&](FlowRun* finished) {
        if (finished == run)
            loop.quit();
    });
    loop.exec();
    const double wallS = double(wall.nsecsElapsed()) / 1e9;
    const double loopCpu = threadCpuMs() - cpu0;
    probe.markEnd();
    wait(300); // the last ticks and paints, and what the engine does once a flow run ends
    probe.stop();
    app.recording = false;
    pages.stop();

    const Percentiles lag = percentiles(probe.lags());
    const Percentiles after = percentiles(probe.after());
    const LagStats monitor = context.engine().loopMonitor().lagStats();
    const Percentiles ticks = percentiles(tickMs);
    std::printf("%-7s %-8s %6.2f s  %5.2f %5.2f %6.2f  %6.2f   %5.2f %6.2f   %4zu %5.2f %5.2f   %6.2f %6.2f "
                "%5.1f%%   %s\n",
                phase, ModeNames[int(mode)], wallS, lag.p50, lag.p99, lag.max, after.max, monitor.p99,
                monitor.max, tickMs.size(), ticks.p50, ticks.max, app.maxCpu[int(Owner::Dashboard)],
                app.maxCpu[int(Owner::Engine)],
                loopCpu > 0 ? 100.0 * app.totalCpu[int(Owner::Dashboard)] / loopCpu : 0.0,
                loadAverage().constData());
    if (options.trace) {
        std::sort(app.slow.begin(), app.slow.end(),
                  [](const auto& a, const auto& b) { return a.cpuMs > b.cpuMs; });
        for (size_t i = 0; i < std::min<size_t>(4, app.slow.size()); ++i)
            std::printf("      cpu %6.2f ms  wall %6.2f ms  %s\n", app.slow[i].cpuMs, app.slow[i].wallMs,
                        app.slow[i].what.constData());
        std::vector<std::pair<QByteArray, TracingApplication::PaintCost>> events(app.events.begin(),
                                                                                 app.events.end());
        std::sort(events.begin(), events.end(),
                  [](const auto& a, const auto& b) { return a.second.totalMs > b.second.totalMs; });
        for (size_t i = 0; i < std::min<size_t>(6, events.size()); ++i)
            std::printf("      event %-52s %5d x  total %7.1f ms  max %5.2f ms\n",
                        events[i].first.constData(), events[i].second.count, events[i].second.totalMs,
                        events[i].second.maxMs);
        std::vector<std::pair<QByteArray, TracingApplication::PaintCost>> paints(app.paints.begin(),
                                                                                 app.paints.end());
        std::sort(paints.begin(), paints.end(),
                  [](const auto& a, const auto& b) { return a.second.totalMs > b.second.totalMs; });
        for (size_t i = 0; i < std::min<size_t>(6, paints.size()); ++i)
            std::printf("      paint %-40s %5d x  total %7.1f ms  max %5.2f ms\n",
                        paints[i].first.constData(), paints[i].second.count, paints[i].second.totalMs,
                        paints[i].second.maxMs);
    }
    std::fflush(stdout);
}

} // namespace

int main(int argc, char** argv)
{
    if (qEnvironmentVariableIsEmpty("QT_QPA_PLATFORM"))
        qputenv("QT_QPA_PLATFORM", "offscreen");
    TracingApplication app(argc, argv);
    QApplication::setOrganizationName(QStringLiteral("FlowdeckBench"));
    QApplication::setApplicationName(QStringLiteral("bench_dashboard"));

    Options options;
    const QStringList args = QApplication::arguments();
    for (int i = 1; i < args.size(); ++i) {
        if (args[i] == u"--tasks" && i + 1 < args.size())
            options.tasks = args[++i].toInt();
        else if (args[i] == u"--switch-ms" && i + 1 < args.size())
            options.switchMs = args[++i].toInt();
        else if (args[i] == u"--only" && i + 1 < args.size())
            options.only = args[++i];
        else if (args[i] == u"--trace")
            options.trace = true;

        else {
            std::fprintf(
                stderr,
                "usage: bench_dashboard [--tasks N] [--only noop|sleep|sleep5] [--switch-ms M] [--trace]\n");
            return 2;
        }
    }

    std::printf(
        "bench_dashboard: %d task runs per flow, window 1280x800 offscreen, 'both' switches pages every %d "
        "ms\n"
        "lag = 1 ms precise timer during the run (ms), after = max in the 300 ms after it ended,\n"
        "mon = LoopMonitor p99/max, tick = ms per coalesced update, event cpu = longest single event (ms)\n"
        "of the dashboard (ui) and of the engine (eng), ui%% = dashboard share of the loop thread's CPU\n\n",
        options.tasks, options.switchMs);
    std::printf("%-7s %-8s %8s  %5s %5s %6s  %6s   %5s %6s   %4s %5s %5s   %6s %6s %6s   %s\n", "phase",
                "mode", "wall", "p50", "p99", "max", "after", "mon99", "monmax", "tick", "p50", "max", "ui",
                "eng", "ui%", "load");
    for (const char* phase : {"noop", "sleep", "sleep5"}) {
        if (!options.only.isEmpty() && options.only != QLatin1String(phase))
            continue;
        const QJsonObject document = flowDocument(QLatin1String(phase), options.tasks);
        for (Mode mode : {Mode::Headless, Mode::Runs, Mode::Run, Mode::Both})
            measure(app, phase, mode, document, options);
    }
    return 0;
}
