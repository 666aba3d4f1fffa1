// The executor: DAG order, mapping, parameters, retries, loop responsiveness with blocking bodies, custom
// kinds, results, random draws. Timeouts and cancellation are in tst_executorcancel.
#include "executorutil.h"
#include "flow/flowrandom.h"
#include "flow/taskkind.h"
#include "run/engine.h"
#include "run/flowrun.h"
#include "testutil.h"

#include <QElapsedTimer>
#include <QFile>
#include <QJsonArray>
#include <QJsonObject>
#include <QSet>
#include <QTest>
#include <QTimer>

#include <algorithm>
#include <functional>
#include <memory>
#include <unistd.h>

using namespace flowdeck;
using namespace flowdeck::test;

namespace {

//! Returns its own resolved config as the result, so substitutions can be read back.
class EchoKind final : public TaskKind {
public:
    QString name() const override { return QStringLiteral("test_echo"); }
    QString summary() const override { return QStringLiteral("returns its config"); }
    QList<FieldSpec> fields() const override
    {
        return {anyField(QStringLiteral("value")), anyField(QStringLiteral("n"))};
    }
    QCoro::Task<TaskOutcome> run(TaskContext& ctx) const override
    {
        co_return TaskOutcome::success(ctx.config());
    }
};

//! The example of a kind defined in C++: adds two numbers and logs what it did.
class AddKind final : public TaskKind {
public:
    QString name() const override { return QStringLiteral("test_add"); }
    QString summary() const override { return QStringLiteral("adds a and b"); }
    QList<FieldSpec> fields() const override
    {
        return {FieldSpec{QStringLiteral("a"), FieldType::Number, true, {}, {}, {}},
                FieldSpec{QStringLiteral("b"), FieldType::Number, true, {}, {}, {}}};
    }
    QCoro::Task<TaskOutcome> run(TaskContext& ctx) const override
    {
        const double a = ctx.config().value(QStringLiteral("a")).toDouble();
        const double b = ctx.config().value(QStringLiteral("b")).toDouble();
        ctx.log(LogLevel::Info, QStringLiteral("adding %1 and %2").arg(a).arg(b));
        co_await ctx.sleep(0.01);
        co_return TaskOutcome::success(a + b, QStringLiteral("sum computed"));
    }
};

//! Counts ticks of a 10 ms timer and the largest gap between two ticks.
class TickCounter {
public:
    explicit TickCounter(std::function<void()> onTick = {})
    {
        m_timer.setTimerType(Qt::PreciseTimer);
        QObject::connect(&m_timer, &QTimer::timeout, [this, onTick] {
            const qint64 now = m_clock.elapsed();
            maxGapMs = std::max(maxGapMs, now - m_last);
            m_last = now;
            ++ticks;
            if (onTick)
                onTick();
        });
    }
    void start()
    {
        m_clock.start();
        m_last = 0;
        m_timer.start(10);
    }
    //! Stops counting; the time since the last tick counts as a gap too.
    void stop()
    {
        m_timer.stop();
        maxGapMs = std::max(maxGapMs, m_clock.elapsed() - m_last);
    }
    int ticks = 0;
    qint64 maxGapMs = 0;

private:
    QTimer m_timer;
    QElapsedTimer m_clock;
    qint64 m_last = 0;
};

} // namespace

class TestExecutor : public QObject, public ExecutorFixture {
    Q_OBJECT

private Q_SLOTS:
    void initTestCase();
    void init() { setUpEngine(); }
    void cleanup() { tearDownEngine(); }

    void dagOrderDiamond();
    void mapRunsSubstituteIndex();
    void mapOverIsElementWise();
    void mapOverFailureBlocksOnlyItsCounterpart();
    void emptyMapCompletes();
    void emptyMapWaitsForItsUpstream();
    void refusesTooManyTaskRuns();
    void startCommitsTaskRunsAsTheyAreCreated();
    void parametersThroughParser();

    void retriesThenSucceeds();
    void retriesExhaustedFailsDownstream();

    void loopStaysResponsiveWithBlockingTasks();
    void blockingPoolSizeBoundsParallelism_data();
    void blockingPoolSizeBoundsParallelism();
    void loopBlockStallsTheLoop();

    void customKindRuns();
    void flowResultStates();
    void releaseForgetsRunAndDeadlines();
    void sleepRangeIsReproducible();
    void chanceIsReproducible();
};

void TestExecutor::initTestCase()
{
    addExecutorTestKinds();
    auto& kinds = TaskKindRegistry::instance();
    kinds.add(std::make_unique<EchoKind>());
    kinds.add(std::make_unique<AddKind>());
}

