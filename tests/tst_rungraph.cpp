// The Run page's graph: nodes and edges are the flow's tasks and dependencies, nodes count their task
// runs' states live, a click filters the task table to a task, a double click opens a run's detail.
#include "help/helpdialog.h"
#include "models/flowlistmodel.h"
#include "models/taskrunfiltermodel.h"
#include "models/taskrunmodel.h"
#include "pages/flowspage.h"
#include "pages/runpage.h"
#include "run/engine.h"
#include "style/statestyle.h"
#include "testutil.h"
#include "uitestutil.h"
#include "widgets/rungraphwidget.h"
#include "widgets/taskrundetail.h"

#include <QAbstractItemModelTester>
#include <QFile>
#include <QImage>
#include <QJsonArray>
#include <QJsonDocument>
#include <QPaintEvent>
#include <QProcess>
#include <QTabWidget>
#include <QTableView>
#include <QTemporaryDir>
#include <QTest>
#include <QTextBrowser>
#include <QToolButton>

using namespace flowdeck;
using namespace flowdeck::uitest;

namespace {

QJsonObject json(const char* text)
{
    return QJsonDocument::fromJson(QByteArray(text)).object();
}

//! a fans out to b (mapped, 5 runs) and c (fails); d waits for both.
const char* ShapeFlow = R"({"name": "shape", "tasks": [
    {"id": "a", "kind": "noop"},
    {"id": "b", "kind": "noop", "map": 5, "depends_on": ["a"], "tags": ["io"]},
    {"id": "c", "kind": "fail", "message": "boom", "depends_on": ["a"]},
    {"id": "d", "kind": "noop", "depends_on": ["b", "c"]}]})";

//! How far apart two colours are, summed over the channels.
int distance(QColor a, QColor b)
{
    return std::abs(a.red() - b.red()) + std::abs(a.green() - b.green()) + std::abs(a.blue() - b.blue());
}

} // namespace

class TestRunGraph : public QObject, public Dashboard {
    Q_OBJECT

private Q_SLOTS:
    void initTestCase() { writeFlows(); }
    void init() { makeWindow(); }
    void cleanup() { tearDown(); }

    void nodesAndEdgesMatchTheFlow();
    void nodesCountStatesLiveAndPaintThem();
    void clickFiltersTheTaskTable();
    void doubleClickOpensARunsDetail();
    void panAndZoom();
    void bigFlowsLayOutOffTheGuiThread();
    void screenshotOption();
    void flowsPageShowsThePlan();
    void smallMappedTaskExpandsToItsRuns();
    void bigMappedTaskDoesNotExpand();
    void forEachTaskIsMappedOnceItsItemsAreKnown();
    void resultEdgesAreMarked();
    void subflowTaskShowsItsFlow();
    void keyboardMovesBetweenNodes();
    void zoomDrawsThePreviousTilesScaled();
    void aTickRepaintsOnlyTheNodesThatChanged();
    void aTickReadsOnlyTheRowsThatChanged();

private:
    RunGraphWidget* showGraph(FlowRun* run);
};

RunGraphWidget* TestRunGraph::showGraph(FlowRun* run)
{
    m_window->showRun(run);
    RunPage* page = m_window->runPage();
    page->showView(RunPage::View::Graph);
    RunGraphWidget* graph = page->graph();
    m_window->resize(900, 700);
    m_window->show();
    if (!QTest::qWaitForWindowExposed(m_window.get()))
        return nullptr;
    return graph;
}

void TestRunGraph::nodesAndEdgesMatchTheFlow()
{
    FlowRun* run = m_context->startFlow(json(ShapeFlow), QStringLiteral("test"), {}, nullptr);
    QVERIFY(run);
    RunGraphWidget* graph = showGraph(run);
    QVERIFY(graph && graph->isVisible());
    QCOMPARE(m_window->runPage()->findChild<QTabWidget*>(QStringLiteral("runViews"))->currentIndex(), 1);
    QTRY_VERIFY(graph->isLayoutReady());
    QCOMPARE(graph->nodeCount(), 4);
    QStringList ids;
    for (int i = 0; i < graph->nodeCount(); ++i)
        ids << graph->nodeId(i);
    QCOMPARE(
        ids,
        (QStringList{QStringLiteral("a"), QStringLiteral("b"), QStringLiteral("c"), QStringLiteral("d")}));
    const QList<std::pair<QString, QString>> edges = graph->edgeIds();
    QCOMPARE(edges.size(), 4);
    for (const auto& edge : {std::pair{QStringLiteral("a"), QStringLiteral("b")},
                             std::pair{QStringLiteral("a"), QStringLiteral("c")},
                             std::pair{QStringLiteral("b"), QStringLiteral("d")},
                             std::pair{QStringLiteral("c"), QStringLiteral("d")}})
        QVERIFY2(edges.contains(edge), qPrintable(edge.first + QStringLiteral("->") + edge.second));
    // Left to right by dependency; b and c share a layer.
    const QRectF a = graph->nodeRect(QStringLiteral("a"));
    const QRectF b = graph->nodeRect(QStringLiteral("b"));
    const QRectF c = graph->nodeRect(QStringLiteral("c"));
    const QRectF d = graph->nodeRect(QStringLiteral("d"));
    QVERIFY(a.right() < b.left() && b.right() < d.left());
    QCOMPARE(b.left(), c.left());
    QVERIFY(!b.intersects(c));
    // The whole graph fits the widget at first.
    QVERIFY(QRectF(graph->rect()).contains(a.united(d).united(b).united(c)));
}

