// The Health page's trends: counts per hour and state, the slowest and most failing flows and tasks,
// a task's durations, all from the store; exported as CSV and PNG.
#include "pages/healthpage.h"
#include "pages/trendspanel.h"
#include "uitestutil.h"
#include "widgets/trendswidget.h"

#include <QComboBox>
#include <QImage>
#include <QJsonDocument>
#include <QTabBar>
#include <QTabWidget>
#include <QTest>

using namespace flowdeck;
using namespace flowdeck::uitest;

class TestTrendsPanel : public QObject, public Dashboard {
    Q_OBJECT

private Q_SLOTS:
    void initTestCase() { writeFlows(); }
    void init() { makeWindow(); }
    void cleanup() { tearDown(); }

    void trendsComeFromTheStoreAndExport();
};

void TestTrendsPanel::trendsComeFromTheStoreAndExport()
{
    QTemporaryDir dir;
    QVERIFY(openDatabase(dir.filePath(QStringLiteral("trends.db"))));
    const QJsonObject slow = QJsonDocument::fromJson(R"({"name": "napper", "tasks": [
        {"id": "nap", "kind": "sleep", "seconds": 0.2},
        {"id": "quick", "kind": "noop", "depends_on": ["nap"]}]})")
                                 .object();
    const QJsonObject failing = QJsonDocument::fromJson(R"({"name": "breaker", "tasks": [
        {"id": "boom", "kind": "fail", "message": "no"}]})")
                                    .object();
    for (const QJsonObject& flow : {slow, slow, failing}) {
        FlowRun* run = m_context->startFlow(flow, QStringLiteral("test"), {}, nullptr);
        QVERIFY(run);
        QTRY_VERIFY_WITH_TIMEOUT(run->isTerminal(), 20000);
    }
    m_window->showPage(MainWindow::Page::Health);
    m_window->resize(1000, 800);
    m_window->show();
    QVERIFY(QTest::qWaitForWindowExposed(m_window.get()));
    // The trends are the Health page's second tab: a click on it shows them.
    auto* tabs = m_window->healthPage()->findChild<QTabWidget*>(QStringLiteral("healthTabs"));
    QVERIFY(tabs);
    QCOMPARE(m_window->healthPage()->view(), HealthPage::View::Now);
    QTest::mouseClick(tabs->tabBar(), Qt::LeftButton, {}, tabs->tabBar()->tabRect(1).center());
    QCOMPARE(m_window->healthPage()->view(), HealthPage::View::Trends);
    auto* panel = m_window->healthPage()->trends();
    QVERIFY(panel && panel->isVisible());
    panel->scheduleRefresh();
    TrendsWidget* chart = panel->chart();
    // The three runs in the last hour's bucket (or the two last, when the test ran across an hour),
    // by the state they ended in.
    auto lastTwo = [chart](int last, const char* state) {
        return chart->countAt(last - 1, QString::fromLatin1(state))
            + chart->countAt(last, QString::fromLatin1(state));
    };
    QTRY_COMPARE_WITH_TIMEOUT(lastTwo(23, "COMPLETED"), qint64(2), 15000);
    QCOMPARE(chart->data().buckets, 24); // the last 24 hours, per hour
    QCOMPARE(lastTwo(23, "FAILED"), qint64(1));
    QCOMPARE(chart->data().bucketUs, 3'600'000'000LL);
    const int hour = chart->countAt(23, QStringLiteral("COMPLETED")) > 0 ? 23 : 22;
    QVERIFY(chart->toolTipAt(chart->barRect(hour).center()).contains(QStringLiteral("flow runs started")));
    QCOMPARE(chart->slowestFlows().value(0).flow, QStringLiteral("napper"));
    QCOMPARE(chart->failingFlows().value(0).flow, QStringLiteral("breaker"));
    QCOMPARE(chart->slowestTasks().value(0).task, QStringLiteral("nap"));
    QVERIFY(chart->slowestTasks().value(0).averageUs >= 200'000);
    QCOMPARE(chart->failingTasks().value(0).task, QStringLiteral("boom"));
    // The slowest task's durations follow by themselves: two runs of at least 0.2 s.
    QTRY_COMPARE_WITH_TIMEOUT(chart->durationTask(), QStringLiteral("nap"), 10000);
    // Another task, by a click on its row.
    const QRect quick = chart->slowestTaskRect(QStringLiteral("napper"), QStringLiteral("quick"));
    QVERIFY(!quick.isEmpty());
    QTest::mouseClick(chart, Qt::LeftButton, {}, quick.center());
    QTRY_COMPARE_WITH_TIMEOUT(chart->durationTask(), QStringLiteral("quick"), 10000);

    // Exports: the numbers and the picture.
    QString error;
    const QString csvPath = dir.filePath(QStringLiteral("trends.csv"));
    QVERIFY2(chart->exportCsv(csvPath, &error), qPrintable(error));
    QFile csv(csvPath);
    QVERIFY(csv.open(QIODevice::ReadOnly));
    const QString text = QString::fromUtf8(csv.readAll());
    QVERIFY2(text.startsWith(QStringLiteral("section,start,flow,task,state,count")), qPrintable(text));
    qint64 completed = 0;
    for (const QString& line : text.split(u'\n')) {
        const QStringList fields = line.split(u',');
        if (fields.value(0) == u"runs_per_bucket" && fields.value(4) == u"COMPLETED")
            completed += fields.value(5).toLongLong();
    }
    QCOMPARE(completed, qint64(2));
    QVERIFY2(text.contains(QStringLiteral("flow,,breaker,,,1,1,1,")), qPrintable(text));
    QVERIFY2(text.contains(QStringLiteral("task,,napper,nap,,2,0,2,")), qPrintable(text));
    QCOMPARE(text.count(QStringLiteral("\nduration,")), 2);
    const QString pngPath = dir.filePath(QStringLiteral("trends.png"));
    QVERIFY2(chart->exportPng(pngPath, &error), qPrintable(error));
    QCOMPARE(QImage(pngPath).size(), chart->size() * chart->devicePixelRatio());
    QVERIFY(!chart->exportCsv(dir.filePath(QStringLiteral("missing/folder/x.csv")), &error));
    QVERIFY(error.contains(QStringLiteral("missing/folder/x.csv")));

    // Seven days: per day.
    panel->windowChoice()->setCurrentIndex(1);
    QTRY_COMPARE_WITH_TIMEOUT(chart->data().buckets, 7, 10000);
    QCOMPARE(lastTwo(6, "COMPLETED"), qint64(2));
}

FLOWDECK_GUI_TEST_MAIN(TestTrendsPanel, "tst_trendspanel")
#include "tst_trendspanel.moc"
