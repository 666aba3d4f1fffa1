// The tray and desktop notifications: what the notifier decides (observed through the sink the app
// hands to the tray), its rate limit, runs of another process, the tray icon's state and menu, a
// click on a notification, closing into the tray; and that without a tray nothing of it shows.
#include "context/appsettings.h"
#include "context/notifier.h"
#include "context/schedules.h"
#include "models/flowrunfiltermodel.h"
#include "pages/runpage.h"
#include "pages/runspage.h"
#include "pages/settingsdialog.h"
#include "run/engine.h"
#include "run/flowrun.h"
#include "session/session.h"
#include "style/statestyle.h"
#include "testutil.h"
#include "uitestutil.h"
#include "widgets/trayicon.h"

#include <QAction>
#include <QCheckBox>
#include <QJsonDocument>
#include <QMessageBox>
#include <QSignalSpy>
#include <QStatusBar>
#include <QSystemTrayIcon>
#include <QTest>
#include <QTimer>

using namespace flowdeck;
using namespace flowdeck::uitest;
using namespace flowdeck::test;

namespace {

constexpr int WaitMs = 20000;

const char kFailing[] = R"({"name": "failing",
    "tasks": [{"id": "boom", "kind": "fail", "message": "disk on fire"}]})";
const char kQuick[] = R"({"name": "quick", "tasks": [{"id": "done", "kind": "noop"}]})";
const char kSlow[] = R"({"name": "slow", "tasks": [{"id": "wait", "kind": "sleep", "seconds": 30}]})";
const char kDeploy[] = R"({"name": "deploy", "tasks": [
    {"id": "ok", "kind": "approval", "prompt": "Ship it?"}]})";
const char kRemoteFailing[] = R"({"name": "remote-failing",
    "tasks": [{"id": "load", "kind": "fail", "message": "no such table"}]})";

//! What the app would hand to QSystemTrayIcon, recorded.
class RecordingSink : public NotificationSink {
public:
    void showNotification(const Notification& n) override { shown.push_back(n); }
    void showTrayState(const TrayState& s) override { states.push_back(s); }
    QList<Notification> shown;
    QList<TrayState> states;
};

} // namespace

class TestNotifier : public QObject, public Dashboard {
    Q_OBJECT

private Q_SLOTS:
    void initTestCase() { writeFlows(); }
    void init()
    {
        appsettings::open().remove(QStringLiteral("Notifications"));
        makeWindow();
    }
    void cleanup()
    {
        if (m_context)
            m_context->notifier().setSink(nullptr);
        tearDown();
    }

    //! A failure: flow name, run id and first failure, once; the tray marks it until acknowledged.
    void failureNotifiesOnceWithFirstFailure()
    {
        RecordingSink sink;
        Notifier& notifier = m_context->notifier();
        notifier.setSink(&sink);
        notifier.setTiming(50, 0);
        FlowRun* run = start(kFailing);
        QTRY_COMPARE_WITH_TIMEOUT(sink.shown.size(), 1, WaitMs);
        const Notification n = sink.shown.first();
        QCOMPARE(n.kind, Notification::Kind::Failed);
        QCOMPARE(n.runId, run->id.toString());
        QVERIFY2(n.title.contains(QStringLiteral("failing")), qPrintable(n.title));
        QVERIFY2(n.text.contains(shortId(run->id.toString())) && n.text.contains(QStringLiteral("boom"))
                     && n.text.contains(QStringLiteral("disk on fire")),
                 qPrintable(n.text));
        QTRY_COMPARE(notifier.trayState().status, TrayState::Status::Failed);
        QCOMPARE(notifier.trayState().unseenFailures, 1);
        QVERIFY(sink.states.last().toolTip.contains(QStringLiteral("failed")));
        notifier.acknowledge();
        QCOMPARE(notifier.trayState().status, TrayState::Status::Idle);
        // The same run in later ticks is not news: a second failure is the next notification.
        m_context->flush();
        start(kFailing);
        QTRY_COMPARE_WITH_TIMEOUT(sink.shown.size(), 2, WaitMs);
        QVERIFY(sink.shown.at(1).runId != run->id.toString());
    }

