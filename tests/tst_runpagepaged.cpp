// The Run page on a paged stored flow run (too large to read whole): it follows another process that
// runs it, and its filters keep the rows shown until their answer comes, the last one asked for.
#include "context/runhistory.h"
#include "models/flowrunmodel.h"
#include "models/storedtaskrunmodel.h"
#include "models/taskrunmodel.h"
#include "pages/runpage.h"
#include "pages/runspage.h"
#include "run/engine.h"
#include "run/flowrun.h"
#include "session/enginelink.h"
#include "store/connectionpool.h"
#include "store/databaseurl.h"
#include "store/store.h"
#include "testutil.h"
#include "uitestutil.h"
#include "widgets/progresswidget.h"
#include "widgets/rungraphwidget.h"

#include <QComboBox>
#include <QElapsedTimer>
#include <QItemSelectionModel>
#include <QJsonDocument>
#include <QJsonObject>
#include <QLineEdit>
#include <QProgressBar>
#include <QScrollBar>
#include <QSignalSpy>
#include <QSqlQuery>
#include <QTabWidget>
#include <QTableView>
#include <QTest>
#include <QTimer>

#include <memory>

using namespace flowdeck;
using namespace flowdeck::uitest;

namespace {

//! Task runs of "work" in the runs written here: just over the paged threshold.
constexpr int Work = int(RunHistory::PagedTaskRuns) + 100;

//! An engine and store of their own on the database at a URL, as another process (`flowdeck run`, a
//! worker) would have: the dashboard sees its runs only through the database.
struct OtherProcess {
    explicit OtherProcess(const DatabaseUrl& url)
        : pool(url)
        , store(pool, engine.scheduler())
    {
    }
    Engine engine;
    ConnectionPool pool;
    Store store;
    std::unique_ptr<EngineLink> link;
};

} // namespace

class TestRunPagePaged : public QObject, public Dashboard {
    Q_OBJECT

private Q_SLOTS:
    void initTestCase() { writeFlows(); }
    void init() { makeWindow(); }
    void cleanup() { tearDown(); }

    void followsARunOfAnotherProcess_data() { flowdeck::test::addBackendRows(); }
    void followsARunOfAnotherProcess();
    void filtersKeepRowsAndApplyTheLastAsked_data() { flowdeck::test::addBackendRows(); }
    void filtersKeepRowsAndApplyTheLastAsked();
    void aLargeRunOfThisDashboardIsReadFromTheStore_data() { flowdeck::test::addBackendRows(); }
    void aLargeRunOfThisDashboardIsReadFromTheStore();

private:
    //! Starts \a flowJson in another process (an engine and store of its own) on \a url.
    std::unique_ptr<OtherProcess> startElsewhere(const QString& url, const QString& flowJson, FlowRun** run);
    //! Shows the newest stored run on the Run page once the history has it; waits for its first page.
    FlowRun* openPaged(const QString& id);
};

std::unique_ptr<OtherProcess> TestRunPagePaged::startElsewhere(const QString& url, const QString& flowJson,
                                                               FlowRun** run)
{
    QString error;
    const auto parsed = DatabaseUrl::parse(url, &error);
    if (!parsed) {
        qWarning("%s", qPrintable(error));
        return nullptr;
    }
    auto other = std::make_unique<OtherProcess>(*parsed);
    auto opening = other->store.open();
    flowdeck::test::finish(opening);
    other->link = std::make_unique<EngineLink>(other->store, other->engine);
    const auto flow = flowdeck::test::parseFlow(flowJson.toUtf8());
    if (!flow)
        return nullptr;
    *run = other->engine.start(*flow);
    return other;
}

FlowRun* TestRunPagePaged::openPaged(const QString& id)
{
    FlowRunModel* runs = m_window->runsPage()->model();
    if (!QTest::qWaitFor([&] { return runs->rowCount() >= 1; }, 20000))
        return nullptr;
    FlowRun* stored = runs->flowRunAt(0);
    if (!stored || stored->id.toString() != id || !m_context->history().isPaged(stored)) {
        qWarning("not the paged run %s: %s, %lld task runs", qPrintable(id),
                 stored ? qPrintable(stored->id.toString()) : "none", stored ? stored->totalTaskRuns : 0);
        return nullptr;
    }
    m_window->showRun(stored);
    RunPage* page = m_window->runPage();
    StoredTaskRunModel* model = page->pagedModel();
    if (!QTest::qWaitFor(
            [&] { return page->view()->model() == model && model->rowCount() > 0 && !model->isReading(); },
            30000))
        return nullptr;
    return stored;
}

