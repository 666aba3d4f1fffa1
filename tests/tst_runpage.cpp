// The Run page: cancel a task run, its logs, and a large stored run read off the GUI thread.
#include "models/flowrunmodel.h"
#include "models/logmodel.h"
#include "models/storedtaskrunmodel.h"
#include "models/taskrunmodel.h"
#include "pages/runpage.h"
#include "pages/runspage.h"
#include "run/engine.h"
#include "run/flowrun.h"
#include "session/enginelink.h"
#include "store/connectionpool.h"
#include "store/databaseurl.h"
#include "store/runqueries.h"
#include "store/store.h"
#include "style/statestyle.h"
#include "testutil.h"
#include "uitestutil.h"
#include "widgets/elidedlabel.h"
#include "widgets/flowdocumentdialog.h"
#include "widgets/runactions.h"
#include "widgets/startflowdialog.h"
#include "widgets/taskrundetail.h"
#include "widgets/timelinewidget.h"

#include <QAbstractItemModelTester>
#include <QCheckBox>
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
#include <QSpinBox>
#include <QSqlQuery>
#include <QStatusBar>
#include <QTableView>
#include <QTableWidget>
#include <QTemporaryDir>
#include <QTest>
#include <QTimer>
#include <QToolButton>
#include <QTreeView>

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
    void hugeStoredRunIsReadInPages_data() { flowdeck::test::addBackendRows(); }
    void hugeStoredRunIsReadInPages();
    void anotherRunOpensUnfilteredAtTheTop();
    void taskRunDetailTellsItsStory();
    void taskRunDetailShowsTheLimitsItOccupies_data() { flowdeck::test::addBackendRows(); }
    void taskRunDetailShowsTheLimitsItOccupies();
    void copyRunIdCopiesTheFullId();
    void runShowsParametersSeedAndWhoStartedIt_data() { flowdeck::test::addBackendRows(); }
    void runShowsParametersSeedAndWhoStartedIt();
    void flowDocumentShowsAndCopiesTheDocument();
    void operationsSayWhyTheyAreNotAvailable();
    void runAgainStartsANewRunWithChangedValues();
    void storedRunDocumentAndRunAgainComeFromTheStore_data() { flowdeck::test::addBackendRows(); }
    void storedRunDocumentAndRunAgainComeFromTheStore();
    void refusedOperationIsReportedNotThrown();
    void headerFitsASmallWindow();
};

namespace {

QStringList column(const QTableWidget* table, int c)
{
    QStringList cells;
    for (int r = 0; r < table->rowCount(); ++r)
        cells << (table->item(r, c) ? table->item(r, c)->text() : QString());
    return cells;
}

QJsonObject readJson(const QString& path)
{
    QFile file(path);
    if (!file.open(QIODevice::ReadOnly))
        return {};
    return QJsonDocument::fromJson(file.readAll()).object();
}

} // namespace

//! Opens a fresh database of \a backend in the dashboard; its URL in \a url (the PostgreSQL row as
//! FLOWDECK_FRESH_DATABASE has it: required in CI, skipped elsewhere without a server).
#define OPEN_BACKEND(backend, url)                                                                           \
    FLOWDECK_FRESH_DATABASE(url, backend);                                                                   \
    QVERIFY(openDatabase(url))

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
    test::LoopGapProbe probe;
    m_window->showRun(stored); // as a double click in the Runs table does
    QTRY_COMPARE_WITH_TIMEOUT(model->rowCount(), Tasks, 60000);
    QTRY_COMPARE(m_window->runPage()->timeline()->flowRun(), stored);
    QTest::qWait(200); // the first paints of the table and the timeline with every row
    probe.stop();
    qInfo("opening %d stored task runs: the loop stopped for at most %.1f ms", Tasks,
          double(probe.maxGapNs()) / 1e6);
    QVERIFY2(probe.maxGapNs() < 100'000'000,
             qPrintable(QStringLiteral("the loop stopped for %1 ms").arg(double(probe.maxGapNs()) / 1e6)));

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

