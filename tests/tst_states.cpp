// The one transition table (states.h) and the engine's use of it.
#include "flow/taskkind.h"
#include "run/engine.h"
#include "run/flowrun.h"
#include "run/states.h"
#include "testutil.h"

#include <QJsonObject>
#include <QSet>
#include <QTest>

#include <memory>

using namespace flowdeck;
using namespace flowdeck::test;

namespace {

constexpr StateType AllTypes[] = {
    StateType::Scheduled, StateType::Pending, StateType::Running, StateType::Completed,  StateType::Failed,
    StateType::Cancelled, StateType::Crashed, StateType::Paused,  StateType::Cancelling,
};

constexpr StateType TerminalTypes[]
    = {StateType::Completed, StateType::Failed, StateType::Cancelled, StateType::Crashed};

//! Cancels its own flow run from inside its first attempt, then waits for a long time.
class CancelOwnFlowKind final : public TaskKind {
public:
    QString name() const override { return QStringLiteral("test_cancel_own_flow"); }
    QString summary() const override { return QStringLiteral("cancels the flow run it belongs to"); }
    QList<FieldSpec> fields() const override { return {}; }
    QCoro::Task<TaskOutcome> run(TaskContext& ctx) const override
    {
        ctx.engine().cancelFlowRun(ctx.run().flowRun, QStringLiteral("cancelled by a task"));
        co_await ctx.sleep(30);
        co_return TaskOutcome::success();
    }
};

} // namespace

class TestStates : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void initTestCase();
    void init();
    void cleanup();

    void terminalStatesAllowNothing();
    void cancellingOnlyEndsCancelled();
    void duplicateTransitionsRefused();
    void onlyRetryToSlotWaitRenames();
    void engineTransitionsAllowed_data();
    void engineTransitionsAllowed();
    void runningToScheduledForRetry();
    void errorTextMatchesTable();
    void isTerminalExactlyFour();
    void typeOfNamedState_data();
    void typeOfNamedState();
    void defaultNameBelongsToType();
    void typeStringRoundTrip();
    void parseStateTypeRejectsUnknown();
    void nameStrings();

    void noTaskRunsAfterImmediateFlowCancel();
    void noTaskRunsAfterCancelFromInsideATask();
    void noTaskRunsAfterCancelMidway();

private:
    std::unique_ptr<Engine> m_engine;
    RecordingObserver m_rec;
};

void TestStates::initTestCase()
{
    TaskKindRegistry::instance().add(std::make_unique<CancelOwnFlowKind>());
}

void TestStates::init()
{
    m_rec.clear();
    m_engine = std::make_unique<Engine>();
    m_engine->addObserver(&m_rec);
}

void TestStates::cleanup()
{
    cancelAndDrain(*m_engine);
    m_engine.reset();
}

void TestStates::terminalStatesAllowNothing()
{
    for (StateType from : TerminalTypes) {
        QVERIFY(isTerminal(from));
        for (StateType to : AllTypes) {
            QVERIFY2(!isTransitionAllowed(from, to),
                     qPrintable(toString(from) + QStringLiteral(" -> ") + toString(to)));
        }
    }
}

void TestStates::cancellingOnlyEndsCancelled()
{
    for (StateType to : AllTypes) {
        QCOMPARE(isTransitionAllowed(StateType::Cancelling, to), to == StateType::Cancelled);
    }
    // Every live state may start cancelling.
    for (StateType from : {StateType::Scheduled, StateType::Pending, StateType::Running, StateType::Paused})
        QVERIFY(isTransitionAllowed(from, StateType::Cancelling));
}

void TestStates::duplicateTransitionsRefused()
{
    for (StateType t : AllTypes) {
        QVERIFY2(!isTransitionAllowed(t, t), qPrintable(toString(t)));
        QVERIFY(transitionError(t, t).contains(QStringLiteral("duplicate")));
    }
}