// Another process runs a flow run of more than PagedTaskRuns task runs; the dashboard shows it paged.
// Its task runs waiting for approval are approved over there: the open page's rows and counts follow
// within seconds, the selection and scroll position stay, and when the run ends the refresh stops.
void TestRunPagePaged::followsARunOfAnotherProcess()
{
    QFETCH(QString, backend);
    cleanup();
    FLOWDECK_FRESH_DATABASE(url, backend);
    // "approve" sorts before "work": its three runs are the first rows in task order.
    FlowRun* run = nullptr;
    auto other = startElsewhere(url,
                                QStringLiteral(R"({"name": "growing", "tasks": [
        {"id": "approve", "kind": "approval", "map": 3, "prompt": "go?"},
        {"id": "work", "kind": "noop", "map": %1}]})")
                                    .arg(Work),
                                &run);
    QVERIFY(other && run);
    QTRY_VERIFY_WITH_TIMEOUT(
        run->count(StateType::Completed) == Work && other->engine.awaitingApprovals().size() == 3, 300000);
    auto flushing = other->store.flush();
    flowdeck::test::finish(flushing, 120000);

    makeWindow();
    QVERIFY(openDatabase(url));
    FlowRun* stored = openPaged(run->id.toString());
    QVERIFY(stored);
    RunPage* page = m_window->runPage();
    StoredTaskRunModel* model = page->pagedModel();
    QTableView* view = page->view();
    const auto stateAt
        = [&](int row) { return model->data(model->index(row, TaskRunModel::StateColumn)).toString(); };
    QCOMPARE(model->data(model->index(0, TaskRunModel::TaskColumn)).toString(), QStringLiteral("approve"));
    QCOMPARE(stateAt(0), QStringLiteral("AwaitingApproval"));
    QCOMPARE(stateAt(2), QStringLiteral("AwaitingApproval"));
    QCOMPARE(stored->count(StateType::Completed), qint64(Work));
    auto* progress = page->findChild<ProgressWidget*>(QStringLiteral("runProgress"));
    QVERIFY(progress);
    QTRY_COMPARE(progress->value(), qint64(Work));

    // Its graph: a node per task with the database's counts of its task runs per state. It has no
    // timeline (that would walk every task run): the graph shows in its place.
    auto* views = page->findChild<QTabWidget*>(QStringLiteral("runViews"));
    QVERIFY(views);
    QVERIFY(!views->isTabEnabled(0));
    QCOMPARE(int(page->currentView()), int(RunPage::View::Graph));
    RunGraphWidget* graph = page->graph();
    QTRY_VERIFY_WITH_TIMEOUT(graph->nodeCount() == 2, 30000);
    QTRY_COMPARE_WITH_TIMEOUT(graph->countsOf(QStringLiteral("work")).count(StateType::Completed),
                              qint64(Work), 30000);
    QCOMPARE(graph->countsOf(QStringLiteral("work")).total, qint64(Work));
    QCOMPARE(graph->countsOf(QStringLiteral("approve")).count(StateType::Paused), qint64(3));
    QVERIFY2(graph->toolTipFor(QStringLiteral("approve")).contains(QStringLiteral("3 task runs")),
             qPrintable(graph->toolTipFor(QStringLiteral("approve"))));

    // The biggest gap between ticks of a 1 ms timer while the page follows the run: how long the loop
    // stopped for the refreshes.
    test::LoopGapProbe probe;

    // The user selected a row; rows arrive and change only in place.
    view->selectionModel()->select(model->index(1, 0),
                                   QItemSelectionModel::ClearAndSelect | QItemSelectionModel::Rows);
    const int scroll = view->verticalScrollBar()->value();
    QSignalSpy resets(model, &QAbstractItemModel::modelReset);
    const int rowsBefore = model->rowCount();

    // Two of three approved in the other process.
    const std::vector<TaskRun*> waiting = other->engine.awaitingApprovals();
    QVERIFY(other->engine.decideApproval(waiting[0], true, {}, QStringLiteral("tester")));
    QVERIFY(other->engine.decideApproval(waiting[1], true, {}, QStringLiteral("tester")));
    QTRY_VERIFY_WITH_TIMEOUT(stateAt(0) == u"Completed" && stateAt(1) == u"Completed", 30000);
    QCOMPARE(stateAt(2), QStringLiteral("AwaitingApproval"));
    QTRY_COMPARE_WITH_TIMEOUT(stored->count(StateType::Completed), qint64(Work + 2), 30000);
    QTRY_COMPARE_WITH_TIMEOUT(progress->value(), qint64(Work + 2), 30000);
    QTRY_COMPARE_WITH_TIMEOUT(graph->countsOf(QStringLiteral("approve")).count(StateType::Completed),
                              qint64(2), 30000);
    QCOMPARE(graph->countsOf(QStringLiteral("approve")).count(StateType::Paused), qint64(1));
    QCOMPARE(resets.count(), 0);
    QVERIFY(view->selectionModel()->isRowSelected(1, {}));
    QCOMPARE(view->verticalScrollBar()->value(), scroll);
    // What is in view was read again, not the run: the rows are those read before.
    QCOMPARE(model->rowCount(), rowsBefore);

    // A task run created in between goes on top of the rows in view in task order (written here as a
    // row: the engine creates a flow's task runs up front, but a big map in steps).
    auto inserting = other->pool.run([id = run->id.toString()](QSqlDatabase& db) {
        QSqlQuery q(db);
        q.prepare(
            QStringLiteral("INSERT INTO task_runs (id, flow_run_id, task, state, state_name, created_at) "
                           "VALUES (?, ?, 'aaa', 'COMPLETED', 'Completed', 1)"));
        q.addBindValue(QStringLiteral("inserted-by-test"));
        q.addBindValue(id);
        return q.exec();
    });
    QVERIFY(flowdeck::test::finish(inserting));

    // The last one: the run ends, the rows show it, and the page stops reading.
    QVERIFY(other->engine.decideApproval(waiting[2], true, {}, QStringLiteral("tester")));
    QVERIFY(flowdeck::test::waitForFlow(other->engine, run, 60000));
    QTRY_VERIFY_WITH_TIMEOUT(model->data(model->index(0, TaskRunModel::TaskColumn)).toString() == u"aaa"
                                 && stateAt(3) == u"Completed",
                             30000);
    QTRY_VERIFY_WITH_TIMEOUT(!model->isRefreshing() && !model->isReading(), 30000);
    // The rows read below the view moved down by one: each follows the one above it, none is shown
    // twice or skipped.
    for (int row = 1; row < model->rowCount(); ++row) {
        const StoredTaskRunRow* above = model->rowAt(row - 1);
        const StoredTaskRunRow* here = model->rowAt(row);
        const bool next
            = above->task == here->task ? here->mapIndex == above->mapIndex + 1 : above->task < here->task;
        QVERIFY2(next,
                 qPrintable(QStringLiteral("row %1: %2[%3] after %4[%5]")
                                .arg(row)
                                .arg(here->task)
                                .arg(here->mapIndex)
                                .arg(above->task)
                                .arg(above->mapIndex)));
    }
    QVERIFY(model->rowCount() >= 5);
    probe.stop();
    qInfo("following a run of %d task runs for %lld ms: the loop stopped for at most %.1f ms (the other "
          "process's engine shares this loop)",
          Work + 3, probe.elapsedMs(), double(probe.maxGapNs()) / 1e6);
    QTRY_VERIFY_WITH_TIMEOUT(stored->isTerminal(), 30000);
    QTRY_VERIFY_WITH_TIMEOUT(!page->pagedRefreshTimer()->isActive(), 30000);
    QCOMPARE(toString(stored->type), toString(StateType::Completed));
    QCOMPARE(resets.count(), 0);

    // Another run (here: none) has its timeline again.
    page->setFlowRun(nullptr);
    QVERIFY(views->isTabEnabled(0));
}

