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

#include <QTest>

#include <algorithm>

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
            QVERIFY2(gap >= 250'000 - 1'000 && gap < 290'000, qPrintable(QString::number(gap)));
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
        QVERIFY2(secondStart - firstEnd < 20'000, qPrintable(QString::number(secondStart - firstEnd)));
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
};

QTEST_GUILESS_MAIN(TestGlobalLimits)
#include "tst_globallimits.moc"
