// The loop monitor: a blocked event loop is noticed while it is blocked and blamed on the right task run.
#include "run/engine.h"
#include "run/flowrun.h"
#include "run/loopmonitor.h"
#include "testutil.h"

#include <QElapsedTimer>
#include <QTest>
#include <QThread>
#include <QTimer>

#include <atomic>
#include <chrono>

using namespace flowdeck;
using namespace flowdeck::test;

namespace {

class StallObserver : public RecordingObserver {
public:
    void onStall(const StallRecord& stall) override { stalls.append(stall); }
    QList<StallRecord> stalls;
};

qint64 steadyUs()
{
    return std::chrono::duration_cast<std::chrono::microseconds>(
               std::chrono::steady_clock::now().time_since_epoch())
        .count();
}

} // namespace

class TestLoopMonitor : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void detectsWhileBlockedAndAttributes()
    {
        Engine engine;
        StallObserver observer;
        engine.addObserver(&observer);

        // Recorded from the monitor's own thread while the loop is still blocked.
        std::atomic<qint64> detectedAtUs{0};
        std::atomic<bool> detectedOffLoop{false};
        QString detectedTask;
        RunId detectedId;
        QThread* loopThread = QThread::currentThread();
        connect(
            &engine.loopMonitor(), &LoopMonitor::stallDetected, &engine.loopMonitor(),
            [&](qint64, const QString& task, RunId id) {
                detectedAtUs = steadyUs();
                detectedOffLoop = QThread::currentThread() != loopThread;
                detectedTask = task;
                detectedId = id;
            },
            Qt::DirectConnection);

        const auto flow = parseFlow(R"({"name": "block", "tasks": [
            {"id": "before", "kind": "sleep", "seconds": 0.05},
            {"id": "culprit", "kind": "loop_block", "seconds": 0.3, "depends_on": ["before"]}]})");
        QVERIFY(flow);
        FlowRun* run = engine.start(*flow);
        QVERIFY(waitForFlow(engine, run, 10000));
        QCOMPARE(toString(run->type), toString(StateType::Completed));

        // Noticed during the block: the culprit's COMPLETED came after the detection.
        TaskRun* culprit = taskRun(run, QStringLiteral("culprit"));
        QVERIFY(culprit);
        QVERIFY(detectedAtUs.load() > 0);
        QVERIFY(detectedOffLoop.load());
        QCOMPARE(detectedTask, QStringLiteral("culprit"));
        QCOMPARE(detectedId.toString(), culprit->id.toString());

        QTRY_COMPARE_WITH_TIMEOUT(observer.stalls.size(), 1, 2000);
        const StallRecord& stall = observer.stalls.first();
        QCOMPARE(stall.taskRunId.toString(), culprit->id.toString());
        QCOMPARE(stall.flowRunId.toString(), run->id.toString());
        QCOMPARE(stall.task, QStringLiteral("culprit"));
        qInfo("loop_block 300 ms recorded as %.1f ms", double(stall.durationUs) / 1000.0);
        QVERIFY2(
            stall.durationUs >= 270'000 && stall.durationUs <= 330'000,
            qPrintable(QStringLiteral("duration %1 us is not within 10% of 300 ms").arg(stall.durationUs)));
        QCOMPARE(culprit->stallCount, 1u);
        QCOMPARE(culprit->stallTotalUs, stall.durationUs);

        // The culprit gets a WARNING that says what to do.
        const QStringList lines = observer.logLines(QStringLiteral("culprit"));
        QVERIFY2(std::any_of(lines.begin(), lines.end(),
                             [](const QString& l) {
                                 return l.startsWith(QStringLiteral("blocked the event loop for "))
                                     && l.contains(QStringLiteral("kind \"blocking\""));
                             }),
                 qPrintable(lines.join(u'\n')));
        QVERIFY(engine.loopMonitor().lagStats().max >= 250.0);
        QCOMPARE(engine.loopMonitor().stallCount(), quint64(1));
    }

    void stallOutsideTaskRun()
    {
        Engine engine;
        StallObserver observer;
        engine.addObserver(&observer);
        QTest::qWait(30);
        // Blocks the loop from plain code that belongs to no task run.
        QTimer::singleShot(0, this, [] { QThread::msleep(250); });
        QTRY_COMPARE_WITH_TIMEOUT(observer.stalls.size(), 1, 3000);
        const StallRecord& stall = observer.stalls.first();
        QVERIFY(stall.taskRunId.isNull());
        QVERIFY(stall.task.isEmpty());
        QVERIFY(stall.durationUs >= 200'000);
    }

    void noFalseAlarms()
    {
        Engine engine;
        StallObserver observer;
        engine.addObserver(&observer);
        // 1,000 timer sleeps and 1,000 blocking calls on the pool: the loop never stalls.
        const auto flow = parseFlow(R"({"name": "busy", "seed": 5, "tasks": [
            {"id": "wait", "kind": "sleep", "seconds": [0, 0.3], "map": 1000},
            {"id": "work", "kind": "blocking", "seconds": 0.02, "map_over": "wait"}]})");
        QVERIFY(flow);
        FlowRun* run = engine.start(*flow);
        QVERIFY(waitForFlow(engine, run, 60000));
        QCOMPARE(run->count(StateType::Completed), qint64(2000));
        engine.loopMonitor().settle();
        QVERIFY2(observer.stalls.isEmpty(),
                 qPrintable(QStringLiteral("%1 stalls, first %2 us in %3")
                                .arg(observer.stalls.size())
                                .arg(observer.stalls.value(0).durationUs)
                                .arg(observer.stalls.value(0).task)));
        const LagStats lag = engine.loopMonitor().lagStats();
        qInfo("lag during 2,000 sleep/blocking runs: p50 %.2f ms, p99 %.2f ms, max %.2f ms", lag.p50, lag.p99,
              lag.max);
        QVERIFY(lag.max < LoopMonitor::DefaultThresholdMs);
    }

    void seedBrokenIsAttributed()
    {
        Engine engine;
        StallObserver observer;
        engine.addObserver(&observer);
        // The seed's broken form at reduced scale: short random sleeps, then 70% block the loop 0.2 s.
        const auto flow = parseFlow(R"({"name": "seed-broken-small", "seed": 11, "tasks": [
            {"id": "wait", "kind": "sleep", "seconds": [0.05, 0.4], "map": 20},
            {"id": "work", "kind": "loop_block", "seconds": 0.2, "chance": 0.7, "map_over": "wait"}]})");
        QVERIFY(flow);
        FlowRun* run = engine.start(*flow);
        QVERIFY(waitForFlow(engine, run, 60000));
        QCOMPARE(toString(run->type), toString(StateType::Completed));

        qint64 blockedUs = 0;
        int blockers = 0;
        for (int i = 0; i < 20; ++i) {
            TaskRun* r = taskRun(run, QStringLiteral("work"), i);
            if (r->message.startsWith(QStringLiteral("blocked the event loop"))) {
                blockedUs += 200'000;
                ++blockers;
            }
        }
        QVERIFY(blockers > 5);
        qint64 attributedUs = 0;
        for (const StallRecord& s : observer.stalls) {
            if (s.task.startsWith(QStringLiteral("work[")))
                attributedUs += s.durationUs;
        }
        qInfo("%d blocking runs, %.1f ms blocked, %.1f ms attributed to them (%d stalls)", blockers,
              double(blockedUs) / 1000, double(attributedUs) / 1000, int(observer.stalls.size()));
        QVERIFY2(attributedUs >= blockedUs * 95 / 100,
                 qPrintable(QStringLiteral("attributed %1 us of %2 us").arg(attributedUs).arg(blockedUs)));
        // And not more than what really happened (a 10% margin for the heartbeat's granularity).
        QVERIFY(attributedUs <= blockedUs * 110 / 100);
    }

    void thresholdIsASetting()
    {
        Engine engine;
        StallObserver observer;
        engine.addObserver(&observer);
        engine.loopMonitor().setThresholdMs(400);
        QCOMPARE(engine.loopMonitor().thresholdMs(), 400);
        const auto flow = parseFlow(R"({"name": "short-block", "tasks": [
            {"id": "b", "kind": "loop_block", "seconds": 0.25}]})");
        QVERIFY(flow);
        FlowRun* run = engine.start(*flow);
        QVERIFY(waitForFlow(engine, run, 10000));
        QTest::qWait(50);
        engine.loopMonitor().settle();
        QVERIFY(observer.stalls.isEmpty()); // 250 ms is under a 400 ms threshold
    }
};

QTEST_GUILESS_MAIN(TestLoopMonitor)
#include "tst_loopmonitor.moc"