// A filter on a paged run is a query of seconds on a million rows: the rows shown stay, with a busy
// indicator, until its answer replaces them at once; filters asked for on top of each other apply
// only the last, and typing on in the search asks once it pauses.
void TestRunPagePaged::filtersKeepRowsAndApplyTheLastAsked()
{
    QFETCH(QString, backend);
    cleanup();
    FLOWDECK_FRESH_DATABASE(url, backend);
    FlowRun* run = nullptr;
    auto other = startElsewhere(url,
                                QStringLiteral(R"({"name": "filtered", "tasks": [
        {"id": "work", "kind": "noop", "map": %1},
        {"id": "boom", "kind": "fail", "map": 3, "message": "boom on purpose"}]})")
                                    .arg(Work),
                                &run);
    QVERIFY(other && run);
    QVERIFY(flowdeck::test::waitForFlow(other->engine, run, 300000));
    auto flushing = other->store.flush();
    flowdeck::test::finish(flushing, 120000);
    const QString id = run->id.toString();
    other.reset(); // the other process is gone: the run is only in the database

    makeWindow();
    QVERIFY(openDatabase(url));
    FlowRun* stored = openPaged(id);
    QVERIFY(stored);
    QVERIFY(stored->isTerminal());
    RunPage* page = m_window->runPage();
    StoredTaskRunModel* model = page->pagedModel();
    QProgressBar* busy = page->queryBusy();
    QVERIFY(!busy->isVisibleTo(page));
    const int rowsBefore = model->rowCount();
    QVERIFY(rowsBefore >= StoredTaskRunModel::PageSize);
    const QString firstTask = model->data(model->index(0, TaskRunModel::TaskColumn)).toString();

    // What each applied answer was asked for, in order.
    QStringList applied;
    connect(model, &QAbstractItemModel::modelReset, this,
            [&] { applied << model->query().state + u'/' + model->query().search; });

    // Three states chosen one after the other, before any answer can come back (answers resume on
    // this thread's loop): the old rows stay, busy, then only the last is applied.
    auto* states = page->findChild<QComboBox*>(QStringLiteral("taskStateFilter"));
    QVERIFY(states);
    states->setCurrentIndex(states->findData(int(StateType::Completed)));
    states->setCurrentIndex(states->findData(int(StateType::Running)));
    states->setCurrentIndex(states->findData(int(StateType::Failed)));
    QVERIFY(model->isReplacing());
    QVERIFY(busy->isVisibleTo(page));
    QCOMPARE(model->rowCount(), rowsBefore);
    QCOMPARE(model->data(model->index(0, TaskRunModel::TaskColumn)).toString(), firstTask);
    QVERIFY(!model->canFetchMore({})); // no page of the old query is read on top
    QTRY_VERIFY_WITH_TIMEOUT(!model->isReplacing(), 30000);
    QCOMPARE(applied, QStringList{QStringLiteral("FAILED/")});
    QCOMPARE(model->rowCount(), 3);
    QVERIFY(!busy->isVisibleTo(page));

    // Typing: each key well within the search's delay; one query, for the whole text.
    states->setCurrentIndex(0);
    QTRY_VERIFY_WITH_TIMEOUT(!model->isReplacing() && model->rowCount() > 3, 30000);
    applied.clear();
    auto* search = page->findChild<QLineEdit*>(QStringLiteral("taskSearch"));
    QVERIFY(search);
    QTest::keyClicks(search, QStringLiteral("on purpose"), Qt::NoModifier, RunPage::SearchDelayMs / 10);
    QCOMPARE(model->rowCount() > 3, true); // still the unfiltered rows
    QTRY_VERIFY_WITH_TIMEOUT(model->query().search == u"on purpose" && !model->isReplacing(), 30000);
    QCOMPARE(applied, QStringList{QStringLiteral("/on purpose")});
    QCOMPARE(model->rowCount(), 3);
    QCOMPARE(model->data(model->index(0, TaskRunModel::MessageColumn)).toString(),
             QStringLiteral("boom on purpose"));
}

