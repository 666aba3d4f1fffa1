// Caching of task results across runs: in one engine with an in-memory cache (when the lookup
// happens, what it costs, what is written), and through the real binary on SQLite and PostgreSQL
// (a hit in a second process, expiry, --refresh-cache, failures, `flowdeck cache ls|clear`).
#include "cliutil.h"
#include "flow/flowparser.h"
#include "flow/taskkind.h"
#include "run/engine.h"
#include "run/taskcache.h"
#include "testutil.h"

#include <QDateTime>
#include <QFile>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QTemporaryDir>
#include <QTest>

#include <map>

using namespace flowdeck;
using namespace flowdeck::test;

namespace {

//! A cache in memory that counts what the engine asks of it.
class MemoryCache : public CacheSink {
public:
    QCoro::Task<std::optional<QJsonValue>> lookUpCache(const QString& key, qint64 nowUs) override
    {
        ++lookups;
        keysAsked << key;
        const auto it = entries.find(key);
        if (it == entries.end() || (it->second.expiresUs > 0 && it->second.expiresUs <= nowUs))
            co_return std::nullopt;
        co_return it->second.result;
    }
    QCoro::Task<> writeCache(const CacheEntry& entry) override
    {
        ++writes;
        entries[entry.key] = entry;
        co_return;
    }
    std::map<QString, CacheEntry> entries;
    QStringList keysAsked;
    int lookups = 0;
    int writes = 0;
};

// Each run of "work" appends a line to the file in parameter "counter": the lines count executions.
const QByteArray kCountingFlow = R"({
  "name": "cache-count",
  "parameters": {"counter": "/nonexistent", "word": "a", "ttl": 3600},
  "tasks": [
    {"id": "work", "kind": "shell", "cache": {"key": "work-{{word}}", "expiration_s": "{{ttl}}"},
     "command": ["sh", "-c", "echo run >> {{counter}}"]},
    {"id": "hashed", "kind": "shell", "cache": "inputs",
     "command": ["sh", "-c", "echo hashed-{{word}} >> {{counter}}.inputs"]},
    {"id": "after", "kind": "noop", "depends_on": ["work", "hashed"]}
  ]
})";

const QByteArray kFailingFlow = R"({
  "name": "cache-fail",
  "parameters": {"counter": "/nonexistent"},
  "tasks": [
    {"id": "broken", "kind": "shell", "cache": {"key": "broken"},
     "command": ["sh", "-c", "echo run >> {{counter}}; exit 3"]}
  ]
})";

int lineCount(const QString& path)
{
    QFile file(path);
    if (!file.open(QIODevice::ReadOnly))
        return 0;
    return int(file.readAll().count('\n'));
}

//! The state names the --json lines of a run gave task \a task, in order.
QStringList namesOf(const QString& jsonLines, const QString& task)
{
    QStringList names;
    for (const QString& line : jsonLines.split(u'\n', Qt::SkipEmptyParts)) {
        const QJsonObject o = QJsonDocument::fromJson(line.toUtf8()).object();
        if (o.value(QStringLiteral("event")) == QStringLiteral("transition")
            && o.value(QStringLiteral("task")) == task)
            names << o.value(QStringLiteral("name")).toString();
    }
    return names;
}

QString flowRunIdOf(const QString& jsonLines)
{
    const QJsonObject first = QJsonDocument::fromJson(jsonLines.section(u'\n', 0, 0).toUtf8()).object();
    return first.value(QStringLiteral("flow_run_id")).toString();
}

} // namespace

