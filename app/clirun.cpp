#include "clirun.h"

#include "cli.h"
#include "clicommon.h"
#include "run/clock.h"
#include "run/engine.h"
#include "run/flowrun.h"
#include "session/runlimitgate.h"
#include "store/recovery.h"
#include "unixsignals.h"

#include <QCoreApplication>
#include <QCoro/QCoroSignal>
#include <QHostInfo>
#include <QJsonDocument>
#include <QJsonObject>

#include <csignal>
#include <deque>
#include <exception>
#include <map>
#include <new>

namespace flowdeck::cli {

namespace {

//! The run fields of every JSON line: flow_run_id, task_run_id, task and map_index (null where absent).
void insertRunFields(QJsonObject& o, const FlowRun* flow, const TaskRun* task)
{
    o.insert(QStringLiteral("flow_run_id"), flow ? QJsonValue(flow->id.toString()) : QJsonValue());
    o.insert(QStringLiteral("task_run_id"), task ? QJsonValue(task->id.toString()) : QJsonValue());
    o.insert(QStringLiteral("task"), task ? QJsonValue(task->taskId()) : QJsonValue());
    o.insert(QStringLiteral("map_index"),
             task && task->mapIndex >= 0 ? QJsonValue(task->mapIndex) : QJsonValue());
}

//! `--json`: one object per line per transition and log line.
class JsonObserver final : public EngineObserver {
public:
    explicit JsonObserver(Output& out)
        : m_out(out)
    {
    }
    //! With a store, a line is printed only once its transition is committed: what the CLI reports
    //! is already on disk. The store must observe the engine before this observer.
    void setStore(Store* store)
    {
        m_store = store;
        if (store)
            QObject::connect(store, &Store::committed, store,
                             [this](quint64 sequence) { release(sequence); });
    }
    void release(quint64 sequence)
    {
        while (!m_held.empty() && m_held.front().first <= sequence) {
            m_out.line(m_held.front().second);
            m_held.pop_front();
        }
    }
    void onTransition(const TransitionEvent& e) override
    {
        QJsonObject o;
        o.insert(QStringLiteral("event"), QStringLiteral("transition"));
        o.insert(QStringLiteral("time"), isoTime(e.timeUs));
        o.insert(QStringLiteral("flow"), e.flowRun->def.name);
        insertRunFields(o, e.flowRun, e.taskRun);
        o.insert(QStringLiteral("from"), e.isNew ? QJsonValue() : QJsonValue(toString(e.from)));
        o.insert(QStringLiteral("state"), toString(e.type));
        o.insert(QStringLiteral("name"), toString(e.name));
        o.insert(QStringLiteral("message"), e.message);
        emitLine(o);
    }
    void onLog(const LogEvent& e) override
    {
        QJsonObject o;
        o.insert(QStringLiteral("event"), QStringLiteral("log"));
        o.insert(QStringLiteral("time"), isoTime(e.timeUs));
        insertRunFields(o, e.flowRun, e.taskRun);
        o.insert(QStringLiteral("level"), toString(e.level));
        o.insert(QStringLiteral("message"), e.message);
        emitLine(o);
    }