// A stored flow run too large to read whole (200k task runs; the same path serves a million): the
// Run page shows at once, its table reads the task runs a page at a time as it is scrolled, never
// all of them, and gives its filters and order to the database; the loop never stops for long.
void TestRunPage::hugeStoredRunIsReadInPages()
{
    QFETCH(QString, backend);
    const int tasks = backend == u"sqlite" ? 200'000 : 60'000;
    cleanup();
    FLOWDECK_FRESH_DATABASE(url, backend);
    QString id;
    {
        // Written by an engine of its own, as `flowdeck run` would: faster than through the window.
        QString error;
        const auto parsed = DatabaseUrl::parse(url, &error);
        QVERIFY2(parsed, qPrintable(error));
        Engine engine;
        ConnectionPool pool(*parsed);
        Store store(pool, engine.scheduler());
        auto opening = store.open();
        flowdeck::test::finish(opening);
        EngineLink link(store, engine);
        // "boom" sorts before "work": its three failed runs come first in task order.
        const auto flow = flowdeck::test::parseFlow(
            QStringLiteral(R"({"name": "huge", "tasks": [{"id": "work", "kind": "noop", "map": %1},
                {"id": "boom", "kind": "fail", "map": 3, "message": "boom on purpose"}]})")
                .arg(tasks)
                .toUtf8());
        QVERIFY(flow);
        FlowRun* run = engine.start(*flow);
        QVERIFY(flowdeck::test::waitForFlow(engine, run, 300000));
        auto flushing = store.flush();
        flowdeck::test::finish(flushing, 120000);
        id = run->id.toString();
    }
    makeWindow();
    // The biggest gap between ticks of a 1 ms timer, from the database's opening on (the Run page
    // shows the newest run, this one, as soon as the history is read): how long the loop stopped.
    test::LoopGapProbe probe;
    QVERIFY(openDatabase(url));
    FlowRunModel* runs = m_window->runsPage()->model();
    QTRY_COMPARE_WITH_TIMEOUT(runs->rowCount(), 1, 10000);
    FlowRun* stored = runs->flowRunAt(0);
    QCOMPARE(stored->id.toString(), id);
    QVERIFY(m_context->history().isPaged(stored));
    RunPage* page = m_window->runPage();
    StoredTaskRunModel* model = page->pagedModel();
    m_window->showRun(stored); // as a double click in the Runs table does
    QTRY_VERIFY_WITH_TIMEOUT(page->view()->model() == model && model->rowCount() > 0, 30000);
    QTRY_VERIFY_WITH_TIMEOUT(!model->isReading(), 30000);
    const qint64 firstPageMs = probe.elapsedMs();
    // (No QAbstractItemModelTester here: it calls fetchMore() after every change, reading every page.)

    // A page (or the few the view asked for to fill itself), not the run: nothing of it is in memory.
    const int shown = model->rowCount();
    QVERIFY2(shown >= StoredTaskRunModel::PageSize && shown <= 4 * StoredTaskRunModel::PageSize,
             qPrintable(QString::number(shown)));
    QVERIFY(stored->nodes.empty());
    QTRY_VERIFY2(page->findChild<QLabel*>(QStringLiteral("runTitle"))
                     ->text()
                     .contains(QStringLiteral("a page at a time")),
                 qPrintable(page->findChild<QLabel*>(QStringLiteral("runTitle"))->text()));
    QCOMPARE(stored->totalTaskRuns, qint64(tasks + 3));
    QCOMPARE(stored->count(StateType::Completed), qint64(tasks));
    QCOMPARE(model->data(model->index(0, TaskRunModel::TaskColumn)).toString(), QStringLiteral("boom"));
    QCOMPARE(model->data(model->index(3, TaskRunModel::TaskColumn)).toString(), QStringLiteral("work"));
    QCOMPARE(model->data(model->index(3, TaskRunModel::MapIndexColumn)).toInt(), 0);
    QCOMPARE(model->data(model->index(3, TaskRunModel::StateColumn)).toString(), QStringLiteral("Completed"));

    // fetchMore adds one page; scrolling to the end makes the view ask for the next.
    QVERIFY(model->canFetchMore({}));
    model->fetchMore({});
    QTRY_COMPARE_WITH_TIMEOUT(model->rowCount(), shown + StoredTaskRunModel::PageSize, 30000);
    const int before = model->rowCount();
    page->view()->scrollToBottom();
    QTRY_VERIFY_WITH_TIMEOUT(model->rowCount() > before, 30000);
    QTRY_VERIFY_WITH_TIMEOUT(!model->isReading(), 30000);
    const int lastRow = model->rowCount() - 1;
    QCOMPARE(model->data(model->index(lastRow, TaskRunModel::MapIndexColumn)).toInt(), lastRow - 3);
    QVERIFY(model->rowCount() < tasks / 10);
    probe.stop();
    qInfo("%d stored task runs: from the database's opening to the first page %lld ms; the loop stopped for "
          "at most %.1f ms",
          tasks + 3, firstPageMs, double(probe.maxGapNs()) / 1e6);
    // Generous: 11-40 ms on 2 idle cores; more while other processes take the cores.
    QVERIFY2(probe.maxGapNs() < 200'000'000,
             qPrintable(QStringLiteral("the loop stopped for %1 ms").arg(double(probe.maxGapNs()) / 1e6)));

    // The state filter and the search are queries: the three failed runs, read from the start.
    auto* states = page->findChild<QComboBox*>(QStringLiteral("taskStateFilter"));
    QVERIFY(states);
    states->setCurrentIndex(states->findData(int(StateType::Failed)));
    QCOMPARE(model->query().state, QStringLiteral("FAILED"));
    QTRY_VERIFY_WITH_TIMEOUT(model->isComplete() && !model->isReading(), 30000);
    QCOMPARE(model->rowCount(), 3);
    QCOMPARE(model->data(model->index(2, TaskRunModel::MessageColumn)).toString(),
             QStringLiteral("boom on purpose"));
    states->setCurrentIndex(0);
    auto* search = page->findChild<QLineEdit*>(QStringLiteral("taskSearch"));
    QVERIFY(search);
    search->setText(QStringLiteral("ON PURPOSE"));
    QTRY_VERIFY_WITH_TIMEOUT(
        model->query().search == u"ON PURPOSE" && model->isComplete() && !model->isReading(), 30000);
    QCOMPARE(model->rowCount(), 3);
    search->clear();
    QTRY_VERIFY_WITH_TIMEOUT(model->query().search.isEmpty() && model->rowCount() > 3, 30000);

    // Sorting asks the database: by index, descending, the last task run comes first.
    page->view()->sortByColumn(TaskRunModel::MapIndexColumn, Qt::DescendingOrder);
    QCOMPARE(model->query().order, TaskRunOrder::MapIndex);
    QTRY_VERIFY_WITH_TIMEOUT(model->rowCount() > 0 && !model->isReading(), 30000);
    QCOMPARE(model->data(model->index(0, TaskRunModel::MapIndexColumn)).toInt(), tasks - 1);
    QVERIFY(model->rowCount() <= 4 * StoredTaskRunModel::PageSize);

    // A row's detail is read from the store.
    Q_EMIT page->view()->activated(model->index(0, 0));
    TaskRunDetailPanel* panel = page->detailPanel();
    QTRY_VERIFY(panel->isVisible());
    QTRY_VERIFY_WITH_TIMEOUT(panel->historyTable()->rowCount() >= 3, 30000);
    QVERIFY2(panel->summary()->text().contains(QStringLiteral("Kind: noop")),
             qPrintable(panel->summary()->text()));
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
// The detail says which limits a task run waits for or holds: its limited tag, a global limit it
// occupies two slots of, its rate limit and its flow run's limit; live, and read back from the store.
void TestRunPage::taskRunDetailShowsTheLimitsItOccupies()
{
    QFETCH(QString, backend);
    OPEN_BACKEND(backend, db);
    const QJsonObject doc = QJsonDocument::fromJson(R"({"name": "limited", "concurrency": ["nightly"],
        "tasks": [{"id": "load", "kind": "sleep", "seconds": 0, "tags": ["gpu"],
                   "concurrency": [{"name": "warehouse", "occupy": 2}], "rate_limit": "api"}]})")
                                .object();
    FlowRun* run = m_context->startFlow(doc, QStringLiteral("test"), {}, nullptr);
    QVERIFY(run);
    QTRY_VERIFY_WITH_TIMEOUT(run->isTerminal(), 20000);
    const QString id = run->id.toString();

    auto check = [](RunPage* page) {
        QLabel* limits = page->detailPanel()->limits();
        QTRY_VERIFY(page->detailPanel()->isVisible());
        QTRY_VERIFY(limits->isVisible());
        const QString text = limits->text();
        QVERIFY2(text.contains(QStringLiteral("Limited tags: gpu")), qPrintable(text));
        QVERIFY2(text.contains(QStringLiteral("Global limits: warehouse (occupies 2)")), qPrintable(text));
        QVERIFY2(text.contains(QStringLiteral("Rate limit: api")), qPrintable(text));
        QVERIFY2(text.contains(QStringLiteral("Flow run limits: nightly")), qPrintable(text));
    };

    RunPage* page = m_window->runPage();
    m_window->showRun(run);
    QTRY_COMPARE(page->view()->model()->rowCount(), 1);
    clickRow(page->view(), 0);
    check(page);
    if (QTest::currentTestFailed())
        return;

    // Stored, in a new session: read from the flow run's document in the database.
    cleanup();
    makeWindow();
    QVERIFY(openDatabase(db));
    FlowRunModel* runs = m_window->runsPage()->model();
    QTRY_COMPARE_WITH_TIMEOUT(runs->rowCount(), 1, 10000);
    FlowRun* stored = runs->flowRunAt(0);
    QCOMPARE(stored->id.toString(), id);
    page = m_window->runPage();
    m_window->showRun(stored);
    QTRY_COMPARE_WITH_TIMEOUT(page->view()->model()->rowCount(), 1, 10000);
    clickRow(page->view(), 0);
    check(page);
}

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

