// What a large flow run keeps in memory: task runs are created only while the durability sink keeps
// up, and a finished task run keeps its state and history in a fixed, small object.
#include "run/durabilitysink.h"
#include "run/engine.h"
#include "run/engineobserver.h"
#include "run/flowrun.h"
#include "run/scheduler.h"
#include "testutil.h"

#include <QTest>

#include <algorithm>
#include <malloc.h>
#include <vector>

using namespace flowdeck;
using namespace flowdeck::test;

namespace {

/**
 * A durability sink that commits nothing until released: it counts the transitions the engine hands
 * it, as the store does, and keeps who waits for which.
 */
class HeldSink : public EngineObserver, public DurabilitySink {
public:
    explicit HeldSink(Scheduler& scheduler)
        : m_scheduler(scheduler)
    {
    }

    void onTransition(const TransitionEvent& e) override
    {
        if (e.persisted)
            return;
        ++m_last;
        m_maxUncommitted = std::max(m_maxUncommitted, m_last - m_committed);
    }
    quint64 lastSequence() const override { return m_last; }
    bool isCommitted(quint64 sequence) const override { return sequence <= m_committed; }
    void whenCommitted(quint64 sequence, void (*callback)(void*, void*), void* a, void* b) override
    {
        if (sequence <= m_committed) {
            m_scheduler.schedule(callback, a, static_cast<TaskRun*>(b));
            return;
        }
        // Task runs wait for their own transitions; only the creation of task runs waits for fewer.
        if (sequence < m_last)
            ++m_waitsForBacklog;
        m_waiters.push_back({sequence, callback, a, b});
    }

    /**
     * Commits what was handed over so far once the engine has run what the last commit released, as
     * a store's next batch comes after its last one: commits that land between the ready queue's
     * slices would each release drivers on top of those still queued, which no store does.
     */
    void commitWhenIdle()
    {
        if (m_scheduler.readyCount() == 0)
            commitAll();
    }
    //! From now on everything is committed at once.
    void release()
    {
        m_released = true;
        commitAll();
    }
    void commitAll()
    {
        m_committed = m_last;
        for (const Waiter& w : std::exchange(m_waiters, {}))
            m_scheduler.schedule(w.callback, w.a, static_cast<TaskRun*>(w.b));
    }
    bool released() const { return m_released; }
    //! Counts waits and the largest backlog afresh.
    void forgetWaits()
    {
        m_waitsForBacklog = 0;
        m_maxUncommitted = m_last - m_committed;
    }
    int waitsForBacklog() const { return m_waitsForBacklog; }
    quint64 maxUncommitted() const { return m_maxUncommitted; }

private:
    struct Waiter {
        quint64 sequence;
        void (*callback)(void*, void*);
        void* a;
        void* b;
    };
    Scheduler& m_scheduler;
    std::vector<Waiter> m_waiters;
    quint64 m_last = 0;
    quint64 m_committed = 0;
    quint64 m_maxUncommitted = 0;
    int m_waitsForBacklog = 0;
    bool m_released = false;
};

//! Bytes the allocator has handed out and not taken back (small blocks and mapped ones).
qint64 heapInUse()
{
    const struct mallinfo2 info = mallinfo2();
    return qint64(info.uordblks + info.hblkhd);
}

} // namespace

class TestTaskRunMemory : public QObject {
    Q_OBJECT

private Q_SLOTS:
    //! While the sink commits nothing, the engine stops creating task runs once MaxUncommitted
    //! transitions wait, without blocking the loop; once the sink commits, the flow run completes.
    void creatingTaskRunsWaitsForTheSink()
    {
        constexpr int Runs = 200000;
        Engine engine;
        HeldSink sink(engine.scheduler());
        engine.addObserver(&sink);
        engine.setDurabilitySink(&sink);
        const auto flow = parseFlow(
            QStringLiteral(R"({"name": "held", "tasks": [{"id": "x", "kind": "noop", "map": %1}]})")
                .arg(Runs)
                .toUtf8());
        QVERIFY(flow);
        FlowRun* run = engine.start(*flow);
        // The loop keeps turning (QTRY processes events) while the creation of task runs is suspended.
        QTRY_VERIFY_WITH_TIMEOUT(sink.waitsForBacklog() > 0, 60000);
        QVERIFY(run->materializedTaskRuns < Runs / 2);
        QVERIFY2(sink.maxUncommitted() <= Engine::MaxUncommitted + 4096,
                 qPrintable(QString::number(sink.maxUncommitted())));

        sink.release();
        // Committed in steps, as a store does: every turn what was handed over so far.
        QTRY_VERIFY_WITH_TIMEOUT((sink.commitAll(), run->isTerminal()), 120000);
        QCOMPARE(toString(run->type), QStringLiteral("COMPLETED"));
        QCOMPARE(run->count(StateType::Completed), qint64(Runs));
        QVERIFY(sink.maxUncommitted() <= Engine::MaxUncommitted + 4096);
        engine.setDurabilitySink(nullptr);
        engine.removeObserver(&sink);
    }

