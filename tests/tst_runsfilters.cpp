// The Runs page's filters: several states at once, a flow, a time range, a text search over flow name,
// id and parameters; kept across a new main window, and cleared all at once.
#include "context/appsettings.h"
#include "models/flowrunmodel.h"
#include "models/modelroles.h"
#include "pages/runspage.h"
#include "store/connectionpool.h"
#include "store/databaseurl.h"
#include "style/statestyle.h"
#include "testutil.h"
#include "uitestutil.h"

#include <QAction>
#include <QComboBox>
#include <QCoro/QCoroTask>
#include <QDateTime>
#include <QDateTimeEdit>
#include <QJsonObject>
#include <QLineEdit>
#include <QMenu>
#include <QSqlQuery>
#include <QTemporaryDir>
#include <QTest>
#include <QToolButton>
#include <QTreeView>

using namespace flowdeck;
using namespace flowdeck::uitest;

class TestRunsFilters : public QObject, public Dashboard {
    Q_OBJECT

private Q_SLOTS:
    void initTestCase() { writeFlows(); }
    void init()
    {
        appsettings::open().remove(QStringLiteral("Runs")); // no filter left over from another test
        makeWindow();
    }
    void cleanup() { tearDown(); }

    void stateMenuFiltersSeveralStatesAtOnce();
    void flowFilterCombinesWithStates();
    void timeRangeHidesOlderStoredRuns();
    void searchMatchesFlowNameIdAndParameters();
    void filtersPersistAcrossANewMainWindow();
    void clearFiltersShowsEveryRun();

private:
    //! Triggers the entry \a text of the Runs page's state menu.
    void chooseState(const QString& text);
    //! Flow names of the rows the Runs table shows, sorted.
    QStringList shownFlows() const;
    //! The time range combo's entry whose settings key is \a range.
    void chooseRange(const QString& range);
};

void TestRunsFilters::chooseState(const QString& text)
{
    auto* button = m_window->runsPage()->findChild<QToolButton*>(QStringLiteral("stateFilter"));
    QVERIFY(button && button->menu());
    for (QAction* action : button->menu()->actions()) {
        if (action->text() == text) {
            action->trigger();
            return;
        }
    }
    QFAIL(qPrintable(QStringLiteral("no state menu entry ") + text));
}

QStringList TestRunsFilters::shownFlows() const
{
    QStringList flows;
    const QAbstractItemModel* model = m_window->runsPage()->view()->model();
    for (int r = 0; r < model->rowCount(); ++r)
        flows << model->index(r, FlowRunModel::FlowColumn).data().toString();
    flows.sort();
    return flows;
}

void TestRunsFilters::chooseRange(const QString& range)
{
    auto* time = m_window->runsPage()->findChild<QComboBox*>(QStringLiteral("timeFilter"));
    QVERIFY(time);
    const int index = time->findData(range);
    QVERIFY(index >= 0);
    time->setCurrentIndex(index);
}

void TestRunsFilters::stateMenuFiltersSeveralStatesAtOnce()
{
    FlowRun* ok = startFile(QStringLiteral("quick.json"));
    FlowRun* bad = startFile(QStringLiteral("failing.json"));
    FlowRun* slow = startFile(QStringLiteral("slow.json"));
    QVERIFY(ok && bad && slow);
    QTRY_VERIFY_WITH_TIMEOUT(ok->isTerminal() && bad->isTerminal() && slow->type == StateType::Running,
                             20000);
    m_window->showPage(MainWindow::Page::Runs);
    QTRY_COMPARE(shownFlows(),
                 (QStringList{QStringLiteral("failing"), QStringLiteral("quick"), QStringLiteral("slow")}));

    // Two states checked at once: the runs in either, and the button says which.
    chooseState(stateLabel(StateType::Failed));
    QCOMPARE(shownFlows(), QStringList{QStringLiteral("failing")});
    chooseState(stateLabel(StateType::Running));
    QCOMPARE(shownFlows(), (QStringList{QStringLiteral("failing"), QStringLiteral("slow")}));
    auto* button = m_window->runsPage()->findChild<QToolButton*>(QStringLiteral("stateFilter"));
    QVERIFY2(button->text().contains(stateLabel(StateType::Running)), qPrintable(button->text()));
    QVERIFY2(button->text().contains(stateLabel(StateType::Failed)), qPrintable(button->text()));

    // The sets one click away replace the checked states.
    chooseState(QStringLiteral("Not finished"));
    QCOMPARE(shownFlows(), QStringList{QStringLiteral("slow")});
    chooseState(QStringLiteral("Failed or crashed"));
    QCOMPARE(shownFlows(), QStringList{QStringLiteral("failing")});
    chooseState(stateLabel(StateType::Completed));
    QCOMPARE(shownFlows(), (QStringList{QStringLiteral("failing"), QStringLiteral("quick")}));
    chooseState(QStringLiteral("All states"));
    QCOMPARE(shownFlows().size(), 3);

    // The status bar's failure counter still lists the failed runs alone, whatever was filtered.
    chooseState(stateLabel(StateType::Completed));
    m_window->runsPage()
        ->findChild<QLineEdit*>(QStringLiteral("runSearch"))
        ->setText(QStringLiteral("quick"));
    QCOMPARE(shownFlows(), QStringList{QStringLiteral("quick")});
    m_window->runsPage()->showFailed();
    QCOMPARE(shownFlows(), QStringList{QStringLiteral("failing")});
}

