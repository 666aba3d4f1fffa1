// The store's read side (storequeries.h): runs written by a real Engine + Store, read back through
// the pool; on SQLite and on the PostgreSQL server in FLOWDECK_TEST_PG.
#include "run/engine.h"
#include "run/flowrun.h"
#include "run/runid.h"
#include "session/enginelink.h"
#include "store/connectionpool.h"
#include "store/runqueries.h"
#include "store/store.h"
#include "testutil.h"

#include <QCoreApplication>
#include <QElapsedTimer>
#include <QSet>
#include <QSqlError>
#include <QSqlQuery>
#include <QTest>
#include <QThread>

#include <map>
#include <memory>

using namespace flowdeck;
using namespace flowdeck::test;

namespace {

//! Runs the event loop until \a task is ready; a task that hangs aborts the run (its frame would
//! outlive the test's stack).
template<typename T>
T awaitTask(QCoro::Task<T>& task, int timeoutMs = 15000)
{
    QElapsedTimer timer;
    timer.start();
    while (!task.isReady() && timer.elapsed() < timeoutMs)
        QCoreApplication::processEvents(QEventLoop::AllEvents | QEventLoop::WaitForMoreEvents, 20);
    if (!task.isReady())
        qFatal("awaitTask: the task did not finish within %d ms", timeoutMs);
    return QCoro::waitFor(task);
}

void execSql(QSqlDatabase& db, const QString& sql, const QVariantList& values)
{
    QSqlQuery q(db);
    if (!q.prepare(sql))
        throw DatabaseError(QString(sql + QStringLiteral(": ") + q.lastError().text()).toStdString());
    for (const QVariant& v : values)
        q.addBindValue(v);
    if (!q.exec())
        throw DatabaseError(QString(sql + QStringLiteral(": ") + q.lastError().text()).toStdString());
}

QStringList idsOf(const QList<FlowRunRow>& rows)
{
    QStringList ids;
    for (const FlowRunRow& r : rows)
        ids << r.id;
    return ids;
}

QStringList namesOf(const QList<StateRow>& rows)
{
    QStringList names;
    for (const StateRow& r : rows)
        names << r.name;
    return names;
}

//! A flow run's history (a vector) or a task run's (StateHistory).
template<typename Stamps>
QStringList namesOf(const Stamps& stamps)
{
    QStringList names;
    for (std::size_t i = 0; i < stamps.size(); ++i)
        names << toString(stamps[i].name);
    return names;
}

const QByteArray kHelloFlow = R"({
  "name": "q-hello",
  "parameters": {"who": "queries"},
  "tasks": [
    {"id": "greet", "kind": "shell", "command": ["sh", "-c", "echo line one; echo line two {{who}}; echo oops >&2"]},
    {"id": "spread", "kind": "noop", "map": 3, "tags": ["cpu", "io"]},
    {"id": "wrap", "kind": "noop", "depends_on": ["spread", "greet"]}
  ]
})";

const QByteArray kRetryFlow = R"({
  "name": "q-retry",
  "tasks": [
    {"id": "flaky", "kind": "fail", "message": "always", "retries": 2, "retry_delay_s": 0.01},
    {"id": "after", "kind": "noop", "depends_on": ["flaky"]},
    {"id": "solo", "kind": "noop"}
  ]
})";

const QByteArray kSleeperFlow = R"({
  "name": "q-sleeper",
  "tasks": [{"id": "nap", "kind": "sleep", "seconds": 30}]
})";

constexpr int SyntheticRuns = 30;
constexpr qint64 SyntheticBaseUs = 1'000'000'000'000'000; // 2001: older than every real run
//! Synthetic ids share this 8-character prefix (ambiguous); the orphan's prefix is unique.
const QString kSyntheticPrefix = QStringLiteral("5e5e5e5e");
const QString kOrphanId = QStringLiteral("abcdef01-0000-7000-8000-000000000001");