void TestRunGraph::nodesCountStatesLiveAndPaintThem()
{
    FlowRun* run = m_context->startFlow(json(R"({"name": "live", "tasks": [
        {"id": "first", "kind": "noop"},
        {"id": "wait", "kind": "sleep", "seconds": 0.6, "map": 4, "depends_on": ["first"]}]})"),
                                        QStringLiteral("test"), {}, nullptr);
    QVERIFY(run);
    RunGraphWidget* graph = showGraph(run);
    QVERIFY(graph);
    // Counted from the display tick while the run goes on, not only at its end.
    QTRY_COMPARE_WITH_TIMEOUT(graph->countsOf(QStringLiteral("wait")).count(StateType::Running), qint64(4),
                              10000);
    QVERIFY(!run->isTerminal());
    QCOMPARE(graph->countsOf(QStringLiteral("first")).count(StateType::Completed), qint64(1));
    QTRY_VERIFY_WITH_TIMEOUT(run->isTerminal(), 10000);
    QTRY_COMPARE(graph->countsOf(QStringLiteral("wait")).count(StateType::Completed), qint64(4));
    const TaskStateCounts::Counts counts = graph->countsOf(QStringLiteral("wait"));
    QCOMPARE(counts.total, qint64(4));
    QCOMPARE(counts.created, qint64(4));
    QCOMPARE(counts.count(StateType::Running), qint64(0));

    // The bar of a completed node is the completed colour; the tooltip gives the exact numbers.
    graph->fitAll();
    const QRectF node = graph->nodeRect(QStringLiteral("wait"));
    const double zoom = graph->zoom();
    const QPointF barCentre(node.center().x(), node.bottom() - 7.5 * zoom);
    const QImage image = graph->grab().toImage();
    const qreal ratio = image.devicePixelRatio();
    const QColor pixel = image.pixelColor((barCentre * ratio).toPoint());
    QVERIFY2(distance(pixel, stateColor(StateType::Completed)) < 30,
             qPrintable(pixel.name() + QStringLiteral(" is not ") + stateColor(StateType::Completed).name()));
    const QString tip = graph->toolTipFor(QStringLiteral("wait"));
    QVERIFY2(tip.contains(stateLabel(StateType::Completed) + QStringLiteral(": 4")), qPrintable(tip));
    QVERIFY(tip.contains(QStringLiteral("4 task runs")));
}

void TestRunGraph::clickFiltersTheTaskTable()
{
    FlowRun* run = m_context->startFlow(json(ShapeFlow), QStringLiteral("test"), {}, nullptr);
    QVERIFY(run);
    RunGraphWidget* graph = showGraph(run);
    QVERIFY(graph);
    QTRY_VERIFY_WITH_TIMEOUT(run->isTerminal(), 10000);
    m_context->flush();
    QTRY_VERIFY(graph->isLayoutReady());
    QCOMPARE(graph->countsOf(QStringLiteral("c")).count(StateType::Failed), qint64(1));
    RunPage* page = m_window->runPage();
    QTableView* table = page->view();
    QCOMPARE(table->model()->rowCount(), 8);

    QAbstractItemModelTester tester(page->filterModel(),
                                    QAbstractItemModelTester::FailureReportingMode::QtTest);
    QTest::mouseClick(graph, Qt::LeftButton, {}, graph->nodeRect(QStringLiteral("b")).center().toPoint());
    QCOMPARE(page->filterModel()->taskFilter(), QStringLiteral("b"));
    QCOMPARE(graph->selectedTask(), QStringLiteral("b"));
    QCOMPARE(table->model(), page->filterModel());
    QCOMPARE(table->model()->rowCount(), 5);
    for (int row = 0; row < 5; ++row)
        QCOMPARE(table->model()->index(row, TaskRunModel::TaskColumn).data().toString(), QStringLiteral("b"));
    auto* chip = page->findChild<QToolButton*>(QStringLiteral("taskFilterChip"));
    QVERIFY(chip && chip->isVisible());
    QVERIFY(chip->text().contains(QStringLiteral("b")));

    // Another node, then the background: all tasks again.
    QTest::mouseClick(graph, Qt::LeftButton, {}, graph->nodeRect(QStringLiteral("c")).center().toPoint());
    QCOMPARE(table->model()->rowCount(), 1);
    QTest::mouseClick(graph, Qt::LeftButton, {}, QPoint(2, 2));
    QVERIFY(page->filterModel()->taskFilter().isEmpty());
    QCOMPARE(table->model()->rowCount(), 8);
    QVERIFY(!chip->isVisible());

    // The chip clears it too.
    page->filterToTask(QStringLiteral("d"));
    QCOMPARE(table->model()->rowCount(), 1);
    QTest::mouseClick(chip, Qt::LeftButton);
    QCOMPARE(table->model()->rowCount(), 8);
}

void TestRunGraph::doubleClickOpensARunsDetail()
{
    FlowRun* run = m_context->startFlow(json(ShapeFlow), QStringLiteral("test"), {}, nullptr);
    QVERIFY(run);
    RunGraphWidget* graph = showGraph(run);
    QVERIFY(graph);
    QTRY_VERIFY_WITH_TIMEOUT(run->isTerminal(), 10000);
    m_context->flush();
    RunPage* page = m_window->runPage();
    QVERIFY(!page->detailPanel()->isVisible());
    QTest::mouseDClick(graph, Qt::LeftButton, {}, graph->nodeRect(QStringLiteral("c")).center().toPoint());
    QTRY_VERIFY(page->detailPanel()->isVisible());
    QVERIFY(page->detailTaskRun());
    QCOMPARE(page->detailTaskRun()->taskId(), QStringLiteral("c"));
    QVERIFY(page->detailTaskRun()->type == StateType::Failed);
    // The background opens nothing else.
    QTest::mouseDClick(graph, Qt::LeftButton, {}, QPoint(2, 2));
    QCOMPARE(page->detailTaskRun()->taskId(), QStringLiteral("c"));
}

