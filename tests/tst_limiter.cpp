// Tag concurrency limits in one engine: never exceeded, FIFO, all-or-nothing, instant wake-ups,
// live edits, and slots released on every path.
#include "run/concurrencylimiter.h"
#include "run/engine.h"
#include "run/flowrun.h"
#include "testutil.h"

#include <QElapsedTimer>
#include <QTest>

#include <chrono>

using namespace flowdeck;
using namespace flowdeck::test;

namespace {

//! Largest number of task runs (of tasks carrying \a tag) RUNNING at once, from the transitions.
int peakRunning(const RecordingObserver& rec, const FlowRun* flow, const QString& tag)
{
    int current = 0;
    int peak = 0;
    for (const RecordedTransition& t : rec.transitions) {
        if (!t.taskRun || t.flowRun != flow || !t.taskRun->node->def->tags.contains(tag))
            continue;
        if (t.type == StateType::Running)
            peak = std::max(peak, ++current);
        else if (!t.isNew && (t.from == StateType::Running || t.from == StateType::Cancelling)
                 && t.type != StateType::Cancelling)
            --current;
    }
    return peak;
}

QByteArray fanout(int n, double seconds, const QString& tags = QStringLiteral(R"(["db"])"))
{
    return QStringLiteral(
               R"({"name": "fan", "tasks": [{"id": "t", "kind": "sleep", "seconds": %1, "map": %2, "tags": %3}]})")
        .arg(seconds)
        .arg(n)
        .arg(tags)
        .toUtf8();
}

} // namespace

