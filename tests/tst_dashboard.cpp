// The dashboard through its real widgets, offscreen: start a flow from the Flows page, cancel from
// the Runs page with the Delete key, parameter validation, invalid flow files, settings, the Run
// page's timeline and task-run cancel, and `flowdeck --screenshot`; with a temporary run store:
// limits set in Settings are enforced and stored, invalid ones refused, history survives a restart,
// the Concurrency page shows slot holders and waiters, a bad database is reported.
#include "context/appcontext.h"
#include "context/appsettings.h"
#include "context/flowlibrary.h"
#include "mainwindow.h"
#include "models/concurrencymodel.h"
#include "models/flowlistmodel.h"
#include "models/flowrunmodel.h"
#include "models/logmodel.h"
#include "models/taskrunmodel.h"
#include "models/workermodel.h"
#include "pages/concurrencypage.h"
#include "pages/flowspage.h"
#include "pages/healthpage.h"
#include "pages/runpage.h"
#include "pages/runspage.h"
#include "pages/settingsdialog.h"
#include "pages/workerspage.h"
#include "run/engine.h"
#include "run/runid.h"
#include "store/connectionpool.h"
#include "store/databaseurl.h"
#include "store/limitqueries.h"
#include "store/store.h"
#include "store/workerqueries.h"
#include "testutil.h"
#include "widgets/healthstrip.h"
#include "widgets/limitseditor.h"
#include "widgets/sparklinewidget.h"
#include "widgets/startflowdialog.h"
#include "widgets/timelinewidget.h"

#include <QAbstractItemModelTester>
#include <QAction>
#include <QApplication>
#include <QCheckBox>
#include <QComboBox>
#include <QCoro/QCoroTask>
#include <QDialogButtonBox>
#include <QDir>
#include <QElapsedTimer>
#include <QFile>
#include <QGroupBox>
#include <QJsonArray>
#include <QJsonDocument>
#include <QLabel>
#include <QLineEdit>
#include <QMessageBox>
#include <QPlainTextEdit>
#include <QProcess>
#include <QPushButton>
#include <QRadioButton>
#include <QScopeGuard>
#include <QSignalSpy>
#include <QSpinBox>
#include <QSqlQuery>
#include <QStatusBar>
#include <QTableView>
#include <QTableWidget>
#include <QTemporaryDir>
#include <QTest>
#include <QTextBrowser>
#include <QTimer>
#include <QToolBar>
#include <QToolButton>

#include <chrono>
#include <memory>

using namespace flowdeck;

namespace {

void writeFile(const QString& path, const QByteArray& text)
{
    QFile file(path);
    if (!file.open(QIODevice::WriteOnly | QIODevice::Truncate))
        qFatal("cannot write %s", qPrintable(path));
    file.write(text);
}

//! The tool button a toolbar shows for \a action, to click it like a user.
QToolButton* buttonFor(QWidget* page, QAction* action)
{
    for (QToolBar* bar : page->findChildren<QToolBar*>()) {
        if (auto* button = qobject_cast<QToolButton*>(bar->widgetForAction(action)))
            return button;
    }
    return nullptr;
}

template<typename T>
T* openDialog(QWidget* parent)
{
    T* found = nullptr;
    (void)QTest::qWaitFor([&] {
        for (T* dialog : parent->findChildren<T*>()) {
            if (dialog->isVisible())
                found = dialog;
        }
        return found != nullptr;
    });
    return found;
}

int qSaturation(QRgb rgb)
{
    return QColor(rgb).hsvSaturation();
}

void clickRow(QTableView* view, int row)
{
    const QModelIndex index = view->model()->index(row, 0);
    view->scrollTo(index);
    QTest::mouseClick(view->viewport(), Qt::LeftButton, {}, view->visualRect(index).center());
}

} // namespace

class TestDashboard : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void initTestCase();
    void init();
    void cleanup();

    void startFlowFromFlowsPage();
    void cancelRunFromRunsPageWithDeleteKey();
    void parameterDialogRefusesInvalidValues();
    void invalidFlowFileIsListedWithItsErrors();
    void settingsChangeBlockingPoolSize();
    void runPageCancelsTaskRunAndShowsLogs();
    void timelineAggregatesLargeRuns();
    void healthPageAndStrip();
    void failedRunIsNoticeable();
    void pagesFromViewMenuAndScreenshotCli();
    void settingsLimitIsEnforcedAndStored();
    void invalidLimitIsRefused();
    void historySurvivesRestart();
    void concurrencyPageShowsHoldersAndWaiters();
    void badDatabaseIsReportedAndAppKeepsWorking();
    void healthShowsDatabasePool();
    void largeStoredRunOpensWithoutBlocking();
    void workersPageListsRegisteredWorkers();
    void queueFromStartDialogRunsOnWorker();

private:
    void makeWindow();
    //! Opens the run store at \a path in the current context and waits until it is open.
    bool openDatabase(const QString& path);
    //! Reads the stored limits with a pool of its own, as another process would.
    static QList<LimitRow> storedLimits(const QString& path);
    int rowOf(const QString& fileName) const;

    QString m_flows;
    std::unique_ptr<AppContext> m_context;
    std::unique_ptr<MainWindow> m_window;
};

void TestDashboard::initTestCase()
{
    m_flows = flowlibrary::userFlowFolder();
    writeFile(m_flows + QStringLiteral("/quick.json"), R"({"name": "quick", "description": "A short flow.",
        "tasks": [{"id": "nap", "kind": "sleep", "seconds": 0.1}, {"id": "done", "kind": "noop", "depends_on": ["nap"]}]})");
    writeFile(m_flows + QStringLiteral("/slow.json"), R"({"name": "slow", "description": "Sleeps for 30 s.",
        "tasks": [{"id": "wait", "kind": "sleep", "seconds": 30, "map": 3}]})");
    writeFile(m_flows + QStringLiteral("/params.json"), R"({"name": "params",
        "parameters": {"n": 3, "delay": 0.05, "label": "x", "loud": false, "extra": [1, 2]},
        "tasks": [{"id": "work", "kind": "sleep", "seconds": "{{delay}}", "map": "{{n}}"}]})");
    writeFile(m_flows + QStringLiteral("/invalid.json"), R"({"name": "invalid",
        "tasks": [{"id": "load", "kind": "noop", "depends_on": ["lod"]}]})");
    writeFile(m_flows + QStringLiteral("/failing.json"), R"({"name": "failing",
        "tasks": [{"id": "boom", "kind": "fail", "message": "disk on fire"}]})");
}

void TestDashboard::init()
{
    makeWindow();
}

void TestDashboard::cleanup()
{
    if (m_context) {
        m_context->cancelAllAndWait(10000);
        m_context->database().closeAndWait(10000);
    }
    m_window.reset();
    m_context.reset();
}

