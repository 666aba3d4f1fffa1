// The run graph: layout time of a flow of 50 and of 500 tasks (targets: 500 tasks with 2,000 edges
// in under 1 s), and frame times while panning the 500-task graph in a 900x600 widget (target: p99
// within a 60 fps frame, 16.7 ms), at the zoom that fits it all (every edge drawn) and zoomed in to 1x-1.25x.
//
//   cmake --build build/release --target bench_graph
//   QT_QPA_PLATFORM=offscreen build/release/tests/bench/bench_graph [--frames N]
//
// 'zoom change' lines: each frame follows a zoom step (in and out by 1.25 in turn, as a wheel does) about
// the fitted zoom and about 1x; the event loop turns once between two frames (about what it gets between
// two wheel events), while the new zoom's tiles are drawn on a pool thread and the previous zoom's stand in.
// 'cpu' is the GUI thread's CPU time per frame (the wall time less the time it waited for a core).
//
// 'first ms' is the first frame at that zoom (the previous zoom's tiles scaled where its own are missing).
// 'turn ms' is the longest event-loop turn between two frames (where the tiles around the view are drawn
// ahead, one per event). Beside each figure: a bare probe measured in the same run, and the ratio, which is
// the figure to compare between machines. Layout: sorting 1,000,000 random ints with std::sort. Frames:
// 10,000 antialiased lines drawn with QPainter into a 900x600 image.
#include "context/appcontext.h"
#include "widgets/graphlayout.h"
#include "widgets/rungraphwidget.h"

#include <QApplication>
#include <QElapsedTimer>
#include <QImage>
#include <QPainter>
#include <QRandomGenerator>
#include <QSet>
#include <QTemporaryDir>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <vector>

using namespace flowdeck;