//! A database with runs: flows run by an engine through a store, plus rows written directly.
struct Fixture {
    QString url;
    std::unique_ptr<ConnectionPool> pool;
    RecordingObserver rec;
    std::unique_ptr<Engine> engine;
    std::unique_ptr<Store> store;
    std::unique_ptr<EngineLink> link;
    QList<FlowRun*> hello; //!< in start order
    QList<FlowRun*> retry;
    QStringList synthetic; //!< COMPLETED (even i) and FAILED (odd i), created in groups of 3 at the same time
};

} // namespace

class TestStoreQueries : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void cleanupTestCase();

    void listNewestFirstAndPaginate_data() { addBackendRows(); }
    void listNewestFirstAndPaginate();
    void listFilters_data() { addBackendRows(); }
    void listFilters();
    void flowRunAndTaskRuns_data() { addBackendRows(); }
    void flowRunAndTaskRuns();
    void countsAndHistory_data() { addBackendRows(); }
    void countsAndHistory();
    void logLines_data() { addBackendRows(); }
    void logLines();
    void cancelRequests_data() { addBackendRows(); }
    void cancelRequests();
    void resolvePrefixes_data() { addBackendRows(); }
    void resolvePrefixes();
    void cancelReachesRunningEngine_data() { addBackendRows(); }
    void cancelReachesRunningEngine();
    void errorsNameTheQuery_data() { addBackendRows(); }
    void errorsNameTheQuery();

private:
    //! The fixture of \a backend, built on first use; null (with the test failed) when that failed.
    Fixture* fixture(const QString& backend);
    void build(Fixture& f);
    FlowRun* runFlow(Fixture& f, const QByteArray& json);
    //! Every flow run id in the order the list must give, by a plain query.
    QStringList allIdsNewestFirst(Fixture& f, const QString& where = {});

    std::map<QString, std::unique_ptr<Fixture>> m_fixtures;
};

// Fails the PostgreSQL row in CI without FLOWDECK_TEST_PG and skips it elsewhere.
#define USE_FIXTURE(f)                                                                                       \
    QFETCH(QString, backend);                                                                                \
    FLOWDECK_REQUIRE_BACKEND(backend);                                                                       \
    Fixture* f = fixture(backend);                                                                           \
    if (!f)                                                                                                  \
        return;                                                                                              \
    ConnectionPool& pool = *f->pool;                                                                         \
    Q_UNUSED(pool)

void TestStoreQueries::cleanupTestCase()
{
    for (auto& [backend, f] : m_fixtures) {
        if (f->engine)
            cancelAndDrain(*f->engine);
        if (f->store) {
            auto flushing = f->store->flush();
            awaitTask(flushing);
        }
        f->link.reset();
        f->store.reset();
        f->engine.reset();
        f->pool.reset();
    }
    m_fixtures.clear();
}

Fixture* TestStoreQueries::fixture(const QString& backend)
{
    auto it = m_fixtures.find(backend);
    if (it != m_fixtures.end()) {
        if (it->second->store)
            return it->second.get();
        QTest::qFail("the fixture of this backend failed in an earlier test", __FILE__, __LINE__);
        return nullptr;
    }
    auto f = std::make_unique<Fixture>();
    Fixture* raw = f.get();
    m_fixtures.emplace(backend, std::move(f));
    QString error;
    raw->url = freshDatabaseUrl(backend, &error);
    if (raw->url.isEmpty()) {
        QTest::qFail(qPrintable(QStringLiteral("no %1 database: %2").arg(backend, error)), __FILE__,
                     __LINE__);
        return nullptr;
    }
    build(*raw);
    if (QTest::currentTestFailed()) {
        raw->link.reset();
        raw->store.reset();
        return nullptr;
    }
    return raw;
}

FlowRun* TestStoreQueries::runFlow(Fixture& f, const QByteArray& json)
{
    const auto flow = parseFlow(json);
    if (!flow)
        return nullptr;
    FlowRun* run = f.engine->start(*flow);
    if (!waitForFlow(*f.engine, run, 20000))
        return nullptr;
    auto flushing = f.store->flush();
    awaitTask(flushing);
    return run;
}