void TestRunsFilters::flowFilterCombinesWithStates()
{
    FlowRun* ok = startFile(QStringLiteral("quick.json"));
    FlowRun* bad = startFile(QStringLiteral("failing.json"));
    FlowRun* again = startFile(QStringLiteral("quick.json"));
    QVERIFY(ok && bad && again);
    QTRY_VERIFY_WITH_TIMEOUT(ok->isTerminal() && bad->isTerminal() && again->isTerminal(), 20000);
    auto* flow = m_window->runsPage()->findChild<QComboBox*>(QStringLiteral("flowFilter"));
    QVERIFY(flow);
    QTRY_VERIFY(flow->findData(QStringLiteral("quick")) >= 0);
    flow->setCurrentIndex(flow->findData(QStringLiteral("quick")));
    QCOMPARE(shownFlows(), (QStringList{QStringLiteral("quick"), QStringLiteral("quick")}));
    chooseState(stateLabel(StateType::Failed));
    QCOMPARE(shownFlows(), QStringList{}); // quick and failed: none
    flow->setCurrentIndex(flow->findData(QStringLiteral("failing")));
    QCOMPARE(shownFlows(), QStringList{QStringLiteral("failing")});
}

void TestRunsFilters::timeRangeHidesOlderStoredRuns()
{
    QTemporaryDir dir;
    const QString db = dir.filePath(QStringLiteral("ranges.db"));
    QVERIFY(openDatabase(db));
    FlowRun* twoDays = startFile(QStringLiteral("quick.json"));
    FlowRun* tenDays = startFile(QStringLiteral("failing.json"));
    FlowRun* now = startFile(QStringLiteral("params.json"));
    QVERIFY(twoDays && tenDays && now);
    QTRY_VERIFY_WITH_TIMEOUT(twoDays->isTerminal() && tenDays->isTerminal() && now->isTerminal(), 20000);
    cleanup();

    // Another process moves two of them back in time, as runs of earlier days.
    {
        QString error;
        const auto url = DatabaseUrl::parse(db, &error);
        QVERIFY(url);
        ConnectionPool pool(*url);
        auto writing = pool.run([](QSqlDatabase& database) {
            QSqlQuery q(database);
            return q.exec(QStringLiteral("UPDATE flow_runs SET created_at = created_at - 172800000000 "
                                         "WHERE flow_name = 'quick'"))
                && q.exec(QStringLiteral("UPDATE flow_runs SET created_at = created_at - 864000000000 "
                                         "WHERE flow_name = 'failing'"));
        });
        QVERIFY(QCoro::waitFor(writing));
    }

    makeWindow();
    m_window->showPage(MainWindow::Page::Runs);
    QVERIFY(openDatabase(db));
    QTRY_COMPARE_WITH_TIMEOUT(m_window->runsPage()->model()->rowCount(), 3, 10000);
    QCOMPARE(shownFlows().size(), 3);
    chooseRange(QStringLiteral("hour"));
    QCOMPARE(shownFlows(), QStringList{QStringLiteral("params")});
    chooseRange(QStringLiteral("day"));
    QCOMPARE(shownFlows(), QStringList{QStringLiteral("params")});
    chooseRange(QStringLiteral("week"));
    QCOMPARE(shownFlows(), (QStringList{QStringLiteral("params"), QStringLiteral("quick")}));

    // A custom range, from four days ago to yesterday, with its two edits shown.
    auto* from = m_window->runsPage()->findChild<QDateTimeEdit*>(QStringLiteral("filterFrom"));
    auto* to = m_window->runsPage()->findChild<QDateTimeEdit*>(QStringLiteral("filterTo"));
    QVERIFY(from && to);
    QVERIFY(!from->isVisible());
    chooseRange(QStringLiteral("custom"));
    QTRY_VERIFY(from->isVisible() && to->isVisible());
    const QDateTime current = QDateTime::currentDateTime();
    from->setDateTime(current.addDays(-4));
    to->setDateTime(current.addDays(-1));
    QCOMPARE(shownFlows(), QStringList{QStringLiteral("quick")});
    from->setDateTime(current.addDays(-11));
    QCOMPARE(shownFlows(), (QStringList{QStringLiteral("failing"), QStringLiteral("quick")}));
    chooseRange(QString());
    QCOMPARE(shownFlows().size(), 3);
    QVERIFY(!from->isVisible());
}

