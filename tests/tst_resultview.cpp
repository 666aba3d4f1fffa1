// The Run page's task detail shows a task run's result: pretty-printed, collapsed when large (Show all
// expands it), copyable; for a run of this process (read from the store once the engine has let it go)
// and for a stored run opened in a new session.
#include "models/flowrunmodel.h"
#include "models/taskrunmodel.h"
#include "pages/runpage.h"
#include "pages/runspage.h"
#include "testutil.h"
#include "uitestutil.h"
#include "widgets/taskrundetail.h"

#include <QAbstractItemModelTester>
#include <QClipboard>
#include <QGuiApplication>
#include <QJsonArray>
#include <QJsonDocument>
#include <QPlainTextEdit>
#include <QPushButton>
#include <QSignalSpy>
#include <QTabWidget>
#include <QTableView>
#include <QTemporaryDir>
#include <QTest>

using namespace flowdeck;
using namespace flowdeck::uitest;

class TestResultView : public QObject, public Dashboard {
    Q_OBJECT
private Q_SLOTS:
    void initTestCase() { writeFlows(); }
    void init() { makeWindow(); }
    void cleanup() { tearDown(); }

    void resultIsShownCollapsedAndCopyable();
    void forEachRunsAppearAsTheyAreCreated();
};

namespace {

int rowOfTask(RunPage* page, const QString& task)
{
    for (int r = 0; r < page->taskModel()->rowCount(); ++r) {
        if (page->taskModel()->taskRunAt(r)->taskId() == task)
            return r;
    }
    return -1;
}

} // namespace

void TestResultView::resultIsShownCollapsedAndCopyable()
{
    QTemporaryDir dir;
    const QString db = dir.filePath(QStringLiteral("results.db"));
    QVERIFY(openDatabase(db));
    const QJsonObject doc = QJsonDocument::fromJson(R"JSON({"name": "shown", "tasks": [
        {"id": "small", "kind": "noop", "value": {"rows": 7, "name": "load"}},
        {"id": "large", "kind": "shell", "result": "json", "command": ["sh", "-c", "printf '['; seq -s, 1 100 | tr -d '\n'; printf ']'"]}]})JSON")
                                .object();
    FlowRun* run = m_context->startFlow(doc, QStringLiteral("test"), {}, nullptr);
    QVERIFY(run);
    QTRY_VERIFY_WITH_TIMEOUT(run->isTerminal(), 20000);
    QCOMPARE(toString(run->type), toString(StateType::Completed));
    // Nobody reads them: the engine let them go; the page reads them from the store.
    for (const TaskNode& node : run->nodes)
        QVERIFY(node.runs[0].result.isNull());

    QString expectedLarge;
    for (int i = 1; i <= 100; ++i)
        expectedLarge += (i > 1 ? QStringLiteral(",\n    ") : QStringLiteral("[\n    ")) + QString::number(i);
    expectedLarge += QStringLiteral("\n]");

    auto checkPanel = [&](RunPage* page) {
        TaskRunDetailPanel* panel = page->detailPanel();
        const int small = rowOfTask(page, QStringLiteral("small"));
        QVERIFY(small >= 0);
        clickRow(page->view(), small);
        QTRY_VERIFY(panel->isVisible());
        // The Result tab, as a user picks it.
        auto* tabs = panel->findChild<QTabWidget*>();
        QVERIFY(tabs);
        tabs->setCurrentIndex(tabs->indexOf(panel->resultView()->parentWidget()));
        QVERIFY(tabs->tabText(tabs->currentIndex()).startsWith(QStringLiteral("Result")));
        QTRY_COMPARE_WITH_TIMEOUT(panel->resultView()->toPlainText(),
                                  QStringLiteral("{\n    \"name\": \"load\",\n    \"rows\": 7\n}"), 10000);
        QVERIFY(!panel->resultExpandButton()->isVisible()); // short: shown whole
        QVERIFY(panel->resultCopyButton()->isEnabled());

        clickRow(page->view(), rowOfTask(page, QStringLiteral("large")));
        QTRY_VERIFY_WITH_TIMEOUT(
            panel->resultView()->toPlainText().startsWith(QStringLiteral("[\n    1,\n    2,")), 10000);
        // Collapsed: its first lines and an ellipsis; Show all gives the rest.
        const QStringList collapsed = panel->resultView()->toPlainText().split(u'\n');
        QCOMPARE(collapsed.size(), TaskRunDetailPanel::CollapsedResultLines + 1);
        QCOMPARE(collapsed.last(), QStringLiteral("…"));
        QVERIFY(panel->resultExpandButton()->isVisible());
        QTest::mouseClick(panel->resultExpandButton(), Qt::LeftButton);
        QCOMPARE(panel->resultView()->toPlainText(), expectedLarge);
        QCOMPARE(panel->resultExpandButton()->text(), QStringLiteral("Collapse"));
        // Copy takes the whole result, collapsed or not.
        QTest::mouseClick(panel->resultExpandButton(), Qt::LeftButton);
        QGuiApplication::clipboard()->clear();
        QTest::mouseClick(panel->resultCopyButton(), Qt::LeftButton);
        QCOMPARE(QJsonDocument::fromJson(QGuiApplication::clipboard()->text().toUtf8()).array().size(), 100);
    };

    RunPage* page = m_window->runPage();
    m_window->showRun(run);
    QTRY_COMPARE(page->view()->model()->rowCount(), 2);
    checkPanel(page);
    if (QTest::currentTestFailed())
        return;

    // Stored, in a new session.
    const QString id = run->id.toString();
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
    checkPanel(page);
}