void TestStoreQueries::build(Fixture& f)
{
    QString error;
    const auto url = DatabaseUrl::parse(f.url, &error);
    QVERIFY2(url, qPrintable(error));
    f.pool = std::make_unique<ConnectionPool>(*url);
    f.engine = std::make_unique<Engine>();
    f.engine->addObserver(&f.rec);
    f.store = std::make_unique<Store>(*f.pool, f.engine->scheduler());
    auto opening = f.store->open();
    awaitTask(opening);
    f.link = std::make_unique<EngineLink>(*f.store, *f.engine);

    for (int i = 0; i < 3; ++i) {
        FlowRun* run = runFlow(f, kHelloFlow);
        QVERIFY(run);
        QCOMPARE(toString(run->type), QStringLiteral("COMPLETED"));
        f.hello << run;
    }
    for (int i = 0; i < 2; ++i) {
        FlowRun* run = runFlow(f, kRetryFlow);
        QVERIFY(run);
        QCOMPARE(toString(run->type), QStringLiteral("FAILED"));
        f.retry << run;
    }

    for (int i = 0; i < SyntheticRuns; ++i)
        f.synthetic
            << QStringLiteral("%1-0000-7000-8000-%2").arg(kSyntheticPrefix).arg(i, 12, 10, QLatin1Char('0'));
    const QStringList synthetic = f.synthetic;
    const QString worker = f.store->engineId();
    runOnPool(*f.pool, [synthetic, worker](QSqlDatabase& db) {
        const QString insert
            = QStringLiteral("INSERT INTO flow_runs (id, flow_name, state, state_name, created_at, worker) "
                             "VALUES (?, ?, ?, ?, ?, ?)");
        for (int i = 0; i < synthetic.size(); ++i) {
            const bool completed = i % 2 == 0;
            execSql(db, insert,
                    {synthetic[i], QStringLiteral("q-synthetic"),
                     completed ? QStringLiteral("COMPLETED") : QStringLiteral("FAILED"),
                     completed ? QStringLiteral("Completed") : QStringLiteral("Failed"),
                     SyntheticBaseUs + (i / 3) * 1000, worker});
        }
        // A run some process is still running (this store's engine does not know it).
        execSql(db, insert,
                {kOrphanId, QStringLiteral("q-synthetic"), QStringLiteral("RUNNING"),
                 QStringLiteral("Running"), SyntheticBaseUs + 100'000'000, worker});
    });
}

QStringList TestStoreQueries::allIdsNewestFirst(Fixture& f, const QString& where)
{
    const QString sql = QStringLiteral("SELECT id FROM flow_runs %1 ORDER BY created_at DESC, id DESC")
                            .arg(where.isEmpty() ? QString() : QStringLiteral("WHERE ") + where);
    return runOnPool(*f.pool, [sql](QSqlDatabase& db) {
        QSqlQuery q(db);
        if (!q.exec(sql))
            throw DatabaseError(q.lastError().text().toStdString());
        QStringList ids;
        while (q.next())
            ids << q.value(0).toString();
        return ids;
    });
}

void TestStoreQueries::listNewestFirstAndPaginate()
{
    USE_FIXTURE(f);
    const QStringList expected = allIdsNewestFirst(*f);
    QVERIFY(expected.size() >= SyntheticRuns + 6);

    // Newest first: the runs started last come first.
    const QList<FlowRunRow> newest
        = runOnPool(pool, [](QSqlDatabase& db) { return listFlowRuns(db, RunFilter{}); });
    QCOMPARE(idsOf(newest), expected.mid(0, 50));
    const int h0 = expected.indexOf(f->hello[0]->id.toString());
    const int h2 = expected.indexOf(f->hello[2]->id.toString());
    const int r1 = expected.indexOf(f->retry[1]->id.toString());
    QVERIFY(r1 >= 0 && r1 < h2 && h2 < h0);
    for (qsizetype i = 1; i < newest.size(); ++i)
        QVERIFY(newest[i - 1].createdUs >= newest[i].createdUs);

    // Keyset pages of 4 over groups of 3 runs created at the same microsecond: no duplicates, no gaps.
    QStringList walked;
    RunFilter filter;
    filter.limit = 4;
    int pages = 0;
    for (;;) {
        const auto [page, thread] = runOnPool(pool, [filter](QSqlDatabase& db) {
            return std::make_pair(listFlowRuns(db, filter), QThread::currentThread());
        });
        // Read on a database thread, never on the loop's.
        QVERIFY(thread != QThread::currentThread());
        QVERIFY(page.size() <= filter.limit);
        walked << idsOf(page);
        ++pages;
        if (page.size() < filter.limit)
            break;
        filter.beforeCreatedUs = page.last().createdUs;
        filter.beforeId = page.last().id;
        QVERIFY(pages < 1000);
    }
    QCOMPARE(walked, expected);
    QCOMPARE(QSet<QString>(walked.begin(), walked.end()).size(), walked.size());
    QVERIFY(pages >= 9);
}

