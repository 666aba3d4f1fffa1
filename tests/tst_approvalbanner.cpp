// Approving and rejecting from the window: the Run page's banner for each task run waiting for
// approval (mouse and keyboard), the flag on the Runs list, and a run of another process decided
// through the store.
#include "context/approvals.h"
#include "models/flowrunmodel.h"
#include "models/modelroles.h"
#include "pages/runpage.h"
#include "pages/runspage.h"
#include "run/engine.h"
#include "run/flowrun.h"
#include "session/session.h"
#include "style/statestyle.h"
#include "testutil.h"
#include "uitestutil.h"
#include "widgets/approvalbanner.h"

#include <QJsonDocument>
#include <QLabel>
#include <QLineEdit>
#include <QPushButton>
#include <QTest>
#include <QTreeView>

using namespace flowdeck;
using namespace flowdeck::uitest;
using namespace flowdeck::test;

namespace {

constexpr int WaitMs = 15000;

const char kDeploy[] = R"({"name": "deploy", "parameters": {"version": "1.2"}, "tasks": [
    {"id": "build", "kind": "noop"},
    {"id": "ok", "kind": "approval", "prompt": "Deploy {{version}}?", "depends_on": ["build"]},
    {"id": "ship", "kind": "noop", "depends_on": ["ok"]}]})";

} // namespace

class TestApprovalBanner : public QObject, public Dashboard {
    Q_OBJECT

private Q_SLOTS:
    void initTestCase() { writeFlows(); }
    void init() { makeWindow(); }
    void cleanup() { tearDown(); }

    //! The journey: a run waits for approval; the Runs list flags it; its page shows the prompt;
    //! Approve (a click) lets it complete, and the banner and the flag go.
    void approveAPausedRun()
    {
        FlowRun* run = startDeploy();
        QVERIFY(run);
        m_window->showPage(MainWindow::Page::Runs);
        FlowRunModel* runs = m_window->runsPage()->model();
        QTRY_VERIFY_WITH_TIMEOUT(runs->rowCount() == 1
                                     && runs->index(0, FlowRunModel::StateColumn).data().toString()
                                         == QStringLiteral("Approval"),
                                 WaitMs);
        const QModelIndex state = runs->index(0, FlowRunModel::StateColumn);
        QCOMPARE(state.data(BadgeColorRole).value<QColor>(), stateColor(StateType::Paused));
        QCOMPARE(state.data(SortRole).toInt(), int(StateType::Running)); // sorted and filtered as running
        const QString tip = state.data(Qt::ToolTipRole).toString();
        QVERIFY2(tip.contains(QStringLiteral("Running, waiting for approval of 1 task run"))
                     && tip.contains(QStringLiteral("ok: Deploy 1.2?")),
                 qPrintable(tip));

        // Enter on the selected row opens the run.
        QTreeView* view = m_window->runsPage()->view();
        clickRow(view, 0);
        view->setFocus();
        QTest::keyClick(view, Qt::Key_Return);
        QTRY_COMPARE(m_window->runPage()->flowRun(), run);
        ApprovalBanner* banner = bannerOf();
        QTRY_VERIFY(banner->isVisible());
        QCOMPARE(banner->shownTaskRunIds(), QStringList{taskRun(run, QStringLiteral("ok"))->id.toString()});
        QVERIFY2(promptText(banner).contains(QStringLiteral("Deploy 1.2?")), qPrintable(promptText(banner)));

        QPushButton* approve = banner->findChild<QPushButton*>(QStringLiteral("approveButton"));
        QVERIFY(approve && approve->isVisible() && approve->isEnabled());
        QTest::mouseClick(approve, Qt::LeftButton);
        QTRY_VERIFY_WITH_TIMEOUT(run->isTerminal(), WaitMs);
        QCOMPARE(toString(run->type), toString(StateType::Completed));
        QVERIFY2(taskRun(run, QStringLiteral("ok"))->message.contains(QStringLiteral("(dashboard)")),
                 qPrintable(taskRun(run, QStringLiteral("ok"))->message));
        QTRY_VERIFY(!banner->isVisible());
        QTRY_COMPARE(runs->index(0, FlowRunModel::StateColumn).data().toString(),
                     QStringLiteral("Completed"));
        QCOMPARE(runs->index(0, FlowRunModel::StateColumn).data(BadgeColorRole).value<QColor>(),
                 stateColor(StateType::Completed));
    }