// The Run page tells who started the run (this dashboard, by user, host and pid), its seed and its
// parameter values; the store keeps who started it, and a later session shows it from there.
void TestRunPage::runShowsParametersSeedAndWhoStartedIt()
{
    QFETCH(QString, backend);
    OPEN_BACKEND(backend, url);
    const QString path = m_flows + QStringLiteral("/params.json");
    const QJsonObject overrides{{QStringLiteral("n"), 2}, {QStringLiteral("label"), QStringLiteral("hello")}};
    FlowRun* run = m_context->startFlow(readJson(path), path, overrides, nullptr);
    QVERIFY(run);
    m_window->showRun(run);
    RunPage* page = m_window->runPage();
    const QString pid = QStringLiteral("pid %1").arg(QCoreApplication::applicationPid());
    QVERIFY2(run->startedBy.startsWith(QStringLiteral("Flowdeck dashboard ("))
                 && run->startedBy.contains(pid),
             qPrintable(run->startedBy));
    auto verifyInfo = [](const QString& info, const QString& startedBy, quint64 seed) -> QString {
        if (!info.contains(QStringLiteral("started by ") + startedBy))
            return QStringLiteral("no started by in: ") + info;
        if (!info.contains(QStringLiteral("seed %1").arg(seed)))
            return QStringLiteral("no seed in: ") + info;
        for (const char* value : {"n=2", "label=\"hello\"", "delay=0.05", "loud=false", "extra=[1,2]"}) {
            if (!info.contains(QLatin1String(value)))
                return QStringLiteral("no %1 in: %2").arg(QLatin1String(value), info);
        }
        return QString();
    };
    QString problem = verifyInfo(page->runInfo()->text(), run->startedBy, run->seed);
    QVERIFY2(problem.isEmpty(), qPrintable(problem));
    QVERIFY(page->runInfo()->toolTip().contains(QStringLiteral("Parameters:\n  delay=0.05")));
    QVERIFY(page->runInfo()->toolTip().contains(QStringLiteral("Started by: ") + run->startedBy));
    QTRY_VERIFY_WITH_TIMEOUT(run->isTerminal(), 20000);
    m_context->flush();

    // Stored with the run ...
    ConnectionPool* pool = m_context->database().pool();
    QVERIFY(pool);
    const QString id = run->id.toString();
    const QString startedBy = run->startedBy;
    const quint64 seed = run->seed;
    QTRY_COMPARE(flowdeck::test::runOnPool(
                     *pool,
                     [id](QSqlDatabase& db) {
                         QSqlQuery q(db);
                         q.prepare(QStringLiteral("SELECT started_by FROM flow_runs WHERE id = ?"));
                         q.addBindValue(id);
                         return q.exec() && q.next() ? q.value(0).toString() : QString();
                     }),
                 startedBy);

    // ... and shown from the store in a later session.
    cleanup();
    makeWindow();
    QVERIFY(openDatabase(url));
    FlowRunModel* runs = m_window->runsPage()->model();
    QTRY_COMPARE_WITH_TIMEOUT(runs->rowCount(), 1, 10000);
    FlowRun* stored = runs->flowRunAt(0);
    QVERIFY(m_context->history().isStored(stored));
    m_window->showRun(stored);
    problem = verifyInfo(m_window->runPage()->runInfo()->text(), startedBy, seed);
    QVERIFY2(problem.isEmpty(), qPrintable(problem));
}

