// The run graph's layout: layers left to right, no overlapping nodes, edges that never pass through a
// node, and fewer crossings than the flow's own order; for the example flows and a 500-task flow.
#include "flow/flowparser.h"
#include "flow/taskkind.h"
#include "testutil.h"
#include "widgets/graphlayout.h"

#include <QDir>
#include <QHash>
#include <QRandomGenerator>
#include <QSet>
#include <QTest>

using namespace flowdeck;
using flowdeck::test::sourcePath;

namespace {

using Edges = std::vector<std::pair<int, int>>;

//! A DAG of \a nodes tasks and \a edges dependencies, each from a task to one up to 40 places later.
Edges generatedFlow(int nodes, int edges, quint32 seed)
{
    QRandomGenerator random(seed);
    QSet<qint64> seen;
    Edges out;
    while (int(out.size()) < edges) {
        const int from = random.bounded(nodes - 1);
        const int to = from + 1 + random.bounded(40);
        if (to >= nodes || seen.contains(qint64(from) * nodes + to))
            continue;
        seen.insert(qint64(from) * nodes + to);
        out.emplace_back(from, to);
    }
    return out;
}

Edges edgesOf(const FlowDefinition& flow)
{
    QHash<QString, int> index;
    for (int i = 0; i < flow.tasks.size(); ++i)
        index.insert(flow.tasks[i].id, i);
    Edges edges;
    for (int i = 0; i < flow.tasks.size(); ++i) {
        for (const QString& dep : flow.tasks[i].dependsOn)
            edges.emplace_back(index.value(dep), i);
        if (!flow.tasks[i].mapOver.isEmpty() && !flow.tasks[i].dependsOn.contains(flow.tasks[i].mapOver))
            edges.emplace_back(index.value(flow.tasks[i].mapOver), i);
    }
    return edges;
}

//! Every property the drawing promises; the first broken one as a message, else empty.
QString checkLayout(int nodes, const Edges& edges, const GraphLayout& layout,
                    const GraphLayout::Options& options)
{
    if (int(layout.rects.size()) != nodes || int(layout.layer.size()) != nodes)
        return QStringLiteral("%1 rects for %2 nodes").arg(layout.rects.size()).arg(nodes);
    if (layout.edges.size() != edges.size())
        return QStringLiteral("%1 edges laid out of %2").arg(layout.edges.size()).arg(edges.size());
    for (int a = 0; a < nodes; ++a) {
        const QRectF& r = layout.rects[size_t(a)];
        if (r.width() <= 0 || r.height() <= 0 || r.left() < -0.01 || r.top() < -0.01
            || r.right() > layout.size.width() + 0.01 || r.bottom() > layout.size.height() + 0.01)
            return QStringLiteral("node %1 at (%2, %3) outside the drawing")
                .arg(a)
                .arg(r.left())
                .arg(r.top());
        for (int b = a + 1; b < nodes; ++b) {
            if (r.intersects(layout.rects[size_t(b)]))
                return QStringLiteral("nodes %1 and %2 overlap").arg(a).arg(b);
        }
    }
    const double column = options.nodeWidth + options.layerGap;
    for (size_t e = 0; e < layout.edges.size(); ++e) {
        const GraphLayout::Edge& edge = layout.edges[e];
        if (edge.from != edges[e].first || edge.to != edges[e].second)
            return QStringLiteral("edge %1 is %2->%3, not %4->%5")
                .arg(e)
                .arg(edge.from)
                .arg(edge.to)
                .arg(edges[e].first)
                .arg(edges[e].second);
        if (layout.layer[size_t(edge.from)] >= layout.layer[size_t(edge.to)])
            return QStringLiteral("edge %1->%2 goes from layer %3 to layer %4")
                .arg(edge.from)
                .arg(edge.to)
                .arg(layout.layer[size_t(edge.from)])
                .arg(layout.layer[size_t(edge.to)]);
        // Each piece either crosses the gap between two columns (where no node is) or runs level
        // through a column, where it must miss every node.
        for (size_t i = 0; i + 1 < edge.points.size(); ++i) {
            const QPointF a = edge.points[i];
            const QPointF b = edge.points[i + 1];
            if (b.x() < a.x())
                return QStringLiteral("edge %1->%2 goes back left").arg(edge.from).arg(edge.to);
            const double inColumn = std::fmod(a.x() + 0.01, column);
            const bool crossesGap
                = inColumn >= options.nodeWidth - 0.02 && b.x() - a.x() <= options.layerGap + 0.02;
            if (crossesGap)
                continue;
            if (std::abs(a.y() - b.y()) > 0.01)
                return QStringLiteral("edge %1->%2 slants inside a column").arg(edge.from).arg(edge.to);
            const QRectF lane(a.x() + 0.5, a.y() - 0.5, b.x() - a.x() - 1, 1);
            for (int v = 0; v < nodes; ++v) {
                if (layout.rects[size_t(v)].intersects(lane))
                    return QStringLiteral("edge %1->%2 passes through node %3")
                        .arg(edge.from)
                        .arg(edge.to)
                        .arg(v);
            }
        }
        const QRectF& source = layout.rects[size_t(edge.from)];
        const QRectF& target = layout.rects[size_t(edge.to)];
        if (edge.points.front() != QPointF(source.right(), source.center().y())
            || edge.points.back() != QPointF(target.left(), target.center().y()))
            return QStringLiteral("edge %1->%2 does not join its nodes").arg(edge.from).arg(edge.to);
    }
    return {};
}

} // namespace

