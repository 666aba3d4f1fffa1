// The Health page and the status bar's health strip, with and without a database.
#include "pages/healthpage.h"
#include "uitestutil.h"
#include "widgets/healthstrip.h"
#include "widgets/sparklinewidget.h"

#include <QGroupBox>
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

FLOWDECK_GUI_TEST_MAIN(TestHealthPage, "tst_healthpage")

#include "tst_healthpage.moc"
