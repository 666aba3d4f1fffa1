// The Workers page: the worker processes registered in the database.
#include "models/flowrunmodel.h"
#include "models/workermodel.h"
#include "pages/flowspage.h"
#include "pages/runspage.h"
#include "pages/workerspage.h"
#include "run/runid.h"
#include "store/connectionpool.h"
#include "store/store.h"
#include "store/workerqueries.h"
#include "uitestutil.h"
#include "widgets/startflowdialog.h"

#include <QAbstractItemModelTester>
#include <QAction>
#include <QCoro/QCoroTask>
#include <QGroupBox>
#include <QJsonArray>
#include <QLabel>
#include <QMenu>
#include <QPushButton>
#include <QRadioButton>
#include <QSqlQuery>
#include <QTableView>
#include <QTemporaryDir>
#include <QTest>

#include <chrono>

using namespace flowdeck;
using namespace flowdeck::uitest;

namespace {

//! Registers an engine row as `flowdeck worker` does, on another host (nobody probes its pid).
QString registerWorkerRow(ConnectionPool& pool, const QString& name)
{
    const QString id = RunId::generate().toString();
    auto registering = pool.run([id, name](QSqlDatabase& db) {
        const qint64 now = std::chrono::duration_cast<std::chrono::microseconds>(
                               std::chrono::system_clock::now().time_since_epoch())
                               .count();
        QSqlQuery q(db);
        q.prepare(QStringLiteral(
            "INSERT INTO engines (id, host, pid, started_at, heartbeat_at) VALUES (?, ?, ?, ?, ?)"));
        for (const QVariant& v : QVariantList{id, QStringLiteral("build-host.example"), 4242, now, now})
            q.addBindValue(v);
        if (!q.exec())
            throw DatabaseError("inserting an engine");
        workers::registerWorker(db, id, name, 3, 3'600'000'000LL);
        workers::heartbeat(db, id, workers::WorkerFigures{2, 1, 8, 2500});
        return true;
    });
    QCoro::waitFor(registering);
    return id;
}

} // namespace

class TestWorkersPage : public QObject, public Dashboard {
    Q_OBJECT

private Q_SLOTS:
    void initTestCase() { writeFlows(); }
    void init() { makeWindow(); }
    void cleanup() { tearDown(); }

