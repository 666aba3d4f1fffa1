// Dashboard benchmark: event-loop lag while the real MainWindow (offscreen) shows a 100k-task flow
// run live. Prints figures; it is not a pass/fail test. Targets: p99 lag <= 5 ms and the
// longest stall <= 16 ms with the Runs and Run pages shown.
//
//   cmake -S . -B build/ui-release -G Ninja -DCMAKE_BUILD_TYPE=Release
//   cmake --build build/ui-release --target bench_dashboard
//   QT_QPA_PLATFORM=offscreen build/ui-release/tests/bench/bench_dashboard [--tasks N] [--only PHASE]
//                                                     [--switch-ms M] [--trace] [--no-store] [--modes LIST]
//                                                     [--busy-core] [--stored-db PATH] [--slowest N]
//
// As in the app, the engine has a run store attached (DatabaseConnection::open on a SQLite file in
// a temporary folder, a new file per measurement): every transition and log line is written through
// it, and the history reload and limit polls run as they do in the app. --no-store measures without.
//
// Phases (each a flow of N task runs, default 100,000):
//   noop     one task "noop" with map N
//   sleep    one task "sleep" seconds [0, 0.5] with map N
//   sleep5   one task "sleep" seconds [0, 5] with map N: five seconds of steady transitions
//   gated    (only with --only) N/2 sleeps of [0, 3] s, and N/2 no-ops each mapping over one of them
//            that also wait for a 10 s sleep: finished runs freed in bulk, then N/2 runs ready at once
//   stored   (with the store) the noop flow run of N task runs, finished and written, opened from
//            the store in a new session's Run page: the load of its task runs, until every row shows
// --stored-db PATH: only the stored phase, on the newest flow run of an existing database (such as
// one a `flowdeck run` of a million task runs wrote).
// Each flow phase runs in five modes: headless (AppContext only: the engine and the coalescing observer,
// no window) as the baseline; the window showing the Runs page; the Run page (the flow run's task
// table, timeline and log); 'graph', the Run page with its Graph view instead of the Timeline; and both,
// switching every M ms (1000).
//
// Columns: 'lag' is how late a 1 ms precise timer fires while the flow runs (p50/p99/max), and
// 'after' its largest lateness in the 300 ms after the flow run ended; 'mon' is the LoopMonitor's
// own p99/max (10 ms heartbeat). 'cpu' is the loop thread's CPU time between two lag samples
// (p99/max): the part of the lag the loop caused itself, without the time it waited for a core; 'wait' the
// time it was runnable but waited for a core (the run delay of /proc/thread-self/schedstat). Wall-clock
// lag includes time the process waited for a core, so the event columns use thread CPU time: the longest
// single event of the dashboard (widgets, models, AppContext timers) and of the engine (Scheduler, Engine,
// LoopMonitor), and the dashboard's share of the loop thread's CPU. 'tick' is the wall time to apply one
// coalesced update. --trace lists the slowest events of each mode, the longest lag split into the loop
// thread's CPU and wait, and each thread's CPU time and wait for a core. 'store' is the store's longest step
// on the loop thread (ms).
// --modes takes a comma-separated subset of headless,runs,run,graph,both. --busy-core prints the table a
// second time while a `yes > /dev/null` child keeps one core busy.

#include "context/appcontext.h"
#include "flow/flowcatalog.h"
#include "mainwindow.h"
#include "models/storedtaskrunmodel.h"
#include "models/taskrunmodel.h"
#include "pages/runpage.h"
#include "pages/runspage.h"
#include "run/engine.h"
#include "run/scheduler.h"
#include "store/store.h"

#include <QApplication>
#include <QDir>
#include <QElapsedTimer>
#include <QFile>
#include <QJsonArray>
#include <QJsonDocument>
#include <QProcess>
#include <QTemporaryDir>
#include <QTimer>
#include <QWidget>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <fcntl.h>
#include <map>
#include <memory>
#include <unistd.h>
#include <vector>

using namespace flowdeck;

