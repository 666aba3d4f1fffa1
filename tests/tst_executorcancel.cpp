// The executor's timeouts and cancellation: a flow run's or one task run's, of every kind of body
// (sleep, blocking, shell, http, awaiting a retry), and that nothing starts once a flow run is cancelled.
#include "executorutil.h"
#include "flow/taskkind.h"
#include "run/clock.h"
#include "run/engine.h"
#include "run/engineobserver.h"
#include "run/flowrun.h"
#include "testutil.h"

#include <QElapsedTimer>
#include <QJsonArray>
#include <QJsonObject>
#include <QTest>
#include <QTimer>

#include <atomic>
#include <chrono>
#include <memory>
#include <set>
#include <thread>

using namespace flowdeck;
using namespace flowdeck::test;

namespace {

//! When its blocking body ran last returned (wall clock, microseconds).
std::atomic<qint64> g_probeReturnedUs{0};

//! A blocking body that, once cancelled, takes another 150 ms to return (a slow clean-up).
class SlowToStopKind final : public TaskKind {
public:
    static constexpr int CleanupMs = 150;
    QString name() const override { return QStringLiteral("test_slow_to_stop"); }
    QString summary() const override { return QStringLiteral("blocking body that stops slowly"); }
    QList<FieldSpec> fields() const override { return {}; }
    QCoro::Task<TaskOutcome> run(TaskContext& ctx) const override
    {
        co_await ctx.runBlocking([](const CancelToken& token) {
            const auto end = std::chrono::steady_clock::now() + std::chrono::seconds(30);
            while (!token.isCancelled() && std::chrono::steady_clock::now() < end)
                std::this_thread::sleep_for(std::chrono::milliseconds(10));
            std::this_thread::sleep_for(std::chrono::milliseconds(CleanupMs));
            g_probeReturnedUs.store(wallUs());
        });
        co_return TaskOutcome::success();
    }
};

} // namespace

class TestExecutorCancel : public QObject, public ExecutorFixture {
    Q_OBJECT

private Q_SLOTS:
    void initTestCase();
    void init() { setUpEngine(); }
    void cleanup() { tearDownEngine(); }

    void timeoutOfSleep();
    void timeoutOfBlocking();
    void timeoutIsPerAttempt();

    void cancelSleepingRun();
    void cancelEndsWaitingRunsAtOnce();
    void cancelBlockingRun();
    void cancelBlockingWaitsForTheBody();
    void cancelShellSendsTerm();
    void cancelShellKillsAfterGrace();
    void cancelHttpRequest();
    void cancelOneTaskRun();
    void cancelAwaitingRetry();
    void nothingStartsAfterFlowCancel();
    void cancelOfALargeRunEndsItInSlices();
    void upstreamFailureEndsALargeTaskInSlices();
    void approvalStartsALargeTaskInSlices();

private:
    static constexpr int Runs = 300000;
    //! Starts {gate: an approval; waiting: Runs no-ops after it}; null unless all of them were created
    //! and the gate waits within a minute.
    FlowRun* startBehindAGate(const QString& name);
};

FlowRun* TestExecutorCancel::startBehindAGate(const QString& name)
{
    TaskDef gate = makeTask(QStringLiteral("gate"), QStringLiteral("approval"),
                            QJsonObject{{QStringLiteral("prompt"), QStringLiteral("go?")}});
    TaskDef waiting
        = makeTask(QStringLiteral("waiting"), QStringLiteral("noop"), {}, {QStringLiteral("gate")});
    waiting.map = Runs;
    m_engine->setTrimAfterLargeRuns(false);
    FlowRun* flow = m_engine->start(makeFlow(name, {gate, waiting}));
    const bool waits = waitUntil(
        [&] { return flow->materializedTaskRuns == Runs + 1 && m_engine->awaitingApprovals().size() == 1; },
        60000);
    return waits ? flow : nullptr;
}

void TestExecutorCancel::initTestCase()
{
    addExecutorTestKinds();
    TaskKindRegistry::instance().add(std::make_unique<SlowToStopKind>());
}