    //! The tray shows runs as active from the display tick, and idle once they end.
    void trayStateFollowsActiveRuns()
    {
        RecordingSink sink;
        m_context->notifier().setSink(&sink);
        FlowRun* run = start(kSlow);
        QTRY_COMPARE_WITH_TIMEOUT(m_context->notifier().trayState().status, TrayState::Status::Running,
                                  WaitMs);
        QCOMPARE(m_context->notifier().trayState().activeRuns, 1);
        QVERIFY(sink.states.last().toolTip.contains(QStringLiteral("1 flow run active")));
        const int statesWhileRunning = int(sink.states.size());
        // A state is handed over when it changes, not once per tick.
        m_context->flush();
        m_context->flush();
        QCOMPARE(int(sink.states.size()), statesWhileRunning);
        m_context->cancelFlowRun(run);
        QTRY_COMPARE_WITH_TIMEOUT(m_context->notifier().trayState().status, TrayState::Status::Idle, WaitMs);
    }

    //! A burst of failures gives one summary, not a bubble each; the next failure after the gap is
    //! told on its own.
    void burstGivesOneSummary()
    {
        RecordingSink sink;
        Notifier& notifier = m_context->notifier();
        notifier.setSink(&sink);
        notifier.setTiming(500, 3000);
        constexpr int Burst = 12;
        for (int i = 0; i < Burst; ++i)
            QVERIFY(start(kFailing));
        QTRY_COMPARE_WITH_TIMEOUT(sink.shown.size(), 1, WaitMs);
        const Notification summary = sink.shown.first();
        QCOMPARE(summary.kind, Notification::Kind::Summary);
        QCOMPARE(summary.failures, Burst);
        QVERIFY2(summary.title.contains(QStringLiteral("12 flow runs failed")), qPrintable(summary.title));
        QVERIFY2(summary.text.contains(QStringLiteral("failing ×12"))
                     && summary.text.contains(QStringLiteral("disk on fire")),
                 qPrintable(summary.text));
        QVERIFY(summary.runId.isEmpty());
        FlowRun* late = start(kFailing);
        QTRY_COMPARE_WITH_TIMEOUT(sink.shown.size(), 2, WaitMs);
        QCOMPARE(sink.shown.at(1).kind, Notification::Kind::Failed);
        QCOMPARE(sink.shown.at(1).runId, late->id.toString());
        QCOMPARE(notifier.trayState().unseenFailures, Burst + 1);
    }

    //! Completions notify only when chosen in Settings; an approval that waits notifies.
    void completionsWhenChosenAndApprovals()
    {
        RecordingSink sink;
        Notifier& notifier = m_context->notifier();
        notifier.setSink(&sink);
        notifier.setTiming(50, 0);
        FlowRun* quiet = start(kQuick);
        QTRY_VERIFY_WITH_TIMEOUT(quiet->isTerminal(), WaitMs);
        FlowRun* failed = start(kFailing);
        QTRY_COMPARE_WITH_TIMEOUT(sink.shown.size(), 1, WaitMs);
        QCOMPARE(sink.shown.at(0).runId, failed->id.toString()); // not the completed run before it

        // Chosen in the Settings dialog (applied), as the user does it.
        SettingsDialog* dialog = m_window->openSettings();
        QVERIFY(!dialog->notifyCompletionsEditor()->isEnabled()); // no tray here: the choice waits
        dialog->reject();
        NotifyOptions options = notifier.options();
        options.completions = true;
        notifier.setOptions(options);
        FlowRun* told = start(kQuick);
        QTRY_COMPARE_WITH_TIMEOUT(sink.shown.size(), 2, WaitMs);
        QCOMPARE(sink.shown.at(1).kind, Notification::Kind::Completed);
        QCOMPARE(sink.shown.at(1).runId, told->id.toString());

        FlowRun* deploy = start(kDeploy);
        QTRY_COMPARE_WITH_TIMEOUT(sink.shown.size(), 3, WaitMs);
        QCOMPARE(sink.shown.at(2).kind, Notification::Kind::Approval);
        QCOMPARE(sink.shown.at(2).runId, deploy->id.toString());
        QVERIFY2(sink.shown.at(2).text.contains(QStringLiteral("ok: Ship it?")),
                 qPrintable(sink.shown.at(2).text));
    }

