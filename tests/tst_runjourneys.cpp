// Operating runs through the real widgets, as a user does: retry failed runs from the Runs page (one,
// then several at once) until they complete under the same ids, and pause then resume a run with
// the Run page's button. On SQLite and PostgreSQL.
#include "models/flowrunfiltermodel.h"
#include "models/flowrunmodel.h"
#include "models/taskrunmodel.h"
#include "pages/runpage.h"
#include "pages/runspage.h"
#include "run/flowrun.h"
#include "store/connectionpool.h"
#include "testutil.h"
#include "uitestutil.h"
#include "widgets/runactions.h"

#include <QAbstractItemModelTester>
#include <QDir>
#include <QElapsedTimer>
#include <QFile>
#include <QItemSelectionModel>
#include <QJsonArray>
#include <QJsonDocument>
#include <QLabel>
#include <QSqlQuery>
#include <QStatusBar>
#include <QTemporaryDir>
#include <QTest>
#include <QTimer>
#include <QToolButton>
#include <QTreeView>

#include <algorithm>

using namespace flowdeck;
using namespace flowdeck::uitest;

class TestRunJourneys : public QObject, public Dashboard {
    Q_OBJECT

private Q_SLOTS:
    void initTestCase() { writeFlows(); }
    void init() { makeWindow(); }
    void cleanup() { tearDown(); }

    void retryAFailedRun_data() { flowdeck::test::addBackendRows(); }
    void retryAFailedRun();
    void retryARunOfAnEarlierSession_data() { flowdeck::test::addBackendRows(); }
    void retryARunOfAnEarlierSession();
    void pauseAndResumeByTheButton_data() { flowdeck::test::addBackendRows(); }
    void pauseAndResumeByTheButton();

private:
    //! Opens a fresh database of \a backend; false (skipped or failed) when there is none.
    bool openBackend(const QString& backend, QString* url = nullptr);
    //! Rows of the Runs table whose run has id \a id.
    int rowsWithId(const QString& id) const;
    QString storedState(const QString& id) const;
};

namespace {

int lineCount(const QString& path)
{
    QFile file(path);
    if (!file.open(QIODevice::ReadOnly))
        return 0;
    return int(file.readAll().count('\n'));
}

} // namespace

bool TestRunJourneys::openBackend(const QString& backend, QString* opened)
{
    QString error;
    const QString url = flowdeck::test::freshDatabaseUrl(backend, &error);
    if (opened)
        *opened = url;
    if (url.isEmpty() && backend == QLatin1String("postgres") && !flowdeck::test::runningInCi()) {
        QTest::qSkip("no PostgreSQL server (FLOWDECK_TEST_PG)", __FILE__, __LINE__);
        return false;
    }
    if (url.isEmpty()) {
        QTest::qFail(qPrintable(error), __FILE__, __LINE__);
        return false;
    }
    if (!openDatabase(url)) {
        QTest::qFail(qPrintable(m_context->database().errorText()), __FILE__, __LINE__);
        return false;
    }
    return true;
}

int TestRunJourneys::rowsWithId(const QString& id) const
{
    const FlowRunModel* model = m_window->runsPage()->model();
    int rows = 0;
    for (int r = 0; r < model->rowCount(); ++r)
        rows += model->flowRunAt(r)->id.toString() == id ? 1 : 0;
    return rows;
}

QString TestRunJourneys::storedState(const QString& id) const
{
    ConnectionPool* pool = m_context->database().pool();
    if (!pool)
        return {};
    return flowdeck::test::runOnPool(*pool, [id](QSqlDatabase& db) {
        QSqlQuery q(db);
        q.prepare(QStringLiteral("SELECT state FROM flow_runs WHERE id = ?"));
        q.addBindValue(id);
        return q.exec() && q.next() ? q.value(0).toString() : QString();
    });
}