// A run this dashboard starts with Engine::releaseFinishedFrom() task runs or more frees those
// that finished: the Run page reads its task runs from the store a page at a time, as a paged stored
// run's, while the run goes on; its graph shows the counts the engine keeps per task, and its end
// shows in the rows.
void TestRunPagePaged::aLargeRunOfThisDashboardIsReadFromTheStore()
{
    QFETCH(QString, backend);
    cleanup();
    FLOWDECK_FRESH_DATABASE(url, backend);
    makeWindow();
    QVERIFY(openDatabase(url));
    m_context->engine().setReleaseFinishedFrom(Work); // rather than 200k task runs, for a shorter test
    const QJsonObject doc = QJsonDocument::fromJson(QStringLiteral(R"({"name": "large here", "tasks": [
        {"id": "approve", "kind": "approval", "map": 3, "prompt": "go?"},
        {"id": "work", "kind": "noop", "map": %1}]})")
                                                        .arg(Work)
                                                        .toUtf8())
                                .object();
    FlowRun* run = m_context->startFlow(doc, QStringLiteral("test"), {}, nullptr);
    QVERIFY(run);
    QVERIFY(run->releasesFinished);
    m_window->showRun(run);
    RunPage* page = m_window->runPage();
    StoredTaskRunModel* model = page->pagedModel();
    QCOMPARE(page->flowRun(), run);
    QTRY_COMPARE(page->view()->model(), static_cast<QAbstractItemModel*>(model));
    QCOMPARE(page->taskModel()->rowCount(), 0); // nothing read from the engine's task runs

    // Every run of "work" finishes and is freed; the approvals wait.
    QTRY_VERIFY_WITH_TIMEOUT(run->count(StateType::Completed) == Work && run->releasedTaskRuns == Work,
                             300000);
    QVERIFY(run->nodes[1].runs.find(0) == nullptr);
    const auto stateAt
        = [&](int row) { return model->data(model->index(row, TaskRunModel::StateColumn)).toString(); };
    QTRY_VERIFY_WITH_TIMEOUT(
        model->rowCount() >= 5 && stateAt(0) == u"AwaitingApproval" && stateAt(3) == u"Completed", 60000);
    QCOMPARE(model->data(model->index(0, TaskRunModel::TaskColumn)).toString(), QStringLiteral("approve"));
    auto* views = page->findChild<QTabWidget*>(QStringLiteral("runViews"));
    QVERIFY(views);
    QVERIFY(!views->isTabEnabled(0));
    RunGraphWidget* graph = page->graph();
    QTRY_VERIFY_WITH_TIMEOUT(graph->nodeCount() == 2
                                 && graph->countsOf(QStringLiteral("work")).count(StateType::Completed)
                                     == Work,
                             30000);
    QCOMPARE(graph->countsOf(QStringLiteral("work")).total, qint64(Work));
    QCOMPARE(graph->countsOf(QStringLiteral("approve")).count(StateType::Paused), qint64(3));

    // Approved here: the run ends, and the rows in view show it.
    const std::vector<TaskRun*> waiting = m_context->engine().awaitingApprovals();
    QCOMPARE(waiting.size(), std::size_t(3));
    for (TaskRun* approval : waiting)
        QVERIFY(m_context->engine().decideApproval(approval, true, {}, QStringLiteral("tester")));
    QTRY_VERIFY_WITH_TIMEOUT(run->isTerminal(), 60000);
    QCOMPARE(toString(run->type), toString(StateType::Completed));
    QTRY_VERIFY_WITH_TIMEOUT(stateAt(0) == u"Completed" && stateAt(2) == u"Completed", 30000);
    QTRY_COMPARE_WITH_TIMEOUT(graph->countsOf(QStringLiteral("approve")).count(StateType::Completed),
                              qint64(3), 30000);
    QTRY_VERIFY_WITH_TIMEOUT(!page->pagedRefreshTimer()->isActive(), 30000);
    QTRY_COMPARE_WITH_TIMEOUT(run->releasedTaskRuns, qint64(Work + 3), 30000);
}

FLOWDECK_GUI_TEST_MAIN(TestRunPagePaged, "tst_runpagepaged")

#include "tst_runpagepaged.moc"