    //! Runs of another process (a worker) are told once they end, from the run history's poll, and
    //! the dashboard's own runs in the same store are not told twice.
    void runsOfAnotherProcess_data() { addBackendRows(); }
    void runsOfAnotherProcess()
    {
        QFETCH(QString, backend);
        FLOWDECK_FRESH_DATABASE(url, backend);
        QVERIFY(openDatabase(url));
        RecordingSink sink;
        Notifier& notifier = m_context->notifier();
        notifier.setSink(&sink);
        notifier.setTiming(50, 0);
        FlowRun* local = start(kFailing);
        QTRY_COMPARE_WITH_TIMEOUT(sink.shown.size(), 1, WaitMs);
        QCOMPARE(sink.shown.at(0).runId, local->id.toString());

        Engine other;
        Session session(other.scheduler());
        auto opening = session.open(url, {.engine = &other, .registerEngine = true, .pool = {}});
        finish(opening);
        QVERIFY(session.isOpen());
        const auto flow = parseFlow(kRemoteFailing);
        QVERIFY(flow);
        FlowRun* remote = other.start(*flow);
        QTRY_VERIFY_WITH_TIMEOUT(remote->isTerminal(), WaitMs);
        QTRY_COMPARE_WITH_TIMEOUT(sink.shown.size(), 2, WaitMs);
        QCOMPARE(sink.shown.at(1).runId, remote->id.toString());
        QVERIFY2(sink.shown.at(1).text.contains(QStringLiteral("no such table")),
                 qPrintable(sink.shown.at(1).text));
        // Later polls re-read both runs: neither is told again before a new one.
        FlowRun* second = other.start(*flow);
        QTRY_VERIFY_WITH_TIMEOUT(second->isTerminal(), WaitMs);
        QTRY_COMPARE_WITH_TIMEOUT(sink.shown.size(), 3, WaitMs);
        QCOMPARE(sink.shown.at(2).runId, second->id.toString());
        // An approval that waits in the other process is told too, from the store.
        const auto deploy = parseFlow(kDeploy);
        QVERIFY(deploy);
        FlowRun* waiting = other.start(*deploy);
        QTRY_COMPARE_WITH_TIMEOUT(sink.shown.size(), 4, WaitMs);
        QCOMPARE(sink.shown.at(3).kind, Notification::Kind::Approval);
        QCOMPARE(sink.shown.at(3).runId, waiting->id.toString());
        QVERIFY2(sink.shown.at(3).text.contains(QStringLiteral("Ship it?")),
                 qPrintable(sink.shown.at(3).text));
        other.cancelFlowRun(waiting, QStringLiteral("test over"));
        QTRY_VERIFY_WITH_TIMEOUT(waiting->isTerminal(), WaitMs);
        auto closing = session.close();
        finish(closing);
    }

    //! With a tray: its icon marks a failure, a click on the notification opens that run; a click on
    //! a summary shows the failed runs.
    void clickOpensTheRun()
    {
        TrayIcon* tray = makeTrayWindow();
        QVERIFY(tray);
        QCOMPARE(m_context->notifier().sink(), static_cast<NotificationSink*>(tray));
        m_context->notifier().setTiming(50, 0);
        const QIcon idleIcon = tray->systemTrayIcon()->icon();
        FlowRun* run = start(kFailing);
        QTRY_COMPARE_WITH_TIMEOUT(tray->state().status, TrayState::Status::Failed, WaitMs);
        QVERIFY(tray->systemTrayIcon()->icon().cacheKey() != idleIcon.cacheKey());
        QVERIFY(tray->systemTrayIcon()->toolTip().contains(QStringLiteral("failed")));
        m_window->showPage(MainWindow::Page::Flows);
        QTRY_COMPARE_WITH_TIMEOUT(tray->shownCount(), 1, WaitMs);
        QCOMPARE(tray->lastNotification().runId, run->id.toString());
        // What QSystemTrayIcon emits when the user clicks the bubble.
        Q_EMIT tray->systemTrayIcon()->messageClicked();
        QCOMPARE(m_window->currentPage(), MainWindow::Page::Run);
        QCOMPARE(m_window->runPage()->flowRun(), run);

        m_context->notifier().setTiming(300, 0);
        for (int i = 0; i < 3; ++i)
            start(kFailing);
        QTRY_COMPARE_WITH_TIMEOUT(tray->shownCount(), 2, WaitMs);
        QCOMPARE(tray->lastNotification().kind, Notification::Kind::Summary);
        Q_EMIT tray->systemTrayIcon()->messageClicked();
        QCOMPARE(m_window->currentPage(), MainWindow::Page::Runs);
        QTRY_COMPARE(m_window->runsPage()->filterModel()->rowCount(), 4);
    }