void TestExecutor::dagOrderDiamond()
{
    FlowRun* flow = runToEnd(makeFlow(
        QStringLiteral("diamond"),
        {makeTask(QStringLiteral("a"), QStringLiteral("sleep"), seconds(0.05)),
         makeTask(QStringLiteral("b"), QStringLiteral("sleep"), seconds(0.1), {QStringLiteral("a")}),
         makeTask(QStringLiteral("c"), QStringLiteral("sleep"), seconds(0.05), {QStringLiteral("a")}),
         makeTask(QStringLiteral("d"), QStringLiteral("noop"), {},
                  {QStringLiteral("b"), QStringLiteral("c")})}));
    QVERIFY(flow->isTerminal());
    QCOMPARE(toString(flow->type), toString(StateType::Completed));

    const int aDone = m_rec.first(QStringLiteral("a"), -1, StateType::Completed);
    const int bRun = m_rec.first(QStringLiteral("b"), -1, StateType::Running);
    const int cRun = m_rec.first(QStringLiteral("c"), -1, StateType::Running);
    const int bDone = m_rec.first(QStringLiteral("b"), -1, StateType::Completed);
    const int cDone = m_rec.first(QStringLiteral("c"), -1, StateType::Completed);
    const int dRun = m_rec.first(QStringLiteral("d"), -1, StateType::Running);
    QVERIFY(aDone >= 0 && bRun >= 0 && cRun >= 0 && bDone >= 0 && cDone >= 0 && dRun >= 0);
    QVERIFY(bRun > aDone);
    QVERIFY(cRun > aDone);
    QVERIFY(dRun > bDone);
    QVERIFY(dRun > cDone);
    // b and c run side by side: each started before the other one completed.
    QVERIFY(bRun < cDone);
    QVERIFY(cRun < bDone);
    QCOMPARE(m_rec.count(QStringLiteral("d"), -1, StateType::Running), 1);
    verifyFlowConsistent(flow, m_rec);
}

void TestExecutor::mapRunsSubstituteIndex()
{
    TaskDef m = makeTask(QStringLiteral("m"), QStringLiteral("test_echo"),
                         {{QStringLiteral("value"), QStringLiteral("item-{{map_index}}")},
                          {QStringLiteral("n"), QStringLiteral("{{map_index}}")}});
    m.map = 5;
    TaskDef slow = makeTask(
        QStringLiteral("slow"), QStringLiteral("test_scaled_sleep"),
        {{QStringLiteral("index"), QStringLiteral("{{map_index}}")}, {QStringLiteral("step_s"), 0.03}});
    slow.map = 4;
    FlowRun* flow = runToEnd(makeFlow(QStringLiteral("map"),
                                      {m, slow,
                                       makeTask(QStringLiteral("after"), QStringLiteral("noop"), {},
                                                {QStringLiteral("m"), QStringLiteral("slow")})}));
    QCOMPARE(toString(flow->type), toString(StateType::Completed));
    QCOMPARE(flow->totalTaskRuns, 10);

    for (int i = 0; i < 5; ++i) {
        TaskRun* run = taskRun(flow, QStringLiteral("m"), i);
        QVERIFY(run);
        QCOMPARE(run->mapIndex, i);
        const QJsonObject result = run->result.toObject();
        QCOMPARE(result.value(QStringLiteral("value")).toString(), QStringLiteral("item-%1").arg(i));
        // A string that is exactly "{{map_index}}" becomes the integer.
        QVERIFY(result.value(QStringLiteral("n")).isDouble());
        QCOMPARE(result.value(QStringLiteral("n")).toInt(), i);
        QCOMPARE(toString(m_rec.names(QStringLiteral("m"), i).first()), toString(StateName::Pending));
    }
    QCOMPARE(taskRun(flow, QStringLiteral("after"))->mapIndex, -1);
    // The dependent waits for every run of both mapped tasks.
    const int afterRun = m_rec.first(QStringLiteral("after"), -1, StateType::Running);
    QVERIFY(afterRun > m_rec.last(QStringLiteral("m"), AnyIndex, StateType::Completed));
    QVERIFY(afterRun > m_rec.last(QStringLiteral("slow"), AnyIndex, StateType::Completed));
    QVERIFY(afterRun > m_rec.first(QStringLiteral("slow"), 3, StateType::Completed));
    verifyFlowConsistent(flow, m_rec);
}