// Flow Document shows the document the run ran, as written, and copies it whole.
void TestRunPage::flowDocumentShowsAndCopiesTheDocument()
{
    const QString path = m_flows + QStringLiteral("/params.json");
    const QJsonObject document = readJson(path);
    FlowRun* run = m_context->startFlow(document, path, QJsonObject{{QStringLiteral("n"), 1}}, nullptr);
    QVERIFY(run);
    m_window->showRun(run);
    RunPage* page = m_window->runPage();
    auto* button = page->findChild<QToolButton*>(QStringLiteral("flowDocumentActionButton"));
    QVERIFY(button && button->isVisible() && button->isEnabled());
    QTest::mouseClick(button, Qt::LeftButton);
    auto* dialog = openDialog<FlowDocumentDialog>(page);
    QVERIFY(dialog);
    QVERIFY(dialog->windowTitle().contains(shortId(run->id.toString())));
    QCOMPARE(QJsonDocument::fromJson(dialog->text().toUtf8()).object(), document);
    QGuiApplication::clipboard()->clear();
    QVERIFY(dialog->copyButton()->isEnabled());
    QTest::mouseClick(dialog->copyButton(), Qt::LeftButton);
    QCOMPARE(QGuiApplication::clipboard()->text(), dialog->text());
    dialog->close();
}