void TestRunGraph::panAndZoom()
{
    FlowRun* run = m_context->startFlow(json(ShapeFlow), QStringLiteral("test"), {}, nullptr);
    QVERIFY(run);
    RunGraphWidget* graph = showGraph(run);
    QVERIFY(graph);
    QTRY_VERIFY(graph->isLayoutReady());
    const double fitted = graph->zoom();
    const QRectF before = graph->nodeRect(QStringLiteral("a"));

    // Drag: the drawing follows the pointer, and a drag is not a click.
    QTest::mousePress(graph, Qt::LeftButton, {}, QPoint(5, 5));
    QMouseEvent move(QEvent::MouseMove, QPointF(45, 25), graph->mapToGlobal(QPointF(45, 25)), Qt::NoButton,
                     Qt::LeftButton, Qt::NoModifier);
    QApplication::sendEvent(graph, &move);
    QTest::mouseRelease(graph, Qt::LeftButton, {}, QPoint(45, 25));
    const QRectF dragged = graph->nodeRect(QStringLiteral("a"));
    QCOMPARE(dragged.topLeft(), before.topLeft() + QPointF(40, 20));
    QVERIFY(m_window->runPage()->filterModel()->taskFilter().isEmpty());

    // The wheel zooms about the pointer: the point under it stays put.
    const QPointF anchor = dragged.center();
    QWheelEvent wheel(anchor, graph->mapToGlobal(anchor), {}, QPoint(0, 240), Qt::NoButton, Qt::NoModifier,
                      Qt::NoScrollPhase, false);
    QApplication::sendEvent(graph, &wheel);
    QVERIFY(graph->zoom() > fitted * 1.3);
    QVERIFY((graph->nodeRect(QStringLiteral("a")).center() - anchor).manhattanLength() < 0.5);

    // Keys: - zooms out, + in, 0 fits again.
    graph->setFocus();
    const double zoomed = graph->zoom();
    QTest::keyClick(graph, Qt::Key_Minus);
    QVERIFY(graph->zoom() < zoomed);
    QTest::keyClick(graph, Qt::Key_Plus);
    QVERIFY(qAbs(graph->zoom() - zoomed) < 1e-9);
    QTest::keyClick(graph, Qt::Key_0);
    QVERIFY(qAbs(graph->zoom() - fitted) < 1e-9);
    QCOMPARE(graph->nodeRect(QStringLiteral("a")), before);
}

void TestRunGraph::bigFlowsLayOutOffTheGuiThread()
{
    // 200 tasks in ten chains of twenty, each task also joining the chain beside it.
    QJsonArray tasks;
    for (int i = 0; i < 200; ++i) {
        QJsonArray deps;
        if (i % 20 != 0)
            deps.append(QStringLiteral("t%1").arg(i - 1));
        if (i >= 20 && i % 20 != 0)
            deps.append(QStringLiteral("t%1").arg(i - 21));
        QJsonObject task{{QStringLiteral("id"), QStringLiteral("t%1").arg(i)},
                         {QStringLiteral("kind"), QStringLiteral("noop")},
                         {QStringLiteral("depends_on"), deps}};
        if (i == 0)
            task.insert(QStringLiteral("map"), 3);
        tasks.append(task);
    }
    FlowRun* run = m_context->startFlow(
        QJsonObject{{QStringLiteral("name"), QStringLiteral("big")}, {QStringLiteral("tasks"), tasks}},
        QStringLiteral("test"), {}, nullptr);
    QVERIFY(run);
    m_window->showRun(run);
    RunGraphWidget* graph = m_window->runPage()->graph();
    QVERIFY(graph->nodeCount() >= RunGraphWidget::SyncLayoutBelow);
    // Not laid out inside setFlowRun: the layout arrives later from a pool thread.
    QVERIFY(!graph->isLayoutReady());
    QTRY_VERIFY_WITH_TIMEOUT(graph->isLayoutReady(), 10000);
    QCOMPARE(graph->nodeCount(), 200);
    QCOMPARE(graph->edgeIds().size(), 10 * 19 + 9 * 19);
    QCOMPARE(graph->layout().layerCount, 20);

    // Expanding a node lays the graph out again on the pool; meanwhile the old picture stays (a
    // node's face, not the "Laying out" placeholder on the background).
    m_window->runPage()->showView(RunPage::View::Graph);
    m_window->resize(900, 700);
    m_window->show();
    QVERIFY(QTest::qWaitForWindowExposed(m_window.get()));
    graph->fitAll();
    const QRectF node = graph->nodeRect(QStringLiteral("t0"));
    graph->setExpanded(QStringLiteral("t0"), true);
    QVERIFY(!graph->isLayoutReady());
    const QImage image = graph->grab().toImage();
    const QColor face = image.pixelColor(
        (QPointF(node.left() + node.width() * 0.75, node.center().y()) * image.devicePixelRatio()).toPoint());
    const QPalette& palette = graph->palette();
    QVERIFY(distance(palette.color(QPalette::Button), palette.color(QPalette::Base)) > 20);
    QVERIFY2(distance(face, palette.color(QPalette::Button)) < distance(face, palette.color(QPalette::Base)),
             qPrintable(face.name()));
    QTRY_VERIFY_WITH_TIMEOUT(graph->isLayoutReady(), 10000);
    QVERIFY(!graph->runRect(QStringLiteral("t0"), 2).isEmpty());
}

void TestRunGraph::screenshotOption()
{
    const QString binary = flowdeck::test::flowdeckBinary();
    QVERIFY2(QFile::exists(binary), "FLOWDECK_BINARY must name the flowdeck executable (run through ctest)");
    QTemporaryDir dir;
    const QString flow = dir.filePath(QStringLiteral("shape.json"));
    writeFile(flow, ShapeFlow);
    const QString shot = dir.filePath(QStringLiteral("graph.png"));
    QProcess process;
    QProcessEnvironment env = QProcessEnvironment::systemEnvironment();
    env.insert(QStringLiteral("QT_QPA_PLATFORM"), QStringLiteral("offscreen"));
    env.insert(QStringLiteral("FLOWDECK_DB"), dir.filePath(QStringLiteral("db.sqlite")));
    env.insert(QStringLiteral("XDG_CONFIG_HOME"), dir.filePath(QStringLiteral("config")));
    process.setProcessEnvironment(env);
    process.start(binary,
                  {QStringLiteral("--screenshot"), shot, QStringLiteral("--page"), QStringLiteral("run"),
                   QStringLiteral("--view"), QStringLiteral("graph"), QStringLiteral("--run"), flow});
    QVERIFY(process.waitForFinished(60000));
    QCOMPARE(process.exitCode(), 0);
    QVERIFY(QImage(shot).width() > 100);
    process.start(binary, {QStringLiteral("--view"), QStringLiteral("sideways")});
    QVERIFY(process.waitForFinished(60000));
    QCOMPARE(process.exitCode(), 2);
    QVERIFY(process.readAllStandardError().contains("--view: unknown view \"sideways\""));
}