void TestStoreQueries::listFilters()
{
    USE_FIXTURE(f);
    // By state type, any case, with pagination.
    const QStringList failed = allIdsNewestFirst(*f, QStringLiteral("state = 'FAILED'"));
    QCOMPARE(failed.size(), SyntheticRuns / 2 + 2);
    QStringList walked;
    RunFilter filter;
    filter.state = QStringLiteral("failed");
    filter.limit = 3;
    for (int pages = 0; pages < 100; ++pages) {
        const QList<FlowRunRow> page
            = runOnPool(pool, [filter](QSqlDatabase& db) { return listFlowRuns(db, filter); });
        for (const FlowRunRow& r : page)
            QCOMPARE(r.state, QStringLiteral("FAILED"));
        walked << idsOf(page);
        if (page.size() < filter.limit)
            break;
        filter.beforeCreatedUs = page.last().createdUs;
        filter.beforeId = page.last().id;
    }
    QCOMPARE(walked, failed);

    // By flow.
    RunFilter byFlow;
    byFlow.flow = QStringLiteral("q-hello");
    const QList<FlowRunRow> hello
        = runOnPool(pool, [byFlow](QSqlDatabase& db) { return listFlowRuns(db, byFlow); });
    QCOMPARE(
        idsOf(hello),
        (QStringList{f->hello[2]->id.toString(), f->hello[1]->id.toString(), f->hello[0]->id.toString()}));

    // Both, and a limit.
    RunFilter both;
    both.flow = QStringLiteral("q-synthetic");
    both.state = QStringLiteral("COMPLETED");
    both.limit = 5;
    const QList<FlowRunRow> some
        = runOnPool(pool, [both](QSqlDatabase& db) { return listFlowRuns(db, both); });
    QCOMPARE(
        idsOf(some),
        allIdsNewestFirst(*f, QStringLiteral("flow_name = 'q-synthetic' AND state = 'COMPLETED'")).mid(0, 5));

    RunFilter none;
    none.flow = QStringLiteral("no-such-flow");
    QVERIFY(runOnPool(pool, [none](QSqlDatabase& db) { return listFlowRuns(db, none); }).isEmpty());
}