void TestExecutor::startCommitsTaskRunsAsTheyAreCreated()
{
    // Room for every run is reserved at start, but a run's memory is committed when the run is
    // created (materialized in batches between loop iterations), not all at once inside start().
    m_engine->removeObserver(&m_rec); // it would keep every transition
    constexpr int N = 1'000'000;
    TaskDef many = makeTask(QStringLiteral("many"), QStringLiteral("noop"));
    many.map = N;
    auto resident = [] {
        QFile statm(QStringLiteral("/proc/self/statm"));
        if (!statm.open(QIODevice::ReadOnly))
            return qint64(-1);
        return statm.readAll().split(' ').value(1).toLongLong() * qint64(sysconf(_SC_PAGESIZE));
    };
    const qint64 before = resident();
    QVERIFY(before > 0);
    FlowRun* flow = m_engine->start(makeFlow(QStringLiteral("many"), {many}));
    const qint64 grown = resident() - before;
    const qint64 allRuns = qint64(sizeof(TaskRun)) * N;
    QVERIFY2(flow->materializedTaskRuns < N, "start() creates the first batch only");
    QVERIFY2(grown < allRuns / 4,
             qPrintable(QStringLiteral("start() committed %1 MB; all %2 runs take %3 MB")
                            .arg(grown >> 20)
                            .arg(N)
                            .arg(allRuns >> 20)));
    m_engine->cancelFlowRun(flow);
    QVERIFY(waitForFlow(*m_engine, flow, 120000));
    QCOMPARE(flow->materializedTaskRuns, qint64(N));
}

void TestExecutor::refusesTooManyTaskRuns()
{
    // A definition that did not pass through the parser: refused before anything is allocated or
    // reported, and the engine runs the next flow as usual.
    TaskDef huge = makeTask(QStringLiteral("huge"), QStringLiteral("noop"));
    huge.map = 1000000000;
    QVERIFY_THROWS_EXCEPTION(std::length_error, m_engine->start(makeFlow(QStringLiteral("huge"), {huge})));
    TaskDef half = makeTask(QStringLiteral("half"), QStringLiteral("noop"));
    half.map = 6000000;
    TaskDef over = makeTask(QStringLiteral("over"), QStringLiteral("noop"));
    over.mapOver = QStringLiteral("half");
    QVERIFY_THROWS_EXCEPTION(std::length_error,
                             m_engine->start(makeFlow(QStringLiteral("total"), {half, over})));
    QCOMPARE(m_rec.first(QStringLiteral("huge"), AnyIndex, StateType::Pending), -1);

    FlowRun* flow = runToEnd(
        makeFlow(QStringLiteral("small"), {makeTask(QStringLiteral("a"), QStringLiteral("noop"))}));
    QCOMPARE(toString(flow->type), toString(StateType::Completed));
}

void TestExecutor::mapOverIsElementWise()
{
    constexpr int N = 4;
    TaskDef a = makeTask(
        QStringLiteral("A"), QStringLiteral("test_scaled_sleep"),
        {{QStringLiteral("index"), QStringLiteral("{{map_index}}")}, {QStringLiteral("step_s"), 0.1}});
    a.map = N;
    TaskDef b = makeTask(QStringLiteral("B"), QStringLiteral("test_echo"),
                         {{QStringLiteral("value"), QStringLiteral("b{{map_index}}")}});
    b.mapOver = QStringLiteral("A");
    TaskDef c = makeTask(QStringLiteral("C"), QStringLiteral("noop"), {}, {QStringLiteral("B")});
    FlowRun* flow = runToEnd(makeFlow(QStringLiteral("map-over"), {a, b, c}));
    QCOMPARE(toString(flow->type), toString(StateType::Completed));
    QCOMPARE(flow->totalTaskRuns, 2 * N + 1);

    const int lastADone = m_rec.first(QStringLiteral("A"), N - 1, StateType::Completed);
    for (int i = 0; i < N; ++i) {
        const int aDone = m_rec.first(QStringLiteral("A"), i, StateType::Completed);
        const int bRun = m_rec.first(QStringLiteral("B"), i, StateType::Running);
        QVERIFY2(bRun > aDone, qPrintable(QStringLiteral("B[%1] started before A[%1] completed").arg(i)));
        // B[i] does not wait for the rest of A: it starts before A[i+1] (100 ms later) completes.
        if (i + 1 < N)
            QVERIFY2(bRun < m_rec.first(QStringLiteral("A"), i + 1, StateType::Completed),
                     qPrintable(QStringLiteral("B[%1] waited for A[%2]").arg(i).arg(i + 1)));
        QCOMPARE(taskRun(flow, QStringLiteral("B"), i)
                     ->result.toObject()
                     .value(QStringLiteral("value"))
                     .toString(),
                 QStringLiteral("b%1").arg(i));
    }
    QVERIFY(m_rec.first(QStringLiteral("B"), 0, StateType::Completed) < lastADone);
    QVERIFY(m_rec.first(QStringLiteral("C"), -1, StateType::Running)
            > m_rec.last(QStringLiteral("B"), AnyIndex, StateType::Completed));
    verifyFlowConsistent(flow, m_rec);
}

