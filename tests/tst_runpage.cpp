// The Run page: cancel a task run, its logs, and a large stored run read off the GUI thread.
#include "models/flowrunmodel.h"
#include "models/logmodel.h"
#include "models/taskrunmodel.h"
#include "pages/runpage.h"
#include "pages/runspage.h"
#include "store/runqueries.h"
#include "testutil.h"
#include "uitestutil.h"
#include "widgets/taskrundetail.h"
#include "widgets/timelinewidget.h"

#include <QAbstractItemModelTester>
#include <QClipboard>
#include <QComboBox>
#include <QElapsedTimer>
#include <QGuiApplication>
#include <QJsonDocument>
#include <QLabel>
#include <QLineEdit>
#include <QMessageBox>
#include <QPlainTextEdit>
#include <QPushButton>
#include <QScrollBar>
#include <QTableView>
#include <QTableWidget>
#include <QTemporaryDir>
#include <QTest>
#include <QTimer>

#include <algorithm>

using namespace flowdeck;
using namespace flowdeck::uitest;

class TestRunPage : public QObject, public Dashboard {
    Q_OBJECT

private Q_SLOTS:
    void initTestCase() { writeFlows(); }
    void init() { makeWindow(); }
    void cleanup() { tearDown(); }

    void runPageCancelsTaskRunAndShowsLogs();
    void largeStoredRunOpensWithoutBlocking();
    void anotherRunOpensUnfilteredAtTheTop();
    void taskRunDetailTellsItsStory();
    void copyRunIdCopiesTheFullId();
};

namespace {

QStringList column(const QTableWidget* table, int c)
{
    QStringList cells;
    for (int r = 0; r < table->rowCount(); ++r)
        cells << (table->item(r, c) ? table->item(r, c)->text() : QString());
    return cells;
}

} // namespace

void TestRunPage::runPageCancelsTaskRunAndShowsLogs()
{
    FlowRun* run = m_context->startFlow(QJsonDocument::fromJson(R"({"name": "mixed", "tasks": [
        {"id": "say", "kind": "shell", "command": ["echo", "hello from the test"]},
        {"id": "wait", "kind": "sleep", "seconds": 30, "map": 3}]})")
                                            .object(),
                                        QStringLiteral("test"), {}, nullptr);
    QVERIFY(run);
    m_window->showRun(run);
    RunPage* page = m_window->runPage();
    QCOMPARE(m_window->currentPage(), MainWindow::Page::Run);
    QTRY_COMPARE(page->view()->model()->rowCount(), 4);
    // The log tails live.
    QTRY_VERIFY(page->logModel()->rowCount() >= 1);
    QCOMPARE(page->logModel()->index(0, 3).data().toString(), QStringLiteral("hello from the test"));

    // Select wait[1] and cancel it with the Delete key.
    QTRY_VERIFY(page->taskModel()->taskRunAt(2)->type == StateType::Running);
    clickRow(page->view(), 2);
    QCOMPARE(page->selectedTaskRuns().size(), 1);
    TaskRun* target = page->selectedTaskRuns().first();
    QCOMPARE(target->mapIndex, 1);
    page->view()->setFocus();
    QTest::keyClick(page->view(), Qt::Key_Delete);
    auto* box = openDialog<QMessageBox>(m_window.get());
    QVERIFY(box);
    QTest::mouseClick(box->findChild<QPushButton*>(QStringLiteral("confirmButton")), Qt::LeftButton);
    QTRY_COMPARE(page->taskModel()->index(2, TaskRunModel::StateColumn).data().toString(),
                 QStringLiteral("Cancelled"));
    QVERIFY(page->taskModel()->taskRunAt(3)->type == StateType::Running); // the others run on
    QVERIFY(!run->isTerminal());

    // State filter and search.
    auto* state = page->findChild<QComboBox*>(QStringLiteral("taskStateFilter"));
    state->setCurrentIndex(state->findData(int(StateType::Running)));
    QCOMPARE(page->view()->model()->rowCount(), 2);
    state->setCurrentIndex(0);
    auto* search = page->findChild<QLineEdit*>(QStringLiteral("taskSearch"));
    QTest::keyClicks(search, QStringLiteral("say"));
    QCOMPARE(page->view()->model()->rowCount(), 1);
    search->clear();
    QCOMPARE(page->view()->model(), page->taskModel()); // unfiltered: no proxy in between
    m_context->cancelFlowRun(run);
    QTRY_VERIFY(run->isTerminal());
}

