// The Concurrency page: slot holders and waiters of a tag.
#include "models/concurrencymodel.h"
#include "models/globallimitsmodel.h"
#include "models/taskrunmodel.h"
#include "pages/concurrencypage.h"
#include "pages/runpage.h"
#include "run/engine.h"
#include "store/connectionpool.h"
#include "store/databaseurl.h"
#include "testutil.h"
#include "uitestutil.h"
#include "widgets/limitseditor.h"
#include "widgets/occupancychart.h"

#include <QAbstractItemModelTester>
#include <QCoro/QCoroTask>
#include <QHeaderView>
#include <QJsonDocument>
#include <QLabel>
#include <QLineEdit>
#include <QPushButton>
#include <QSqlQuery>
#include <QTableView>
#include <QTableWidget>
#include <QTemporaryDir>
#include <QTest>

using namespace flowdeck;
using namespace flowdeck::uitest;

class TestConcurrencyPage : public QObject, public Dashboard {
    Q_OBJECT

private Q_SLOTS:
    void initTestCase() { writeFlows(); }
    void init() { makeWindow(); }
    void cleanup() { tearDown(); }

    void concurrencyPageShowsHoldersAndWaiters();
    void inPlaceLimitEditRefusesWhatIsNotAnInteger();
    void waitingTaskRunShowsItsCurrentPlaceInLine_data();
    void waitingTaskRunShowsItsCurrentPlaceInLine();
    void detailTablesFitANarrowWindow();
    void globalLimitsAreShownAndEditedLive();
    void tagResetFreesSlotsOfTaskRunsThatNoLongerExist_data() { flowdeck::test::addBackendRows(); }
    void tagResetFreesSlotsOfTaskRunsThatNoLongerExist();
};

void TestConcurrencyPage::concurrencyPageShowsHoldersAndWaiters()
{
    QTemporaryDir dir;
    QVERIFY(openDatabase(dir.filePath(QStringLiteral("page.db"))));
    QVERIFY(m_context->limits().setLimit(QStringLiteral("gpu"), 1));
    QTRY_COMPARE_WITH_TIMEOUT(m_context->engine().limiter().limit(QStringLiteral("gpu")).value_or(-1), 1,
                              10000);
    FlowRun* run = m_context->startFlow(QJsonDocument::fromJson(R"({"name": "queue", "tasks": [
        {"id": "train", "kind": "sleep", "seconds": 30, "map": 3, "tags": ["gpu"]}]})")
                                            .object(),
                                        QStringLiteral("test"), {}, nullptr);
    QVERIFY(run);
    m_window->showPage(MainWindow::Page::Concurrency);
    ConcurrencyPage* page = m_window->concurrencyPage();
    ConcurrencyModel* model = page->model();
    QAbstractItemModelTester tester(model);
    QTRY_COMPARE_WITH_TIMEOUT(model->rowOf(QStringLiteral("gpu")), 0, 5000);
    QTRY_COMPARE_WITH_TIMEOUT(model->rowAt(0)->active, 1, 10000);
    QTRY_COMPARE(model->rowAt(0)->waiting, 2);
    QCOMPARE(model->data(model->index(0, ConcurrencyModel::UsageColumn)).toString(),
             QStringLiteral("1 of 1"));

    page->selectTag(QStringLiteral("gpu"));
    QTRY_COMPARE(page->holdersView()->rowCount(), 1);
    QTRY_COMPARE(page->waitersView()->rowCount(), 2);
    QVERIFY(page->holdersView()->item(0, 0)->text().contains(QStringLiteral("queue")));
    QCOMPARE(page->holdersView()->item(0, 1)->text(), QStringLiteral("train[0]"));
    QCOMPARE(page->waitersView()->item(0, 1)->text(), QStringLiteral("train[1]"));
    QCOMPARE(page->waitersView()->item(1, 1)->text(), QStringLiteral("train[2]"));

    // Raising the limit in place (the table's limit cell) lets the waiters in.
    const QModelIndex cell = model->index(0, ConcurrencyModel::LimitColumn);
    QVERIFY(model->setData(cell, 3));
    QTRY_COMPARE_WITH_TIMEOUT(model->rowAt(0)->active, 3, 10000);
    QTRY_COMPARE(page->holdersView()->rowCount(), 3);
    QTRY_COMPARE(page->waitersView()->rowCount(), 0);
}

