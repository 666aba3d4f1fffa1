// The Runs page as a tree: a subflow run shows under the flow run that started it, not as a top-level
// row, for runs of this engine and runs read from the store alike; expanded and opened by keyboard;
// kept under its parent by sorting and filtering.
#include "context/appcontext.h"
#include "mainwindow.h"
#include "models/flowrunfiltermodel.h"
#include "models/flowrunmodel.h"
#include "models/flowruntreemodel.h"
#include "models/modelroles.h"
#include "pages/runpage.h"
#include "pages/runspage.h"
#include "run/flowrun.h"
#include "testutil.h"
#include "uitestutil.h"

#include <QAbstractItemModelTester>
#include <QAction>
#include <QComboBox>
#include <QElapsedTimer>
#include <QJsonDocument>
#include <QSignalSpy>
#include <QTemporaryDir>
#include <QTest>
#include <QTreeView>

using namespace flowdeck;
using namespace flowdeck::test;
using namespace flowdeck::uitest;

class TestRunsTree : public QObject, public Dashboard {
    Q_OBJECT

private Q_SLOTS:
    void initTestCase();
    void init() { makeWindow(); }
    void cleanup() { tearDown(); }

    void liveSubflowRunShowsUnderItsParent();
    void childListedBeforeItsParentMovesUnderIt();
    void manyRunsAreOneInsert();
    void storedSubflowRunShowsUnderItsParent_data() { addBackendRows(); }
    void storedSubflowRunShowsUnderItsParent();

private:
    /**
     * Starts a flow whose task runs the child flow (which naps \a napS seconds), after a nap of
     * \a delayS seconds (0: at once, so that the child usually arrives in the parent's display tick).
     */
    FlowRun* startParent(double napS, double delayS = 0);
    //! The subflow run of \a parent among this session's runs, or null.
    FlowRun* childOf(const FlowRun* parent) const;

    QTemporaryDir m_dir;
};

void TestRunsTree::initTestCase()
{
    writeFlows();
    QVERIFY(m_dir.isValid());
}

FlowRun* TestRunsTree::startParent(double napS, double delayS)
{
    const QString child = m_dir.filePath(QStringLiteral("tree-child.json"));
    writeFile(
        child,
        QStringLiteral(R"({"name": "tree-child", "tasks": [{"id": "nap", "kind": "sleep", "seconds": %1}]})")
            .arg(napS)
            .toUtf8());
    const QByteArray parentJson = QStringLiteral(R"({"name": "tree-parent", "tasks": [
        {"id": "wait", "kind": "sleep", "seconds": %2},
        {"id": "sub", "kind": "flow", "flow": "%1", "depends_on": ["wait"]},
        {"id": "after", "kind": "noop", "depends_on": ["sub"]}]})")
                                      .arg(child)
                                      .arg(delayS)
                                      .toUtf8();
    return m_context->startFlow(QJsonDocument::fromJson(parentJson).object(), QStringLiteral("test"), {},
                                nullptr);
}

FlowRun* TestRunsTree::childOf(const FlowRun* parent) const
{
    for (const auto& run : m_context->flowRuns()) {
        if (run->parentFlowRunId == parent->id)
            return run.get();
    }
    return nullptr;
}