// A stored flow run of 20k task runs, opened in the Run page of a new session: its task runs are
// read and built off the GUI thread, so the loop never stops for long, and every row shows.
void TestRunPage::largeStoredRunOpensWithoutBlocking()
{
    constexpr int Tasks = 20'000;
    QTemporaryDir dir;
    const QString db = dir.filePath(QStringLiteral("large.db"));
    QVERIFY(openDatabase(db));
    FlowRun* run = m_context->startFlow(QJsonDocument::fromJson(R"({"name": "large", "tasks": [
        {"id": "work", "kind": "noop", "map": 20000}]})")
                                            .object(),
                                        QStringLiteral("test"), {}, nullptr);
    QVERIFY(run);
    QTRY_VERIFY_WITH_TIMEOUT(run->isTerminal(), 120000);
    QCOMPARE(toString(run->type), toString(StateType::Completed));
    const QString id = run->id.toString();

    cleanup(); // writes what is buffered and closes the store
    makeWindow();
    QVERIFY(openDatabase(db));
    FlowRunModel* runs = m_window->runsPage()->model();
    QTRY_COMPARE_WITH_TIMEOUT(runs->rowCount(), 1, 10000);
    FlowRun* stored = runs->flowRunAt(0);
    QCOMPARE(stored->id.toString(), id);
    QVERIFY(m_context->history().needsDetails(stored));
    TaskRunModel* model = m_window->runPage()->taskModel();

    // The biggest gap between ticks of a 1 ms timer, from the click on: how long the loop stopped.
    QElapsedTimer clock;
    qint64 last = 0;
    qint64 maxGapNs = 0;
    QTimer probe;
    probe.setTimerType(Qt::PreciseTimer);
    probe.setInterval(1);
    connect(&probe, &QTimer::timeout, this, [&] {
        const qint64 now = clock.nsecsElapsed();
        maxGapNs = std::max(maxGapNs, now - last);
        last = now;
    });
    clock.start();
    probe.start();
    m_window->showRun(stored); // as a double click in the Runs table does
    QTRY_COMPARE_WITH_TIMEOUT(model->rowCount(), Tasks, 60000);
    QTRY_COMPARE(m_window->runPage()->timeline()->flowRun(), stored);
    QTest::qWait(200); // the first paints of the table and the timeline with every row
    probe.stop();
    qInfo("opening %d stored task runs: the loop stopped for at most %.1f ms", Tasks, double(maxGapNs) / 1e6);
    QVERIFY2(maxGapNs < 100'000'000,
             qPrintable(QStringLiteral("the loop stopped for %1 ms").arg(double(maxGapNs) / 1e6)));

    // Every row, in map order, finished as stored. The tester checks every index when it starts:
    // attached only now, so that its own work (tens of ms in a debug build) is not measured above.
    QAbstractItemModelTester tester(model, QAbstractItemModelTester::FailureReportingMode::QtTest);
    QCOMPARE(model->flowRun(), stored);
    QCOMPARE(stored->finishedTaskRuns, qint64(Tasks));
    QCOMPARE(stored->count(StateType::Completed), qint64(Tasks));
    for (int row : {0, 1, Tasks / 2, Tasks - 1}) {
        const TaskRun* task = model->taskRunAt(row);
        QVERIFY(task);
        QCOMPARE(task->mapIndex, row);
        QCOMPARE(task->taskId(), QStringLiteral("work"));
        QCOMPARE(task->flowRun, stored);
        QCOMPARE(toString(task->type), toString(StateType::Completed));
        QVERIFY(task->history.size() >= 2);
    }
    QCOMPARE(model->data(model->index(Tasks - 1, TaskRunModel::MapIndexColumn)).toInt(), Tasks - 1);
}