void TestRunGraph::flowsPageShowsThePlan()
{
    // Map counts come from the parameters (map and map_over), tags and limits from each task.
    writeFile(m_flows + QStringLiteral("/plan.json"), R"({"name": "plan", "parameters": {"shards": 6},
        "tasks": [{"id": "split", "kind": "noop", "map": "{{shards}}", "tags": ["cpu"]},
                  {"id": "each", "kind": "noop", "map_over": "split", "concurrency": [{"name": "db", "occupy": 2}]},
                  {"id": "join", "kind": "noop", "depends_on": ["each"], "rate_limit": "api"}]})");
    m_context->flush();
    FlowsPage* page = m_window->flowsPage();
    m_window->showPage(MainWindow::Page::Flows);
    m_window->resize(900, 700);
    m_window->show();
    QVERIFY(QTest::qWaitForWindowExposed(m_window.get()));
    page->reloadAction()->trigger();
    QTRY_VERIFY_WITH_TIMEOUT(rowOf(QStringLiteral("plan.json")) >= 0, 10000);
    page->view()->selectRow(rowOf(QStringLiteral("plan.json")));
    RunGraphWidget* graph = page->graph();
    QVERIFY(graph->isVisible());
    QTRY_COMPARE(graph->nodeCount(), 3);
    QVERIFY(!graph->flowRun());
    QCOMPARE(graph->countsOf(QStringLiteral("split")).total, qint64(6));
    QCOMPARE(graph->countsOf(QStringLiteral("each")).total, qint64(6));
    QCOMPARE(graph->countsOf(QStringLiteral("join")).total, qint64(1));
    QCOMPARE(graph->edgeIds(),
             (QList<std::pair<QString, QString>>{{QStringLiteral("split"), QStringLiteral("each")},
                                                 {QStringLiteral("each"), QStringLiteral("join")}}));
    QVERIFY(graph->toolTipFor(QStringLiteral("split")).contains(QStringLiteral("Maps to 6 task runs")));
    QVERIFY(graph->toolTipFor(QStringLiteral("split")).contains(QStringLiteral("Tags: cpu")));
    QVERIFY(graph->toolTipFor(QStringLiteral("each")).contains(QStringLiteral("Limits: db×2")));
    QVERIFY(graph->toolTipFor(QStringLiteral("join")).contains(QStringLiteral("api (rate)")));
    QVERIFY(graph->toolTipFor(QStringLiteral("join")).contains(QStringLiteral("One task run")));
    // A click marks a task (and its edges); the background unmarks it.
    QTRY_VERIFY(graph->isLayoutReady());
    QTest::mouseClick(graph, Qt::LeftButton, {}, graph->nodeRect(QStringLiteral("each")).center().toPoint());
    QCOMPARE(graph->selectedTask(), QStringLiteral("each"));
    QTest::mouseClick(graph, Qt::LeftButton, {}, QPoint(2, 2));
    QVERIFY(graph->selectedTask().isEmpty());
    // Another flow shows its own tasks.
    page->view()->selectRow(rowOf(QStringLiteral("quick.json")));
    QTRY_COMPARE(graph->nodeCount(), 2);
    QCOMPARE(graph->nodeId(0), QStringLiteral("nap"));
}

void TestRunGraph::smallMappedTaskExpandsToItsRuns()
{
    FlowRun* run = m_context->startFlow(json(R"({"name": "expand", "tasks": [
        {"id": "first", "kind": "noop"},
        {"id": "m", "kind": "sleep", "seconds": 0.8, "map": 12, "depends_on": ["first"]},
        {"id": "after", "kind": "noop", "depends_on": ["m"]}]})"),
                                        QStringLiteral("test"), {}, nullptr);
    QVERIFY(run);
    RunGraphWidget* graph = showGraph(run);
    QVERIFY(graph);
    QTRY_VERIFY(graph->isLayoutReady());
    QVERIFY(graph->canExpand(QStringLiteral("m")));
    QVERIFY(!graph->canExpand(QStringLiteral("first"))); // not mapped
    QVERIFY(graph->runRect(QStringLiteral("m"), 0).isEmpty());
    const QRectF collapsed = graph->nodeRect(QStringLiteral("m"));
    const double collapsedZoom = graph->zoom();

    // A click on the expander expands it and filters nothing.
    const QRectF expander = graph->expanderRect(QStringLiteral("m"));
    QVERIFY(collapsed.contains(expander));
    QTest::mouseClick(graph, Qt::LeftButton, {}, expander.center().toPoint());
    QVERIFY(graph->isExpanded(QStringLiteral("m")));
    QVERIFY(m_window->runPage()->filterModel()->taskFilter().isEmpty());
    QTRY_VERIFY(graph->isLayoutReady());
    graph->fitAll();
    // Twelve squares, ten to a row, inside the taller node; the nodes still apart.
    const QRectF node = graph->nodeRect(QStringLiteral("m"));
    QVERIFY(node.height() / graph->zoom() > collapsed.height() / collapsedZoom + 2 * 14);
    for (int i = 0; i < 12; ++i) {
        const QRectF cell = graph->runRect(QStringLiteral("m"), i);
        QVERIFY2(node.contains(cell), qPrintable(QString::number(i)));
        if (i > 0 && i % 10 != 0)
            QVERIFY(cell.left() > graph->runRect(QStringLiteral("m"), i - 1).right());
    }
    QVERIFY(graph->runRect(QStringLiteral("m"), 10).top() > graph->runRect(QStringLiteral("m"), 0).bottom());
    QCOMPARE(graph->runRect(QStringLiteral("m"), 10).left(), graph->runRect(QStringLiteral("m"), 0).left());
    QVERIFY(graph->runRect(QStringLiteral("m"), 12).isEmpty());
    QVERIFY(!node.intersects(graph->nodeRect(QStringLiteral("first"))));
    QVERIFY(!node.intersects(graph->nodeRect(QStringLiteral("after"))));

    // Live: each square in its run's state, painted so, while the runs sleep and after.
    const auto pixelAt = [&](QPointF point) {
        const QImage image = graph->grab().toImage();
        return image.pixelColor((point * image.devicePixelRatio()).toPoint());
    };
    QTRY_VERIFY_WITH_TIMEOUT(graph->runState(QStringLiteral("m"), 11) == StateType::Running, 10000);
    QVERIFY(!run->isTerminal());
    QColor pixel = pixelAt(graph->runRect(QStringLiteral("m"), 11).center());
    QVERIFY2(distance(pixel, stateColor(StateType::Running)) < 30, qPrintable(pixel.name()));
    QTRY_VERIFY_WITH_TIMEOUT(run->isTerminal(), 10000);
    QTRY_VERIFY(graph->runState(QStringLiteral("m"), 11) == StateType::Completed);
    QTRY_VERIFY(
        distance(pixelAt(graph->runRect(QStringLiteral("m"), 11).center()), stateColor(StateType::Completed))
        < 30);

    // A double click on a square opens that task run.
    m_context->flush();
    RunPage* page = m_window->runPage();
    QTest::mouseDClick(graph, Qt::LeftButton, {}, graph->runRect(QStringLiteral("m"), 7).center().toPoint());
    QTRY_VERIFY(page->detailTaskRun());
    QCOMPARE(page->detailTaskRun()->taskId(), QStringLiteral("m"));
    QCOMPARE(page->detailTaskRun()->mapIndex, 7);
    // The tooltip of a square names the run and its state.
    const QString tip = graph->toolTipAt(graph->runRect(QStringLiteral("m"), 3).center());
    QVERIFY2(tip.contains(QStringLiteral("m[3]")) && tip.contains(stateLabel(StateType::Completed)),
             qPrintable(tip));

    // Collapsed again by the expander: the node has its first height and no squares.
    QTest::mouseClick(graph, Qt::LeftButton, {}, graph->expanderRect(QStringLiteral("m")).center().toPoint());
    QVERIFY(!graph->isExpanded(QStringLiteral("m")));
    QTRY_VERIFY(graph->isLayoutReady());
    graph->fitAll();
    QVERIFY(graph->runRect(QStringLiteral("m"), 0).isEmpty());
    QCOMPARE(graph->nodeRect(QStringLiteral("m")).height() / graph->zoom(),
             collapsed.height() / collapsedZoom);
}

