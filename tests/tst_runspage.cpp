// The Runs page: cancel with the Delete key, a failed run stands out, history survives a restart,
// progress and who ran a run, columns, operations on the selection. Its filters are in tst_runsfilters.
#include "context/appsettings.h"
#include "flow/flowparser.h"
#include "help/helpdialog.h"
#include "models/flowlistmodel.h"
#include "models/flowrunfiltermodel.h"
#include "models/flowrunmodel.h"
#include "models/logmodel.h"
#include "models/modelroles.h"
#include "models/taskrunmodel.h"
#include "pages/flowspage.h"
#include "pages/runpage.h"
#include "pages/runspage.h"
#include "store/connectionpool.h"
#include "store/store.h"
#include "style/statestyle.h"
#include "testutil.h"
#include "uitestutil.h"
#include "widgets/columnfitter.h"
#include "widgets/healthstrip.h"
#include "widgets/progresswidget.h"
#include "widgets/runactions.h"
#include "widgets/startflowdialog.h"

#include <QAbstractItemDelegate>
#include <QAction>
#include <QCoro/QCoroTask>
#include <QDate>
#include <QHeaderView>
#include <QImage>
#include <QJsonDocument>
#include <QMenu>
#include <QMessageBox>
#include <QPainter>
#include <QPushButton>
#include <QScrollBar>
#include <QSpinBox>
#include <QSqlError>
#include <QSqlQuery>
#include <QStatusBar>
#include <QStyleOptionViewItem>
#include <QTemporaryDir>
#include <QTest>
#include <QTimer>
#include <QToolButton>
#include <QTreeView>

using namespace flowdeck;
using namespace flowdeck::uitest;

class TestRunsPage : public QObject, public Dashboard {
    Q_OBJECT

private Q_SLOTS:
    void initTestCase() { writeFlows(); }
    void init()
    {
        appsettings::open().remove(QStringLiteral("Runs")); // no filter left over from another test
        makeWindow();
    }
    void cleanup() { tearDown(); }

    void cancelRunFromRunsPageWithDeleteKey();
    void failedRunIsNoticeable();
    void statusBarCountsRecentFailuresAndListsThem();
    void historySurvivesRestart();
    void queuedRunCountsFollowTheWorker();
    void progressCountsCompletedWorkAndEndStatesApart();
    void earlierRunsSayWhoRanThemAndWhen();
    void titleProgressCountsCompletedWork();
    void columnsHideOnANarrowWindowAndByChoice();
    void columnsAreChosenFromTheTablesMenu();
    void operationsFollowTheSelection();
    void pausedStoredRunOffersResume();
    void runAgainFromTheRunsPageByKeyboard();
    void helpListsTheOperationsShortcuts();
};