void TestRunsFilters::searchMatchesFlowNameIdAndParameters()
{
    FlowRun* ok = startFile(QStringLiteral("quick.json"));
    FlowRun* labelled = startFile(QStringLiteral("params.json"),
                                  QJsonObject{{QStringLiteral("label"), QStringLiteral("Needle")}});
    FlowRun* plain = startFile(QStringLiteral("params.json"), QJsonObject{{QStringLiteral("n"), 2}});
    QVERIFY(ok && labelled && plain);
    QTRY_VERIFY_WITH_TIMEOUT(ok->isTerminal() && labelled->isTerminal() && plain->isTerminal(), 20000);
    QTreeView* view = m_window->runsPage()->view();
    QTRY_COMPARE(view->model()->rowCount(), 3);
    auto* search = m_window->runsPage()->findChild<QLineEdit*>(QStringLiteral("runSearch"));
    QVERIFY(search);

    auto shownRuns = [view] {
        QList<FlowRun*> runs;
        for (int r = 0; r < view->model()->rowCount(); ++r)
            runs << reinterpret_cast<FlowRun*>(
                view->model()->index(r, 0).data(RunPointerRole).value<quintptr>());
        return runs;
    };
    // Flow name, ignoring case.
    QTest::keyClicks(search, QStringLiteral("QUI"));
    QCOMPARE(shownRuns(), QList<FlowRun*>{ok});
    // A parameter's value, and name=value.
    search->clear();
    QTest::keyClicks(search, QStringLiteral("needle"));
    QCOMPARE(shownRuns(), QList<FlowRun*>{labelled});
    search->setText(QStringLiteral("n=2"));
    QCOMPARE(shownRuns(), QList<FlowRun*>{plain});
    // The short id the table shows, and a piece of the full one.
    const QString id = plain->id.toString();
    search->setText(shortId(id));
    QCOMPARE(shownRuns(), QList<FlowRun*>{plain});
    search->setText(id.mid(14, 9).toUpper()); // random bits, with a dash
    QCOMPARE(shownRuns(), QList<FlowRun*>{plain});
    search->setText(QStringLiteral("no such run"));
    QCOMPARE(view->model()->rowCount(), 0);
    search->clear();
    QCOMPARE(view->model()->rowCount(), 3);
}