void TestStoreQueries::flowRunAndTaskRuns()
{
    USE_FIXTURE(f);
    FlowRun* run = f->hello[1];
    const QString id = run->id.toString();
    const auto row = runOnPool(pool, [id](QSqlDatabase& db) { return flowRun(db, id); });
    QVERIFY(row);
    QCOMPARE(row->id, id);
    QCOMPARE(row->flow, QStringLiteral("q-hello"));
    QCOMPARE(row->state, QStringLiteral("COMPLETED"));
    QCOMPARE(row->name, QStringLiteral("Completed"));
    QCOMPARE(row->message, run->message);
    QCOMPARE(row->createdUs, run->createdUs);
    QCOMPARE(row->startedUs, run->startedUs);
    QCOMPARE(row->endedUs, run->endedUs);
    QVERIFY(row->createdUs > 0 && row->startedUs >= row->createdUs && row->endedUs >= row->startedUs);
    QCOMPARE(row->totalTaskRuns, 5);
    QCOMPARE(row->worker, f->store->engineId());
    QVERIFY(!row->cancelRequested);
    QCOMPARE(row->parameters.value(QStringLiteral("who")).toString(), QStringLiteral("queries"));

    const QString unknown = RunId::generate().toString();
    QVERIFY(!runOnPool(pool, [unknown](QSqlDatabase& db) { return flowRun(db, unknown); }));

    // Ordered by task, then map index; each row as the engine left it.
    const QList<TaskRunRow> tasks = runOnPool(pool, [id](QSqlDatabase& db) { return taskRuns(db, id); });
    QStringList labels;
    for (const TaskRunRow& t : tasks)
        labels << (t.mapIndex >= 0 ? QStringLiteral("%1[%2]").arg(t.task).arg(t.mapIndex) : t.task);
    QCOMPARE(labels,
             (QStringList{QStringLiteral("greet"), QStringLiteral("spread[0]"), QStringLiteral("spread[1]"),
                          QStringLiteral("spread[2]"), QStringLiteral("wrap")}));
    for (const TaskRunRow& t : tasks) {
        const TaskRun* live = taskRun(run, t.task, std::max(0, t.mapIndex));
        QVERIFY(live);
        QCOMPARE(t.id, live->id.toString());
        QCOMPARE(t.flowRunId, id);
        QCOMPARE(t.mapIndex, live->mapIndex);
        QCOMPARE(t.state, QStringLiteral("COMPLETED"));
        QCOMPARE(t.name, toString(live->name));
        QCOMPARE(t.attempts, int(live->attempts));
        QCOMPARE(t.message, live->message);
        QCOMPARE(t.createdUs, live->createdUs);
        QCOMPARE(t.startedUs, live->startedUs);
        QCOMPARE(t.endedUs, live->endedUs);
        const QStringList tags
            = t.task == u"spread" ? QStringList{QStringLiteral("cpu"), QStringLiteral("io")} : QStringList();
        QCOMPARE(t.tags, tags);
    }

    // Limit and offset.
    const QList<TaskRunRow> middle
        = runOnPool(pool, [id](QSqlDatabase& db) { return taskRuns(db, id, {}, 2, 1); });
    QCOMPARE(middle.size(), 2);
    QCOMPARE(middle[0].id, tasks[1].id);
    QCOMPARE(middle[1].id, tasks[2].id);
    const QList<TaskRunRow> tail
        = runOnPool(pool, [id](QSqlDatabase& db) { return taskRuns(db, id, {}, 0, 3); });
    QCOMPARE(tail.size(), 2);
    QCOMPARE(tail[1].task, QStringLiteral("wrap"));

    // By state.
    const QString retryId = f->retry[0]->id.toString();
    const QList<TaskRunRow> failed = runOnPool(
        pool, [retryId](QSqlDatabase& db) { return taskRuns(db, retryId, QStringLiteral("failed")); });
    QCOMPARE(failed.size(), 2);
    QCOMPARE(failed[0].task, QStringLiteral("after"));
    QCOMPARE(failed[0].name, QStringLiteral("UpstreamFailed"));
    QCOMPARE(failed[1].task, QStringLiteral("flaky"));
    QCOMPARE(failed[1].name, QStringLiteral("Failed"));
    QCOMPARE(failed[1].attempts, 3);
    QCOMPARE(failed[1].message, f->retry[0]->nodes[0].runs[0].message);
    const QList<TaskRunRow> completed = runOnPool(
        pool, [retryId](QSqlDatabase& db) { return taskRuns(db, retryId, QStringLiteral("COMPLETED")); });
    QCOMPARE(completed.size(), 1);
    QCOMPARE(completed[0].task, QStringLiteral("solo"));
}