namespace {

struct Options {
    int tasks = 100'000;
    int switchMs = 1000;
    QString only;
    QStringList modes;
    bool trace = false;
    bool store = true;
    QString storedDb;                // --stored-db: the database whose newest flow run the stored phase opens
    QTemporaryDir* folder = nullptr; // where the store files go
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

//! The calling thread's time waiting on a run queue (runnable but not running) since it started, in ms
//! (/proc/thread-self/schedstat, second field), or 0 where the kernel does not keep it.
double threadRunDelayMs()
{
    static thread_local int fd = ::open("/proc/thread-self/schedstat", O_RDONLY | O_CLOEXEC);
    char text[128];
    const ssize_t n = fd >= 0 ? ::pread(fd, text, sizeof text - 1, 0) : -1;
    if (n <= 0)
        return 0;
    text[n] = 0;
    unsigned long long running = 0;
    unsigned long long waiting = 0;
    return std::sscanf(text, "%llu %llu", &running, &waiting) == 2 ? double(waiting) / 1e6 : 0.0;
}

//! CPU time and run-queue wait of every thread of this process, by thread id: which threads ran while
//! the loop thread waited for a core.
struct ThreadTimes {
    QByteArray name;
    double cpuMs = 0;
    double waitMs = 0;
};
std::map<int, ThreadTimes> threadTimes()
{
    std::map<int, ThreadTimes> out;
    QDir tasks(QStringLiteral("/proc/self/task"));
    for (const QString& tid : tasks.entryList(QDir::Dirs | QDir::NoDotAndDotDot)) {
        QFile stat(tasks.filePath(tid + QStringLiteral("/schedstat")));
        QFile comm(tasks.filePath(tid + QStringLiteral("/comm")));
        if (!stat.open(QIODevice::ReadOnly) || !comm.open(QIODevice::ReadOnly))
            continue;
        const QList<QByteArray> fields = stat.readAll().split(' ');
        ThreadTimes& t = out[tid.toInt()];
        t.name = comm.readAll().trimmed();
        t.cpuMs = fields.value(0).toDouble() / 1e6;
        t.waitMs = fields.value(1).toDouble() / 1e6;
    }
    return out;
}

//! What each thread ran and waited between \a before and \a after, summed by thread name.
void printThreadTimes(const std::map<int, ThreadTimes>& before, const std::map<int, ThreadTimes>& after)
{
    std::map<QByteArray, std::pair<double, double>> byName;
    for (const auto& [tid, t] : after) {
        const auto was = before.find(tid);
        const double cpu = t.cpuMs - (was != before.end() ? was->second.cpuMs : 0.0);
        const double waited = t.waitMs - (was != before.end() ? was->second.waitMs : 0.0);
        auto& sum = byName[t.name];
        sum.first += cpu;
        sum.second += waited;
    }
    for (const auto& [name, sum] : byName) {
        if (sum.first >= 1.0 || sum.second >= 1.0)
            std::printf("      thread %-16s cpu %8.1f ms  waited for a core %8.1f ms\n", name.constData(),
                        sum.first, sum.second);
    }
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
        QByteArray paints; // the widgets it painted, with their own CPU time, slowest first
        double atMs = 0;   // when it started, since recording began
    };
    bool recording = false;
    double maxCpu[3] = {0, 0, 0};
    double totalCpu[3] = {0, 0, 0};
    std::vector<Slow> slow;

