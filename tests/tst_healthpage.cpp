// The Health page and the status bar's health strip, with and without a database.
#include "models/stallmodel.h"
#include "models/taskrunmodel.h"
#include "pages/healthpage.h"
#include "pages/runpage.h"
#include "run/engine.h"
#include "run/loopmonitor.h"
#include "store/connectionpool.h"
#include "store/store.h"
#include "uitestutil.h"
#include "widgets/healthstrip.h"
#include "widgets/sparklinewidget.h"

#include <QCoro/QCoroTask>
#include <QElapsedTimer>
#include <QGroupBox>
#include <QJsonDocument>
#include <QLabel>
#include <QSemaphore>
#include <QTableView>
#include <QTemporaryDir>
#include <QTest>

using namespace flowdeck;
using namespace flowdeck::uitest;

class TestHealthPage : public QObject, public Dashboard {
    Q_OBJECT

private Q_SLOTS:
    void initTestCase() { writeFlows(); }
    void init() { makeWindow(); }
    void cleanup() { tearDown(); }

    void healthPageAndStrip();
    void healthShowsDatabasePool();
    void databaseWaitersAreOnlyJobsWithoutAConnection();
    void stallRowOpensItsTaskRunAndEarlierStallsStay();
    void launchDoesNotStallTheLoop();
};

void TestHealthPage::healthPageAndStrip()
{
    m_window->showPage(MainWindow::Page::Health);
    HealthPage* page = m_window->healthPage();
    page->refresh();
    QCOMPARE(page->sparkline()->values().size(), size_t(60));
    auto* database = page->findChild<QGroupBox*>(QStringLiteral("databasePoolGroup"));
    QVERIFY(database);
    // This session has not opened a database (healthShowsDatabasePool covers an open one).
    QVERIFY2(page->databaseText().startsWith(QStringLiteral("No database")),
             qPrintable(page->databaseText()));
    const QString strip = m_window->healthStrip()->text();
    QVERIFY2(strip.contains(QStringLiteral("Pool 0/40 busy · 0 queued")), qPrintable(strip));
    QVERIFY(strip.contains(QStringLiteral("Lag ")));
    // Clicking the strip opens the Health page.
    m_window->showPage(MainWindow::Page::Flows);
    QTest::mouseClick(m_window->healthStrip(), Qt::LeftButton);
    QCOMPARE(m_window->currentPage(), MainWindow::Page::Health);
}

void TestHealthPage::healthShowsDatabasePool()
{
    QTemporaryDir dir;
    QVERIFY(openDatabase(dir.filePath(QStringLiteral("health.db"))));
    m_window->showPage(MainWindow::Page::Health);
    m_window->healthPage()->refresh();
    m_window->healthStrip()->refresh();
    const QString text = m_window->healthPage()->databaseText();
    QVERIFY2(text.contains(dir.filePath(QStringLiteral("health.db"))), qPrintable(text));
    QVERIFY2(text.contains(QStringLiteral("/ 5")) && text.contains(QStringLiteral("/ 10")), qPrintable(text));
    QVERIFY2(m_window->healthStrip()->text().contains(QStringLiteral("DB ")),
             qPrintable(m_window->healthStrip()->text()));
}

void TestHealthPage::databaseWaitersAreOnlyJobsWithoutAConnection()
{
    QTemporaryDir dir;
    QVERIFY(openDatabase(dir.filePath(QStringLiteral("waiters.db"))));
    m_window->showPage(MainWindow::Page::Health);
    HealthPage* page = m_window->healthPage();
    HealthStrip* strip = m_window->healthStrip();
    ConnectionPool& pool = m_context->database().store()->pool();
    // The figure "Waiting for a connection" on the page.
    auto waiters = [page] { return page->databaseText().split(QStringLiteral(" | ")).value(3); };

    // An idle pool: a job just handed over while connections are free waits for nothing. Read at once
    // after each submission, before a database thread took it: a queue length would say 1 here.
    for (int i = 0; i < 100; ++i) {
        QCoro::Task<int> job = pool.run([](QSqlDatabase&) { return 1; });
        page->refresh();
        strip->refresh();
        QCOMPARE(waiters(), QStringLiteral("0"));
        QVERIFY2(!strip->text().contains(QStringLiteral("waiting for a connection")),
                 qPrintable(strip->text()));
        QCOMPARE(QCoro::waitFor(job), 1);
    }

    // Every connection checked out: a further job really waits, and is counted.
    PoolOptions options = m_context->database().poolOptions();
    options.poolSize = 1;
    options.maxOverflow = 0;
    m_context->database().setPoolOptions(options);
    QSemaphore release;
    QSemaphore holding;
    QCoro::Task<int> holder = pool.run([&](QSqlDatabase&) {
        holding.release();
        release.acquire();
        return 1;
    });
    QVERIFY(holding.tryAcquire(1, 10000));
    QCoro::Task<int> waiter = pool.run([](QSqlDatabase&) { return 2; });
    page->refresh();
    strip->refresh();
    QCOMPARE(waiters(), QStringLiteral("1"));
    QVERIFY2(strip->text().contains(QStringLiteral("1 waiting for a connection")), qPrintable(strip->text()));
    release.release();
    QCOMPARE(QCoro::waitFor(holder), 1);
    QCOMPARE(QCoro::waitFor(waiter), 2);
}

