// The in-app help is generated from the kinds' registry and the states; badges say what a state means.
#include "flow/taskkind.h"
#include "help/helpdialog.h"
#include "models/taskrunmodel.h"
#include "pages/runpage.h"
#include "style/statestyle.h"
#include "uitestutil.h"

#include <QAction>
#include <QJsonDocument>
#include <QTest>
#include <QTextBrowser>

using namespace flowdeck;
using namespace flowdeck::uitest;

class TestHelp : public QObject, public Dashboard {
    Q_OBJECT

private Q_SLOTS:
    void initTestCase() { writeFlows(); }
    void init() { makeWindow(); }
    void cleanup() { tearDown(); }

    void helpListsEveryKindFieldAndState();
    void stateBadgeToolTipsSayWhatTheStateMeans();
};

void TestHelp::helpListsEveryKindFieldAndState()
{
    m_window->helpAction()->trigger();
    auto* help = openDialog<HelpDialog>(m_window.get());
    QVERIFY(help);
    const QString text = help->plainText();
    const TaskKindRegistry& registry = TaskKindRegistry::instance();
    QVERIFY(registry.names().size() >= 7);
    for (const QString& name : registry.names()) {
        const TaskKind* kind = registry.find(name);
        QVERIFY2(text.contains(name), qPrintable(name));
        QVERIFY2(text.contains(kind->summary()), qPrintable(kind->summary()));
        for (const FieldSpec& field : kind->fields()) {
            QVERIFY2(text.contains(field.name), qPrintable(name + QLatin1Char('.') + field.name));
            QVERIFY2(text.contains(field.help), qPrintable(field.help));
        }
    }
    for (int i = 0; i < StateNameCount; ++i) {
        const auto state = StateName(i);
        QVERIFY2(text.contains(toString(state)), qPrintable(toString(state)));
        QVERIFY(!stateDescription(state).isEmpty());
        QVERIFY2(text.contains(stateDescription(state)), qPrintable(stateDescription(state)));
    }
    // The timeline's colours: one swatch per state type, in the state's colour.
    const QString html = help->browser()->toHtml();
    for (int t = 0; t < StateTypeCount; ++t)
        QVERIFY2(html.contains(stateColor(StateType(t)).name(), Qt::CaseInsensitive),
                 qPrintable(stateLabel(StateType(t))));
    // And the shortcuts the menus list.
    QVERIFY(text.contains(m_window->cancelFlowRunAction()->shortcut().toString(QKeySequence::NativeText)));
    QVERIFY(text.contains(QKeySequence(QKeySequence::HelpContents).toString(QKeySequence::NativeText)));
    help->close();
}

void TestHelp::stateBadgeToolTipsSayWhatTheStateMeans()
{
    FlowRun* run = m_context->startFlow(QJsonDocument::fromJson(R"({"name": "chain", "tasks": [
        {"id": "boom", "kind": "fail", "message": "no"},
        {"id": "after", "kind": "noop", "depends_on": ["boom"]}]})")
                                            .object(),
                                        QStringLiteral("test"), {}, nullptr);
    QVERIFY(run);
    QTRY_VERIFY(run->isTerminal());
    m_context->flush();
    m_window->showRun(run);
    TaskRunModel* model = m_window->runPage()->taskModel();
    QTRY_COMPARE(model->rowCount(), 2);
    bool upstream = false;
    for (int row = 0; row < model->rowCount(); ++row) {
        const QModelIndex state = model->index(row, TaskRunModel::StateColumn);
        if (state.data().toString() != toString(StateName::UpstreamFailed))
            continue;
        upstream = true;
        const QString tip = state.data(Qt::ToolTipRole).toString();
        QVERIFY2(tip.contains(stateDescription(StateName::UpstreamFailed)), qPrintable(tip));
    }
    QVERIFY(upstream);
}

FLOWDECK_GUI_TEST_MAIN(TestHelp, "tst_help")

#include "tst_help.moc"