    void reset()
    {
        m_since.start();
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
            m_turnPaints.emplace_back(cpu, what);
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
        m_turnPaints.clear();
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
        if (cpu >= 2.0) {
            std::sort(m_turnPaints.begin(), m_turnPaints.end(),
                      [](const auto& a, const auto& b) { return a.first > b.first; });
            QByteArray painted;
            for (size_t i = 0; i < m_turnPaints.size(); ++i) {
                if (i == 8) {
                    painted += "... (" + QByteArray::number(qsizetype(m_turnPaints.size())) + " paints)";
                    break;
                }
                painted += m_turnPaints[i].second.trimmed() + ' '
                    + QByteArray::number(m_turnPaints[i].first, 'f', 2) + "; ";
            }
            slow.push_back({wall, cpu, what, painted, double(m_since.nsecsElapsed()) / 1e6 - wall});
        }
        return result;
    }

private:
    int m_depth = 0;
    QElapsedTimer m_since;
    std::vector<std::pair<double, QByteArray>> m_turnPaints; // paints inside the current top-level event
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
            const double cpu = threadCpuMs();
            const double waited = threadRunDelayMs();
            if (m_last) {
                const double lag = double(std::max<std::int64_t>(0, now - m_last - 1'000'000)) / 1e6;
                (m_after ? m_afterMs : m_lagsMs).push_back(lag);
                if (!m_after) {
                    m_busyMs.push_back(cpu - m_lastCpu);
                    m_waitMs.push_back(waited - m_lastWait);
                    if (lag > m_worst.lagMs)
                        m_worst = {lag, cpu - m_lastCpu, waited - m_lastWait};
                }
            }
            m_last = now;
            m_lastCpu = cpu;
            m_lastWait = waited;
        });
    }
    void start()
    {
        m_lagsMs.clear();
        m_lagsMs.reserve(200'000);
        m_busyMs.clear();
        m_busyMs.reserve(200'000);
        m_waitMs.clear();
        m_waitMs.reserve(200'000);
        m_afterMs.clear();
        m_after = false;
        m_last = 0;
        m_worst = {};
        m_timer.start();
    }
    //! Samples from now on belong to the time after the flow run ended.
    void markEnd() { m_after = true; }
    void stop() { m_timer.stop(); }
    const std::vector<double>& lags() const { return m_lagsMs; }
    const std::vector<double>& after() const { return m_afterMs; }
    //! The loop thread's CPU time between consecutive ticks: the lag it caused itself, without the
    //! time it waited for a core on a loaded machine.
    const std::vector<double>& busy() const { return m_busyMs; }
    //! The loop thread's time waiting for a core (runnable, not running) between consecutive ticks.
    const std::vector<double>& waited() const { return m_waitMs; }
    //! The tick with the largest lag: its lag, and the loop thread's CPU time and run-queue wait before it.
    struct Sample {
        double lagMs = 0;
        double cpuMs = 0;
        double waitMs = 0;
    };
    Sample worst() const { return m_worst; }

private:
    QTimer m_timer;
    std::int64_t m_last = 0;
    double m_lastCpu = 0;
    double m_lastWait = 0;
    bool m_after = false;
    Sample m_worst;
    std::vector<double> m_busyMs;
    std::vector<double> m_waitMs;
    std::vector<double> m_lagsMs;
    std::vector<double> m_afterMs;
};

QJsonObject flowDocument(const QString& phase, int tasks)
{
    if (phase == u"gated") {
        // Half the runs sleep while the other half wait for a gate and for their counterpart; when the
        // sleeps end their blocks are freed, and when the gate opens the waiting half starts at once.
        const QString half = QString::number(tasks / 2);
        return QJsonDocument::fromJson(QStringLiteral(R"({"name": "bench-gated", "seed": 5, "tasks": [
            {"id": "gate", "kind": "sleep", "seconds": 10},
            {"id": "work", "kind": "sleep", "seconds": [0, 3], "map": %1},
            {"id": "after", "kind": "noop", "map_over": "work", "depends_on": ["gate"]}]})")
                                           .arg(half)
                                           .toUtf8())
            .object();
    }
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

enum class Mode { Headless, Runs, Run, Both, Graph };
const char* const ModeNames[] = {"headless", "runs", "run", "both", "graph"};

//! Opens a store at \a path in \a context, as the app does, and waits until it is open.
void openStore(AppContext& context, const QString& path)
{
    if (!context.database().open(path)) {
        std::fprintf(stderr, "bench_dashboard: cannot open %s\n", qPrintable(path));
        std::exit(1);
    }
    QEventLoop loop;
    QObject::connect(&context.database(), &DatabaseConnection::stateChanged, &loop, [&](DatabaseState state) {
        if (state != DatabaseState::Opening)
            loop.quit();
    });
    if (context.database().state() == DatabaseState::Opening)
        loop.exec();
    if (context.database().state() != DatabaseState::Open) {
        std::fprintf(stderr, "bench_dashboard: %s\n", qPrintable(context.database().errorText()));
        std::exit(1);
    }
}

void printTrace(TracingApplication& app);

size_t slowestShown = 4; // --trace: how many of the slowest events to list

//! The store file of one measurement.
QString storePath(const Options& options, const char* phase, Mode mode);

void measure(TracingApplication& app, const char* phase, Mode mode, const QJsonObject& document,
             const Options& options)
{
    AppContext context;
    if (options.store)
        openStore(context, storePath(options, phase, mode));
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
        const bool onRunPage = mode == Mode::Run || mode == Mode::Graph;
        window->showPage(onRunPage ? MainWindow::Page::Run : MainWindow::Page::Runs);
        if (mode == Mode::Graph)
            window->runPage()->showView(RunPage::View::Graph);
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
    const auto threadsBefore = threadTimes();
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
    const Percentiles busy = percentiles(probe.busy());
    const Percentiles waited = percentiles(probe.waited());
    const double storeStep
        = context.database().store() ? context.database().store()->metrics().maxLoopStepMs : 0.0;
    std::printf(
        "%-7s %-8s %6.2f s  %5.2f %5.2f %6.2f  %6.2f  %5.2f %6.2f  %5.2f %6.2f   %5.2f %6.2f   %4zu %5.2f "
        "%5.2f   %6.2f %6.2f %5.1f%%  %5.2f   %s\n",
        phase, ModeNames[int(mode)], wallS, lag.p50, lag.p99, lag.max, after.max, busy.p99, busy.max,
        waited.p99, waited.max, monitor.p99, monitor.max, tickMs.size(), ticks.p50, ticks.max,
        app.maxCpu[int(Owner::Dashboard)], app.maxCpu[int(Owner::Engine)],
        loopCpu > 0 ? 100.0 * app.totalCpu[int(Owner::Dashboard)] / loopCpu : 0.0, storeStep,
        loadAverage().constData());
    if (options.trace) {
        const LagProbe::Sample worst = probe.worst();
        std::printf("      longest lag %.2f ms: the loop thread ran %.2f ms and waited for a core %.2f ms\n",
                    worst.lagMs, worst.cpuMs, worst.waitMs);
        printThreadTimes(threadsBefore, threadTimes());
        printTrace(app);
    }
    std::fflush(stdout);
    window.reset();
    context.cancelAllAndWait(10000);
    context.database().closeAndWait(30000);
}

QString storePath(const Options& options, const char* phase, Mode mode)
{
    return options.folder->filePath(
        QStringLiteral("%1-%2.db").arg(QLatin1String(phase), QLatin1String(ModeNames[int(mode)])));
}

/**
 * A new session opens the flow run that \a path holds (written by the noop phase) in its Run page,
 * as a user picking it from the Runs table: lag while its task runs are read and shown.
 */
void measureStored(TracingApplication& app, const QString& path, const Options& options)
{
    AppContext context;
    openStore(context, path);
    MainWindow window(&context, MainWindow::Options{false});
    window.resize(1280, 800);
    window.show();
    window.showPage(MainWindow::Page::Runs);
    {
        QEventLoop loop;
        QTimer poll;
        QObject::connect(&poll, &QTimer::timeout, &loop, [&] {
            if (!context.history().runs().empty())
                loop.quit();
        });
        poll.start(10);
        loop.exec();
    }
    wait(300);
    FlowRun* run = context.history().runs().front();
    LagProbe probe;
    probe.start();
    app.reset();
    app.recording = true;
    const double cpu0 = threadCpuMs();
    QElapsedTimer wall;
    wall.start();
    window.showRun(run);
    const int rows = int(run->totalTaskRuns);
    double shownS = 0;
    {
        QEventLoop loop;
        QTimer poll;
        QObject::connect(&poll, &QTimer::timeout, &loop, [&] {
            // Read whole, every row shows; paged (a run of more than RunHistory::PagedTaskRuns), the
            // first page does.
            const StoredTaskRunModel* paged = window.runPage()->pagedModel();
            if ((window.runPage()->taskModel()->flowRun() == run
                 && window.runPage()->taskModel()->rowCount() == rows)
                || (paged->flowRunId() == run->id.toString() && paged->rowCount() > 0 && !paged->isReading()))
                loop.quit();
        });
        poll.start(1);
        loop.exec();
        shownS = double(wall.nsecsElapsed()) / 1e9;
    }
    const double loopCpu = threadCpuMs() - cpu0;
    probe.markEnd();
    wait(300);
    probe.stop();
    app.recording = false;
    const Percentiles lag = percentiles(probe.lags());
    const Percentiles after = percentiles(probe.after());
    const Percentiles busy = percentiles(probe.busy());
    const Percentiles waited = percentiles(probe.waited());
    std::printf(
        "%-7s %-8s %6.2f s  %5.2f %5.2f %6.2f  %6.2f  %5.2f %6.2f  %5.2f %6.2f   %5s %6s   %4s %5s %5s   "
        "%6.2f %6.2f %5.1f%%  %5s   %s   (%d rows)\n",
        "stored", "run", shownS, lag.p50, lag.p99, lag.max, after.max, busy.p99, busy.max, waited.p99,
        waited.max, "", "", "", "", "", app.maxCpu[int(Owner::Dashboard)], app.maxCpu[int(Owner::Engine)],
        loopCpu > 0 ? 100.0 * app.totalCpu[int(Owner::Dashboard)] / loopCpu : 0.0, "",
        loadAverage().constData(),
        window.runPage()->pagedModel()->rowCount() > 0 ? window.runPage()->pagedModel()->rowCount() : rows);
    if (options.trace)
        printTrace(app);
    std::fflush(stdout);
    context.database().closeAndWait(30000);
}

//! The \a most costly entries of \a costs, most total time first: "label what count total max".
void printCosts(const char* label, int width,
                const std::map<QByteArray, TracingApplication::PaintCost>& costs, size_t most)
{
    std::vector<std::pair<QByteArray, TracingApplication::PaintCost>> sorted(costs.begin(), costs.end());
    std::sort(sorted.begin(), sorted.end(),
              [](const auto& a, const auto& b) { return a.second.totalMs > b.second.totalMs; });
    for (size_t i = 0; i < std::min(most, sorted.size()); ++i)
        std::printf("      %s %-*s %5d x  total %7.1f ms  max %5.2f ms\n", label, width,
                    sorted[i].first.constData(), sorted[i].second.count, sorted[i].second.totalMs,
                    sorted[i].second.maxMs);
}

void printTrace(TracingApplication& app)
{
    std::sort(app.slow.begin(), app.slow.end(),
              [](const auto& a, const auto& b) { return a.cpuMs > b.cpuMs; });
    for (size_t i = 0; i < std::min<size_t>(slowestShown, app.slow.size()); ++i) {
        std::printf("      cpu %6.2f ms  wall %6.2f ms  at %7.1f ms  %s\n", app.slow[i].cpuMs,
                    app.slow[i].wallMs, app.slow[i].atMs, app.slow[i].what.constData());
        if (!app.slow[i].paints.isEmpty())
            std::printf("        painted: %s\n", app.slow[i].paints.constData());
    }
    printCosts("event", 52, app.events, 6);
    printCosts("paint", 40, app.paints, 6);
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
    bool busyCore = false;
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
        else if (args[i] == u"--no-store")
            options.store = false;
        else if (args[i] == u"--modes" && i + 1 < args.size())
            options.modes = args[++i].split(u',');
        else if (args[i] == u"--slowest" && i + 1 < args.size())
            slowestShown = size_t(std::max(0, args[++i].toInt()));
        else if (args[i] == u"--busy-core")
            busyCore = true;
        else if (args[i] == u"--stored-db" && i + 1 < args.size())
            options.storedDb = args[++i];

        else {
            std::fprintf(
                stderr,
                "usage: bench_dashboard [--tasks N] [--only noop|sleep|sleep5|gated|stored] [--switch-ms "
                "M] [--trace] [--slowest N]\n"
                "                       [--no-store] [--modes headless,runs,run,graph,both] [--busy-core] "
                "[--stored-db PATH]\n");
            return 2;
        }
    }

    QTemporaryDir folder;
    options.folder = &folder;
    std::printf(
        "bench_dashboard: %d task runs per flow, %s, window 1280x800 offscreen, 'both' switches pages "
        "every %d ms\n"
        "lag = 1 ms precise timer during the run (ms), after = max in the 300 ms after it ended,\n"
        "cpu = the loop thread's CPU time between two lag samples (p99/max: the lag without waiting for a "
        "core),\n"
        "wait = the loop thread's time runnable but waiting for a core between two lag samples (p99/max),\n"
        "mon = LoopMonitor p99/max, tick = ms per coalesced update, event cpu = longest single event (ms)\n"
        "of the dashboard (ui) and of the engine (eng), ui%% = dashboard share of the loop thread's CPU\n\n",
        options.tasks, options.store ? "run store on a temporary SQLite file" : "no run store",
        options.switchMs);
    auto table = [&] {
        std::printf("%-7s %-8s %8s  %5s %5s %6s  %6s  %5s %6s  %5s %6s   %5s %6s   %4s %5s %5s   %6s %6s %6s "
                    " %5s   %s\n",
                    "phase", "mode", "wall", "p50", "p99", "max", "after", "cpu99", "cpumax", "wait99",
                    "waitmx", "mon99", "monmax", "tick", "p50", "max", "ui", "eng", "ui%", "store", "load");
        auto wanted = [&](Mode mode) {
            return options.modes.isEmpty() || options.modes.contains(QLatin1String(ModeNames[int(mode)]));
        };
        if (!options.storedDb.isEmpty()) {
            measureStored(app, options.storedDb, options);
            return;
        }
        // The stored phase opens the noop phase's flow run (written by the last noop measurement).
        const bool storedPhase = options.store && (options.only.isEmpty() || options.only == u"stored");
        for (const char* phase : {"noop", "sleep", "sleep5", "gated"}) {
            const bool noop = std::strcmp(phase, "noop") == 0;
            if (!options.only.isEmpty() && options.only != QLatin1String(phase) && !(noop && storedPhase))
                continue;
            if (options.only.isEmpty() && std::strcmp(phase, "gated") == 0)
                continue; // ten seconds of waiting for the gate: only when asked for
            const QJsonObject document = flowDocument(QLatin1String(phase), options.tasks);
            QString written;
            for (Mode mode : {Mode::Headless, Mode::Runs, Mode::Run, Mode::Graph, Mode::Both}) {
                // --only stored: one headless noop run, to have something to open.
                if (options.only == u"stored" ? mode != Mode::Headless : !wanted(mode))
                    continue;
                measure(app, phase, mode, document, options);
                written = options.store ? storePath(options, phase, mode) : QString();
            }
            if (noop && storedPhase && !written.isEmpty())
                measureStored(app, written, options);
        }
    };
    table();
    if (busyCore) {
        // The same again while another process keeps one of the cores busy, as `yes > /dev/null` does.
        QProcess busy;
        busy.setStandardOutputFile(QProcess::nullDevice());
        busy.start(QStringLiteral("yes"), {});
        if (!busy.waitForStarted()) {
            std::fprintf(stderr, "bench_dashboard: could not start `yes` for --busy-core\n");
            return 1;
        }
        std::printf("\nwith a busy core (`yes > /dev/null` running beside it):\n");
        QTemporaryDir busyFolder; // fresh store files
        options.folder = &busyFolder;
        table();
        busy.kill();
        busy.waitForFinished();
    }
    return 0;
}