void TestExecutor::mapOverFailureBlocksOnlyItsCounterpart()
{
    TaskDef a = makeTask(QStringLiteral("A"), QStringLiteral("test_scaled_sleep"),
                         {{QStringLiteral("index"), QStringLiteral("{{map_index}}")},
                          {QStringLiteral("step_s"), 0.02},
                          {QStringLiteral("fail_on"), 1}});
    a.map = 3;
    TaskDef b = makeTask(QStringLiteral("B"), QStringLiteral("noop"));
    b.mapOver = QStringLiteral("A");
    FlowRun* flow = runToEnd(makeFlow(QStringLiteral("map-over-fail"), {a, b}));
    QCOMPARE(toString(flow->type), toString(StateType::Failed));
    QCOMPARE(toString(taskRun(flow, QStringLiteral("B"), 0)->type), toString(StateType::Completed));
    QCOMPARE(toString(taskRun(flow, QStringLiteral("B"), 2)->type), toString(StateType::Completed));
    TaskRun* blocked = taskRun(flow, QStringLiteral("B"), 1);
    QCOMPARE(toString(blocked->name), toString(StateName::UpstreamFailed));
    QCOMPARE(m_rec.count(QStringLiteral("B"), 1, StateType::Running), 0);
    QVERIFY(flow->message.contains(QStringLiteral("A[1]")));
    verifyFlowConsistent(flow, m_rec);
}

void TestExecutor::emptyMapCompletes()
{
    TaskDef empty = makeTask(QStringLiteral("empty"), QStringLiteral("noop"));
    empty.map = 0;
    TaskDef over = makeTask(QStringLiteral("over"), QStringLiteral("noop"));
    over.mapOver = QStringLiteral("empty");
    FlowRun* flow = runToEnd(makeFlow(QStringLiteral("empty-map"),
                                      {empty, over,
                                       makeTask(QStringLiteral("after"), QStringLiteral("noop"), {},
                                                {QStringLiteral("empty"), QStringLiteral("over")})}));
    QVERIFY(flow->isTerminal());
    QCOMPARE(toString(flow->type), toString(StateType::Completed));
    QCOMPARE(flow->totalTaskRuns, 1);
    QCOMPARE(toString(taskRun(flow, QStringLiteral("after"))->type), toString(StateType::Completed));
    verifyFlowConsistent(flow, m_rec);
}

// An empty fan-out between two tasks still orders them: the tasks after it (through depends_on and
// through a map_over of it) wait for the task before it, and do not run when it fails.
void TestExecutor::emptyMapWaitsForItsUpstream()
{
    const auto chain = [](const QString& firstKind, const QJsonObject& firstConfig) {
        TaskDef empty
            = makeTask(QStringLiteral("empty"), QStringLiteral("noop"), {}, {QStringLiteral("first")});
        empty.map = 0;
        TaskDef over = makeTask(QStringLiteral("over"), QStringLiteral("noop"));
        over.mapOver = QStringLiteral("empty");
        return makeFlow(
            QStringLiteral("empty-map-chain"),
            {makeTask(QStringLiteral("first"), firstKind, firstConfig), empty, over,
             makeTask(QStringLiteral("after"), QStringLiteral("noop"), {}, {QStringLiteral("empty")}),
             makeTask(QStringLiteral("afterOver"), QStringLiteral("noop"), {}, {QStringLiteral("over")})});
    };
    FlowRun* flow = runToEnd(chain(QStringLiteral("sleep"), seconds(0.1)));
    QVERIFY(flow->isTerminal());
    QCOMPARE(toString(flow->type), toString(StateType::Completed));
    const int firstDone = m_rec.first(QStringLiteral("first"), -1, StateType::Completed);
    QVERIFY(firstDone >= 0);
    for (const QString& id : {QStringLiteral("after"), QStringLiteral("afterOver")}) {
        const int running = m_rec.first(id, -1, StateType::Running);
        QVERIFY2(running > firstDone,
                 qPrintable(id + QStringLiteral(" ran before the task the empty map depends on completed")));
    }
    verifyFlowConsistent(flow, m_rec);

    m_rec.clear();
    FlowRun* failed = runToEnd(chain(QStringLiteral("fail"), {}));
    QVERIFY(failed->isTerminal());
    QCOMPARE(toString(failed->type), toString(StateType::Failed));
    for (const QString& id : {QStringLiteral("after"), QStringLiteral("afterOver")}) {
        QCOMPARE(m_rec.count(id, -1, StateType::Running), 0);
        QCOMPARE(toString(taskRun(failed, id)->name), toString(StateName::UpstreamFailed));
    }
    verifyFlowConsistent(failed, m_rec);
}