void TestRunsPage::cancelRunFromRunsPageWithDeleteKey()
{
    FlowsPage* flows = m_window->flowsPage();
    const FlowEntry* entry = flows->model()->entryAt(rowOf(QStringLiteral("slow.json")));
    QVERIFY(entry);
    FlowRun* run = m_context->startFlow(entry->document, entry->source, {}, nullptr);
    QVERIFY(run);
    QTRY_COMPARE(m_window->windowTitle(), QStringLiteral("1 running, 0%"));

    m_window->showPage(MainWindow::Page::Runs);
    QTreeView* view = m_window->runsPage()->view();
    QTRY_COMPARE(view->model()->rowCount(), 1);
    QVERIFY(!m_window->runsPage()->openAction()->isEnabled()); // nothing selected: nothing to open
    clickRow(view, 0);
    QVERIFY(m_window->runsPage()->openAction()->isEnabled());
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
    QTreeView* view = m_window->runsPage()->view();
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

void TestRunsPage::queuedRunCountsFollowTheWorker()
{
    QTemporaryDir dir;
    QVERIFY(openDatabase(dir.filePath(QStringLiteral("queued.db"))));
    // Queued for a worker: three task runs, none created yet.
    const FlowEntry* entry = m_window->flowsPage()->model()->entryAt(rowOf(QStringLiteral("slow.json")));
    ValidationErrors errors;
    const std::optional<FlowDefinition> flow
        = m_context->parser().resolve(entry->document, entry->source, errors);
    QVERIFY(flow);
    QVERIFY(m_context->history().queueFlowRun(*flow));
    FlowRunModel* runs = m_window->runsPage()->model();
    QTRY_COMPARE_WITH_TIMEOUT(runs->rowCount(), 1, 10000);
    auto counts = [runs] {
        QStringList out;
        for (int c :
             {FlowRunModel::WaitingColumn, FlowRunModel::RunningColumn, FlowRunModel::CompletedColumn})
            out << runs->index(0, c).data().toString();
        return out.join(QLatin1Char(' '));
    };
    QCOMPARE(counts(), QStringLiteral("3 0 0"));

    // A worker's writer moves the counts in the flow run's row, as another process: they are what the
    // table shows, also while the flow run's state stays RUNNING, and after it completed.
    ConnectionPool& pool = m_context->database().store()->pool();
    const QString id = runs->flowRunAt(0)->id.toString();
    auto write = [&pool, id](const QString& set) {
        auto writing = pool.run([id, set](QSqlDatabase& db) {
            QSqlQuery q(db);
            const bool ok = q.exec(QStringLiteral("UPDATE flow_runs SET %1 WHERE id = '%2'").arg(set, id));
            if (!ok)
                qWarning() << q.lastError().text();
            return ok;
        });
        return QCoro::waitFor(writing);
    };
    QVERIFY(write(
        QStringLiteral("state = 'RUNNING', state_name = 'Running', started_at = created_at, tr_pending = 2, "
                       "tr_running = 1")));
    m_context->history().reload();
    QTRY_COMPARE_WITH_TIMEOUT(counts(), QStringLiteral("2 1 0"), 10000);
    QVERIFY(write(QStringLiteral("tr_pending = 0, tr_running = 1, tr_completed = 2")));
    m_context->history().reload();
    QTRY_COMPARE_WITH_TIMEOUT(counts(), QStringLiteral("0 1 2"), 10000);
    QVERIFY(write(QStringLiteral("state = 'COMPLETED', state_name = 'Completed', ended_at = started_at + 1, "
                                 "tr_running = 0, tr_completed = 3")));
    m_context->history().reload();
    QTRY_COMPARE_WITH_TIMEOUT(counts(), QStringLiteral("0 0 3"), 10000);
}

void TestRunsPage::progressCountsCompletedWorkAndEndStatesApart()
{
    QTemporaryDir dir;
    QVERIFY(openDatabase(dir.filePath(QStringLiteral("progress.db"))));
    // Cancelled with 4 of 7 task runs completed: the bar shows 4 of 7, the 3 cancelled in their colour.
    FlowRun* run = m_context->startFlow(QJsonDocument::fromJson(R"({"name": "partly", "tasks": [
        {"id": "a", "kind": "noop", "map": 4},
        {"id": "b", "kind": "sleep", "seconds": 30, "map": 3, "depends_on": ["a"]}]})")
                                            .object(),
                                        QStringLiteral("test"), {}, nullptr);
    QVERIFY(run);
    QTRY_COMPARE_WITH_TIMEOUT(run->count(StateType::Running), qint64(3), 10000);
    QVERIFY(m_context->cancelFlowRun(run));
    QTRY_VERIFY_WITH_TIMEOUT(run->isTerminal(), 10000);
    m_context->flush();
    m_window->showPage(MainWindow::Page::Runs);
    FlowRunModel* runs = m_window->runsPage()->model();
    const QModelIndex progress = runs->indexOf(run, FlowRunModel::ProgressColumn);
    QCOMPARE(progress.data().toString(), QStringLiteral("4 / 7"));
    QCOMPARE(progress.data(ProgressRole).toDouble(), 4.0 / 7.0);
    QVERIFY2(progress.data(Qt::ToolTipRole).toString().contains(QStringLiteral("3 cancelled")),
             qPrintable(progress.data(Qt::ToolTipRole).toString()));
    QCOMPARE(runs->indexOf(run, FlowRunModel::CancelledColumn).data().toLongLong(), qint64(3));
    QCOMPARE(runs->indexOf(run, FlowRunModel::WaitingColumn).data().toLongLong(), qint64(0));

    // As the table's delegate paints it: the cancelled part in the Cancelled colour, at the right end.
    QTreeView* view = m_window->runsPage()->view();
    const QModelIndex shown = view->model()->index(0, FlowRunModel::ProgressColumn);
    QCOMPARE(shown.data().toString(), QStringLiteral("4 / 7"));
    QImage image(210, 24, QImage::Format_ARGB32);
    image.fill(Qt::white);
    {
        QPainter painter(&image);
        QStyleOptionViewItem option;
        option.initFrom(view);
        option.rect = image.rect();
        option.widget = view;
        view->itemDelegateForColumn(FlowRunModel::ProgressColumn)->paint(&painter, option, shown);
    }
    const QColor cancelled = stateColor(StateType::Cancelled);
    int cancelledPixels = 0;
    for (int x = image.width() * 6 / 10; x < image.width() - 6; ++x)
        cancelledPixels += image.pixelColor(x, 6) == cancelled ? 1 : 0;
    QVERIFY2(cancelledPixels > image.width() / 5, qPrintable(QString::number(cancelledPixels)));
    // The run's own page says the same: 4 of 7 completed, the cancelled ones apart.
    m_window->showRun(run);
    auto* header = m_window->runPage()->findChild<ProgressWidget*>(QStringLiteral("runProgress"));
    QVERIFY(header);
    QTRY_COMPARE(header->value(), qint64(4));
    QCOMPARE(header->maximum(), qint64(7));
    QCOMPARE(header->parts().size(), 1);
    QCOMPARE(header->parts().first().color, cancelled);

    // Crashed task runs (of a run whose process died) are counted as crashed, not as failed.
    const FlowEntry* entry = m_window->flowsPage()->model()->entryAt(rowOf(QStringLiteral("slow.json")));
    ValidationErrors errors;
    const std::optional<FlowDefinition> flow
        = m_context->parser().resolve(entry->document, entry->source, errors);
    QVERIFY(flow && m_context->history().queueFlowRun(*flow));
    QTRY_COMPARE_WITH_TIMEOUT(runs->rowCount(), 2, 10000);
    FlowRun* stored = runs->flowRunAt(0);
    QVERIFY(m_context->history().isStored(stored));
    ConnectionPool& pool = m_context->database().store()->pool();
    auto writing = pool.run([id = stored->id.toString()](QSqlDatabase& db) {
        QSqlQuery q(db);
        return q.exec(QStringLiteral("UPDATE flow_runs SET state = 'CRASHED', state_name = 'Crashed', "
                                     "started_at = created_at, ended_at = created_at + 1, tr_completed = 1, "
                                     "tr_crashed = 2 WHERE id = '%1'")
                          .arg(id));
    });
    QVERIFY(QCoro::waitFor(writing));
    m_context->history().reload();
    QTRY_COMPARE_WITH_TIMEOUT(runs->indexOf(stored, FlowRunModel::CrashedColumn).data().toLongLong(),
                              qint64(2), 10000);
    QCOMPARE(runs->indexOf(stored, FlowRunModel::FailedColumn).data().toLongLong(), qint64(0));
    QCOMPARE(runs->indexOf(stored, FlowRunModel::ProgressColumn).data().toString(), QStringLiteral("1 / 3"));
}