void TestStoreQueries::countsAndHistory()
{
    USE_FIXTURE(f);
    const QString helloId = f->hello[0]->id.toString();
    const QString retryId = f->retry[1]->id.toString();
    const auto helloCounts
        = runOnPool(pool, [helloId](QSqlDatabase& db) { return taskRunCounts(db, helloId); });
    QCOMPARE(helloCounts, (QMap<QString, qint64>{{QStringLiteral("COMPLETED"), 5}}));
    const auto retryCounts
        = runOnPool(pool, [retryId](QSqlDatabase& db) { return taskRunCounts(db, retryId); });
    QCOMPARE(retryCounts,
             (QMap<QString, qint64>{{QStringLiteral("COMPLETED"), 1}, {QStringLiteral("FAILED"), 2}}));

    // A task run with retries: every transition in order, as the engine reported it.
    FlowRun* retry = f->retry[1];
    const TaskRun* flaky = taskRun(retry, QStringLiteral("flaky"));
    QVERIFY(flaky);
    const QString flakyId = flaky->id.toString();
    const QList<StateRow> steps
        = runOnPool(pool, [flakyId](QSqlDatabase& db) { return history(db, flakyId); });
    QStringList seen;
    for (const RecordedTransition& t : f->rec.transitions) {
        if (t.taskRun == flaky)
            seen << toString(t.name);
    }
    QCOMPARE(namesOf(steps), seen);
    QCOMPARE(
        namesOf(steps),
        (QStringList{QStringLiteral("Pending"), QStringLiteral("Running"), QStringLiteral("AwaitingRetry"),
                     QStringLiteral("Retrying"), QStringLiteral("AwaitingRetry"), QStringLiteral("Retrying"),
                     QStringLiteral("Failed")}));
    QCOMPARE(namesOf(steps), namesOf(flaky->history));
    QCOMPARE(steps[2].state, QStringLiteral("SCHEDULED"));
    QCOMPARE(steps[3].state, QStringLiteral("RUNNING"));
    QCOMPARE(steps.last().message, flaky->message);
    for (qsizetype i = 1; i < steps.size(); ++i)
        QVERIFY(steps[i - 1].timeUs <= steps[i].timeUs);

    // A flow run id: the flow run's own transitions only.
    const QList<StateRow> flowSteps
        = runOnPool(pool, [retryId](QSqlDatabase& db) { return history(db, retryId); });
    QCOMPARE(namesOf(flowSteps), namesOf(retry->history));
    QCOMPARE(flowSteps.last().state, QStringLiteral("FAILED"));

    const QString unknown = RunId::generate().toString();
    QVERIFY(runOnPool(pool, [unknown](QSqlDatabase& db) { return history(db, unknown); }).isEmpty());
}

void TestStoreQueries::logLines()
{
    USE_FIXTURE(f);
    FlowRun* run = f->hello[2];
    const QString id = run->id.toString();
    const QList<LogRow> lines = runOnPool(pool, [id](QSqlDatabase& db) { return logs(db, id); });
    int recorded = 0;
    for (const RecordedLog& l : f->rec.logs) {
        if (l.flowRun == run)
            ++recorded;
    }
    QCOMPARE(lines.size(), recorded);
    QStringList greet;
    for (const LogRow& l : lines) {
        if (l.task == u"greet") {
            greet << l.message;
            QCOMPARE(l.mapIndex, -1);
            QCOMPARE(l.taskRunId, taskRun(run, QStringLiteral("greet"))->id.toString());
            QVERIFY(l.timeUs >= run->createdUs);
        }
    }
    QVERIFY2(greet.contains(QStringLiteral("line one")) && greet.contains(QStringLiteral("line two queries"))
                 && greet.contains(QStringLiteral("oops")),
             qPrintable(greet.join(u'|')));
    QVERIFY(greet.indexOf(QStringLiteral("line one")) < greet.indexOf(QStringLiteral("line two queries")));
    for (const LogRow& l : lines) {
        if (l.message == u"line one")
            QCOMPARE(l.level, QStringLiteral("INFO"));
        if (l.message == u"oops")
            QCOMPARE(l.level, QStringLiteral("WARNING"));
    }
    for (qsizetype i = 1; i < lines.size(); ++i)
        QVERIFY(lines[i - 1].id < lines[i].id);

    // Tailing: after an id, and a page at a time.
    const qint64 firstId = lines.first().id;
    const QList<LogRow> after
        = runOnPool(pool, [id, firstId](QSqlDatabase& db) { return logs(db, id, firstId); });
    QCOMPARE(after.size(), lines.size() - 1);
    QCOMPARE(after.first().id, lines[1].id);
    const QList<LogRow> one = runOnPool(pool, [id](QSqlDatabase& db) { return logs(db, id, 0, 1); });
    QCOMPARE(one.size(), 1);
    QCOMPARE(one.first().id, firstId);
    const qint64 lastId = lines.last().id;
    QVERIFY(runOnPool(pool, [id, lastId](QSqlDatabase& db) { return logs(db, id, lastId); }).isEmpty());
    // Another run's lines are not mixed in.
    const QString other = f->hello[1]->id.toString();
    const QList<LogRow> otherLines = runOnPool(pool, [other](QSqlDatabase& db) { return logs(db, other); });
    QSet<qint64> mine;
    for (const LogRow& l : lines)
        mine.insert(l.id);
    for (const LogRow& l : otherLines)
        QVERIFY(!mine.contains(l.id));
}