namespace {

using Edges = std::vector<std::pair<int, int>>;

//! A DAG of \a nodes tasks and \a edges dependencies, each from a task to one up to 40 places later
//! (the same shape as tst_graphlayout's).
Edges generatedFlow(int nodes, int edges, quint32 seed)
{
    QRandomGenerator random(seed);
    QSet<qint64> seen;
    Edges out;
    while (int(out.size()) < edges) {
        const int from = random.bounded(nodes - 1);
        const int to = from + 1 + random.bounded(std::min(40, nodes - 1 - from));
        if (to >= nodes || seen.contains(qint64(from) * nodes + to))
            continue;
        seen.insert(qint64(from) * nodes + to);
        out.emplace_back(from, to);
    }
    return out;
}

//! CPU time of the calling thread, in ms: a frame's cost without the time it waited for a core.
double threadCpuMs()
{
    timespec ts{};
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return double(ts.tv_sec) * 1e3 + double(ts.tv_nsec) / 1e6;
}

double msSince(const QElapsedTimer& timer)
{
    return double(timer.nsecsElapsed()) / 1e6;
}

double percentile(std::vector<double> values, double q)
{
    std::sort(values.begin(), values.end());
    return values.empty() ? 0 : values[std::min(values.size() - 1, size_t(q * double(values.size())))];
}

//! The layout probe: std::sort of 1,000,000 random ints, median of 5, in ms.
double sortProbeMs()
{
    std::vector<double> times;
    for (int r = 0; r < 5; ++r) {
        QRandomGenerator random(r);
        std::vector<int> values(1'000'000);
        for (int& v : values)
            v = int(random.generate());
        QElapsedTimer timer;
        timer.start();
        std::sort(values.begin(), values.end());
        times.push_back(msSince(timer));
    }
    return percentile(times, 0.5);
}

//! The paint probe: 10,000 antialiased lines into a 900x600 image, median of 5, in ms.
double linesProbeMs()
{
    QImage image(900, 600, QImage::Format_ARGB32_Premultiplied);
    QRandomGenerator random(7);
    std::vector<QLineF> lines;
    for (int i = 0; i < 10'000; ++i)
        lines.emplace_back(random.bounded(900.0), random.bounded(600.0), random.bounded(900.0),
                           random.bounded(600.0));
    std::vector<double> times;
    for (int r = 0; r < 5; ++r) {
        image.fill(Qt::white);
        QElapsedTimer timer;
        timer.start();
        QPainter p(&image);
        p.setRenderHint(QPainter::Antialiasing);
        p.setPen(QPen(Qt::black, 1.2));
        for (const QLineF& line : lines)
            p.drawLine(line);
        p.end();
        times.push_back(msSince(timer));
    }
    return percentile(times, 0.5);
}

FlowDefinition flowOf(int tasks, const Edges& edges)
{
    FlowDefinition flow;
    flow.name = QStringLiteral("bench-graph");
    for (int i = 0; i < tasks; ++i) {
        TaskDef task;
        task.id = QStringLiteral("task_%1").arg(i);
        task.kind = QStringLiteral("noop");
        task.index = i;
        if (i % 7 == 0)
            task.map = 100;
        if (i % 5 == 0)
            task.tags << QStringLiteral("io");
        flow.tasks.append(task);
    }
    for (const auto& [from, to] : edges)
        flow.tasks[to].dependsOn << flow.tasks[from].id;
    return flow;
}

} // namespace

int main(int argc, char** argv)
{
    if (qEnvironmentVariableIsEmpty("QT_QPA_PLATFORM"))
        qputenv("QT_QPA_PLATFORM", "offscreen");
    QTemporaryDir home;
    qputenv("XDG_CONFIG_HOME", QFile::encodeName(home.filePath(QStringLiteral("config"))));
    qputenv("XDG_DATA_HOME", QFile::encodeName(home.filePath(QStringLiteral("data"))));
    QApplication app(argc, argv);
    int frames = 300;
    const QStringList args = QApplication::arguments();
    for (int i = 1; i < args.size(); ++i) {
        if (args[i] == u"--frames" && i + 1 < args.size()) {
            frames = std::max(10, args[++i].toInt());
        } else {
            std::fprintf(stderr, "usage: bench_graph [--frames N]\n");
            return 2;
        }
    }

    const double sortMs = sortProbeMs();
    std::printf("probe: std::sort of 1,000,000 ints %.2f ms\n", sortMs);
    std::printf("%-28s %10s %10s %8s %8s %11s %12s\n", "layout", "median ms", "max ms", "layers", "dummies",
                "crossings", "ratio");
    for (const auto& [tasks, edgeCount] : {std::pair{50, 200}, std::pair{500, 2000}}) {
        const Edges edges = generatedFlow(tasks, edgeCount, 19);
        std::vector<double> times;
        GraphLayout layout;
        for (int r = 0; r < 5; ++r) {
            QElapsedTimer timer;
            timer.start();
            layout = layoutGraph(tasks, edges, {});
            times.push_back(msSince(timer));
        }
        size_t points = 0;
        for (const GraphLayout::Edge& edge : layout.edges)
            points += edge.points.size();
        const size_t dummies = (points - 2 * layout.edges.size()) / 2;
        const double median = percentile(times, 0.5);
        std::printf("%4d tasks, %4d edges         %10.2f %10.2f %8d %8zu %5d/%-5d %7.2f probe\n", tasks,
                    edgeCount, median, *std::max_element(times.begin(), times.end()), layout.layerCount,
                    dummies, layout.crossings, layout.crossingsBefore, median / sortMs);
    }

    const double linesMs = linesProbeMs();
    std::printf("\nprobe: 10,000 antialiased lines in a 900x600 image %.2f ms\n", linesMs);
    std::printf("%-28s %8s %8s %8s %8s %12s %10s %9s\n", "panning 500 tasks", "p50 ms", "p99 ms", "max ms",
                "fps p99", "p99 ratio", "turn ms", "first ms");
    AppContext context;
    RunGraphWidget graph(&context);
    graph.resize(900, 600);
    graph.show();
    const Edges edges = generatedFlow(500, 2000, 19);
    graph.setFlow(flowOf(500, edges));
    QElapsedTimer wait;
    wait.start();
    while (!graph.isLayoutReady() && wait.elapsed() < 30'000)
        QApplication::processEvents(QEventLoop::WaitForMoreEvents, 50);
    if (!graph.isLayoutReady()) {
        std::fprintf(stderr, "bench_graph: the layout did not arrive\n");
        return 1;
    }
    for (const char* zoomName : {"fit (all edges drawn)", "zoomed in"}) {
        graph.fitAll();
        if (std::strcmp(zoomName, "zoomed in") == 0) {
            // Zoomed in to 1x-1.25x (text drawn), at the drawing's top left.
            while (graph.zoom() < 0.999)
                graph.zoomIn();
            graph.panBy(QPointF(20, 20) - graph.offset());
        }
        // The first frame at a zoom draws the tiles it shows: timed on its own. Then the tiles around
        // are drawn ahead while the loop runs, as they are while a user looks before dragging.
        QElapsedTimer first;
        first.start();
        graph.repaint();
        const double firstMs = msSince(first);
        for (int i = 0; i < 40; ++i)
            QApplication::processEvents();
        std::vector<double> times;
        double longestTurn = 0; // the event loop between frames: tiles drawn ahead
        for (int f = 0; f < frames; ++f) {
            // Back and forth, as a drag does, so the frames cover the same part of the graph.
            const double dx = (f / 50) % 2 == 0 ? -6 : 6;
            graph.panBy(QPointF(dx, dx / 2));
            QElapsedTimer timer;
            timer.start();
            graph.repaint();
            times.push_back(msSince(timer));
            timer.restart();
            QApplication::processEvents();
            longestTurn = std::max(longestTurn, msSince(timer));
        }
        const double p99 = percentile(times, 0.99);
        std::printf("%-28s %8.2f %8.2f %8.2f %8.0f %8.2f probe %10.2f %9.2f\n", zoomName,
                    percentile(times, 0.5), p99, *std::max_element(times.begin(), times.end()),
                    1000.0 / std::max(p99, 0.001), p99 / linesMs, longestTurn, firstMs);
    }

    std::printf("\n%-28s %8s %8s %8s %8s %12s %10s %9s %9s\n", "zoom change, 500 tasks", "p50 ms", "p99 ms",
                "max ms", "fps p99", "p99 ratio", "turn ms", "cpu p50", "cpu p99");
    for (const char* zoomName : {"about fit", "about 1x (text)"}) {
        graph.fitAll();
        if (std::strcmp(zoomName, "about 1x (text)") == 0) {
            while (graph.zoom() < 0.999)
                graph.zoomIn();
            graph.panBy(QPointF(20, 20) - graph.offset());
        }
        graph.repaint();
        for (int i = 0; i < 40; ++i)
            QApplication::processEvents();
        std::vector<double> times;
        std::vector<double> cpu;
        double longestTurn = 0;
        for (int f = 0; f < frames; ++f) {
            // In, out, out, in: the zoom moves about the starting one, every frame a new zoom.
            if (f % 4 == 0 || f % 4 == 3)
                graph.zoomIn();
            else
                graph.zoomOut();
            QElapsedTimer timer;
            timer.start();
            const double cpu0 = threadCpuMs();
            graph.repaint();
            cpu.push_back(threadCpuMs() - cpu0);
            times.push_back(msSince(timer));
            timer.restart();
            QApplication::processEvents();
            longestTurn = std::max(longestTurn, msSince(timer));
        }
        const double p99 = percentile(times, 0.99);
        std::printf("%-28s %8.2f %8.2f %8.2f %8.0f %8.2f probe %10.2f %9.2f %9.2f\n", zoomName,
                    percentile(times, 0.5), p99, *std::max_element(times.begin(), times.end()),
                    1000.0 / std::max(p99, 0.001), p99 / linesMs, longestTurn, percentile(cpu, 0.5),
                    percentile(cpu, 0.99));
    }
    return 0;
}