void TestConcurrencyPage::inPlaceLimitEditRefusesWhatIsNotAnInteger()
{
    QTemporaryDir dir;
    QVERIFY(openDatabase(dir.filePath(QStringLiteral("inplace.db"))));
    QVERIFY(m_context->limits().setLimit(QStringLiteral("gpu"), 2));
    m_window->showPage(MainWindow::Page::Concurrency);
    LimitsEditor* editor = m_window->concurrencyPage()->editor();
    ConcurrencyModel* model = editor->model();
    QTRY_COMPARE_WITH_TIMEOUT(model->rowOf(QStringLiteral("gpu")), 0, 10000);
    QTableView* view = editor->view();

    // Typed in the cell as a user does: F2, the text, Return. A number parser would bend each of these
    // into another limit ("1e9" into 19); every one is refused and the reason shown.
    const struct {
        QString typed;
        QString says;
    } cases[] = {
        {QStringLiteral("1e9"), QStringLiteral("non-negative integer")},
        {QStringLiteral("-3"), QStringLiteral("non-negative integer")},
        {QStringLiteral("4.5"), QStringLiteral("non-negative integer")},
        {QStringLiteral("1,000"), QStringLiteral("non-negative integer")},
        {QStringLiteral("99999999999"), QStringLiteral("maximum is 2147483647")},
    };
    for (const auto& c : cases) {
        const QModelIndex cell = model->index(0, ConcurrencyModel::LimitColumn);
        view->setFocus();
        view->setCurrentIndex(cell);
        QTest::keyClick(view, Qt::Key_F2);
        QTRY_VERIFY(view->indexWidget(cell) || QApplication::focusWidget() != view);
        QWidget* cellEditor = QApplication::focusWidget();
        QVERIFY(cellEditor && cellEditor != view);
        QTest::keyClick(cellEditor, Qt::Key_A, Qt::ControlModifier);
        QTest::keyClicks(cellEditor, c.typed);
        QTest::keyClick(cellEditor, Qt::Key_Return);
        QTRY_VERIFY(QApplication::focusWidget() == view);
        QVERIFY2(editor->messageLabel()->isVisible(), qPrintable(c.typed));
        QVERIFY2(editor->messageLabel()->text().contains(c.says), qPrintable(editor->messageLabel()->text()));
        QCOMPARE(m_context->engine().limiter().limit(QStringLiteral("gpu")).value_or(-1), 2);
        QCOMPARE(model->rowAt(0)->limit, 2);
    }

    // A valid value typed the same way is taken.
    const QModelIndex cell = model->index(0, ConcurrencyModel::LimitColumn);
    view->setCurrentIndex(cell);
    QTest::keyClick(view, Qt::Key_F2);
    QWidget* cellEditor = QApplication::focusWidget();
    QVERIFY(cellEditor && cellEditor != view);
    QTest::keyClick(cellEditor, Qt::Key_A, Qt::ControlModifier);
    QTest::keyClicks(cellEditor, QStringLiteral("7"));
    QTest::keyClick(cellEditor, Qt::Key_Return);
    QTRY_COMPARE_WITH_TIMEOUT(m_context->engine().limiter().limit(QStringLiteral("gpu")).value_or(-1), 7,
                              10000);
}

void TestConcurrencyPage::waitingTaskRunShowsItsCurrentPlaceInLine_data()
{
    QTest::addColumn<bool>("global");
    QTest::newRow("tag limit") << false;
    QTest::newRow("global limit") << true;
}

void TestConcurrencyPage::waitingTaskRunShowsItsCurrentPlaceInLine()
{
    QFETCH(bool, global);
    if (global)
        m_context->engine().limiter().setGlobalLimit(QStringLiteral("gpus"), {1, true, 0});
    else
        m_context->engine().limiter().setLimit(QStringLiteral("gpu"), 1);
    const QByteArray flow = global ? QByteArray(R"({"name": "line", "tasks": [
        {"id": "train", "kind": "sleep", "seconds": 30, "map": 4, "concurrency": ["gpus"]}]})")
                                   : QByteArray(R"({"name": "line", "tasks": [
        {"id": "train", "kind": "sleep", "seconds": 30, "map": 4, "tags": ["gpu"]}]})");
    FlowRun* run
        = m_context->startFlow(QJsonDocument::fromJson(flow).object(), QStringLiteral("test"), {}, nullptr);
    QVERIFY(run);
    m_window->showRun(run);
    TaskRunModel* model = m_window->runPage()->taskModel();
    QAbstractItemModelTester tester(model);
    auto message = [model](int mapIndex) {
        for (int r = 0; r < model->rowCount(); ++r) {
            if (model->taskRunAt(r)->mapIndex == mapIndex)
                return model->index(r, TaskRunModel::MessageColumn).data().toString();
        }
        return QString();
    };
    QTRY_VERIFY_WITH_TIMEOUT(message(3).contains(QStringLiteral("3 in line")), 10000);
    QVERIFY2(message(2).contains(QStringLiteral("2 in line")), qPrintable(message(2)));

    // The holder ends: train[1] gets the slot, and the others move up one place each.
    TaskRun* holder = nullptr;
    for (int r = 0; r < model->rowCount(); ++r) {
        if (model->taskRunAt(r)->mapIndex == 0)
            holder = model->taskRunAt(r);
    }
    QVERIFY(holder && holder->type == StateType::Running);
    QVERIFY(m_context->cancelTaskRun(holder));
    QTRY_VERIFY_WITH_TIMEOUT(message(2).contains(QStringLiteral("1 in line")), 10000);
    QVERIFY2(message(3).contains(QStringLiteral("2 in line")), qPrintable(message(3)));
}