void TestStoreQueries::cancelRequests()
{
    USE_FIXTURE(f);
    const QString finished = f->hello[0]->id.toString();
    QCOMPARE(runOnPool(pool, [finished](QSqlDatabase& db) { return requestCancel(db, finished); }),
             CancelResult::AlreadyFinished);
    QVERIFY(
        !runOnPool(pool, [finished](QSqlDatabase& db) { return flowRun(db, finished); })->cancelRequested);

    const QString unknown = RunId::generate().toString();
    QCOMPARE(runOnPool(pool, [unknown](QSqlDatabase& db) { return requestCancel(db, unknown); }),
             CancelResult::NotFound);

    const QString orphan = kOrphanId;
    QCOMPARE(runOnPool(pool, [orphan](QSqlDatabase& db) { return requestCancel(db, orphan); }),
             CancelResult::Requested);
    const auto row = runOnPool(pool, [orphan](QSqlDatabase& db) { return flowRun(db, orphan); });
    QVERIFY(row && row->cancelRequested);
    QCOMPARE(row->state, QStringLiteral("RUNNING"));
    // Asking again is harmless while the run has not ended.
    QCOMPARE(runOnPool(pool, [orphan](QSqlDatabase& db) { return requestCancel(db, orphan); }),
             CancelResult::Requested);
}

void TestStoreQueries::resolvePrefixes()
{
    USE_FIXTURE(f);
    auto resolve = [&pool](const QString& text) {
        return runOnPool(pool, [text](QSqlDatabase& db) {
            QString error;
            const std::optional<QString> id = resolveFlowRunId(db, text, &error);
            return std::make_pair(id.value_or(QString()), error);
        });
    };
    const QString full = f->hello[0]->id.toString();
    QCOMPARE(resolve(full).first, full);
    QCOMPARE(resolve(full.toUpper()).first, full);
    QCOMPARE(resolve(full.left(30)).first, full);
    QCOMPARE(resolve(QStringLiteral("abcdef01")).first, kOrphanId);
    QCOMPARE(resolve(QStringLiteral("ABCDEF01-0")).first, kOrphanId);

    const auto ambiguous = resolve(kSyntheticPrefix);
    QVERIFY(ambiguous.first.isEmpty());
    QVERIFY2(ambiguous.second.contains(QStringLiteral("ambiguous")), qPrintable(ambiguous.second));

    // The end of an id works as its start does, with or without dashes.
    QCOMPARE(resolve(full.right(6)).first, full);
    QCOMPARE(resolve(QString(full).remove(u'-').right(15).toUpper()).first, full);
    QCOMPARE(resolve(QStringLiteral("ABCDEF010000")).first, kOrphanId);

    const auto tooShort = resolve(QStringLiteral("abcde"));
    QVERIFY(tooShort.first.isEmpty());
    QVERIFY2(tooShort.second.contains(QStringLiteral("too short")), qPrintable(tooShort.second));

    for (const QString& missing : {QStringLiteral("ffffffff"), RunId::generate().toString(),
                                   QStringLiteral("not-an-id!"), QStringLiteral("%%%%%%%%%"), QString()}) {
        const auto none = resolve(missing);
        QVERIFY2(none.first.isEmpty(), qPrintable(missing));
        QVERIFY2(none.second.startsWith(QStringLiteral("no flow run with id")), qPrintable(none.second));
    }
}