bool TestDashboard::openDatabase(const QString& path)
{
    if (!m_context->database().open(path))
        return false;
    return QTest::qWaitFor([&] { return m_context->database().state() != DatabaseState::Opening; }, 20000)
        && m_context->database().state() == DatabaseState::Open;
}

QList<LimitRow> TestDashboard::storedLimits(const QString& path)
{
    QString error;
    const auto url = DatabaseUrl::parse(path, &error);
    if (!url)
        qFatal("%s", qPrintable(error));
    ConnectionPool pool(*url);
    auto reading = pool.run([](QSqlDatabase& db) { return listLimits(db); });
    return QCoro::waitFor(reading);
}

void TestDashboard::makeWindow()
{
    m_context = std::make_unique<AppContext>();
    m_window = std::make_unique<MainWindow>(m_context.get(), MainWindow::Options{false});
    m_window->show();
    QApplication::setActiveWindow(m_window.get());
    QVERIFY(QTest::qWaitForWindowActive(m_window.get()));
    QTRY_COMPARE(m_window->flowsPage()->model()->pendingLoads(), 0);
}

int TestDashboard::rowOf(const QString& fileName) const
{
    return m_window->flowsPage()->model()->rowOfSource(m_flows + QLatin1Char('/') + fileName);
}

void TestDashboard::startFlowFromFlowsPage()
{
    FlowsPage* page = m_window->flowsPage();
    m_window->showPage(MainWindow::Page::Flows);
    const int row = rowOf(QStringLiteral("quick.json"));
    QVERIFY(row >= 0);
    clickRow(page->view(), row);
    QCOMPARE(page->currentEntry()->name, QStringLiteral("quick"));

    QToolButton* start = buttonFor(page, page->startAction());
    QVERIFY(start && start->isEnabled());
    QTest::mouseClick(start, Qt::LeftButton);
    auto* dialog = openDialog<StartFlowDialog>(m_window.get());
    QVERIFY(dialog);
    auto* startButton = dialog->findChild<QPushButton*>(QStringLiteral("startButton"));
    QVERIFY(startButton && startButton->isEnabled());
    QTest::mouseClick(startButton, Qt::LeftButton);

    // The run shows in the Runs table, and reaches COMPLETED there.
    FlowRunModel* runs = m_window->runsPage()->model();
    QTRY_COMPARE(runs->rowCount(), 1);
    QCOMPARE(runs->index(0, FlowRunModel::FlowColumn).data().toString(), QStringLiteral("quick"));
    QTRY_COMPARE(runs->index(0, FlowRunModel::StateColumn).data().toString(), QStringLiteral("Completed"));
    QCOMPARE(runs->index(0, FlowRunModel::ProgressColumn).data().toString(), QStringLiteral("2 / 2"));
    // Starting opened the run's page, and the Flows page shows the last run.
    QCOMPARE(m_window->currentPage(), MainWindow::Page::Run);
    QCOMPARE(m_window->runPage()->flowRun(), m_context->newestFlowRun());
    QTRY_COMPARE(page->model()->index(row, FlowListModel::LastRunColumn).data().toString(),
                 QStringLiteral("Completed"));
}

void TestDashboard::cancelRunFromRunsPageWithDeleteKey()
{
    FlowsPage* flows = m_window->flowsPage();
    const FlowEntry* entry = flows->model()->entryAt(rowOf(QStringLiteral("slow.json")));
    QVERIFY(entry);
    FlowRun* run = m_context->startFlow(entry->document, entry->source, {}, nullptr);
    QVERIFY(run);
    QTRY_COMPARE(m_window->windowTitle(), QStringLiteral("Flowdeck — 1 running, 0%"));

    m_window->showPage(MainWindow::Page::Runs);
    QTableView* view = m_window->runsPage()->view();
    QTRY_COMPARE(view->model()->rowCount(), 1);
    clickRow(view, 0);
    QCOMPARE(m_window->runsPage()->selectedFlowRuns(), QList<FlowRun*>{run});
    QVERIFY(m_window->cancelAction()->isEnabled());

    view->setFocus();
    QTest::keyClick(view, Qt::Key_Delete);
    auto* box = openDialog<QMessageBox>(m_window.get());
    QVERIFY(box);
    QVERIFY(!run->cancelRequested); // nothing happens before the answer
    QTest::mouseClick(box->findChild<QPushButton*>(QStringLiteral("confirmButton")), Qt::LeftButton);

    FlowRunModel* runs = m_window->runsPage()->model();
    QTRY_COMPARE(runs->index(0, FlowRunModel::StateColumn).data().toString(), QStringLiteral("Cancelled"));
    QCOMPARE(runs->index(0, FlowRunModel::CancelledColumn).data().toLongLong(), qint64(3));
    QTRY_COMPARE(m_window->windowTitle(), QStringLiteral("Flowdeck"));
}

void TestDashboard::parameterDialogRefusesInvalidValues()
{
    FlowsPage* page = m_window->flowsPage();
    clickRow(page->view(), rowOf(QStringLiteral("params.json")));
    page->startAction()->trigger(); // Ctrl+R / Run → Start
    auto* dialog = openDialog<StartFlowDialog>(m_window.get());
    QVERIFY(dialog);
    // An editor per parameter by the default's JSON type, filled with the defaults.
    auto* n = qobject_cast<QSpinBox*>(dialog->editor(QStringLiteral("n")));
    QVERIFY(n);
    QCOMPARE(n->value(), 3);
    QVERIFY(qobject_cast<QDoubleSpinBox*>(dialog->editor(QStringLiteral("delay"))));
    QVERIFY(qobject_cast<QLineEdit*>(dialog->editor(QStringLiteral("label"))));
    QVERIFY(qobject_cast<QCheckBox*>(dialog->editor(QStringLiteral("loud"))));
    auto* extra = qobject_cast<QPlainTextEdit*>(dialog->editor(QStringLiteral("extra")));
    QVERIFY(extra);
    auto* startButton = dialog->findChild<QPushButton*>(QStringLiteral("startButton"));
    auto* errors = dialog->findChild<QLabel*>(QStringLiteral("errorLabel"));
    QVERIFY(startButton->isEnabled());
    QVERIFY(!errors->isVisible());

    // A map count of -2: the parser's error is shown, and Start refuses.
    n->setFocus();
    n->selectAll();
    QTest::keyClicks(n, QStringLiteral("-2"));
    QCOMPARE(n->value(), -2);
    QTRY_VERIFY(errors->isVisible());
    QVERIFY2(errors->text().contains(QStringLiteral("map")), qPrintable(errors->text()));
    QVERIFY(!startButton->isEnabled());
    QTest::mouseClick(startButton, Qt::LeftButton);
    dialog->accept(); // even when forced
    QVERIFY(dialog->isVisible());
    QVERIFY(m_context->flowRuns().empty());

    // Not JSON in a JSON editor.
    n->setValue(2);
    QTRY_VERIFY(startButton->isEnabled());
    extra->setPlainText(QStringLiteral("[1, 2"));
    QTRY_VERIFY(!startButton->isEnabled());
    QVERIFY(errors->text().contains(QStringLiteral("extra")));
    extra->setPlainText(QStringLiteral("[4]"));
    QTRY_VERIFY(startButton->isEnabled());

    QTest::mouseClick(startButton, Qt::LeftButton);
    QTRY_COMPARE(m_context->flowRuns().size(), size_t(1));
    FlowRun* run = m_context->newestFlowRun();
    QCOMPARE(run->totalTaskRuns, qint64(2));
    QCOMPARE(run->def.parameters.value(QStringLiteral("extra")).toArray().size(), 1);
}