// Retry, Run Again and Pause follow the run's state: disabled with a tooltip that says why.
void TestRunPage::operationsSayWhyTheyAreNotAvailable()
{
    RunPage* page = m_window->runPage();
    RunActions* actions = page->runActions();
    auto start = [this](const QString& file) {
        const QString path = m_flows + QLatin1Char('/') + file;
        return m_context->startFlow(readJson(path), path, {}, nullptr);
    };

    // Without a database nothing can be retried or paused; a run of this app can still run again.
    FlowRun* failedHere = start(QStringLiteral("failing.json"));
    QVERIFY(failedHere);
    QTRY_VERIFY_WITH_TIMEOUT(failedHere->type == StateType::Failed, 10000);
    m_context->flush();
    m_window->showRun(failedHere);
    QVERIFY(!actions->retryAction()->isEnabled());
    QCOMPARE(actions->retryAction()->toolTip(),
             QStringLiteral("Retry is not available: the database is not open"));
    QVERIFY(actions->runAgainAction()->isEnabled());

    QTemporaryDir dir;
    QVERIFY(openDatabase(dir.filePath(QStringLiteral("ops.db"))));
    FlowRun* failed = start(QStringLiteral("failing.json"));
    FlowRun* slow = start(QStringLiteral("slow.json"));
    FlowRun* quick = start(QStringLiteral("quick.json"));
    QVERIFY(failed && slow && quick);
    QTRY_VERIFY_WITH_TIMEOUT(failed->type == StateType::Failed && quick->type == StateType::Completed, 10000);
    m_context->flush();

    m_window->showRun(failed);
    QVERIFY(actions->retryAction()->isEnabled());
    QVERIFY2(actions->retryAction()->toolTip().endsWith(QStringLiteral("(Ctrl+T)")),
             qPrintable(actions->retryAction()->toolTip()));
    QVERIFY(!actions->pauseResumeAction()->isEnabled());
    QCOMPARE(actions->pauseResumeAction()->text(), QStringLiteral("&Pause"));
    QCOMPARE(
        actions->pauseResumeAction()->toolTip(),
        QStringLiteral("Pause is not available: it has finished (FAILED): only an active run can be paused"));
    auto* retryButton = page->findChild<QToolButton*>(QStringLiteral("retryActionButton"));
    QVERIFY(retryButton && retryButton->isEnabled());

    m_window->showRun(quick);
    QVERIFY(!actions->retryAction()->isEnabled());
    QVERIFY(!retryButton->isEnabled());
    QCOMPARE(
        actions->retryAction()->toolTip(),
        QStringLiteral("Retry is not available: it is COMPLETED: only a FAILED, CRASHED or CANCELLED run "
                       "can be retried (use Run Again for a new run)"));
    QVERIFY(actions->runAgainAction()->isEnabled());

    m_window->showRun(slow);
    QVERIFY(!actions->retryAction()->isEnabled());
    QCOMPARE(
        actions->retryAction()->toolTip(),
        QStringLiteral("Retry is not available: it is still RUNNING: only a FAILED, CRASHED or CANCELLED run "
                       "can be retried"));
    QVERIFY(actions->pauseResumeAction()->isEnabled());
    QVERIFY(actions->pauseResumeAction()->toolTip().endsWith(QStringLiteral("(Ctrl+P)")));

    // The state moving on re-evaluates the actions of the run shown.
    m_context->cancelFlowRun(slow);
    QTRY_VERIFY_WITH_TIMEOUT(slow->type == StateType::Cancelled, 10000);
    QTRY_VERIFY(actions->retryAction()->isEnabled());
    QTRY_VERIFY(!actions->pauseResumeAction()->isEnabled());
}