    //! By keyboard: Reject…, Escape goes back without deciding; Reject…, a reason, Enter rejects.
    void rejectByKeyboardWithAReason()
    {
        FlowRun* run = startDeploy();
        QVERIFY(run);
        m_window->showRun(run);
        ApprovalBanner* banner = bannerOf();
        QTRY_VERIFY_WITH_TIMEOUT(banner->isVisible(), WaitMs);
        QPushButton* reject = banner->findChild<QPushButton*>(QStringLiteral("rejectButton"));
        QLineEdit* reason = banner->findChild<QLineEdit*>(QStringLiteral("rejectReason"));
        QVERIFY(reject && reason);
        QVERIFY(!reason->isVisible());

        reject->setFocus();
        QTest::keyClick(reject, Qt::Key_Space);
        QTRY_VERIFY(reason->isVisible() && reason->hasFocus());
        QTest::keyClicks(reason, QStringLiteral("typo"));
        QTest::keyClick(reason, Qt::Key_Escape);
        QTRY_VERIFY(!reason->isVisible());
        QVERIFY(awaitsApproval(run)); // going back decided nothing

        QTest::keyClick(reject, Qt::Key_Space);
        QTRY_VERIFY(reason->isVisible() && reason->hasFocus());
        QCOMPARE(reason->text(), QString());
        QTest::keyClicks(reason, QStringLiteral("too risky today"));
        QTest::keyClick(reason, Qt::Key_Return);
        QTRY_VERIFY_WITH_TIMEOUT(run->isTerminal(), WaitMs);
        QCOMPARE(toString(run->type), toString(StateType::Failed));
        TaskRun* ok = taskRun(run, QStringLiteral("ok"));
        QVERIFY2(ok->message.startsWith(QStringLiteral("rejected by "))
                     && ok->message.endsWith(QStringLiteral(": too risky today")),
                 qPrintable(ok->message));
        QCOMPARE(toString(taskRun(run, QStringLiteral("ship"))->name), toString(StateName::UpstreamFailed));
        QTRY_VERIFY(!banner->isVisible());
    }

    //! A run of another process (an engine of its own on the same store): flagged on the Runs list
    //! from the store, and approved from its page through the store.
    void approveARunOfAnotherProcess_data() { addBackendRows(); }
    void approveARunOfAnotherProcess()
    {
        QFETCH(QString, backend);
        FLOWDECK_FRESH_DATABASE(url, backend);
        QVERIFY(openDatabase(url));
        Engine other;
        Session session(other.scheduler());
        auto opening = session.open(url, {.engine = &other, .registerEngine = true, .pool = {}});
        finish(opening);
        QVERIFY(session.isOpen());
        const auto flow = parseFlow(kDeploy);
        QVERIFY(flow);
        FlowRun* remote = other.start(*flow);
        const QString id = remote->id.toString();
        QTRY_VERIFY_WITH_TIMEOUT(awaitsApproval(remote), WaitMs);

        m_window->showPage(MainWindow::Page::Runs);
        FlowRunModel* runs = m_window->runsPage()->model();
        FlowRun* shown = nullptr;
        QTRY_VERIFY_WITH_TIMEOUT(
            (shown = storedRun(runs, id)) != nullptr
                && runs->index(runs->indexOf(shown).row(), FlowRunModel::StateColumn).data().toString()
                    == QStringLiteral("Approval"),
            WaitMs);
        QVERIFY(shown != remote);
        m_window->showRun(shown);
        ApprovalBanner* banner = bannerOf();
        QTRY_VERIFY_WITH_TIMEOUT(banner->isVisible(), WaitMs);
        QVERIFY2(promptText(banner).contains(QStringLiteral("Deploy 1.2?")), qPrintable(promptText(banner)));
        QTest::mouseClick(banner->findChild<QPushButton*>(QStringLiteral("approveButton")), Qt::LeftButton);
        // Written to the store; the other engine's poll applies it.
        QTRY_VERIFY_WITH_TIMEOUT(remote->isTerminal(), WaitMs);
        QCOMPARE(toString(remote->type), toString(StateType::Completed));
        QVERIFY2(taskRun(remote, QStringLiteral("ok"))->message.contains(QStringLiteral("(dashboard)")),
                 qPrintable(taskRun(remote, QStringLiteral("ok"))->message));
        QTRY_VERIFY_WITH_TIMEOUT(!banner->isVisible(), WaitMs);
        auto closing = session.close();
        finish(closing);
    }

private:
    FlowRun* startDeploy()
    {
        return m_context->startFlow(QJsonDocument::fromJson(kDeploy).object(), QStringLiteral("test"), {},
                                    nullptr);
    }
    ApprovalBanner* bannerOf() const { return m_window->runPage()->findChild<ApprovalBanner*>(); }
    static QString promptText(ApprovalBanner* banner)
    {
        auto* label = banner->findChild<QLabel*>(QStringLiteral("approvalPrompt"));
        return label ? label->text() : QString();
    }
    static bool awaitsApproval(FlowRun* flow)
    {
        TaskRun* run = taskRun(flow, QStringLiteral("ok"));
        return run && run->name == StateName::AwaitingApproval;
    }
    static FlowRun* storedRun(FlowRunModel* runs, const QString& id)
    {
        for (int row = 0; row < runs->rowCount(); ++row) {
            if (runs->flowRunAt(row)->id.toString() == id)
                return runs->flowRunAt(row);
        }
        return nullptr;
    }
};

FLOWDECK_GUI_TEST_MAIN(TestApprovalBanner, "tst_approvalbanner")
#include "tst_approvalbanner.moc"