void TestExecutor::parametersThroughParser()
{
    const QByteArray json = R"({
        "name": "params",
        "parameters": {"word": "hello", "count": 3, "pause": 0.01},
        "tasks": [
            {"id": "e", "kind": "test_echo", "value": "{{word}} #{{map_index}}", "n": "{{count}}",
             "map": "{{count}}"},
            {"id": "s", "kind": "sleep", "seconds": "{{pause}}", "depends_on": ["e"]}
        ]
    })";
    const auto def = parseFlow(json);
    QVERIFY(def);
    FlowRun* flow = runToEnd(*def);
    QCOMPARE(toString(flow->type), toString(StateType::Completed));
    QCOMPARE(flow->totalTaskRuns, 4);
    for (int i = 0; i < 3; ++i) {
        const QJsonObject result = taskRun(flow, QStringLiteral("e"), i)->result.toObject();
        QCOMPARE(result.value(QStringLiteral("value")).toString(), QStringLiteral("hello #%1").arg(i));
        QVERIFY(result.value(QStringLiteral("n")).isDouble()); // typed substitution keeps the number
        QCOMPARE(result.value(QStringLiteral("n")).toInt(), 3);
    }
    QCOMPARE(taskRun(flow, QStringLiteral("s"))->message, QStringLiteral("slept 0.01 s"));

    m_rec.clear();
    const auto overridden
        = parseFlow(json, {{QStringLiteral("word"), QStringLiteral("bye")}, {QStringLiteral("count"), 2}});
    QVERIFY(overridden);
    FlowRun* second = runToEnd(*overridden);
    QCOMPARE(toString(second->type), toString(StateType::Completed));
    QCOMPARE(second->totalTaskRuns, 3);
    QCOMPARE(
        taskRun(second, QStringLiteral("e"), 1)->result.toObject().value(QStringLiteral("value")).toString(),
        QStringLiteral("bye #1"));
    verifyFlowConsistent(second, m_rec);
}

void TestExecutor::retriesThenSucceeds()
{
    constexpr double Delay = 0.1;
    TaskDef t
        = makeTask(QStringLiteral("t"), QStringLiteral("test_flaky"), {{QStringLiteral("fail_times"), 2}});
    t.retries = 3;
    t.retryDelaySeconds = Delay;
    FlowRun* flow = runToEnd(makeFlow(QStringLiteral("retry"), {t}));
    QCOMPARE(toString(flow->type), toString(StateType::Completed));
    TaskRun* run = taskRun(flow, QStringLiteral("t"));
    QCOMPARE(int(run->attempts), 3);
    QCOMPARE(run->result.toInt(), 3);
    using N = StateName;
    QCOMPARE(describe(m_rec.names(QStringLiteral("t"))),
             describe({N::Pending, N::Running, N::AwaitingRetry, N::Retrying, N::AwaitingRetry, N::Retrying,
                       N::Completed}));
    // Each retry waits retry_delay_s after the failed attempt (the timer may fire 0.5 ms early).
    for (const RecordedTransition& t1 : m_rec.transitions) {
        if (t1.name != N::AwaitingRetry)
            continue;
        const auto next = std::find_if(
            m_rec.transitions.begin(), m_rec.transitions.end(), [&](const RecordedTransition& x) {
                return x.taskId == QStringLiteral("t") && x.name == N::Retrying && x.timeUs >= t1.timeUs;
            });
        QVERIFY(next != m_rec.transitions.end());
        const qint64 gapUs = next->timeUs - t1.timeUs;
        qInfo("retry delay %.1f ms (retry_delay_s %.0f ms)", gapUs / 1000.0, Delay * 1000);
        QVERIFY2(gapUs >= qint64(Delay * 1e6) - 1000, qPrintable(QString::number(gapUs)));
        QVERIFY2(gapUs < 1'000'000, qPrintable(QString::number(gapUs)));
        QVERIFY(t1.message.contains(QStringLiteral("failed on purpose")));
    }
    const QStringList logs = m_rec.logLines(QStringLiteral("t"));
    QVERIFY(logs.size() >= 2);
    QVERIFY2(logs.first().contains(QStringLiteral("attempt 1 of 4 failed")), qPrintable(logs.first()));
    verifyFlowConsistent(flow, m_rec);
}

