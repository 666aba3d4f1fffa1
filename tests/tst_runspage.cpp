// The Runs page: cancel with the Delete key, a failed run stands out, history survives a restart.
#include "models/flowlistmodel.h"
#include "models/flowrunmodel.h"
#include "models/logmodel.h"
#include "models/taskrunmodel.h"
#include "pages/flowspage.h"
#include "pages/runpage.h"
#include "pages/runspage.h"
#include "uitestutil.h"
#include "widgets/healthstrip.h"

#include <QAction>
#include <QJsonDocument>
#include <QMessageBox>
#include <QPushButton>
#include <QStatusBar>
#include <QTableView>
#include <QTemporaryDir>
#include <QTest>
#include <QToolButton>

using namespace flowdeck;
using namespace flowdeck::uitest;

class TestRunsPage : public QObject, public Dashboard {
    Q_OBJECT

private Q_SLOTS:
    void initTestCase() { writeFlows(); }
    void init() { makeWindow(); }
    void cleanup() { tearDown(); }

    void cancelRunFromRunsPageWithDeleteKey();
    void failedRunIsNoticeable();
    void statusBarCountsRecentFailuresAndListsThem();
    void historySurvivesRestart();
};

void TestRunsPage::cancelRunFromRunsPageWithDeleteKey()
{
    FlowsPage* flows = m_window->flowsPage();
    const FlowEntry* entry = flows->model()->entryAt(rowOf(QStringLiteral("slow.json")));
    QVERIFY(entry);
    FlowRun* run = m_context->startFlow(entry->document, entry->source, {}, nullptr);
    QVERIFY(run);
    QTRY_COMPARE(m_window->windowTitle(), QStringLiteral("Flowdeck — 1 running, 0%"));

    m_window->showPage(MainWindow::Page::Runs);
    QTableView* view = m_window->runsPage()->view();
    QTRY_COMPARE(view->model()->rowCount(), 1);
    clickRow(view, 0);
    QCOMPARE(m_window->runsPage()->selectedFlowRuns(), QList<FlowRun*>{run});
    QVERIFY(m_window->cancelAction()->isEnabled());

    view->setFocus();
    QTest::keyClick(view, Qt::Key_Delete);
    auto* box = openDialog<QMessageBox>(m_window.get());
    QVERIFY(box);
    QVERIFY(!run->cancelRequested); // nothing happens before the answer
    QTest::mouseClick(box->findChild<QPushButton*>(QStringLiteral("confirmButton")), Qt::LeftButton);

    FlowRunModel* runs = m_window->runsPage()->model();
    QTRY_COMPARE(runs->index(0, FlowRunModel::StateColumn).data().toString(), QStringLiteral("Cancelled"));
    QCOMPARE(runs->index(0, FlowRunModel::CancelledColumn).data().toLongLong(), qint64(3));
    QTRY_COMPARE(m_window->windowTitle(), QStringLiteral("Flowdeck"));
}

void TestRunsPage::failedRunIsNoticeable()
{
    const FlowEntry* entry = m_window->flowsPage()->model()->entryAt(rowOf(QStringLiteral("failing.json")));
    FlowRun* run = m_context->startFlow(entry->document, entry->source, {}, nullptr);
    QVERIFY(run);
    QTRY_VERIFY(m_window->statusBar()->currentMessage().contains(QStringLiteral("failed")));
    QVERIFY(m_window->statusBar()->currentMessage().contains(QStringLiteral("disk on fire")));
    FlowRunModel* runs = m_window->runsPage()->model();
    QCOMPARE(runs->index(0, FlowRunModel::StateColumn).data().toString(), QStringLiteral("Failed"));
    QCOMPARE(runs->index(0, FlowRunModel::FailedColumn).data().toInt(), 1);
}