void TestStates::onlyRetryToSlotWaitRenames()
{
    // A retry whose delay is over may have to wait for a slot: it says so by name, within SCHEDULED.
    QVERIFY(isRenameAllowed(StateName::AwaitingRetry, StateName::AwaitingConcurrencySlot));
    QVERIFY(!isRenameAllowed(StateName::AwaitingConcurrencySlot, StateName::AwaitingRetry));
    QVERIFY(!isRenameAllowed(StateName::AwaitingConcurrencySlot, StateName::AwaitingConcurrencySlot));
    QVERIFY(!isRenameAllowed(StateName::Running, StateName::Retrying));
    QVERIFY(!isRenameAllowed(StateName::Scheduled, StateName::AwaitingRetry));
    // A cache hit completes a run that never ran; nothing else goes from Pending to Completed.
    QVERIFY(isNamedTransitionAllowed(StateName::Pending, StateName::Cached));
    QVERIFY(isNamedTransitionAllowed(StateName::AwaitingRetry, StateName::AwaitingConcurrencySlot));
    QVERIFY(!isNamedTransitionAllowed(StateName::Pending, StateName::Completed));
    QVERIFY(!isNamedTransitionAllowed(StateName::Running, StateName::Cached));
    QVERIFY(!isTransitionAllowed(StateType::Pending, StateType::Completed));
}

void TestStates::engineTransitionsAllowed_data()
{
    QTest::addColumn<StateType>("from");
    QTest::addColumn<StateType>("to");
    using S = StateType;
    // Flow runs.
    QTest::newRow("flow scheduled->pending") << S::Scheduled << S::Pending;
    QTest::newRow("flow pending->running") << S::Pending << S::Running;
    QTest::newRow("running->completed") << S::Running << S::Completed;
    QTest::newRow("running->failed") << S::Running << S::Failed;
    QTest::newRow("running->cancelling") << S::Running << S::Cancelling;
    QTest::newRow("running->cancelled") << S::Running << S::Cancelled;
    QTest::newRow("running->crashed") << S::Running << S::Crashed;
    // Task runs.
    QTest::newRow("pending->running") << S::Pending << S::Running;
    QTest::newRow("pending->cancelled (waiting upstream)") << S::Pending << S::Cancelled;
    QTest::newRow("pending->failed (UpstreamFailed)") << S::Pending << S::Failed;
    QTest::newRow("scheduled->running (Retrying)") << S::Scheduled << S::Running;
    QTest::newRow("scheduled->cancelled (awaiting retry)") << S::Scheduled << S::Cancelled;
    QTest::newRow("cancelling->cancelled") << S::Cancelling << S::Cancelled;
}

void TestStates::engineTransitionsAllowed()
{
    QFETCH(StateType, from);
    QFETCH(StateType, to);
    QVERIFY(isTransitionAllowed(from, to));
    QVERIFY(transitionError(from, to).isEmpty());
}

void TestStates::runningToScheduledForRetry()
{
    QCOMPARE(toString(typeOf(StateName::AwaitingRetry)), toString(StateType::Scheduled));
    QCOMPARE(toString(typeOf(StateName::Retrying)), toString(StateType::Running));
    QVERIFY(isTransitionAllowed(typeOf(StateName::Running), typeOf(StateName::AwaitingRetry)));
    QVERIFY(isTransitionAllowed(typeOf(StateName::AwaitingRetry), typeOf(StateName::Retrying)));
    // Nothing goes back to PENDING from RUNNING, and nothing completes without running.
    QVERIFY(!isTransitionAllowed(StateType::Running, StateType::Pending));
    QVERIFY(!isTransitionAllowed(StateType::Pending, StateType::Completed));
    QVERIFY(!isTransitionAllowed(StateType::Scheduled, StateType::Completed));
}

void TestStates::errorTextMatchesTable()
{
    for (StateType from : AllTypes) {
        for (StateType to : AllTypes) {
            const QString error = transitionError(from, to);
            const QString pair = toString(from) + QStringLiteral(" -> ") + toString(to);
            QCOMPARE(error.isEmpty(), isTransitionAllowed(from, to));
            if (error.isEmpty())
                continue;
            QVERIFY2(error.contains(toString(to)), qPrintable(pair + QStringLiteral(": ") + error));
            if (isTerminal(from) && from != to)
                QVERIFY2(error.contains(QStringLiteral("terminal")), qPrintable(error));
            if (from == StateType::Cancelling && from != to)
                QVERIFY2(error.contains(QStringLiteral("CANCELLED")), qPrintable(error));
        }
    }
}

void TestStates::isTerminalExactlyFour()
{
    int terminal = 0;
    for (StateType t : AllTypes)
        terminal += isTerminal(t) ? 1 : 0;
    QCOMPARE(terminal, 4);
    for (StateType t : TerminalTypes)
        QVERIFY(isTerminal(t));
    QVERIFY(!isTerminal(StateType::Cancelling));
    QVERIFY(!isTerminal(StateType::Paused));
}