class TestCache : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void initTestCase();

    void validation_data();
    void validation();
    void inputsKeyFollowsTheConfiguration();
    void inputsKeyFollowsReferencedResults();
    void noLookupWithoutCache();
    void hitTakesNoSlotAndDoesNotRun();
    void failedRunWritesNoEntryInMemory();
    void mappedRunsHaveTheirOwnKeys();

    void hitAcrossProcesses_data() { addBackendRows(); }
    void hitAcrossProcesses();
    void expiry_data() { addBackendRows(); }
    void expiry();
    void refresh_data() { addBackendRows(); }
    void refresh();
    void failedRunWritesNoEntry_data() { addBackendRows(); }
    void failedRunWritesNoEntry();
    void lsAndClear_data() { addBackendRows(); }
    void lsAndClear();
    void clearArguments();

private:
    QString write(const QString& name, const QByteArray& json);
    CliResult run(const QString& db, const QString& flow, const QStringList& extra = {});
    QJsonArray entries(const QString& db);

    QTemporaryDir m_dir;
    QString m_counting;
    QString m_failing;
};

void TestCache::initTestCase()
{
    QVERIFY2(QFile::exists(flowdeckBinary()), "FLOWDECK_BINARY must name the flowdeck executable");
    QVERIFY(m_dir.isValid());
    m_counting = write(QStringLiteral("count.json"), kCountingFlow);
    m_failing = write(QStringLiteral("fail.json"), kFailingFlow);
}

QString TestCache::write(const QString& name, const QByteArray& json)
{
    const QString path = m_dir.filePath(name);
    QFile file(path);
    if (!file.open(QIODevice::WriteOnly) || file.write(json) != json.size())
        qFatal("cannot write %s", qPrintable(path));
    return path;
}

CliResult TestCache::run(const QString& db, const QString& flow, const QStringList& extra)
{
    const QStringList args
        = QStringList{QStringLiteral("run"), flow, QStringLiteral("--db"), db, QStringLiteral("--json")}
        + extra;
    return runCli(args);
}

QJsonArray TestCache::entries(const QString& db)
{
    const QStringList args = {QStringLiteral("cache"), QStringLiteral("ls"), QStringLiteral("--json"),
                              QStringLiteral("--db"), db};
    const CliResult r = runCli(args);
    if (r.exitCode != 0)
        qWarning("%s", qPrintable(describe(args, r)));
    return QJsonDocument::fromJson(r.out.toUtf8()).array();
}

void TestCache::validation_data()
{
    QTest::addColumn<QByteArray>("cache");
    QTest::addColumn<QString>("error");
    QTest::newRow("word") << QByteArray(R"("everything")")
                          << QStringLiteral("tasks[0].cache: expected \"inputs\" or an object");
    QTest::newRow("number") << QByteArray("3") << QStringLiteral("tasks[0].cache: expected \"inputs\" or");
    QTest::newRow("no key") << QByteArray(R"({"expiration_s": 5})")
                            << QStringLiteral("tasks[0].cache.key: missing required field");
    QTest::newRow("empty key") << QByteArray(R"({"key": " "})")
                               << QStringLiteral("tasks[0].cache.key: must not be empty");
    QTest::newRow("key type") << QByteArray(R"({"key": 4})")
                              << QStringLiteral("tasks[0].cache.key: expected a string");
    QTest::newRow("unknown") << QByteArray(R"({"key": "k", "ttl": 5})")
                             << QStringLiteral("tasks[0].cache.ttl: unknown field \"ttl\"");
    QTest::newRow("zero") << QByteArray(R"({"key": "k", "expiration_s": 0})")
                          << QStringLiteral("tasks[0].cache.expiration_s: must be greater than 0");
    QTest::newRow("text") << QByteArray(R"({"key": "k", "expiration_s": "soon"})")
                          << QStringLiteral("tasks[0].cache.expiration_s: expected a number");
}