void TestExecutor::retriesExhaustedFailsDownstream()
{
    TaskDef t
        = makeTask(QStringLiteral("t"), QStringLiteral("test_flaky"), {{QStringLiteral("fail_times"), 10}});
    t.retries = 2;
    t.retryDelaySeconds = 0.01;
    TaskDef fan = makeTask(QStringLiteral("fan"), QStringLiteral("noop"), {}, {QStringLiteral("t")});
    fan.map = 3;
    FlowRun* flow = runToEnd(
        makeFlow(QStringLiteral("exhausted"),
                 {t, makeTask(QStringLiteral("b"), QStringLiteral("noop"), {}, {QStringLiteral("t")}),
                  makeTask(QStringLiteral("c"), QStringLiteral("noop"), {}, {QStringLiteral("b")}), fan}));
    QCOMPARE(toString(flow->type), toString(StateType::Failed));
    TaskRun* run = taskRun(flow, QStringLiteral("t"));
    QCOMPARE(int(run->attempts), 3);
    QCOMPARE(toString(run->name), toString(StateName::Failed));
    QVERIFY(run->message.contains(QStringLiteral("attempt 3 failed on purpose")));
    QVERIFY2(flow->message.contains(QStringLiteral("attempt 3 failed on purpose")),
             qPrintable(flow->message));
    for (const auto& [id, index] :
         {std::pair{QStringLiteral("b"), -1}, std::pair{QStringLiteral("c"), -1},
          std::pair{QStringLiteral("fan"), 0}, std::pair{QStringLiteral("fan"), 2}}) {
        TaskRun* down = taskRun(flow, id, std::max(index, 0));
        QCOMPARE(toString(down->type), toString(StateType::Failed));
        QCOMPARE(toString(down->name), toString(StateName::UpstreamFailed));
        QCOMPARE(m_rec.count(id, index, StateType::Running), 0);
        QCOMPARE(down->startedUs, 0);
    }
    QCOMPARE(m_rec.count(QStringLiteral("t"), -1, StateType::Running), 3);
    QCOMPARE(toString(m_rec.logLevels(QStringLiteral("t")).last()), toString(LogLevel::Error));
    verifyFlowConsistent(flow, m_rec);
}

void TestExecutor::loopStaysResponsiveWithBlockingTasks()
{
    constexpr int Tasks = 8;
    constexpr double Seconds = 0.5;
    int maxBusy = 0;
    TickCounter ticks([&] { maxBusy = std::max(maxBusy, m_engine->blockingPool().stats().busy); });
    TaskDef t = makeTask(QStringLiteral("t"), QStringLiteral("blocking"), seconds(Seconds));
    t.map = Tasks;
    QElapsedTimer clock;
    clock.start();
    ticks.start();
    FlowRun* flow = runToEnd(makeFlow(QStringLiteral("responsive"), {t}));
    const qint64 wallMs = clock.elapsed();
    ticks.stop();
    QCOMPARE(toString(flow->type), toString(StateType::Completed));
    const int expected = int(wallMs / 10);
    qInfo("%d blocking tasks of %.1f s: wall %lld ms, %d of ~%d ticks, largest gap %lld ms, busy threads up "
          "to %d",
          Tasks, Seconds, wallMs, ticks.ticks, expected, ticks.maxGapMs, maxBusy);
    QVERIFY(wallMs >= qint64(Seconds * 1000) - 5);
    QVERIFY2(wallMs < 2000, "the blocking tasks did not run in parallel");
    QVERIFY2(ticks.ticks * 2 >= expected, "the event loop stalled while blocking tasks ran");
    QVERIFY(maxBusy > 0);
    QVERIFY(maxBusy >= 2);
    verifyFlowConsistent(flow, m_rec);
}

void TestExecutor::blockingPoolSizeBoundsParallelism_data()
{
    QTest::addColumn<int>("threads");
    QTest::newRow("2 threads") << 2;
    QTest::newRow("4 threads") << 4;
    QTest::newRow("8 threads") << 8;
}

// At several pool sizes: never more bodies at once than threads, and the waves take as long as they must.
void TestExecutor::blockingPoolSizeBoundsParallelism()
{
    QFETCH(int, threads);
    constexpr int Tasks = 8;
    constexpr double Seconds = 0.15;
    m_engine->blockingPool().setMaxThreads(threads);
    int maxBusy = 0;
    int maxQueued = 0;
    TickCounter ticks([&] {
        const BlockingPoolStats stats = m_engine->blockingPool().stats();
        maxBusy = std::max(maxBusy, stats.busy);
        maxQueued = std::max(maxQueued, stats.queued);
    });
    TaskDef t = makeTask(QStringLiteral("t"), QStringLiteral("blocking"), seconds(Seconds));
    t.map = Tasks;
    QElapsedTimer clock;
    clock.start();
    ticks.start();
    FlowRun* flow = runToEnd(makeFlow(QStringLiteral("pool-size"), {t}));
    const qint64 wallMs = clock.elapsed();
    ticks.stop();
    QCOMPARE(toString(flow->type), toString(StateType::Completed));
    const int waves = (Tasks + threads - 1) / threads;
    qInfo("%d threads: wall %lld ms for %d waves, busy up to %d, queued up to %d", threads, wallMs, waves,
          maxBusy, maxQueued);
    QVERIFY(maxBusy <= threads);
    QVERIFY(maxBusy > 0);
    QVERIFY(wallMs >= qint64(waves * Seconds * 1000) - 5);
    QVERIFY(wallMs < qint64(waves * Seconds * 1000) + 1000);
    // A body's thread counts it done just after handing the result back to the loop.
    QTRY_COMPARE_WITH_TIMEOUT(m_engine->blockingPool().stats().completed, quint64(Tasks), 2000);
    if (threads < Tasks)
        QVERIFY(maxQueued > 0);
}