void TestDashboard::invalidFlowFileIsListedWithItsErrors()
{
    FlowsPage* page = m_window->flowsPage();
    const int row = rowOf(QStringLiteral("invalid.json"));
    QVERIFY(row >= 0);
    const QModelIndex name = page->model()->index(row, FlowListModel::NameColumn);
    QCOMPARE(name.data().toString(), QStringLiteral("invalid"));
    QVERIFY(name.data(Qt::ToolTipRole).toString().contains(QStringLiteral("no task named")));
    QVERIFY(!name.data(Qt::DecorationRole).isNull());
    clickRow(page->view(), row);
    QVERIFY(!page->startAction()->isEnabled());
    auto* details = page->findChild<QTextBrowser*>(QStringLiteral("flowDetails"));
    QVERIFY(details->toPlainText().contains(QStringLiteral("tasks[0].depends_on[0]")));
    QCOMPARE(page->startSelected(), nullptr);
    QVERIFY(m_context->flowRuns().empty());
}

void TestDashboard::settingsChangeBlockingPoolSize()
{
    m_window->settingsAction()->trigger();
    auto* dialog = openDialog<SettingsDialog>(m_window.get());
    QVERIFY(dialog);
    QCOMPARE(dialog->blockingThreadsEditor()->value(), BlockingPool::DefaultThreads);
    dialog->blockingThreadsEditor()->setValue(7);
    dialog->loopLagThresholdEditor()->setValue(250);
    QTest::mouseClick(dialog->findChild<QDialogButtonBox*>()->button(QDialogButtonBox::Ok), Qt::LeftButton);
    QTRY_VERIFY(!dialog->isVisible());
    QCOMPARE(m_context->engine().blockingPool().maxThreads(), 7);
    QCOMPARE(m_context->engine().loopMonitor().thresholdMs(), 250);
    QCOMPARE(appsettings::blockingThreads(), 7);
    m_window->healthStrip()->refresh();
    QVERIFY2(m_window->healthStrip()->text().contains(QStringLiteral("0/7 busy")),
             qPrintable(m_window->healthStrip()->text()));

    // A new session starts with the stored values.
    cleanup();
    makeWindow();
    QCOMPARE(m_context->engine().blockingPool().maxThreads(), 7);
    QCOMPARE(m_context->engine().loopMonitor().thresholdMs(), 250);
    appsettings::setBlockingThreads(BlockingPool::DefaultThreads);
    appsettings::setLoopLagThresholdMs(LoopMonitor::DefaultThresholdMs);
}

void TestDashboard::runPageCancelsTaskRunAndShowsLogs()
{
    FlowRun* run = m_context->startFlow(QJsonDocument::fromJson(R"({"name": "mixed", "tasks": [
        {"id": "say", "kind": "shell", "command": ["echo", "hello from the test"]},
        {"id": "wait", "kind": "sleep", "seconds": 30, "map": 3}]})")
                                            .object(),
                                        QStringLiteral("test"), {}, nullptr);
    QVERIFY(run);
    m_window->showRun(run);
    RunPage* page = m_window->runPage();
    QCOMPARE(m_window->currentPage(), MainWindow::Page::Run);
    QTRY_COMPARE(page->view()->model()->rowCount(), 4);
    // The log tails live.
    QTRY_VERIFY(page->logModel()->rowCount() >= 1);
    QCOMPARE(page->logModel()->index(0, 3).data().toString(), QStringLiteral("hello from the test"));

    // Select wait[1] and cancel it with the Delete key.
    QTRY_VERIFY(page->taskModel()->taskRunAt(2)->type == StateType::Running);
    clickRow(page->view(), 2);
    QCOMPARE(page->selectedTaskRuns().size(), 1);
    TaskRun* target = page->selectedTaskRuns().first();
    QCOMPARE(target->mapIndex, 1);
    page->view()->setFocus();
    QTest::keyClick(page->view(), Qt::Key_Delete);
    auto* box = openDialog<QMessageBox>(m_window.get());
    QVERIFY(box);
    QTest::mouseClick(box->findChild<QPushButton*>(QStringLiteral("confirmButton")), Qt::LeftButton);
    QTRY_COMPARE(page->taskModel()->index(2, TaskRunModel::StateColumn).data().toString(),
                 QStringLiteral("Cancelled"));
    QVERIFY(page->taskModel()->taskRunAt(3)->type == StateType::Running); // the others run on
    QVERIFY(!run->isTerminal());

    // State filter and search.
    auto* state = page->findChild<QComboBox*>(QStringLiteral("taskStateFilter"));
    state->setCurrentIndex(state->findData(int(StateType::Running)));
    QCOMPARE(page->view()->model()->rowCount(), 2);
    state->setCurrentIndex(0);
    auto* search = page->findChild<QLineEdit*>(QStringLiteral("taskSearch"));
    QTest::keyClicks(search, QStringLiteral("say"));
    QCOMPARE(page->view()->model()->rowCount(), 1);
    search->clear();
    QCOMPARE(page->view()->model(), page->taskModel()); // unfiltered: no proxy in between
    m_context->cancelFlowRun(run);
    QTRY_VERIFY(run->isTerminal());
}