void TestRunGraph::bigMappedTaskDoesNotExpand()
{
    // One over the limit: no expander, and asking does nothing. A plan (no run) never expands.
    const QByteArray text = QStringLiteral(R"({"name": "wide", "tasks": [
        {"id": "small", "kind": "noop", "map": %1}, {"id": "big", "kind": "noop", "map": %2}]})")
                                .arg(RunGraphWidget::ExpandLimit)
                                .arg(RunGraphWidget::ExpandLimit + 1)
                                .toUtf8();
    FlowRun* run
        = m_context->startFlow(QJsonDocument::fromJson(text).object(), QStringLiteral("test"), {}, nullptr);
    QVERIFY(run);
    RunGraphWidget* graph = showGraph(run);
    QVERIFY(graph);
    QTRY_VERIFY(graph->isLayoutReady());
    QVERIFY(graph->canExpand(QStringLiteral("small")));
    QVERIFY(!graph->canExpand(QStringLiteral("big")));
    QVERIFY(graph->expanderRect(QStringLiteral("big")).isEmpty());
    graph->setExpanded(QStringLiteral("big"), true);
    QVERIFY(!graph->isExpanded(QStringLiteral("big")));
    graph->setExpanded(QStringLiteral("small"), true);
    QVERIFY(graph->isExpanded(QStringLiteral("small")));
    QVERIFY(!graph->runRect(QStringLiteral("small"), RunGraphWidget::ExpandLimit - 1).isEmpty());

    RunGraphWidget plan(m_context.get());
    FlowDefinition flow = run->def;
    plan.setFlow(flow);
    QVERIFY(!plan.canExpand(QStringLiteral("small")));
}

// A for_each task's number of task runs is known only once the result it maps over is: from then on
// its node counts them and expands like a mapped task's.
void TestRunGraph::forEachTaskIsMappedOnceItsItemsAreKnown()
{
    // The gate waits for an approval: the items stay unknown until the test approves it.
    FlowRun* run = m_context->startFlow(json(R"({"name": "each", "tasks": [
        {"id": "gate", "kind": "approval", "prompt": "go?"},
        {"id": "list", "kind": "noop", "value": {"items": ["a", "b", "c", "d"]}, "depends_on": ["gate"]},
        {"id": "each", "kind": "sleep", "seconds": 2, "for_each": "{{tasks.list.result.items}}"},
        {"id": "after", "kind": "noop", "depends_on": ["each"]}]})"),
                                        QStringLiteral("test"), {}, nullptr);
    QVERIFY(run);
    RunGraphWidget* graph = showGraph(run);
    QVERIFY(graph);
    QTRY_VERIFY(graph->isLayoutReady());
    const TaskNode& each = run->nodes[size_t(run->def.indexOf(QStringLiteral("each")))];
    QCOMPARE(each.def->id, QStringLiteral("each"));
    TaskNode& gate = run->nodes[size_t(run->def.indexOf(QStringLiteral("gate")))];
    QTRY_VERIFY(gate.runs.constructed() == 1 && gate.runs[0].name == StateName::AwaitingApproval);
    // Not known yet: the node is a plain task's that says so.
    QVERIFY(!each.itemsKnown);
    QVERIFY(!graph->canExpand(QStringLiteral("each")));
    QVERIFY(graph->expanderRect(QStringLiteral("each")).isEmpty());
    QVERIFY2(graph->toolTipFor(QStringLiteral("each")).contains(QStringLiteral("once it is known")),
             qPrintable(graph->toolTipFor(QStringLiteral("each"))));
    QVERIFY(m_context->engine().decideApproval(&gate.runs[0], true, {}, QStringLiteral("test")));

    // Known: four task runs, counted live and expandable as a mapped task's.
    QTRY_VERIFY_WITH_TIMEOUT(graph->canExpand(QStringLiteral("each")), 10000);
    QTRY_COMPARE_WITH_TIMEOUT(graph->countsOf(QStringLiteral("each")).count(StateType::Running), qint64(4),
                              10000);
    QVERIFY(!run->isTerminal());
    QCOMPARE(graph->countsOf(QStringLiteral("each")).total, qint64(4));
    QVERIFY2(graph->toolTipFor(QStringLiteral("each")).contains(QStringLiteral("4 task runs")),
             qPrintable(graph->toolTipFor(QStringLiteral("each"))));
    const QRectF expander = graph->expanderRect(QStringLiteral("each"));
    QVERIFY(!expander.isEmpty());
    QVERIFY(graph->nodeRect(QStringLiteral("each")).contains(expander));
    QTest::mouseClick(graph, Qt::LeftButton, {}, expander.center().toPoint());
    QVERIFY(graph->isExpanded(QStringLiteral("each")));
    QTRY_VERIFY(graph->isLayoutReady());
    graph->fitAll();
    const QRectF node = graph->nodeRect(QStringLiteral("each"));
    for (int i = 0; i < 4; ++i)
        QVERIFY2(node.contains(graph->runRect(QStringLiteral("each"), i)), qPrintable(QString::number(i)));
    QVERIFY(graph->runRect(QStringLiteral("each"), 4).isEmpty());
    QTRY_VERIFY_WITH_TIMEOUT(run->isTerminal(), 10000);
    QCOMPARE(toString(run->type), toString(StateType::Completed));
    QTRY_COMPARE(graph->countsOf(QStringLiteral("each")).count(StateType::Completed), qint64(4));
    QVERIFY(graph->runState(QStringLiteral("each"), 3) == StateType::Completed);

    // Shown again after the run: mapped from the start.
    graph->setFlowRun(nullptr);
    graph->setFlowRun(run);
    QTRY_VERIFY(graph->isLayoutReady());
    QVERIFY(graph->canExpand(QStringLiteral("each")));
    QCOMPARE(graph->countsOf(QStringLiteral("each")).total, qint64(4));
    // As a plan (no run), it says what it maps over.
    graph->setFlow(run->def);
    QTRY_VERIFY(graph->isLayoutReady());
    QVERIFY2(graph->toolTipFor(QStringLiteral("each"))
                 .contains(QStringLiteral("One task run per element of {{tasks.list.result.items}}")),
             qPrintable(graph->toolTipFor(QStringLiteral("each"))));
}