void TestCache::validation()
{
    QFETCH(QByteArray, cache);
    QFETCH(QString, error);
    const QByteArray json
        = R"({"name": "v", "tasks": [{"id": "t", "kind": "noop", "cache": )" + cache + "}]}";
    ValidationErrors errors;
    const auto flow = FlowParser(TaskKindRegistry::instance()).parse(json, QStringLiteral("v.json"), errors);
    QVERIFY(!flow);
    QStringList texts;
    for (const ValidationError& e : errors)
        texts << e.toString();
    QVERIFY2(texts.join(u'\n').contains(error), qPrintable(texts.join(u'\n')));

    // The same through `flowdeck validate`: exit 2 with the place.
    const QString path = write(QStringLiteral("invalid.json"), json);
    const CliResult r = runCli({QStringLiteral("validate"), path});
    QCOMPARE(r.exitCode, 2);
    QVERIFY2(r.err.contains(error), qPrintable(r.err));
}

void TestCache::inputsKeyFollowsTheConfiguration()
{
    const auto flow = parseFlow(R"({"name": "k", "tasks": [
        {"id": "a", "kind": "shell", "cache": "inputs", "command": ["echo", "x"]},
        {"id": "b", "kind": "shell", "cache": {"key": "fixed-{{map_index}}"}, "map": 2, "command": ["echo"]}]})");
    QVERIFY(flow);
    const TaskDef& a = flow->tasks[0];
    QVERIFY(a.cache && a.cache->inputs);
    const QJsonObject config = a.config;
    const QString key = cacheKey(a, config, -1);
    QVERIFY(key.startsWith(QStringLiteral("inputs:")));
    QCOMPARE(cacheKey(a, config, -1), key); // stable
    QJsonObject other = config;
    other.insert(QStringLiteral("command"), QJsonArray{QStringLiteral("echo"), QStringLiteral("y")});
    QVERIFY(cacheKey(a, other, -1) != key); // any change of what the kind gets changes the key
    TaskDef sameButOtherKind = a;
    sameButOtherKind.kind = QStringLiteral("noop");
    QVERIFY(cacheKey(sameButOtherKind, config, -1) != key);
    const TaskDef& b = flow->tasks[1];
    QCOMPARE(cacheKey(b, b.config, 1), QStringLiteral("fixed-1"));
}

void TestCache::inputsKeyFollowsReferencedResults()
{
    Engine engine;
    MemoryCache cache;
    engine.setCacheSink(&cache);
    // "down" is written the same in both flows; only the result it references differs.
    const auto flowOf = [](const char* upValue) {
        return parseFlow(QByteArray(R"({"name": "refs", "tasks": [
            {"id": "up", "kind": "noop", "value": ")")
                         + upValue + R"("},
            {"id": "down", "kind": "noop", "cache": "inputs", "value": {"got": "{{tasks.up.result}}"}}]})");
    };
    const auto one = flowOf("1");
    const auto two = flowOf("2");
    QVERIFY(one && two);
    const auto downOf = [&](const FlowDefinition& flow) {
        FlowRun* run = engine.start(flow);
        return waitForFlow(engine, run) ? taskRun(run, QStringLiteral("down")) : nullptr;
    };
    TaskRun* first = downOf(*one);
    QVERIFY(first);
    QCOMPARE(toString(first->name), toString(StateName::Completed));
    TaskRun* same = downOf(*one);
    QVERIFY(same);
    QCOMPARE(toString(same->name), toString(StateName::Cached));
    // Another upstream result is another key: the run executes and gives the new value.
    TaskRun* other = downOf(*two);
    QVERIFY(other);
    QCOMPARE(toString(other->name), toString(StateName::Completed));
    QCOMPARE(other->result, QJsonValue(QJsonObject{{QStringLiteral("got"), QStringLiteral("2")}}));
    QCOMPARE(cache.writes, 2);
}

void TestCache::noLookupWithoutCache()
{
    Engine engine;
    MemoryCache cache;
    engine.setCacheSink(&cache);
    const auto flow = parseFlow(R"({"name": "plain", "tasks": [
        {"id": "a", "kind": "noop", "map": 50}, {"id": "b", "kind": "noop", "depends_on": ["a"]}]})");
    QVERIFY(flow);
    FlowRun* run = engine.start(*flow);
    QVERIFY(waitForFlow(engine, run));
    QCOMPARE(toString(run->type), toString(StateType::Completed));
    QCOMPARE(cache.lookups, 0);
    QCOMPARE(cache.writes, 0);
}