void TestDashboard::timelineAggregatesLargeRuns()
{
    FlowRun* run = m_context->startFlow(QJsonDocument::fromJson(R"({"name": "many", "tasks": [
        {"id": "a", "kind": "noop", "map": 20000},
        {"id": "b", "kind": "sleep", "seconds": [0, 0.2], "map_over": "a"}]})")
                                            .object(),
                                        QStringLiteral("test"), {}, nullptr);
    QVERIFY(run);
    m_window->showRun(run);
    TimelineWidget* timeline = m_window->runPage()->timeline();
    QTRY_VERIFY_WITH_TIMEOUT(run->isTerminal(), 20000);
    m_context->flush();
    timeline->fitAll();
    QVERIFY(timeline->isAggregated()); // 40,000 rows, a few hundred pixels
    QElapsedTimer paint;
    paint.start();
    const QImage image = timeline->viewport()->grab().toImage();
    const qint64 ms = paint.elapsed();
    qInfo("aggregated timeline of %lld task runs painted in %lld ms", run->totalTaskRuns, ms);
    QVERIFY(!image.isNull());
    // Coloured pixels: completed (green) and pending (grey) state density is drawn.
    // Every pixel right of the labels (a sparse sample missed the thin bars when the run was short).
    int coloured = 0;
    for (int y = 0; y < image.height(); ++y) {
        for (int x = 160; x < image.width(); ++x)
            coloured += qAlpha(image.pixel(x, y)) == 255 && qSaturation(image.pixel(x, y)) > 60;
    }
    QVERIFY2(
        coloured > 0,
        qPrintable(
            QStringLiteral("no state colour in a %1x%2 timeline").arg(image.width()).arg(image.height())));

    const double before = timeline->pixelsPerSecond();
    QTest::mouseClick(m_window->runPage()->findChild<QToolButton*>(QStringLiteral("zoomIn")), Qt::LeftButton);
    QVERIFY(timeline->pixelsPerSecond() > before);
    QWheelEvent wheel(QPointF(300, 100), timeline->viewport()->mapToGlobal(QPointF(300, 100)), {},
                      QPoint(0, 120), Qt::NoButton, Qt::ControlModifier, Qt::NoScrollPhase, false);
    QApplication::sendEvent(timeline->viewport(), &wheel);
    QVERIFY(timeline->pixelsPerSecond() > before * 1.4);
    timeline->zoomRowsIn();
    timeline->zoomRowsIn();
    timeline->fitAll();
    QCOMPARE(timeline->pixelsPerSecond(), before);
}

void TestDashboard::healthPageAndStrip()
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

void TestDashboard::failedRunIsNoticeable()
{
    const FlowEntry* entry = m_window->flowsPage()->model()->entryAt(rowOf(QStringLiteral("failing.json")));
    FlowRun* run = m_context->startFlow(entry->document, entry->source, {}, nullptr);
    QVERIFY(run);
    QTRY_VERIFY(m_window->statusBar()->currentMessage().contains(QStringLiteral("failed")));
    QVERIFY(m_window->statusBar()->currentMessage().contains(QStringLiteral("disk on fire")));
    FlowRunModel* runs = m_window->runsPage()->model();
    QCOMPARE(runs->index(0, FlowRunModel::StateColumn).data().toString(), QStringLiteral("Failed"));
    QCOMPARE(runs->index(0, FlowRunModel::FailedColumn).data().toInt(), 1);
}

void TestDashboard::pagesFromViewMenuAndScreenshotCli()
{
    for (int i = 0; i < MainWindow::PageCount; ++i) {
        m_window->pageAction(MainWindow::Page(i))->trigger();
        QCOMPARE(int(m_window->currentPage()), i);
    }
    QTest::keySequence(m_window.get(), QKeySequence(Qt::CTRL | Qt::Key_2));
    QCOMPARE(m_window->currentPage(), MainWindow::Page::Runs);

    const QString binary = qEnvironmentVariable("FLOWDECK_BINARY");
    QVERIFY2(!binary.isEmpty(), "FLOWDECK_BINARY is not set (CTest sets it)");
    QProcess bad;
    bad.start(binary,
              {QStringLiteral("--screenshot"), QStringLiteral("/tmp/never.png"), QStringLiteral("--page"),
               QStringLiteral("nope")});
    QVERIFY(bad.waitForFinished(20000));
    QCOMPARE(bad.exitCode(), 2);
    const QList<QByteArray> lines = bad.readAllStandardError().trimmed().split('\n');
    QVERIFY(std::any_of(lines.begin(), lines.end(),
                        [](const QByteArray& l) { return l.contains("unknown page \"nope\""); }));

    QTemporaryDir dir;
    const QString png = dir.filePath(QStringLiteral("health.png"));
    QProcess shot;
    shot.start(binary,
               {QStringLiteral("--screenshot"), png, QStringLiteral("--page"), QStringLiteral("health"),
                QStringLiteral("--after-ms"), QStringLiteral("100")});
    QVERIFY(shot.waitForFinished(20000));
    QCOMPARE(shot.exitCode(), 0);
    QImage image(png);
    QVERIFY(!image.isNull());
    QVERIFY(image.width() >= 800);
}

namespace {

//! The most task runs of \a flow that were RUNNING at once, from the observer's transitions.
int maxRunningAtOnce(const test::RecordingObserver& recorded, const FlowRun* flow)
{
    int running = 0;
    int most = 0;
    for (const test::RecordedTransition& t : recorded.transitions) {
        if (t.flowRun != flow || !t.taskRun)
            continue;
        const bool was = !t.isNew && t.from == StateType::Running;
        const bool is = t.type == StateType::Running;
        if (is && !was)
            most = std::max(most, ++running);
        else if (was && !is)
            --running;
    }
    return most;
}

const char* TaggedFlow = R"({"name": "tagged", "tasks": [
    {"id": "work", "kind": "sleep", "seconds": 0.15, "map": 12, "tags": ["shared"]}]})";

} // namespace