class TestLimiter : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void neverExceededAndFifo_data()
    {
        QTest::addColumn<int>("threads");
        QTest::newRow("pool 2") << 2;
        QTest::newRow("pool 8") << 8;
        QTest::newRow("pool 40") << 40;
    }
    void neverExceededAndFifo()
    {
        QFETCH(int, threads);
        Engine engine;
        engine.blockingPool().setMaxThreads(threads);
        RecordingObserver rec;
        engine.addObserver(&rec);
        engine.limiter().setLimit(QStringLiteral("db"), 3);
        const auto flow = parseFlow(R"({"name": "fan", "tasks": [
            {"id": "t", "kind": "blocking", "seconds": 0.03, "map": 24, "tags": ["db"]},
            {"id": "free", "kind": "noop", "map": 5}]})");
        QVERIFY(flow);
        FlowRun* run = engine.start(*flow);
        QVERIFY(waitForFlow(engine, run, 30000));
        QCOMPARE(toString(run->type), QStringLiteral("COMPLETED"));
        QCOMPARE(peakRunning(rec, run, QStringLiteral("db")), 3);
        // First come, first served: runs start in the order they started waiting (map order here).
        int previous = -1;
        for (int i = 0; i < 24; ++i) {
            const int started = rec.first(QStringLiteral("t"), i, StateType::Running);
            QVERIFY(started > previous);
            previous = started;
        }
        QVERIFY(rec.count(QStringLiteral("t"), AnyIndex, StateType::Scheduled) >= 20); // they waited
        QVERIFY(engine.limiter().holders(QStringLiteral("db")).isEmpty());
        verifyFlowConsistent(run, rec);
    }

    void allOrNothingAcrossTags()
    {
        Engine engine;
        RecordingObserver rec;
        engine.addObserver(&rec);
        engine.limiter().setLimit(QStringLiteral("a"), 1);
        engine.limiter().setLimit(QStringLiteral("b"), 1);
        const auto flow = parseFlow(R"({"name": "two", "tasks": [
            {"id": "ab", "kind": "sleep", "seconds": 0.05, "map": 5, "tags": ["a", "b"]},
            {"id": "ba", "kind": "sleep", "seconds": 0.05, "map": 5, "tags": ["b", "a"]},
            {"id": "a", "kind": "sleep", "seconds": 0.05, "map": 5, "tags": ["a"]},
            {"id": "b", "kind": "sleep", "seconds": 0.05, "map": 5, "tags": ["b"]}]})");
        QVERIFY(flow);
        FlowRun* run = engine.start(*flow);
        QVERIFY(waitForFlow(engine, run, 30000)); // no deadlock
        QCOMPARE(toString(run->type), QStringLiteral("COMPLETED"));
        QCOMPARE(peakRunning(rec, run, QStringLiteral("a")), 1);
        QCOMPARE(peakRunning(rec, run, QStringLiteral("b")), 1);
    }

    void limitZeroHoldsUntilRaised()
    {
        Engine engine;
        RecordingObserver rec;
        engine.addObserver(&rec);
        engine.limiter().setLimit(QStringLiteral("db"), 0);
        const auto flow = parseFlow(fanout(4, 0.01));
        FlowRun* run = engine.start(*flow);
        QTRY_COMPARE_WITH_TIMEOUT(engine.limiter().waiters(QStringLiteral("db")).size(), 4, 5000);
        QTest::qWait(100);
        QCOMPARE(rec.count(QStringLiteral("t"), AnyIndex, StateType::Running), 0);
        TaskRun* first = taskRun(run, QStringLiteral("t"), 0);
        QCOMPARE(toString(first->name), QStringLiteral("AwaitingConcurrencySlot"));
        QVERIFY2(first->message.contains(QStringLiteral("paused by a limit of 0")),
                 qPrintable(first->message));
        // Raising the limit wakes them at once, not after a polling interval.
        QElapsedTimer woke;
        woke.start();
        engine.limiter().setLimit(QStringLiteral("db"), 2);
        QTRY_VERIFY_WITH_TIMEOUT(rec.count(QStringLiteral("t"), AnyIndex, StateType::Running) >= 2, 1000);
        qInfo("raising a limit woke waiters after %.2f ms", double(woke.nsecsElapsed()) / 1e6);
        QVERIFY(woke.elapsed() < 200);
        QVERIFY(waitForFlow(engine, run, 10000));
        QCOMPARE(peakRunning(rec, run, QStringLiteral("db")), 2);
    }

    void loweringNeverPreempts()
    {
        Engine engine;
        RecordingObserver rec;
        engine.addObserver(&rec);
        engine.limiter().setLimit(QStringLiteral("db"), 4);
        const auto flow = parseFlow(fanout(12, 0.15));
        FlowRun* run = engine.start(*flow);
        QTRY_COMPARE_WITH_TIMEOUT(engine.limiter().holders(QStringLiteral("db")).size(), 4, 5000);
        engine.limiter().setLimit(QStringLiteral("db"), 1);
        QCOMPARE(engine.limiter().holders(QStringLiteral("db")).size(), 4); // nobody was stopped
        QCOMPARE(rec.count(QStringLiteral("t"), AnyIndex, StateType::Cancelled), 0);
        // New starts wait until fewer than the new limit run.
        QTRY_VERIFY_WITH_TIMEOUT(rec.count(QStringLiteral("t"), AnyIndex, StateType::Completed) >= 4, 5000);
        QVERIFY(waitForFlow(engine, run, 20000));
        int current = 0;
        int peakAfter = 0;
        int completed = 0;
        for (const RecordedTransition& t : rec.transitions) {
            if (!t.taskRun)
                continue;
            if (t.type == StateType::Running)
                ++current;
            if (t.type == StateType::Completed) {
                --current;
                ++completed;
            }
            if (completed >= 4)
                peakAfter = std::max(peakAfter, current);
        }
        QCOMPARE(peakAfter, 1);
    }

    void deletingReleasesWaiters()
    {
        Engine engine;
        RecordingObserver rec;
        engine.addObserver(&rec);
        engine.limiter().setLimit(QStringLiteral("db"), 0);
        const auto flow = parseFlow(fanout(6, 0.01));
        FlowRun* run = engine.start(*flow);
        QTRY_COMPARE_WITH_TIMEOUT(engine.limiter().waiters(QStringLiteral("db")).size(), 6, 5000);
        engine.limiter().removeLimit(QStringLiteral("db"));
        QVERIFY(!engine.limiter().limit(QStringLiteral("db")));
        QVERIFY(waitForFlow(engine, run, 5000));
        QCOMPARE(run->count(StateType::Completed), qint64(6));
    }

    void slotsFreedOnEveryPath()
    {
        Engine engine;
        RecordingObserver rec;
        engine.addObserver(&rec);
        engine.limiter().setLimit(QStringLiteral("x"), 1);
        engine.limiter().setLimit(QStringLiteral("y"), 1);
        const auto flow = parseFlow(R"({"name": "paths", "tasks": [
            {"id": "fails", "kind": "fail", "tags": ["x"]},
            {"id": "times_out", "kind": "sleep", "seconds": 10, "timeout_s": 0.1, "tags": ["x"]},
            {"id": "retries", "kind": "fail", "retries": 1, "retry_delay_s": 0.4, "tags": ["x"]},
            {"id": "after", "kind": "sleep", "seconds": 0.01, "map": 3, "tags": ["x"]},
            {"id": "cancelled", "kind": "sleep", "seconds": 30, "tags": ["y"]},
            {"id": "waiting", "kind": "sleep", "seconds": 30, "tags": ["y"]}]})");
        QVERIFY(flow);
        FlowRun* run = engine.start(*flow);
        // While "retries" waits to retry, it holds no slot: someone else runs in between.
        QTRY_VERIFY_WITH_TIMEOUT(rec.firstNamed(QStringLiteral("retries"), -1, StateName::AwaitingRetry) >= 0,
                                 5000);
        const int retryAt = rec.firstNamed(QStringLiteral("retries"), -1, StateName::AwaitingRetry);
        QTRY_VERIFY_WITH_TIMEOUT(rec.firstNamed(QStringLiteral("retries"), -1, StateName::Retrying) >= 0,
                                 5000);
        const int retryingAt = rec.firstNamed(QStringLiteral("retries"), -1, StateName::Retrying);
        bool someoneRanBetween = false;
        for (int i = retryAt + 1; i < retryingAt; ++i)
            someoneRanBetween = someoneRanBetween || rec.at(i).type == StateType::Running;
        QVERIFY(someoneRanBetween);
        // Cancel one that runs and one that waits: both give their place back.
        QTRY_VERIFY_WITH_TIMEOUT(taskRun(run, QStringLiteral("cancelled"))->type == StateType::Running
                                     || taskRun(run, QStringLiteral("waiting"))->type == StateType::Running,
                                 10000);
        TaskRun* running = taskRun(run, QStringLiteral("cancelled"))->type == StateType::Running
            ? taskRun(run, QStringLiteral("cancelled"))
            : taskRun(run, QStringLiteral("waiting"));
        TaskRun* other = running == taskRun(run, QStringLiteral("cancelled"))
            ? taskRun(run, QStringLiteral("waiting"))
            : taskRun(run, QStringLiteral("cancelled"));
        QVERIFY(engine.limiter().isWaiting(*other));
        const auto why = engine.limiter().whyWaiting(*other);
        QVERIFY(why);
        QCOMPARE(why->tag, QStringLiteral("y"));
        QCOMPARE(why->holders, QList<TaskRun*>{running});
        QCOMPARE(why->position, 1);
        QVERIFY(engine.cancelTaskRun(other));
        QVERIFY(engine.cancelTaskRun(running));
        QVERIFY(waitForFlow(engine, run, 10000));
        QCOMPARE(toString(taskRun(run, QStringLiteral("times_out"))->name), QStringLiteral("TimedOut"));
        QCOMPARE(toString(taskRun(run, QStringLiteral("fails"))->type), QStringLiteral("FAILED"));
        QCOMPARE(toString(other->type), QStringLiteral("CANCELLED"));
        QCOMPARE(toString(running->type), QStringLiteral("CANCELLED"));
        for (const QString& tag : {QStringLiteral("x"), QStringLiteral("y")}) {
            QVERIFY(engine.limiter().holders(tag).isEmpty());
            QVERIFY(engine.limiter().waiters(tag).isEmpty());
            QCOMPARE(peakRunning(rec, run, tag), 1);
        }
    }

    void retryWaitingForASlotSaysSo()
    {
        // After AwaitingRetry the slot may be taken: the run must then be AwaitingConcurrencySlot, say
        // why, and be listed among the tag's waiters (so `concurrency-limit inspect` shows it).
        Engine engine;
        RecordingObserver rec;
        engine.addObserver(&rec);
        engine.limiter().setLimit(QStringLiteral("x"), 1);
        const auto flow = parseFlow(R"({"name": "retry-wait", "tasks": [
            {"id": "retries", "kind": "fail", "retries": 1, "retry_delay_s": 0.05, "tags": ["x"]},
            {"id": "hog", "kind": "sleep", "seconds": 0.6, "tags": ["x"]}]})");
        QVERIFY(flow);
        FlowRun* run = engine.start(*flow);
        TaskRun* retries = taskRun(run, QStringLiteral("retries"));
        TaskRun* hog = taskRun(run, QStringLiteral("hog"));
        QTRY_VERIFY_WITH_TIMEOUT(
            rec.firstNamed(QStringLiteral("retries"), -1, StateName::AwaitingConcurrencySlot)
                > rec.firstNamed(QStringLiteral("retries"), -1, StateName::AwaitingRetry),
            5000);
        QVERIFY(rec.firstNamed(QStringLiteral("retries"), -1, StateName::AwaitingRetry) >= 0);
        if (hog->type == StateType::Running) { // the hog still runs: the retry is a visible waiter
            QCOMPARE(toString(retries->name), QStringLiteral("AwaitingConcurrencySlot"));
            QVERIFY(retries->message.contains(QStringLiteral("x")));
            QCOMPARE(engine.limiter().waiters(QStringLiteral("x")), QList<TaskRun*>{retries});
            const auto why = engine.limiter().whyWaiting(*retries);
            QVERIFY(why);
            QCOMPARE(why->holders, QList<TaskRun*>{hog});
        }
        QVERIFY(waitForFlow(engine, run, 10000));
        QCOMPARE(toString(hog->type), QStringLiteral("COMPLETED"));
        QCOMPARE(toString(retries->type), QStringLiteral("FAILED"));
        QCOMPARE(int(retries->attempts), 2);
        QCOMPARE(peakRunning(rec, run, QStringLiteral("x")), 1);
    }

    void cancellingTheFlowEmptiesTheQueue()
    {
        Engine engine;
        RecordingObserver rec;
        engine.addObserver(&rec);
        engine.limiter().setLimit(QStringLiteral("db"), 2);
        const auto flow = parseFlow(fanout(50, 30));
        FlowRun* run = engine.start(*flow);
        QTRY_COMPARE_WITH_TIMEOUT(engine.limiter().waiters(QStringLiteral("db")).size(), 48, 5000);
        QElapsedTimer t;
        t.start();
        engine.cancelFlowRun(run);
        QVERIFY(waitForFlow(engine, run, 5000));
        qInfo("50 runs (2 running, 48 waiting for slots) cancelled in %.1f ms",
              double(t.nsecsElapsed()) / 1e6);
        QVERIFY(t.elapsed() < 1000);
        QCOMPARE(run->count(StateType::Cancelled), qint64(50));
        QVERIFY(engine.limiter().holders(QStringLiteral("db")).isEmpty());
        QVERIFY(engine.limiter().waiters(QStringLiteral("db")).isEmpty());
    }
};

QTEST_GUILESS_MAIN(TestLimiter)
#include "tst_limiter.moc"