void TestCache::hitTakesNoSlotAndDoesNotRun()
{
    Engine engine;
    MemoryCache cache;
    engine.setCacheSink(&cache);
    // A limit of 0 holds every run of the tag: only a run that never asks for a slot can end.
    engine.limiter().setLimit(QStringLiteral("held"), 0);
    cache.entries[QStringLiteral("k1")]
        = CacheEntry{QStringLiteral("k1"), {}, {}, QJsonObject{{QStringLiteral("n"), 5}}, {}, {}, 0, 0};
    const auto flow = parseFlow(R"({"name": "hit", "tasks": [
        {"id": "a", "kind": "fail", "tags": ["held"], "cache": {"key": "k1"}},
        {"id": "b", "kind": "noop", "depends_on": ["a"]}]})");
    QVERIFY(flow);
    FlowRun* run = engine.start(*flow);
    QVERIFY(waitForFlow(engine, run));
    QCOMPARE(toString(run->type), toString(StateType::Completed));
    TaskRun* a = taskRun(run, QStringLiteral("a"));
    QCOMPARE(toString(a->name), toString(StateName::Cached));
    QCOMPARE(a->attempts, quint16(0)); // its kind ("fail") never ran
    QCOMPARE(a->startedUs, 0);
    QCOMPARE(a->result, QJsonValue(QJsonObject{{QStringLiteral("n"), 5}}));
    QCOMPARE(a->history.size(), size_t(2)); // Pending, Cached
    QCOMPARE(cache.lookups, 1);
    QCOMPARE(cache.writes, 0);

    // Refreshing ignores the entry: the run goes for its slot, and waits there.
    engine.setRefreshCache(true);
    FlowRun* refreshed = engine.start(*flow);
    TaskRun* again = nullptr;
    QVERIFY(waitUntil(
        [&] {
            again = taskRun(refreshed, QStringLiteral("a"));
            return again && again->name == StateName::AwaitingConcurrencySlot;
        },
        10000));
    QCOMPARE(cache.lookups, 1);
    cancelAndDrain(engine);
}

void TestCache::failedRunWritesNoEntryInMemory()
{
    Engine engine;
    MemoryCache cache;
    engine.setCacheSink(&cache);
    const auto flow = parseFlow(R"({"name": "f", "tasks": [
        {"id": "bad", "kind": "fail", "retries": 1, "cache": {"key": "bad"}},
        {"id": "good", "kind": "noop", "cache": {"key": "good", "expiration_s": 60}}]})");
    QVERIFY(flow);
    const qint64 before = QDateTime::currentMSecsSinceEpoch() * 1000;
    FlowRun* run = engine.start(*flow);
    QVERIFY(waitForFlow(engine, run));
    QCOMPARE(toString(taskRun(run, QStringLiteral("bad"))->type), toString(StateType::Failed));
    QCOMPARE(cache.writes, 1);
    QVERIFY(!cache.entries.count(QStringLiteral("bad")));
    const CacheEntry& good = cache.entries.at(QStringLiteral("good"));
    QCOMPARE(good.task, QStringLiteral("good"));
    QCOMPARE(good.flowName, QStringLiteral("f"));
    QVERIFY(good.expiresUs >= before + 60'000'000);
    // One lookup per run, not per attempt (the retry does not ask again).
    QCOMPARE(cache.lookups, 2);
}