void TestDashboard::settingsLimitIsEnforcedAndStored()
{
    QTemporaryDir dir;
    const QString db = dir.filePath(QStringLiteral("limits.db"));
    QVERIFY(openDatabase(db));

    m_window->settingsAction()->trigger();
    auto* dialog = openDialog<SettingsDialog>(m_window.get());
    QVERIFY(dialog);
    LimitsEditor* editor = dialog->limitsEditor();
    // Add: the tag and limit fields, then Set Limit.
    editor->tagEdit()->clear();
    QTest::keyClicks(editor->tagEdit(), QStringLiteral("shared"));
    editor->limitEdit()->clear();
    QTest::keyClicks(editor->limitEdit(), QStringLiteral("1"));
    QTest::mouseClick(editor->setButton(), Qt::LeftButton);
    QTRY_COMPARE_WITH_TIMEOUT(m_context->engine().limiter().limit(QStringLiteral("shared")).value_or(-1), 1,
                              10000);
    QTRY_COMPARE_WITH_TIMEOUT(editor->model()->rowOf(QStringLiteral("shared")), 0, 5000);

    // Edit: select the row (its values fill the fields), change the limit, Set Limit.
    clickRow(editor->view(), 0);
    QCOMPARE(editor->tagEdit()->text(), QStringLiteral("shared"));
    editor->limitEdit()->selectAll();
    QTest::keyClicks(editor->limitEdit(), QStringLiteral("3"));
    QTest::mouseClick(editor->setButton(), Qt::LeftButton);
    QTRY_COMPARE_WITH_TIMEOUT(m_context->engine().limiter().limit(QStringLiteral("shared")).value_or(-1), 3,
                              10000);
    QVERIFY(editor->messageLabel()->isVisible());
    QVERIFY2(editor->messageLabel()->text().contains(QStringLiteral("set to 3")),
             qPrintable(editor->messageLabel()->text()));
    QTest::mouseClick(dialog->findChild<QDialogButtonBox*>()->button(QDialogButtonBox::Ok), Qt::LeftButton);
    QTRY_VERIFY(!dialog->isVisible());

    // The limiter enforces the new value: at most 3 of the 12 tagged task runs at once, and 3 is
    // reached (the old value, 1, would keep it at 1).
    test::RecordingObserver recorded;
    m_context->engine().addObserver(&recorded);
    FlowRun* run = m_context->startFlow(QJsonDocument::fromJson(TaggedFlow).object(), QStringLiteral("test"),
                                        {}, nullptr);
    QVERIFY(run);
    QTRY_VERIFY_WITH_TIMEOUT(run->isTerminal(), 30000);
    m_context->engine().removeObserver(&recorded);
    QCOMPARE(toString(run->type), toString(StateType::Completed));
    QCOMPARE(maxRunningAtOnce(recorded, run), 3);

    // The store holds it after a restart: read by a pool of its own, and by a new session.
    cleanup();
    const QList<LimitRow> stored = storedLimits(db);
    QCOMPARE(stored.size(), 1);
    QCOMPARE(stored.first().tag, QStringLiteral("shared"));
    QCOMPARE(stored.first().limit, 3);
    makeWindow();
    QVERIFY(openDatabase(db));
    QTRY_COMPARE_WITH_TIMEOUT(m_context->engine().limiter().limit(QStringLiteral("shared")).value_or(-1), 3,
                              10000);
}

void TestDashboard::invalidLimitIsRefused()
{
    QTemporaryDir dir;
    const QString db = dir.filePath(QStringLiteral("invalid.db"));
    QVERIFY(openDatabase(db));
    m_window->settingsAction()->trigger();
    auto* dialog = openDialog<SettingsDialog>(m_window.get());
    QVERIFY(dialog);
    LimitsEditor* editor = dialog->limitsEditor();
    const struct {
        QString tag;
        QString limit;
        QString says;
    } cases[] = {
        {QStringLiteral("bad tag"), QStringLiteral("2"), QStringLiteral("whitespace")},
        {QString(), QStringLiteral("2"), QStringLiteral("empty")},
        {QStringLiteral("a,b"), QStringLiteral("2"), QStringLiteral("comma")},
        {QStringLiteral("ok"), QStringLiteral("-1"), QStringLiteral("non-negative integer")},
        {QStringLiteral("ok"), QStringLiteral("2.5"), QStringLiteral("non-negative integer")},
        {QStringLiteral("ok"), QStringLiteral("many"), QStringLiteral("non-negative integer")},
    };
    for (const auto& c : cases) {
        editor->tagEdit()->setText(c.tag);
        editor->limitEdit()->setText(c.limit);
        QTest::mouseClick(editor->setButton(), Qt::LeftButton);
        QVERIFY2(editor->messageLabel()->isVisible(), qPrintable(c.tag));
        QVERIFY2(editor->messageLabel()->text().contains(c.says), qPrintable(editor->messageLabel()->text()));
    }
    // In place: the limit cell refuses a negative value the same way.
    QVERIFY(m_context->limits().setLimit(QStringLiteral("real"), 2));
    QTRY_COMPARE_WITH_TIMEOUT(editor->model()->rowOf(QStringLiteral("real")), 0, 10000);
    const QModelIndex cell = editor->model()->index(0, ConcurrencyModel::LimitColumn);
    QVERIFY(!editor->model()->setData(cell, QStringLiteral("-4")));
    QVERIFY(editor->messageLabel()->text().contains(QStringLiteral("non-negative integer")));

    // Nothing changed: one limit, still 2, in the limiter, the table and the store.
    QTest::qWait(1200); // two store polls: a write, had there been one, would show
    QCOMPARE(editor->model()->rowCount(), 1);
    QCOMPARE(m_context->engine().limiter().usage().size(), 1);
    QCOMPARE(m_context->engine().limiter().limit(QStringLiteral("real")).value_or(-1), 2);
    const QList<LimitRow> stored = storedLimits(db);
    QCOMPARE(stored.size(), 1);
    QCOMPARE(stored.first().limit, 2);
    dialog->reject();
}

void TestDashboard::historySurvivesRestart()
{
    QTemporaryDir dir;
    const QString db = dir.filePath(QStringLiteral("history.db"));
    QVERIFY(openDatabase(db));
    FlowRun* run = m_context->startFlow(QJsonDocument::fromJson(R"({"name": "remembered", "tasks": [
            {"id": "say", "kind": "shell", "command": ["echo", "kept in the store"]},
            {"id": "nap", "kind": "sleep", "seconds": 0.05, "map": 3, "depends_on": ["say"]}]})")
                                            .object(),
                                        QStringLiteral("test"), {}, nullptr);
    QVERIFY(run);
    QTRY_VERIFY_WITH_TIMEOUT(run->isTerminal(), 20000);
    const QString id = run->id.toString();

    cleanup();
    makeWindow();
    QCOMPARE(m_window->runsPage()->model()->rowCount(), 0); // nothing before the store is read
    QVERIFY(openDatabase(db));
    FlowRunModel* runs = m_window->runsPage()->model();
    QTRY_COMPARE_WITH_TIMEOUT(runs->rowCount(), 1, 10000);
    FlowRun* stored = runs->flowRunAt(0);
    QCOMPARE(stored->id.toString(), id);
    QCOMPARE(stored->def.name, QStringLiteral("remembered"));
    QCOMPARE(toString(stored->type), toString(StateType::Completed));
    QCOMPARE(runs->data(runs->index(0, FlowRunModel::CompletedColumn)).toLongLong(), 4);
    QVERIFY(m_context->history().isStored(stored));

    // Its detail comes from the store: task runs with their history, and the log.
    m_window->showRun(stored);
    QTRY_COMPARE_WITH_TIMEOUT(m_window->runPage()->taskModel()->rowCount(), 4, 10000);
    const TaskRun* first = m_window->runPage()->taskModel()->taskRunAt(0);
    QCOMPARE(first->taskId(), QStringLiteral("say"));
    QVERIFY(first->history.size() >= 3); // Pending, Running, Completed
    QTRY_VERIFY(m_window->runPage()->logModel()->rowCount() >= 1);
    bool logged = false;
    for (int r = 0; r < m_window->runPage()->logModel()->rowCount(); ++r)
        logged |= m_window->runPage()
                      ->logModel()
                      ->data(m_window->runPage()->logModel()->index(r, LogModel::MessageColumn))
                      .toString()
                      .contains(QStringLiteral("kept in the store"));
    QVERIFY(logged);

    // A run of this session goes on top of the stored ones.
    FlowRun* fresh = m_context->startFlow(QJsonDocument::fromJson(R"({"name": "fresh", "tasks": [
        {"id": "a", "kind": "noop"}]})")
                                              .object(),
                                          QStringLiteral("test"), {}, nullptr);
    QVERIFY(fresh);
    QTRY_COMPARE(runs->rowCount(), 2);
    QCOMPARE(runs->flowRunAt(0), fresh);
    QCOMPARE(runs->flowRunAt(1), stored);
}