void TestRunsPage::earlierRunsSayWhoRanThemAndWhen()
{
    QTemporaryDir dir;
    const QString db = dir.filePath(QStringLiteral("earlier.db"));
    QVERIFY(openDatabase(db));
    const FlowEntry* entry = m_window->flowsPage()->model()->entryAt(rowOf(QStringLiteral("quick.json")));
    FlowRun* run = m_context->startFlow(entry->document, entry->source, {}, nullptr);
    QVERIFY(run);
    QTRY_VERIFY_WITH_TIMEOUT(run->isTerminal(), 10000);
    const QString today
        = m_window->runsPage()->model()->indexOf(run, FlowRunModel::StartColumn).data().toString();
    QVERIFY2(!today.contains(u'-'), qPrintable(today)); // today: the time alone
    cleanup();

    // Another process moves it to two days ago, as a run of an earlier day.
    {
        QString error;
        const auto url = DatabaseUrl::parse(db, &error);
        QVERIFY(url);
        ConnectionPool pool(*url);
        auto writing = pool.run([](QSqlDatabase& database) {
            QSqlQuery q(database);
            return q.exec(QStringLiteral("UPDATE flow_runs SET created_at = created_at - 172800000000"));
        });
        QVERIFY(QCoro::waitFor(writing));
    }

    makeWindow();
    QVERIFY(openDatabase(db));
    FlowRunModel* runs = m_window->runsPage()->model();
    QTRY_COMPARE_WITH_TIMEOUT(runs->rowCount(), 1, 10000);
    // Who ran it: this app in its earlier session, by host and pid, not a blank.
    const QString worker = runs->index(0, FlowRunModel::WorkerColumn).data().toString();
    QVERIFY2(worker.contains(QStringLiteral("pid")), qPrintable(worker));
    // When: with the date, since it is not today; the full time in the tooltip.
    const QString started = runs->index(0, FlowRunModel::StartColumn).data().toString();
    const QDate day = QDate::currentDate().addDays(-2);
    QVERIFY2(started.startsWith(day.toString(Qt::ISODate)), qPrintable(started));
    QVERIFY(!runs->index(0, FlowRunModel::StartColumn).data(Qt::ToolTipRole).toString().isEmpty());
    // Flows › Last run shows it.
    FlowListModel* flows = m_window->flowsPage()->model();
    QTRY_COMPARE_WITH_TIMEOUT(
        flows->index(rowOf(QStringLiteral("quick.json")), FlowListModel::LastRunColumn).data().toString(),
        QStringLiteral("Completed"), 10000);
}