void TestCache::mappedRunsHaveTheirOwnKeys()
{
    Engine engine;
    MemoryCache cache;
    engine.setCacheSink(&cache);
    const auto flow = parseFlow(R"({"name": "m", "tasks": [
        {"id": "each", "kind": "noop", "map": 3, "cache": {"key": "each-{{map_index}}"}}]})");
    QVERIFY(flow);
    FlowRun* first = engine.start(*flow);
    QVERIFY(waitForFlow(engine, first));
    QCOMPARE(cache.writes, 3);
    QVERIFY(cache.entries.count(QStringLiteral("each-2")));
    FlowRun* second = engine.start(*flow);
    QVERIFY(waitForFlow(engine, second));
    QCOMPARE(second->count(StateType::Completed), 3);
    for (int i = 0; i < 3; ++i)
        QCOMPARE(toString(taskRun(second, QStringLiteral("each"), i)->name), toString(StateName::Cached));
    QCOMPARE(cache.writes, 3);
}

void TestCache::hitAcrossProcesses()
{
    QFETCH(QString, backend);
    FLOWDECK_FRESH_DATABASE(db, backend);
    const QString counter = m_dir.filePath(QStringLiteral("across-") + backend);
    const QStringList params = {QStringLiteral("--param"), QStringLiteral("counter=") + counter};

    const CliResult first = run(db, m_counting, params);
    QVERIFY2(first.exitCode == 0, qPrintable(first.err));
    QCOMPARE(lineCount(counter), 1);
    QCOMPARE(lineCount(counter + QStringLiteral(".inputs")), 1);
    QCOMPARE(namesOf(first.out, QStringLiteral("work")).last(), QStringLiteral("Completed"));

    // A second process on the same database: both cached tasks take their entries and do not run.
    const CliResult second = run(db, m_counting, params);
    QVERIFY2(second.exitCode == 0, qPrintable(second.err));
    QCOMPARE(lineCount(counter), 1);
    QCOMPARE(lineCount(counter + QStringLiteral(".inputs")), 1);
    QCOMPARE(namesOf(second.out, QStringLiteral("work")),
             (QStringList{QStringLiteral("Pending"), QStringLiteral("Cached")}));
    QCOMPARE(namesOf(second.out, QStringLiteral("hashed")),
             (QStringList{QStringLiteral("Pending"), QStringLiteral("Cached")}));
    QCOMPARE(namesOf(second.out, QStringLiteral("after")).last(), QStringLiteral("Completed"));

    // Another value changes both keys (the template's and the configuration's hash): both run.
    const CliResult third
        = run(db, m_counting, params + QStringList{QStringLiteral("--param"), QStringLiteral("word=b")});
    QVERIFY2(third.exitCode == 0, qPrintable(third.err));
    QCOMPARE(lineCount(counter), 2);
    QCOMPARE(lineCount(counter + QStringLiteral(".inputs")), 2);

    // The stored state name is Cached too.
    const QList<QVariantList> rows = query(
        db, QStringLiteral("SELECT state, state_name FROM task_runs WHERE flow_run_id = ? AND task = 'work'"),
        {flowRunIdOf(second.out)});
    QCOMPARE(rows.size(), 1);
    QCOMPARE(rows[0][0].toString(), QStringLiteral("COMPLETED"));
    QCOMPARE(rows[0][1].toString(), QStringLiteral("Cached"));
}