void TestDashboard::concurrencyPageShowsHoldersAndWaiters()
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

void TestDashboard::badDatabaseIsReportedAndAppKeepsWorking()
{
    // A folder cannot be opened as a SQLite file.
    QTemporaryDir dir;
    QVERIFY(m_context->database().open(dir.path()));
    QTRY_COMPARE_WITH_TIMEOUT(int(m_context->database().state()), int(DatabaseState::Failed), 20000);
    QTRY_VERIFY(m_window->databaseErrorBox() && m_window->databaseErrorBox()->isVisible());
    QVERIFY2(m_window->databaseErrorBox()->text().contains(dir.path()),
             qPrintable(m_window->databaseErrorBox()->text()));
    QVERIFY(m_window->healthStrip()->text().contains(QStringLiteral("No database")));

    // The app goes on without persistence.
    FlowRun* run = m_context->startFlow(QJsonDocument::fromJson(R"({"name": "memory", "tasks": [
        {"id": "a", "kind": "noop"}]})")
                                            .object(),
                                        QStringLiteral("test"), {}, nullptr);
    QVERIFY(run);
    QTRY_COMPARE(toString(run->type), toString(StateType::Completed));

    // "Choose Another Database…" opens Settings, where another location can be picked.
    QAbstractButton* choose = nullptr;
    for (QAbstractButton* button : m_window->databaseErrorBox()->buttons()) {
        if (button->text().contains(QStringLiteral("Another")))
            choose = button;
    }
    QVERIFY(choose);
    QTest::mouseClick(choose, Qt::LeftButton);
    auto* dialog = openDialog<SettingsDialog>(m_window.get());
    QVERIFY(dialog);
    dialog->databaseLocationEditor()->setText(QStringLiteral("postgresql://@/"));
    QVERIFY(!dialog->apply());
    QVERIFY(dialog->databaseNote()->isVisible());
    QVERIFY(dialog->databaseNote()->text().contains(QStringLiteral("refused")));
    QVERIFY(appsettings::databaseLocation().isEmpty());
    const QString good = dir.filePath(QStringLiteral("good.db"));
    dialog->databaseLocationEditor()->setText(good);
    QVERIFY(dialog->apply());
    QTRY_COMPARE_WITH_TIMEOUT(int(m_context->database().state()), int(DatabaseState::Open), 20000);
    QCOMPARE(appsettings::databaseLocation(), good);
    appsettings::setDatabaseLocation({});
    dialog->reject();
}

void TestDashboard::healthShowsDatabasePool()
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

// Scale-out: the Workers page, the Runs table's Worker column, and Start → "Queue for a worker".

