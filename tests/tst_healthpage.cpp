// The Health page and the status bar's health strip, with and without a database.
#include "faultutil.h"
#include "models/stallmodel.h"
#include "models/taskrunmodel.h"
#include "pages/healthpage.h"
#include "pages/runpage.h"
#include "run/engine.h"
#include "run/loopmonitor.h"
#include "store/connectionpool.h"
#include "store/store.h"
#include "testutil.h"
#include "uitestutil.h"
#include "widgets/healthstrip.h"
#include "widgets/sparklinewidget.h"

#include <QCoro/QCoroTask>
#include <QElapsedTimer>
#include <QGroupBox>
#include <QJsonDocument>
#include <QLabel>
#include <QMessageBox>
#include <QProcess>
#include <QSemaphore>
#include <QSignalSpy>
#include <QTableView>
#include <QTemporaryDir>
#include <QTest>
#include <QTimer>
#include <QToolButton>

using namespace flowdeck;
using namespace flowdeck::test;
using namespace flowdeck::uitest;

namespace {

} // namespace

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
    void fullDiskStopsTheAppsRunsAndRetryReconnects();
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

void TestHealthPage::fullDiskStopsTheAppsRunsAndRetryReconnects()
{
    TmpfsMount mount(QStringLiteral("4m"));
    if (!mount.ok())
        QSKIP(qPrintable(mount.why()));
    const QString path = mount.path(QStringLiteral("full.db"));
    QVERIFY(openDatabase(path));
    m_window->showPage(MainWindow::Page::Health);
    QSignalSpy messages(m_context.get(), &AppContext::message);

    // The event loop keeps turning while the disk fills and the runs stop: no turn takes long (a
    // blocking wait for the database would take seconds).
    QElapsedTimer sinceTick;
    sinceTick.start();
    qint64 longestTurnMs = 0;
    QTimer ticker;
    connect(&ticker, &QTimer::timeout, [&] { longestTurnMs = std::max(longestTurnMs, sinceTick.restart()); });
    ticker.start(10);
    ValidationErrors errors;
    FlowRun* run = m_context->startFlow(QJsonDocument::fromJson(FillingFlow).object(),
                                        QStringLiteral("filling.json"), {}, &errors);
    QVERIFY(run);
    QTRY_VERIFY_WITH_TIMEOUT(!m_context->database().writeFailure().isEmpty(), 60000);
    const QString failure = m_context->database().writeFailure();
    QVERIFY2(failure.contains(QLatin1String("disk full")), qPrintable(failure));

    // The run of this app stops with the reason (in memory at once; the engine is idle again).
    QTRY_VERIFY_WITH_TIMEOUT(run->isTerminal(), 20000);
    QVERIFY2(run->type == StateType::Cancelled, qPrintable(toString(run->type)));
    QVERIFY2(run->message.startsWith(QLatin1String("cancelled")), qPrintable(run->message));
    const TaskRun& logging = run->nodes.back().runs[0]; // b, stopped while it logged
    QVERIFY2(logging.type == StateType::Cancelled
                 && logging.message.contains(QLatin1String("cannot write to the database: disk full")),
             qPrintable(logging.message));
    QTRY_COMPARE_WITH_TIMEOUT(m_context->activeFlowRuns(), 0, 20000);
    ticker.stop();
    QVERIFY2(longestTurnMs < 1000, qPrintable(QString::number(longestTurnMs)));

    // The window says so: in the status bar (red, with Retry), on the Health page, in a message box.
    m_window->healthStrip()->refresh();
    const QString strip = m_window->healthStrip()->text();
    QVERIFY2(strip.contains(QStringLiteral("DB cannot write: disk full")), qPrintable(strip));
    QVERIFY(m_window->healthStrip()->retryButton()->isVisible());
    m_window->healthPage()->refresh();
    const QString page = m_window->healthPage()->databaseText();
    QVERIFY2(page.contains(QStringLiteral("Cannot write to ") + path)
                 && page.contains(QLatin1String("disk full")),
             qPrintable(page));
    QMessageBox* box = m_window->findChild<QMessageBox*>(QStringLiteral("writeFailureBox"));
    QVERIFY(box);
    QTRY_VERIFY(box->isVisible());
    QVERIFY2(box->text().contains(path), qPrintable(box->text()));
    box->close();

    // A new run is refused, with the reason.
    messages.clear();
    QVERIFY(!m_context->startFlow(QJsonDocument::fromJson(FillingFlow).object(),
                                  QStringLiteral("filling.json"), {}, &errors));
    QVERIFY(!messages.isEmpty());
    const QString refused = messages.constLast().value(0).toString();
    QVERIFY2(refused.contains(QLatin1String("cannot start")) && refused.contains(QLatin1String("disk full")),
             qPrintable(refused));

    // Once there is room again, Retry reconnects and runs are saved again.
    QVERIFY2(mount.grow(QStringLiteral("64m")), qPrintable(mount.why()));
    QTest::mouseClick(m_window->healthStrip()->retryButton(), Qt::LeftButton);
    QTRY_COMPARE_WITH_TIMEOUT(m_context->database().state(), DatabaseState::Open, 20000);
    QVERIFY(m_context->database().writeFailure().isEmpty());
    m_window->healthStrip()->refresh();
    QVERIFY(!m_window->healthStrip()->retryButton()->isVisible());
    const QByteArray quick = R"({"name": "after", "tasks": [{"id": "n", "kind": "noop"}]})";
    FlowRun* after = m_context->startFlow(QJsonDocument::fromJson(quick).object(),
                                          QStringLiteral("after.json"), {}, &errors);
    QVERIFY(after);
    QTRY_VERIFY_WITH_TIMEOUT(after->isTerminal(), 20000);
    QVERIFY2(after->type == StateType::Completed, qPrintable(after->message));
    QCOMPARE(test::query(path, QStringLiteral("PRAGMA integrity_check")).value(0).value(0).toString(),
             QStringLiteral("ok"));
    QCOMPARE(
        test::query(path, QStringLiteral("SELECT state FROM flow_runs WHERE id = ?"), {after->id.toString()})
            .value(0)
            .value(0)
            .toString(),
        QStringLiteral("COMPLETED"));
    // The stopped run: marked CRASHED with the reason where the disk still took it, else once the
    // database is open again.
    QTRY_COMPARE_WITH_TIMEOUT(
        test::query(path, QStringLiteral("SELECT state FROM flow_runs WHERE id = ?"), {run->id.toString()})
            .value(0)
            .value(0)
            .toString(),
        QStringLiteral("CRASHED"), 20000);
    const QString stoppedMessage
        = test::query(path, QStringLiteral("SELECT message FROM flow_runs WHERE id = ?"),
                      {run->id.toString()})
              .value(0)
              .value(0)
              .toString();
    QVERIFY2(stoppedMessage.contains(QLatin1String("cannot write to the database: disk full")),
             qPrintable(stoppedMessage));
    // Nothing of the store that stopped looks alive: only this session's engine row is left.
    QTRY_COMPARE_WITH_TIMEOUT(
        test::query(path, QStringLiteral("SELECT count(*) FROM engines")).value(0).value(0).toInt(), 1,
        20000);
}

FLOWDECK_GUI_TEST_MAIN(TestHealthPage, "tst_healthpage")

#include "tst_healthpage.moc"