    void workersPageListsRegisteredWorkers();
    void summaryCountsWhatTheTableShowsOnline();
    void columnsAreChosenByKeyboardToo();
};

void TestWorkersPage::workersPageListsRegisteredWorkers()
{
    QTemporaryDir dir;
    const QString db = dir.filePath(QStringLiteral("workers.db"));
    QVERIFY(openDatabase(db));

    // A page of its own: View menu (Ctrl+6), `--page workers`.
    QAction* action = m_window->pageAction(MainWindow::Page::Workers);
    QVERIFY(action);
    QCOMPARE(action->shortcut(), QKeySequence(Qt::CTRL | Qt::Key_6));
    QCOMPARE(MainWindow::pageFromName(QStringLiteral("workers")), MainWindow::Page::Workers);
    action->trigger();
    QCOMPARE(m_window->currentPage(), MainWindow::Page::Workers);
    WorkersPage* page = m_window->workersPage();
    QVERIFY(page->isVisible());
    QAbstractItemModelTester tester(page->model());

    // No worker yet: the page says how to start one on this very database.
    QTRY_VERIFY_WITH_TIMEOUT(page->emptyState()->isVisible(), 5000);
    QTRY_VERIFY(page->emptyState()->text().contains(QStringLiteral("flowdeck worker --db ")));
    QVERIFY2(page->emptyState()->text().contains(db), qPrintable(page->emptyState()->text()));
    // Without workers, Start offers this app only.
    m_window->showPage(MainWindow::Page::Flows);
    clickRow(m_window->flowsPage()->view(), rowOf(QStringLiteral("quick.json")));
    auto* dialog = m_window->flowsPage()->startSelected();
    QVERIFY(dialog);
    QTRY_VERIFY_WITH_TIMEOUT(dialog->workersKnown(), 5000); // the read of the workers came back
    QVERIFY(dialog->targetBox()->isHidden());
    QCOMPARE(dialog->target(), StartFlowDialog::Target::ThisApp);
    dialog->reject();

    // A worker registers: the page lists it within its refresh (about a second).
    registerWorkerRow(m_context->database().store()->pool(), QStringLiteral("build-box-1"));
    m_window->pageAction(MainWindow::Page::Workers)->trigger();
    WorkerModel* model = page->model();
    QTRY_COMPARE_WITH_TIMEOUT(model->workerCount(), 1, 5000);
    QCOMPARE(model->index(0, WorkerModel::Name).data().toString(), QStringLiteral("build-box-1"));
    QCOMPARE(model->index(0, WorkerModel::Host).data().toString(), QStringLiteral("build-host.example"));
    QCOMPARE(model->index(0, WorkerModel::Pid).data().toLongLong(), qint64(4242));
    QVERIFY(model->index(0, WorkerModel::Heartbeat).data().toString().endsWith(QStringLiteral("s ago")));
    QCOMPARE(model->index(0, WorkerModel::FlowRuns).data().toString(), QStringLiteral("2 / 3"));
    QCOMPARE(model->index(0, WorkerModel::BlockingPool).data().toString(), QStringLiteral("1 / 8"));
    QCOMPARE(model->index(0, WorkerModel::LoopLag).data().toString(), QStringLiteral("2.5 ms"));
    QCOMPARE(model->index(0, WorkerModel::Status).data().toString(), QStringLiteral("online"));
    QVERIFY(!page->emptyState()->isVisible());
    QVERIFY(page->view()->isVisible());
    // This app's own engine is listed too, as "this app".
    bool self = false;
    for (int r = 0; r < model->rowCount(); ++r)
        self |= model->index(r, WorkerModel::Name).data().toString() == QStringLiteral("this app");
    QVERIFY(self);

    // Start now offers "Queue for a worker"; queueing stores the run SCHEDULED with its document,
    // and the Runs table shows it at once, with no worker yet.
    m_window->showPage(MainWindow::Page::Flows);
    dialog = m_window->flowsPage()->startSelected();
    QVERIFY(dialog);
    QTRY_VERIFY_WITH_TIMEOUT(!dialog->targetBox()->isHidden(), 5000);
    QCOMPARE(dialog->target(), StartFlowDialog::Target::ThisApp); // the default
    auto* queue = dialog->findChild<QRadioButton*>(QStringLiteral("queueForWorker"));
    QVERIFY(queue && queue->text().contains(QStringLiteral("build-box-1")));
    QTest::mouseClick(queue, Qt::LeftButton);
    QCOMPARE(dialog->target(), StartFlowDialog::Target::Worker);
    auto* button = dialog->findChild<QPushButton*>(QStringLiteral("startButton"));
    QVERIFY(button->text().contains(QStringLiteral("Queue")));
    QTest::mouseClick(button, Qt::LeftButton);
    QCOMPARE(m_context->activeFlowRuns(), 0); // not run here
    QTRY_COMPARE_WITH_TIMEOUT(storedRun(m_context->database().store()->pool(), QStringLiteral("quick")).state,
                              QStringLiteral("SCHEDULED"), 5000);
    const StoredRun stored = storedRun(m_context->database().store()->pool(), QStringLiteral("quick"));
    QVERIFY(stored.worker.isEmpty());
    QCOMPARE(stored.document.value(QStringLiteral("name")).toString(), QStringLiteral("quick"));
    QCOMPARE(stored.document.value(QStringLiteral("tasks")).toArray().size(), 2);

    QCOMPARE(m_window->currentPage(), MainWindow::Page::Runs);
    FlowRunModel* runs = m_window->runsPage()->model();
    QTRY_COMPARE_WITH_TIMEOUT(runs->rowCount(), 1, 3000); // well before the periodic reload
    QCOMPARE(runs->index(0, FlowRunModel::FlowColumn).data().toString(), QStringLiteral("quick"));
    QCOMPARE(runs->index(0, FlowRunModel::StateColumn).data().toString(), QStringLiteral("Scheduled"));
    QCOMPARE(runs->index(0, FlowRunModel::WorkerColumn).data().toString(), QString());

    // The Workers page is remembered as the last page.
    {
        auto window = std::make_unique<MainWindow>(m_context.get(), MainWindow::Options{true});
        window->show();
        window->showPage(MainWindow::Page::Workers);
        QVERIFY(window->close());
    }
    MainWindow restored(m_context.get(), MainWindow::Options{true});
    QCOMPARE(restored.currentPage(), MainWindow::Page::Workers);
    restored.showPage(MainWindow::Page::Flows);
    restored.show();
    QVERIFY(restored.close()); // leaves Flows as the last page for the others
}

void TestWorkersPage::summaryCountsWhatTheTableShowsOnline()
{
    QTemporaryDir dir;
    QVERIFY(openDatabase(dir.filePath(QStringLiteral("summary.db"))));
    m_window->showPage(MainWindow::Page::Workers);
    WorkersPage* page = m_window->workersPage();
    WorkerModel* model = page->model();
    auto onlineRows = [model] {
        int n = 0;
        for (int r = 0; r < model->rowCount(); ++r)
            n += model->index(r, WorkerModel::Status).data().toString() == QStringLiteral("online") ? 1 : 0;
        return n;
    };

    // Only this app: the table lists it online, and the summary counts it, not "0 of 0 online".
    QTRY_COMPARE_WITH_TIMEOUT(onlineRows(), 1, 5000);
    QTRY_VERIFY_WITH_TIMEOUT(page->summary()->text().contains(QStringLiteral("1 other engine(s) online")),
                             5000);
    QVERIFY2(page->summary()->text().contains(QStringLiteral("No worker registered")),
             qPrintable(page->summary()->text()));
    QVERIFY2(!page->summary()->text().contains(QStringLiteral("0 of 0")),
             qPrintable(page->summary()->text()));

    // A worker joins: both are counted, each as what it is.
    registerWorkerRow(m_context->database().store()->pool(), QStringLiteral("build-box-2"));
    QTRY_COMPARE_WITH_TIMEOUT(onlineRows(), 2, 5000);
    QTRY_VERIFY_WITH_TIMEOUT(page->summary()->text().contains(QStringLiteral("1 of 1 worker(s) online")),
                             5000);
    QVERIFY2(page->summary()->text().contains(QStringLiteral("1 other engine(s) online")),
             qPrintable(page->summary()->text()));
}

void TestWorkersPage::columnsAreChosenByKeyboardToo()
{
    // The Menu key opens the table's own menu (its actions); a Columns entry there shows or hides
    // any column, as the header's mouse menu does. Same on the Flows table.
    m_window->showPage(MainWindow::Page::Workers);
    for (QTableView* view : {m_window->workersPage()->view(), m_window->flowsPage()->view()}) {
        QCOMPARE(view->contextMenuPolicy(), Qt::ActionsContextMenu);
        QMenu* columns = nullptr;
        for (QAction* action : view->actions()) {
            if (action->menu() && action->objectName().endsWith(QStringLiteral("ColumnsMenu")))
                columns = action->menu();
        }
        QVERIFY2(columns, qPrintable(view->objectName()));
        Q_EMIT columns->aboutToShow();
        const int count = view->model()->columnCount();
        QCOMPARE(columns->actions().size(), count);
        const int last = count - 1;
        QVERIFY(!view->isColumnHidden(last) || !columns->actions().at(last)->isChecked());
        columns->actions().at(last)->setChecked(false);
        QVERIFY(view->isColumnHidden(last));
        columns->actions().at(last)->setChecked(true);
        QVERIFY(columns->actions().at(last)->isChecked());
    }
}

FLOWDECK_GUI_TEST_MAIN(TestWorkersPage, "tst_workerspage")

#include "tst_workerspage.moc"