void TestRunPage::anotherRunOpensUnfilteredAtTheTop()
{
    auto start = [this](const char* name) {
        FlowRun* run = m_context->startFlow(QJsonDocument::fromJson(QByteArray(R"({"name": ")") + name + R"(",
            "tasks": [{"id": "a", "kind": "noop", "map": 400}]})")
                                                .object(),
                                            QStringLiteral("test"), {}, nullptr);
        return run;
    };
    FlowRun* first = start("first");
    FlowRun* second = start("second");
    QVERIFY(first && second);
    QTRY_VERIFY_WITH_TIMEOUT(first->isTerminal() && second->isTerminal(), 20000);
    m_context->flush();

    RunPage* page = m_window->runPage();
    m_window->showRun(first);
    auto* states = page->findChild<QComboBox*>(QStringLiteral("taskStateFilter"));
    QVERIFY(states);
    states->setCurrentIndex(states->findData(int(StateType::Completed)));
    QTRY_VERIFY(page->view()->model()->rowCount() > 100);
    page->view()->verticalScrollBar()->setValue(page->view()->verticalScrollBar()->maximum());
    QVERIFY(page->view()->verticalScrollBar()->value() > 0);

    m_window->showRun(second);
    QCOMPARE(page->flowRun(), second);
    QCOMPARE(states->currentIndex(), 0);
    QCOMPARE(page->view()->model(), static_cast<QAbstractItemModel*>(page->taskModel()));
    QTRY_COMPARE(page->view()->model()->rowCount(), 400);
    QCOMPARE(page->view()->verticalScrollBar()->value(), 0);
}

// A task run that failed, then passed on its retry: selecting it (click or Enter) opens its detail with
// every transition and its own log lines only, for a live run and for a stored one; Escape closes it.
void TestRunPage::taskRunDetailTellsItsStory()
{
    QTemporaryDir dir;
    const QString db = dir.filePath(QStringLiteral("detail.db"));
    const QString marker = dir.filePath(QStringLiteral("marker"));
    QVERIFY(openDatabase(db));
    const QJsonObject doc
        = QJsonDocument::fromJson(R"({"name": "retried", "parameters": {"marker": "/nonexistent"},
        "tasks": [
          {"id": "other", "kind": "shell", "command": ["echo", "other line"]},
          {"id": "flaky", "kind": "shell", "retries": 1, "depends_on": ["other"],
           "command": ["sh", "-c", "echo flaky line; test -e {{marker}} || { touch {{marker}}; exit 3; }"]}]})")
              .object();
    FlowRun* run
        = m_context->startFlow(doc, QStringLiteral("test"), {{QStringLiteral("marker"), marker}}, nullptr);
    QVERIFY(run);
    QTRY_VERIFY_WITH_TIMEOUT(run->isTerminal(), 20000);
    QCOMPARE(toString(run->type), toString(StateType::Completed));
    const QString id = run->id.toString();

    const QStringList story
        = {QStringLiteral("Pending"), QStringLiteral("Running"), QStringLiteral("AwaitingRetry"),
           QStringLiteral("Retrying"), QStringLiteral("Completed")};
    auto checkPanel = [&](RunPage* page) {
        TaskRunDetailPanel* panel = page->detailPanel();
        QTRY_VERIFY(panel->isVisible());
        QTRY_COMPARE(column(panel->historyTable(), 1), story);
        QVERIFY2(panel->summary()->text().contains(QStringLiteral("Attempts: 2"))
                     && panel->summary()->text().contains(QStringLiteral("Kind: shell")),
                 qPrintable(panel->summary()->text()));
        // Each state but the last lasted a while; the time of each transition shows.
        for (int r = 0; r < 5; ++r)
            QVERIFY(!panel->historyTable()->item(r, 0)->text().isEmpty());
        QVERIFY(!panel->historyTable()->item(0, 2)->text().isEmpty());
        // The live engine keeps the current state's message; earlier ones come from the store.
        QTRY_VERIFY2(panel->historyTable()->item(2, 3)->text().contains(QStringLiteral("exit code 3")),
                     qPrintable(panel->historyTable()->item(2, 3)->text()));
        QCOMPARE(panel->historyTable()->item(4, 3)->text(), QStringLiteral("exit code 0"));
        const QStringList lines = column(panel->logTable(), 2);
        QCOMPARE(lines.count(QStringLiteral("flaky line")), 2);
        QVERIFY2(!lines.contains(QStringLiteral("other line")), qPrintable(lines.join(u'\n')));
        QVERIFY2(panel->configView()->toPlainText().contains(QStringLiteral("test -e ") + marker),
                 qPrintable(panel->configView()->toPlainText()));
        // Escape closes it, from the table.
        page->view()->setFocus();
        QTest::keyClick(page->view(), Qt::Key_Escape);
        QVERIFY(!panel->isVisible());
        QCOMPARE(page->detailTaskRun(), nullptr);
    };

    // Live: a click opens it.
    RunPage* page = m_window->runPage();
    m_window->showRun(run);
    QTRY_COMPARE(page->view()->model()->rowCount(), 2);
    QVERIFY(!page->detailPanel()->isVisible());
    QCOMPARE(page->taskModel()->taskRunAt(1)->taskId(), QStringLiteral("flaky"));
    clickRow(page->view(), 1);
    checkPanel(page);
    if (QTest::currentTestFailed())
        return;

    // Stored, in a new session: Enter opens it, read from the database.
    cleanup();
    makeWindow();
    QVERIFY(openDatabase(db));
    FlowRunModel* runs = m_window->runsPage()->model();
    QTRY_COMPARE_WITH_TIMEOUT(runs->rowCount(), 1, 10000);
    FlowRun* stored = runs->flowRunAt(0);
    QCOMPARE(stored->id.toString(), id);
    page = m_window->runPage();
    m_window->showRun(stored);
    QTRY_COMPARE_WITH_TIMEOUT(page->view()->model()->rowCount(), 2, 10000);
    const int flakyRow = page->taskModel()->taskRunAt(0)->taskId() == QStringLiteral("flaky") ? 0 : 1;
    page->view()->setFocus();
    page->view()->setCurrentIndex(page->view()->model()->index(flakyRow, 0));
    QVERIFY(!page->detailPanel()->isVisible());
    QTest::keyClick(page->view(), Qt::Key_Return);
    checkPanel(page);
}