void TestExecutor::loopBlockStallsTheLoop()
{
    constexpr double Seconds = 0.5;
    TickCounter ticks;
    QElapsedTimer clock;
    clock.start();
    ticks.start();
    FlowRun* flow
        = runToEnd(makeFlow(QStringLiteral("stall"),
                            {makeTask(QStringLiteral("t"), QStringLiteral("loop_block"), seconds(Seconds))}));
    const qint64 wallMs = clock.elapsed();
    ticks.stop();
    QCOMPARE(toString(flow->type), toString(StateType::Completed));
    qInfo("loop_block %.1f s: wall %lld ms, %d ticks, largest gap %lld ms", Seconds, wallMs, ticks.ticks,
          ticks.maxGapMs);
    QVERIFY(TaskKindRegistry::instance().find(QStringLiteral("loop_block"))->blocksEventLoop());
    QVERIFY2(ticks.maxGapMs >= qint64(Seconds * 1000) - 50,
             "the loop kept ticking: loop_block did not block it");
    QVERIFY(ticks.ticks * 2 < int(wallMs / 10));
}

void TestExecutor::customKindRuns()
{
    const TaskKind* kind = TaskKindRegistry::instance().find(QStringLiteral("test_add"));
    QVERIFY(kind);
    QVERIFY(TaskKindRegistry::instance().names().contains(QStringLiteral("test_add")));
    // The parser validates the kind's own fields...
    QVERIFY(!parseFlow(R"({"name": "bad", "tasks": [{"id": "x", "kind": "test_add", "a": 1, "c": 2}]})"));
    QVERIFY(!parseFlow(R"({"name": "bad", "tasks": [{"id": "x", "kind": "test_add", "a": 1, "b": "two"}]})"));
    // ...and the engine runs it like a built-in.
    const auto def = parseFlow(R"({"name": "custom", "tasks": [
        {"id": "add", "kind": "test_add", "a": 2, "b": 3},
        {"id": "after", "kind": "noop", "depends_on": ["add"]}]})");
    QVERIFY(def);
    FlowRun* flow = runToEnd(*def);
    QCOMPARE(toString(flow->type), toString(StateType::Completed));
    TaskRun* run = taskRun(flow, QStringLiteral("add"));
    QCOMPARE(run->result.toDouble(), 5.0);
    QCOMPARE(run->message, QStringLiteral("sum computed"));
    QCOMPARE(m_rec.logLines(QStringLiteral("add")), QStringList{QStringLiteral("adding 2 and 3")});
    verifyFlowConsistent(flow, m_rec);
}

void TestExecutor::flowResultStates()
{
    TaskDef many = makeTask(QStringLiteral("many"), QStringLiteral("noop"));
    many.map = 50;
    FlowRun* completed = runToEnd(makeFlow(
        QStringLiteral("ok"),
        {many, makeTask(QStringLiteral("end"), QStringLiteral("noop"), {}, {QStringLiteral("many")})}));
    QCOMPARE(toString(completed->type), toString(StateType::Completed));
    QCOMPARE(completed->count(StateType::Completed), 51);
    verifyFlowConsistent(completed, m_rec);

    FlowRun* failed = runToEnd(
        makeFlow(QStringLiteral("bad"),
                 {makeTask(QStringLiteral("ok"), QStringLiteral("noop")),
                  makeTask(QStringLiteral("boom"), QStringLiteral("fail"),
                           {{QStringLiteral("message"), QStringLiteral("boom!")}}),
                  makeTask(QStringLiteral("after"), QStringLiteral("noop"), {}, {QStringLiteral("boom")})}));
    QCOMPARE(toString(failed->type), toString(StateType::Failed));
    QVERIFY2(failed->message.contains(QStringLiteral("boom: boom!")), qPrintable(failed->message));
    QCOMPARE(failed->count(StateType::Completed), 1);
    QCOMPARE(failed->count(StateType::Failed), 2);
    verifyFlowConsistent(failed, m_rec);

    FlowRun* cancelled
        = m_engine->start(makeFlow(QStringLiteral("stop"),
                                   {makeTask(QStringLiteral("ok"), QStringLiteral("noop")),
                                    makeTask(QStringLiteral("long"), QStringLiteral("sleep"), seconds(30))}));
    QTRY_COMPARE_WITH_TIMEOUT(cancelled->count(StateType::Completed), 1, 5000);
    m_engine->cancelFlowRun(cancelled);
    QVERIFY(waitForFlow(*m_engine, cancelled, 5000));
    QCOMPARE(toString(cancelled->type), toString(StateType::Cancelled));
    QCOMPARE(cancelled->count(StateType::Cancelled), 1);
    verifyFlowConsistent(cancelled, m_rec);

    QCOMPARE(m_engine->activeFlowRuns(), 0);
    QVERIFY(m_engine->release(completed));
    QCOMPARE(m_engine->flowRuns().size(), size_t(2));
}