void TestRunsPage::statusBarCountsRecentFailuresAndListsThem()
{
    HealthStrip* strip = m_window->healthStrip();
    strip->refresh();
    QCOMPARE(strip->failuresButton()->text(), QStringLiteral("0 failed in the last hour"));

    // A run that completes and one that fails: once both ended, the failure is still counted.
    const FlowEntry* quick = m_window->flowsPage()->model()->entryAt(rowOf(QStringLiteral("quick.json")));
    const FlowEntry* failing = m_window->flowsPage()->model()->entryAt(rowOf(QStringLiteral("failing.json")));
    FlowRun* ok = m_context->startFlow(quick->document, quick->source, {}, nullptr);
    FlowRun* bad = m_context->startFlow(failing->document, failing->source, {}, nullptr);
    QVERIFY(ok && bad);
    QTRY_VERIFY_WITH_TIMEOUT(ok->isTerminal() && bad->isTerminal(), 20000);
    QCOMPARE(toString(bad->type), toString(StateType::Failed));
    m_context->flush();
    strip->refresh();
    QVERIFY2(strip->text().contains(QStringLiteral("1 failed in the last hour")), qPrintable(strip->text()));

    // Clicking the counter lists the failed runs, and only those.
    QTest::mouseClick(strip->failuresButton(), Qt::LeftButton);
    QCOMPARE(m_window->currentPage(), MainWindow::Page::Runs);
    QTableView* view = m_window->runsPage()->view();
    QTRY_COMPARE(view->model()->rowCount(), 1);
    QCOMPARE(view->model()->index(0, FlowRunModel::FlowColumn).data().toString(), QStringLiteral("failing"));
}

void TestRunsPage::historySurvivesRestart()
{
    QTemporaryDir dir;
    const QString db = dir.filePath(QStringLiteral("history.db"));
    QVERIFY(openDatabase(db));
    FlowRun* run = m_context->startFlow(QJsonDocument::fromJson(R"({"name": "remembered", "tasks": [
            {"id": "say", "kind": "shell", "command": ["echo", "kept in the store"]},
            {"id": "nap", "kind": "sleep", "seconds": 0.05, "map": 3, "depends_on": ["say"]}]})")
                                            .object(),
                                        QStringLiteral("test"), {}, nullptr);
    QVERIFY(run);
    QTRY_VERIFY_WITH_TIMEOUT(run->isTerminal(), 20000);
    const QString id = run->id.toString();

    cleanup();
    makeWindow();
    QCOMPARE(m_window->runsPage()->model()->rowCount(), 0); // nothing before the store is read
    QVERIFY(openDatabase(db));
    FlowRunModel* runs = m_window->runsPage()->model();
    QTRY_COMPARE_WITH_TIMEOUT(runs->rowCount(), 1, 10000);
    FlowRun* stored = runs->flowRunAt(0);
    QCOMPARE(stored->id.toString(), id);
    QCOMPARE(stored->def.name, QStringLiteral("remembered"));
    QCOMPARE(toString(stored->type), toString(StateType::Completed));
    QCOMPARE(runs->data(runs->index(0, FlowRunModel::CompletedColumn)).toLongLong(), 4);
    QVERIFY(m_context->history().isStored(stored));

    // Its detail comes from the store: task runs with their history, and the log.
    m_window->showRun(stored);
    QTRY_COMPARE_WITH_TIMEOUT(m_window->runPage()->taskModel()->rowCount(), 4, 10000);
    const TaskRun* first = m_window->runPage()->taskModel()->taskRunAt(0);
    QCOMPARE(first->taskId(), QStringLiteral("say"));
    QVERIFY(first->history.size() >= 3); // Pending, Running, Completed
    QTRY_VERIFY(m_window->runPage()->logModel()->rowCount() >= 1);
    bool logged = false;
    for (int r = 0; r < m_window->runPage()->logModel()->rowCount(); ++r)
        logged |= m_window->runPage()
                      ->logModel()
                      ->data(m_window->runPage()->logModel()->index(r, LogModel::MessageColumn))
                      .toString()
                      .contains(QStringLiteral("kept in the store"));
    QVERIFY(logged);

    // A run of this session goes on top of the stored ones.
    FlowRun* fresh = m_context->startFlow(QJsonDocument::fromJson(R"({"name": "fresh", "tasks": [
        {"id": "a", "kind": "noop"}]})")
                                              .object(),
                                          QStringLiteral("test"), {}, nullptr);
    QVERIFY(fresh);
    QTRY_COMPARE(runs->rowCount(), 2);
    QCOMPARE(runs->flowRunAt(0), fresh);
    QCOMPARE(runs->flowRunAt(1), stored);
}

FLOWDECK_GUI_TEST_MAIN(TestRunsPage, "tst_runspage")

#include "tst_runspage.moc"
