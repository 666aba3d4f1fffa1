// Named global concurrency limits and rate limits in one engine: occupy counts never exceed the limit,
// all-or-nothing with tags (no deadlock), inactive limits, missing names (warning once, or strict
// failure), impossible occupy counts, the rate limit's window from recorded start times, timed
// wake-ups of decayed slots, live changes; and the flow file's fields with their error places.
#include "flow/flowparser.h"
#include "flow/taskkind.h"
#include "run/concurrencylimiter.h"
#include "run/engine.h"
#include "run/flowrun.h"
#include "testutil.h"

#include <QElapsedTimer>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QProcess>
#include <QTemporaryDir>
#include <QTest>

#include <algorithm>
#include <chrono>
#include <csignal>
#include <map>

using namespace flowdeck;
using namespace flowdeck::test;

namespace {

//! Largest number of slots of global limit \a name occupied by RUNNING task runs at once.
int peakOccupied(const RecordingObserver& rec, const FlowRun* flow, const QString& name)
{
    QHash<const TaskRun*, bool> running;
    int current = 0;
    int peak = 0;
    for (const RecordedTransition& t : rec.transitions) {
        if (!t.taskRun || t.flowRun != flow)
            continue;
        int occupy = 0;
        for (const LimitUse& use : t.taskRun->node->def->concurrency) {
            if (use.name == name)
                occupy = use.occupy;
        }
        if (occupy == 0)
            continue;
        if (t.type == StateType::Running) {
            current += occupy;
            running[t.taskRun] = true;
            peak = std::max(peak, current);
        } else if (running.value(t.taskRun) && t.type != StateType::Cancelling) {
            current -= occupy;
            running[t.taskRun] = false;
        }
    }
    return peak;
}

//! Start times (µs) of every RUNNING transition of \a taskId, ascending.
QList<qint64> startTimes(const RecordingObserver& rec, const QString& taskId)
{
    QList<qint64> out;
    for (const RecordedTransition& t : rec.transitions) {
        if (t.taskId == taskId && t.type == StateType::Running)
            out << t.timeUs;
    }
    std::sort(out.begin(), out.end());
    return out;
}

int countLogs(const RecordingObserver& rec, const QString& needle)
{
    return int(std::count_if(rec.logs.begin(), rec.logs.end(),
                             [&](const RecordedLog& l) { return l.message.contains(needle); }));
}

ValidationErrors errorsOf(const QByteArray& json)
{
    ValidationErrors errors;
    FlowParser parser(TaskKindRegistry::instance());
    parser.parse(json, QStringLiteral("test"), errors);
    return errors;
}

qint64 nowUs()
{
    return std::chrono::duration_cast<std::chrono::microseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
}

//! Runs `flowdeck ARGS`; returns the exit code, with stdout in \a out.
int runCli(const QStringList& args, QByteArray* out = nullptr, QByteArray* err = nullptr)
{
    QProcess p;
    p.start(flowdeckBinary(), args);
    if (!p.waitForFinished(60000))
        return -1;
    if (out)
        *out = p.readAllStandardOutput();
    if (err)
        *err = p.readAllStandardError();
    return p.exitCode();
}

QString writeFile(QTemporaryDir& dir, const QString& name, const QByteArray& json)
{
    QFile f(dir.filePath(name));
    f.open(QIODevice::WriteOnly);
    f.write(json);
    return f.fileName();
}

//! Largest number of slots held at once by RUNNING task runs, from the stored history; \a occupy
//! gives each task's slots, \a killedAtUs ends what a killed process never finished.
int storedPeak(Db& db, const QString& flowName, const QHash<QString, int>& occupy, qint64 killedAtUs)
{
    std::map<qint64, int> deltas;
    const auto history = db.rows(
        QStringLiteral(
            "SELECT h.task_run_id, h.time, h.state, t.task FROM state_history h JOIN flow_runs f ON "
            "f.id = h.flow_run_id JOIN task_runs t ON t.id = h.task_run_id WHERE f.flow_name = ? "
            "ORDER BY h.task_run_id, h.time, h.id"),
        {flowName});
    QString current;
    int slots = 0;
    qint64 runningSince = -1;
    auto close = [&](qint64 end) {
        if (runningSince >= 0) {
            deltas[runningSince] += slots;
            deltas[end] -= slots;
        }
        runningSince = -1;
    };
    for (const auto& row : history) {
        if (row.value(0).toString() != current) {
            close(killedAtUs);
            current = row.value(0).toString();
            slots = occupy.value(row.value(3).toString());
        }
        const QString state = row.value(2).toString();
        if (state == QLatin1String("RUNNING"))
            runningSince = row.value(1).toLongLong();
        else if (state != QLatin1String("CANCELLING"))
            close(state == QLatin1String("CRASHED") ? std::min(killedAtUs, row.value(1).toLongLong())
                                                    : row.value(1).toLongLong());
    }
    close(killedAtUs);
    int now = 0;
    int peak = 0;
    for (const auto& [time, delta] : deltas) {
        now += delta;
        peak = std::max(peak, now);
    }
    return peak;
}

} // namespace