//! A for_each task's runs appear on the Run page once its list is known, after the rows that were
//! there (appended, never reset), each row showing the run it stands for.
void TestResultView::forEachRunsAppearAsTheyAreCreated()
{
    QTemporaryDir dir;
    QVERIFY(openDatabase(dir.filePath(QStringLiteral("fan.db"))));
    const QJsonObject doc = QJsonDocument::fromJson(R"JSON({"name": "fan", "tasks": [
        {"id": "list", "kind": "shell", "result": "json", "command": ["sh", "-c", "sleep 0.5; echo '[1, 2, 3, 4, 5, 6, 7, 8, 9, 10]'"]},
        {"id": "each", "kind": "sleep", "for_each": "{{tasks.list.result}}", "seconds": 0.3},
        {"id": "slow", "kind": "sleep", "seconds": 1.5},
        {"id": "after", "kind": "noop", "value": "{{tasks.each.result}}"}]})JSON")
                                .object();
    FlowRun* run = m_context->startFlow(doc, QStringLiteral("test"), {}, nullptr);
    QVERIFY(run);
    RunPage* page = m_window->runPage();
    m_window->showRun(run);
    QAbstractItemModelTester tester(page->taskModel(),
                                    QAbstractItemModelTester::FailureReportingMode::QtTest);
    QSignalSpy resets(page->taskModel(), &QAbstractItemModel::modelReset);
    QTRY_COMPARE(page->taskModel()->rowCount(), 3); // list, slow, after
    QTRY_COMPARE_WITH_TIMEOUT(page->taskModel()->rowCount(), 13, 10000);
    QVERIFY(!run->isTerminal()); // shown while the flow run goes on
    QCOMPARE(resets.count(), 0);
    QStringList labels;
    for (int r = 0; r < 13; ++r)
        labels << taskRunLabel(*page->taskModel()->taskRunAt(r));
    QCOMPARE(labels.mid(0, 3),
             (QStringList{QStringLiteral("list"), QStringLiteral("slow"), QStringLiteral("after")}));
    for (int i = 0; i < 10; ++i)
        QCOMPARE(labels.at(3 + i), QStringLiteral("each[%1]").arg(i));
    QCOMPARE(page->taskModel()->data(page->taskModel()->index(12, TaskRunModel::TaskColumn)).toString(),
             QStringLiteral("each"));
    QCOMPARE(page->taskModel()->data(page->taskModel()->index(12, TaskRunModel::MapIndexColumn)).toString(),
             QStringLiteral("9"));
    QTRY_VERIFY_WITH_TIMEOUT(run->isTerminal(), 20000);
    QCOMPARE(toString(run->type), toString(StateType::Completed));
}

FLOWDECK_GUI_TEST_MAIN(TestResultView, "tst_resultview")

#include "tst_resultview.moc"
