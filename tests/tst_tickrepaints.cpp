// What a display tick repaints while a big flow run goes on: the widgets whose contents changed,
// not the whole window, and not a table whose visible rows stayed the same.
#include "models/taskrunmodel.h"
#include "pages/runpage.h"
#include "run/engine.h"
#include "uitestutil.h"

#include <QElapsedTimer>
#include <QEvent>
#include <QJsonDocument>
#include <QLabel>
#include <QSignalSpy>
#include <QTableView>
#include <QTemporaryDir>
#include <QTest>

#include <map>
#include <vector>

using namespace flowdeck;
using namespace flowdeck::uitest;

namespace {

//! Counts the paint events of every widget of a window, by the widget.
class PaintCounter : public QObject {
public:
    std::map<const QObject*, int> paints;
    int total = 0;

    explicit PaintCounter(QWidget* window)
    {
        window->installEventFilter(this);
        for (QWidget* child : window->findChildren<QWidget*>())
            child->installEventFilter(this);
    }

    int of(const QObject* widget) const
    {
        const auto it = paints.find(widget);
        return it == paints.end() ? 0 : it->second;
    }

protected:
    bool eventFilter(QObject* watched, QEvent* event) override
    {
        if (event->type() == QEvent::Paint) {
            ++paints[watched];
            ++total;
        }
        return QObject::eventFilter(watched, event);
    }
};

} // namespace

class TestTickRepaints : public QObject, public Dashboard {
    Q_OBJECT

private Q_SLOTS:
    void initTestCase() { writeFlows(); }
    void init() { makeWindow(); }
    void cleanup() { tearDown(); }

    void aTickLeavesATableWhoseRowsStayedTheSame();
    void rowsCreatedBelowTheShownOnesAreAppendedInFewInserts();
    void theRunsEndLeavesThePageWhereItWas();
};

void TestTickRepaints::aTickLeavesATableWhoseRowsStayedTheSame()
{
    // The rows shown are "done"'s, finished; the sleeps above and below them end at scattered times
    // on every tick. The table shows the same rows all along: ticks must not repaint it (pulses do,
    // for the durations of running task runs).
    FlowRun* run = m_context->startFlow(QJsonDocument::fromJson(R"({"name": "around", "seed": 4, "tasks": [
        {"id": "above", "kind": "sleep", "seconds": [1, 12], "map": 5000},
        {"id": "done", "kind": "noop", "map": 300},
        {"id": "below", "kind": "sleep", "seconds": [1, 12], "map": 5000}]})")
                                            .object(),
                                        QStringLiteral("test"), {}, nullptr);
    QVERIFY(run);
    m_window->showPage(MainWindow::Page::Run);
    RunPage* page = m_window->runPage();
    page->setFlowRun(run, true);
    TaskRunModel* model = page->taskModel();
    QTRY_COMPARE_WITH_TIMEOUT(model->rowCount(), 10300, 20000);
    const int middle = 5150;
    QCOMPARE(model->index(middle, TaskRunModel::TaskColumn).data().toString(), QStringLiteral("done"));
    page->view()->scrollTo(model->index(middle, 0), QAbstractItemView::PositionAtCenter);
    QTRY_COMPARE_WITH_TIMEOUT(run->count(StateType::Completed), qint64(300), 20000);
    QTRY_VERIFY_WITH_TIMEOUT(run->count(StateType::Completed) > 600, 20000); // sleeps end on the ticks
    QVERIFY(!run->isTerminal());
    const QModelIndex top = page->view()->indexAt(QPoint(0, 0));
    QVERIFY(top.row() > 5000 && top.row() + 60 < 5300);

    PaintCounter counter(m_window.get());
    QSignalSpy ticks(m_context.get(), &AppContext::updated);
    QSignalSpy pulses(m_context.get(), &AppContext::pulse);
    QTRY_VERIFY_WITH_TIMEOUT(ticks.size() >= 20, 20000);
    QCoreApplication::processEvents(); // the paints of the last tick
    QVERIFY(!run->isTerminal());
    QCOMPARE(page->view()->indexAt(QPoint(0, 0)), top);
    const int paints = counter.of(page->view()->viewport());
    QVERIFY2(paints <= pulses.size() + 1,
             qPrintable(QStringLiteral("%1 paints of the table in %2 ticks and %3 pulses")
                            .arg(paints)
                            .arg(ticks.size())
                            .arg(pulses.size())));
    m_context->cancelAllAndWait(10000);
}