void TestExecutorCancel::timeoutOfSleep()
{
    TaskDef t = makeTask(QStringLiteral("t"), QStringLiteral("sleep"), seconds(10));
    t.timeoutSeconds = 0.2;
    QElapsedTimer clock;
    clock.start();
    FlowRun* flow = runToEnd(makeFlow(QStringLiteral("timeout-sleep"), {t}));
    QVERIFY(flow->isTerminal());
    QVERIFY2(clock.elapsed() < 3000, qPrintable(QString::number(clock.elapsed())));
    TaskRun* run = taskRun(flow, QStringLiteral("t"));
    QCOMPARE(toString(run->type), toString(StateType::Failed));
    QCOMPARE(toString(run->name), toString(StateName::TimedOut));
    QVERIFY(run->message.contains(QStringLiteral("timed out")));
    const qint64 ranUs = run->endedUs - run->startedUs;
    qInfo("sleep 10 with timeout_s 0.2 ended after %.1f ms", ranUs / 1000.0);
    QVERIFY(ranUs >= 190'000);
    QCOMPARE(toString(flow->type), toString(StateType::Failed));
    verifyFlowConsistent(flow, m_rec);
}

void TestExecutorCancel::timeoutOfBlocking()
{
    TaskDef t = makeTask(QStringLiteral("t"), QStringLiteral("blocking"), seconds(10));
    t.timeoutSeconds = 0.2;
    QElapsedTimer clock;
    clock.start();
    FlowRun* flow = runToEnd(makeFlow(QStringLiteral("timeout-blocking"), {t}));
    QVERIFY(flow->isTerminal());
    QVERIFY2(clock.elapsed() < 3000, qPrintable(QString::number(clock.elapsed())));
    TaskRun* run = taskRun(flow, QStringLiteral("t"));
    QCOMPARE(toString(run->name), toString(StateName::TimedOut));
    qInfo("blocking 10 with timeout_s 0.2 ended after %.1f ms", (run->endedUs - run->startedUs) / 1000.0);
    QTRY_COMPARE_WITH_TIMEOUT(m_engine->blockingPool().stats().busy, 0, 2000);
    verifyFlowConsistent(flow, m_rec);
}

void TestExecutorCancel::timeoutIsPerAttempt()
{
    TaskDef t = makeTask(QStringLiteral("t"), QStringLiteral("sleep"), seconds(10));
    t.timeoutSeconds = 0.1;
    t.retries = 1;
    FlowRun* flow = runToEnd(makeFlow(QStringLiteral("timeout-retry"), {t}), 5000);
    QVERIFY(flow->isTerminal());
    TaskRun* run = taskRun(flow, QStringLiteral("t"));
    QCOMPARE(int(run->attempts), 2);
    using N = StateName;
    QCOMPARE(describe(m_rec.names(QStringLiteral("t"))),
             describe({N::Pending, N::Running, N::AwaitingRetry, N::Retrying, N::TimedOut}));
    verifyFlowConsistent(flow, m_rec);
}

void TestExecutorCancel::cancelSleepingRun()
{
    FlowRun* flow
        = m_engine->start(makeFlow(QStringLiteral("cancel-sleep"),
                                   {makeTask(QStringLiteral("t"), QStringLiteral("sleep"), seconds(30))}));
    QTRY_VERIFY_WITH_TIMEOUT(m_rec.first(QStringLiteral("t"), -1, StateType::Running) >= 0, 5000);
    const qint64 t0 = wallUs();
    QVERIFY(m_engine->cancelFlowRun(flow));
    QVERIFY(waitForFlow(*m_engine, flow, 5000));
    const qint64 us = usUntil(t0, QStringLiteral("t"), -1, StateType::Cancelled);
    qInfo("sleep: cancelled after %.2f ms (spec: 100 ms)", us / 1000.0);
    QVERIFY(us >= 0 && us < 1'000'000);
    QCOMPARE(toString(taskRun(flow, QStringLiteral("t"))->name), toString(StateName::Cancelled));
    QCOMPARE(toString(flow->type), toString(StateType::Cancelled));
    verifyFlowConsistent(flow, m_rec);
}

void TestExecutorCancel::cancelEndsWaitingRunsAtOnce()
{
    TaskDef waiting = makeTask(QStringLiteral("waiting"), QStringLiteral("noop"), {}, {QStringLiteral("t")});
    waiting.map = 3;
    FlowRun* flow = m_engine->start(
        makeFlow(QStringLiteral("cancel-waiting"),
                 {makeTask(QStringLiteral("t"), QStringLiteral("sleep"), seconds(30)), waiting}));
    QTRY_VERIFY_WITH_TIMEOUT(m_rec.first(QStringLiteral("t"), -1, StateType::Running) >= 0, 5000);
    QVERIFY(m_engine->cancelFlowRun(flow));
    // Without running the loop: the waiting runs are already over.
    for (int i = 0; i < 3; ++i) {
        TaskRun* run = taskRun(flow, QStringLiteral("waiting"), i);
        QCOMPARE(toString(run->name), toString(StateName::Cancelled));
    }
    QVERIFY(waitForFlow(*m_engine, flow, 5000));
    QCOMPARE(m_rec.count(QStringLiteral("waiting"), AnyIndex, StateType::Running), 0);
    QCOMPARE(toString(flow->type), toString(StateType::Cancelled));
    verifyFlowConsistent(flow, m_rec);
}

void TestExecutorCancel::cancelBlockingRun()
{
    FlowRun* flow
        = m_engine->start(makeFlow(QStringLiteral("cancel-blocking"),
                                   {makeTask(QStringLiteral("t"), QStringLiteral("blocking"), seconds(30))}));
    QTRY_COMPARE_WITH_TIMEOUT(m_engine->blockingPool().stats().busy, 1, 5000);
    const qint64 t0 = wallUs();
    QVERIFY(m_engine->cancelFlowRun(flow));
    QCOMPARE(toString(taskRun(flow, QStringLiteral("t"))->type), toString(StateType::Cancelling));
    QVERIFY(waitForFlow(*m_engine, flow, 5000));
    const qint64 us = usUntil(t0, QStringLiteral("t"), -1, StateType::Cancelled);
    qInfo("blocking: cancelled after %.2f ms", us / 1000.0);
    QVERIFY(us >= 0 && us < 1'000'000);
    using N = StateName;
    QCOMPARE(describe(m_rec.names(QStringLiteral("t"))),
             describe({N::Pending, N::Running, N::Cancelling, N::Cancelled}));
    verifyFlowConsistent(flow, m_rec);
}

// The run stays CANCELLING until its blocking body has returned, however long that takes.
void TestExecutorCancel::cancelBlockingWaitsForTheBody()
{
    g_probeReturnedUs.store(0);
    FlowRun* flow
        = m_engine->start(makeFlow(QStringLiteral("cancel-slow-body"),
                                   {makeTask(QStringLiteral("t"), QStringLiteral("test_slow_to_stop"))}));
    QTRY_COMPARE_WITH_TIMEOUT(m_engine->blockingPool().stats().busy, 1, 5000);
    QVERIFY(m_engine->cancelFlowRun(flow));
    QVERIFY(waitForFlow(*m_engine, flow, 5000));
    const int cancelling = m_rec.first(QStringLiteral("t"), -1, StateType::Cancelling);
    const int cancelled = m_rec.first(QStringLiteral("t"), -1, StateType::Cancelled);
    QVERIFY(cancelling >= 0 && cancelled > cancelling);
    const qint64 returned = g_probeReturnedUs.load();
    QVERIFY(returned > 0);
    QVERIFY(m_rec.at(cancelled).timeUs >= returned);
    QVERIFY(m_rec.at(cancelled).timeUs - m_rec.at(cancelling).timeUs
            >= (SlowToStopKind::CleanupMs - 10) * 1000);
    verifyFlowConsistent(flow, m_rec);
}

void TestExecutorCancel::cancelShellSendsTerm()
{
    FlowRun* flow = m_engine->start(makeFlow(
        QStringLiteral("cancel-shell"),
        {makeTask(
            QStringLiteral("t"), QStringLiteral("shell"),
            {{QStringLiteral("command"), QJsonArray{QStringLiteral("sleep"), QStringLiteral("30")}}})}));
    QTRY_VERIFY_WITH_TIMEOUT(m_rec.first(QStringLiteral("t"), -1, StateType::Running) >= 0, 5000);
    const qint64 t0 = wallUs();
    QVERIFY(m_engine->cancelFlowRun(flow));
    QVERIFY(waitForFlow(*m_engine, flow, 5000));
    const qint64 us = usUntil(t0, QStringLiteral("t"), -1, StateType::Cancelled);
    qInfo("shell sleep 30: cancelled after %.2f ms", us / 1000.0);
    QVERIFY(us >= 0 && us < 2'000'000);
    QVERIFY(m_rec.logLines(QStringLiteral("t")).join(u'\n').contains(QStringLiteral("SIGTERM")));
    QCOMPARE(toString(taskRun(flow, QStringLiteral("t"))->name), toString(StateName::Cancelled));
    verifyFlowConsistent(flow, m_rec);
}

void TestExecutorCancel::cancelShellKillsAfterGrace()
{
    constexpr double Grace = 0.3;
    // "exec" keeps one process, which ignores SIGTERM; "ready" says the trap is in place.
    FlowRun* flow = m_engine->start(
        makeFlow(QStringLiteral("cancel-shell-kill"),
                 {makeTask(QStringLiteral("t"), QStringLiteral("shell"),
                           {{QStringLiteral("command"),
                             QJsonArray{QStringLiteral("sh"), QStringLiteral("-c"),
                                        QStringLiteral("trap '' TERM; echo ready; exec sleep 30")}},
                            {QStringLiteral("grace_s"), Grace}})}));
    QTRY_VERIFY_WITH_TIMEOUT(m_rec.logLines(QStringLiteral("t")).contains(QStringLiteral("ready")), 5000);
    const qint64 t0 = wallUs();
    QVERIFY(m_engine->cancelFlowRun(flow));
    QVERIFY(waitForFlow(*m_engine, flow, 6000));
    const qint64 us = usUntil(t0, QStringLiteral("t"), -1, StateType::Cancelled);
    qInfo("shell ignoring SIGTERM, grace_s %.1f: cancelled after %.2f ms", Grace, us / 1000.0);
    QVERIFY2(us >= qint64(Grace * 1e6) - 50'000, "ended before the grace period: SIGTERM was not ignored?");
    QVERIFY(us < 3'000'000);
    QCOMPARE(toString(taskRun(flow, QStringLiteral("t"))->name), toString(StateName::Cancelled));
    verifyFlowConsistent(flow, m_rec);
}

void TestExecutorCancel::cancelHttpRequest()
{
    TestHttpServer server;
    QVERIFY(server.listen());
    FlowRun* flow = m_engine->start(
        makeFlow(QStringLiteral("cancel-http"),
                 {makeTask(QStringLiteral("t"), QStringLiteral("http"),
                           {{QStringLiteral("url"), server.url(QStringLiteral("/slow")).toString()}})}));
    QTRY_COMPARE_WITH_TIMEOUT(server.requests.size(), 1, 5000);
    const qint64 t0 = wallUs();
    QVERIFY(m_engine->cancelFlowRun(flow));
    QVERIFY(waitForFlow(*m_engine, flow, 5000));
    const qint64 us = usUntil(t0, QStringLiteral("t"), -1, StateType::Cancelled);
    qInfo("http: cancelled after %.2f ms", us / 1000.0);
    QVERIFY(us >= 0 && us < 1'000'000);
    QCOMPARE(toString(taskRun(flow, QStringLiteral("t"))->name), toString(StateName::Cancelled));
    verifyFlowConsistent(flow, m_rec);
}

void TestExecutorCancel::cancelOneTaskRun()
{
    TaskDef t = makeTask(QStringLiteral("t"), QStringLiteral("sleep"), seconds(0.5));
    t.map = 3;
    FlowRun* flow = m_engine->start(makeFlow(QStringLiteral("cancel-one"), {t}));
    QTRY_COMPARE_WITH_TIMEOUT(flow->count(StateType::Running), 3, 5000);
    TaskRun* victim = taskRun(flow, QStringLiteral("t"), 1);
    QVERIFY(m_engine->cancelTaskRun(victim, QStringLiteral("not this one")));
    QVERIFY(waitForFlow(*m_engine, flow, 5000));
    QCOMPARE(toString(victim->name), toString(StateName::Cancelled));
    QCOMPARE(toString(taskRun(flow, QStringLiteral("t"), 0)->name), toString(StateName::Completed));
    QCOMPARE(toString(taskRun(flow, QStringLiteral("t"), 2)->name), toString(StateName::Completed));
    QCOMPARE(m_rec.count(QStringLiteral("t"), 0, StateType::Cancelling), 0);
    QCOMPARE(toString(flow->type), toString(StateType::Cancelled));
    QVERIFY(!m_engine->cancelTaskRun(victim)); // already over
    verifyFlowConsistent(flow, m_rec);
}

void TestExecutorCancel::cancelAwaitingRetry()
{
    TaskDef t
        = makeTask(QStringLiteral("t"), QStringLiteral("test_flaky"), {{QStringLiteral("fail_times"), 10}});
    t.retries = 3;
    t.retryDelaySeconds = 30;
    FlowRun* flow = m_engine->start(makeFlow(QStringLiteral("cancel-retry"), {t}));
    TaskRun* run = taskRun(flow, QStringLiteral("t"));
    QTRY_COMPARE_WITH_TIMEOUT(toString(run->name), toString(StateName::AwaitingRetry), 5000);
    const qint64 t0 = wallUs();
    QVERIFY(m_engine->cancelTaskRun(run));
    QVERIFY(waitForFlow(*m_engine, flow, 5000));
    const qint64 us = usUntil(t0, QStringLiteral("t"), -1, StateType::Cancelled);
    qInfo("awaiting retry: cancelled after %.2f ms", us / 1000.0);
    QVERIFY(us >= 0 && us < 1'000'000);
    QCOMPARE(int(run->attempts), 1);
    using N = StateName;
    QCOMPARE(describe(m_rec.names(QStringLiteral("t"))),
             describe({N::Pending, N::Running, N::AwaitingRetry, N::Cancelled}));
    verifyFlowConsistent(flow, m_rec);
}

void TestExecutorCancel::nothingStartsAfterFlowCancel()
{
    TaskDef a = makeTask(
        QStringLiteral("a"), QStringLiteral("test_scaled_sleep"),
        {{QStringLiteral("index"), QStringLiteral("{{map_index}}")}, {QStringLiteral("step_s"), 0.1}});
    a.map = 6;
    TaskDef b = makeTask(QStringLiteral("b"), QStringLiteral("noop"));
    b.mapOver = QStringLiteral("a");
    TaskDef r
        = makeTask(QStringLiteral("r"), QStringLiteral("test_flaky"), {{QStringLiteral("fail_times"), 10}});
    r.retries = 5;
    r.retryDelaySeconds = 0.05;
    FlowRun* flow = m_engine->start(
        makeFlow(QStringLiteral("cancel-mixed"),
                 {a, b, r, makeTask(QStringLiteral("c"), QStringLiteral("noop"), {}, {QStringLiteral("a")}),
                  makeTask(QStringLiteral("blk"), QStringLiteral("blocking"), seconds(30))}));
    QTRY_VERIFY_WITH_TIMEOUT(m_rec.first(QStringLiteral("b"), 1, StateType::Completed) >= 0, 5000);
    QVERIFY(m_engine->cancelFlowRun(flow));
    QVERIFY(waitForFlow(*m_engine, flow, 5000));
    QCOMPARE(toString(flow->type), toString(StateType::Cancelled));
    const int cancelling = m_rec.firstOfFlow(StateType::Cancelling, flow);
    QVERIFY(cancelling >= 0);
    for (size_t i = size_t(cancelling); i < m_rec.transitions.size(); ++i) {
        const RecordedTransition& t = m_rec.transitions[i];
        QVERIFY2(t.type != StateType::Running,
                 qPrintable(QStringLiteral("%1[%2] started after the flow run was cancelled")
                                .arg(t.taskId)
                                .arg(t.mapIndex)));
    }
    QCOMPARE(m_rec.count(QStringLiteral("c"), -1, StateType::Running), 0);
    QCOMPARE(m_rec.count(QStringLiteral("b"), 5, StateType::Running), 0);
    verifyFlowConsistent(flow, m_rec);
}

//! Cancelling a flow run of 300,000 waiting task runs ends them a slice at a time, not all in the
//! call: the loop goes on in between, and every one of them ends cancelled without running.
void TestExecutorCancel::cancelOfALargeRunEndsItInSlices()
{
    TaskDef gate = makeTask(QStringLiteral("gate"), QStringLiteral("sleep"), seconds(60));
    TaskDef waiting
        = makeTask(QStringLiteral("waiting"), QStringLiteral("noop"), {}, {QStringLiteral("gate")});
    waiting.map = Runs;
    // The heap trim after a large run holds the allocator's lock for tens of milliseconds: not measured.
    m_engine->setTrimAfterLargeRuns(false);
    FlowRun* flow = m_engine->start(makeFlow(QStringLiteral("cancel-large"), {gate, waiting}));
    QTRY_VERIFY_WITH_TIMEOUT(flow->materializedTaskRuns == Runs + 1 && flow->count(StateType::Running) == 1,
                             60000);
    test::LoopGapProbe probe;
    QTest::qWait(20); // the probe's timer ticks before the cancel
    QVERIFY(m_engine->cancelFlowRun(flow));
    QVERIFY2(flow->count(StateType::Cancelled) <= Engine::CancelStep,
             qPrintable(QString::number(flow->count(StateType::Cancelled))));
    QVERIFY(waitForFlow(*m_engine, flow, 60000));
    probe.stop();
    qInfo("cancelled %d waiting task runs; the loop stopped for at most %.1f ms", Runs,
          double(probe.maxGapNs()) / 1e6);
    QCOMPARE(toString(flow->type), toString(StateType::Cancelled));
    QCOMPARE(flow->count(StateType::Cancelled), qint64(Runs + 1));
    QCOMPARE(m_rec.count(QStringLiteral("waiting"), AnyIndex, StateType::Running), 0);
    verifyFlowConsistent(flow, m_rec);
}

//! When a task fails, the 300,000 waiting runs of the task after it end as UpstreamFailed over many
//! turns of the loop, not in one.
void TestExecutorCancel::upstreamFailureEndsALargeTaskInSlices()
{
    FlowRun* flow = startBehindAGate(QStringLiteral("reject-large"));
    QVERIFY(flow);
    // Turns of the event loop, counted by a timer that fires on each.
    int turn = 0;
    QTimer turns;
    turns.setInterval(0);
    connect(&turns, &QTimer::timeout, this, [&] { ++turn; });
    turns.start();
    struct TurnsSeen : EngineObserver {
        const int* turn = nullptr;
        std::set<int> seen;
        void onTransition(const TransitionEvent& e) override
        {
            if (e.name == StateName::UpstreamFailed)
                seen.insert(*turn);
        }
    } observer;
    observer.turn = &turn;
    m_engine->addObserver(&observer);
    QVERIFY(m_engine->decideApproval(m_engine->awaitingApprovals().front(), false, QStringLiteral("no"),
                                     QStringLiteral("test")));
    QVERIFY(waitForFlow(*m_engine, flow, 60000));
    m_engine->removeObserver(&observer);
    QCOMPARE(toString(flow->type), toString(StateType::Failed));
    QCOMPARE(flow->count(StateType::Failed), qint64(Runs + 1));
    qInfo("%d runs ended as UpstreamFailed over %zu turns of the loop", Runs, observer.seen.size());
    QVERIFY2(observer.seen.size() > 10, qPrintable(QString::number(observer.seen.size())));
    verifyFlowConsistent(flow, m_rec);
}

//! When the last task before a large one completes, its runs are made ready a slice at a time: the
//! ready queue never holds them all (300,000 items, some 15 ms of pushes in one turn of the loop).
void TestExecutorCancel::approvalStartsALargeTaskInSlices()
{
    FlowRun* flow = startBehindAGate(QStringLiteral("approve-large"));
    QVERIFY(flow);
    // The longest the ready queue gets, seen at each turn of the loop and at each transition.
    std::size_t longest = 0;
    QTimer turns;
    turns.setInterval(0);
    connect(&turns, &QTimer::timeout, this,
            [&] { longest = std::max(longest, m_engine->scheduler().readyCount()); });
    turns.start();
    struct QueueSeen : EngineObserver {
        Engine* engine = nullptr;
        std::size_t* longest = nullptr;
        void onTransition(const TransitionEvent&) override
        {
            *longest = std::max(*longest, engine->scheduler().readyCount());
        }
    } observer;
    observer.engine = m_engine.get();
    observer.longest = &longest;
    m_engine->addObserver(&observer);
    QVERIFY(m_engine->decideApproval(m_engine->awaitingApprovals().front(), true, QStringLiteral("yes"),
                                     QStringLiteral("test")));
    QVERIFY(waitForFlow(*m_engine, flow, 60000));
    m_engine->removeObserver(&observer);
    QCOMPARE(toString(flow->type), toString(StateType::Completed));
    QCOMPARE(flow->count(StateType::Completed), qint64(Runs + 1));
    qInfo("the ready queue held at most %zu items while %d runs started", longest, Runs);
    QVERIFY2(longest < std::size_t(Runs / 10), qPrintable(QString::number(longest)));
    verifyFlowConsistent(flow, m_rec);
}

QTEST_GUILESS_MAIN(TestExecutorCancel)
#include "tst_executorcancel.moc"
