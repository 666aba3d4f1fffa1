// The Concurrency page: slot holders and waiters of a tag.
#include "models/concurrencymodel.h"
#include "pages/concurrencypage.h"
#include "run/engine.h"
#include "uitestutil.h"

#include <QAbstractItemModelTester>
#include <QJsonDocument>
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

FLOWDECK_GUI_TEST_MAIN(TestConcurrencyPage, "tst_concurrencypage")

#include "tst_concurrencypage.moc"
