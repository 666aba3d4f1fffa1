// Tag concurrency limits: the in-process limiter's cost, and how fast a freed slot starts a waiter.
//
//   bench_limiter                      everything (about 12 s)
//   bench_limiter acquire [PAIRS]      ConcurrencyLimiter::tryAcquire + release, uncontended (default
//   2,000,000) bench_limiter engine [N] [LIMIT] [SECONDS]
//                                      N task runs of `sleep` SECONDS tagged "t" on a limit of LIMIT through
//                                      the real Engine (default 10,000 on 10, 0.01 s): wall against the ideal
//                                      N * SECONDS / LIMIT, and the wake-up latency from each holder's
//                                      RUNNING -> COMPLETED to the next waiter's RUNNING (p50/p99/max)
//   bench_limiter globalacquire [PAIRS] tryAcquire + release of a task run with a tag and a global limit
//                                      together, uncontended (default 2,000,000; target <= 1 us)
//   bench_limiter globalengine [N] [LIMIT] [SECONDS]
//                                      as engine, with the task runs occupying a global limit
//                                      ("concurrency") instead of a tag
//   bench_limiter rate [N] [LIMIT] [RATE] [DB]
//                                      N rate-limited no-op task runs on a rate limit of LIMIT slots
//                                      decaying at RATE per second (default 200 on 10 at 10/s): in process,
//                                      or with DB (a SQLite path) through `flowdeck run` and its stored start
//                                      times. Span of the starts against the ideal (a burst of LIMIT every
//                                      LIMIT / RATE s) and the busiest window of LIMIT / RATE s
//   bench_limiter crossprocess DB [PROCS] [TASKS] [LIMIT]
//                                      PROCS `flowdeck run` processes (default 3) against one database
//                                      (a SQLite path or postgresql:// URL), each running TASKS no-op task
//                                      runs (default 2,000) tagged "x" on a limit of LIMIT (default 4):
//                                      slot acquisitions per second across the processes (every one is a
//                                      database transaction that takes the slot and records RUNNING).
//                                      The binary: $FLOWDECK_BINARY, else ../../app/flowdeck from here.
#include "benchprobe.h"
#include "flow/flowparser.h"
#include "flow/taskkind.h"
#include "run/concurrencylimiter.h"
#include "run/engine.h"
#include "run/engineobserver.h"
#include "run/flowrun.h"
#include "run/scheduler.h"

#include <QCoreApplication>
#include <QDir>
#include <QElapsedTimer>
#include <QEventLoop>
#include <QFile>
#include <QJsonArray>
#include <QJsonObject>
#include <QProcess>
#include <QSqlDatabase>
#include <QSqlQuery>
#include <QTemporaryDir>
#include <QTimer>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <deque>
#include <memory>
#include <numeric>
#include <unordered_map>
#include <vector>

using namespace flowdeck;