void TestConcurrencyPage::detailTablesFitANarrowWindow()
{
    // At 900 px the holders and waiters tables share the page: their columns fit without sideways
    // scrolling, the flow run, task run and state shown; wide, the process and time come back.
    m_window->showPage(MainWindow::Page::Concurrency);
    auto* page = m_window->findChild<ConcurrencyPage*>();
    QVERIFY(page);
    m_window->resize(900, 600);
    for (QTableWidget* table : {page->holdersView(), page->waitersView()}) {
        QHeaderView* header = table->horizontalHeader();
        QTRY_VERIFY2(header->length() <= table->viewport()->width(),
                     qPrintable(QStringLiteral("%1: %2 > %3")
                                    .arg(table->objectName())
                                    .arg(header->length())
                                    .arg(table->viewport()->width())));
        for (int c = 0; c < 3; ++c)
            QVERIFY(!header->isSectionHidden(c));
    }
    m_window->resize(2400, 900);
    for (QTableWidget* table : {page->holdersView(), page->waitersView()}) {
        for (int c = 0; c < table->columnCount(); ++c)
            QTRY_VERIFY(!table->horizontalHeader()->isSectionHidden(c));
    }
}

void TestConcurrencyPage::globalLimitsAreShownAndEditedLive()
{
    QTemporaryDir dir;
    const QString path = dir.filePath(QStringLiteral("global.db"));
    QVERIFY(openDatabase(path));
    m_window->showPage(MainWindow::Page::Concurrency);
    ConcurrencyPage* page = m_window->concurrencyPage();
    GlobalLimitsModel* model = page->globalModel();
    QAbstractItemModelTester tester(model);

    // Added with the form, as a user does; a bad decay is refused with its reason.
    page->globalNameEdit()->setText(QStringLiteral("warehouse"));
    page->globalLimitEdit()->setText(QStringLiteral("1"));
    page->globalDecayEdit()->setText(QStringLiteral("fast"));
    QTest::mouseClick(page->globalAddButton(), Qt::LeftButton);
    QVERIFY2(page->globalStatus()->text().contains(QStringLiteral("Decay \"fast\"")),
             qPrintable(page->globalStatus()->text()));
    QCOMPARE(model->rowCount(), 0);
    page->globalDecayEdit()->clear();
    QTest::mouseClick(page->globalAddButton(), Qt::LeftButton);
    QTRY_COMPARE_WITH_TIMEOUT(model->rowOf(QStringLiteral("warehouse")), 0, 10000);
    QTRY_VERIFY_WITH_TIMEOUT(m_context->engine().limiter().globalLimit(QStringLiteral("warehouse")), 10000);
    QCOMPARE(model->data(model->index(0, GlobalLimitsModel::KindColumn)).toString(),
             QStringLiteral("concurrency"));

    FlowRun* run = m_context->startFlow(QJsonDocument::fromJson(R"({"name": "load", "tasks": [
        {"id": "copy", "kind": "sleep", "seconds": 30, "map": 3, "concurrency": ["warehouse"]}]})")
                                            .object(),
                                        QStringLiteral("test"), {}, nullptr);
    QVERIFY(run);
    QTRY_COMPARE_WITH_TIMEOUT(model->rowAt(0)->activeSlots, 1, 10000);
    QTRY_COMPARE_WITH_TIMEOUT(model->rowAt(0)->waiting, 2, 10000);
    QCOMPARE(model->data(model->index(0, GlobalLimitsModel::OccupiedColumn)).toString(),
             QStringLiteral("1 of 1"));

    // The chart samples the occupied slots once a second.
    QTRY_VERIFY_WITH_TIMEOUT(
        !page->occupancyChart()->samples().empty()
            && page->occupancyChart()->samples().back().value(QStringLiteral("warehouse")) == qMakePair(1, 1),
        5000);

    // Its holders and waiters, in queue order, in the detail tables.
    page->selectGlobal(QStringLiteral("warehouse"));
    QTRY_COMPARE(page->holdersView()->rowCount(), 1);
    QTRY_COMPARE(page->waitersView()->rowCount(), 2);
    QCOMPARE(page->holdersView()->item(0, 1)->text(), QStringLiteral("copy[0]"));
    QCOMPARE(page->waitersView()->item(0, 1)->text(), QStringLiteral("copy[1]"));
    QCOMPARE(page->waitersView()->item(1, 1)->text(), QStringLiteral("copy[2]"));

    // The limit edited in place: refused when not an integer, taken otherwise, and the waiters run.
    QVERIFY(!model->setData(model->index(0, GlobalLimitsModel::LimitColumn), QStringLiteral("3.5")));
    QVERIFY(page->globalStatus()->text().contains(QStringLiteral("integer")));
    QVERIFY(model->setData(model->index(0, GlobalLimitsModel::LimitColumn), 3));
    QTRY_COMPARE_WITH_TIMEOUT(model->rowAt(0)->activeSlots, 3, 10000);
    QTRY_COMPARE(model->rowAt(0)->waiting, 0);
    QTRY_COMPARE(page->holdersView()->rowCount(), 3);
    QTRY_COMPARE(page->waitersView()->rowCount(), 0);

    // Disabled with the check box: stored, and the limiter stops throttling.
    QVERIFY(
        model->setData(model->index(0, GlobalLimitsModel::ActiveColumn), Qt::Unchecked, Qt::CheckStateRole));
    QTRY_VERIFY_WITH_TIMEOUT(
        !m_context->engine().limiter().globalLimit(QStringLiteral("warehouse")).value().active, 10000);
    QTRY_COMPARE(model->data(model->index(0, GlobalLimitsModel::ActiveColumn), Qt::CheckStateRole).toInt(),
                 int(Qt::Unchecked));

    // A decay makes it a rate limit.
    QVERIFY(model->setData(model->index(0, GlobalLimitsModel::DecayColumn), QStringLiteral("2")));
    QTRY_COMPARE_WITH_TIMEOUT(model->data(model->index(0, GlobalLimitsModel::KindColumn)).toString(),
                              QStringLiteral("rate"), 10000);

    // Reset and delete act on the selected limit.
    page->globalView()->setCurrentIndex(model->index(0, 0));
    QTRY_VERIFY(page->globalResetButton()->isEnabled());
    QTest::mouseClick(page->globalResetButton(), Qt::LeftButton);
    QTest::mouseClick(page->globalDeleteButton(), Qt::LeftButton);
    QTRY_COMPARE_WITH_TIMEOUT(model->rowCount(), 0, 10000);
    QTRY_VERIFY(!m_context->engine().limiter().globalLimit(QStringLiteral("warehouse")));
    m_context->engine().cancelFlowRun(run, QStringLiteral("test over"));
}

