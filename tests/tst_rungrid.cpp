// The Flows page's runs × tasks grid: columns are the flow's stored runs (newest at the right, as many
// as the width holds), rows its tasks, cells the states of the stored task runs; a click opens the
// run at that task.
#include "models/taskrunfiltermodel.h"
#include "pages/flowspage.h"
#include "pages/runpage.h"
#include "style/statestyle.h"
#include "uitestutil.h"
#include "widgets/rungridwidget.h"

#include <QJsonDocument>
#include <QTabWidget>
#include <QTableView>
#include <QTest>

using namespace flowdeck;
using namespace flowdeck::uitest;

class TestRunGrid : public QObject, public Dashboard {
    Q_OBJECT

private Q_SLOTS:
    void initTestCase() { writeFlows(); }
    void init() { makeWindow(); }
    void cleanup() { tearDown(); }

    void cellsAreTheStoredOutcomesAndClickOpensTheRun();
    void widthChoosesHowManyRuns();
};

void TestRunGrid::cellsAreTheStoredOutcomesAndClickOpensTheRun()
{
    QTemporaryDir dir;
    QVERIFY(openDatabase(dir.filePath(QStringLiteral("grid.db"))));
    // Three runs of "graded": the second fails its check (the parameter says so).
    writeFile(m_flows + QStringLiteral("/graded.json"), R"({"name": "graded", "parameters": {"bad": 0},
        "tasks": [{"id": "work", "kind": "noop", "map": 3},
                  {"id": "check", "kind": "shell", "command": ["sh", "-c", "exit {{bad}}"], "depends_on": ["work"]}]})");
    QList<FlowRun*> runs;
    for (int bad : {0, 1, 0}) {
        ValidationErrors errors;
        QFile file(m_flows + QStringLiteral("/graded.json"));
        QVERIFY(file.open(QIODevice::ReadOnly));
        FlowRun* run = m_context->startFlow(QJsonDocument::fromJson(file.readAll()).object(),
                                            m_flows + QStringLiteral("/graded.json"),
                                            QJsonObject{{QStringLiteral("bad"), bad}}, &errors);
        QVERIFY2(run, qPrintable(errors.value(0).toString()));
        QTRY_VERIFY_WITH_TIMEOUT(run->isTerminal(), 20000);
        runs << run;
    }
    QVERIFY(runs[1]->type == StateType::Failed);

    FlowsPage* page = m_window->flowsPage();
    m_window->showPage(MainWindow::Page::Flows);
    m_window->resize(1000, 700);
    m_window->show();
    QVERIFY(QTest::qWaitForWindowExposed(m_window.get()));
    page->reloadAction()->trigger();
    QTRY_VERIFY_WITH_TIMEOUT(rowOf(QStringLiteral("graded.json")) >= 0, 10000);
    page->view()->selectRow(rowOf(QStringLiteral("graded.json")));
    page->showView(FlowsPage::View::Grid);
    RunGridWidget* grid = page->grid();
    QVERIFY(grid->isVisible());
    QTRY_COMPARE_WITH_TIMEOUT(grid->columnCount(), 3, 15000);
    // Oldest at the left, newest at the right.
    for (int c = 0; c < 3; ++c)
        QCOMPARE(grid->runAt(c).id, runs[c]->id.toString());
    QCOMPARE(grid->rowCount(), 2);
    QCOMPARE(grid->taskAt(0), QStringLiteral("work"));
    QCOMPARE(grid->taskAt(1), QStringLiteral("check"));
    QTRY_COMPARE_WITH_TIMEOUT(grid->countsAt(2, 1)[size_t(StateType::Completed)], qint64(1), 15000);
    QCOMPARE(grid->countsAt(0, 0)[size_t(StateType::Completed)], qint64(3)); // a mapped task: its share
    QCOMPARE(grid->countsAt(1, 1)[size_t(StateType::Failed)], qint64(1));
    QCOMPARE(grid->countsAt(1, 1)[size_t(StateType::Completed)], qint64(0));
    QCOMPARE(grid->runAt(1).state, QStringLiteral("FAILED"));
    const QString tip = grid->toolTipAt(1, 1);
    QVERIFY2(tip.contains(stateLabel(StateType::Failed) + QStringLiteral(": 1")), qPrintable(tip));
    QVERIFY2(tip.contains(QStringLiteral("Attempts: 1")) && tip.contains(QStringLiteral("Duration:")),
             qPrintable(tip));

    // The cell's colour is its state's.
    const QImage image = grid->grab().toImage();
    const QPoint centre = grid->cellRect(1, 1).center() * image.devicePixelRatio();
    QCOMPARE(image.pixelColor(centre).name(), stateColor(StateType::Failed).name());

    // A click: that run on the Run page, its task runs of that task.
    QTest::mouseClick(grid, Qt::LeftButton, {}, grid->cellRect(1, 1).center());
    QCOMPARE(m_window->currentPage(), MainWindow::Page::Run);
    QCOMPARE(m_window->runPage()->flowRun(), runs[1]);
    QCOMPARE(m_window->runPage()->filterModel()->taskFilter(), QStringLiteral("check"));
    QCOMPARE(m_window->runPage()->view()->model()->rowCount(), 1);

    // Live: a new run becomes the rightmost column.
    m_window->showPage(MainWindow::Page::Flows);
    QFile file(m_flows + QStringLiteral("/graded.json"));
    QVERIFY(file.open(QIODevice::ReadOnly));
    FlowRun* fourth = m_context->startFlow(QJsonDocument::fromJson(file.readAll()).object(),
                                           m_flows + QStringLiteral("/graded.json"), {}, nullptr);
    QVERIFY(fourth);
    QTRY_VERIFY_WITH_TIMEOUT(fourth->isTerminal(), 20000);
    QTRY_VERIFY_WITH_TIMEOUT(grid->columnCount() == 4 && grid->runAt(3).id == fourth->id.toString()
                                 && grid->countsAt(3, 1)[size_t(StateType::Completed)] == 1,
                             15000);
}

void TestRunGrid::widthChoosesHowManyRuns()
{
    RunGridWidget grid;
    grid.resize(600, 200);
    const int wide = grid.wantedRuns();
    QVERIFY(wide > 10);
    grid.resize(300, 200);
    QVERIFY(grid.wantedRuns() < wide);
    QVERIFY(grid.wantedRuns() >= 1);
    // Each wanted column fits in the width.
    QVERIFY(grid.cellRect(grid.wantedRuns() - 1, 0).right() < grid.width());
}

FLOWDECK_GUI_TEST_MAIN(TestRunGrid, "tst_rungrid")
#include "tst_rungrid.moc"