class TestGlobalLimits : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void parsesFields()
    {
        const auto flow = parseFlow(R"({"name": "f", "concurrency": ["nightly"], "tasks": [
            {"id": "t", "kind": "noop", "concurrency": [{"name": "warehouse", "occupy": 2}, "other"],
             "rate_limit": {"name": "api", "strict": true}},
            {"id": "u", "kind": "noop", "rate_limit": "api2"}]})");
        QVERIFY(flow);
        QCOMPARE(flow->concurrency, QList<LimitUse>({{QStringLiteral("nightly"), 1, false}}));
        const TaskDef& t = flow->tasks.at(0);
        QCOMPARE(
            t.concurrency,
            QList<LimitUse>({{QStringLiteral("warehouse"), 2, false}, {QStringLiteral("other"), 1, false}}));
        QVERIFY(t.rateLimit);
        QCOMPARE(*t.rateLimit, (LimitUse{QStringLiteral("api"), 1, true}));
        QCOMPARE(flow->tasks.at(1).rateLimit->name, QStringLiteral("api2"));
    }

    void validationErrorsAreLocated_data()
    {
        QTest::addColumn<QByteArray>("json");
        QTest::addColumn<QString>("path");
        QTest::addColumn<QString>("message");
        const auto task = [](const char* field) -> QByteArray {
            return QByteArray(R"({"name": "f", "tasks": [{"id": "t", "kind": "noop", )") + field + "}]}";
        };
        QTest::newRow("not a list") << task(R"("concurrency": "x")") << "tasks[0].concurrency"
                                    << "expected a list of limit names";
        QTest::newRow("bad char") << task(R"("concurrency": ["a/b"])") << "tasks[0].concurrency[0]"
                                  << "invalid limit name \"a/b\"";
        QTest::newRow("empty name") << task(R"("concurrency": [""])") << "tasks[0].concurrency[0]"
                                    << "must not be empty";
        QTest::newRow("occupy 0") << task(R"("concurrency": [{"name": "a", "occupy": 0}])")
                                  << "tasks[0].concurrency[0].occupy"
                                  << "";
        QTest::newRow("occupy text") << task(R"("concurrency": [{"name": "a", "occupy": "2"}])")
                                     << "tasks[0].concurrency[0].occupy"
                                     << "";
        QTest::newRow("missing name")
            << task(R"("concurrency": [{"occupy": 2}])") << "tasks[0].concurrency[0].name"
            << "missing";
        QTest::newRow("unknown key") << task(R"("rate_limit": {"name": "a", "ocupy": 2})")
                                     << "tasks[0].rate_limit.ocupy"
                                     << "unknown field";
        QTest::newRow("strict text") << task(R"("rate_limit": {"name": "a", "strict": "yes"})")
                                     << "tasks[0].rate_limit.strict"
                                     << "true or false";
        QTest::newRow("twice") << task(R"("concurrency": ["a", {"name": "a"}])") << "tasks[0].concurrency[1]"
                               << "listed twice";
        QTest::newRow("rate number") << task(R"("rate_limit": 3)") << "tasks[0].rate_limit"
                                     << "limit name";
        QTest::newRow("flow level") << QByteArray(R"({"name": "f", "concurrency": ["a%"], "tasks": [
            {"id": "t", "kind": "noop"}]})")
                                    << "concurrency[0]"
                                    << "invalid limit name";
    }
    void validationErrorsAreLocated()
    {
        QFETCH(QByteArray, json);
        QFETCH(QString, path);
        QFETCH(QString, message);
        const ValidationErrors errors = errorsOf(json);
        QVERIFY2(errors.size() == 1, qPrintable(QStringLiteral("%1 errors").arg(errors.size())));
        QCOMPARE(errors.first().path, path);
        QVERIFY2(errors.first().message.contains(message), qPrintable(errors.first().message));
    }

    void occupyCountsNeverExceedTheLimit()
    {
        Engine engine;
        RecordingObserver rec;
        engine.addObserver(&rec);
        engine.limiter().setGlobalLimit(QStringLiteral("w"), {4, true, 0});
        const auto flow = parseFlow(R"({"name": "f", "tasks": [
            {"id": "two", "kind": "sleep", "seconds": 0.03, "map": 10, "concurrency": [{"name": "w", "occupy": 2}]},
            {"id": "one", "kind": "sleep", "seconds": 0.03, "map": 10, "concurrency": ["w"]}]})");
        QVERIFY(flow);
        FlowRun* run = engine.start(*flow);
        QVERIFY(waitForFlow(engine, run, 30000));
        QCOMPARE(toString(run->type), QStringLiteral("COMPLETED"));
        QCOMPARE(peakOccupied(rec, run, QStringLiteral("w")), 4);
        QVERIFY(engine.limiter().globalHolders(QStringLiteral("w")).isEmpty());
        QCOMPARE(engine.limiter().globalUsage().value(0).activeSlots, 0);
        verifyFlowConsistent(run, rec);
    }

    void allOrNothingWithTagsHasNoDeadlock()
    {
        Engine engine;
        RecordingObserver rec;
        engine.addObserver(&rec);
        engine.limiter().setLimit(QStringLiteral("a"), 1);
        engine.limiter().setGlobalLimit(QStringLiteral("g"), {1, true, 0});
        engine.limiter().setGlobalLimit(QStringLiteral("h"), {1, true, 0});
        // Opposite orders: g then h, h then g; and tag a with g.
        const auto flow = parseFlow(R"({"name": "two", "tasks": [
            {"id": "gh", "kind": "sleep", "seconds": 0.02, "map": 5, "concurrency": ["g", "h"], "tags": ["a"]},
            {"id": "hg", "kind": "sleep", "seconds": 0.02, "map": 5, "concurrency": ["h", "g"]},
            {"id": "ag", "kind": "sleep", "seconds": 0.02, "map": 5, "tags": ["a"], "concurrency": ["g"]},
            {"id": "g", "kind": "sleep", "seconds": 0.02, "map": 5, "concurrency": ["g"]},
            {"id": "a", "kind": "sleep", "seconds": 0.02, "map": 5, "tags": ["a"]}]})");
        QVERIFY(flow);
        FlowRun* run = engine.start(*flow);
        QVERIFY(waitForFlow(engine, run, 30000)); // no deadlock
        QCOMPARE(toString(run->type), QStringLiteral("COMPLETED"));
        QCOMPARE(peakOccupied(rec, run, QStringLiteral("g")), 1);
        QCOMPARE(peakOccupied(rec, run, QStringLiteral("h")), 1);
        verifyFlowConsistent(run, rec);
    }

    void inactiveLimitDoesNotThrottle()
    {
        Engine engine;
        RecordingObserver rec;
        engine.addObserver(&rec);
        engine.limiter().setGlobalLimit(QStringLiteral("g"), {1, false, 0});
        const auto flow = parseFlow(R"({"name": "f", "tasks": [
            {"id": "t", "kind": "sleep", "seconds": 0.1, "map": 6, "concurrency": ["g"]}]})");
        FlowRun* run = engine.start(*flow);
        QVERIFY(waitForFlow(engine, run, 30000));
        QCOMPARE(peakOccupied(rec, run, QStringLiteral("g")), 6);

        // Enabled, it throttles again.
        rec.clear();
        engine.limiter().setGlobalLimit(QStringLiteral("g"), {1, true, 0});
        FlowRun* second = engine.start(*flow);
        QVERIFY(waitForFlow(engine, second, 30000));
        QCOMPARE(peakOccupied(rec, second, QStringLiteral("g")), 1);
    }

    void missingNameWarnsOncePerFlowRun()
    {
        Engine engine;
        RecordingObserver rec;
        engine.addObserver(&rec);
        const auto flow = parseFlow(R"({"name": "f", "tasks": [
            {"id": "t", "kind": "noop", "map": 5, "concurrency": ["nowhere"], "rate_limit": "nolimit"}]})");
        FlowRun* run = engine.start(*flow);
        QVERIFY(waitForFlow(engine, run, 30000));
        QCOMPARE(toString(run->type), QStringLiteral("COMPLETED"));
        QCOMPARE(countLogs(rec, QStringLiteral("\"nowhere\" does not exist")), 1);
        QCOMPARE(countLogs(rec, QStringLiteral("\"nolimit\" does not exist")), 1);
        FlowRun* again = engine.start(*flow);
        QVERIFY(waitForFlow(engine, again, 30000));
        QCOMPARE(countLogs(rec, QStringLiteral("\"nowhere\" does not exist")), 2); // once per flow run
    }

    void strictMissingNameFails()
    {
        Engine engine;
        RecordingObserver rec;
        engine.addObserver(&rec);
        const auto flow = parseFlow(R"({"name": "f", "tasks": [
            {"id": "t", "kind": "noop", "concurrency": [{"name": "nowhere", "strict": true}]}]})");
        FlowRun* run = engine.start(*flow);
        QVERIFY(waitForFlow(engine, run, 30000));
        TaskRun* t = taskRun(run, QStringLiteral("t"));
        QCOMPARE(toString(t->type), QStringLiteral("FAILED"));
        QVERIFY2(t->message.contains(QStringLiteral("\"nowhere\" does not exist")), qPrintable(t->message));
        QCOMPARE(rec.count(QStringLiteral("t"), 0, StateType::Running), 0);
    }

    void occupyAboveTheLimitFails()
    {
        Engine engine;
        engine.limiter().setGlobalLimit(QStringLiteral("w"), {2, true, 0});
        const auto flow = parseFlow(R"({"name": "f", "tasks": [
            {"id": "t", "kind": "noop", "concurrency": [{"name": "w", "occupy": 3}]}]})");
        FlowRun* run = engine.start(*flow);
        QVERIFY(waitForFlow(engine, run, 30000));
        TaskRun* t = taskRun(run, QStringLiteral("t"));
        QCOMPARE(toString(t->type), QStringLiteral("FAILED"));
        QVERIFY2(
            t->message.contains(QStringLiteral("occupies 3 slot(s) of global limit \"w\", whose limit is 2")),
            qPrintable(t->message));
    }

    void loweredBelowAWaitersOccupyFailsIt()
    {
        Engine engine;
        engine.limiter().setGlobalLimit(QStringLiteral("w"), {0, true, 0}); // paused: everything waits
        const auto flow = parseFlow(R"({"name": "f", "tasks": [
            {"id": "t", "kind": "noop", "concurrency": [{"name": "w", "occupy": 3}]}]})");
        FlowRun* run = engine.start(*flow);
        QTRY_COMPARE_WITH_TIMEOUT(engine.limiter().globalWaiters(QStringLiteral("w")).size(), 1, 5000);
        engine.limiter().setGlobalLimit(QStringLiteral("w"), {2, true, 0});
        QVERIFY(waitForFlow(engine, run, 30000));
        TaskRun* t = taskRun(run, QStringLiteral("t"));
        QCOMPARE(toString(t->type), QStringLiteral("FAILED"));
        QVERIFY2(t->message.contains(QStringLiteral("could never run")), qPrintable(t->message));
    }

    void rateLimitWithoutDecayFails()
    {
        Engine engine;
        engine.limiter().setGlobalLimit(QStringLiteral("api"), {5, true, 0});
        const auto flow
            = parseFlow(R"({"name": "f", "tasks": [{"id": "t", "kind": "noop", "rate_limit": "api"}]})");
        FlowRun* run = engine.start(*flow);
        QVERIFY(waitForFlow(engine, run, 30000));
        TaskRun* t = taskRun(run, QStringLiteral("t"));
        QCOMPARE(toString(t->type), QStringLiteral("FAILED"));
        QVERIFY2(t->message.contains(QStringLiteral("no slot_decay_per_second")), qPrintable(t->message));
    }

    void rateLimitWindow()
    {
        // Limit 10, 10 per second: after the first burst of 10, no 1-second window sees more than 10
        // starts (from the recorded start times), and the whole takes about the ideal time.
        Engine engine;
        RecordingObserver rec;
        engine.addObserver(&rec);
        engine.limiter().setGlobalLimit(QStringLiteral("api"), {10, true, 10.0});
        const auto flow = parseFlow(
            R"({"name": "f", "tasks": [{"id": "t", "kind": "noop", "map": 35, "rate_limit": "api"}]})");
        FlowRun* run = engine.start(*flow);
        QVERIFY(waitForFlow(engine, run, 30000));
        QCOMPARE(toString(run->type), QStringLiteral("COMPLETED"));
        const QList<qint64> starts = startTimes(rec, QStringLiteral("t"));
        QCOMPARE(starts.size(), 35);
        // Each start is at least one decay period (1 s) after the start 10 places earlier. The start
        // is stamped when the resumed run records it, a few µs after its slot was granted: 1 ms slack.
        for (qsizetype i = 10; i < starts.size(); ++i) {
            QVERIFY2(starts[i] - starts[i - 10] >= 1'000'000 - 1'000,
                     qPrintable(QStringLiteral("starts %1 and %2 are %3 us apart")
                                    .arg(i - 10)
                                    .arg(i)
                                    .arg(starts[i] - starts[i - 10])));
        }
        // 35 starts: bursts at 0, 1, 2 and 3 s; generous bound on the time it took.
        const qint64 span = starts.last() - starts.first();
        qInfo("35 rate-limited starts over %.3f s (ideal 3.000 s)", double(span) / 1e6);
        QVERIFY2(span >= 3'000'000 - 1'000 && span < 3'300'000, qPrintable(QString::number(span)));
    }

    void decayedSlotWakesTheWaiterOnTime()
    {
        // One slot that decays in 0.25 s: the second run starts when it has decayed, not a poll later.
        Engine engine;
        RecordingObserver rec;
        engine.addObserver(&rec);
        engine.limiter().setGlobalLimit(QStringLiteral("api"), {1, true, 4.0});
        const auto flow = parseFlow(
            R"({"name": "f", "tasks": [{"id": "t", "kind": "noop", "map": 3, "rate_limit": "api"}]})");
        FlowRun* run = engine.start(*flow);
        QVERIFY(waitForFlow(engine, run, 30000));
        const QList<qint64> starts = startTimes(rec, QStringLiteral("t"));
        QCOMPARE(starts.size(), 3);
        for (int i = 1; i < 3; ++i) {
            const qint64 gap = starts[i] - starts[i - 1];
            qInfo("start %d came %.2f ms after the previous one (decay 250 ms)", i, double(gap) / 1e3);
            QVERIFY2(gap >= 250'000 - 1'000 && gap < 350'000, qPrintable(QString::number(gap)));
        }
        // One entry per limit in the shared deadline queue, none left behind.
        QCOMPARE(engine.limiter().globalUsage().value(0).waiting, 0);
    }

    void freedSlotWakesTheWaiterAtOnce()
    {
        Engine engine;
        RecordingObserver rec;
        engine.addObserver(&rec);
        engine.limiter().setGlobalLimit(QStringLiteral("g"), {1, true, 0});
        const auto flow = parseFlow(R"({"name": "f", "tasks": [
            {"id": "t", "kind": "sleep", "seconds": 0.1, "map": 2, "concurrency": ["g"]}]})");
        FlowRun* run = engine.start(*flow);
        QVERIFY(waitForFlow(engine, run, 30000));
        qint64 firstEnd = 0;
        qint64 secondStart = 0;
        for (const RecordedTransition& t : rec.transitions) {
            if (t.taskId == QLatin1String("t") && t.type == StateType::Completed && !firstEnd)
                firstEnd = t.timeUs;
            if (t.taskId == QLatin1String("t") && t.type == StateType::Running)
                secondStart = t.timeUs;
        }
        qInfo("the waiter started %.3f ms after the holder ended", double(secondStart - firstEnd) / 1e3);
        QVERIFY(secondStart >= firstEnd);
        QVERIFY2(secondStart - firstEnd < 50'000, qPrintable(QString::number(secondStart - firstEnd)));
    }

    void liveRaiseAndDelete()
    {
        Engine engine;
        RecordingObserver rec;
        engine.addObserver(&rec);
        engine.limiter().setGlobalLimit(QStringLiteral("g"), {0, true, 0});
        const auto flow = parseFlow(R"({"name": "f", "tasks": [
            {"id": "t", "kind": "sleep", "seconds": 0.05, "map": 6, "concurrency": ["g"]}]})");
        FlowRun* run = engine.start(*flow);
        QTRY_COMPARE_WITH_TIMEOUT(engine.limiter().globalWaiters(QStringLiteral("g")).size(), 6, 5000);
        TaskRun* first = taskRun(run, QStringLiteral("t"), 0);
        QVERIFY2(first->message.contains(QStringLiteral("global limit \"g\" is paused")),
                 qPrintable(first->message));
        engine.limiter().setGlobalLimit(QStringLiteral("g"), {2, true, 0});
        QTRY_COMPARE_WITH_TIMEOUT(rec.count(QStringLiteral("t"), AnyIndex, StateType::Running), 2, 5000);
        engine.limiter().removeGlobalLimit(QStringLiteral("g")); // the waiters go
        QVERIFY(waitForFlow(engine, run, 30000));
        QCOMPARE(toString(run->type), QStringLiteral("COMPLETED"));
        QVERIFY(peakOccupied(rec, run, QStringLiteral("g")) > 2);
        QVERIFY(engine.limiter().globalUsage().isEmpty());
    }

    void flowLevelLimitHoldsForTheWholeFlowRun()
    {
        // "At most 2 runs of nightly at once": each flow run occupies the limit from its first task
        // run's start until it ends, whatever its tasks take themselves.
        Engine engine;
        RecordingObserver rec;
        engine.addObserver(&rec);
        engine.limiter().setGlobalLimit(QStringLiteral("nightly"), {2, true, 0});
        const auto flow = parseFlow(R"({"name": "nightly", "concurrency": ["nightly"], "tasks": [
            {"id": "a", "kind": "sleep", "seconds": 0.05},
            {"id": "b", "kind": "sleep", "seconds": 0.05, "depends_on": ["a"]}]})");
        QVERIFY(flow);
        QList<FlowRun*> runs;
        for (int i = 0; i < 5; ++i)
            runs << engine.start(*flow);
        for (FlowRun* run : runs) {
            QVERIFY(waitForFlow(engine, run, 30000));
            QCOMPARE(toString(run->type), QStringLiteral("COMPLETED"));
        }
        // From the transitions: a flow run is active from its first RUNNING task run to its end.
        std::map<qint64, int> deltas;
        QHash<const FlowRun*, qint64> firstStart;
        for (const RecordedTransition& t : rec.transitions) {
            if (t.taskRun && t.type == StateType::Running && !firstStart.contains(t.flowRun))
                firstStart.insert(t.flowRun, t.timeUs);
        }
        for (FlowRun* run : runs) {
            deltas[firstStart.value(run)] += 1;
            deltas[run->endedUs] -= 1;
        }
        int now = 0;
        int peak = 0;
        for (const auto& [time, delta] : deltas) {
            now += delta;
            peak = std::max(peak, now);
        }
        QCOMPARE(peak, 2);
        QVERIFY(engine.limiter().globalUsage().value(0).activeSlots == 0);
        // A strict flow-level limit that does not exist fails its task runs with the name.
        const auto strict = parseFlow(R"({"name": "s", "concurrency": [{"name": "nowhere", "strict": true}],
            "tasks": [{"id": "a", "kind": "noop"}]})");
        FlowRun* failed = engine.start(*strict);
        QVERIFY(waitForFlow(engine, failed, 30000));
        TaskRun* a = taskRun(failed, QStringLiteral("a"));
        QCOMPARE(toString(a->type), QStringLiteral("FAILED"));
        QVERIFY2(a->message.contains(QStringLiteral("its flow run: global concurrency limit \"nowhere\"")),
                 qPrintable(a->message));
    }

    void cancelWhileWaitingLeavesTheQueue()
    {
        Engine engine;
        engine.limiter().setGlobalLimit(QStringLiteral("g"), {1, true, 0});
        const auto flow = parseFlow(R"({"name": "f", "tasks": [
            {"id": "t", "kind": "sleep", "seconds": 5, "map": 5, "concurrency": ["g"]}]})");
        FlowRun* run = engine.start(*flow);
        QTRY_COMPARE_WITH_TIMEOUT(engine.limiter().globalWaiters(QStringLiteral("g")).size(), 4, 5000);
        engine.cancelFlowRun(run, QStringLiteral("test"));
        QVERIFY(waitForFlow(engine, run, 30000));
        QVERIFY(engine.limiter().globalWaiters(QStringLiteral("g")).isEmpty());
        QVERIFY(engine.limiter().globalHolders(QStringLiteral("g")).isEmpty());
    }

    void exactAcrossProcessesAndLease_data() { addBackendRows(); }
    void exactAcrossProcessesAndLease()
    {
        // Three `flowdeck run` processes share a global limit of 4 slots (tasks occupying 2 and 1);
        // one is SIGKILLed mid-run. From the stored history, never more than 4 slots were held at
        // once; the survivors finish; the killed one's held slots come back within its lease.
        QFETCH(QString, backend);
        FLOWDECK_FRESH_DATABASE(url, backend);
        QTemporaryDir dir;
        const QString flow = writeFile(dir, QStringLiteral("shared.json"), R"({"name": "shared", "tasks": [
            {"id": "two", "kind": "sleep", "seconds": [0.1, 0.3], "map": 12, "concurrency": [{"name": "shared", "occupy": 2}]},
            {"id": "one", "kind": "sleep", "seconds": [0.1, 0.3], "map": 12, "concurrency": ["shared"]}]})");
        QCOMPARE(runCli({QStringLiteral("gcl"), QStringLiteral("create"), QStringLiteral("shared"),
                         QStringLiteral("--limit"), QStringLiteral("4"), QStringLiteral("--db"), url}),
                 0);
        QProcessEnvironment env = QProcessEnvironment::systemEnvironment();
        env.insert(QStringLiteral("FLOWDECK_SLOT_LEASE_S"), QStringLiteral("3"));
        QList<QProcess*> children;
        for (int i = 0; i < 3; ++i) {
            auto* p = new QProcess(this);
            p->setProcessEnvironment(env);
            if (i > 0)
                p->setStandardOutputFile(QProcess::nullDevice());
            p->start(flowdeckBinary(),
                     {QStringLiteral("run"), flow, QStringLiteral("--json"), QStringLiteral("--db"), url});
            QVERIFY(p->waitForStarted());
            children << p;
        }
        QByteArray firstOut;
        QElapsedTimer t;
        t.start();
        while (firstOut.count("\"state\":\"RUNNING\"") < 2 && t.elapsed() < 60000) {
            children[0]->waitForReadyRead(50);
            firstOut += children[0]->readAllStandardOutput();
        }
        QVERIFY2(children[0]->state() == QProcess::Running,
                 "the first process ended before it could be killed");
        ::kill(pid_t(children[0]->processId()), SIGKILL);
        const qint64 killedAtUs = nowUs();
        QVERIFY(children[0]->waitForFinished(10000));
        for (int i = 1; i < 3; ++i) {
            QVERIFY2(children[i]->waitForFinished(120000), "a surviving process did not finish");
            const QByteArray err = children[i]->readAllStandardError();
            QVERIFY2(children[i]->exitCode() == 0, err.right(2000).constData());
        }
        Db db(url);
        QVERIFY(db.ok());
        const qint64 leaseEndUs = killedAtUs + 3'000'000;
        QCOMPARE(db.count(QStringLiteral(
                              "SELECT count(*) FROM global_concurrency_slots WHERE lease_expires_at > ?"),
                          {std::max(nowUs(), leaseEndUs)}),
                 qint64(0));
        QCOMPARE(
            db.count(QStringLiteral("SELECT count(*) FROM flow_runs WHERE flow_name = 'shared' AND state = "
                                    "'COMPLETED'")),
            qint64(2));
        const int peak = storedPeak(db, QStringLiteral("shared"),
                                    {{QStringLiteral("two"), 2}, {QStringLiteral("one"), 1}}, killedAtUs);
        qInfo("peak of %d slots held at once across the three processes (limit 4)", peak);
        QVERIFY2(peak <= 4, qPrintable(QStringLiteral("%1 slots held at once").arg(peak)));
        QVERIFY(peak >= 3); // and the limit was used
        qDeleteAll(children);
    }

    void rateWindowAcrossProcesses_data() { addBackendRows(); }
    void rateWindowAcrossProcesses()
    {
        // Three processes start 20 rate-limited task runs each on one limit of 10 per second: from the
        // stored start times, every start is at least a second after the start ten places before it
        // (no 1-second window holds more than 10), and it took about the ideal time.
        QFETCH(QString, backend);
        FLOWDECK_FRESH_DATABASE(url, backend);
        QTemporaryDir dir;
        const QString flow = writeFile(dir, QStringLiteral("rate.json"), R"({"name": "rate", "tasks": [
            {"id": "t", "kind": "noop", "map": 20, "rate_limit": "api"}]})");
        QCOMPARE(runCli({QStringLiteral("gcl"), QStringLiteral("create"), QStringLiteral("api"),
                         QStringLiteral("--limit"), QStringLiteral("10"),
                         QStringLiteral("--slot-decay-per-second"), QStringLiteral("10"),
                         QStringLiteral("--db"), url}),
                 0);
        QList<QProcess*> children;
        for (int i = 0; i < 3; ++i) {
            auto* p = new QProcess(this);
            p->setStandardOutputFile(QProcess::nullDevice());
            p->start(flowdeckBinary(), {QStringLiteral("run"), flow, QStringLiteral("--db"), url});
            QVERIFY(p->waitForStarted());
            children << p;
        }
        for (QProcess* p : children) {
            QVERIFY(p->waitForFinished(120000));
            QVERIFY2(p->exitCode() == 0, p->readAllStandardError().right(2000).constData());
        }
        Db db(url);
        QVERIFY(db.ok());
        QList<qint64> starts;
        for (const auto& row :
             db.rows(QStringLiteral("SELECT time FROM state_history WHERE state = 'RUNNING' AND "
                                    "task_run_id IS NOT NULL ORDER BY time")))
            starts << row.value(0).toLongLong();
        QCOMPARE(starts.size(), 60);
        qint64 tightest = std::numeric_limits<qint64>::max();
        for (qsizetype i = 10; i < starts.size(); ++i)
            tightest = std::min(tightest, starts[i] - starts[i - 10]);
        const double span = double(starts.last() - starts.first()) / 1e6;
        qInfo("60 starts over %.3f s (ideal 5.000 s); the tightest ten-apart pair is %.6f s apart", span,
              double(tightest) / 1e6);
        QVERIFY2(tightest >= 1'000'000, qPrintable(QString::number(tightest)));
        QVERIFY2(span < 6.0, qPrintable(QString::number(span)));
        qDeleteAll(children);
    }

    void liveChangesApplyAndWaitersAreListed_data() { addBackendRows(); }
    void liveChangesApplyAndWaitersAreListed()
    {
        // A paused limit (0) holds a running process's task runs; `gcl ls` counts them waiting; raising
        // it starts two within a second; deleting it releases the rest.
        QFETCH(QString, backend);
        FLOWDECK_FRESH_DATABASE(url, backend);
        QTemporaryDir dir;
        const QString flow = writeFile(dir, QStringLiteral("live.json"), R"({"name": "live", "tasks": [
            {"id": "t", "kind": "sleep", "seconds": 0.5, "map": 6, "concurrency": ["g"]}]})");
        const QStringList dbArgs{QStringLiteral("--db"), url};
        QCOMPARE(runCli(QStringList{QStringLiteral("gcl"), QStringLiteral("create"), QStringLiteral("g"),
                                    QStringLiteral("--limit"), QStringLiteral("0")}
                        + dbArgs),
                 0);
        QProcess run;
        run.setStandardOutputFile(QProcess::nullDevice());
        run.start(flowdeckBinary(), QStringList{QStringLiteral("run"), flow} + dbArgs);
        QVERIFY(run.waitForStarted());
        Db db(url);
        QVERIFY(db.ok());
        QTRY_COMPARE_WITH_TIMEOUT(
            db.count(QStringLiteral(
                "SELECT count(*) FROM task_runs WHERE state_name = 'AwaitingConcurrencySlot'")),
            qint64(6), 20000);
        QByteArray out;
        QCOMPARE(runCli(QStringList{QStringLiteral("gcl"), QStringLiteral("ls"), QStringLiteral("--json")}
                            + dbArgs,
                        &out),
                 0);
        const QJsonObject listed = QJsonDocument::fromJson(out).array().at(0).toObject();
        QCOMPARE(listed.value(QStringLiteral("name")).toString(), QStringLiteral("g"));
        QCOMPARE(listed.value(QStringLiteral("waiting")).toInt(), 6);
        QCOMPARE(listed.value(QStringLiteral("active_slots")).toInt(), 0);
        QVERIFY(listed.value(QStringLiteral("slot_decay_per_second")).isNull());

        const qint64 raisedUs = nowUs();
        QCOMPARE(runCli(QStringList{QStringLiteral("gcl"), QStringLiteral("update"), QStringLiteral("g"),
                                    QStringLiteral("--limit"), QStringLiteral("2")}
                        + dbArgs),
                 0);
        QTRY_COMPARE_WITH_TIMEOUT(
            db.count(QStringLiteral(
                "SELECT count(*) FROM state_history WHERE state = 'RUNNING' AND task_run_id IS "
                "NOT NULL")),
            qint64(2), 10000);
        const qint64 firstStart
            = db.value(QStringLiteral(
                           "SELECT min(time) FROM state_history WHERE state = 'RUNNING' AND task_run_id "
                           "IS NOT NULL"))
                  .toLongLong();
        qInfo("the raised limit started work %.3f s after the update began",
              double(firstStart - raisedUs) / 1e6);
        QVERIFY2(firstStart - raisedUs < 1'500'000, qPrintable(QString::number(firstStart - raisedUs)));
        QCOMPARE(runCli(QStringList{QStringLiteral("gcl"), QStringLiteral("inspect"), QStringLiteral("g"),
                                    QStringLiteral("--json")}
                            + dbArgs,
                        &out),
                 0);
        const QJsonObject inspected = QJsonDocument::fromJson(out).object();
        QCOMPARE(inspected.value(QStringLiteral("active_slots")).toInt(), 2);
        QCOMPARE(inspected.value(QStringLiteral("holders")).toArray().size(), 2);

        QCOMPARE(runCli(QStringList{QStringLiteral("gcl"), QStringLiteral("delete"), QStringLiteral("g")}
                        + dbArgs),
                 0);
        QVERIFY(run.waitForFinished(30000));
        QCOMPARE(run.exitCode(), 0);
        QCOMPARE(db.count(QStringLiteral("SELECT count(*) FROM global_concurrency_slots")), qint64(0));
    }

    void flowLevelAcrossProcesses_data() { addBackendRows(); }
    void flowLevelAcrossProcesses()
    {
        // Three processes each run a flow that occupies "nightly" (limit 1) for its whole run: from
        // the stored history, their flow runs' active spans never overlap, and no slot is left.
        QFETCH(QString, backend);
        FLOWDECK_FRESH_DATABASE(url, backend);
        QTemporaryDir dir;
        const QString flow = writeFile(dir, QStringLiteral("nightly.json"),
                                       R"({"name": "nightly", "concurrency": ["nightly"], "tasks": [
            {"id": "a", "kind": "sleep", "seconds": 0.2},
            {"id": "b", "kind": "sleep", "seconds": 0.2, "depends_on": ["a"]}]})");
        QCOMPARE(runCli({QStringLiteral("gcl"), QStringLiteral("create"), QStringLiteral("nightly"),
                         QStringLiteral("--limit"), QStringLiteral("1"), QStringLiteral("--db"), url}),
                 0);
        QList<QProcess*> children;
        for (int i = 0; i < 3; ++i) {
            auto* p = new QProcess(this);
            p->setStandardOutputFile(QProcess::nullDevice());
            p->start(flowdeckBinary(), {QStringLiteral("run"), flow, QStringLiteral("--db"), url});
            QVERIFY(p->waitForStarted());
            children << p;
        }
        for (QProcess* p : children) {
            QVERIFY(p->waitForFinished(120000));
            QVERIFY2(p->exitCode() == 0, p->readAllStandardError().right(2000).constData());
        }
        Db db(url);
        QVERIFY(db.ok());
        const auto spans = db.rows(QStringLiteral("SELECT (SELECT min(h.time) FROM state_history h WHERE "
                                                  "h.flow_run_id = f.id AND h.state = 'RUNNING' AND "
                                                  "h.task_run_id IS NOT NULL), (SELECT max(h.time) FROM "
                                                  "state_history h WHERE h.flow_run_id = f.id AND "
                                                  "h.task_run_id IS NOT NULL) FROM flow_runs f ORDER BY 1"));
        QCOMPARE(spans.size(), 3);
        for (qsizetype i = 1; i < spans.size(); ++i) {
            QVERIFY2(
                spans[i].value(0).toLongLong() >= spans[i - 1].value(1).toLongLong(),
                qPrintable(QStringLiteral("flow run %1 started before flow run %2 ended").arg(i).arg(i - 1)));
        }
        QCOMPARE(db.count(QStringLiteral("SELECT count(*) FROM global_concurrency_slots")), qint64(0));
        qDeleteAll(children);
    }

    void validateShowsWhatEachTaskOccupies()
    {
        QTemporaryDir dir;
        const QString flow
            = writeFile(dir, QStringLiteral("v.json"), R"({"name": "v", "concurrency": ["nightly"],
            "tasks": [{"id": "load", "kind": "noop", "concurrency": [{"name": "warehouse", "occupy": 2}],
                       "rate_limit": {"name": "api", "strict": true}},
                      {"id": "free", "kind": "noop"}]})");
        QByteArray out;
        QCOMPARE(runCli({QStringLiteral("validate"), flow}, &out), 0);
        QVERIFY2(out.contains("the flow run occupies \"nightly\" x1 for its whole run"), out.constData());
        QVERIFY2(out.contains(
                     "task \"load\" occupies \"warehouse\" x2 per attempt; takes \"api\" x1 (strict) of a "
                     "rate limit per attempt"),
                 out.constData());
        QVERIFY(!out.contains("task \"free\""));
        // A bad entry is an invalid flow: exit 2 with the place.
        const QString bad = writeFile(
            dir, QStringLiteral("bad.json"),
            R"({"name": "b", "tasks": [{"id": "t", "kind": "noop", "rate_limit": {"name": "a<b"}}]})");
        QByteArray err;
        QCOMPARE(runCli({QStringLiteral("validate"), bad}, nullptr, &err), 2);
        QVERIFY2(err.contains("tasks[0].rate_limit.name: invalid limit name \"a<b\""), err.constData());
    }

    void resetAndActiveSlots_data() { addBackendRows(); }
    void resetAndActiveSlots()
    {
        QFETCH(QString, backend);
        FLOWDECK_FRESH_DATABASE(url, backend);
        const QStringList dbArgs{QStringLiteral("--db"), url};
        QCOMPARE(runCli(QStringList{QStringLiteral("gcl"), QStringLiteral("create"), QStringLiteral("g"),
                                    QStringLiteral("--limit"), QStringLiteral("5"),
                                    QStringLiteral("--active-slots"), QStringLiteral("3")}
                        + dbArgs),
                 0);
        Db db(url);
        QVERIFY(db.ok());
        // A slot held by a task run that no longer exists (its process went without a trace).
        db.rows(
            QStringLiteral("INSERT INTO global_concurrency_slots (name, task_run_id, occupy, holder, decays, "
                           "lease_expires_at) VALUES ('g', 'gone', 1, 'elsewhere', 0, ?)"),
            {nowUs() + 60'000'000});
        QByteArray out;
        QCOMPARE(runCli(QStringList{QStringLiteral("gcl"), QStringLiteral("inspect"), QStringLiteral("g"),
                                    QStringLiteral("--json")}
                            + dbArgs,
                        &out),
                 0);
        QCOMPARE(QJsonDocument::fromJson(out).object().value(QStringLiteral("active_slots")).toInt(), 4);
        QCOMPARE(
            runCli(QStringList{QStringLiteral("gcl"), QStringLiteral("reset"), QStringLiteral("g")} + dbArgs,
                   &out),
            0);
        QVERIFY2(out.contains("freed 2 slot rows"), out.constData());
        QCOMPARE(db.count(QStringLiteral("SELECT count(*) FROM global_concurrency_slots")), qint64(0));
        // Bad input: exit 2, nothing written.
        QByteArray err;
        QCOMPARE(runCli(QStringList{QStringLiteral("gcl"), QStringLiteral("update"), QStringLiteral("g"),
                                    QStringLiteral("--limit"), QStringLiteral("x")}
                            + dbArgs,
                        nullptr, &err),
                 2);
        QVERIFY2(err.contains("--limit must be a non-negative integer"), err.constData());
        QCOMPARE(runCli(QStringList{QStringLiteral("gcl"), QStringLiteral("update"), QStringLiteral("g"),
                                    QStringLiteral("--slot-decay-per-second"), QStringLiteral("-1")}
                            + dbArgs,
                        nullptr, &err),
                 2);
        QCOMPARE(runCli(QStringList{QStringLiteral("gcl"), QStringLiteral("create"), QStringLiteral("a>b"),
                                    QStringLiteral("--limit"), QStringLiteral("1")}
                            + dbArgs,
                        nullptr, &err),
                 2);
        QVERIFY2(err.contains("invalid limit name \"a>b\""), err.constData());
        QCOMPARE(runCli(QStringList{QStringLiteral("gcl"), QStringLiteral("disable"), QStringLiteral("nope")}
                            + dbArgs,
                        nullptr, &err),
                 2);
        QCOMPARE(db.value(QStringLiteral("SELECT slot_limit FROM global_concurrency_limits WHERE name = 'g'"))
                     .toInt(),
                 5);
        QCOMPARE(runCli(QStringList{QStringLiteral("gcl"), QStringLiteral("disable"), QStringLiteral("g")}
                        + dbArgs),
                 0);
        QCOMPARE(
            db.value(QStringLiteral("SELECT active FROM global_concurrency_limits WHERE name = 'g'")).toInt(),
            0);
        QCOMPARE(runCli(QStringList{QStringLiteral("global-concurrency-limit"), QStringLiteral("enable"),
                                    QStringLiteral("g")}
                        + dbArgs),
                 0);
        QCOMPARE(
            db.value(QStringLiteral("SELECT active FROM global_concurrency_limits WHERE name = 'g'")).toInt(),
            1);
    }
};

QTEST_GUILESS_MAIN(TestGlobalLimits)
#include "tst_globallimits.moc"
