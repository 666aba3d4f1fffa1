// Scale-out: `flowdeck submit` queues flow runs in the database, `flowdeck worker` claims and
// runs them. The database is the only meeting point: no broker, no protocol of our own.
#include "cliworker.h"

#include "cli.h"
#include "clicommon.h"
#include "run/clock.h"
#include "run/engine.h"
#include "run/scheduler.h"
#include "store/workerqueries.h"
#include "unixsignals.h"
#include "worker/worker.h"

#include <QCoro/QCoroSignal>
#include <QHostInfo>

#include <csignal>
#include <functional>
#include <unistd.h>

namespace flowdeck::cli {

namespace {

//! Task runs of a resolved flow (a task mapped over another has as many runs as it).
qint64 countTaskRuns(const FlowDefinition& flow)
{
    std::function<qint64(const TaskDef&)> countOf = [&](const TaskDef& t) -> qint64 {
        return t.mapOver.isEmpty() ? t.map.value_or(1) : countOf(flow.tasks.at(flow.indexOf(t.mapOver)));
    };
    qint64 runs = 0;
    for (const TaskDef& t : flow.tasks)
        runs += countOf(t);
    return runs;
}

//! A number option within [min, max]; prints "flowdeck COMMAND: --OPTION: ..." and returns false.
bool numberOption(const QCommandLineParser& parser, const QCommandLineOption& option, const QString& command,
                  double min, double max, bool integer, double* value)
{
    if (!parser.isSet(option))
        return true;
    const QString text = parser.value(option);
    bool ok = false;
    const double v = integer ? double(text.toLongLong(&ok)) : text.toDouble(&ok);
    if (!ok || !(v >= min && v <= max)) {
        printError(QStringLiteral("flowdeck %1: --%2: expected %3 from %4 to %5, got \"%6\"")
                       .arg(command, option.names().constFirst(),
                            integer ? QStringLiteral("an integer") : QStringLiteral("a number"))
                       .arg(min)
                       .arg(max)
                       .arg(text));
        return false;
    }
    *value = v;
    return true;
}

//! `flowdeck submit`'s arguments: the flow run to queue, and the --db value.
int parseSubmitArgs(const QStringList& args, workers::Submission* parsed, QString* db)
{
    QCommandLineParser parser;
    parser.setApplicationDescription(
        QStringLiteral("Queues a run of a flow for a worker ('flowdeck worker') without running it, and "
                       "prints the flow run's id as the last word. The flow document travels with the run."));
    parser.addPositionalArgument(QStringLiteral("FLOW"),
                                 QStringLiteral("Flow file (JSON) or name of a code-defined flow."));
    const QCommandLineOption param(QStringLiteral("param"),
                                   QStringLiteral("Override a parameter (repeatable)."),
                                   QStringLiteral("NAME=VALUE"));
    const QCommandLineOption seed(QStringLiteral("seed"),
                                  QStringLiteral("Seed for random choices (overrides the flow's)."),
                                  QStringLiteral("N"));
    const QCommandLineOption dbOpt = dbOption();
    parser.addOptions({param, seed, dbOpt});
    if (const int code = parseCommand(parser, QStringLiteral("submit"), args); code != ParsedOk)
        return code;
    if (!oneFlowArgument(parser, QStringLiteral("submit")))
        return ExitUsage;
    std::optional<quint64> seedValue;
    if (parser.isSet(seed)) {
        bool ok = false;
        seedValue = parser.value(seed).toULongLong(&ok);
        if (!ok || *seedValue > quint64(std::numeric_limits<qint64>::max())) {
            printError(QStringLiteral("flowdeck submit: --seed: expected a non-negative integer, got \"%1\"")
                           .arg(parser.value(seed)));
            return ExitUsage;
        }
    }
    LoadedFlow loaded
        = loadFlow(QStringLiteral("submit"), parser.positionalArguments().first(), parser.values(param));
    if (!loaded.flow)
        return loaded.exitCode;
    const FlowDefinition& flow = *loaded.flow;
    workers::Submission& submission = *parsed;
    submission.flowName = flow.name;
    submission.document = flow.document;
    submission.parameters = flow.parameters;
    submission.seed = seedValue ? seedValue : flow.seed;
    submission.totalTaskRuns = countTaskRuns(flow);
    // Validated by the flow parser: a non-negative integer.
    submission.retries = flow.document.value(QStringLiteral("retries")).toInt(0);
    *db = parser.value(dbOpt);
    return ParsedOk;
}

QCoro::Task<int> submitCommand(QStringList args)
{
    Output out(stdout);
    workers::Submission submission;
    QString dbValue;
    if (const int exitCode = parseSubmitArgs(args, &submission, &dbValue); exitCode != ParsedOk)
        co_return exitCode;

    Scheduler scheduler;
    const QString command = QStringLiteral("submit");
    auto opening = openSession(command, dbValue, scheduler);
    OpenSession storage = co_await opening;
    if (!storage)
        co_return ExitUsage;
    QString id;
    int workersOnline = 0;
    try {
        auto submitting = storage.pool().run([submission](QSqlDatabase& db) {
            const QString id = workers::submitFlowRun(db, submission);
            int online = 0;
            for (const workers::WorkerRow& w : workers::listWorkers(db))
                online += w.kind == QLatin1String("worker") ? 1 : 0;
            return std::make_pair(id, online);
        });
        const auto [submittedId, online] = co_await submitting;
        id = submittedId;
        workersOnline = online;
    } catch (const std::exception& e) {
        printDatabaseError(command, e);
        co_return ExitUsage;
    }
    if (workersOnline == 0) {
        printError(QStringLiteral("flowdeck submit: note: no worker is online yet; the run waits until one "
                                  "starts ('flowdeck worker --db %1')")
                       .arg(storage.pool().url().redacted()));
    }
    out.line(QStringLiteral("queued a run of flow \"%1\" (%2 task runs%3); flow run id: %4")
                 .arg(submission.flowName)
                 .arg(submission.totalTaskRuns)
                 .arg(submission.retries > 0
                          ? QStringLiteral(", %1 flow-level retries").arg(submission.retries)
                          : QString())
                 .arg(id));
    out.flush();
    co_return ExitCompleted;
}

//! What `flowdeck worker` was asked to do.
struct WorkerArgs {
    WorkerOptions options;
    double graceSeconds = 30;
    int threads = BlockingPool::DefaultThreads;
    QString db;
};

int parseWorkerArgs(const QStringList& args, WorkerArgs* parsed)
{
    QCommandLineParser parser;
    parser.setApplicationDescription(QStringLiteral(
        "Runs headless as a worker: claims flow runs queued with 'flowdeck submit' from the database and "
        "runs them. Several workers on several machines can share one PostgreSQL database. SIGINT or "
        "SIGTERM stops claiming, lets running flow runs finish within the grace period, then cancels the "
        "rest; a second signal cancels at once."));
    const QCommandLineOption db = dbOption();
    const QCommandLineOption name(QStringLiteral("name"),
                                  QStringLiteral("Name shown on the dashboard (default HOST-PID)."),
                                  QStringLiteral("NAME"));
    const QCommandLineOption maxRuns(
        QStringLiteral("max-flow-runs"),
        QStringLiteral("Flow runs at once (default %1).").arg(WorkerOptions::DefaultMaxFlowRuns),
        QStringLiteral("N"));
    const QCommandLineOption lease(
        QStringLiteral("lease-seconds"),
        QStringLiteral("How long this worker's heartbeat may be late before others declare it offline and "
                       "take its flow runs over (default $FLOWDECK_WORKER_LEASE_S, else %1).")
            .arg(WorkerOptions::DefaultLeaseSeconds),
        QStringLiteral("S"));
    const QCommandLineOption grace(QStringLiteral("grace-seconds"),
                                   QStringLiteral("On SIGINT/SIGTERM, how long running flow runs may take to "
                                                  "finish before they are cancelled (default 30)."),
                                   QStringLiteral("S"));
    const QCommandLineOption poll(
        QStringLiteral("poll-seconds"),
        QStringLiteral("How often an idle worker looks at the queue (default 0.5)."), QStringLiteral("S"));
    const QCommandLineOption threads(
        QStringLiteral("threads"),
        QStringLiteral("Blocking pool threads (default %1).").arg(BlockingPool::DefaultThreads),
        QStringLiteral("N"));
    parser.addOptions({db, name, maxRuns, lease, grace, poll, threads});
    const QString command = QStringLiteral("worker");
    if (const int code = parseCommand(parser, command, args); code != ParsedOk)
        return code;
    if (!parser.positionalArguments().isEmpty()) {
        printError(
            QStringLiteral("flowdeck worker: unexpected argument \"%1\" (see 'flowdeck worker --help')")
                .arg(parser.positionalArguments().first()));
        return ExitUsage;
    }
    WorkerOptions options;
    options.name = parser.value(name).trimmed();
    if (parser.isSet(name) && options.name.isEmpty()) {
        printError(QStringLiteral("flowdeck worker: --name: must not be empty"));
        return ExitUsage;
    }
    double maxValue = options.maxFlowRuns;
    double leaseValue = options.leaseSeconds;
    double graceValue = 30;
    double pollValue = options.pollSeconds;
    double threadValue = BlockingPool::DefaultThreads;
    const QString leaseEnv = qEnvironmentVariable("FLOWDECK_WORKER_LEASE_S");
    if (!leaseEnv.isEmpty()) {
        bool ok = false;
        leaseValue = leaseEnv.toDouble(&ok);
        if (!ok || !(leaseValue >= 0.5 && leaseValue <= 86400)) {
            printError(
                QStringLiteral("flowdeck worker: FLOWDECK_WORKER_LEASE_S: expected a number from 0.5 to "
                               "86400, got \"%1\"")
                    .arg(leaseEnv));
            return ExitUsage;
        }
    }
    if (!numberOption(parser, maxRuns, command, 1, 10000, true, &maxValue)
        || !numberOption(parser, lease, command, 0.5, 86400, false, &leaseValue)
        || !numberOption(parser, grace, command, 0, 86400, false, &graceValue)
        || !numberOption(parser, poll, command, 0.01, 3600, false, &pollValue)
        || !numberOption(parser, threads, command, 1, 10000, true, &threadValue))
        return ExitUsage;
    options.maxFlowRuns = int(maxValue);
    options.leaseSeconds = leaseValue;
    options.pollSeconds = pollValue;
    parsed->options = options;
    parsed->graceSeconds = graceValue;
    parsed->threads = int(threadValue);
    parsed->db = parser.value(db);
    return ParsedOk;
}

//! Prints what \a worker does as it happens: "HH:MM:SS  worker NAME: ..." lines.
void reportProgress(Worker& worker, const std::function<void(const QString&)>& say)
{
    QObject::connect(
        &worker, &Worker::claimed, &worker, [say](const QString& id, const QString& flow, int attempt) {
            say(QStringLiteral("claimed flow run %1 (%2)%3")
                    .arg(id, flow, attempt > 1 ? QStringLiteral(", attempt %1").arg(attempt) : QString()));
        });
    QObject::connect(
        &worker, &Worker::ended, &worker,
        [say](const QString& id, const QString& flow, const QString& state, const QString& message) {
            say(QStringLiteral("flow run %1 (%2) ended %3%4")
                    .arg(id, flow.isEmpty() ? QStringLiteral("-") : flow, state,
                         message.isEmpty() ? QString() : QStringLiteral(" - ") + message));
        });
    QObject::connect(&worker, &Worker::tookOver, &worker, [say](int flowRuns, int slots) {
        say(QStringLiteral("an engine stopped heartbeating: %1 of its flow runs are now CRASHED or queued "
                           "again, %2 concurrency slots freed")
                .arg(flowRuns)
                .arg(slots));
    });
    QObject::connect(&worker, &Worker::problem, &worker, [](const QString& message) {
        printError(QStringLiteral("flowdeck worker: %1").arg(message));
    });
}

//! Waits for the running flow runs, up to the grace period; then cancels them and waits for them to end.
QCoro::Task<> drain(Worker& worker, double graceSeconds, Output& out,
                    const std::function<void(const QString&)>& say)
{
    // Declared offline, its runs already belong to others (crashed or queued again): no grace period.
    auto finishing
        = worker.waitIdle(std::chrono::milliseconds(worker.declaredOffline() ? 0 : int(graceSeconds * 1000)));
    const bool finished = co_await finishing;
    if (!finished) {
        const QString why = worker.declaredOffline()
            ? QStringLiteral("cancelled: worker %1 was declared offline by another process")
                  .arg(worker.options().name)
            : QStringLiteral("cancelled: worker %1 is shutting down and its grace period of %2 s is over")
                  .arg(worker.options().name)
                  .arg(graceSeconds);
        const int n = worker.cancelAll(why);
        say(QStringLiteral("grace period over: cancelled %1 flow runs; waiting for them to end").arg(n));
        out.flush();
        // Cancellation is cooperative and prompt; the bound only guards against a wedged task body.
        auto draining = worker.waitIdle(std::chrono::minutes(2));
        const bool drained = co_await draining;
        if (!drained)
            printError(QStringLiteral("flowdeck worker: %1 flow runs did not end after cancellation")
                           .arg(worker.running()));
    }
}

/**
 * The database cannot be written any more (disk full, or a passing error that outlasted its
 * retries): says so, ends the running flow runs CRASHED with the reason as far as the database still
 * takes it, and stops them. What was committed before stays as it is. Returns the exit code (1).
 */
QCoro::Task<int> stopAfterWriteFailure(Worker& worker, const OpenSession& storage,
                                       const std::function<void(const QString&)>& say)
{
    const QString failure = worker.failure();
    printError(QStringLiteral("flowdeck worker: cannot write to the database %1: %2")
                   .arg(storage.pool().url().redacted(), failure));
    const int running = worker.running();
    auto crashing = worker.crashRunning(QStringLiteral("cannot write to the database: ") + failure);
    const int marked = co_await crashing;
    if (marked < running) {
        say(QStringLiteral("stopped %1 flow runs; %2 of them left as last written (the next process to "
                           "open the database marks them CRASHED); what was written before stays")
                .arg(running)
                .arg(running - marked));
    } else {
        say(QStringLiteral("stopped: %1 flow runs marked CRASHED; what was written before stays")
                .arg(marked));
    }
    co_return ExitFailed;
}

QCoro::Task<int> workerCommand(QStringList args)
{
    Output out(stdout);
    const QString command = QStringLiteral("worker");
    WorkerArgs parsed;
    if (const int exitCode = parseWorkerArgs(args, &parsed); exitCode != ParsedOk)
        co_return exitCode;
    // Claims, heartbeats and writes failing for a passing reason are retried this long; a full disk
    // stops the worker at once.
    parsed.options.retryLimitSeconds = writeRetryLimitSeconds();
    const WorkerOptions& options = parsed.options;
    const double graceValue = parsed.graceSeconds;
    Engine engine;
    engine.setDefaultMaxResultBytes(maxResultBytesSetting());
    engine.blockingPool().setMaxThreads(parsed.threads);
    auto opening = openSession(command, parsed.db, engine.scheduler(), &engine);
    OpenSession storage = co_await opening;
    if (!storage)
        co_return ExitUsage;
    if (storage.recovery.crashedFlowRuns > 0) {
        out.line(QStringLiteral("recovered the database: %1 flow runs left by processes that no longer exist "
                                "are now CRASHED or queued again")
                     .arg(storage.recovery.crashedFlowRuns));
    }
    storage.store().setRetryLimitSeconds(options.retryLimitSeconds);
    Worker worker(engine, *storage.session, options);
    const QString label = QStringLiteral("worker %1").arg(worker.options().name);
    const std::function<void(const QString&)> say = [&out, label](const QString& text) {
        out.line(QStringLiteral("%1  %2: %3").arg(clockTime(wallUs()), label, text));
    };
    reportProgress(worker, say);
    UnixSignals signals;
    signals.setExitAfter(3); // the first stops claiming, the second cancels, the third exits at once
    QObject::connect(&signals, &UnixSignals::received, &worker, [&](int sig) {
        const QString what = sig == SIGINT ? QStringLiteral("SIGINT") : QStringLiteral("SIGTERM");
        if (!worker.stopping()) {
            worker.requestStop(QStringLiteral("received %1").arg(what));
            return;
        }
        const int n
            = worker.cancelAll(QStringLiteral("cancelled: worker %1 received a second %2 while shutting down")
                                   .arg(worker.options().name, what));
        say(QStringLiteral("received %1 again: cancelled %2 flow runs").arg(what).arg(n));
    });
    try {
        auto starting = worker.start();
        co_await starting;
    } catch (const std::exception& e) {
        printDatabaseError(command, e);
        storage.session->detach();
        co_return ExitUsage;
    }
    say(QStringLiteral("id %1, %2 pid %3: claiming up to %4 flow runs at once from %5 (heartbeat lease %6 s)")
            .arg(storage.store().engineId(), QHostInfo::localHostName())
            .arg(::getpid())
            .arg(options.maxFlowRuns)
            .arg(storage.pool().url().redacted())
            .arg(options.leaseSeconds));
    out.flush();

    QString reason;
    if (!worker.stopping()) {
        auto stopped = qCoro(&worker, &Worker::stopRequested);
        const auto result = co_await stopped;
        reason = std::get<0>(std::tuple<QString>(result));
    }
    if (!worker.failure().isEmpty()) {
        auto stopping = stopAfterWriteFailure(worker, storage, say);
        const int exitCode = co_await stopping;
        out.flush();
        co_return exitCode;
    }
    if (reason.isEmpty())
        reason = QStringLiteral("stop requested");
    say(QStringLiteral("%1: no more claims; waiting up to %2 s for %3 running flow runs")
            .arg(reason)
            .arg(worker.declaredOffline() ? 0.0 : graceValue)
            .arg(worker.running()));
    out.flush();
    auto draining = drain(worker, parsed.graceSeconds, out, say);
    co_await draining;
    auto closing = storage.session->close();
    try {
        co_await closing;
    } catch (const SessionError& e) {
        printError(QStringLiteral("flowdeck worker: %1").arg(e.message()));
    }
    say(QStringLiteral("stopped after %1 flow runs; unregistered").arg(worker.finishedCount()));
    out.flush();
    co_return worker.declaredOffline() || worker.running() > 0 ? ExitFailed : ExitCompleted;
}

} // namespace

int cmdSubmit(const QStringList& args)
{
    return execCommand([args] { return submitCommand(args); });
}

int cmdWorker(const QStringList& args)
{
    return execCommand([args] { return workerCommand(args); });
}

} // namespace flowdeck::cli