void TestRunGraph::resultEdgesAreMarked()
{
    // b reads a's result without naming it in depends_on; c only waits for a.
    const char* text = R"({"name": "reads", "tasks": [
        {"id": "a", "kind": "noop"},
        {"id": "b", "kind": "noop", "value": {"got": "{{tasks.a.result}}"}},
        {"id": "c", "kind": "noop", "depends_on": ["a"]}]})";
    FlowRun* run = m_context->startFlow(json(text), QStringLiteral("test"), {}, nullptr);
    QVERIFY(run);
    RunGraphWidget* graph = showGraph(run);
    QVERIFY(graph);
    QTRY_VERIFY(graph->isLayoutReady());
    const auto pair = [](const char* a, const char* b) {
        return std::pair{QString::fromLatin1(a), QString::fromLatin1(b)};
    };
    QVERIFY(graph->edgeIds().contains(pair("a", "b")));
    QVERIFY(graph->edgeKind(QStringLiteral("a"), QStringLiteral("b")) == RunGraphWidget::EdgeKind::Result);
    QVERIFY(graph->edgeKind(QStringLiteral("a"), QStringLiteral("c"))
            == RunGraphWidget::EdgeKind::Dependency);
    QVERIFY(graph->nodeRect(QStringLiteral("a")).right() < graph->nodeRect(QStringLiteral("b")).left());
    // The tooltip on the edge says what it is; the reader's node names what it reads.
    const QString tip = graph->toolTipAt(graph->edgeMidpoint(QStringLiteral("a"), QStringLiteral("b")));
    QVERIFY2(tip.contains(QStringLiteral("reads the result of <b>a</b>")), qPrintable(tip));
    const QString waits = graph->toolTipAt(graph->edgeMidpoint(QStringLiteral("a"), QStringLiteral("c")));
    QVERIFY2(waits.contains(QStringLiteral("waits for <b>a</b>")), qPrintable(waits));
    QVERIFY(graph->toolTipFor(QStringLiteral("b")).contains(QStringLiteral("Reads the result of a")));

    // The Flows page shows the same edge before the flow runs.
    writeFile(m_flows + QStringLiteral("/reads.json"), text);
    FlowsPage* page = m_window->flowsPage();
    m_window->showPage(MainWindow::Page::Flows);
    page->reloadAction()->trigger();
    QTRY_VERIFY_WITH_TIMEOUT(rowOf(QStringLiteral("reads.json")) >= 0, 10000);
    page->view()->selectRow(rowOf(QStringLiteral("reads.json")));
    RunGraphWidget* plan = page->graph();
    QTRY_COMPARE(plan->nodeCount(), 3);
    QVERIFY(!plan->flowRun());
    QVERIFY(plan->edgeKind(QStringLiteral("a"), QStringLiteral("b")) == RunGraphWidget::EdgeKind::Result);
    QVERIFY(plan->edgeKind(QStringLiteral("a"), QStringLiteral("c")) == RunGraphWidget::EdgeKind::Dependency);
}