void TestRunsFilters::filtersPersistAcrossANewMainWindow()
{
    FlowRun* ok = startFile(QStringLiteral("quick.json"));
    FlowRun* bad = startFile(QStringLiteral("failing.json"));
    QVERIFY(ok && bad);
    QTRY_VERIFY_WITH_TIMEOUT(ok->isTerminal() && bad->isTerminal(), 20000);
    auto* flow = m_window->runsPage()->findChild<QComboBox*>(QStringLiteral("flowFilter"));
    QTRY_VERIFY(flow->findData(QStringLiteral("failing")) >= 0);
    flow->setCurrentIndex(flow->findData(QStringLiteral("failing")));
    chooseState(stateLabel(StateType::Failed));
    chooseState(stateLabel(StateType::Crashed));
    chooseRange(QStringLiteral("week"));
    m_window->runsPage()->findChild<QLineEdit*>(QStringLiteral("runSearch"))->setText(QStringLiteral("fail"));
    QCOMPARE(shownFlows(), QStringList{QStringLiteral("failing")});

    // A new window (as after a restart) starts with the same filters, even before the flow is known.
    cleanup();
    makeWindow();
    RunsPage* page = m_window->runsPage();
    flow = page->findChild<QComboBox*>(QStringLiteral("flowFilter"));
    QCOMPARE(flow->currentData().toString(), QStringLiteral("failing"));
    QCOMPARE(page->findChild<QComboBox*>(QStringLiteral("timeFilter"))->currentData().toString(),
             QStringLiteral("week"));
    QCOMPARE(page->findChild<QLineEdit*>(QStringLiteral("runSearch"))->text(), QStringLiteral("fail"));
    QStringList checked;
    for (QAction* action : page->findChild<QToolButton*>(QStringLiteral("stateFilter"))->menu()->actions()) {
        if (action->isChecked())
            checked << action->text();
    }
    QCOMPARE(checked, (QStringList{stateLabel(StateType::Failed), stateLabel(StateType::Crashed)}));
    QVERIFY(page->clearFiltersAction()->isVisible());

    // And they apply to the new runs.
    ok = startFile(QStringLiteral("quick.json"));
    bad = startFile(QStringLiteral("failing.json"));
    QVERIFY(ok && bad);
    QTRY_VERIFY_WITH_TIMEOUT(ok->isTerminal() && bad->isTerminal(), 20000);
    QCOMPARE(page->model()->rowCount(), 2);
    QCOMPARE(shownFlows(), QStringList{QStringLiteral("failing")});
    int listed = 0;
    for (int i = 0; i < flow->count(); ++i)
        listed += flow->itemText(i) == QStringLiteral("failing");
    QCOMPARE(listed, 1); // listed once, though the restored filter named it before the run came
}

void TestRunsFilters::clearFiltersShowsEveryRun()
{
    FlowRun* ok = startFile(QStringLiteral("quick.json"));
    FlowRun* bad = startFile(QStringLiteral("failing.json"));
    QVERIFY(ok && bad);
    QTRY_VERIFY_WITH_TIMEOUT(ok->isTerminal() && bad->isTerminal(), 20000);
    m_window->showPage(MainWindow::Page::Runs);
    RunsPage* page = m_window->runsPage();
    QAction* clear = page->clearFiltersAction();
    QVERIFY(clear);
    QVERIFY(!clear->isVisible()); // nothing filtered: nothing to clear

    auto* flow = page->findChild<QComboBox*>(QStringLiteral("flowFilter"));
    auto* search = page->findChild<QLineEdit*>(QStringLiteral("runSearch"));
    search->setText(QStringLiteral("quick"));
    QVERIFY(clear->isVisible() && clear->isEnabled());
    QCOMPARE(shownFlows(), QStringList{QStringLiteral("quick")});
    chooseState(stateLabel(StateType::Completed));
    chooseRange(QStringLiteral("hour"));
    flow->setCurrentIndex(flow->findData(QStringLiteral("quick")));

    // The toolbar's button clears them all.
    auto* clearButton = page->findChild<QToolButton*>(QStringLiteral("clearRunFiltersButton"));
    QVERIFY(clearButton && clearButton->isVisible());
    QTest::mouseClick(clearButton, Qt::LeftButton);
    QCOMPARE(shownFlows(), (QStringList{QStringLiteral("failing"), QStringLiteral("quick")}));
    QVERIFY(search->text().isEmpty());
    QCOMPARE(flow->currentIndex(), 0);
    QVERIFY(!clear->isVisible());
    QVERIFY(!clearButton->isVisible());

    // Cleared for the next start too.
    cleanup();
    makeWindow();
    QVERIFY(!m_window->runsPage()->clearFiltersAction()->isVisible());
    QCOMPARE(m_window->runsPage()->findChild<QLineEdit*>(QStringLiteral("runSearch"))->text(), QString());
}

FLOWDECK_GUI_TEST_MAIN(TestRunsFilters, "tst_runsfilters")

#include "tst_runsfilters.moc"