// Two runs fail on their first try (a shell task that succeeds once its marker file exists). Retry on
// the Runs page, first for one, then for the other with a completed run selected beside it: each
// completes under its own id, in its own row; the task run that had completed is not run again.
void TestRunJourneys::retryAFailedRun()
{
    QFETCH(QString, backend);
    if (!openBackend(backend))
        return;
    QTemporaryDir dir;
    const QString flowFile = m_flows + QStringLiteral("/flaky.json");
    writeFile(flowFile,
              QStringLiteral(R"({"name": "flaky", "parameters": {"dir": ""},
        "tasks": [
          {"id": "first", "kind": "shell", "command": ["sh", "-c", "echo x >> '{{dir}}/first'"]},
          {"id": "flaky", "kind": "shell", "depends_on": ["first"],
           "command": ["sh", "-c", "test -e '{{dir}}/marker' || { touch '{{dir}}/marker'; exit 1; }"]},
          {"id": "after", "kind": "noop", "depends_on": ["flaky"]}]})")
                  .toUtf8());
    QFile file(flowFile);
    QVERIFY(file.open(QIODevice::ReadOnly));
    const QJsonObject document = QJsonDocument::fromJson(file.readAll()).object();
    QVERIFY(QDir(dir.path()).mkdir(QStringLiteral("one")) && QDir(dir.path()).mkdir(QStringLiteral("two")));
    const QString one = dir.filePath(QStringLiteral("one"));
    const QString two = dir.filePath(QStringLiteral("two"));
    FlowRun* runOne
        = m_context->startFlow(document, flowFile, QJsonObject{{QStringLiteral("dir"), one}}, nullptr);
    FlowRun* runTwo
        = m_context->startFlow(document, flowFile, QJsonObject{{QStringLiteral("dir"), two}}, nullptr);
    FlowRun* done = m_context->startFlow(
        QJsonDocument::fromJson(R"({"name": "done", "tasks": [{"id": "a", "kind": "noop"}]})").object(),
        QStringLiteral("test"), {}, nullptr);
    QVERIFY(runOne && runTwo && done);
    QTRY_VERIFY_WITH_TIMEOUT(runOne->type == StateType::Failed && runTwo->type == StateType::Failed
                                 && done->type == StateType::Completed,
                             20000);
    m_context->flush();
    const QString idOne = runOne->id.toString();
    const QString idTwo = runTwo->id.toString();
    QTRY_COMPARE(storedState(idOne), QStringLiteral("FAILED"));
    QTRY_COMPARE(storedState(idTwo), QStringLiteral("FAILED"));

    m_window->showPage(MainWindow::Page::Runs);
    RunsPage* page = m_window->runsPage();
    QAbstractItemModelTester tester(page->model());
    QTRY_COMPARE(page->model()->rowCount(), 3);
    QToolButton* retry = buttonFor(page, page->runActions()->retryAction());
    QVERIFY(retry);

    // One: its row, the toolbar's Retry.
    clickRow(page->view(), page->viewIndexOf(runOne).row());
    QCOMPARE(page->selectedFlowRuns(), QList<FlowRun*>{runOne});
    QVERIFY2(retry->isEnabled(), qPrintable(retry->toolTip()));
    // The event loop keeps turning while the retry reads and writes the database.
    QElapsedTimer sinceTick;
    qint64 longestGapMs = 0;
    QTimer ticks;
    ticks.setInterval(5);
    connect(&ticks, &QTimer::timeout, this,
            [&] { longestGapMs = std::max(longestGapMs, sinceTick.restart()); });
    sinceTick.start();
    ticks.start();
    QTest::mouseClick(retry, Qt::LeftButton);
    QTRY_VERIFY_WITH_TIMEOUT(m_context->continuedAs(runOne) != nullptr, 20000);
    ticks.stop();
    QVERIFY2(longestGapMs < 500,
             qPrintable(QStringLiteral("the event loop stopped for %1 ms").arg(longestGapMs)));
    QTRY_VERIFY_WITH_TIMEOUT(storedState(idOne) == QStringLiteral("COMPLETED"), 20000);
    QTRY_VERIFY(m_context->continuedAs(runOne) != nullptr);
    FlowRun* retried = m_context->continuedAs(runOne);
    QCOMPARE(retried->id.toString(), idOne);
    QTRY_VERIFY_WITH_TIMEOUT(retried->type == StateType::Completed, 20000);
    m_context->flush();
    QCOMPARE(page->model()->rowCount(), 3);
    QCOMPARE(rowsWithId(idOne), 1);
    const QModelIndex rowOne = page->model()->indexOf(retried, FlowRunModel::StateColumn);
    QVERIFY(rowOne.isValid());
    QCOMPARE(rowOne.data().toString(), QStringLiteral("Completed"));
    QCOMPARE(lineCount(one + QStringLiteral("/first")), 1); // completed before: not run again
    QCOMPARE(rowsWithId(idTwo), 1);

    // Two, selected with the completed run beside it: Retry takes the one it can.
    page->select(runTwo);
    page->view()->selectionModel()->select(page->viewIndexOf(done),
                                           QItemSelectionModel::Select | QItemSelectionModel::Rows);
    QCOMPARE(page->selectedFlowRuns().size(), 2);
    QVERIFY2(retry->isEnabled(), qPrintable(retry->toolTip()));
    page->view()->setFocus();
    QTest::keyClick(page->view(), Qt::Key_T, Qt::ControlModifier);
    QTRY_VERIFY_WITH_TIMEOUT(storedState(idTwo) == QStringLiteral("COMPLETED"), 20000);
    QTRY_VERIFY(m_context->continuedAs(runTwo)
                && m_context->continuedAs(runTwo)->type == StateType::Completed);
    m_context->flush();
    QCOMPARE(rowsWithId(idTwo), 1);
    QCOMPARE(page->model()->rowCount(), 3);
    QCOMPARE(lineCount(two + QStringLiteral("/first")), 1);
    QVERIFY(m_context->continuedAs(done) == nullptr);
    // Completed now: Retry says why not.
    // (RunsPage::select also moves the current row, which the Ctrl still held by the test's key click
    // would turn into a toggle.)
    page->view()->selectionModel()->select(page->viewIndexOf(m_context->continuedAs(runTwo)),
                                           QItemSelectionModel::ClearAndSelect | QItemSelectionModel::Rows);
    QCOMPARE(page->selectedFlowRuns().size(), 1);
    QVERIFY(!retry->isEnabled());
    QVERIFY2(retry->toolTip().startsWith(QStringLiteral("Retry is not available: it is COMPLETED")),
             qPrintable(retry->toolTip()));
    // No failure counts in the status bar any more: both went on and completed.
    QCOMPARE(m_context->failedFlowRunsSince(0), 0);
}