void TestCache::expiry()
{
    QFETCH(QString, backend);
    FLOWDECK_FRESH_DATABASE(db, backend);
    const QString counter = m_dir.filePath(QStringLiteral("expiry-") + backend);
    const QStringList params = {QStringLiteral("--param"), QStringLiteral("counter=") + counter,
                                QStringLiteral("--param"), QStringLiteral("ttl=0.5")};
    QCOMPARE(run(db, m_counting, params).exitCode, 0);
    QCOMPARE(lineCount(counter), 1);
    const QJsonArray listed = entries(db);
    QJsonObject work;
    for (const QJsonValue& e : listed) {
        if (e[QStringLiteral("task")] == QStringLiteral("work"))
            work = e.toObject();
    }
    QVERIFY2(work.value(QStringLiteral("expires")).isString(), QJsonDocument(listed).toJson().constData());
    const QDateTime expires
        = QDateTime::fromString(work.value(QStringLiteral("expires")).toString(), Qt::ISODateWithMs);
    QVERIFY(expires.isValid());
    // Waits for the clock, not for a guess: the entry is expired once its time has passed.
    QTRY_VERIFY_WITH_TIMEOUT(QDateTime::currentDateTimeUtc() > expires, 10000);

    const CliResult again = run(db, m_counting, params);
    QCOMPARE(again.exitCode, 0);
    QCOMPARE(lineCount(counter), 2); // expired: ran again
    QCOMPARE(namesOf(again.out, QStringLiteral("work")).last(), QStringLiteral("Completed"));
    // The inputs-keyed task has no expiration: still a hit.
    QCOMPARE(lineCount(counter + QStringLiteral(".inputs")), 1);
}

void TestCache::refresh()
{
    QFETCH(QString, backend);
    FLOWDECK_FRESH_DATABASE(db, backend);
    const QString counter = m_dir.filePath(QStringLiteral("refresh-") + backend);
    const QStringList params = {QStringLiteral("--param"), QStringLiteral("counter=") + counter};
    QCOMPARE(run(db, m_counting, params).exitCode, 0);
    const CliResult refreshed = run(db, m_counting, params + QStringList{QStringLiteral("--refresh-cache")});
    QCOMPARE(refreshed.exitCode, 0);
    QCOMPARE(lineCount(counter), 2); // ran although an entry existed
    QCOMPARE(namesOf(refreshed.out, QStringLiteral("work")).last(), QStringLiteral("Completed"));
    // ... and overwrote it: the entry now names the refreshing run.
    const QString refreshedId = flowRunIdOf(refreshed.out);
    const QJsonArray listed = entries(db);
    QCOMPARE(listed.size(), 2);
    for (const QJsonValue& e : listed)
        QCOMPARE(e[QStringLiteral("flow_run_id")].toString(), refreshedId);
    // Without the option the entry is used again.
    QCOMPARE(run(db, m_counting, params).exitCode, 0);
    QCOMPARE(lineCount(counter), 2);
}

void TestCache::failedRunWritesNoEntry()
{
    QFETCH(QString, backend);
    FLOWDECK_FRESH_DATABASE(db, backend);
    const QString counter = m_dir.filePath(QStringLiteral("failed-") + backend);
    const QStringList params = {QStringLiteral("--param"), QStringLiteral("counter=") + counter};
    QCOMPARE(run(db, m_failing, params).exitCode, 1);
    QCOMPARE(entries(db).size(), 0);
    QCOMPARE(run(db, m_failing, params).exitCode, 1);
    QCOMPARE(lineCount(counter), 2); // nothing cached: it ran (and failed) again
    QCOMPARE(query(db, QStringLiteral("SELECT count(*) FROM task_cache"))[0][0].toInt(), 0);
}