void TestStoreQueries::cancelReachesRunningEngine()
{
    USE_FIXTURE(f);
    const auto flow = parseFlow(kSleeperFlow);
    QVERIFY(flow);
    FlowRun* run = f->engine->start(*flow);
    const QString id = run->id.toString();
    // Wait until the run is recorded as RUNNING.
    QElapsedTimer waited;
    waited.start();
    QString state;
    while (state != u"RUNNING" && waited.elapsed() < 10000) {
        const auto row = runOnPool(pool, [id](QSqlDatabase& db) { return flowRun(db, id); });
        state = row ? row->state : QString();
        if (state != u"RUNNING")
            QTest::qWait(20);
    }
    QCOMPARE(state, QStringLiteral("RUNNING"));

    QElapsedTimer timer;
    timer.start();
    QCOMPARE(runOnPool(pool, [id](QSqlDatabase& db) { return requestCancel(db, id); }),
             CancelResult::Requested);
    // The session's link polls every 0.5 s.
    QVERIFY(waitForFlow(*f->engine, run, 5000));
    QVERIFY2(timer.elapsed() < 2000,
             qPrintable(QStringLiteral("cancelled after %1 ms").arg(timer.elapsed())));
    QCOMPARE(toString(run->type), QStringLiteral("CANCELLED"));
    auto flushing = f->store->flush();
    awaitTask(flushing);
    const auto row = runOnPool(pool, [id](QSqlDatabase& db) { return flowRun(db, id); });
    QVERIFY(row);
    QCOMPARE(row->state, QStringLiteral("CANCELLED"));
    QVERIFY(row->cancelRequested);
    QCOMPARE(runOnPool(pool, [id](QSqlDatabase& db) { return requestCancel(db, id); }),
             CancelResult::AlreadyFinished);
}

void TestStoreQueries::errorsNameTheQuery()
{
    QFETCH(QString, backend);
    FLOWDECK_REQUIRE_BACKEND(backend);
    // A database without the schema: every query fails with a DatabaseError naming what it did.
    FLOWDECK_FRESH_DATABASE(url, backend);
    QString error;
    const auto parsed = DatabaseUrl::parse(url, &error);
    QVERIFY2(parsed, qPrintable(error));
    ConnectionPool pool(*parsed);
    auto expectError = [&pool](auto job, const QString& what) {
        auto attempt = [](ConnectionPool* pool, decltype(job) job) -> QCoro::Task<QString> {
            try {
                auto task = pool->run(std::move(job));
                co_await task;
            } catch (const DatabaseError& e) {
                co_return QString::fromUtf8(e.what());
            }
            co_return QString();
        };
        auto trying = attempt(&pool, job);
        const QString message = awaitTask(trying);
        QVERIFY2(!message.isEmpty(), qPrintable(QStringLiteral("no DatabaseError for ") + what));
        QVERIFY2(message.startsWith(what), qPrintable(message));
    };
    expectError([](QSqlDatabase& db) { return listFlowRuns(db, RunFilter{}); },
                QStringLiteral("listing flow runs"));
    expectError([](QSqlDatabase& db) { return taskRuns(db, QStringLiteral("x")); },
                QStringLiteral("reading the task runs of flow run x"));
    expectError([](QSqlDatabase& db) { return logs(db, QStringLiteral("x")); },
                QStringLiteral("reading the logs of flow run x"));
    expectError([](QSqlDatabase& db) { return requestCancel(db, QStringLiteral("x")); },
                QStringLiteral("requesting the cancellation of flow run x"));
}

QTEST_GUILESS_MAIN(TestStoreQueries)
#include "tst_storequeries.moc"
