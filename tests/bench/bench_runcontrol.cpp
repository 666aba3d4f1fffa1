// Operating runs: how soon a pause stops new starts (in this process, and requested by another
// connection through the database), and what a retry of a 10,000-task run where 1% failed costs
// against running it anew (time and rows written), every transition durable on SQLite.
//
//   cmake --build build/release --target bench_runcontrol
//   build/release/tests/bench/bench_runcontrol [N]     # N task runs (default 10000), 1% fail once
//
// Beside each figure: a bare probe measured in the same run (SQLite rows inserted per second in one
// transaction), and the ratio, which is the figure to compare between machines.
#include "benchprobe.h"
#include "flow/flowparser.h"
#include "flow/taskkind.h"
#include "run/engine.h"
#include "run/engineobserver.h"
#include "run/flowrun.h"
#include "run/taskcontext.h"
#include "session/runcontrol.h"
#include "session/session.h"
#include "store/connectionpool.h"
#include "store/store.h"

#include <QCoreApplication>
#include <QCoro/QCoroTask>
#include <QElapsedTimer>
#include <QJsonArray>
#include <QJsonObject>
#include <QSqlDatabase>
#include <QSqlQuery>
#include <QTemporaryDir>
#include <QVariant>

#include <algorithm>
#include <cstdio>
#include <vector>

using namespace flowdeck;

namespace {

//! Fails the first attempt of every 100th run (map index 0, 100, ...); later attempts complete.
class FlakyKind final : public TaskKind {
public:
    QString name() const override { return QStringLiteral("bench_flaky"); }
    QString summary() const override { return QStringLiteral("Fails the first attempt of every 100th run."); }
    QList<FieldSpec> fields() const override { return {}; }
    QCoro::Task<TaskOutcome> run(TaskContext& ctx) const override
    {
        if (ctx.mapIndex() % 100 == 0 && ctx.attempt() == 1)
            co_return TaskOutcome::failure(QStringLiteral("fails once"));
        co_return TaskOutcome::success();
    }
};

//! Counts task runs whose body starts (they move into RUNNING) while armed.
class StartCounter final : public EngineObserver {
public:
    void onTransition(const TransitionEvent& e) override
    {
        if (armed && e.taskRun && e.type == StateType::Running)
            ++starts;
        // Recorded as started by the slot transaction in flight when the pause came, then held
        // before its body ran: not a start.
        if (armed && e.taskRun && e.name == StateName::Suspended
            && e.message.startsWith(QLatin1String("held")))
            --starts;
    }
    void onLog(const LogEvent&) override {}
    bool armed = false;
    qint64 starts = 0;
};

//! Runs the event loop until \a done (bounded: a benchmark that hangs says so).
template<typename F>
bool spinUntil(F done, int timeoutMs = 120000)
{
    QElapsedTimer timer;
    timer.start();
    while (!done()) {
        if (timer.elapsed() > timeoutMs)
            return false;
        QCoreApplication::processEvents(QEventLoop::AllEvents | QEventLoop::WaitForMoreEvents, 5);
    }
    return true;
}

template<typename T>
T finish(QCoro::Task<T>& task)
{
    return QCoro::waitFor(task);
}

qint64 count(const QString& path, const QString& sql)
{
    qint64 n = 0;
    {
        QSqlDatabase db = QSqlDatabase::addDatabase(QStringLiteral("QSQLITE"), QStringLiteral("count"));
        db.setDatabaseName(path);
        db.open();
        QSqlQuery q(db);
        if (q.exec(sql) && q.next())
            n = q.value(0).toLongLong();
    }
    QSqlDatabase::removeDatabase(QStringLiteral("count"));
    return n;
}

void execute(const QString& path, const QString& sql)
{
    {
        QSqlDatabase db = QSqlDatabase::addDatabase(QStringLiteral("QSQLITE"), QStringLiteral("write"));
        db.setDatabaseName(path);
        db.open();
        QSqlQuery q(db);
        q.exec(QStringLiteral("PRAGMA busy_timeout=10000"));
        q.exec(sql);
    }
    QSqlDatabase::removeDatabase(QStringLiteral("write"));
}

//! Rows written by a phase: history rows added, plus task-run rows inserted or updated (one per run
//! that changed, as the batch writer writes each run's latest state once per batch).
qint64 historyRows(const QString& path)
{
    return count(path, QStringLiteral("SELECT count(*) FROM state_history"));
}

double percentile(std::vector<double> values, double p)
{
    std::sort(values.begin(), values.end());
    return values.empty()
        ? 0
        : values[size_t(std::min<double>(double(values.size() - 1), p * double(values.size())))];
}

} // namespace