void TestRunsTree::liveSubflowRunShowsUnderItsParent()
{
    RunsPage* page = m_window->runsPage();
    QAbstractItemModelTester treeTester(page->treeModel());
    QAbstractItemModelTester filterTester(page->filterModel());
    m_window->showPage(MainWindow::Page::Runs);
    QTreeView* view = page->view();

    // The child starts a while after its parent's row is there: it is inserted under that row.
    FlowRun* parent = startParent(1.0, 0.3);
    QVERIFY(parent);
    QTRY_VERIFY(page->treeModel()->indexOf(parent).isValid());
    FlowRun* child = nullptr;
    QTRY_VERIFY_WITH_TIMEOUT((child = childOf(parent)) != nullptr, 10000);
    // Both are flow runs of the flat model; the tree puts the child under its parent, while it runs.
    QTRY_COMPARE(page->model()->rowCount(), 2);
    QTRY_VERIFY(page->treeModel()->indexOf(child).isValid());
    QVERIFY(!child->isTerminal());
    QCOMPARE(page->treeModel()->rowCount(), 1);
    const QModelIndex parentRow = page->viewIndexOf(parent);
    const QModelIndex childRow = page->viewIndexOf(child);
    QVERIFY(parentRow.isValid() && childRow.isValid());
    QCOMPARE(view->model()->rowCount(), 1);
    QCOMPARE(childRow.parent(), parentRow);
    QVERIFY(view->model()->hasChildren(parentRow)); // the expand arrow
    QCOMPARE(childRow.siblingAtColumn(FlowRunModel::FlowColumn).data().toString(),
             QStringLiteral("tree-child"));

    // Right expands the parent's row, Down goes to the child, Enter opens it.
    view->setFocus();
    view->setCurrentIndex(parentRow);
    QVERIFY(!view->isExpanded(parentRow));
    QTest::keyClick(view, Qt::Key_Right);
    QVERIFY(view->isExpanded(parentRow));
    QTest::keyClick(view, Qt::Key_Down);
    QCOMPARE(view->currentIndex().siblingAtColumn(0), page->viewIndexOf(child));
    QCOMPARE(page->selectedFlowRuns(), QList<FlowRun*>{child});
    QTest::keyClick(view, Qt::Key_Return);
    QCOMPARE(m_window->currentPage(), MainWindow::Page::Run);
    QCOMPARE(m_window->runPage()->flowRun(), child);

    // Back on the Runs page: Left goes up to the parent, and Left again collapses it.
    m_window->showPage(MainWindow::Page::Runs);
    view->setFocus();
    QTest::keyClick(view, Qt::Key_Left);
    QCOMPARE(view->currentIndex().siblingAtColumn(0), page->viewIndexOf(parent));
    QTest::keyClick(view, Qt::Key_Left);
    QVERIFY(!view->isExpanded(page->viewIndexOf(parent)));

    // Updates reach the child's row where it is.
    QTRY_VERIFY_WITH_TIMEOUT(parent->isTerminal(), 20000);
    QTRY_COMPARE(page->viewIndexOf(child).data(StateTypeRole).toInt(), int(StateType::Completed));

    // A parent and child that arrive in one batch: the new parent goes on top, its child under it.
    FlowRun* second = startParent(0.05);
    QVERIFY(second);
    FlowRun* secondChild = nullptr;
    QTRY_VERIFY_WITH_TIMEOUT((secondChild = childOf(second)) != nullptr, 10000);
    QTRY_VERIFY(page->treeModel()->indexOf(secondChild).isValid());
    QTRY_VERIFY_WITH_TIMEOUT(second->isTerminal(), 20000);
    QCOMPARE(page->treeModel()->rowCount(), 2);
    QCOMPARE(page->treeModel()->flowRunAt(page->treeModel()->index(0, 0)), second);
    QCOMPARE(page->treeModel()->indexOf(secondChild).parent(), page->treeModel()->indexOf(second));
    QCOMPARE(page->treeModel()->indexOf(child).parent(), page->treeModel()->indexOf(parent));
}

void TestRunsTree::childListedBeforeItsParentMovesUnderIt()
{
    // A page of stored runs can hold a subflow run without its parent; when the parent is listed
    // later, the child's row moves under it.
    FlowRun parent;
    FlowRun child;
    FlowRun other;
    qint64 createdUs = 1'000'000;
    for (FlowRun* run : {&parent, &child, &other}) {
        run->id = RunId::generate();
        run->createdUs = createdUs++;
    }
    parent.def.name = QStringLiteral("parent");
    child.def.name = QStringLiteral("child");
    other.def.name = QStringLiteral("other");
    child.parentFlowRunId = parent.id;
    AppContext context;
    FlowRunModel runs(&context);
    FlowRunTreeModel tree(&runs);
    QAbstractItemModelTester tester(&tree);

    UpdateBatch first;
    first.startedFlowRuns = {&child};
    Q_EMIT context.updated(first);
    QCOMPARE(tree.rowCount(), 1);
    QCOMPARE(tree.indexOf(&child), tree.index(0, 0));

    QSignalSpy moved(&tree, &QAbstractItemModel::rowsMoved);
    QSignalSpy reset(&tree, &QAbstractItemModel::modelReset);
    UpdateBatch second;
    second.startedFlowRuns = {&parent, &other};
    Q_EMIT context.updated(second);
    QCOMPARE(runs.rowCount(), 3);
    QCOMPARE(tree.rowCount(), 2); // other, parent: newest first
    QCOMPARE(tree.flowRunAt(tree.index(0, 0)), &other);
    QCOMPARE(tree.flowRunAt(tree.index(1, 0)), &parent);
    QCOMPARE(tree.indexOf(&child).parent(), tree.indexOf(&parent));
    QCOMPARE(tree.indexOf(&child, FlowRunModel::FlowColumn).data().toString(), QStringLiteral("child"));
    QCOMPARE(moved.count(), 1);
    QCOMPARE(reset.count(), 0);
}

void TestRunsTree::manyRunsAreOneInsert()
{
    // A burst of top-level runs in one display tick is one insert into the tree, not one per run; a
    // run's row is found without a scan.
    constexpr int Count = 20000;
    std::vector<FlowRun> many(Count);
    qint64 createdUs = 1'000'000;
    for (FlowRun& run : many) {
        run.id = RunId::generate();
        run.createdUs = createdUs++;
    }
    AppContext context;
    FlowRunModel runs(&context);
    FlowRunTreeModel tree(&runs);
    QSignalSpy inserted(&tree, &QAbstractItemModel::rowsInserted);
    UpdateBatch batch;
    for (FlowRun& run : many)
        batch.startedFlowRuns.push_back(&run);
    QElapsedTimer timer;
    timer.start();
    Q_EMIT context.updated(batch);
    const qint64 insertUs = timer.nsecsElapsed() / 1000;
    QCOMPARE(tree.rowCount(), Count);
    QCOMPARE(inserted.count(), 1);
    timer.restart();
    for (const FlowRun& run : many)
        QVERIFY(tree.indexOf(&run).isValid());
    qInfo("%d runs: inserted in %lld us, every row found in %lld us", Count, insertUs,
          timer.nsecsElapsed() / 1000);
    QCOMPARE(tree.flowRunAt(tree.index(0, 0)), &many.back()); // newest first
}

