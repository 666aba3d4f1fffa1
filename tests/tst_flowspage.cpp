// The Flows page: start a flow, and a flow file that does not validate.
#include "models/flowlistmodel.h"
#include "models/flowrunmodel.h"
#include "pages/flowspage.h"
#include "pages/runpage.h"
#include "pages/runspage.h"
#include "uitestutil.h"
#include "widgets/startflowdialog.h"

#include <QAction>
#include <QPushButton>
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

FLOWDECK_GUI_TEST_MAIN(TestFlowsPage, "tst_flowspage")

#include "tst_flowspage.moc"
