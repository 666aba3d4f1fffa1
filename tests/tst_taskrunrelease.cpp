// A large flow run with a store frees its finished task runs a block at a time: they live on only as
// rows. What reads them downstream (map_over, results) still finds them, a cancel or a timeout that
// was never reached does not touch freed memory, and the summaries count what was freed.
#include "run/engine.h"
#include "run/engineobserver.h"
#include "run/flowrun.h"
#include "run/scheduler.h"
#include "session/enginelink.h"
#include "store/connectionpool.h"
#include "store/databaseurl.h"
#include "store/store.h"
#include "testutil.h"

#include <QFile>
#include <QJsonArray>
#include <QJsonDocument>
#include <QProcess>
#include <QRegularExpression>
#include <QTemporaryDir>
#include <QTest>

#include <algorithm>
#include <malloc.h>
#include <memory>

using namespace flowdeck;
using namespace flowdeck::test;

namespace {

//! Runs of the flows here: a few blocks of TaskRunArray::BlockRuns and a part of one.
constexpr int Runs = 3 * int(TaskRunArray::BlockRuns) + 500;

//! Bytes the allocator has handed out and not taken back (small blocks and mapped ones).
qint64 heapInUse()
{
    const struct mallinfo2 info = mallinfo2();
    return qint64(info.uordblks + info.hblkhd);
}

//! Whether heapInUse() follows allocations (AddressSanitizer's allocator does not report to mallinfo2).
bool heapIsMeasured()
{
    const qint64 before = heapInUse();
    auto block = std::make_unique<char[]>(1 << 20);
    block[0] = 1;
    return heapInUse() - before >= (1 << 20);
}

qint64 scalar(const QString& url, const QString& sql, const QVariantList& binds = {})
{
    return query(url, sql, binds).value(0).value(0).toLongLong();
}

//! An engine writing to a fresh database, releasing the finished task runs of flow runs of at least
//! \a releaseFrom task runs.
struct Durable {
    Durable(const DatabaseUrl& url, qint64 releaseFrom)
        : pool(url)
        , store(pool, engine.scheduler())
    {
        engine.setReleaseFinishedFrom(releaseFrom);
        auto opening = store.open();
        finish(opening);
        link = std::make_unique<EngineLink>(store, engine);
    }
    FlowRun* start(const QByteArray& json)
    {
        const auto flow = parseFlow(json);
        return flow ? engine.start(*flow) : nullptr;
    }
    //! Runs \a json to its end; the most of its task runs in memory at once (-1 if it did not end).
    qint64 mostInMemory(const QByteArray& json, FlowRun** run);
    void flush()
    {
        auto flushing = store.flush();
        finish(flushing, 60000);
    }
    Engine engine;
    ConnectionPool pool;
    Store store;
    std::unique_ptr<EngineLink> link;
};

std::optional<DatabaseUrl> parseUrl(const QString& url)
{
    QString error;
    auto parsed = DatabaseUrl::parse(url, &error);
    if (!parsed)
        qWarning("%s", qPrintable(error));
    return parsed;
}

//! An engine and store on \a url (null if it is not a database URL).
std::unique_ptr<Durable> durableOn(const QString& url, qint64 releaseFrom)
{
    const auto parsed = parseUrl(url);
    return parsed ? std::make_unique<Durable>(*parsed, releaseFrom) : nullptr;
}

//! x, Runs no-op task runs; y, a sleep of \a seconds mapping over x, with a timeout of \a timeout s.
QByteArray sleepsAfterNoops(double seconds, int timeout)
{
    return QStringLiteral(R"({"name": "pairs", "tasks": [
            {"id": "x", "kind": "noop", "map": %1},
            {"id": "y", "kind": "sleep", "map_over": "x", "seconds": %2, "timeout_s": %3}]})")
        .arg(Runs)
        .arg(seconds)
        .arg(timeout)
        .toUtf8();
}

QByteArray mapped(const char* kind, int runs, const char* extra = "")
{
    return QStringLiteral(R"({"name": "wide", "tasks": [{"id": "x", "kind": "%1", "map": %2%3}]})")
        .arg(QLatin1String(kind))
        .arg(runs)
        .arg(QLatin1String(extra))
        .toUtf8();
}

//! The most task runs of a flow run in memory at once (created, not freed), seen at each transition.
struct LiveRunsObserver : EngineObserver {
    void onTransition(const TransitionEvent& e) override
    {
        most = std::max(most, e.flowRun->materializedTaskRuns - e.flowRun->releasedTaskRuns);
    }
    qint64 most = 0;
};