int main(int argc, char* argv[])
{
    QCoreApplication app(argc, argv);
    const int n = std::max(100, app.arguments().value(1, QStringLiteral("10000")).toInt());
    TaskKindRegistry::instance().add(std::make_unique<FlakyKind>());
    QTemporaryDir dir;
    const QString path = dir.filePath(QStringLiteral("bench.db"));
    const double probe = bench::sqliteRowsPerSecond(dir.filePath(QStringLiteral("probe.db")));
    std::printf("probe: SQLite inserts %.0f rows/s in one transaction (%.2f us per row)\n", probe,
                1e6 / probe);

    Engine engine;
    Session session(engine.scheduler());
    auto opening
        = session.open(path, {.engine = &engine, .registerEngine = false, .readOnly = false, .pool = {}});
    finish(opening);
    FlowParser parser(TaskKindRegistry::instance());
    ValidationErrors errors;
    const QJsonObject document{
        {QStringLiteral("name"), QStringLiteral("bench-retry")},
        {QStringLiteral("tasks"),
         QJsonArray{QJsonObject{{QStringLiteral("id"), QStringLiteral("t")},
                                {QStringLiteral("kind"), QStringLiteral("bench_flaky")},
                                {QStringLiteral("map"), n}},
                    QJsonObject{{QStringLiteral("id"), QStringLiteral("after")},
                                {QStringLiteral("kind"), QStringLiteral("noop")},
                                {QStringLiteral("depends_on"), QJsonArray{QStringLiteral("t")}}}}}};
    const std::optional<FlowDefinition> flow = parser.resolve(document, QStringLiteral("bench"), errors);
    if (!flow) {
        std::fprintf(stderr, "bench_runcontrol: the flow does not validate\n");
        return 2;
    }

    // 1. A run anew: every task run created and run; 1% fail.
    qint64 historyBefore = historyRows(path);
    QElapsedTimer timer;
    timer.start();
    FlowRun* run = engine.start(*flow);
    const RunId id = run->id;
    spinUntil([&] { return run->isTerminal(); });
    auto flushing = session.store()->flush();
    finish(flushing);
    const double anewS = double(timer.nsecsElapsed()) / 1e9;
    const qint64 anewRows = historyRows(path) - historyBefore + n + 1;
    const qint64 failed = run->count(StateType::Failed);
    std::printf("run anew: %d task runs + 1, %lld failed: %.3f s, %lld rows written (history + task runs)\n",
                n, failed, anewS, anewRows);

    // 2. The retry: only the failed runs and the task downstream of them run again.
    RunControl control(session, engine);
    historyBefore = historyRows(path);
    timer.restart();
    auto retrying = control.retry(id.toString(), QStringLiteral("bench"));
    FlowRun* retried = finish(retrying);
    spinUntil([&] { return retried->isTerminal(); });
    auto flushing2 = session.store()->flush();
    finish(flushing2);
    const double retryS = double(timer.nsecsElapsed()) / 1e9;
    const qint64 retryRows = historyRows(path) - historyBefore + failed;
    std::printf("retry:    %s, %lld task runs ran again: %.3f s (%.1f%% of anew), %lld rows written (%.1f%% "
                "of anew)\n",
                qPrintable(toString(retried->type)), failed, retryS, 100.0 * retryS / anewS, retryRows,
                100.0 * double(retryRows) / double(anewRows));
    std::printf("          reading the %d stored task runs and going on: %.2f us per stored task run = %.1f "
                "probe rows\n",
                n + 1, retryS * 1e6 / (n + 1), retryS * probe / (n + 1));

    // 3. Pause in this process: how many task runs start after pauseFlowRun() returns, and how long the
    // running ones take to drain. Sleeps of 50 ms with a tag limit keep runs waiting and running.
    // Stored, as the dashboard and the CLI keep limits (the session's poll applies what is stored).
    execute(path,
            QStringLiteral(
                "INSERT INTO concurrency_limits (tag, slot_limit, updated_at) VALUES ('bench', 50, 0)"));
    auto limiting = session.refreshLimits();
    finish(limiting);
    const QJsonObject sleepers{
        {QStringLiteral("name"), QStringLiteral("bench-pause")},
        {QStringLiteral("tasks"),
         QJsonArray{QJsonObject{{QStringLiteral("id"), QStringLiteral("s")},
                                {QStringLiteral("kind"), QStringLiteral("sleep")},
                                {QStringLiteral("seconds"), 0.05},
                                {QStringLiteral("tags"), QJsonArray{QStringLiteral("bench")}},
                                {QStringLiteral("map"), 2000}}}}};
    const std::optional<FlowDefinition> pauseFlow = parser.resolve(sleepers, QStringLiteral("bench"), errors);
    std::vector<double> drainMs;
    std::vector<double> crossMs;
    StartCounter counter;
    engine.addObserver(&counter);
    for (int round = 0; round < 5; ++round) {
        FlowRun* p = engine.start(*pauseFlow);
        spinUntil([&] { return p->count(StateType::Completed) >= 100; });
        timer.restart();
        engine.pauseFlowRun(p, QStringLiteral("bench"));
        counter.armed = true;
        spinUntil([&] { return p->count(StateType::Running) == 0; });
        drainMs.push_back(double(timer.nsecsElapsed()) / 1e6);
        QElapsedTimer quiet;
        quiet.start();
        spinUntil([&] { return quiet.elapsed() > 200; }); // anything that would still start
        counter.armed = false;
        engine.resumeFlowRun(p, QStringLiteral("bench"));
        spinUntil([&] { return p->count(StateType::Completed) >= 300; });
        // 4. The same pause written by another connection (as `flowdeck runs pause` does); this
        // process's poll applies it.
        auto settling = session.store()->flush();
        finish(settling);
        timer.restart();
        execute(
            path,
            QStringLiteral("UPDATE flow_runs SET pause_requested = 1, paused_by = 'bench' WHERE id = '%1'")
                .arg(p->id.toString()));
        spinUntil([&] { return p->type == StateType::Paused; }, 10000);
        crossMs.push_back(double(timer.nsecsElapsed()) / 1e6);
        engine.cancelFlowRun(p);
        spinUntil([&] { return p->isTerminal(); });
    }
    std::printf(
        "pause in process: %lld task runs started after the pause returned (5 rounds); running ones drained "
        "in p50 %.1f ms, max %.1f ms (sleeps of 50 ms)\n",
        counter.starts, percentile(drainMs, 0.5), percentile(drainMs, 1.0));
    std::printf("pause from another connection: applied after p50 %.0f ms, max %.0f ms (the poll runs every "
                "500 ms)\n",
                percentile(crossMs, 0.5), percentile(crossMs, 1.0));
    auto closing = session.close();
    finish(closing);
    return 0;
}
