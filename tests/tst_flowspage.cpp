// The Flows page: start a flow, a flow file that does not validate, and a double click on a subflow in
// the graph that shows that flow.
#include "models/flowlistmodel.h"
#include "models/flowrunmodel.h"
#include "pages/flowspage.h"
#include "pages/runpage.h"
#include "pages/runspage.h"
#include "uitestutil.h"
#include "widgets/rungraphwidget.h"
#include "widgets/startflowdialog.h"

#include <QAction>
#include <QFile>
#include <QPushButton>
#include <QScopeGuard>
#include <QSignalSpy>
#include <QTableView>
#include <QTest>
#include <QTextBrowser>
#include <QToolButton>

using namespace flowdeck;
using namespace flowdeck::uitest;

class TestFlowsPage : public QObject, public Dashboard {
    Q_OBJECT

private Q_SLOTS:
    void initTestCase() { writeFlows(); }
    void init() { makeWindow(); }
    void cleanup() { tearDown(); }

    void startFlowFromFlowsPage();
    void invalidFlowFileIsListedWithItsErrors();
    void doubleClickOnASubflowSelectsItsFlow();
};

void TestFlowsPage::startFlowFromFlowsPage()
{
    FlowsPage* page = m_window->flowsPage();
    m_window->showPage(MainWindow::Page::Flows);
    const int row = rowOf(QStringLiteral("quick.json"));
    QVERIFY(row >= 0);
    clickRow(page->view(), row);
    QCOMPARE(page->currentEntry()->name, QStringLiteral("quick"));

    QToolButton* start = buttonFor(page, page->startAction());
    QVERIFY(start && start->isEnabled());
    QTest::mouseClick(start, Qt::LeftButton);
    auto* dialog = openDialog<StartFlowDialog>(m_window.get());
    QVERIFY(dialog);
    auto* startButton = dialog->findChild<QPushButton*>(QStringLiteral("startButton"));
    QVERIFY(startButton && startButton->isEnabled());
    QTest::mouseClick(startButton, Qt::LeftButton);

    // The run shows in the Runs table, and reaches COMPLETED there.
    FlowRunModel* runs = m_window->runsPage()->model();
    QTRY_COMPARE(runs->rowCount(), 1);
    QCOMPARE(runs->index(0, FlowRunModel::FlowColumn).data().toString(), QStringLiteral("quick"));
    QTRY_COMPARE(runs->index(0, FlowRunModel::StateColumn).data().toString(), QStringLiteral("Completed"));
    QCOMPARE(runs->index(0, FlowRunModel::ProgressColumn).data().toString(), QStringLiteral("2 / 2"));
    // Starting opened the run's page, and the Flows page shows the last run.
    QCOMPARE(m_window->currentPage(), MainWindow::Page::Run);
    QCOMPARE(m_window->runPage()->flowRun(), m_context->newestFlowRun());
    QTRY_COMPARE(page->model()->index(row, FlowListModel::LastRunColumn).data().toString(),
                 QStringLiteral("Completed"));
}

void TestFlowsPage::invalidFlowFileIsListedWithItsErrors()
{
    FlowsPage* page = m_window->flowsPage();
    const int row = rowOf(QStringLiteral("invalid.json"));
    QVERIFY(row >= 0);
    const QModelIndex name = page->model()->index(row, FlowListModel::NameColumn);
    QCOMPARE(name.data().toString(), QStringLiteral("invalid"));
    QVERIFY(name.data(Qt::ToolTipRole).toString().contains(QStringLiteral("no task named")));
    QVERIFY(!name.data(Qt::DecorationRole).isNull());
    clickRow(page->view(), row);
    QVERIFY(!page->startAction()->isEnabled());
    auto* details = page->findChild<QTextBrowser*>(QStringLiteral("flowDetails"));
    QVERIFY(details->toPlainText().contains(QStringLiteral("tasks[0].depends_on[0]")));
    QCOMPARE(page->startSelected(), nullptr);
    QVERIFY(m_context->flowRuns().empty());
}

void TestFlowsPage::doubleClickOnASubflowSelectsItsFlow()
{
    // A flow of the library runs one beside it, and one from a folder that is not in the library.
    QTemporaryDir elsewhere;
    const QString stray = elsewhere.filePath(QStringLiteral("stray.json"));
    writeFile(stray, R"({"name": "stray", "tasks": [{"id": "t", "kind": "noop"}]})");
    const QString child = m_flows + QStringLiteral("/child.json");
    const QString parent = m_flows + QStringLiteral("/parent.json");
    const auto removeFiles = qScopeGuard([&] {
        QFile::remove(child);
        QFile::remove(parent);
    });
    writeFile(child, R"({"name": "child", "tasks": [{"id": "nap", "kind": "sleep", "seconds": 0.1}]})");
    writeFile(parent,
              QStringLiteral(R"({"name": "parent", "tasks": [
        {"id": "sub", "kind": "flow", "flow": "child.json"},
        {"id": "away", "kind": "flow", "flow": "%1"}]})")
                  .arg(stray)
                  .toUtf8());
    FlowsPage* page = m_window->flowsPage();
    page->reloadAction()->trigger();
    QTRY_VERIFY(rowOf(QStringLiteral("parent.json")) >= 0 && rowOf(QStringLiteral("child.json")) >= 0);
    m_window->showPage(MainWindow::Page::Flows);
    page->showView(FlowsPage::View::Graph);
    clickRow(page->view(), rowOf(QStringLiteral("parent.json")));
    QCOMPARE(page->currentEntry()->name, QStringLiteral("parent"));
    RunGraphWidget* graph = page->graph();
    QTRY_VERIFY(graph->isLayoutReady() && graph->nodeCount() == 4);
    QVERIFY2(graph->toolTipAt(graph->subflowRect(QStringLiteral("sub")).center())
                 .contains(QStringLiteral("Double-click: show this flow")),
             qPrintable(graph->toolTipAt(graph->subflowRect(QStringLiteral("sub")).center())));

    // Its node's double click selects the child flow in the list, which the graph then shows.
    QTest::mouseDClick(graph, Qt::LeftButton, {},
                       graph->subflowRect(QStringLiteral("sub")).center().toPoint());
    QCOMPARE(page->currentEntry()->name, QStringLiteral("child"));
    QCOMPARE(page->view()->currentIndex().row(), rowOf(QStringLiteral("child.json")));
    QTRY_VERIFY(graph->isLayoutReady() && graph->nodeCount() == 1);
    QCOMPARE(graph->nodeId(0), QStringLiteral("nap"));

    // A flow that is not in the list: the selection stays, and the status bar says why.
    clickRow(page->view(), rowOf(QStringLiteral("parent.json")));
    QTRY_VERIFY(graph->isLayoutReady() && graph->nodeCount() == 4);
    QSignalSpy messages(m_context.get(), &AppContext::message);
    QTest::mouseDClick(graph, Qt::LeftButton, {},
                       graph->subflowRect(QStringLiteral("away")).center().toPoint());
    QCOMPARE(page->currentEntry()->name, QStringLiteral("parent"));
    QCOMPARE(messages.size(), 1);
    QVERIFY2(messages.first().first().toString().contains(QStringLiteral("is not in the list of flows")),
             qPrintable(messages.first().first().toString()));
}

FLOWDECK_GUI_TEST_MAIN(TestFlowsPage, "tst_flowspage")

#include "tst_flowspage.moc"
