// Pausing and resuming a flow run in the engine, and going on with a stored one (a retry): no task run
// starts while paused, running ones finish or are stopped after a grace and run again on resume, a
// cancel reaches everything that waits, and a continued run runs only what did not complete.
#include "run/concurrencylimiter.h"
#include "run/engine.h"
#include "run/flowrun.h"
#include "testutil.h"

#include <QElapsedTimer>
#include <QTest>

using namespace flowdeck;
using namespace flowdeck::test;

namespace {

//! Task runs that moved into RUNNING (a start) after the transition at \a index.
int startsAfter(const RecordingObserver& rec, int index)
{
    int starts = 0;
    for (size_t i = size_t(index) + 1; i < rec.transitions.size(); ++i)
        starts += rec.transitions[i].taskRun && rec.transitions[i].type == StateType::Running ? 1 : 0;
    return starts;
}

} // namespace

class TestPause : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void init()
    {
        m_engine = std::make_unique<Engine>();
        m_rec = std::make_unique<RecordingObserver>();
        m_engine->addObserver(m_rec.get());
    }
    void cleanup()
    {
        cancelAndDrain(*m_engine);
        m_engine->removeObserver(m_rec.get());
        m_engine.reset();
    }

    void pauseHoldsNewStartsAndResumeGoesOn();
    void graceStopsRunningAttemptsThatRunAgainOnResume();
    void cancelWhilePausedEndsEverything();
    void lastRunningRunsFinishWhilePaused();
    void pauseDuringARetryDelayHoldsTheRetry();
    void continuedRunRunsOnlyWhatDidNotComplete();
    void refusals();

private:
    std::unique_ptr<Engine> m_engine;
    std::unique_ptr<RecordingObserver> m_rec;
};

void TestPause::pauseHoldsNewStartsAndResumeGoesOn()
{
    m_engine->limiter().setLimit(QStringLiteral("t"), 2);
    const auto flow = parseFlow(R"({"name": "p", "tasks": [
        {"id": "s", "kind": "sleep", "seconds": 0.05, "map": 20, "tags": ["t"]},
        {"id": "after", "kind": "noop", "depends_on": ["s"]}]})");
    QVERIFY(flow);
    FlowRun* run = m_engine->start(*flow);
    QVERIFY(waitUntil([&] { return run->count(StateType::Completed) >= 4; }, 10000));
    QVERIFY(m_engine->pauseFlowRun(run, QStringLiteral("the test")));
    const int pausedAt = int(m_rec->transitions.size()) - 1;
    QCOMPARE(toString(run->type), toString(StateType::Paused));
    QCOMPARE(m_rec->at(pausedAt).message, QStringLiteral("paused by the test"));
    // The two that held slots finish; nothing else starts, also not the runs waiting for a slot.
    QVERIFY(waitUntil([&] { return run->count(StateType::Running) == 0; }, 5000));
    QTest::qWait(300);
    QCOMPARE(startsAfter(*m_rec, pausedAt), 0);
    QVERIFY(run->finishedTaskRuns <= 6);
    QCOMPARE(run->count(StateType::Cancelled), 0);
    QVERIFY(m_engine->limiter().holders(QStringLiteral("t")).isEmpty()); // slots given back while paused

    QVERIFY(m_engine->resumeFlowRun(run, QStringLiteral("the test")));
    QCOMPARE(toString(run->type), toString(StateType::Running));
    QVERIFY(waitForFlow(*m_engine, run, 10000));
    QCOMPARE(toString(run->type), toString(StateType::Completed));
    for (int i = 0; i < 20; ++i)
        QCOMPARE(taskRun(run, QStringLiteral("s"), i)->attempts, quint16(1));
    verifyFlowConsistent(run, *m_rec);
}