// A run that failed in an earlier session (read from the store) is retried here: it continues under
// its id in this app, in the row it had.
void TestRunJourneys::retryARunOfAnEarlierSession()
{
    QFETCH(QString, backend);
    QString url;
    if (!openBackend(backend, &url))
        return;
    QTemporaryDir dir;
    const QJsonObject document
        = QJsonDocument::fromJson(QStringLiteral(R"({"name": "flaky-earlier", "tasks": [
            {"id": "flaky", "kind": "shell",
             "command": ["sh", "-c", "test -e '%1/marker' || { touch '%1/marker'; exit 1; }"]}]})")
                                      .arg(dir.path())
                                      .toUtf8())
              .object();
    FlowRun* run = m_context->startFlow(document, QStringLiteral("test"), {}, nullptr);
    QVERIFY(run);
    QTRY_VERIFY_WITH_TIMEOUT(run->type == StateType::Failed, 20000);
    const QString id = run->id.toString();

    cleanup();
    makeWindow();
    QVERIFY(openDatabase(url));
    m_window->showPage(MainWindow::Page::Runs);
    RunsPage* page = m_window->runsPage();
    QTRY_COMPARE_WITH_TIMEOUT(page->model()->rowCount(), 1, 10000);
    FlowRun* stored = page->model()->flowRunAt(0);
    QVERIFY(m_context->history().isStored(stored));
    clickRow(page->view(), 0);
    page->view()->setFocus();
    QTest::keyClick(page->view(), Qt::Key_T, Qt::ControlModifier);
    QTRY_VERIFY_WITH_TIMEOUT(m_context->continuedAs(stored) != nullptr, 10000);
    FlowRun* retried = m_context->continuedAs(stored);
    QCOMPARE(retried->id.toString(), id);
    QVERIFY(!m_context->history().isStored(retried));
    QTRY_VERIFY_WITH_TIMEOUT(retried->type == StateType::Completed, 20000);
    QTRY_COMPARE_WITH_TIMEOUT(storedState(id), QStringLiteral("COMPLETED"), 10000);
    // One row for the id, also when the Runs table lays out everything the history holds again (the
    // earlier copy is still among the stored runs).
    m_context->flush();
    QCOMPARE(page->model()->rowCount(), 1);
    Q_EMIT m_context->history().historyChanged();
    m_context->flush();
    QCOMPARE(page->model()->rowCount(), 1);
    QCOMPARE(page->model()->flowRunAt(0), retried);
    QCOMPARE(page->model()->index(0, FlowRunModel::StateColumn).data().toString(),
             QStringLiteral("Completed"));
    QCOMPARE(page->model()->index(0, FlowRunModel::WorkerColumn).data().toString(),
             QStringLiteral("this app"));
}