namespace {

//! Registers an engine row as `flowdeck worker` does, on another host (nobody probes its pid).
QString registerWorkerRow(ConnectionPool& pool, const QString& name)
{
    const QString id = RunId::generate().toString();
    auto registering = pool.run([id, name](QSqlDatabase& db) {
        const qint64 now = std::chrono::duration_cast<std::chrono::microseconds>(
                               std::chrono::system_clock::now().time_since_epoch())
                               .count();
        QSqlQuery q(db);
        q.prepare(QStringLiteral(
            "INSERT INTO engines (id, host, pid, started_at, heartbeat_at) VALUES (?, ?, ?, ?, ?)"));
        for (const QVariant& v : QVariantList{id, QStringLiteral("build-host.example"), 4242, now, now})
            q.addBindValue(v);
        if (!q.exec())
            throw DatabaseError("inserting an engine");
        workers::registerWorker(db, id, name, 3, 3'600'000'000LL);
        workers::heartbeat(db, id, workers::WorkerFigures{2, 1, 8, 2500});
        return true;
    });
    QCoro::waitFor(registering);
    return id;
}

struct StoredRun {
    QString state;
    QString worker;
    QJsonObject document;
};

StoredRun storedRun(ConnectionPool& pool, const QString& flowName)
{
    auto reading = pool.run([flowName](QSqlDatabase& db) {
        QSqlQuery q(db);
        q.prepare(QStringLiteral("SELECT state, worker, document FROM flow_runs WHERE flow_name = ? "
                                 "ORDER BY created_at DESC LIMIT 1"));
        q.addBindValue(flowName);
        StoredRun r;
        if (q.exec() && q.next()) {
            r.state = q.value(0).toString();
            r.worker = q.value(1).toString();
            r.document = QJsonDocument::fromJson(q.value(2).toString().toUtf8()).object();
        }
        return r;
    });
    return QCoro::waitFor(reading);
}

} // namespace

void TestDashboard::workersPageListsRegisteredWorkers()
{
    QTemporaryDir dir;
    const QString db = dir.filePath(QStringLiteral("workers.db"));
    QVERIFY(openDatabase(db));

    // A page of its own: View menu (Ctrl+6), `--page workers`.
    QAction* action = m_window->pageAction(MainWindow::Page::Workers);
    QVERIFY(action);
    QCOMPARE(action->shortcut(), QKeySequence(Qt::CTRL | Qt::Key_6));
    QCOMPARE(MainWindow::pageFromName(QStringLiteral("workers")), MainWindow::Page::Workers);
    action->trigger();
    QCOMPARE(m_window->currentPage(), MainWindow::Page::Workers);
    WorkersPage* page = m_window->workersPage();
    QVERIFY(page->isVisible());
    QAbstractItemModelTester tester(page->model());

    // No worker yet: the page says how to start one on this very database.
    QTRY_VERIFY_WITH_TIMEOUT(page->emptyState()->isVisible(), 5000);
    QTRY_VERIFY(page->emptyState()->text().contains(QStringLiteral("flowdeck worker --db ")));
    QVERIFY2(page->emptyState()->text().contains(db), qPrintable(page->emptyState()->text()));
    // Without workers, Start offers this app only.
    m_window->showPage(MainWindow::Page::Flows);
    clickRow(m_window->flowsPage()->view(), rowOf(QStringLiteral("quick.json")));
    auto* dialog = m_window->flowsPage()->startSelected();
    QVERIFY(dialog);
    QTRY_VERIFY_WITH_TIMEOUT(dialog->workersKnown(), 5000); // the read of the workers came back
    QVERIFY(dialog->targetBox()->isHidden());
    QCOMPARE(dialog->target(), StartFlowDialog::Target::ThisApp);
    dialog->reject();

    // A worker registers: the page lists it within its refresh (about a second).
    registerWorkerRow(m_context->database().store()->pool(), QStringLiteral("build-box-1"));
    m_window->pageAction(MainWindow::Page::Workers)->trigger();
    WorkerModel* model = page->model();
    QTRY_COMPARE_WITH_TIMEOUT(model->workerCount(), 1, 5000);
    QCOMPARE(model->index(0, WorkerModel::Name).data().toString(), QStringLiteral("build-box-1"));
    QCOMPARE(model->index(0, WorkerModel::Host).data().toString(), QStringLiteral("build-host.example"));
    QCOMPARE(model->index(0, WorkerModel::Pid).data().toLongLong(), qint64(4242));
    QVERIFY(model->index(0, WorkerModel::Heartbeat).data().toString().endsWith(QStringLiteral("s ago")));
    QCOMPARE(model->index(0, WorkerModel::FlowRuns).data().toString(), QStringLiteral("2 / 3"));
    QCOMPARE(model->index(0, WorkerModel::BlockingPool).data().toString(), QStringLiteral("1 / 8"));
    QCOMPARE(model->index(0, WorkerModel::LoopLag).data().toString(), QStringLiteral("2.5 ms"));
    QCOMPARE(model->index(0, WorkerModel::Status).data().toString(), QStringLiteral("online"));
    QVERIFY(!page->emptyState()->isVisible());
    QVERIFY(page->view()->isVisible());
    // This app's own engine is listed too, as "this app".
    bool self = false;
    for (int r = 0; r < model->rowCount(); ++r)
        self |= model->index(r, WorkerModel::Name).data().toString() == QStringLiteral("this app");
    QVERIFY(self);

    // Start now offers "Queue for a worker"; queueing stores the run SCHEDULED with its document,
    // and the Runs table shows it at once, with no worker yet.
    m_window->showPage(MainWindow::Page::Flows);
    dialog = m_window->flowsPage()->startSelected();
    QVERIFY(dialog);
    QTRY_VERIFY_WITH_TIMEOUT(!dialog->targetBox()->isHidden(), 5000);
    QCOMPARE(dialog->target(), StartFlowDialog::Target::ThisApp); // the default
    auto* queue = dialog->findChild<QRadioButton*>(QStringLiteral("queueForWorker"));
    QVERIFY(queue && queue->text().contains(QStringLiteral("build-box-1")));
    QTest::mouseClick(queue, Qt::LeftButton);
    QCOMPARE(dialog->target(), StartFlowDialog::Target::Worker);
    auto* button = dialog->findChild<QPushButton*>(QStringLiteral("startButton"));
    QVERIFY(button->text().contains(QStringLiteral("Queue")));
    QTest::mouseClick(button, Qt::LeftButton);
    QCOMPARE(m_context->activeFlowRuns(), 0); // not run here
    QTRY_COMPARE_WITH_TIMEOUT(storedRun(m_context->database().store()->pool(), QStringLiteral("quick")).state,
                              QStringLiteral("SCHEDULED"), 5000);
    const StoredRun stored = storedRun(m_context->database().store()->pool(), QStringLiteral("quick"));
    QVERIFY(stored.worker.isEmpty());
    QCOMPARE(stored.document.value(QStringLiteral("name")).toString(), QStringLiteral("quick"));
    QCOMPARE(stored.document.value(QStringLiteral("tasks")).toArray().size(), 2);

    QCOMPARE(m_window->currentPage(), MainWindow::Page::Runs);
    FlowRunModel* runs = m_window->runsPage()->model();
    QTRY_COMPARE_WITH_TIMEOUT(runs->rowCount(), 1, 3000); // well before the periodic reload
    QCOMPARE(runs->index(0, FlowRunModel::FlowColumn).data().toString(), QStringLiteral("quick"));
    QCOMPARE(runs->index(0, FlowRunModel::StateColumn).data().toString(), QStringLiteral("Scheduled"));
    QCOMPARE(runs->index(0, FlowRunModel::WorkerColumn).data().toString(), QString());

    // The Workers page is remembered as the last page.
    {
        auto window = std::make_unique<MainWindow>(m_context.get(), MainWindow::Options{true});
        window->show();
        window->showPage(MainWindow::Page::Workers);
        QVERIFY(window->close());
    }
    MainWindow restored(m_context.get(), MainWindow::Options{true});
    QCOMPARE(restored.currentPage(), MainWindow::Page::Workers);
    restored.showPage(MainWindow::Page::Flows);
    restored.show();
    QVERIFY(restored.close()); // leaves Flows as the last page for the others
}

void TestDashboard::queueFromStartDialogRunsOnWorker()
{
    const QString binary = qEnvironmentVariable("FLOWDECK_BINARY");
    QVERIFY2(!binary.isEmpty(), "FLOWDECK_BINARY is not set (CTest sets it)");
    QTemporaryDir dir;
    const QString db = dir.filePath(QStringLiteral("queue.db"));
    QVERIFY(openDatabase(db));

    // A real worker on the same SQLite file.
    QProcess worker;
    worker.setStandardOutputFile(QProcess::nullDevice());
    worker.setStandardErrorFile(dir.filePath(QStringLiteral("worker.log")));
    worker.start(binary,
                 {QStringLiteral("worker"), QStringLiteral("--db"), db, QStringLiteral("--name"),
                  QStringLiteral("test-worker"), QStringLiteral("--poll-seconds"), QStringLiteral("0.2")});
    QVERIFY(worker.waitForStarted(10000));
    auto stopWorker = qScopeGuard([&worker] {
        worker.terminate(); // SIGTERM: graceful shutdown
        if (!worker.waitForFinished(20000))
            worker.kill();
    });

    // A flow started in this app shows "this app".
    FlowRun* local = m_context->startFlow(QJsonDocument::fromJson(R"({"name": "here", "tasks": [
        {"id": "a", "kind": "noop"}]})")
                                              .object(),
                                          QStringLiteral("test"), {}, nullptr);
    QVERIFY(local);
    FlowRunModel* runs = m_window->runsPage()->model();
    QTRY_COMPARE(runs->rowCount(), 1);
    QCOMPARE(runs->index(0, FlowRunModel::WorkerColumn).data().toString(), QStringLiteral("this app"));

    // Once the worker heartbeats, Start offers it; queue "quick" for it.
    m_window->showPage(MainWindow::Page::Flows);
    clickRow(m_window->flowsPage()->view(), rowOf(QStringLiteral("quick.json")));
    QToolButton* start = buttonFor(m_window->flowsPage(), m_window->flowsPage()->startAction());
    QVERIFY(start);
    QTest::mouseClick(start, Qt::LeftButton);
    auto* dialog = openDialog<StartFlowDialog>(m_window.get());
    QVERIFY(dialog);
    QTRY_VERIFY2_WITH_TIMEOUT(
        !dialog->targetBox()->isHidden(),
        qPrintable(QStringLiteral("no worker online; worker log: ") + QString::fromUtf8([&] {
                       QFile f(dir.filePath(QStringLiteral("worker.log")));
                       return f.open(QIODevice::ReadOnly) ? f.readAll() : QByteArray();
                   }())),
        30000);
    QTest::mouseClick(dialog->findChild<QRadioButton*>(QStringLiteral("queueForWorker")), Qt::LeftButton);
    QTest::mouseClick(dialog->findChild<QPushButton*>(QStringLiteral("startButton")), Qt::LeftButton);

    // It shows in the Runs table, the worker claims and runs it: COMPLETED, run by "test-worker".
    QTRY_COMPARE_WITH_TIMEOUT(runs->rowCount(), 2, 5000);
    QCOMPARE(runs->index(0, FlowRunModel::FlowColumn).data().toString(), QStringLiteral("quick"));
    QTRY_COMPARE_WITH_TIMEOUT(runs->index(0, FlowRunModel::StateColumn).data().toString(),
                              QStringLiteral("Completed"), 60000);
    QTRY_COMPARE_WITH_TIMEOUT(runs->index(0, FlowRunModel::WorkerColumn).data().toString(),
                              QStringLiteral("test-worker"), 10000);
    QCOMPARE(runs->index(0, FlowRunModel::ProgressColumn).data().toString(), QStringLiteral("2 / 2"));
    QCOMPARE(runs->index(1, FlowRunModel::WorkerColumn).data().toString(), QStringLiteral("this app"));
    QCOMPARE(storedRun(m_context->database().store()->pool(), QStringLiteral("quick")).state,
             QStringLiteral("COMPLETED"));

    stopWorker.dismiss();
    worker.terminate();
    QVERIFY(worker.waitForFinished(30000));
    QCOMPARE(worker.exitStatus(), QProcess::NormalExit);
}