void TestStates::typeOfNamedState_data()
{
    QTest::addColumn<StateName>("name");
    QTest::addColumn<StateType>("type");
    QTest::addColumn<QString>("text");
    using N = StateName;
    using S = StateType;
    QTest::newRow("Scheduled") << N::Scheduled << S::Scheduled << QStringLiteral("Scheduled");
    QTest::newRow("Late") << N::Late << S::Scheduled << QStringLiteral("Late");
    QTest::newRow("AwaitingRetry") << N::AwaitingRetry << S::Scheduled << QStringLiteral("AwaitingRetry");
    QTest::newRow("AwaitingConcurrencySlot")
        << N::AwaitingConcurrencySlot << S::Scheduled << QStringLiteral("AwaitingConcurrencySlot");
    QTest::newRow("Pending") << N::Pending << S::Pending << QStringLiteral("Pending");
    QTest::newRow("Running") << N::Running << S::Running << QStringLiteral("Running");
    QTest::newRow("Retrying") << N::Retrying << S::Running << QStringLiteral("Retrying");
    QTest::newRow("Paused") << N::Paused << S::Paused << QStringLiteral("Paused");
    QTest::newRow("Suspended") << N::Suspended << S::Paused << QStringLiteral("Suspended");
    QTest::newRow("Cancelling") << N::Cancelling << S::Cancelling << QStringLiteral("Cancelling");
    QTest::newRow("Cancelled") << N::Cancelled << S::Cancelled << QStringLiteral("Cancelled");
    QTest::newRow("Completed") << N::Completed << S::Completed << QStringLiteral("Completed");
    QTest::newRow("Cached") << N::Cached << S::Completed << QStringLiteral("Cached");
    QTest::newRow("Failed") << N::Failed << S::Failed << QStringLiteral("Failed");
    QTest::newRow("TimedOut") << N::TimedOut << S::Failed << QStringLiteral("TimedOut");
    QTest::newRow("UpstreamFailed") << N::UpstreamFailed << S::Failed << QStringLiteral("UpstreamFailed");
    QTest::newRow("Crashed") << N::Crashed << S::Crashed << QStringLiteral("Crashed");
}

void TestStates::typeOfNamedState()
{
    QFETCH(StateName, name);
    QFETCH(StateType, type);
    QFETCH(QString, text);
    QCOMPARE(toString(typeOf(name)), toString(type));
    QCOMPARE(toString(name), text);
}

void TestStates::defaultNameBelongsToType()
{
    for (StateType t : AllTypes)
        QCOMPARE(toString(typeOf(defaultName(t))), toString(t));
    QCOMPARE(toString(defaultName(StateType::Running)), toString(StateName::Running));
    QCOMPARE(toString(defaultName(StateType::Failed)), toString(StateName::Failed));
    QCOMPARE(toString(defaultName(StateType::Scheduled)), toString(StateName::Scheduled));
}

void TestStates::typeStringRoundTrip()
{
    QSet<QString> seen;
    for (StateType t : AllTypes) {
        const QString text = toString(t);
        QCOMPARE(text, text.toUpper());
        QVERIFY(!seen.contains(text));
        seen.insert(text);
        StateType parsed = t == StateType::Running ? StateType::Pending : StateType::Running;
        QVERIFY2(parseStateType(text, &parsed), qPrintable(text));
        QCOMPARE(toString(parsed), toString(t));
        parsed = t == StateType::Running ? StateType::Pending : StateType::Running;
        QVERIFY(parseStateType(text.toLower(), &parsed));
        QCOMPARE(toString(parsed), toString(t));
    }
    QCOMPARE(toString(StateType::Cancelling), QStringLiteral("CANCELLING"));
    QCOMPARE(toString(StateType::Running), QStringLiteral("RUNNING"));
}

void TestStates::parseStateTypeRejectsUnknown()
{
    StateType out = StateType::Paused;
    QVERIFY(!parseStateType(QString(), &out));
    QVERIFY(!parseStateType(QStringLiteral("RUNNINGX"), &out));
    QVERIFY(!parseStateType(QStringLiteral("AwaitingRetry"), &out)); // a name, not a type
    QCOMPARE(toString(out), toString(StateType::Paused));
}