    //! Closing the window leaves the app in the tray when set; the tray opens it again (the failure
    //! mark goes: the user looked) and quits, asking while runs are active.
    void closeIntoTrayOpenAndQuit()
    {
        TrayIcon* tray = makeTrayWindow();
        QVERIFY(tray);
        m_context->notifier().setTiming(50, 0);
        appsettings::setKeepInTray(true);
        QSignalSpy closed(m_window.get(), &MainWindow::closed);
        QVERIFY(!m_window->close());
        QVERIFY(!m_window->isVisible());
        start(kFailing);
        QTRY_COMPARE_WITH_TIMEOUT(tray->state().status, TrayState::Status::Failed, WaitMs);
        tray->openAction()->trigger();
        QVERIFY(m_window->isVisible());
        QCOMPARE(tray->state().status, TrayState::Status::Idle);

        // Quit with a run active asks; "No" keeps the window and the run.
        FlowRun* slow = start(kSlow);
        QTRY_COMPARE_WITH_TIMEOUT(tray->state().status, TrayState::Status::Running, WaitMs);
        answerQuitQuestion(QMessageBox::No);
        tray->quitAction()->trigger();
        QVERIFY(m_asked);
        QVERIFY(m_window->isVisible());
        QVERIFY(!slow->isTerminal());
        QCOMPARE(closed.size(), 0);
        answerQuitQuestion(QMessageBox::Yes);
        tray->quitAction()->trigger();
        QVERIFY(m_asked);
        QVERIFY(!m_window->isVisible());
        QTRY_COMPARE(closed.size(), 1);
        appsettings::open().remove(QStringLiteral("Notifications"));
    }

    //! The tray's menu pauses and resumes every schedule in the store; with schedules and no choice
    //! made in Settings, closing the window leaves the app in the tray (without, it quits).
    void trayPausesAllSchedules_data() { addBackendRows(); }
    void trayPausesAllSchedules()
    {
        QFETCH(QString, backend);
        FLOWDECK_FRESH_DATABASE(url, backend);
        TrayIcon* tray = makeTrayWindow();
        QVERIFY(tray);
        QVERIFY(!appsettings::keepInTrayIsSet());
        QVERIFY(openDatabase(url));
        QTRY_VERIFY_WITH_TIMEOUT(m_context->scheduleList().isLoaded(), WaitMs);
        QVERIFY(!tray->pauseSchedulesAction()->isEnabled()); // no schedules yet
        {
            // Closing without schedules quits, as it always did.
            QSignalSpy closed(m_window.get(), &MainWindow::closed);
            QVERIFY(m_window->close());
            QTRY_COMPARE(closed.size(), 1);
            m_window->show();
        }
        for (const QString& name : {QStringLiteral("a"), QStringLiteral("b")}) {
            schedules::ScheduleDraft d;
            d.name = name;
            d.flowName = QStringLiteral("quick");
            d.document = QJsonDocument::fromJson(kQuick).object();
            d.cron = QStringLiteral("0 3 * * *");
            QVERIFY(m_context->scheduleList().save({}, d));
        }
        QTRY_COMPARE_WITH_TIMEOUT(m_context->scheduleList().activeCount(), 2, WaitMs);
        QVERIFY(tray->pauseSchedulesAction()->isEnabled());
        QCOMPARE(tray->pauseSchedulesAction()->text(), QStringLiteral("&Pause All Schedules"));
        tray->pauseSchedulesAction()->trigger();
        QTRY_COMPARE_WITH_TIMEOUT(m_context->scheduleList().activeCount(), 0, WaitMs);
        QCOMPARE(tray->pauseSchedulesAction()->text(), QStringLiteral("&Resume All Schedules"));
        tray->pauseSchedulesAction()->trigger();
        QTRY_COMPARE_WITH_TIMEOUT(m_context->scheduleList().activeCount(), 2, WaitMs);

        // Schedules exist: closing leaves the app in the tray, so that they keep firing.
        QSignalSpy closed(m_window.get(), &MainWindow::closed);
        QVERIFY(!m_window->close());
        QVERIFY(!m_window->isVisible());
        QVERIFY(m_window->quit());
        QTRY_COMPARE(closed.size(), 1);
    }