void TestRunsPage::titleProgressCountsCompletedWork()
{
    // One task run fails and one completes while two sleep: a quarter of the work is done, not a half.
    const char* flow = R"({"name": "half-failed", "tasks": [
        {"id": "boom", "kind": "fail", "message": "no"},
        {"id": "done", "kind": "noop"},
        {"id": "wait", "kind": "sleep", "seconds": 30, "map": 2}]})";
    FlowRun* run
        = m_context->startFlow(QJsonDocument::fromJson(flow).object(), QStringLiteral("test"), {}, nullptr);
    QVERIFY(run);
    QTRY_VERIFY_WITH_TIMEOUT(run->count(StateType::Failed) == 1 && run->count(StateType::Completed) == 1,
                             10000);
    QVERIFY(!run->isTerminal());
    // The title bar reads "1 running, 25% — Flowdeck": the platform adds the application's name.
    QTRY_COMPARE(m_window->windowTitle(), QStringLiteral("1 running, 25%"));
}

namespace {

//! Whether the visible columns of \a view fit its viewport (no sideways scrolling).
bool columnsFit(QTreeView* view)
{
    return view->header()->length() <= view->viewport()->width();
}

//! Ticks or unticks \a title in the header's column menu, as a user does.
void chooseColumn(ColumnFitter* fitter, const QString& title, bool shown)
{
    QMenu menu;
    fitter->addColumnActions(&menu);
    for (QAction* action : menu.actions()) {
        if (action->text().startsWith(title) && action->isChecked() != shown)
            action->trigger();
    }
}

} // namespace