// A stored flow run of 20k task runs, opened in the Run page of a new session: its task runs are
// read and built off the GUI thread, so the loop never stops for long, and every row shows.
void TestDashboard::largeStoredRunOpensWithoutBlocking()
{
    constexpr int Tasks = 20'000;
    QTemporaryDir dir;
    const QString db = dir.filePath(QStringLiteral("large.db"));
    QVERIFY(openDatabase(db));
    FlowRun* run = m_context->startFlow(QJsonDocument::fromJson(R"({"name": "large", "tasks": [
        {"id": "work", "kind": "noop", "map": 20000}]})")
                                            .object(),
                                        QStringLiteral("test"), {}, nullptr);
    QVERIFY(run);
    QTRY_VERIFY_WITH_TIMEOUT(run->isTerminal(), 120000);
    QCOMPARE(toString(run->type), toString(StateType::Completed));
    const QString id = run->id.toString();

    cleanup(); // writes what is buffered and closes the store
    makeWindow();
    QVERIFY(openDatabase(db));
    FlowRunModel* runs = m_window->runsPage()->model();
    QTRY_COMPARE_WITH_TIMEOUT(runs->rowCount(), 1, 10000);
    FlowRun* stored = runs->flowRunAt(0);
    QCOMPARE(stored->id.toString(), id);
    QVERIFY(m_context->history().needsDetails(stored));
    TaskRunModel* model = m_window->runPage()->taskModel();

    // The biggest gap between ticks of a 1 ms timer, from the click on: how long the loop stopped.
    QElapsedTimer clock;
    qint64 last = 0;
    qint64 maxGapNs = 0;
    QTimer probe;
    probe.setTimerType(Qt::PreciseTimer);
    probe.setInterval(1);
    connect(&probe, &QTimer::timeout, this, [&] {
        const qint64 now = clock.nsecsElapsed();
        maxGapNs = std::max(maxGapNs, now - last);
        last = now;
    });
    clock.start();
    probe.start();
    m_window->showRun(stored); // as a double click in the Runs table does
    QTRY_COMPARE_WITH_TIMEOUT(model->rowCount(), Tasks, 60000);
    QTRY_COMPARE(m_window->runPage()->timeline()->flowRun(), stored);
    QTest::qWait(200); // the first paints of the table and the timeline with every row
    probe.stop();
    qInfo("opening %d stored task runs: the loop stopped for at most %.1f ms", Tasks, double(maxGapNs) / 1e6);
    QVERIFY2(maxGapNs < 100'000'000,
             qPrintable(QStringLiteral("the loop stopped for %1 ms").arg(double(maxGapNs) / 1e6)));

    // Every row, in map order, finished as stored. The tester checks every index when it starts:
    // attached only now, so that its own work (tens of ms in a debug build) is not measured above.
    QAbstractItemModelTester tester(model, QAbstractItemModelTester::FailureReportingMode::QtTest);
    QCOMPARE(model->flowRun(), stored);
    QCOMPARE(stored->finishedTaskRuns, qint64(Tasks));
    QCOMPARE(stored->count(StateType::Completed), qint64(Tasks));
    for (int row : {0, 1, Tasks / 2, Tasks - 1}) {
        const TaskRun* task = model->taskRunAt(row);
        QVERIFY(task);
        QCOMPARE(task->mapIndex, row);
        QCOMPARE(task->taskId(), QStringLiteral("work"));
        QCOMPARE(task->flowRun, stored);
        QCOMPARE(toString(task->type), toString(StateType::Completed));
        QVERIFY(task->history.size() >= 2);
    }
    QCOMPARE(model->data(model->index(Tasks - 1, TaskRunModel::MapIndexColumn)).toInt(), Tasks - 1);
}

// Headless and with a private settings and data folder, before QApplication reads either.
int main(int argc, char** argv)
{
    if (qEnvironmentVariableIsEmpty("QT_QPA_PLATFORM"))
        qputenv("QT_QPA_PLATFORM", "offscreen");
    QTemporaryDir home;
    qputenv("XDG_CONFIG_HOME", QFile::encodeName(home.filePath(QStringLiteral("config"))));
    qputenv("XDG_DATA_HOME", QFile::encodeName(home.filePath(QStringLiteral("data"))));
    QApplication app(argc, argv);
    QApplication::setOrganizationName(QStringLiteral("FlowdeckTest"));
    QApplication::setApplicationName(QStringLiteral("tst_dashboard"));
    TestDashboard test;
    QTEST_SET_MAIN_SOURCE_PATH
    return QTest::qExec(&test, argc, argv);
}

#include "tst_dashboard.moc"