// Run Again opens the start dialog with the run's values; a changed value starts a new run with it.
void TestRunPage::runAgainStartsANewRunWithChangedValues()
{
    const QString path = m_flows + QStringLiteral("/params.json");
    FlowRun* run = m_context->startFlow(
        readJson(path), path,
        QJsonObject{{QStringLiteral("n"), 4}, {QStringLiteral("label"), QStringLiteral("again")}}, nullptr);
    QVERIFY(run);
    QTRY_VERIFY_WITH_TIMEOUT(run->isTerminal(), 10000);
    m_context->flush();
    m_window->showRun(run);
    RunPage* page = m_window->runPage();
    page->view()->setFocus();
    QTest::keyClick(page->view(), Qt::Key_R, Qt::ControlModifier | Qt::ShiftModifier);
    auto* dialog = openDialog<StartFlowDialog>(page);
    QVERIFY(dialog);
    auto* n = qobject_cast<QSpinBox*>(dialog->editor(QStringLiteral("n")));
    QVERIFY(n);
    QCOMPARE(n->value(), 4);
    QCOMPARE(qobject_cast<QLineEdit*>(dialog->editor(QStringLiteral("label")))->text(),
             QStringLiteral("again"));
    QVERIFY(dialog->sameSeedBox() && !dialog->sameSeedBox()->isChecked()); // a new seed, as runs rerun
    n->setValue(2);
    QTest::mouseClick(dialog->findChild<QPushButton*>(QStringLiteral("startButton")), Qt::LeftButton);
    QTRY_VERIFY(page->flowRun() && page->flowRun() != run);
    FlowRun* again = page->flowRun();
    QCOMPARE(again->def.name, run->def.name);
    QCOMPARE(again->def.parameters.value(QStringLiteral("n")).toInt(), 2);
    QCOMPARE(again->def.parameters.value(QStringLiteral("label")).toString(), QStringLiteral("again"));
    QVERIFY(!again->def.seed); // drawn anew
    QCOMPARE(again->def.source, path);
    QVERIFY(again->id != run->id);
    QTRY_COMPARE_WITH_TIMEOUT(again->totalTaskRuns, qint64(2), 10000);
    // Who started it says which run it repeats; the next plain start is this dashboard's again.
    QCOMPARE(again->startedBy, run->startedBy + QStringLiteral(", again as ") + run->id.toString());
    FlowRun* plain = m_context->startFlow(readJson(path), path, {}, nullptr);
    QVERIFY(plain);
    QCOMPARE(plain->startedBy, run->startedBy);
}