void TestRunsPage::columnsHideOnANarrowWindowAndByChoice()
{
    m_window->showPage(MainWindow::Page::Runs);
    QTreeView* view = m_window->runsPage()->view();
    QHeaderView* header = view->header();
    auto* fitter = view->findChild<ColumnFitter*>();
    QVERIFY(fitter);

    // Narrow: the least important counts hide, the state, flow and progress stay, nothing scrolls sideways.
    m_window->resize(900, 600);
    QTRY_VERIFY(header->isSectionHidden(FlowRunModel::CrashedColumn));
    QVERIFY(header->isSectionHidden(FlowRunModel::CancelledColumn));
    for (int c : {FlowRunModel::StateColumn, FlowRunModel::FlowColumn, FlowRunModel::ProgressColumn,
                  FlowRunModel::FailedColumn})
        QVERIFY(!header->isSectionHidden(c));
    QTRY_VERIFY2(columnsFit(view),
                 qPrintable(QStringLiteral("%1 > %2").arg(header->length()).arg(view->viewport()->width())));

    // Wide again: every column shows.
    m_window->resize(2000, 800);
    QTRY_VERIFY(!header->isSectionHidden(FlowRunModel::CrashedColumn));
    for (int c = 0; c < FlowRunModel::ColumnCount; ++c)
        QVERIFY2(!header->isSectionHidden(c), qPrintable(QString::number(c)));

    // The user hides the Worker column: it stays hidden however wide, and in the next session.
    chooseColumn(fitter, QStringLiteral("Worker"), false);
    QVERIFY(header->isSectionHidden(FlowRunModel::WorkerColumn));
    QVERIFY(fitter->isHiddenByUser(FlowRunModel::WorkerColumn));
    cleanup();
    makeWindow();
    m_window->showPage(MainWindow::Page::Runs);
    m_window->resize(2000, 800);
    view = m_window->runsPage()->view();
    header = view->header();
    fitter = view->findChild<ColumnFitter*>();
    QTRY_VERIFY(!header->isSectionHidden(FlowRunModel::CrashedColumn));
    QVERIFY(header->isSectionHidden(FlowRunModel::WorkerColumn));

    // Shown again by the menu, and remembered so.
    chooseColumn(fitter, QStringLiteral("Worker"), true);
    QVERIFY(!header->isSectionHidden(FlowRunModel::WorkerColumn));
    cleanup();
    makeWindow();
    m_window->showPage(MainWindow::Page::Runs);
    m_window->resize(2000, 800);
    QTRY_VERIFY(!m_window->runsPage()->view()->header()->isSectionHidden(FlowRunModel::CrashedColumn));
    QVERIFY(!m_window->runsPage()->view()->header()->isSectionHidden(FlowRunModel::WorkerColumn));
}

void TestRunsPage::columnsAreChosenFromTheTablesMenu()
{
    // The table's own menu (the Menu key, a right click) lists the columns too, also while it is empty.
    m_window->showPage(MainWindow::Page::Runs);
    m_window->resize(2000, 800);
    QTreeView* view = m_window->runsPage()->view();
    QStringList columns;
    QTimer poll;
    connect(&poll, &QTimer::timeout, this, [&] {
        auto* menu = qobject_cast<QMenu*>(QApplication::activePopupWidget());
        if (!menu)
            return;
        for (QAction* action : menu->actions()) {
            if (action->menu()) {
                for (QAction* column : action->menu()->actions())
                    columns << column->text();
            }
        }
        menu->close();
    });
    poll.start(20);
    Q_EMIT view->customContextMenuRequested(QPoint(5, 5));
    QTRY_VERIFY(!columns.isEmpty());
    QVERIFY2(columns.contains(QStringLiteral("Worker")), qPrintable(columns.join(QLatin1Char(','))));
    QCOMPARE(columns.size(), int(FlowRunModel::ColumnCount));
}