void TestRunsTree::storedSubflowRunShowsUnderItsParent()
{
    QFETCH(QString, backend);
    FLOWDECK_FRESH_DATABASE(url, backend);
    QVERIFY(openDatabase(url));
    FlowRun* parent = startParent(0.05);
    QVERIFY(parent);
    QTRY_VERIFY_WITH_TIMEOUT(parent->isTerminal(), 20000);
    QCOMPARE(toString(parent->type), toString(StateType::Completed));
    const QString parentId = parent->id.toString();
    FlowRun* plain = m_context->startFlow(
        QJsonDocument::fromJson(R"({"name": "plain", "tasks": [{"id": "a", "kind": "noop"}]})").object(),
        QStringLiteral("test"), {}, nullptr);
    QVERIFY(plain);
    QTRY_VERIFY_WITH_TIMEOUT(plain->isTerminal(), 20000);
    const QString plainId = plain->id.toString();

    // A new session reads the three runs from the store: two top-level rows, the child under its parent.
    cleanup();
    makeWindow();
    RunsPage* page = m_window->runsPage();
    QAbstractItemModelTester treeTester(page->treeModel());
    QAbstractItemModelTester filterTester(page->filterModel());
    QVERIFY(openDatabase(url));
    QTRY_COMPARE_WITH_TIMEOUT(page->model()->rowCount(), 3, 10000);
    FlowRun* stored = m_context->history().storedRun(parentId);
    QVERIFY(stored);
    FlowRun* child = nullptr;
    for (FlowRun* run : m_context->history().runs()) {
        if (run->parentFlowRunId == stored->id)
            child = run;
    }
    QVERIFY(child);
    plain = m_context->history().storedRun(plainId);
    QVERIFY(plain);
    QCOMPARE(page->treeModel()->rowCount(), 2);
    QTreeView* view = page->view();
    QCOMPARE(view->model()->rowCount(), 2);
    QCOMPARE(page->viewIndexOf(child).parent(), page->viewIndexOf(stored));

    // Sorting by flow name, either way, sorts the top-level rows and keeps the child under its parent.
    for (Qt::SortOrder order : {Qt::AscendingOrder, Qt::DescendingOrder}) {
        view->sortByColumn(FlowRunModel::FlowColumn, order);
        const QString first = view->model()->index(0, FlowRunModel::FlowColumn).data().toString();
        QCOMPARE(first,
                 order == Qt::AscendingOrder ? QStringLiteral("plain") : QStringLiteral("tree-parent"));
        QCOMPARE(page->viewIndexOf(child).parent(), page->viewIndexOf(stored));
    }

    // A subflow run that matches a filter its parent does not is shown under its parent; the parent
    // stays for context, and runs of neither are hidden.
    page->filterModel()->setFlowFilter(QStringLiteral("tree-child"));
    QCOMPARE(view->model()->rowCount(), 1);
    QCOMPARE(page->viewIndexOf(child).parent(), page->viewIndexOf(stored));
    QVERIFY(!page->viewIndexOf(plain).isValid());
    // A parent that matches without its child shows no child.
    page->filterModel()->setFlowFilter(QStringLiteral("tree-parent"));
    QCOMPARE(view->model()->rowCount(), 1);
    QVERIFY(page->viewIndexOf(stored).isValid());
    QVERIFY(!view->model()->hasChildren(page->viewIndexOf(stored)));
    page->filterModel()->setFlowFilter({});
    QCOMPARE(view->model()->rowCount(), 2);
    QVERIFY(!view->isExpanded(page->viewIndexOf(stored)));
    // Chosen on the page, such a filter expands the parent's row, so that the match shows.
    auto* flows = page->findChild<QComboBox*>(QStringLiteral("flowFilter"));
    QVERIFY(flows && flows->findData(QStringLiteral("tree-child")) >= 0);
    flows->setCurrentIndex(flows->findData(QStringLiteral("tree-child")));
    QCOMPARE(view->model()->rowCount(), 1);
    QVERIFY(view->isExpanded(page->viewIndexOf(stored)));
    page->clearFiltersAction()->trigger();
    QCOMPARE(view->model()->rowCount(), 2);

    // select() shows a child: its parent's row is expanded.
    page->select(child);
    QVERIFY(view->isExpanded(page->viewIndexOf(stored)));
    QCOMPARE(page->selectedFlowRuns(), QList<FlowRun*>{child});
}

FLOWDECK_GUI_TEST_MAIN(TestRunsTree, "tst_runstree")
#include "tst_runstree.moc"