// A run of an earlier session: its document and its values come from the database, for the Document
// dialog and for Run Again alike.
void TestRunPage::storedRunDocumentAndRunAgainComeFromTheStore()
{
    QFETCH(QString, backend);
    OPEN_BACKEND(backend, url);
    const QString path = m_flows + QStringLiteral("/params.json");
    const QJsonObject document = readJson(path);
    FlowRun* run = m_context->startFlow(document, path, QJsonObject{{QStringLiteral("n"), 2}}, nullptr);
    QVERIFY(run);
    QTRY_VERIFY_WITH_TIMEOUT(run->isTerminal(), 20000);
    const QString id = run->id.toString();
    const quint64 seed = run->seed;
    cleanup();
    makeWindow();
    QVERIFY(openDatabase(url));
    QTRY_COMPARE_WITH_TIMEOUT(m_window->runsPage()->model()->rowCount(), 1, 10000);
    FlowRun* stored = m_window->runsPage()->model()->flowRunAt(0);
    QVERIFY(m_context->history().isStored(stored));
    m_window->showRun(stored);
    RunPage* page = m_window->runPage();

    QTest::mouseClick(page->findChild<QToolButton*>(QStringLiteral("flowDocumentActionButton")),
                      Qt::LeftButton);
    auto* dialog = openDialog<FlowDocumentDialog>(page);
    QVERIFY(dialog);
    QTRY_VERIFY_WITH_TIMEOUT(!dialog->text().isEmpty(), 10000);
    QCOMPARE(QJsonDocument::fromJson(dialog->text().toUtf8()).object(), document);
    dialog->close();

    QTest::mouseClick(page->findChild<QToolButton*>(QStringLiteral("runAgainActionButton")), Qt::LeftButton);
    auto* start = openDialog<StartFlowDialog>(page);
    QVERIFY(start);
    auto* n = qobject_cast<QSpinBox*>(start->editor(QStringLiteral("n")));
    QVERIFY(n);
    QCOMPARE(n->value(), 2);
    QVERIFY(start->sameSeedBox() && !start->sameSeedBox()->isChecked());
    start->sameSeedBox()->setChecked(true);
    n->setValue(1);
    QTest::mouseClick(start->findChild<QPushButton*>(QStringLiteral("startButton")), Qt::LeftButton);
    QTRY_VERIFY(page->flowRun() && page->flowRun() != stored);
    FlowRun* again = page->flowRun();
    QVERIFY(!m_context->history().isStored(again));
    QCOMPARE(again->def.parameters.value(QStringLiteral("n")).toInt(), 1);
    QCOMPARE(again->seed, seed);
    QVERIFY2(again->startedBy.endsWith(QStringLiteral(", again as ") + id), qPrintable(again->startedBy));
    QTRY_VERIFY_WITH_TIMEOUT(again->isTerminal(), 20000);
    QCOMPARE(toString(again->type), toString(StateType::Completed));
}