qint64 Durable::mostInMemory(const QByteArray& json, FlowRun** run)
{
    LiveRunsObserver live;
    engine.addObserver(&live);
    *run = start(json);
    const bool ended = *run && waitForFlow(engine, *run, 120000);
    engine.removeObserver(&live);
    return ended ? live.most : -1;
}

} // namespace

class TestTaskRunRelease : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void init() { QVERIFY(malloc_trim(0) >= 0); }

    //! Every block of a large run is freed once its runs have finished; the rows are all stored, and
    //! the heap keeps next to nothing per finished run. The same flow below the threshold keeps them.
    void finishedBlocksAreFreed_data() { addBackendRows(); }
    void finishedBlocksAreFreed()
    {
        QFETCH(QString, backend);
        FLOWDECK_FRESH_DATABASE(url, backend);
        const auto durable = durableOn(url, Runs);
        QVERIFY(durable);
        Durable& d = *durable;
        FlowRun* run = d.start(mapped("noop", Runs));
        QVERIFY(run);
        QVERIFY(run->releasesFinished);
        QVERIFY(waitForFlow(d.engine, run, 120000));
        d.flush();
        QCOMPARE(toString(run->type), QStringLiteral("COMPLETED"));
        // The last blocks go with the sweep after the flow run's end.
        QTRY_COMPARE_WITH_TIMEOUT(run->releasedTaskRuns, qint64(Runs), 10000);
        const TaskNode& node = run->nodes[0];
        QCOMPARE(node.runs.released(), std::size_t(Runs));
        QVERIFY(node.runs.find(0) == nullptr && node.runs.find(Runs - 1) == nullptr);
        QCOMPARE(node.countByType[size_t(StateType::Completed)], qint64(Runs));
        QCOMPARE(node.releasedTally.runs, qint64(Runs));
        QCOMPARE(node.releasedTally.attempts, qint64(Runs));
        // What the flow run still holds: the heap it gives back when the engine forgets it (the store's
        // caches and buffers, also on the heap, stay as they are).
        const QString id = run->id.toString();
        const qint64 holding = heapInUse();
        QVERIFY(d.engine.release(run));
        const qint64 perRun = (holding - heapInUse()) / Runs;
        qInfo("%lld bytes of heap per finished task run once freed (sizeof(TaskRun) = %zu)", perRun,
              sizeof(TaskRun));
        const bool measured = heapIsMeasured();
        QVERIFY2(perRun < 16 || !measured, qPrintable(QString::number(perRun)));
        QCOMPARE(scalar(url,
                        QStringLiteral("SELECT count(*) FROM task_runs WHERE flow_run_id = ? AND state = ?"),
                        {id, QStringLiteral("COMPLETED")}),
                 qint64(Runs));

        // One task run fewer than the threshold: every run stays.
        d.engine.setReleaseFinishedFrom(Runs + 1);
        FlowRun* kept = d.start(mapped("noop", Runs));
        QVERIFY(!kept->releasesFinished);
        QVERIFY(waitForFlow(d.engine, kept, 120000));
        QCOMPARE(kept->releasedTaskRuns, qint64(0));
        QVERIFY(kept->nodes[0].runs.find(Runs - 1) != nullptr);
        QCOMPARE(toString(kept->nodes[0].runs[0].type), QStringLiteral("COMPLETED"));
        const qint64 keeping = heapInUse();
        QVERIFY(d.engine.release(kept));
        const qint64 keptPerRun = (keeping - heapInUse()) / Runs;
        qInfo("%lld bytes of heap per finished task run kept", keptPerRun);
        QVERIFY2(keptPerRun >= qint64(sizeof(TaskRun)) || !measured, qPrintable(QString::number(keptPerRun)));
    }

    //! Blocks are freed while the run goes on, not only at its end: what stays in memory follows the
    //! runs in flight, not the runs done. What stays is set by the store's back-pressure
    //! (Engine::MaxUncommitted) and the timing of its commits, not by the size of the run: 46,080 to
    //! 50,176 for 100k, 200k and 400k runs, idle or beside two busy cores. The run is large enough that
    //! half of it leaves twice that room.
    void blocksAreFreedWhileTheRunGoesOn()
    {
        constexpr int Many = 200000;
        FLOWDECK_FRESH_DATABASE(url, QStringLiteral("sqlite"));
        const auto durable = durableOn(url, Runs);
        QVERIFY(durable);
        Durable& d = *durable;
        FlowRun* run = nullptr;
        const qint64 most = d.mostInMemory(mapped("noop", Many), &run);
        QVERIFY(most >= 0);
        QCOMPARE(toString(run->type), QStringLiteral("COMPLETED"));
        qInfo("at most %lld of %d task runs in memory at once", most, Many);
        QVERIFY2(most < Many / 2, qPrintable(QString::number(most)));
    }

    //! A task mapping over a large one reads its counterpart's state and result; a task reading every
    //! result of another keeps them until it has read them. Every value arrives.
    void downstreamReadsWhatItNeeds()
    {
        FLOWDECK_FRESH_DATABASE(url, QStringLiteral("sqlite"));
        const auto durable = durableOn(url, Runs);
        QVERIFY(durable);
        Durable& d = *durable;
        FlowRun* run = d.start(QStringLiteral(R"JSON({"name": "chain", "tasks": [
            {"id": "a", "kind": "noop", "map": %1, "value": "v{{map_index}}"},
            {"id": "b", "kind": "noop", "map_over": "a", "value": "{{upstream.result}}-b"},
            {"id": "all", "kind": "noop", "value": "{{tasks.b.result}}"}]})JSON")
                                   .arg(Runs)
                                   .toUtf8());
        QVERIFY(run);
        QVERIFY(waitForFlow(d.engine, run, 120000));
        d.flush();
        QCOMPARE(toString(run->type), QStringLiteral("COMPLETED"));
        QTRY_COMPARE_WITH_TIMEOUT(run->releasedTaskRuns, qint64(2 * Runs + 1), 10000);
        const QString id = run->id.toString();
        for (int k : {0, 1, int(TaskRunArray::BlockRuns), Runs - 1}) {
            QCOMPARE(query(url,
                           QStringLiteral("SELECT result FROM task_runs WHERE flow_run_id = ? AND task = 'b' "
                                          "AND map_index = ?"),
                           {id, k})
                         .value(0)
                         .value(0)
                         .toString(),
                     QStringLiteral("\"v%1-b\"").arg(k));
        }
        const QByteArray all = query(url,
                                     QStringLiteral("SELECT result FROM task_runs WHERE flow_run_id = ? "
                                                    "AND task = 'all'"),
                                     {id})
                                   .value(0)
                                   .value(0)
                                   .toByteArray();
        const QJsonArray values = QJsonDocument::fromJson(all).array();
        QCOMPARE(values.size(), Runs);
        QCOMPARE(values.at(Runs - 1).toString(), QStringLiteral("v%1-b").arg(Runs - 1));
    }

    //! In a chain (b maps over a and reads each counterpart's result), a's runs go once the b runs
    //! that read them have started: before the chain ends. b's runs are created after all of a's, so
    //! a's stay until then.
    void aChainFreesRunsBeforeItEnds()
    {
        constexpr int Many = 100000;
        FLOWDECK_FRESH_DATABASE(url, QStringLiteral("sqlite"));
        const auto durable = durableOn(url, Runs);
        QVERIFY(durable);
        Durable& d = *durable;
        FlowRun* run = nullptr;
        const qint64 most = d.mostInMemory(QStringLiteral(R"JSON({"name": "pairs", "tasks": [
            {"id": "a", "kind": "noop", "map": %1, "value": "v{{map_index}}"},
            {"id": "b", "kind": "noop", "map_over": "a", "value": "{{upstream.result}}"}]})JSON")
                                               .arg(Many)
                                               .toUtf8(),
                                           &run);
        QVERIFY(most >= 0);
        d.flush();
        QCOMPARE(toString(run->type), QStringLiteral("COMPLETED"));
        qInfo("at most %lld of %d task runs in memory at once", most, 2 * Many);
        QVERIFY2(most < 2 * Many - qint64(TaskRunArray::BlockRuns), qPrintable(QString::number(most)));
        QCOMPARE(query(url,
                       QStringLiteral("SELECT result FROM task_runs WHERE flow_run_id = ? AND task = 'b' AND "
                                      "map_index = ?"),
                       {run->id.toString(), Many - 1})
                     .value(0)
                     .value(0)
                     .toString(),
                 QStringLiteral("\"v%1\"").arg(Many - 1));
    }

    //! Cancelling a large run after some of its blocks were freed ends the rest; nothing reads a freed
    //! run, the counts add up, and the sleeps and timeouts of the cancelled runs leave the deadline
    //! queue with their blocks.
    void cancelAfterBlocksWereFreed()
    {
        FLOWDECK_FRESH_DATABASE(url, QStringLiteral("sqlite"));
        const auto durable = durableOn(url, Runs);
        QVERIFY(durable);
        Durable& d = *durable;
        FlowRun* run = d.start(sleepsAfterNoops(30, 3600));
        QVERIFY(run);
        // x's runs are freed while y's sleep.
        QVERIFY(waitUntil(
            [&] { return run->releasedTaskRuns == Runs && run->count(StateType::Running) == Runs; }, 120000));
        QVERIFY(d.engine.cancelFlowRun(run, QStringLiteral("enough")));
        QVERIFY(waitForFlow(d.engine, run, 60000));
        d.flush();
        QCOMPARE(toString(run->type), QStringLiteral("CANCELLED"));
        QCOMPARE(run->count(StateType::Completed), qint64(Runs));
        QCOMPARE(run->count(StateType::Cancelled), qint64(Runs));
        QCOMPARE(scalar(url,
                        QStringLiteral("SELECT count(*) FROM task_runs WHERE flow_run_id = ? AND state = ?"),
                        {run->id.toString(), QStringLiteral("CANCELLED")}),
                 qint64(Runs));
        QTRY_COMPARE_WITH_TIMEOUT(run->releasedTaskRuns, qint64(2 * Runs), 10000);
        QCOMPARE(d.engine.scheduler().deadlineCount(), std::size_t(0));
    }

    //! A large run paused after some of its blocks were freed holds the runs that become ready; on
    //! resume they start, or, cancelled while paused, they end without running, and go with their
    //! blocks.
    void pausedAfterBlocksWereFreed_data()
    {
        QTest::addColumn<bool>("cancel");
        QTest::newRow("resumed") << false;
        QTest::newRow("cancelled") << true;
    }
    void pausedAfterBlocksWereFreed()
    {
        QFETCH(bool, cancel);
        FLOWDECK_FRESH_DATABASE(url, QStringLiteral("sqlite"));
        const auto durable = durableOn(url, Runs);
        QVERIFY(durable);
        Durable& d = *durable;
        FlowRun* run = d.start(sleepsAfterNoops(0.01, 600));
        QVERIFY(run);
        QVERIFY(waitUntil([&] { return run->releasedTaskRuns >= qint64(TaskRunArray::BlockRuns); }, 120000));
        // y's thousands of sleeps are still to run: the run is far from its end.
        QVERIFY(d.engine.pauseFlowRun(run, QStringLiteral("the test")));
        QVERIFY(waitUntil([&] { return run->type == StateType::Paused; }, 60000));
        QVERIFY(run->count(StateType::Completed) < 2 * Runs);
        if (cancel)
            QVERIFY(d.engine.cancelFlowRun(run, QStringLiteral("enough")));
        else
            QVERIFY(d.engine.resumeFlowRun(run, QStringLiteral("the test")));
        QVERIFY(waitForFlow(d.engine, run, 120000));
        d.flush();
        QCOMPARE(toString(run->type), cancel ? QStringLiteral("CANCELLED") : QStringLiteral("COMPLETED"));
        QCOMPARE(run->finishedTaskRuns, qint64(2 * Runs));
        QTRY_COMPARE_WITH_TIMEOUT(run->releasedTaskRuns, qint64(2 * Runs), 10000);
        QCOMPARE(d.engine.scheduler().deadlineCount(), std::size_t(0));
        QCOMPARE(scalar(url,
                        QStringLiteral("SELECT count(*) FROM task_runs WHERE flow_run_id = ? AND state IN "
                                       "('COMPLETED', 'CANCELLED')"),
                        {run->id.toString()}),
                 qint64(2 * Runs));
    }

    //! The summary `flowdeck run` prints counts the runs that were freed.
    void runSummaryCountsFreedRuns()
    {
        FLOWDECK_FRESH_DATABASE(url, QStringLiteral("sqlite"));
        QTemporaryDir dir;
        const QString flowPath = dir.filePath(QStringLiteral("wide.json"));
        QFile file(flowPath);
        QVERIFY(file.open(QIODevice::WriteOnly));
        file.write(QStringLiteral(R"({"name": "wide", "tasks": [{"id": "x", "kind": "noop", "map": %1}]})")
                       .arg(Engine::DefaultReleaseFinishedFrom + 10)
                       .toUtf8());
        file.close();
        QProcess p;
        p.setProcessChannelMode(QProcess::MergedChannels);
        p.start(flowdeckBinary(), {QStringLiteral("run"), flowPath, QStringLiteral("--db"), url});
        QVERIFY(p.waitForFinished(180000));
        const QString out = QString::fromUtf8(p.readAllStandardOutput());
        QCOMPARE(p.exitCode(), 0);
        const QString runs = QString::number(Engine::DefaultReleaseFinishedFrom + 10);
        const QRegularExpression row(QStringLiteral("^x\\s+%1\\s+%1\\s+0\\s+0\\s+0\\s+%1\\s").arg(runs),
                                     QRegularExpression::MultilineOption);
        QVERIFY2(row.match(out).hasMatch(), qPrintable(out.right(600)));
    }
};

QTEST_GUILESS_MAIN(TestTaskRunRelease)
#include "tst_taskrunrelease.moc"