// Pause stops new task runs from starting (the one running finishes); Resume goes on where it
// stopped, and every task run runs exactly once.
void TestRunJourneys::pauseAndResumeByTheButton()
{
    QFETCH(QString, backend);
    if (!openBackend(backend))
        return;
    QTemporaryDir dir;
    const QString log = dir.filePath(QStringLiteral("ran"));
    QJsonArray tasks;
    for (int i = 0; i < 6; ++i) {
        QJsonObject task{{QStringLiteral("id"), QStringLiteral("t%1").arg(i)},
                         {QStringLiteral("kind"), QStringLiteral("shell")},
                         {QStringLiteral("command"),
                          QJsonArray{QStringLiteral("sh"), QStringLiteral("-c"),
                                     QStringLiteral("echo t%1 >> '%2'; sleep 0.3").arg(i).arg(log)}}};
        if (i > 0)
            task.insert(QStringLiteral("depends_on"), QJsonArray{QStringLiteral("t%1").arg(i - 1)});
        tasks.append(task);
    }
    FlowRun* run = m_context->startFlow(
        QJsonObject{{QStringLiteral("name"), QStringLiteral("chain")}, {QStringLiteral("tasks"), tasks}},
        QStringLiteral("test"), {}, nullptr);
    QVERIFY(run);
    m_window->showRun(run);
    RunPage* page = m_window->runPage();
    auto* button = page->findChild<QToolButton*>(QStringLiteral("pauseResumeActionButton"));
    QVERIFY(button);
    QTRY_VERIFY_WITH_TIMEOUT(lineCount(log) >= 1, 10000);
    QTRY_VERIFY(button->isEnabled());
    QCOMPARE(button->text(), QStringLiteral("Pause"));
    QTest::mouseClick(button, Qt::LeftButton);
    QTRY_VERIFY_WITH_TIMEOUT(page->flowRun()->type == StateType::Paused, 10000);
    FlowRun* paused = page->flowRun();
    QCOMPARE(paused->id, run->id);
    QTRY_COMPARE(button->text(), QStringLiteral("Resume"));
    // The header says who paused it.
    QTRY_VERIFY(page->findChild<QLabel*>(QStringLiteral("runTitle"))
                    ->text()
                    .contains(QStringLiteral("paused by ") + paused->startedBy.toHtmlEscaped()));
    QTRY_COMPARE_WITH_TIMEOUT(storedState(run->id.toString()), QStringLiteral("PAUSED"), 10000);
    // The task run running when it paused finishes; none starts after it.
    QTRY_VERIFY_WITH_TIMEOUT(paused->count(StateType::Running) == 0, 10000);
    const int ranWhenPaused = lineCount(log);
    QTest::qWait(1500); // several task lengths: a task started after the pause would have logged
    QCOMPARE(lineCount(log), ranWhenPaused);
    QVERIFY(ranWhenPaused < 6);

    QVERIFY(button->isEnabled());
    QTest::mouseClick(button, Qt::LeftButton);
    QTRY_VERIFY_WITH_TIMEOUT(page->flowRun()->type == StateType::Completed, 20000);
    FlowRun* finished = page->flowRun();
    QCOMPARE(finished->id, run->id);
    QTRY_COMPARE_WITH_TIMEOUT(storedState(run->id.toString()), QStringLiteral("COMPLETED"), 10000);
    QCOMPARE(lineCount(log), 6); // each task run ran once
    m_context->flush();
    QCOMPARE(button->text(), QStringLiteral("Pause"));
    QVERIFY(!button->isEnabled());
    QCOMPARE(rowsWithId(run->id.toString()), 1);
}

FLOWDECK_GUI_TEST_MAIN(TestRunJourneys, "tst_runjourneys")

#include "tst_runjourneys.moc"