class TestGraphLayout : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void exampleFlows();
    void generatedFlowOf500Tasks();
    void barycentreRemovesAvoidableCrossings();
    void longEdgesPassBesideNodes();
    void cyclesAndBadEdgesStillLayOut();
    void tallNodesKeepTheirHeight();
};

void TestGraphLayout::exampleFlows()
{
    const QDir folder(sourcePath(QStringLiteral("resources/flows")));
    const QStringList files = folder.entryList({QStringLiteral("*.json")}, QDir::Files, QDir::Name);
    QVERIFY(files.size() >= 5);
    const FlowParser parser(TaskKindRegistry::instance());
    const GraphLayout::Options options;
    int withEdges = 0;
    for (const QString& name : files) {
        ValidationErrors errors;
        const std::optional<FlowDefinition> flow = parser.parseFile(folder.filePath(name), errors);
        QVERIFY2(flow, qPrintable(name));
        const Edges edges = edgesOf(*flow);
        withEdges += !edges.empty();
        const GraphLayout layout = layoutGraph(int(flow->tasks.size()), edges, options);
        const QString broken = checkLayout(int(flow->tasks.size()), edges, layout, options);
        QVERIFY2(broken.isEmpty(), qPrintable(name + QStringLiteral(": ") + broken));
        QCOMPARE(layout.crossings, 0); // small flows draw without a crossing
    }
    QVERIFY(withEdges >= 3);
}

void TestGraphLayout::generatedFlowOf500Tasks()
{
    const Edges edges = generatedFlow(500, 2000, 19);
    const GraphLayout::Options options;
    const GraphLayout layout = layoutGraph(500, edges, options);
    const QString broken = checkLayout(500, edges, layout, options);
    QVERIFY2(broken.isEmpty(), qPrintable(broken));
    QVERIFY(layout.layerCount > 10);
    QVERIFY2(
        layout.crossings < layout.crossingsBefore,
        qPrintable(
            QStringLiteral("%1 crossings, %2 before").arg(layout.crossings).arg(layout.crossingsBefore)));
    qInfo("500 tasks, 2000 edges: %d layers, %d crossings (%d in the first order)", layout.layerCount,
          layout.crossings, layout.crossingsBefore);
}

void TestGraphLayout::barycentreRemovesAvoidableCrossings()
{
    // Sources 0..3; 4 waits for 0, 1 and 3, and 5 for 2. In topological order 5 comes first (it is
    // ready before 4), and its edge crosses two of 4's. The sweeps put 4 above 5 (barycentres 1.33
    // and 2), then 3 above 2 (barycentres 0 and 1): no crossing is left.
    const Edges edges{{0, 4}, {1, 4}, {2, 5}, {3, 4}};
    const GraphLayout layout = layoutGraph(6, edges, {});
    QCOMPARE(layout.crossingsBefore, 2);
    QCOMPARE(layout.crossings, 0);
    QVERIFY(layout.rects[4].top() < layout.rects[5].top());
    QVERIFY(layout.rects[3].top() < layout.rects[2].top());
    QVERIFY(checkLayout(6, edges, layout, {}).isEmpty());
}

void TestGraphLayout::longEdgesPassBesideNodes()
{
    // A chain a -> b -> c -> d and an edge a -> d over it: the long edge passes b and c in lanes of
    // its own and never through them.
    const Edges edges{{0, 1}, {1, 2}, {2, 3}, {0, 3}};
    const GraphLayout layout = layoutGraph(4, edges, {});
    QCOMPARE(layout.layerCount, 4);
    QCOMPARE(layout.edges[3].points.size(), size_t(2 + 2 * 2));
    const QString broken = checkLayout(4, edges, layout, {});
    QVERIFY2(broken.isEmpty(), qPrintable(broken));
}

void TestGraphLayout::cyclesAndBadEdgesStillLayOut()
{
    // Not a flow (the parser refuses cycles), but the layout must not hang or draw an edge backwards.
    const Edges edges{{0, 1}, {1, 2}, {2, 0}, {1, 1}, {0, 9}};
    const GraphLayout layout = layoutGraph(3, edges, {});
    QCOMPARE(layout.rects.size(), size_t(3));
    QCOMPARE(layout.edges.size(), size_t(2)); // the edge closing the cycle, the loop and 0->9 are left out
    for (const GraphLayout::Edge& edge : layout.edges)
        QVERIFY(layout.layer[size_t(edge.from)] < layout.layer[size_t(edge.to)]);
    QVERIFY(layoutGraph(0, {}, {}).rects.empty());
}

void TestGraphLayout::tallNodesKeepTheirHeight()
{
    // An expanded mapped task is taller: its neighbours in the layer move aside, and edges still
    // join the middle of its sides and pass beside it.
    const Edges edges = generatedFlow(60, 150, 3);
    GraphLayout::Options options;
    options.nodeHeights.assign(60, options.nodeHeight);
    for (int v = 0; v < 60; v += 7)
        options.nodeHeights[size_t(v)] = 140;
    const GraphLayout layout = layoutGraph(60, edges, options);
    for (int v = 0; v < 60; ++v)
        QCOMPARE(layout.rects[size_t(v)].height(), v % 7 == 0 ? 140.0 : options.nodeHeight);
    const QString broken = checkLayout(60, edges, layout, options);
    QVERIFY2(broken.isEmpty(), qPrintable(broken));
}

QTEST_GUILESS_MAIN(TestGraphLayout)
#include "tst_graphlayout.moc"