void TestRunGraph::subflowTaskShowsItsFlow()
{
    QTemporaryDir dir;
    const QString child = dir.filePath(QStringLiteral("child.json"));
    writeFile(child, R"({"name": "graph-child", "tasks": [{"id": "nap", "kind": "sleep", "seconds": 0.1}]})");
    const QByteArray text = QStringLiteral(R"({"name": "graph-parent", "tasks": [
        {"id": "sub", "kind": "flow", "flow": "%1"}, {"id": "after", "kind": "noop", "depends_on": ["sub"]}]})")
                                .arg(child)
                                .toUtf8();
    FlowRun* run
        = m_context->startFlow(QJsonDocument::fromJson(text).object(), QStringLiteral("test"), {}, nullptr);
    QVERIFY(run);
    RunGraphWidget* graph = showGraph(run);
    QVERIFY(graph);
    QTRY_VERIFY(graph->isLayoutReady());
    // A node for the child flow after the task, joined by a subflow edge.
    QCOMPARE(graph->nodeCount(), 3);
    QVERIFY(graph->edgeIds().contains(std::pair{QStringLiteral("sub"), QStringLiteral("child.json")}));
    QVERIFY(graph->edgeKind(QStringLiteral("sub"), QStringLiteral("child.json"))
            == RunGraphWidget::EdgeKind::Subflow);
    const QRectF flowNode = graph->subflowRect(QStringLiteral("sub"));
    QVERIFY(!flowNode.isEmpty());
    QVERIFY(flowNode.left() > graph->nodeRect(QStringLiteral("sub")).right());
    QVERIFY(graph->subflowRect(QStringLiteral("after")).isEmpty());
    QVERIFY(graph->toolTipAt(flowNode.center()).contains(QStringLiteral("runs as a subflow")));
    QVERIFY(graph->toolTipAt(graph->edgeMidpoint(QStringLiteral("sub"), QStringLiteral("child.json")))
                .contains(QStringLiteral("runs the flow <b>child.json</b>")));

    // A double click on it opens the subflow run.
    QTRY_VERIFY_WITH_TIMEOUT(run->isTerminal(), 10000);
    RunPage* page = m_window->runPage();
    QCOMPARE(page->flowRun(), run);
    QTest::mouseDClick(graph, Qt::LeftButton, {}, flowNode.center().toPoint());
    QVERIFY(page->flowRun() != run);
    QCOMPARE(page->flowRun()->parentFlowRunId, run->id);
    QCOMPARE(page->flowRun()->def.name, QStringLiteral("graph-child"));

    // The Flows page shows the child flow's node too (the path relative to the flow's file).
    writeFile(m_flows + QStringLiteral("/child.json"),
              R"({"name": "graph-child", "tasks": [{"id": "nap", "kind": "noop"}]})");
    writeFile(m_flows + QStringLiteral("/parent.json"),
              R"({"name": "graph-parent", "tasks": [{"id": "sub", "kind": "flow", "flow": "child.json"}]})");
    FlowsPage* flows = m_window->flowsPage();
    m_window->showPage(MainWindow::Page::Flows);
    flows->reloadAction()->trigger();
    QTRY_VERIFY_WITH_TIMEOUT(rowOf(QStringLiteral("parent.json")) >= 0, 10000);
    flows->view()->selectRow(rowOf(QStringLiteral("parent.json")));
    QTRY_COMPARE(flows->graph()->nodeCount(), 2);
    QVERIFY(flows->graph()->edgeKind(QStringLiteral("sub"), QStringLiteral("child.json"))
            == RunGraphWidget::EdgeKind::Subflow);
}

void TestRunGraph::keyboardMovesBetweenNodes()
{
    FlowRun* run = m_context->startFlow(json(ShapeFlow), QStringLiteral("test"), {}, nullptr);
    QVERIFY(run);
    RunGraphWidget* graph = showGraph(run);
    QVERIFY(graph);
    QTRY_VERIFY_WITH_TIMEOUT(run->isTerminal(), 10000);
    m_context->flush();
    QTRY_VERIFY(graph->isLayoutReady());
    RunPage* page = m_window->runPage();
    graph->setFocus();
    QTRY_VERIFY(graph->hasFocus());
    QVERIFY(graph->focusedTask().isEmpty());
    // The first arrow picks the first node; then right to the next layer, down/up within it.
    QTest::keyClick(graph, Qt::Key_Right);
    QCOMPARE(graph->focusedTask(), QStringLiteral("a"));
    QTest::keyClick(graph, Qt::Key_Right);
    const QString second = graph->focusedTask();
    QVERIFY2(second == u"b" || second == u"c", qPrintable(second));
    const QString other = second == u"b" ? QStringLiteral("c") : QStringLiteral("b");
    QTest::keyClick(graph,
                    graph->nodeRect(other).top() > graph->nodeRect(second).top() ? Qt::Key_Down : Qt::Key_Up);
    QCOMPARE(graph->focusedTask(), other);
    QTest::keyClick(graph, Qt::Key_Right);
    QCOMPARE(graph->focusedTask(), QStringLiteral("d"));
    QTest::keyClick(graph, Qt::Key_Right); // nothing further right
    QCOMPARE(graph->focusedTask(), QStringLiteral("d"));
    QTest::keyClick(graph, Qt::Key_Left);
    QTest::keyClick(graph, Qt::Key_Left);
    QCOMPARE(graph->focusedTask(), QStringLiteral("a"));

    // Enter filters the task table to the task; Shift+Enter opens one of its runs.
    QTest::keyClick(graph, Qt::Key_Right);
    const QString focused = graph->focusedTask();
    QTest::keyClick(graph, Qt::Key_Return);
    QCOMPARE(page->filterModel()->taskFilter(), focused);
    QCOMPARE(graph->selectedTask(), focused);
    QTest::keyClick(graph, Qt::Key_Return, Qt::ShiftModifier);
    QTRY_VERIFY(page->detailTaskRun());
    QCOMPARE(page->detailTaskRun()->taskId(), focused);

    // Space expands the mapped task b; the arrows then reach its runs, and Enter opens one.
    graph->setFocus();
    while (graph->focusedTask() != u"b")
        QTest::keyClick(graph,
                        graph->nodeRect(QStringLiteral("b")).top()
                                > graph->nodeRect(graph->focusedTask()).top()
                            ? Qt::Key_Down
                            : Qt::Key_Up);
    QTest::keyClick(graph, Qt::Key_Space);
    QVERIFY(graph->isExpanded(QStringLiteral("b")));
    QTRY_VERIFY(graph->isLayoutReady());
    QTest::keyClick(graph, Qt::Key_Down);
    QCOMPARE(graph->focusedTask(), QStringLiteral("b"));
    QCOMPARE(graph->focusedRun(), 0);
    QTest::keyClick(graph, Qt::Key_Right);
    QCOMPARE(graph->focusedRun(), 1);
    QTest::keyClick(graph, Qt::Key_Return);
    QTRY_COMPARE(page->detailTaskRun()->mapIndex, 1);
    QCOMPARE(page->detailTaskRun()->taskId(), QStringLiteral("b"));
    graph->setFocus();
    QTest::keyClick(graph, Qt::Key_Space);
    QVERIFY(!graph->isExpanded(QStringLiteral("b")));
    QCOMPARE(graph->focusedRun(), -1);

    // + and - zoom; Ctrl+arrows pan.
    const double zoom = graph->zoom();
    QTest::keyClick(graph, Qt::Key_Plus);
    QVERIFY(graph->zoom() > zoom);
    QTest::keyClick(graph, Qt::Key_Minus);
    QVERIFY(qAbs(graph->zoom() - zoom) < 1e-9);
    const QPointF offset = graph->offset();
    QTest::keyClick(graph, Qt::Key_Right, Qt::ControlModifier);
    QCOMPARE(graph->offset(), offset + QPointF(-40, 0));

    // F1's list of keys tells them.
    auto* help = qobject_cast<HelpDialog*>(m_window->openHelp());
    QVERIFY(help);
    const QString text = help->browser()->toPlainText();
    help->close();
    QVERIFY2(text.contains(QStringLiteral("expand or collapse a mapped task of at most %1 task runs")
                               .arg(RunGraphWidget::ExpandLimit)),
             qPrintable(text));
    QVERIFY(text.contains(QStringLiteral("Graph (Run and Flows pages): move between tasks")));
}

