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

#include <QClipboard>
#include <QGuiApplication>
#include <QJsonArray>
#include <QJsonDocument>
#include <QPlainTextEdit>
#include <QPushButton>
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

FLOWDECK_GUI_TEST_MAIN(TestResultView, "tst_resultview")

#include "tst_resultview.moc"