void TestTickRepaints::rowsCreatedBelowTheShownOnesAreAppendedInFewInserts()
{
    // A view lays its rows out again and repaints all it shows when rows are appended: a flow run that
    // creates 200,000 task runs over many ticks appends them every TaskRunModel::AnnounceIntervalMs, not
    // on every tick, and a bounded number at a time. Every transition is written to a run store, as in
    // the app, which spreads their creation over ticks.
    QTemporaryDir folder;
    QVERIFY(openDatabase(folder.filePath(QStringLiteral("runs.db"))));
    // Kept whole in memory, as a run below Engine::DefaultReleaseFinishedFrom is (a larger one is read
    // from the store a page at a time): the live table's appends are what is measured.
    m_context->engine().setReleaseFinishedFrom(Engine::NeverReleaseFinished);
    m_window->showPage(MainWindow::Page::Run);
    RunPage* page = m_window->runPage();
    TaskRunModel* model = page->taskModel();
    FlowRun* run = m_context->startFlow(QJsonDocument::fromJson(R"({"name": "big", "tasks": [
        {"id": "work", "kind": "noop", "map": 200000}]})")
                                            .object(),
                                        QStringLiteral("test"), {}, nullptr);
    QVERIFY(run);
    page->setFlowRun(run, true);
    QCOMPARE(model->flowRun(), run);
    struct Insert {
        qint64 atNs;
        int first;
        int last;
        bool creating; // the flow run had not created all its task runs yet
    };
    std::vector<Insert> inserts;
    QElapsedTimer clock;
    clock.start();
    QObject recording; // ends with this test
    connect(model, &QAbstractItemModel::rowsInserted, &recording,
            [&](const QModelIndex&, int first, int last) {
                inserts.push_back(
                    {clock.nsecsElapsed(), first, last, run->materializedTaskRuns < run->totalTaskRuns});
            });
    int ticksWhileCreating = 0;
    connect(m_context.get(), &AppContext::updated, &recording, [&] {
        if (run->materializedTaskRuns < run->totalTaskRuns)
            ++ticksWhileCreating;
    });
    QTRY_COMPARE_WITH_TIMEOUT(model->rowCount(), 200000, 60000);
    // Appended on every tick, inserts would come 33 ms apart while the task runs are created; beyond the
    // first InstantRows rows they come AnnounceIntervalMs apart, and none is larger than MaxRowsPerInsert.
    int spaced = 0;
    for (size_t i = 0; i < inserts.size(); ++i) {
        QVERIFY(inserts[i].last - inserts[i].first < TaskRunModel::MaxRowsPerInsert);
        if (i == 0 || !inserts[i].creating || inserts[i].first < TaskRunModel::InstantRows)
            continue;
        const double gapMs = double(inserts[i].atNs - inserts[i - 1].atNs) / 1e6;
        QVERIFY2(gapMs >= TaskRunModel::AnnounceIntervalMs - 1,
                 qPrintable(QStringLiteral("rows %1-%2 appended %3 ms after the previous ones")
                                .arg(inserts[i].first)
                                .arg(inserts[i].last)
                                .arg(gapMs)));
        ++spaced;
    }
    qInfo("%d ticks while its task runs were created, %d inserts, %d of them spaced", ticksWhileCreating,
          int(inserts.size()), spaced);
    QVERIFY(spaced >= 1); // the test saw rows appended while the flow run created more
    QCOMPARE(model->index(199999, TaskRunModel::MapIndexColumn).data().toInt(), 199999);
    m_context->cancelAllAndWait(10000);
}

void TestTickRepaints::theRunsEndLeavesThePageWhereItWas()
{
    // A run that ends says so in a second line of the page's title ("all 10 task runs completed"):
    // the table, timeline and log below stay where they were (moved, all of them would repaint).
    m_window->showPage(MainWindow::Page::Run);
    RunPage* page = m_window->runPage();
    FlowRun* run = m_context->startFlow(QJsonDocument::fromJson(R"({"name": "short", "tasks": [
        {"id": "work", "kind": "sleep", "seconds": 0.5, "map": 10}]})")
                                            .object(),
                                        QStringLiteral("test"), {}, nullptr);
    QVERIFY(run);
    page->setFlowRun(run, true);
    auto* title = page->findChild<QLabel*>(QStringLiteral("runTitle"));
    QVERIFY(title);
    QTRY_VERIFY(title->text().contains(QStringLiteral("Running")));
    QCoreApplication::processEvents();
    const QPoint table = page->view()->mapTo(m_window.get(), QPoint(0, 0));
    QTRY_VERIFY_WITH_TIMEOUT(run->isTerminal(), 20000);
    QTRY_VERIFY(title->text().contains(QStringLiteral("<br>")));
    QCoreApplication::processEvents(); // the layout it may cause
    QCOMPARE(page->view()->mapTo(m_window.get(), QPoint(0, 0)), table);
}

FLOWDECK_GUI_TEST_MAIN(TestTickRepaints, "tst_tickrepaints")
#include "tst_tickrepaints.moc"