void TestCache::lsAndClear()
{
    QFETCH(QString, backend);
    FLOWDECK_FRESH_DATABASE(db, backend);
    const QString counter = m_dir.filePath(QStringLiteral("clear-") + backend);
    const QStringList params = {QStringLiteral("--param"), QStringLiteral("counter=") + counter};
    QCOMPARE(run(db, m_counting, params).exitCode, 0);
    QCOMPARE(run(db, m_counting, params + QStringList{QStringLiteral("--param"), QStringLiteral("word=b")})
                 .exitCode,
             0);
    QCOMPARE(entries(db).size(), 4);

    const CliResult human
        = runCli({QStringLiteral("cache"), QStringLiteral("ls"), QStringLiteral("--db"), db});
    QCOMPARE(human.exitCode, 0);
    QVERIFY2(human.out.startsWith(QStringLiteral("KEY")), qPrintable(human.out));
    QVERIFY2(human.out.contains(QStringLiteral("work-b")), qPrintable(human.out));

    const CliResult one = runCli({QStringLiteral("cache"), QStringLiteral("clear"), QStringLiteral("work-b"),
                                  QStringLiteral("--db"), db});
    QVERIFY2(one.exitCode == 0, qPrintable(one.err));
    QVERIFY2(one.out.contains(QStringLiteral("removed 1 cache entry")), qPrintable(one.out));
    QCOMPARE(entries(db).size(), 3);
    QCOMPARE(run(db, m_counting, params + QStringList{QStringLiteral("--param"), QStringLiteral("word=b")})
                 .exitCode,
             0);
    QCOMPARE(lineCount(counter), 3); // its entry was cleared: ran again
    QCOMPARE(lineCount(counter + QStringLiteral(".inputs")), 2);

    const CliResult unknown = runCli({QStringLiteral("cache"), QStringLiteral("clear"),
                                      QStringLiteral("nope"), QStringLiteral("--db"), db});
    QCOMPARE(unknown.exitCode, 2);
    QVERIFY2(unknown.err.contains(QStringLiteral("no cache entry with key \"nope\"")),
             qPrintable(unknown.err));

    const CliResult otherFlow
        = runCli({QStringLiteral("cache"), QStringLiteral("clear"), QStringLiteral("--flow"),
                  QStringLiteral("someone-else"), QStringLiteral("--db"), db});
    QCOMPARE(otherFlow.exitCode, 0);
    QCOMPARE(entries(db).size(), 4);
    const CliResult byFlow
        = runCli({QStringLiteral("cache"), QStringLiteral("clear"), QStringLiteral("--flow"),
                  QStringLiteral("cache-count"), QStringLiteral("--db"), db});
    QCOMPARE(byFlow.exitCode, 0);
    QVERIFY2(byFlow.out.contains(QStringLiteral("removed 4 cache entries")), qPrintable(byFlow.out));
    QCOMPARE(entries(db).size(), 0);

    QCOMPARE(run(db, m_counting, params).exitCode, 0);
    QCOMPARE(entries(db).size(), 2);
    const CliResult all = runCli({QStringLiteral("cache"), QStringLiteral("clear"), QStringLiteral("--all"),
                                  QStringLiteral("--db"), db});
    QCOMPARE(all.exitCode, 0);
    QCOMPARE(entries(db).size(), 0);
}

void TestCache::clearArguments()
{
    const QString db = m_dir.filePath(QStringLiteral("args.db"));
    for (const QStringList& args : {QStringList{QStringLiteral("cache"), QStringLiteral("clear")},
                                    QStringList{QStringLiteral("cache"), QStringLiteral("clear"),
                                                QStringLiteral("k"), QStringLiteral("--all")},
                                    QStringList{QStringLiteral("cache"), QStringLiteral("clear"),
                                                QStringLiteral("a"), QStringLiteral("b")},
                                    QStringList{QStringLiteral("cache")},
                                    QStringList{QStringLiteral("cache"), QStringLiteral("drop")}}) {
        const CliResult r = runCli(args + QStringList{QStringLiteral("--db"), db});
        QVERIFY2(r.exitCode == 2, qPrintable(describe(args, r)));
        QVERIFY2(r.err.contains(QStringLiteral("flowdeck cache")), qPrintable(r.err));
    }
    const CliResult help = runCli({QStringLiteral("cache"), QStringLiteral("--help")});
    QCOMPARE(help.exitCode, 0);
    QVERIFY(help.out.contains(QStringLiteral("clear KEY | --flow NAME | --all")));
    const CliResult runHelp = runCli({QStringLiteral("run"), QStringLiteral("--help")});
    QVERIFY(runHelp.out.contains(QStringLiteral("--refresh-cache")));
}

QTEST_GUILESS_MAIN(TestCache)
#include "tst_cache.moc"