void TestConcurrencyPage::tagResetFreesSlotsOfTaskRunsThatNoLongerExist()
{
    QFETCH(QString, backend);
    FLOWDECK_FRESH_DATABASE(path, backend);
    QVERIFY(openDatabase(path));
    QVERIFY(m_context->limits().setLimit(QStringLiteral("gpu"), 2));
    QTRY_VERIFY_WITH_TIMEOUT(storedLimits(path).size() == 1, 10000);

    // A slot left behind by a process that died: its task run is in no store, its lease runs for an hour.
    {
        QString error;
        const auto url = DatabaseUrl::parse(path, &error);
        QVERIFY2(url, qPrintable(error));
        ConnectionPool pool(*url);
        auto writing = pool.run([](QSqlDatabase& db) {
            QSqlQuery q(db);
            q.prepare(
                QStringLiteral("INSERT INTO concurrency_slots (tag, task_run_id, holder, lease_expires_at) "
                               "VALUES ('gpu', 'ghost-run', 'dead-engine', ?)"));
            q.addBindValue(QDateTime::currentMSecsSinceEpoch() * 1000 + 3'600'000'000LL);
            return q.exec();
        });
        QVERIFY(QCoro::waitFor(writing));
    }
    QCOMPARE(storedLimits(path).value(0).activeSlots, QStringList{QStringLiteral("ghost-run")});

    m_window->showPage(MainWindow::Page::Concurrency);
    ConcurrencyPage* page = m_window->concurrencyPage();
    QTRY_COMPARE_WITH_TIMEOUT(page->model()->rowOf(QStringLiteral("gpu")), 0, 10000);
    QTRY_COMPARE_WITH_TIMEOUT(page->model()->rowAt(0)->active, 1, 10000);
    page->selectTag(QStringLiteral("gpu"));
    QTRY_VERIFY(page->tagResetButton()->isEnabled());
    QTest::mouseClick(page->tagResetButton(), Qt::LeftButton);

    QTRY_VERIFY2_WITH_TIMEOUT(page->tagStatus()->text().contains(QStringLiteral("Freed 1 slot row")),
                              qPrintable(page->tagStatus()->text()), 10000);
    QVERIFY(storedLimits(path).value(0).activeSlots.isEmpty());
    QTRY_COMPARE_WITH_TIMEOUT(page->model()->rowAt(0)->active, 0, 10000);
}

FLOWDECK_GUI_TEST_MAIN(TestConcurrencyPage, "tst_concurrencypage")

#include "tst_concurrencypage.moc"