void TestRunGraph::zoomDrawsThePreviousTilesScaled()
{
    FlowRun* run = m_context->startFlow(json(ShapeFlow), QStringLiteral("test"), {}, nullptr);
    QVERIFY(run);
    RunGraphWidget* graph = showGraph(run);
    QVERIFY(graph);
    QTRY_VERIFY(graph->isLayoutReady());
    graph->repaint();
    QTRY_COMPARE(graph->pendingTiles(), 0);
    // The frame after a zoom does not wait for the edges at the new zoom: the previous ones stand in
    // (an edge's pixels are there), and the new tiles follow from the event loop.
    graph->zoomOut();
    const QImage image = graph->grab().toImage();
    QVERIFY(graph->pendingTiles() > 0);
    const QPointF middle = graph->edgeMidpoint(QStringLiteral("a"), QStringLiteral("b"));
    const QColor base = graph->palette().color(QPalette::Base);
    int darkest = 0;
    for (int dy = -4; dy <= 4; ++dy) {
        for (int dx = -2; dx <= 2; ++dx) {
            const QPoint at = ((middle + QPointF(dx, dy)) * image.devicePixelRatio()).toPoint();
            darkest = std::max(darkest, distance(image.pixelColor(at), base));
        }
    }
    QVERIFY2(darkest > 60, qPrintable(QString::number(darkest)));
    QTRY_COMPARE(graph->pendingTiles(), 0);
}

namespace {

//! Collects the regions of the paint events a widget receives.
class PaintRegions : public QObject {
public:
    QRegion painted;

protected:
    bool eventFilter(QObject* watched, QEvent* event) override
    {
        if (event->type() == QEvent::Paint)
            painted += static_cast<QPaintEvent*>(event)->region();
        return QObject::eventFilter(watched, event);
    }
};

} // namespace

void TestRunGraph::aTickRepaintsOnlyTheNodesThatChanged()
{
    // "wait" moves from running to completed while "slow" keeps running: the ticks in between repaint
    // wait's node, not slow's.
    FlowRun* run = m_context->startFlow(json(R"({"name": "ticks", "tasks": [
        {"id": "slow", "kind": "sleep", "seconds": 4},
        {"id": "wait", "kind": "sleep", "seconds": 0.8, "map": 4}]})"),
                                        QStringLiteral("test"), {}, nullptr);
    QVERIFY(run);
    RunGraphWidget* graph = showGraph(run);
    QVERIFY(graph);
    QTRY_VERIFY(graph->isLayoutReady());
    QTRY_COMPARE_WITH_TIMEOUT(graph->countsOf(QStringLiteral("wait")).count(StateType::Running), qint64(4),
                              10000);
    QTRY_COMPARE(graph->pendingTiles(), 0);
    PaintRegions regions;
    graph->installEventFilter(&regions);
    QTRY_COMPARE_WITH_TIMEOUT(graph->countsOf(QStringLiteral("wait")).count(StateType::Completed), qint64(4),
                              10000);
    QTRY_VERIFY(regions.painted.intersects(graph->nodeRect(QStringLiteral("wait")).toAlignedRect()));
    QVERIFY(!run->isTerminal());
    QCOMPARE(graph->countsOf(QStringLiteral("slow")).count(StateType::Running), qint64(1));
    QVERIFY(!regions.painted.intersects(graph->nodeRect(QStringLiteral("slow")).toAlignedRect()));
    graph->removeEventFilter(&regions);
}

void TestRunGraph::aTickReadsOnlyTheRowsThatChanged()
{
    // 20,000 sleeps ending at random times: each tick's changes are scattered over all the rows.
    // Counting them reads about the rows that changed, not the whole span between the first and last.
    FlowRun* run = m_context->startFlow(json(R"({"name": "scattered", "seed": 3, "tasks": [
        {"id": "wait", "kind": "sleep", "seconds": [0.5, 4], "map": 20000}]})"),
                                        QStringLiteral("test"), {}, nullptr);
    QVERIFY(run);
    RunGraphWidget* graph = showGraph(run);
    QVERIFY(graph);
    // Every one started (on a loaded machine the first may end before the last starts).
    QTRY_COMPARE_WITH_TIMEOUT(graph->countsOf(QStringLiteral("wait")).count(StateType::Running)
                                  + graph->countsOf(QStringLiteral("wait")).count(StateType::Completed),
                              qint64(20000), 20000);
    const TaskStateCounts& counts = graph->stateCounts();
    const qint64 visited = counts.rowsVisited();
    const qint64 completed = graph->countsOf(QStringLiteral("wait")).count(StateType::Completed);
    QTRY_VERIFY_WITH_TIMEOUT(
        graph->countsOf(QStringLiteral("wait")).count(StateType::Completed) >= completed + 2000, 20000);
    QVERIFY(!run->isTerminal());
    const qint64 read = counts.rowsVisited() - visited;
    const qint64 changed = graph->countsOf(QStringLiteral("wait")).count(StateType::Completed) - completed;
    QVERIFY2(read <= 8 * changed + 500,
             qPrintable(QStringLiteral("%1 rows read for %2 changed").arg(read).arg(changed)));
    m_context->cancelAllAndWait(10000);
}

FLOWDECK_GUI_TEST_MAIN(TestRunGraph, "tst_rungraph")
#include "tst_rungraph.moc"