void TestHealthPage::stallRowOpensItsTaskRunAndEarlierStallsStay()
{
    QTemporaryDir dir;
    const QString db = dir.filePath(QStringLiteral("stalls.db"));
    QVERIFY(openDatabase(db));
    FlowRun* run = m_context->startFlow(QJsonDocument::fromJson(R"({"name": "hogging", "tasks": [
        {"id": "first", "kind": "noop"},
        {"id": "hog", "kind": "loop_block", "seconds": 0.3, "depends_on": ["first"]}]})")
                                            .object(),
                                        QStringLiteral("test"), {}, nullptr);
    QVERIFY(run);
    QTRY_VERIFY_WITH_TIMEOUT(run->isTerminal(), 10000);
    m_context->flush();
    m_window->showPage(MainWindow::Page::Health);
    HealthPage* page = m_window->healthPage();
    StallModel* stalls = page->stallModel();
    auto rowOfHog = [&stalls] {
        for (int r = 0; r < stalls->rowCount(); ++r) {
            if (stalls->index(r, StallModel::TaskColumn).data().toString() == QStringLiteral("hog"))
                return r;
        }
        return -1;
    };
    QTRY_VERIFY(rowOfHog() >= 0);

    // The page says what the figures mean and what to do, as the log line does.
    QVERIFY(page->loopNote()->isVisible());
    QVERIFY2(page->loopNote()->text().contains(QStringLiteral("kind \"blocking\"")),
             qPrintable(page->loopNote()->text()));
    QVERIFY2(page->loopNote()->text().contains(QStringLiteral("adds them up")),
             qPrintable(page->loopNote()->text()));

    // Enter on the stall's row opens its run with the task run selected.
    QTableView* view = page->stallView();
    view->setFocus();
    view->setCurrentIndex(stalls->index(rowOfHog(), 0));
    QTest::keyClick(view, Qt::Key_Return);
    QCOMPARE(m_window->currentPage(), MainWindow::Page::Run);
    QCOMPARE(m_window->runPage()->flowRun(), run);
    QTRY_COMPARE(m_window->runPage()->selectedTaskRuns().size(), 1);
    QCOMPARE(m_window->runPage()->selectedTaskRuns().first()->taskId(), QStringLiteral("hog"));

    // After a restart the stall is still listed (read from the store), and still opens its run.
    const QString runId = run->id.toString();
    cleanup();
    makeWindow();
    QVERIFY(openDatabase(db));
    m_window->showPage(MainWindow::Page::Health);
    page = m_window->healthPage();
    stalls = page->stallModel();
    QTRY_VERIFY_WITH_TIMEOUT(rowOfHog() >= 0, 10000);
    QTRY_VERIFY_WITH_TIMEOUT(m_context->history().storedRun(runId) != nullptr, 10000);
    FlowRun* stored = m_context->history().storedRun(runId);
    view = page->stallView();
    view->setFocus();
    view->setCurrentIndex(stalls->index(rowOfHog(), 0));
    QTest::keyClick(view, Qt::Key_Return);
    QCOMPARE(m_window->currentPage(), MainWindow::Page::Run);
    QCOMPARE(m_window->runPage()->flowRun(), stored);
    QTRY_COMPARE_WITH_TIMEOUT(m_window->runPage()->selectedTaskRuns().size(), 1, 10000);
    QCOMPARE(m_window->runPage()->selectedTaskRuns().first()->taskId(), QStringLiteral("hog"));
}

void TestHealthPage::launchDoesNotStallTheLoop()
{
    // A launch as main() does it: the context, the main window with its pages, shown; then the loop.
    tearDown();
    m_context = std::make_unique<AppContext>();
    m_context->engine().loopMonitor().setThresholdMs(50);
    m_window = std::make_unique<MainWindow>(m_context.get(), MainWindow::Options{false});
    m_window->resize(900, 600);
    // Start-up work before the first frame (reading flows, fonts, icons; 150 ms of it here).
    QElapsedTimer startUp;
    startUp.start();
    while (startUp.elapsed() < 150) {}
    m_window->show();
    QVERIFY(QTest::qWaitForWindowExposed(m_window.get()));
    const LoopMonitor& monitor = m_context->engine().loopMonitor();
    // Watched from the first frame on: a few heartbeats later, nothing of the launch shows as a stall
    // or as lag.
    QTRY_VERIFY_WITH_TIMEOUT(monitor.isRunning() && monitor.lagStats().samples >= 20, 10000);
    QCOMPARE(monitor.stallCount(), quint64(0));
    QVERIFY2(monitor.lagStats().max < 50, qPrintable(QString::number(monitor.lagStats().max)));
}

FLOWDECK_GUI_TEST_MAIN(TestHealthPage, "tst_healthpage")

#include "tst_healthpage.moc"
