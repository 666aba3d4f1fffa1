// The Health page and the status bar's health strip, with and without a database.
#include "pages/healthpage.h"
#include "store/connectionpool.h"
#include "store/store.h"
#include "uitestutil.h"
#include "widgets/healthstrip.h"
#include "widgets/sparklinewidget.h"

#include <QCoro/QCoroTask>
#include <QGroupBox>
#include <QSemaphore>
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

FLOWDECK_GUI_TEST_MAIN(TestHealthPage, "tst_healthpage")

#include "tst_healthpage.moc"