// Retry, Run Again and Pause/Resume in the toolbar and the table's menu follow the selection: Retry
// takes several runs at once, and a disabled action says why.
void TestRunsPage::operationsFollowTheSelection()
{
    QTemporaryDir dir;
    QVERIFY(openDatabase(dir.filePath(QStringLiteral("ops.db"))));
    FlowRun* failed = startFile(QStringLiteral("failing.json"));
    FlowRun* quick = startFile(QStringLiteral("quick.json"));
    FlowRun* slow = startFile(QStringLiteral("slow.json"));
    QVERIFY(failed && quick && slow);
    QTRY_VERIFY_WITH_TIMEOUT(failed->type == StateType::Failed && quick->type == StateType::Completed, 10000);
    m_context->flush();
    m_window->showPage(MainWindow::Page::Runs);
    RunsPage* page = m_window->runsPage();
    RunActions* actions = page->runActions();
    QToolButton* retry = buttonFor(page, actions->retryAction());
    QVERIFY(retry && retry->isVisible());
    QVERIFY(buttonFor(page, actions->runAgainAction()));
    QToolButton* pause = buttonFor(page, actions->pauseResumeAction());
    QVERIFY(pause);
    QVERIFY(!retry->isEnabled());
    QCOMPARE(actions->retryAction()->toolTip(),
             QStringLiteral("Retry is not available: no flow run is selected"));

    page->select(failed);
    QVERIFY(retry->isEnabled());
    QVERIFY(!pause->isEnabled());
    page->select(quick);
    QVERIFY(!retry->isEnabled());
    QVERIFY2(actions->retryAction()->toolTip().startsWith(
                 QStringLiteral("Retry is not available: it is COMPLETED")),
             qPrintable(actions->retryAction()->toolTip()));
    // Several rows: Retry takes those that can be retried.
    const QModelIndex failedRow = page->viewIndexOf(failed);
    page->view()->selectionModel()->select(failedRow,
                                           QItemSelectionModel::Select | QItemSelectionModel::Rows);
    QCOMPARE(page->selectedFlowRuns().size(), 2);
    QVERIFY(retry->isEnabled());
    QVERIFY(actions->retryAction()->toolTip().startsWith(QStringLiteral("Retry each selected run")));
    page->select(slow);
    QVERIFY(!retry->isEnabled());
    QVERIFY(pause->isEnabled());
    QCOMPARE(actions->pauseResumeAction()->text(), QStringLiteral("&Pause"));
    const QModelIndex quickRow = page->viewIndexOf(quick);
    page->view()->selectionModel()->select(quickRow, QItemSelectionModel::Select | QItemSelectionModel::Rows);
    QVERIFY(!retry->isEnabled());
    QVERIFY2(actions->retryAction()->toolTip().startsWith(QStringLiteral(
                 "Retry is not available: not for any of the 2 selected runs (the first: it is ")),
             qPrintable(actions->retryAction()->toolTip()));

    // The table's menu offers them too.
    page->select(failed);
    QStringList entries;
    QTimer poll;
    connect(&poll, &QTimer::timeout, this, [&] {
        auto* menu = qobject_cast<QMenu*>(QApplication::activePopupWidget());
        if (!menu)
            return;
        for (QAction* action : menu->actions())
            entries << action->objectName();
        menu->close();
    });
    poll.start(20);
    Q_EMIT page->view()->customContextMenuRequested(page->view()->visualRect(failedRow).center());
    QTRY_VERIFY(!entries.isEmpty());
    for (QAction* action : {actions->retryAction(), actions->runAgainAction(), actions->pauseResumeAction(),
                            actions->documentAction()})
        QVERIFY2(entries.contains(action->objectName()), qPrintable(entries.join(u',')));
    m_context->cancelFlowRun(slow);
}