// An operation the database refuses (the run moved on meanwhile) says why in the status bar; nothing
// throws into the event loop, and the action is offered again.
void TestRunPage::refusedOperationIsReportedNotThrown()
{
    QTemporaryDir dir;
    QVERIFY(openDatabase(dir.filePath(QStringLiteral("refused.db"))));
    const QString path = m_flows + QStringLiteral("/failing.json");
    FlowRun* run = m_context->startFlow(readJson(path), path, {}, nullptr);
    QVERIFY(run);
    QTRY_VERIFY_WITH_TIMEOUT(run->type == StateType::Failed, 10000);
    m_context->flush();
    // Another process retried it and it completed: the stored row says so, the page not yet.
    ConnectionPool* pool = m_context->database().pool();
    const QString id = run->id.toString();
    QTRY_VERIFY(flowdeck::test::runOnPool(*pool, [id](QSqlDatabase& db) {
        QSqlQuery q(db);
        q.prepare(QStringLiteral(
            "UPDATE flow_runs SET state = 'COMPLETED', state_name = 'Completed' WHERE id = ?"));
        q.addBindValue(id);
        return q.exec() && q.numRowsAffected() == 1;
    }));
    m_window->showRun(run);
    RunPage* page = m_window->runPage();
    auto* retry = page->findChild<QToolButton*>(QStringLiteral("retryActionButton"));
    QVERIFY(retry->isEnabled());
    QTest::mouseClick(retry, Qt::LeftButton);
    QTRY_VERIFY_WITH_TIMEOUT(m_window->statusBar()->currentMessage().startsWith(
                                 QStringLiteral("Cannot retry failing (%1): ").arg(shortId(id))),
                             10000);
    QVERIFY(run->type == StateType::Failed);
    QTRY_VERIFY(retry->isEnabled()); // no longer under way
}

// At 900x600 the header keeps every operation in reach, beside a long parameter line that shrinks.
void TestRunPage::headerFitsASmallWindow()
{
    const QString path = m_flows + QStringLiteral("/params.json");
    FlowRun* run = m_context->startFlow(readJson(path), path,
                                        QJsonObject{{QStringLiteral("label"), QString(300, u'x')}}, nullptr);
    QVERIFY(run);
    m_window->resize(900, 600);
    m_window->showRun(run);
    RunPage* page = m_window->runPage();
    QTRY_COMPARE(m_window->size(), QSize(900, 600));
    QTRY_VERIFY(page->width() < 900);
    for (const char* name : {"flowDocumentActionButton", "retryActionButton", "runAgainActionButton",
                             "pauseResumeActionButton", "cancelFlowRunButton"}) {
        auto* button = page->findChild<QAbstractButton*>(QLatin1String(name));
        QVERIFY2(button && button->isVisible(), name);
        const QRect inPage(button->mapTo(page, QPoint(0, 0)), button->size());
        QVERIFY2(page->rect().contains(inPage),
                 qPrintable(QStringLiteral("%1 at %2,%3 %4x%5 in a page %6 wide")
                                .arg(QLatin1String(name))
                                .arg(inPage.x())
                                .arg(inPage.y())
                                .arg(inPage.width())
                                .arg(inPage.height())
                                .arg(page->width())));
        QVERIFY2(button->width() >= button->sizeHint().width(), name); // not squeezed
    }
    ElidedLabel* info = page->runInfo();
    QVERIFY(info->width() > 0 && info->shownText().endsWith(QStringLiteral("…")));
    QVERIFY(info->toolTip().contains(QString(300, u'x')));
    const QSize minimum = m_window->minimumSizeHint().expandedTo(m_window->minimumSize());
    QVERIFY2(minimum.width() <= 900 && minimum.height() <= 500,
             qPrintable(QStringLiteral("%1x%2").arg(minimum.width()).arg(minimum.height())));
}

FLOWDECK_GUI_TEST_MAIN(TestRunPage, "tst_runpage")

#include "tst_runpage.moc"