    //! With a tray, Settings chooses what notifies and whether closing leaves the app in the tray.
    void settingsChooseWhatNotifies()
    {
        QVERIFY(makeTrayWindow());
        SettingsDialog* dialog = m_window->openSettings();
        QVERIFY(dialog->notifyCompletionsEditor()->isEnabled());
        QVERIFY(!dialog->notifyCompletionsEditor()->isChecked());
        QVERIFY(dialog->notifyFailuresEditor()->isChecked());
        QVERIFY(!dialog->keepInTrayEditor()->isChecked()); // no schedules: off by default
        dialog->notifyCompletionsEditor()->setChecked(true);
        dialog->notifyApprovalsEditor()->setChecked(false);
        QVERIFY(dialog->apply());
        QVERIFY(!appsettings::keepInTrayIsSet()); // left at its default, which follows the schedules
        QVERIFY(m_context->notifier().options().completions);
        QVERIFY(!m_context->notifier().options().approvals);
        QVERIFY(appsettings::notifyOptions().completions);
        dialog->keepInTrayEditor()->setChecked(true);
        QVERIFY(dialog->apply());
        QVERIFY(appsettings::keepInTrayIsSet());
        QVERIFY(appsettings::keepInTray(false));
        dialog->reject();
        QSignalSpy closed(m_window.get(), &MainWindow::closed);
        QVERIFY(!m_window->close()); // into the tray
        appsettings::open().remove(QStringLiteral("Notifications"));
    }

    //! Without a tray (offscreen): no icon, nothing told, closing quits even when keep-in-tray is
    //! set, and a failure still says so in the status bar as before.
    void withoutTrayNothingChanges()
    {
        QVERIFY(!QSystemTrayIcon::isSystemTrayAvailable());
        QVERIFY(!m_window->trayIcon());
        QVERIFY(!m_context->notifier().sink());
        appsettings::setKeepInTray(true);
        start(kFailing);
        QTRY_VERIFY_WITH_TIMEOUT(
            m_window->statusBar()->currentMessage().contains(QStringLiteral("disk on fire")), WaitMs);
        QVERIFY(m_window->findChildren<QSystemTrayIcon*>().isEmpty());
        QSignalSpy closed(m_window.get(), &MainWindow::closed);
        QVERIFY(m_window->close());
        QTRY_COMPARE(closed.size(), 1);
        appsettings::open().remove(QStringLiteral("Notifications"));
    }

private:
    FlowRun* start(const char* json)
    {
        return m_context->startFlow(QJsonDocument::fromJson(json).object(), QStringLiteral("test"), {},
                                    nullptr);
    }

    //! The window as on a desktop with a tray.
    TrayIcon* makeTrayWindow()
    {
        m_window.reset();
        MainWindow::Options options;
        options.persistWindowState = false;
        options.tray = MainWindow::Options::Tray::Always;
        m_window = std::make_unique<MainWindow>(m_context.get(), options);
        m_window->show();
        QApplication::setActiveWindow(m_window.get());
        if (!QTest::qWaitForWindowActive(m_window.get()))
            return nullptr;
        return m_window->trayIcon();
    }

    void answerQuitQuestion(QMessageBox::StandardButton answer)
    {
        m_asked = false;
        QTimer::singleShot(0, this, [this, answer] { pressWhenAsked(answer, 100); });
    }

    void pressWhenAsked(QMessageBox::StandardButton answer, int attempts)
    {
        auto* box = qobject_cast<QMessageBox*>(QApplication::activeModalWidget());
        if (!box) {
            if (attempts > 0)
                QTimer::singleShot(50, this,
                                   [this, answer, attempts] { pressWhenAsked(answer, attempts - 1); });
            return;
        }
        m_asked = true;
        box->button(answer)->click();
    }

    bool m_asked = false;
};

FLOWDECK_GUI_TEST_MAIN(TestNotifier, "tst_notifier")

#include "tst_notifier.moc"