// A stored run that is paused (here: its row says so) turns Pause into Resume; it cannot be retried.
void TestRunsPage::pausedStoredRunOffersResume()
{
    QTemporaryDir dir;
    const QString db = dir.filePath(QStringLiteral("paused.db"));
    QVERIFY(openDatabase(db));
    FlowRun* run = startFile(QStringLiteral("quick.json"));
    QVERIFY(run);
    QTRY_VERIFY_WITH_TIMEOUT(run->isTerminal(), 10000);
    const QString id = run->id.toString();
    cleanup();
    makeWindow();
    QVERIFY(openDatabase(db));
    RunsPage* page = m_window->runsPage();
    QTRY_COMPARE_WITH_TIMEOUT(page->model()->rowCount(), 1, 10000);
    FlowRun* stored = page->model()->flowRunAt(0);
    QVERIFY(flowdeck::test::runOnPool(*m_context->database().pool(), [id](QSqlDatabase& db) {
        QSqlQuery q(db);
        q.prepare(QStringLiteral(
            "UPDATE flow_runs SET state = 'PAUSED', state_name = 'Paused', ended_at = NULL WHERE id = ?"));
        q.addBindValue(id);
        return q.exec() && q.numRowsAffected() == 1;
    }));
    m_window->showPage(MainWindow::Page::Runs);
    page->select(stored);
    RunActions* actions = page->runActions();
    QCOMPARE(actions->pauseResumeAction()->text(), QStringLiteral("&Pause"));
    m_context->history().reload();
    QTRY_VERIFY_WITH_TIMEOUT(stored->type == StateType::Paused, 10000);
    QTRY_COMPARE(actions->pauseResumeAction()->text(), QStringLiteral("Res&ume"));
    QVERIFY(actions->pauseResumeAction()->isEnabled());
    QVERIFY(actions->pauseResumeAction()->toolTip().startsWith(QStringLiteral("Resume the paused flow run")));
    QVERIFY(!actions->retryAction()->isEnabled());
    QCOMPARE(
        actions->retryAction()->toolTip(),
        QStringLiteral("Retry is not available: it is still PAUSED: only a FAILED, CRASHED or CANCELLED run "
                       "can be retried"));
}

// Ctrl+Shift+R on a selected run of this app opens the start dialog with its values; Start runs it anew.
void TestRunsPage::runAgainFromTheRunsPageByKeyboard()
{
    FlowRun* run = startFile(QStringLiteral("params.json"), QJsonObject{{QStringLiteral("n"), 1}});
    QVERIFY(run);
    QTRY_VERIFY_WITH_TIMEOUT(run->isTerminal(), 10000);
    m_context->flush();
    m_window->showPage(MainWindow::Page::Runs);
    RunsPage* page = m_window->runsPage();
    QTRY_COMPARE(page->model()->rowCount(), 1);
    page->select(run);
    page->view()->setFocus();
    QTest::keyClick(page->view(), Qt::Key_R, Qt::ControlModifier | Qt::ShiftModifier);
    auto* dialog = openDialog<StartFlowDialog>(page);
    QVERIFY(dialog);
    auto* n = qobject_cast<QSpinBox*>(dialog->editor(QStringLiteral("n")));
    QVERIFY(n);
    QCOMPARE(n->value(), 1);
    QTest::keyClick(dialog, Qt::Key_Return);
    QTRY_COMPARE(page->model()->rowCount(), 2);
    QCOMPARE(m_window->currentPage(), MainWindow::Page::Run);
    FlowRun* again = m_window->runPage()->flowRun();
    QVERIFY(again && again != run);
    QCOMPARE(again->def.parameters.value(QStringLiteral("n")).toInt(), 1);
}

void TestRunsPage::helpListsTheOperationsShortcuts()
{
    m_window->helpAction()->trigger();
    auto* help = openDialog<HelpDialog>(m_window.get());
    QVERIFY(help);
    const QString text = help->plainText();
    RunActions* actions = m_window->runsPage()->runActions();
    for (QAction* action :
         {actions->retryAction(), actions->runAgainAction(), actions->pauseResumeAction()}) {
        const QString keys = action->shortcut().toString(QKeySequence::NativeText);
        QVERIFY(!keys.isEmpty());
        QVERIFY2(text.contains(keys), qPrintable(keys));
    }
    QVERIFY(text.contains(QStringLiteral("Retry the selected failed, crashed or cancelled runs")));
    QVERIFY(text.contains(QStringLiteral("Pause the selected run, or resume a paused one")));
    help->close();
}

FLOWDECK_GUI_TEST_MAIN(TestRunsPage, "tst_runspage")

#include "tst_runspage.moc"