// Ctrl+Shift+C copies the full id on the Runs and Run pages; the short id they show is what the CLI
// accepts (it resolves to the run).
void TestRunPage::copyRunIdCopiesTheFullId()
{
    QTemporaryDir dir;
    QVERIFY(openDatabase(dir.filePath(QStringLiteral("ids.db"))));
    FlowRun* run = m_context->startFlow(
        QJsonDocument::fromJson(R"({"name": "ids", "tasks": [{"id": "a", "kind": "noop"}]})").object(),
        QStringLiteral("test"), {}, nullptr);
    QVERIFY(run);
    QTRY_VERIFY_WITH_TIMEOUT(run->isTerminal(), 10000);
    m_context->flush();
    const QString id = run->id.toString();

    m_window->showPage(MainWindow::Page::Runs);
    RunsPage* runs = m_window->runsPage();
    QTRY_COMPARE(runs->view()->model()->rowCount(), 1);
    const QString shown = runs->view()->model()->index(0, FlowRunModel::IdColumn).data().toString();
    QVERIFY2(shown.size() >= 6 && id.endsWith(shown), qPrintable(shown));
    ConnectionPool* pool = m_context->database().pool();
    QVERIFY(pool);
    QTRY_COMPARE(flowdeck::test::runOnPool(*pool,
                                           [shown](QSqlDatabase& db) {
                                               QString error;
                                               return resolveFlowRunId(db, shown, &error).value_or(error);
                                           }),
                 id);

    QGuiApplication::clipboard()->clear();
    clickRow(runs->view(), 0);
    runs->view()->setFocus();
    QTest::keyClick(runs->view(), Qt::Key_C, Qt::ControlModifier | Qt::ShiftModifier);
    QCOMPARE(QGuiApplication::clipboard()->text(), id);

    m_window->showRun(run);
    RunPage* page = m_window->runPage();
    QVERIFY(page->findChild<QLabel*>(QStringLiteral("runTitle"))->text().contains(shown));
    QGuiApplication::clipboard()->clear();
    page->view()->setFocus();
    QTest::keyClick(page->view(), Qt::Key_C, Qt::ControlModifier | Qt::ShiftModifier);
    QCOMPARE(QGuiApplication::clipboard()->text(), id);
}

FLOWDECK_GUI_TEST_MAIN(TestRunPage, "tst_runpage")

#include "tst_runpage.moc"