namespace {

using Clock = std::chrono::steady_clock;

double percentile(std::vector<double> values, double p)
{
    if (values.empty())
        return 0;
    std::sort(values.begin(), values.end());
    const auto index = std::min(values.size() - 1, std::size_t(p * double(values.size() - 1) + 0.5));
    return values[index];
}

//! tryAcquire + release of one task run on a tag with room to spare: no waiter, no wake-up.
void benchAcquire(long pairs)
{
    Scheduler scheduler;
    ConcurrencyLimiter limiter(scheduler);
    limiter.setLimit(QStringLiteral("t"), 1'000'000);
    limiter.setLimit(QStringLiteral("other"), 5); // an unrelated limit, so the tag table is not trivial

    TaskDef def;
    def.id = QStringLiteral("w");
    def.tags = {QStringLiteral("t")};
    TaskNode node;
    node.def = &def;
    FlowRun flow;
    // Ten runs hold slots already, as in a busy engine; the measured one takes and frees the eleventh.
    std::vector<TaskRun> runs(11);
    for (TaskRun& r : runs) {
        r.flowRun = &flow;
        r.node = &node;
    }
    for (int i = 0; i < 10; ++i)
        limiter.tryAcquire(runs[std::size_t(i)]);
    TaskRun& run = runs[10];

    for (int warm = 0; warm < 10'000; ++warm) {
        limiter.tryAcquire(run);
        limiter.release(run);
    }
    std::vector<double> perPair;
    for (int round = 0; round < 5; ++round) {
        long failures = 0;
        const auto start = Clock::now();
        for (long i = 0; i < pairs; ++i) {
            if (!limiter.tryAcquire(run))
                ++failures;
            limiter.release(run);
        }
        const auto ns = std::chrono::duration<double, std::nano>(Clock::now() - start).count();
        if (failures)
            std::fprintf(stderr, "unexpected: %ld acquisitions failed\n", failures);
        perPair.push_back(ns / double(pairs));
    }
    std::sort(perPair.begin(), perPair.end());
    const double probeNs = bench::readyQueueProbeUs() * 1000;
    std::printf(
        "in-process acquire + release, uncontended (1 tag, 10 other holders): median %.0f ns per pair, "
        "best %.0f ns (%ld pairs x 5 rounds; target <= 1000 ns); probe: a coroutine resumed 3 times "
        "through the ready queue %.0f ns, ratio %.2f\n",
        perPair[perPair.size() / 2], perPair.front(), pairs, probeNs, perPair[perPair.size() / 2] / probeNs);
}

//! tryAcquire + release of one task run holding a tag and a global limit together, with room to spare.
void benchGlobalAcquire(long pairs)
{
    Scheduler scheduler;
    ConcurrencyLimiter limiter(scheduler);
    limiter.setLimit(QStringLiteral("t"), 1'000'000);
    limiter.setLimit(QStringLiteral("other"), 5);
    limiter.setGlobalLimit(QStringLiteral("g"), {1'000'000, true, 0});
    limiter.setGlobalLimit(QStringLiteral("unrelated"), {5, true, 0});

    TaskDef def;
    def.id = QStringLiteral("w");
    def.tags = {QStringLiteral("t")};
    def.concurrency = {{QStringLiteral("g"), 2, false}};
    TaskNode node;
    node.def = &def;
    FlowRun flow;
    std::vector<TaskRun> runs(11);
    for (TaskRun& r : runs) {
        r.flowRun = &flow;
        r.node = &node;
    }
    for (int i = 0; i < 10; ++i)
        limiter.tryAcquire(runs[std::size_t(i)]);
    TaskRun& run = runs[10];
    for (int warm = 0; warm < 10'000; ++warm) {
        limiter.tryAcquire(run);
        limiter.release(run);
    }
    std::vector<double> perPair;
    for (int round = 0; round < 5; ++round) {
        long failures = 0;
        const auto start = Clock::now();
        for (long i = 0; i < pairs; ++i) {
            if (!limiter.tryAcquire(run))
                ++failures;
            limiter.release(run);
        }
        const auto ns = std::chrono::duration<double, std::nano>(Clock::now() - start).count();
        if (failures)
            std::fprintf(stderr, "unexpected: %ld acquisitions failed\n", failures);
        perPair.push_back(ns / double(pairs));
    }
    std::sort(perPair.begin(), perPair.end());
    const double probeNs = bench::readyQueueProbeUs() * 1000;
    std::printf("in-process acquire + release of a tag and a global limit (occupy 2) together, uncontended "
                "(10 other holders): median %.0f ns per pair, best %.0f ns (%ld pairs x 5 rounds; target <= "
                "1000 ns); probe: a coroutine resumed 3 times through the ready queue %.0f ns, ratio %.2f\n",
                perPair[perPair.size() / 2], perPair.front(), pairs, probeNs,
                perPair[perPair.size() / 2] / probeNs);
}

//! Steady-clock stamps of every task run's start and end, in the order the engine reports them.
class WakeObserver final : public EngineObserver {
public:
    void onTransition(const TransitionEvent& e) override
    {
        if (!e.taskRun)
            return;
        const auto now = Clock::now();
        if (e.type == StateType::Running && (e.isNew || e.from != StateType::Running)) {
            ++m_running;
            m_startedAt[e.taskRun] = now;
            m_maxRunning = std::max(m_maxRunning, m_running);
            // A start with a freed slot pending: the waiter it woke.
            if (!m_freed.empty()) {
                m_latenciesUs.push_back(
                    std::chrono::duration<double, std::micro>(now - m_freed.front()).count());
                m_freed.pop_front();
            }
        } else if (!e.isNew && e.from == StateType::Running && e.type != StateType::Running) {
            --m_running;
            m_freed.push_back(now);
            const auto it = m_startedAt.find(e.taskRun);
            if (it != m_startedAt.end()) {
                m_holdsS.push_back(std::chrono::duration<double>(now - it->second).count());
                m_startedAt.erase(it);
            }
        }
    }
    const std::vector<double>& latenciesUs() const { return m_latenciesUs; }
    int maxRunning() const { return m_maxRunning; }
    //! How long each task run held its slot (RUNNING to its end), in seconds.
    const std::vector<double>& holdsS() const { return m_holdsS; }

private:
    std::deque<Clock::time_point> m_freed;
    std::vector<double> m_latenciesUs;
    std::vector<double> m_holdsS;
    std::unordered_map<const TaskRun*, Clock::time_point> m_startedAt;
    int m_running = 0;
    int m_maxRunning = 0;
};

void benchEngine(int n, int limit, double seconds, bool global = false)
{
    QJsonObject task;
    task.insert(QStringLiteral("id"), QStringLiteral("w"));
    task.insert(QStringLiteral("kind"), QStringLiteral("sleep"));
    task.insert(QStringLiteral("seconds"), seconds);
    task.insert(QStringLiteral("map"), n);
    if (global)
        task.insert(QStringLiteral("concurrency"), QJsonArray{QStringLiteral("g")});
    else
        task.insert(QStringLiteral("tags"), QJsonArray{QStringLiteral("t")});
    QJsonObject document;
    document.insert(QStringLiteral("name"), QStringLiteral("bench-limiter"));
    document.insert(QStringLiteral("seed"), 1);
    document.insert(QStringLiteral("tasks"), QJsonArray{task});
    ValidationErrors errors;
    const auto flow = FlowParser(TaskKindRegistry::instance())
                          .resolve(document, QStringLiteral("code:bench-limiter"), errors);
    if (!flow) {
        for (const ValidationError& e : errors)
            std::fprintf(stderr, "bench flow invalid: %s\n", e.toString().toLocal8Bit().constData());
        std::exit(2);
    }

    Engine engine;
    engine.loopMonitor().stop();
    engine.limiter().setLimit(QStringLiteral("t"), limit);
    engine.limiter().setGlobalLimit(QStringLiteral("g"), {limit, true, 0});
    WakeObserver observer;
    engine.addObserver(&observer);

    QEventLoop loop;
    FlowRun* finished = nullptr;
    Clock::time_point end;
    QObject::connect(&engine, &Engine::flowRunFinished, &loop, [&](FlowRun* run) {
        end = Clock::now();
        finished = run;
        loop.quit();
    });
    const double idealS = double(n) * seconds / double(limit);
    QTimer watchdog;
    watchdog.setSingleShot(true);
    QObject::connect(&watchdog, &QTimer::timeout, &loop, &QEventLoop::quit);
    const auto start = Clock::now();
    FlowRun* run = engine.start(*flow);
    if (!finished) {
        watchdog.start(int(idealS * 3000) + 30'000);
        loop.exec();
    }
    if (!finished) {
        std::fprintf(stderr, "timed out: %lld of %lld task runs finished\n", run->finishedTaskRuns,
                     run->totalTaskRuns);
        std::exit(1);
    }
    const double wallS = std::chrono::duration<double>(end - start).count();
    const auto& lat = observer.latenciesUs();
    std::printf("%d task runs of sleep %.3f s on a %s limit of %d (in-process engine, no store):\n", n,
                seconds, global ? "global" : "tag", limit);
    std::printf("  wall %.3f s, ideal %.3f s: %+.2f %% (target within 2 %%); at most %d ran at once; %lld "
                "completed\n",
                wallS, idealS, (wallS / idealS - 1) * 100, observer.maxRunning(),
                run->count(StateType::Completed));
    std::printf(
        "  wake-up after release (holder RUNNING -> COMPLETED to the next waiter's RUNNING), %zu samples: "
        "p50 %.1f us, p99 %.1f us, max %.1f us (target p99 <= 1000 us)\n",
        lat.size(), percentile(lat, 0.50), percentile(lat, 0.99),
        lat.empty() ? 0.0 : *std::max_element(lat.begin(), lat.end()));
    // The sleeps themselves overshoot (timer granularity): the wall the slots allowed, given how long
    // the task runs actually held them, separates the limiter's share from the timers'.
    const auto& holds = observer.holdsS();
    const double held = std::accumulate(holds.begin(), holds.end(), 0.0);
    const double boundS = held / double(limit);
    std::printf("  slots held %.3f ms per task run on average (p50 %.3f ms, asked %.3f ms): bound from the "
                "actual holds "
                "%.3f s; wall over that bound %+.2f %% (%.1f ms), the limiter's and the loop's share\n",
                holds.empty() ? 0.0 : held / double(holds.size()) * 1e3, percentile(holds, 0.5) * 1e3,
                seconds * 1e3, boundS, (wallS / boundS - 1) * 100, (wallS - boundS) * 1e3);
    engine.removeObserver(&observer);
}

int runCli(const QString& binary, const QStringList& args)
{
    QProcess p;
    p.setProcessChannelMode(QProcess::ForwardedErrorChannel);
    p.setStandardOutputFile(QProcess::nullDevice());
    p.start(binary, args);
    if (!p.waitForFinished(600'000) || p.exitStatus() != QProcess::NormalExit)
        return -1;
    return p.exitCode();
}

int benchCrossProcess(const QString& db, int procs, int tasks, int limit)
{
    QString binary = qEnvironmentVariable("FLOWDECK_BINARY");
    if (binary.isEmpty())
        binary = QDir(QCoreApplication::applicationDirPath()).filePath(QStringLiteral("../../app/flowdeck"));
    if (!QFile::exists(binary)) {
        std::fprintf(stderr, "bench_limiter: no flowdeck binary at %s (set FLOWDECK_BINARY)\n",
                     qPrintable(binary));
        return 2;
    }
    QTemporaryDir dir;
    const QString flowPath = dir.filePath(QStringLiteral("tagged-noop.json"));
    QFile flow(flowPath);
    if (!flow.open(QIODevice::WriteOnly))
        return 2;
    flow.write(
        QStringLiteral(
            R"({"name": "tagged-noop", "tasks": [{"id": "t", "kind": "noop", "map": %1, "tags": ["x"]}]})")
            .arg(tasks)
            .toUtf8());
    flow.close();
    if (runCli(binary,
               {QStringLiteral("concurrency-limit"), QStringLiteral("create"), QStringLiteral("x"),
                QString::number(limit), QStringLiteral("--db"), db})
        != 0) {
        std::fprintf(stderr, "bench_limiter: could not create the limit in %s\n", qPrintable(db));
        return 2;
    }
    std::vector<std::unique_ptr<QProcess>> children;
    QElapsedTimer clock;
    clock.start();
    for (int i = 0; i < procs; ++i) {
        auto p = std::make_unique<QProcess>();
        p->setProcessChannelMode(QProcess::ForwardedErrorChannel);
        p->setStandardOutputFile(QProcess::nullDevice());
        p->start(binary, {QStringLiteral("run"), flowPath, QStringLiteral("--db"), db});
        children.push_back(std::move(p));
    }
    bool ok = true;
    for (auto& p : children)
        ok = p->waitForFinished(1'800'000) && p->exitStatus() == QProcess::NormalExit && p->exitCode() == 0
            && ok;
    const double wallS = double(clock.nsecsElapsed()) / 1e9;
    const double total = double(procs) * tasks;
    std::printf("%d processes x %d tagged no-op task runs on a limit of %d, %s:\n", procs, tasks, limit,
                db.startsWith(QStringLiteral("postgresql:")) ? "PostgreSQL" : "SQLite");
    std::printf("  wall %.3f s: %.0f slot acquisitions per second across the processes (%.1f us each)%s\n",
                wallS, total / wallS, wallS / total * 1e6, ok ? "" : " -- a run FAILED");
    return ok ? 0 : 1;
}

//! Span of sorted start times against the ideal, and the most starts in any window of LIMIT / RATE s.
void reportRate(const QList<qint64>& startsUs, int n, int limit, double rate, const char* where)
{
    const double windowUs = double(limit) / rate * 1e6;
    int busiest = 0;
    qsizetype j = 0;
    for (qsizetype i = 0; i < startsUs.size(); ++i) {
        while (double(startsUs[i] - startsUs[j]) >= windowUs)
            ++j;
        busiest = std::max(busiest, int(i - j + 1));
    }
    const double idealS = double((n - 1) / limit) * double(limit) / rate;
    const double spanS = startsUs.isEmpty() ? 0.0 : double(startsUs.last() - startsUs.first()) / 1e6;
    std::printf(
        "%d rate-limited no-op task runs on %d slots decaying at %g/s (%s): %lld started; span of the "
        "starts %.3f s, ideal %.3f s: %+.2f %% (target within 2 %%); busiest %.3f s window: %d starts "
        "(limit %d)\n",
        n, limit, rate, where, qint64(startsUs.size()), spanS, idealS,
        idealS > 0 ? (spanS / idealS - 1) * 100 : 0.0, windowUs / 1e6, busiest, limit);
}

class StartObserver final : public EngineObserver {
public:
    void onTransition(const TransitionEvent& e) override
    {
        if (e.taskRun && e.type == StateType::Running)
            starts << e.timeUs;
    }
    QList<qint64> starts;
};

int benchRate(int n, int limit, double rate, const QString& db)
{
    const QString json
        = QStringLiteral(
              R"({"name": "bench-rate", "tasks": [{"id": "t", "kind": "noop", "map": %1, "rate_limit": "api"}]})")
              .arg(n);
    if (db.isEmpty()) {
        ValidationErrors errors;
        const auto flow
            = FlowParser(TaskKindRegistry::instance()).parse(json.toUtf8(), QStringLiteral("bench"), errors);
        if (!flow)
            return 2;
        Engine engine;
        engine.limiter().setGlobalLimit(QStringLiteral("api"), {limit, true, rate});
        StartObserver observer;
        engine.addObserver(&observer);
        QEventLoop loop;
        QObject::connect(&engine, &Engine::flowRunFinished, &loop, &QEventLoop::quit);
        engine.start(*flow);
        loop.exec();
        engine.removeObserver(&observer);
        std::sort(observer.starts.begin(), observer.starts.end());
        reportRate(observer.starts, n, limit, rate, "in process, transition times");
        return 0;
    }
    QString binary = qEnvironmentVariable("FLOWDECK_BINARY");
    if (binary.isEmpty())
        binary = QDir(QCoreApplication::applicationDirPath()).filePath(QStringLiteral("../../app/flowdeck"));
    QTemporaryDir dir;
    const QString flowPath = dir.filePath(QStringLiteral("rate.json"));
    QFile flow(flowPath);
    if (!flow.open(QIODevice::WriteOnly))
        return 2;
    flow.write(json.toUtf8());
    flow.close();
    if (runCli(binary,
               {QStringLiteral("gcl"), QStringLiteral("create"), QStringLiteral("api"),
                QStringLiteral("--limit"), QString::number(limit), QStringLiteral("--slot-decay-per-second"),
                QString::number(rate), QStringLiteral("--db"), db})
            != 0
        || runCli(binary, {QStringLiteral("run"), flowPath, QStringLiteral("--db"), db}) != 0) {
        std::fprintf(stderr, "bench_limiter: the run in %s failed\n", qPrintable(db));
        return 1;
    }
    QList<qint64> starts;
    {
        QSqlDatabase sqlite = QSqlDatabase::addDatabase(QStringLiteral("QSQLITE"), QStringLiteral("bench"));
        sqlite.setDatabaseName(db);
        if (!sqlite.open())
            return 2;
        QSqlQuery q(sqlite);
        q.exec(QStringLiteral(
            "SELECT time FROM state_history WHERE state = 'RUNNING' AND task_run_id IS NOT NULL "
            "ORDER BY time"));
        while (q.next())
            starts << q.value(0).toLongLong();
    }
    QSqlDatabase::removeDatabase(QStringLiteral("bench"));
    reportRate(starts, n, limit, rate, "flowdeck run on SQLite, stored start times");
    return 0;
}

} // namespace

int main(int argc, char** argv)
{
    QCoreApplication app(argc, argv);
    const QStringList args = app.arguments().mid(1);
    const QString mode = args.value(0, QStringLiteral("all"));
    if (mode == u"acquire" || mode == u"all")
        benchAcquire(mode == u"acquire" && args.size() > 1 ? args[1].toLong() : 2'000'000);
    if (mode == u"engine" || mode == u"all") {
        const bool custom = mode == u"engine";
        benchEngine(custom && args.size() > 1 ? args[1].toInt() : 10'000,
                    custom && args.size() > 2 ? args[2].toInt() : 10,
                    custom && args.size() > 3 ? args[3].toDouble() : 0.01);
    }
    if (mode == u"globalacquire" || mode == u"all")
        benchGlobalAcquire(mode == u"globalacquire" && args.size() > 1 ? args[1].toLong() : 2'000'000);
    if (mode == u"globalengine" || mode == u"all") {
        const bool custom = mode == u"globalengine";
        benchEngine(custom && args.size() > 1 ? args[1].toInt() : 10'000,
                    custom && args.size() > 2 ? args[2].toInt() : 10,
                    custom && args.size() > 3 ? args[3].toDouble() : 0.01, true);
    }
    if (mode == u"rate") {
        return benchRate(args.size() > 1 ? args[1].toInt() : 200, args.size() > 2 ? args[2].toInt() : 10,
                         args.size() > 3 ? args[3].toDouble() : 10.0, args.value(4));
    }
    if (mode == u"crossprocess" && args.size() > 1) {
        return benchCrossProcess(args[1], args.size() > 2 ? args[2].toInt() : 3,
                                 args.size() > 3 ? args[3].toInt() : 2000,
                                 args.size() > 4 ? args[4].toInt() : 4);
    }
    if (mode != u"acquire" && mode != u"engine" && mode != u"globalacquire" && mode != u"globalengine"
        && mode != u"all") {
        std::fprintf(
            stderr,
            "usage: bench_limiter [acquire [PAIRS] | engine [N] [LIMIT] [SECONDS] | globalacquire [PAIRS] "
            "| globalengine [N] [LIMIT] [SECONDS] | rate [N] [LIMIT] [RATE] [DB] | "
            "crossprocess DB [PROCS] [TASKS] [LIMIT]]\n");
        return 2;
    }
    return 0;
}