// A released run's pending deadlines (here a timeout far in the future) go with it.
void TestExecutor::releaseForgetsRunAndDeadlines()
{
    TaskDef t = makeTask(QStringLiteral("t"), QStringLiteral("noop"));
    t.timeoutSeconds = 60;
    FlowRun* active = m_engine->start(makeFlow(
        QStringLiteral("active"), {makeTask(QStringLiteral("long"), QStringLiteral("sleep"), seconds(30))}));
    FlowRun* done = runToEnd(makeFlow(QStringLiteral("done"), {t}));
    QCOMPARE(toString(done->type), toString(StateType::Completed));
    const RunId id = done->id;
    QCOMPARE(m_engine->findFlowRun(id), done);
    QCOMPARE(m_engine->scheduler().deadlineCount(), size_t(2)); // the sleep and the stale timeout
    QVERIFY(!m_engine->release(active));                        // still running
    QVERIFY(m_engine->release(done));
    QCOMPARE(m_engine->findFlowRun(id), nullptr);
    QCOMPARE(m_engine->scheduler().deadlineCount(), size_t(1));
    QCOMPARE(m_engine->flowRuns().size(), size_t(1));
}

void TestExecutor::sleepRangeIsReproducible()
{
    constexpr quint64 Seed = 12345;
    constexpr double Lo = 0.01;
    constexpr double Hi = 0.08;
    TaskDef s = makeTask(QStringLiteral("s"), QStringLiteral("sleep"), seconds(QJsonArray{Lo, Hi}));
    s.map = 6;
    FlowRun* flow = runToEnd(makeFlow(QStringLiteral("random-sleep"), {s}, Seed));
    QCOMPARE(toString(flow->type), toString(StateType::Completed));
    QCOMPARE(flow->seed, Seed);
    QVERIFY(m_rec.transitions.front().message.contains(QStringLiteral("seed 12345")));
    QSet<QString> distinct;
    for (int i = 0; i < 6; ++i) {
        const double expected = Lo + (Hi - Lo) * flowRandom(Seed, QStringLiteral("s"), i, salt::Duration);
        TaskRun* run = taskRun(flow, QStringLiteral("s"), i);
        QCOMPARE(run->message, QStringLiteral("slept %1 s").arg(QString::number(expected, 'g', 6)));
        distinct.insert(run->message);
        QVERIFY2(run->endedUs - run->startedUs >= qint64(expected * 1e6) - 2000,
                 qPrintable(QStringLiteral("run %1 slept %2 us, expected %3 s")
                                .arg(i)
                                .arg(run->endedUs - run->startedUs)
                                .arg(expected)));
    }
    QVERIFY(distinct.size() > 1);
}

void TestExecutor::chanceIsReproducible()
{
    constexpr quint64 Seed = 777;
    constexpr int N = 16;
    TaskDef b = makeTask(QStringLiteral("b"), QStringLiteral("blocking"),
                         {{QStringLiteral("seconds"), 0.001}, {QStringLiteral("chance"), 0.5}});
    b.map = N;
    const FlowDefinition def = makeFlow(QStringLiteral("random-chance"), {b}, Seed);
    auto skipped = [](FlowRun* flow) {
        QList<bool> out;
        for (int i = 0; i < N; ++i)
            out << taskRun(flow, QStringLiteral("b"), i)->message.startsWith(QStringLiteral("skipped"));
        return out;
    };
    FlowRun* first = runToEnd(def);
    FlowRun* second = runToEnd(def);
    QCOMPARE(toString(first->type), toString(StateType::Completed));
    QCOMPARE(toString(second->type), toString(StateType::Completed));
    const QList<bool> choices = skipped(first);
    QCOMPARE(skipped(second), choices);
    for (int i = 0; i < N; ++i)
        QCOMPARE(choices.at(i), !(flowRandom(Seed, QStringLiteral("b"), i, salt::Chance) < 0.5));
    QVERIFY(choices.contains(true));
    QVERIFY(choices.contains(false));
}

QTEST_GUILESS_MAIN(TestExecutor)
#include "tst_executor.moc"