    //! Runs that become ready together (all dependents of a task) start only while the sink keeps up:
    //! they do not all go RUNNING, each waiting for its row, while the store writes.
    void startingTaskRunsWaitsForTheSink()
    {
        constexpr int Runs = 200000;
        Engine engine;
        HeldSink sink(engine.scheduler());
        engine.addObserver(&sink);
        engine.setDurabilitySink(&sink);
        const auto flow = parseFlow(QStringLiteral(R"({"name": "fan-out", "tasks": [
            {"id": "gate", "kind": "approval", "prompt": "Go?"},
            {"id": "x", "kind": "noop", "map": %1, "depends_on": ["gate"]}]})")
                                        .arg(Runs)
                                        .toUtf8());
        QVERIFY(flow);
        FlowRun* run = engine.start(*flow);
        // Committed in steps, as a store does. The approval holds every run of x back until all exist.
        const TaskNode& gateNode = run->nodes[0];
        QTRY_VERIFY_WITH_TIMEOUT((sink.commitAll(),
                                  run->materializedTaskRuns == Runs + 1 && gateNode.runs.constructed() == 1
                                      && gateNode.runs[0].name == StateName::AwaitingApproval),
                                 120000);
        TaskRun* gate = &gateNode.runs[0];
        sink.commitAll();
        QVERIFY(engine.decideApproval(gate, true, QStringLiteral("go"), QStringLiteral("test")));
        // Once finished, the gate may be freed with its block (a large run with a sink): its node tells.
        QTRY_VERIFY_WITH_TIMEOUT((sink.commitWhenIdle(), gateNode.settled), 60000);
        // Nothing is committed now: the runs of x start until the sink is behind, then wait for it.
        sink.commitAll();
        sink.forgetWaits();
        QTRY_VERIFY_WITH_TIMEOUT(sink.waitsForBacklog() > 0
                                     || run->count(StateType::Running) + run->count(StateType::Completed)
                                         == Runs + 1,
                                 60000);
        // Drivers released by the last commit may each add their end on top of the bound.
        QVERIFY2(sink.maxUncommitted() <= 2 * Engine::MaxUncommitted + 4096,
                 qPrintable(QString::number(sink.maxUncommitted())));
        QTRY_VERIFY_WITH_TIMEOUT((sink.commitWhenIdle(), run->isTerminal()), 120000);
        QCOMPARE(toString(run->type), QStringLiteral("COMPLETED"));
        QCOMPARE(run->count(StateType::Completed), qint64(Runs + 1));
        // And while it is committed in steps.
        QVERIFY2(sink.maxUncommitted() <= 2 * Engine::MaxUncommitted + 4096,
                 qPrintable(QString::number(sink.maxUncommitted())));
        engine.setDurabilitySink(nullptr);
        engine.removeObserver(&sink);
    }

    //! A finished task run costs its fixed object and nothing on the heap beside it; what the Run page
    //! and the task-run detail show of it is all still there.
    void finishedTaskRunsKeepLittle()
    {
        constexpr int Runs = 100000;
        Engine engine;
        const auto flow = parseFlow(
            QStringLiteral(R"({"name": "many", "tasks": [{"id": "x", "kind": "noop", "map": %1}]})")
                .arg(Runs)
                .toUtf8());
        QVERIFY(flow);
        const qint64 before = heapInUse();
        FlowRun* run = engine.start(*flow);
        QVERIFY(waitForFlow(engine, run, 60000));
        const qint64 perRun = (heapInUse() - before) / Runs;
        qInfo("%lld bytes of heap per finished task run (sizeof(TaskRun) = %zu)", perRun, sizeof(TaskRun));
        // A vector of state stamps cost 104 bytes per run beside a 168-byte run.
        QVERIFY2(perRun <= 200, qPrintable(QString::number(perRun)));

        const TaskRun& last = run->nodes[0].runs[Runs - 1];
        QCOMPARE(toString(last.type), QStringLiteral("COMPLETED"));
        QCOMPARE(last.attempts, quint16(1));
        QCOMPARE(last.history.size(), std::size_t(3));
        QCOMPARE(toString(last.history[0].name), QStringLiteral("Pending"));
        QCOMPARE(toString(last.history[1].name), QStringLiteral("Running"));
        QCOMPARE(toString(last.history[2].name), QStringLiteral("Completed"));
        QCOMPARE(last.history[0].timeUs, last.createdUs);
        QCOMPARE(last.history[1].timeUs, last.startedUs);
        QCOMPARE(last.history[2].timeUs, last.endedUs);
        QVERIFY(last.createdUs <= last.startedUs && last.startedUs <= last.endedUs);
    }

    //! A history longer than the three stamps kept inline (retries) is kept whole, in order.
    void longHistoryIsKeptWhole()
    {
        Engine engine;
        const auto flow = parseFlow(R"({"name": "retries", "tasks": [{"id": "flaky", "kind": "fail",
            "message": "always", "retries": 2, "retry_delay_s": 0.01}]})");
        QVERIFY(flow);
        FlowRun* run = engine.start(*flow);
        QVERIFY(waitForFlow(engine, run, 30000));
        const TaskRun& flaky = run->nodes[0].runs[0];
        QStringList names;
        for (std::size_t i = 0; i < flaky.history.size(); ++i) {
            names << toString(flaky.history[i].name);
            if (i > 0)
                QVERIFY(flaky.history[i - 1].timeUs <= flaky.history[i].timeUs);
        }
        QCOMPARE(names,
                 (QStringList{QStringLiteral("Pending"), QStringLiteral("Running"),
                              QStringLiteral("AwaitingRetry"), QStringLiteral("Retrying"),
                              QStringLiteral("AwaitingRetry"), QStringLiteral("Retrying"),
                              QStringLiteral("Failed")}));
        QCOMPARE(flaky.history.front().timeUs, flaky.createdUs);
        QCOMPARE(flaky.history.back().timeUs, flaky.endedUs);
        QCOMPARE(flaky.message, QStringLiteral("always"));

        StateHistory copy = flaky.history;
        QCOMPARE(copy.size(), flaky.history.size());
        QCOMPARE(toString(copy.back().name), QStringLiteral("Failed"));
        copy = StateHistory();
        QVERIFY(copy.empty());
    }
};

QTEST_GUILESS_MAIN(TestTaskRunMemory)
#include "tst_taskrunmemory.moc"