void TestStates::nameStrings()
{
    QSet<QString> seen;
    for (int i = 0; i < StateNameCount; ++i) {
        const QString text = toString(static_cast<StateName>(i));
        QVERIFY(!text.isEmpty());
        QVERIFY2(!seen.contains(text), qPrintable(text));
        seen.insert(text);
    }
}

// Runs made ready (and runs not even created yet: 3000 runs are materialized in batches) must not
// start once the flow run is cancelled.
void TestStates::noTaskRunsAfterImmediateFlowCancel()
{
    TaskDef many = makeTask(QStringLiteral("many"), QStringLiteral("noop"));
    many.map = 3000;
    FlowDefinition def = makeFlow(
        QStringLiteral("cancel-now"),
        {many, makeTask(QStringLiteral("after"), QStringLiteral("noop"), {}, {QStringLiteral("many")})});
    FlowRun* flow = m_engine->start(def);
    QVERIFY2(flow->materializing, "3000 runs should be created in batches from the loop");
    QVERIFY(m_engine->cancelFlowRun(flow));
    QVERIFY(waitForFlow(*m_engine, flow));

    QCOMPARE(toString(flow->type), toString(StateType::Cancelled));
    QCOMPARE(m_rec.count(QString(), AnyIndex, StateType::Running), 0);
    QCOMPARE(flow->count(StateType::Cancelled), 3001);
    QCOMPARE(flow->finishedTaskRuns, 3001);
    QList<StateName> flowNames;
    for (const StateStamp& s : flow->history)
        flowNames << s.name;
    const QList<StateName> expected = {StateName::Scheduled, StateName::Pending, StateName::Running,
                                       StateName::Cancelling, StateName::Cancelled};
    QCOMPARE(describe(flowNames), describe(expected));
    QVERIFY(!m_engine->cancelFlowRun(flow)); // already finished
}

// The first run cancels the flow while its siblings sit in the ready queue: none of them starts.
void TestStates::noTaskRunsAfterCancelFromInsideATask()
{
    TaskDef t = makeTask(QStringLiteral("t"), QStringLiteral("test_cancel_own_flow"));
    t.map = 10;
    FlowRun* flow = m_engine->start(makeFlow(QStringLiteral("self-cancel"), {t}));
    QVERIFY(waitForFlow(*m_engine, flow));
    QCOMPARE(toString(flow->type), toString(StateType::Cancelled));
    QCOMPARE(m_rec.count(QStringLiteral("t"), AnyIndex, StateType::Running), 1);
    const int cancelling = m_rec.firstOfFlow(StateType::Cancelling, flow);
    QVERIFY(cancelling >= 0);
    for (size_t i = size_t(cancelling); i < m_rec.transitions.size(); ++i)
        QVERIFY(m_rec.transitions[i].type != StateType::Running);
    QCOMPARE(flow->count(StateType::Cancelled), 10);
}

void TestStates::noTaskRunsAfterCancelMidway()
{
    TaskDef quick
        = makeTask(QStringLiteral("quick"), QStringLiteral("sleep"), {{QStringLiteral("seconds"), 0.02}});
    quick.map = 5;
    TaskDef next = makeTask(QStringLiteral("next"), QStringLiteral("noop"), {}, {QStringLiteral("slow")});
    next.map = 5;
    FlowRun* flow = m_engine->start(makeFlow(
        QStringLiteral("cancel-midway"),
        {quick, makeTask(QStringLiteral("slow"), QStringLiteral("sleep"), {{QStringLiteral("seconds"), 30}}),
         next}));
    QTRY_COMPARE_WITH_TIMEOUT(flow->count(StateType::Completed), qint64(5), 5000);
    QVERIFY(m_engine->cancelFlowRun(flow, QStringLiteral("enough")));
    QVERIFY(waitForFlow(*m_engine, flow, 5000));
    QCOMPARE(toString(flow->type), toString(StateType::Cancelled));
    const int cancelling = m_rec.firstOfFlow(StateType::Cancelling, flow);
    QVERIFY(cancelling >= 0);
    for (size_t i = size_t(cancelling); i < m_rec.transitions.size(); ++i)
        QVERIFY(m_rec.transitions[i].type != StateType::Running);
    QCOMPARE(m_rec.count(QStringLiteral("next"), AnyIndex, StateType::Running), 0);
    QCOMPARE(flow->count(StateType::Completed), 5);
    QCOMPARE(flow->count(StateType::Cancelled), 6);
}

QTEST_GUILESS_MAIN(TestStates)
#include "tst_states.moc"