void TestPause::graceStopsRunningAttemptsThatRunAgainOnResume()
{
    const auto flow
        = parseFlow(R"({"name": "g", "tasks": [{"id": "long", "kind": "sleep", "seconds": 0.6}]})");
    QVERIFY(flow);
    FlowRun* run = m_engine->start(*flow);
    TaskRun* longRun = nullptr;
    QVERIFY(waitUntil(
        [&] {
            longRun = taskRun(run, QStringLiteral("long"));
            return longRun && longRun->type == StateType::Running;
        },
        5000));
    QVERIFY(m_engine->pauseFlowRun(run, QStringLiteral("the test"), 0.05));
    QVERIFY(waitUntil([&] { return longRun->name == StateName::Suspended; }, 2000));
    QCOMPARE(toString(longRun->type), toString(StateType::Paused));
    QVERIFY2(longRun->message.contains(QStringLiteral("grace of 0.05 s")), qPrintable(longRun->message));
    QCOMPARE(toString(run->type), toString(StateType::Paused));

    QElapsedTimer resumed;
    resumed.start();
    QVERIFY(m_engine->resumeFlowRun(run, {}));
    QVERIFY(waitForFlow(*m_engine, run, 10000));
    QCOMPARE(toString(run->type), toString(StateType::Completed));
    QCOMPARE(longRun->attempts, quint16(2));
    QVERIFY(resumed.elapsed() >= 500); // the whole attempt ran again
    QCOMPARE(describe(m_rec->names(QStringLiteral("long"))),
             describe({StateName::Pending, StateName::Running, StateName::Suspended, StateName::Retrying,
                       StateName::Completed}));
}

void TestPause::cancelWhilePausedEndsEverything()
{
    const auto flow = parseFlow(R"({"name": "c", "tasks": [
        {"id": "a", "kind": "sleep", "seconds": 5, "map": 3},
        {"id": "b", "kind": "noop", "depends_on": ["a"]}]})");
    QVERIFY(flow);
    FlowRun* run = m_engine->start(*flow);
    QVERIFY(m_engine->pauseFlowRun(run, {})); // before any task run starts: all of them are held
    QTest::qWait(100);
    QCOMPARE(run->count(StateType::Running), 0);
    QElapsedTimer timer;
    timer.start();
    QVERIFY(m_engine->cancelFlowRun(run, QStringLiteral("cancelled by the test")));
    QVERIFY(waitForFlow(*m_engine, run, 5000));
    QVERIFY(timer.elapsed() < 2000);
    QCOMPARE(toString(run->type), toString(StateType::Cancelled));
    QCOMPARE(run->count(StateType::Cancelled), 4);
    QVERIFY(!m_engine->resumeFlowRun(run, {}));
}

void TestPause::lastRunningRunsFinishWhilePaused()
{
    const auto flow = parseFlow(R"({"name": "l", "tasks": [{"id": "a", "kind": "sleep", "seconds": 0.1}]})");
    QVERIFY(flow);
    FlowRun* run = m_engine->start(*flow);
    QVERIFY(waitUntil([&] { return run->count(StateType::Running) == 1; }, 5000));
    QVERIFY(m_engine->pauseFlowRun(run, {}));
    QVERIFY(waitForFlow(*m_engine, run, 5000));
    QCOMPARE(toString(run->type), toString(StateType::Completed)); // nothing was left to resume
}

void TestPause::pauseDuringARetryDelayHoldsTheRetry()
{
    const auto flow = parseFlow(R"({"name": "r", "tasks": [
        {"id": "flaky", "kind": "fail", "message": "no", "retries": 2, "retry_delay_s": 0.1}]})");
    QVERIFY(flow);
    FlowRun* run = m_engine->start(*flow);
    TaskRun* flaky = nullptr;
    QVERIFY(waitUntil(
        [&] {
            flaky = taskRun(run, QStringLiteral("flaky"));
            return flaky && flaky->name == StateName::AwaitingRetry;
        },
        5000));
    QVERIFY(m_engine->pauseFlowRun(run, {}));
    const int pausedAt = int(m_rec->transitions.size()) - 1;
    QTest::qWait(400); // well past the retry delay
    QCOMPARE(startsAfter(*m_rec, pausedAt), 0);
    QCOMPARE(flaky->attempts, quint16(1));
    QVERIFY(m_engine->resumeFlowRun(run, {}));
    QVERIFY(waitForFlow(*m_engine, run, 5000));
    QCOMPARE(flaky->attempts, quint16(3));
    QCOMPARE(toString(run->type), toString(StateType::Failed));
}