    void onStall(const StallRecord& e) override
    {
        QJsonObject o;
        o.insert(QStringLiteral("event"), QStringLiteral("stall"));
        o.insert(QStringLiteral("time"), isoTime(e.startUs));
        o.insert(QStringLiteral("duration_ms"), double(e.durationUs) / 1000.0);
        o.insert(QStringLiteral("flow_run_id"),
                 e.flowRunId.isNull() ? QJsonValue() : QJsonValue(e.flowRunId.toString()));
        o.insert(QStringLiteral("task_run_id"),
                 e.taskRunId.isNull() ? QJsonValue() : QJsonValue(e.taskRunId.toString()));
        // The same fields as transition lines: the task's id alone, and its map index apart.
        o.insert(QStringLiteral("task"), e.taskId.isEmpty() ? QJsonValue() : QJsonValue(e.taskId));
        o.insert(QStringLiteral("map_index"),
                 !e.taskId.isEmpty() && e.mapIndex >= 0 ? QJsonValue(e.mapIndex) : QJsonValue());
        emitLine(o);
    }

private:
    void emitLine(const QJsonObject& o)
    {
        QString text = QString::fromUtf8(QJsonDocument(o).toJson(QJsonDocument::Compact));
        if (m_store && !m_store->isCommitted(m_store->lastSequence()))
            m_held.emplace_back(m_store->lastSequence(), std::move(text));
        else
            m_out.line(text);
    }
    Output& m_out;
    Store* m_store = nullptr;
    std::deque<std::pair<quint64, QString>> m_held;
};

//! Collects event-loop stalls for the summary.
class StallCollector final : public EngineObserver {
public:
    void onStall(const StallRecord& e) override { m_stalls.append(e); }
    void print(Output& out, int thresholdMs) const
    {
        if (m_stalls.isEmpty()) {
            out.line(QStringLiteral("event loop: no stall above %1 ms").arg(thresholdMs));
            return;
        }
        qint64 total = 0;
        QHash<QString, QPair<int, qint64>> byTask; // task -> (count, total us)
        qint64 outside = 0;
        for (const StallRecord& s : m_stalls) {
            total += s.durationUs;
            if (s.task.isEmpty())
                outside += s.durationUs;
            else {
                auto& entry = byTask[s.task];
                ++entry.first;
                entry.second += s.durationUs;
            }
        }
        out.line(QStringLiteral("event loop: %1 stall%2 above %3 ms, %4 in total%5")
                     .arg(m_stalls.size())
                     .arg(m_stalls.size() == 1 ? QString() : QStringLiteral("s"))
                     .arg(thresholdMs)
                     .arg(formatDuration(double(total) / 1e6))
                     .arg(outside ? QStringLiteral(" (%1 outside any task run)")
                                        .arg(formatDuration(double(outside) / 1e6))
                                  : QString()));
        QList<QPair<QString, QPair<int, qint64>>> worst;
        for (auto it = byTask.begin(); it != byTask.end(); ++it)
            worst.append({it.key(), it.value()});
        std::sort(worst.begin(), worst.end(),
                  [](const auto& a, const auto& b) { return a.second.second > b.second.second; });
        for (int i = 0; i < std::min<qsizetype>(5, worst.size()); ++i) {
            out.line(QStringLiteral("  %1 blocked the loop %2 time%3, %4")
                         .arg(worst[i].first)
                         .arg(worst[i].second.first)
                         .arg(worst[i].second.first == 1 ? QString() : QStringLiteral("s"))
                         .arg(formatDuration(double(worst[i].second.second) / 1e6)));
        }
        if (worst.size() > 5)
            out.line(QStringLiteral("  ... and %1 more task runs").arg(worst.size() - 5));
    }

private:
    QList<StallRecord> m_stalls;
};

//! Human output: a line per flow-level event, and the first task failures as they happen.
class HumanObserver final : public EngineObserver {
public:
    explicit HumanObserver(Output& out)
        : m_out(out)
    {
    }
    void onTransition(const TransitionEvent& e) override
    {
        if (!e.taskRun) {
            QString text = QStringLiteral("%1  flow run %2 (%3): %4")
                               .arg(clockTime(e.timeUs), e.flowRun->def.name, e.flowRun->id.toString(),
                                    toString(e.type));
            if (toString(e.name).toUpper() != toString(e.type))
                text += QStringLiteral(" (%1)").arg(toString(e.name));
            if (!e.message.isEmpty())
                text += QStringLiteral(" - ") + e.message;
            m_out.line(text);
            return;
        }
        if (e.name == StateName::AwaitingApproval && ++m_approvals <= MaxFailureLines) {
            // Says how to decide from another terminal: the id as the window shows it works too.
            const QString label = taskRunLabel(*e.taskRun);
            m_out.line(
                QStringLiteral("%1  task run %2 waits for approval: %3 (flowdeck runs approve|reject %4 %2)")
                    .arg(clockTime(e.timeUs), label, e.message, e.flowRun->id.toString().right(8)));
            return;
        }
        if (e.type != StateType::Failed && e.type != StateType::Crashed)
            return;
        if (e.name == StateName::UpstreamFailed)
            return;
        if (++m_failures <= MaxFailureLines) {
            const TaskRun& r = *e.taskRun;
            const QString label = taskRunLabel(r);
            m_out.line(QStringLiteral("%1  task run %2 %3 (%4): %5")
                           .arg(clockTime(e.timeUs), label, toString(e.type), toString(e.name), e.message));
        } else if (m_failures == MaxFailureLines + 1) {
            m_out.line(QStringLiteral("%1  (further task failures are counted in the summary)")
                           .arg(clockTime(e.timeUs)));
        }
    }

private:
    static constexpr int MaxFailureLines = 20;
    Output& m_out;
    int m_failures = 0;
    int m_approvals = 0;
};

void printSummary(const FlowRun& flow, Output& out)
{
    struct Row {
        QString task;
        qint64 runs = 0;
        std::map<int, qint64> byType;
        qint64 attempts = 0;
        double minS = 0, maxS = 0, sumS = 0;
        qint64 timed = 0;
    };
    QList<Row> rows;
    for (const TaskNode& node : flow.nodes) {
        Row row;
        row.task = node.def->id;
        row.runs = node.count;
        // Runs of a large flow run that were released are counted in their node.
        for (int t = 0; t < StateTypeCount; ++t) {
            if (node.countByType[size_t(t)] > 0)
                row.byType[t] = node.countByType[size_t(t)];
        }
        ReleasedTally tally = node.releasedTally;
        for (int i = 0; i < node.materialized; ++i) {
            if (const TaskRun* live = node.runs.find(size_t(i)))
                tally.add(*live);
        }
        row.attempts = tally.attempts;
        row.timed = tally.timed;
        row.minS = tally.minSeconds;
        row.maxS = tally.maxSeconds;
        row.sumS = tally.sumSeconds;
        rows.append(row);
    }
    int width = 4;
    for (const Row& row : rows)
        width = std::max(width, int(row.task.size()));
    const QList<StateType> columns
        = {StateType::Completed, StateType::Failed, StateType::Cancelled, StateType::Crashed};
    QString header
        = QStringLiteral("%1 %2").arg(QStringLiteral("task"), -width).arg(QStringLiteral("runs"), 7);
    for (StateType t : columns)
        header += QStringLiteral(" %1").arg(toString(t), 10);
    header += QStringLiteral(" %1 %2 %3 %4")
                  .arg(QStringLiteral("attempts"), 9)
                  .arg(QStringLiteral("min"), 10)
                  .arg(QStringLiteral("avg"), 10)
                  .arg(QStringLiteral("max"), 10);
    out.line(QString());
    out.line(header);
    for (const Row& row : rows) {
        QString line = QStringLiteral("%1 %2").arg(row.task, -width).arg(row.runs, 7);
        for (StateType t : columns) {
            const auto it = row.byType.find(int(t));
            line += QStringLiteral(" %1").arg(it == row.byType.end() ? 0 : it->second, 10);
        }
        const auto dash = QStringLiteral("-");
        line += QStringLiteral(" %1 %2 %3 %4")
                    .arg(row.attempts, 9)
                    .arg(row.timed ? formatDuration(row.minS) : dash, 10)
                    .arg(row.timed ? formatDuration(row.sumS / double(row.timed)) : dash, 10)
                    .arg(row.timed ? formatDuration(row.maxS) : dash, 10);
        out.line(line);
    }
    const double wall = double(flow.endedUs - flow.createdUs) / 1e6;
    out.line(QString());
    out.line(QStringLiteral("flow run %1: %2 (%3) in %4 - %5")
                 .arg(flow.def.name, toString(flow.type), toString(flow.name), formatDuration(wall),
                      flow.message));
}

void printPoolSummary(const ConnectionPool& pool, const Store& store, Output& out)
{
    const PoolMetrics p = pool.metrics();
    const StoreMetrics s = store.metrics();
    out.line(
        QStringLiteral("database %1: %2 transitions in %3 batches (longest commit %4 ms), %5 log lines%6; "
                       "pool size %7 overflow %8, %9 checkouts, wait p99 %10 ms, %11 timeouts")
            .arg(pool.url().redacted())
            .arg(s.transitionsWritten)
            .arg(s.batches)
            .arg(s.maxCommitMs, 0, 'f', 1)
            .arg(s.logsWritten)
            .arg(s.logsDropped ? QStringLiteral(" (%1 dropped: log buffer full)").arg(s.logsDropped)
                               : QString())
            .arg(p.poolSize)
            .arg(p.maxOverflow)
            .arg(p.checkouts)
            .arg(p.waitP99Ms, 0, 'f', 1)
            .arg(p.timeouts));
}

//! What `flowdeck run` was asked to do.
struct RunOptions {
    FlowDefinition flow;
    int threads = BlockingPool::DefaultThreads;
    bool json = false;
    bool refreshCache = false;
    QString db;
};

int parseRunOptions(const QStringList& args, Output& err, RunOptions* options)
{
    QCommandLineParser parser;
    parser.setApplicationDescription(
        QStringLiteral("Runs a flow headless and prints its progress and a summary.\n"
                       "A flow with \"max_active_runs\" first counts its active runs in every process on "
                       "the database: over the limit it waits (SCHEDULED, saying why) with \"on_limit\": "
                       "\"enqueue\", or is skipped with \"skip\".\n"
                       "Exit codes: 0 completed, 1 failed or crashed, 2 bad usage, invalid flow or no "
                       "database, 3 skipped by max_active_runs, 130 cancelled by SIGINT or SIGTERM."));
    parser.addPositionalArgument(QStringLiteral("FLOW"),
                                 QStringLiteral("Flow file (JSON) or name of a code-defined flow."));
    const QCommandLineOption param(QStringLiteral("param"),
                                   QStringLiteral("Override a parameter (repeatable)."),
                                   QStringLiteral("NAME=VALUE"));
    const QCommandLineOption json(
        QStringLiteral("json"),
        QStringLiteral("Print one JSON object per line per transition and log line on stdout."));
    const QCommandLineOption threads(
        QStringLiteral("threads"),
        QStringLiteral("Blocking pool threads (default %1).").arg(BlockingPool::DefaultThreads),
        QStringLiteral("N"));
    const QCommandLineOption seed(QStringLiteral("seed"),
                                  QStringLiteral("Seed for random choices (overrides the flow's)."),
                                  QStringLiteral("N"));
    const QCommandLineOption refreshCache(
        QStringLiteral("refresh-cache"),
        QStringLiteral("Run tasks with \"cache\" even when an entry exists, and overwrite their entries."));
    const QCommandLineOption db = dbOption();
    parser.addOptions({param, json, threads, seed, refreshCache, db});
    if (const int code = parseCommand(parser, QStringLiteral("run"), args); code != ParsedOk)
        return code;
    if (!oneFlowArgument(parser, QStringLiteral("run")))
        return ExitUsage;
    int threadCount = BlockingPool::DefaultThreads;
    if (parser.isSet(threads)) {
        bool ok = false;
        threadCount = parser.value(threads).toInt(&ok);
        if (!ok || threadCount < 1 || threadCount > 10000) {
            err.line(
                QStringLiteral("flowdeck run: --threads: expected an integer from 1 to 10000, got \"%1\"")
                    .arg(parser.value(threads)));
            return ExitUsage;
        }
    }
    std::optional<quint64> seedValue;
    if (parser.isSet(seed)) {
        bool ok = false;
        seedValue = parser.value(seed).toULongLong(&ok);
        if (!ok) {
            err.line(QStringLiteral("flowdeck run: --seed: expected a non-negative integer, got \"%1\"")
                         .arg(parser.value(seed)));
            return ExitUsage;
        }
    }
    options->json = parser.isSet(json);
    options->refreshCache = parser.isSet(refreshCache);
    options->threads = threadCount;
    options->db = parser.value(db);
    LoadedFlow loaded
        = loadFlow(QStringLiteral("run"), parser.positionalArguments().first(), parser.values(param));
    if (!loaded.flow)
        return loaded.exitCode;
    if (seedValue)
        loaded.flow->seed = seedValue;
    options->flow = std::move(*loaded.flow);
    return ParsedOk;
}

//! Resumes the awaiting coroutine once the flow run finished or the store stopped writing for good.
class RunEnd {
public:
    RunEnd(Engine& engine, Store& store)
    {
        // Queued: the waiting coroutine goes on from the event loop, never inside the store's writer.
        QObject::connect(&engine, &Engine::flowRunFinished, &m_context, [this](FlowRun* run) {
            if (run->parentFlowRunId.isNull()) // a subflow's end is not the end of the run
                QMetaObject::invokeMethod(
                    &m_context, [this] { end(); }, Qt::QueuedConnection);
        });
        QObject::connect(
            &store, &Store::writeFailed, &m_context,
            [this](const QString& message) {
                m_writeFailure = message;
                end();
            },
            Qt::QueuedConnection);
    }
    struct Awaiter {
        RunEnd* end;
        bool await_ready() const noexcept { return end->m_ended; }
        void await_suspend(std::coroutine_handle<> handle) { end->m_waiting = handle; }
        void await_resume() const noexcept {}
    };
    Awaiter ended() { return {this}; }
    //! Why the store stopped writing; empty when the run finished.
    const QString& writeFailure() const { return m_writeFailure; }
    //! Ends the wait although the run has not finished (it is left paused).
    void stopWaiting() { end(); }

private:
    void end()
    {
        if (m_ended)
            return;
        m_ended = true;
        if (m_waiting)
            std::exchange(m_waiting, {}).resume();
    }
    QObject m_context;
    bool m_ended = false;
    std::coroutine_handle<> m_waiting;
    QString m_writeFailure;
};

//! Says "the event loop has been blocked" while it still is: runs on the loop monitor's thread.
void warnOfStalls(Engine& engine)
{
    QObject::connect(
        &engine.loopMonitor(), &LoopMonitor::stallDetected, &engine.loopMonitor(),
        [](qint64 ms, const QString& task, RunId) {
            const QString who = task.isEmpty() ? QStringLiteral("code outside any task run")
                                               : QStringLiteral("task run ") + task;
            printError(
                QStringLiteral("warning: the event loop has been blocked for %1 ms by %2 (still blocked)")
                    .arg(ms)
                    .arg(who));
        },
        Qt::DirectConnection);
}

/**
 * The store stopped writing for good (disk full, or a passing error that outlasted its retries):
 * says so, ends the run CRASHED with the reason as far as the database still takes it, and stops
 * its task runs. What was committed before stays as it is. Returns the exit code (1).
 */
QCoro::Task<int> stopAfterWriteFailure(Engine& engine, FlowRun& run, const OpenSession& storage,
                                       const QString& failure, Output& err)
{
    const QString where = storage.pool().url().redacted();
    err.line(QStringLiteral("flowdeck run: cannot write to the database %1: %2").arg(where, failure));
    const QString flowRunId = run.id.toString();
    const QString engineId = storage.store().engineId();
    const QString reason = QStringLiteral("cannot write to the database: ") + failure;
    auto crashing = storage.pool().run([flowRunId, engineId, reason](QSqlDatabase& db) {
        Recovery(db, engineId, QHostInfo::localHostName()).crashNow(flowRunId, reason);
    });
    try {
        co_await crashing;
        err.line(QStringLiteral("flowdeck run: flow run %1 marked CRASHED; what was written before stays")
                     .arg(flowRunId));
    } catch (const std::exception& e) {
        err.line(QStringLiteral("flowdeck run: flow run %1 left as last written (%2); the next process to "
                                "open the database marks it CRASHED")
                     .arg(flowRunId, QString::fromUtf8(e.what())));
    }
    // Its task runs stop (child processes are killed); their transitions are no longer written.
    if (!run.isTerminal())
        engine.cancelFlowRun(&run, reason);
    co_return ExitFailed;
}

QCoro::Task<int> runCommand(QStringList args)
{
    Output err(stderr);
    RunOptions options;
    if (const int exitCode = parseRunOptions(args, err, &options); exitCode != ParsedOk)
        co_return exitCode;
    err.flush();
    HeadlessRun spec;
    spec.command = QStringLiteral("run");
    spec.threads = options.threads;
    spec.json = options.json;
    spec.db = options.db;
    const FlowDefinition flow = std::move(options.flow);
    const bool refresh = options.refreshCache;
    spec.start = [flow, refresh](Engine& engine, const OpenSession&,
                                 RunLimitGate& gate) -> QCoro::Task<HeadlessStart> {
        engine.setRefreshCache(refresh);
        if (gate.limits(flow)) {
            // Its max_active_runs counts the flow's runs in every process on the database first.
            auto passing = gate.start(flow, QString());
            co_return headlessStart(co_await passing);
        }
        // Starting allocates every task run of the flow run; a failure there (out of memory, say) is
        // an error of this command, not a run that never ends.
        HeadlessStart started;
        try {
            started.run = engine.start(flow);
        } catch (const std::bad_alloc&) {
            started.error
                = QStringLiteral("cannot start the flow run: out of memory allocating its %1 task runs")
                      .arg(totalTaskRuns(flow));
        } catch (const std::exception& e) {
            started.error = QStringLiteral("cannot start the flow run: ") + QString::fromLocal8Bit(e.what());
        }
        co_return started;
    };
    auto running = runHeadless(std::move(spec));
    co_return co_await running;
}

} // namespace

HeadlessStart headlessStart(const GateOutcome& outcome)
{
    HeadlessStart started;
    started.run = outcome.run;
    switch (outcome.kind) {
    case GateOutcome::Started:
        break;
    case GateOutcome::Skipped:
        started.exitCode = ExitSkipped;
        started.error = QStringLiteral("flow run %1 skipped: %2").arg(outcome.id, outcome.message);
        break;
    case GateOutcome::Cancelled:
        started.exitCode = ExitCancelled;
        started.error
            = QStringLiteral("flow run %1 cancelled while it waited: %2").arg(outcome.id, outcome.message);
        break;
    case GateOutcome::Failed:
        started.exitCode = ExitFailed;
        started.error = outcome.message;
        break;
    }
    return started;
}

qint64 totalTaskRuns(const FlowDefinition& flow)
{
    qint64 total = 0;
    for (const TaskDef& task : flow.tasks) {
        const QString& over = task.mapOver;
        int count = task.map.value_or(1);
        // map_over takes its count from the mapped task it follows (which may itself follow one).
        for (QString id = over; !id.isEmpty();) {
            const int index = flow.indexOf(id);
            if (index < 0)
                break;
            count = flow.tasks.at(index).map.value_or(1);
            id = flow.tasks.at(index).mapOver;
        }
        total += count;
    }
    return total;
}

QCoro::Task<int> runHeadless(HeadlessRun spec)
{
    Output out(stdout);
    Output err(stderr);
    const bool jsonMode = spec.json;
    Output& human = jsonMode ? err : out;

    Engine engine;
    engine.blockingPool().setMaxThreads(spec.threads);
    engine.setStartedBy(actorName(spec.command));
    engine.setDefaultMaxResultBytes(maxResultBytesSetting());
    const QString dbValue = spec.db;
    const QString command = spec.command;
    auto opening = openSession(command, dbValue, engine.scheduler(), &engine);
    OpenSession storage = co_await opening;
    if (!storage)
        co_return ExitUsage;
    if (storage.recovery.crashedFlowRuns > 0) {
        human.line(QStringLiteral("recovered the database: %1 flow runs left by a process that no longer "
                                  "exists are now CRASHED")
                       .arg(storage.recovery.crashedFlowRuns));
    }
    JsonObserver jsonObserver(out);
    jsonObserver.setStore(&storage.store());
    HumanObserver humanObserver(human);
    StallCollector stalls;
    if (jsonMode)
        engine.addObserver(&jsonObserver);
    engine.addObserver(&humanObserver);
    engine.addObserver(&stalls);
    warnOfStalls(engine);

    // Writes that fail for a passing reason are retried this long; a full disk ends the run at once.
    storage.store().setRetryLimitSeconds(writeRetryLimitSeconds());
    RunEnd runEnd(engine, storage.store());

    // A flow with max_active_runs waits here for its place (SCHEDULED, with the reason) or is skipped.
    RunLimitGate gate(engine, *storage.session);
    QObject::connect(&gate, &RunLimitGate::waiting, &gate,
                     [&human](const QString& id, const QString& flowName, const QString& message) {
                         human.line(
                             QStringLiteral("%1  flow run %2 (%3): SCHEDULED (AwaitingConcurrencySlot) - %4")
                                 .arg(clockTime(wallUs()), flowName, id, message));
                         human.flush();
                     });
    QObject::connect(&gate, &RunLimitGate::problem, &gate, [&err](const QString& message) {
        err.line(QStringLiteral("warning: %1").arg(message));
    });

    UnixSignals signals;
    // The first signal cancels the run and waits for its last transitions to be written; a second
    // one ends the process at once, whatever it waits for.
    signals.setExitAfter(2);
    bool cancelledBySignal = false;
    FlowRun* run = nullptr;
    bool leftPaused = false;
    QObject::connect(&signals, &UnixSignals::received, &engine, [&](int sig) {
        if (run && run->type == StateType::Paused && run->activeDrivers == 0) {
            // Nothing of it runs here: it stays PAUSED in the database for any process to resume.
            leftPaused = true;
            human.line(
                QStringLiteral("received a signal while flow run %1 is paused: leaving it PAUSED; resume "
                               "it with 'flowdeck runs resume %1'")
                    .arg(run->id.toString()));
            runEnd.stopWaiting();
            return;
        }
        cancelledBySignal = true;
        human.line(QStringLiteral("received %1: cancelling the flow run")
                       .arg(sig == SIGINT ? QStringLiteral("SIGINT") : QStringLiteral("SIGTERM")));
        if (!run && !gate.waitingIds().isEmpty()) {
            // Still waiting for its max_active_runs: the wait ends CANCELLED, and nothing starts.
            auto cancelling = gate.cancelAll(
                QStringLiteral("cancelled by %1 while waiting for its max_active_runs")
                    .arg(sig == SIGINT ? QStringLiteral("SIGINT") : QStringLiteral("SIGTERM")));
            return;
        }
        if (run)
            engine.cancelFlowRun(
                run,
                QStringLiteral("cancelled by %1")
                    .arg(sig == SIGINT ? QStringLiteral("SIGINT") : QStringLiteral("SIGTERM")));
    });
    auto starting = spec.start(engine, storage, gate);
    const HeadlessStart started = co_await starting;
    run = started.run;
    if (run && cancelledBySignal && !run->isTerminal())
        engine.cancelFlowRun(run, QStringLiteral("cancelled by a signal received while it waited to start"));
    if (!run) {
        if (started.exitCode == ExitCompleted)
            human.line(started.note);
        else
            err.line(QStringLiteral("flowdeck %1: %2").arg(command, started.error));
        auto closingAfterError = storage.session->close();
        try {
            co_await closingAfterError;
        } catch (const SessionError& e) {
            err.line(QStringLiteral("warning: %1").arg(e.message()));
        }
        out.flush();
        err.flush();
        co_return started.exitCode;
    }
    // flowRunFinished comes once the run's last transition is committed.
    co_await runEnd.ended();
    if (!runEnd.writeFailure().isEmpty()) {
        auto stopping = stopAfterWriteFailure(engine, *run, storage, runEnd.writeFailure(), err);
        const int exitCode = co_await stopping;
        engine.removeObserver(&jsonObserver);
        engine.removeObserver(&humanObserver);
        engine.removeObserver(&stalls);
        out.flush();
        err.flush();
        co_return exitCode;
    }
    auto flushing = storage.store().flush();
    co_await flushing;
    jsonObserver.release(storage.store().lastSequence());
    if (leftPaused) {
        engine.removeObserver(&jsonObserver);
        engine.removeObserver(&humanObserver);
        engine.removeObserver(&stalls);
        auto closingPaused = storage.session->close();
        try {
            co_await closingPaused;
        } catch (const SessionError& e) {
            human.line(QStringLiteral("warning: %1").arg(e.message()));
        }
        out.flush();
        err.flush();
        co_return ExitCancelled;
    }
    printSummary(*run, human);
    stalls.print(human, engine.loopMonitor().thresholdMs());
    printPoolSummary(storage.pool(), storage.store(), human);
    auto closing = storage.session->close();
    try {
        co_await closing;
    } catch (const SessionError& e) {
        human.line(QStringLiteral("warning: %1").arg(e.message()));
    }
    engine.loopMonitor().stop();
    int exitCode = ExitFailed;
    if (run->type == StateType::Completed)
        exitCode = ExitCompleted;
    else if (run->type == StateType::Cancelled && cancelledBySignal)
        exitCode = ExitCancelled;
    out.flush();
    err.flush();
    co_return exitCode;
}

int cmdRun(const QStringList& args)
{
    return execCommand([args] { return runCommand(args); });
}

} // namespace flowdeck::cli