void TestPause::continuedRunRunsOnlyWhatDidNotComplete()
{
    const auto flow = parseFlow(R"({"name": "k", "tasks": [
        {"id": "a", "kind": "noop"},
        {"id": "b", "kind": "noop", "map": 3, "depends_on": ["a"]},
        {"id": "c", "kind": "noop", "depends_on": ["b"]}]})");
    QVERIFY(flow);
    Continuation continuation;
    continuation.from = StateName::AwaitingRetry;
    continuation.startedUs = 1000;
    continuation.reopenMessage = QStringLiteral("runs again: retried by the test");
    auto prior = [](const QString& task, int index, StateType type, StateName name, int attempts) {
        PriorTaskRun p;
        p.id = RunId::generate();
        p.task = task;
        p.mapIndex = index;
        p.type = type;
        p.name = name;
        p.attempts = quint16(attempts);
        p.createdUs = 500;
        return p;
    };
    continuation.taskRuns = {
        prior(QStringLiteral("a"), -1, StateType::Completed, StateName::Completed, 1),
        prior(QStringLiteral("b"), 0, StateType::Completed, StateName::Completed, 1),
        prior(QStringLiteral("b"), 1, StateType::Failed, StateName::Failed, 3),
        prior(QStringLiteral("b"), 2, StateType::Completed, StateName::Cached, 1),
        prior(QStringLiteral("c"), -1, StateType::Failed, StateName::UpstreamFailed, 0),
    };
    const RunId b1 = continuation.taskRuns[2].id;
    const RunId id = RunId::generate();
    FlowRun* run = m_engine->continueRun(*flow, id, 100, continuation);
    QVERIFY(waitForFlow(*m_engine, run, 5000));
    QCOMPARE(toString(run->type), toString(StateType::Completed));
    QCOMPARE(run->id, id);
    QCOMPARE(run->startedUs, qint64(1000));
    // Completed runs were neither run nor reported again; b[1] and c were reopened and ran.
    QCOMPARE(m_rec->count(QStringLiteral("a"), AnyIndex, StateType::Running), 0);
    QCOMPARE(m_rec->count(QStringLiteral("b"), 0, StateType::Running), 0);
    QCOMPARE(m_rec->count(QStringLiteral("b"), 2, StateType::Running), 0);
    QCOMPARE(toString(taskRun(run, QStringLiteral("b"), 2)->name), toString(StateName::Cached));
    QCOMPARE(describe(m_rec->names(QStringLiteral("b"), 1)),
             describe({StateName::AwaitingRetry, StateName::Retrying, StateName::Completed}));
    QCOMPARE(taskRun(run, QStringLiteral("b"), 1)->id, b1);
    QCOMPARE(taskRun(run, QStringLiteral("b"), 1)->attempts, quint16(4));
    QCOMPARE(taskRun(run, QStringLiteral("c"))->attempts, quint16(1));
    QCOMPARE(run->count(StateType::Completed), 5);
    // The flow run's own story: from AwaitingRetry to RUNNING, then COMPLETED.
    const int first = m_rec->firstOfFlow(StateType::Scheduled, run);
    QVERIFY(first >= 0);
    QCOMPARE(toString(m_rec->at(first).name), toString(StateName::AwaitingRetry));
}

void TestPause::refusals()
{
    const auto flow = parseFlow(R"({"name": "x", "tasks": [{"id": "a", "kind": "sleep", "seconds": 5}]})");
    QVERIFY(flow);
    FlowRun* run = m_engine->start(*flow);
    QVERIFY(!m_engine->resumeFlowRun(run, {})); // not paused
    QVERIFY(m_engine->pauseFlowRun(run, {}));
    QVERIFY(!m_engine->pauseFlowRun(run, {})); // already paused
    QVERIFY(m_engine->cancelFlowRun(run));
    QVERIFY(waitForFlow(*m_engine, run, 10000));
    QVERIFY(!m_engine->pauseFlowRun(run, {})); // finished
    QCOMPARE(whyNotRetry(StateType::Running),
             QStringLiteral("it is still RUNNING: only a FAILED, CRASHED or "
                            "CANCELLED run can be retried"));
    QVERIFY(whyNotRetry(StateType::Crashed).isEmpty());
    QVERIFY(whyNotPause(StateType::Running).isEmpty());
    QVERIFY(!whyNotPause(StateType::Completed).isEmpty());
    QVERIFY(whyNotResume(StateType::Paused).isEmpty());
}

QTEST_GUILESS_MAIN(TestPause)
#include "tst_pause.moc"
