#include "clirunops.h"

#include "cli.h"
#include "clicommon.h"
#include "clirun.h"
#include "cliruns.h"
#include "flow/flowparser.h"
#include "flow/storedflow.h"
#include "flow/taskkind.h"
#include "run/blockingpool.h"
#include "run/engine.h"
#include "run/flowrun.h"
#include "run/scheduler.h"
#include "session/runcontrol.h"
#include "session/runlimitgate.h"
#include "store/runqueries.h"
#include "store/workerqueries.h"

#include <QCoro/QCoroTimer>

#include <chrono>

namespace flowdeck::cli {

namespace {

using namespace std::chrono_literals;

//! How long `runs pause` waits to see the pause applied before it says it was requested.
constexpr auto PauseWait = 5s;

//! What the commands that run a flow run here share with `flowdeck run`.
struct HeadlessOptions {
    QCommandLineOption json{
        QStringLiteral("json"),
        QStringLiteral("Print one JSON object per line per transition and log line on stdout.")};
    QCommandLineOption threads{
        QStringLiteral("threads"),
        QStringLiteral("Blocking pool threads (default %1).").arg(BlockingPool::DefaultThreads),
        QStringLiteral("N")};
    QCommandLineOption queue{
        QStringLiteral("queue"),
        QStringLiteral("Leave it to a worker ('flowdeck worker'); print the flow run id.")};
    QCommandLineOption db = dbOption();

    void addTo(QCommandLineParser& parser) const { parser.addOptions({json, threads, queue, db}); }
    //! Fills \a spec from the parsed options; false (printed) on a bad --threads.
    bool fill(const QCommandLineParser& parser, const QString& command, HeadlessRun* spec) const
    {
        spec->command = command;
        spec->json = parser.isSet(json);
        spec->db = parser.value(db);
        spec->threads = BlockingPool::DefaultThreads;
        if (parser.isSet(threads)) {
            bool ok = false;
            spec->threads = parser.value(threads).toInt(&ok);
            if (!ok || spec->threads < 1 || spec->threads > 10000) {
                printError(
                    QStringLiteral("flowdeck %1: --threads: expected an integer from 1 to 10000, got \"%2\"")
                        .arg(command, parser.value(threads)));
                return false;
            }
        }
        return true;
    }
};

QCommandLineParser& withRunArgument(QCommandLineParser& parser, const QString& description)
{
    parser.setApplicationDescription(description);
    parser.addPositionalArgument(
        QStringLiteral("RUN_ID"),
        QStringLiteral("Flow run id, or a unique prefix or suffix of at least 6 hex digits."));
    return parser;
}

int parseRunCommand(QCommandLineParser& parser, const QString& command, const QStringList& args)
{
    if (const int code = parseCommand(parser, command, args); code != ParsedOk)
        return code;
    if (!oneRunId(command, parser))
        return ExitUsage;
    return ParsedOk;
}

//! Runs \a operation (a RunControl call) against an open session with a throw-away engine: for the
//! commands that only write requests or queue work.
template<typename Operation>
QCoro::Task<int> withControl(QString command, QString dbValue, QString idOrShort, Operation operation)
{
    Engine engine; // nothing runs in it: RunControl's queueing and requests do not use it
    auto opening = openSession(command, dbValue, engine.scheduler());
    OpenSession storage = co_await opening;
    if (!storage)
        co_return ExitUsage;
    int exitCode = ExitUsage;
    try {
        auto resolving = resolveRunId(storage.pool(), command, idOrShort);
        const QString id = co_await resolving;
        if (!id.isEmpty()) {
            RunControl control(*storage.session, engine);
            auto operating = operation(control, storage, id);
            exitCode = co_await operating;
        }
    } catch (const RunControlError& e) {
        printError(QStringLiteral("flowdeck %1: %2").arg(command, e.message()));
    } catch (const std::exception& e) {
        printDatabaseError(command, e);
    }
    auto closing = storage.session->close();
    try {
        co_await closing;
    } catch (const SessionError& e) {
        printError(QStringLiteral("warning: %1").arg(e.message()));
    }
    co_return exitCode;
}

//! A RunControl call that continues a flow run here, as the start of a headless run.
template<typename Operation>
std::function<QCoro::Task<HeadlessStart>(Engine&, const OpenSession&, RunLimitGate&)>
continuing(QString command, QString idOrShort, Operation operation)
{
    return [command, idOrShort, operation](Engine& engine, const OpenSession& storage,
                                           RunLimitGate& gate) -> QCoro::Task<HeadlessStart> {
        HeadlessStart started;
        started.exitCode = ExitUsage;
        try {
            auto resolving = resolveRunId(storage.pool(), command, idOrShort);
            const QString id = co_await resolving;
            if (id.isEmpty()) {
                started.error = QStringLiteral("no flow run to go on with");
                co_return started;
            }
            RunControl control(*storage.session, engine);
            control.setGate(&gate);
            auto operating = operation(control, id, started);
            started.run = co_await operating;
        } catch (const RunNotStarted& e) {
            started.error = e.message();
            started.exitCode = e.skipped() ? ExitSkipped : ExitCancelled;
        } catch (const RunControlError& e) {
            started.error = e.message();
        } catch (const std::exception& e) {
            started.error = QStringLiteral("the database failed: ") + QString::fromUtf8(e.what());
        }
        co_return started;
    };
}

//! What `runs retry` and `runs resume` do once parsed: queue it (the line to print, the id last), or
//! go on with it here.
struct ContinueOperations {
    std::function<QCoro::Task<QString>(RunControl&, QString id, QString by)> queue;
    std::function<QCoro::Task<FlowRun*>(RunControl&, QString id, QString by, HeadlessStart&)> here;
};

//! `runs retry` and `runs resume`: the same options and the same two ways to go on.
QCoro::Task<int> continueCommand(QStringList args, QString command, QString description,
                                 ContinueOperations operations)
{
    QCommandLineParser parser;
    withRunArgument(parser, description);
    const HeadlessOptions options;
    options.addTo(parser);
    if (const int code = parseRunCommand(parser, command, args); code != ParsedOk)
        co_return code;
    const QString idOrShort = parser.positionalArguments().first();
    const QString by = actorName(command);
    if (parser.isSet(options.queue)) {
        auto queueing = withControl(
            command, parser.value(options.db), idOrShort,
            [by, operations](RunControl& control, const OpenSession&, QString id) -> QCoro::Task<int> {
                auto queued = operations.queue(control, id, by);
                const QString line = co_await queued;
                Output out(stdout);
                out.line(line);
                out.flush();
                co_return ExitCompleted;
            });
        co_return co_await queueing;
    }
    HeadlessRun spec;
    if (!options.fill(parser, command, &spec))
        co_return ExitUsage;
    spec.start = continuing(command, idOrShort,
                            [by, operations](RunControl& control, QString id, HeadlessStart& started) {
                                return operations.here(control, id, by, started);
                            });
    auto running = runHeadless(std::move(spec));
    co_return co_await running;
}

QCoro::Task<int> retryCommand(QStringList args)
{
    ContinueOperations operations;
    operations.queue = [](RunControl& control, QString id, QString by) -> QCoro::Task<QString> {
        auto retrying = control.queueRetry(id, by);
        const QString queued = co_await retrying;
        co_return QStringLiteral("queued the retry of flow run %1 for a worker: %1").arg(queued);
    };
    operations.here
        = [](RunControl& control, QString id, QString by, HeadlessStart&) { return control.retry(id, by); };
    auto retrying = continueCommand(
        args, QStringLiteral("runs retry"),
        QStringLiteral("Retries a FAILED, CRASHED or CANCELLED flow run: the same flow run goes back to "
                       "RUNNING and runs again only its task runs that did not complete, and those "
                       "downstream of them. Prints what 'flowdeck run' prints; with --queue, a worker "
                       "runs it and the flow run id is printed."),
        operations);
    co_return co_await retrying;
}

QCoro::Task<int> resumeCommand(QStringList args)
{
    ContinueOperations operations;
    operations.queue = [](RunControl& control, QString id, QString by) -> QCoro::Task<QString> {
        auto resuming = control.queueResume(id, by);
        const QString queued = co_await resuming;
        if (control.lastHolder().isEmpty())
            co_return QStringLiteral("queued flow run %1 for a worker to resume: %1").arg(queued);
        co_return QStringLiteral("resume requested: %1 holds flow run %2 and resumes it within a second: %2")
            .arg(control.lastHolder(), queued);
    };
    operations.here
        = [](RunControl& control, QString id, QString by, HeadlessStart& started) -> QCoro::Task<FlowRun*> {
        auto resuming = control.resume(id, by);
        FlowRun* run = co_await resuming;
        if (!run) {
            // Another live process holds it: that one goes on.
            started.exitCode = ExitCompleted;
            started.note
                = QStringLiteral("resume requested: %1 holds flow run %2 and resumes it within a second")
                      .arg(control.lastHolder(), id);
        }
        co_return run;
    };
    auto resuming = continueCommand(
        args, QStringLiteral("runs resume"),
        QStringLiteral("Resumes a PAUSED flow run where it stopped. When the process that paused it is "
                       "still running, that process resumes it within a second; otherwise it runs here "
                       "(printed as 'flowdeck run' prints) or, with --queue, on a worker."),
        operations);
    co_return co_await resuming;
}

QCoro::Task<int> pauseCommand(QStringList args)
{
    const QString command = QStringLiteral("runs pause");
    QCommandLineParser parser;
    withRunArgument(
        parser,
        QStringLiteral("Pauses a flow run: no task run of it starts afterwards; task runs already "
                       "running finish, or with --grace are stopped after S seconds and run again on "
                       "resume. The process running it applies the pause within a second; the run "
                       "stays PAUSED until 'flowdeck runs resume', even if that process exits."));
    const QCommandLineOption grace(QStringLiteral("grace"),
                                   QStringLiteral("Stop task runs still running after S seconds."),
                                   QStringLiteral("S"));
    const QCommandLineOption db = dbOption();
    parser.addOptions({grace, db});
    if (const int code = parseRunCommand(parser, command, args); code != ParsedOk)
        co_return code;
    std::optional<double> graceSeconds;
    if (parser.isSet(grace)) {
        bool ok = false;
        const double value = parser.value(grace).toDouble(&ok);
        if (!ok || !(value >= 0) || value > 31536000) {
            printError(QStringLiteral("flowdeck %1: --grace: expected seconds from 0 to 31536000, got \"%2\"")
                           .arg(command, parser.value(grace)));
            co_return ExitUsage;
        }
        graceSeconds = value;
    }
    const QString by = actorName(command);
    auto pausing = withControl(
        command, parser.value(db), parser.positionalArguments().first(),
        [by, graceSeconds](RunControl& control, const OpenSession& storage, QString id) -> QCoro::Task<int> {
            auto requesting = control.pause(id, graceSeconds, by);
            co_await requesting;
            Output out(stdout);
            // Wait a little to say what happened, not only what was asked.
            QElapsedTimer waited;
            waited.start();
            for (;;) {
                auto reading = storage.pool().run([id](QSqlDatabase& db) { return flowRun(db, id); });
                const std::optional<FlowRunRow> row = co_await reading;
                if (row && row->state == QLatin1String("PAUSED")) {
                    out.line(QStringLiteral("flow run %1 is PAUSED; resume it with 'flowdeck runs resume %1'")
                                 .arg(id));
                    break;
                }
                StateType type = StateType::Running;
                if (row && parseStateType(row->state, &type) && isTerminal(type)) {
                    out.line(QStringLiteral("flow run %1 finished (%2) before the pause applied")
                                 .arg(id, row->state));
                    break;
                }
                if (waited.elapsed() > std::chrono::milliseconds(PauseWait).count()) {
                    out.line(QStringLiteral(
                                 "pause requested for flow run %1; the process running it has not applied "
                                 "it yet")
                                 .arg(id));
                    break;
                }
                auto sleeping = QCoro::sleepFor(50ms);
                co_await sleeping;
            }
            out.flush();
            co_return ExitCompleted;
        });
    co_return co_await pausing;
}

QCoro::Task<int> rerunCommand(QStringList args)
{
    const QString command = QStringLiteral("runs rerun");
    QCommandLineParser parser;
    withRunArgument(
        parser,
        QStringLiteral("Runs the flow of a stored flow run again as a new flow run, with the same stored "
                       "flow document and parameters (override them with --param). Prints what "
                       "'flowdeck run' prints; with --queue, a worker runs it and its id is printed."));
    const QCommandLineOption param(QStringLiteral("param"),
                                   QStringLiteral("Override a parameter (repeatable)."),
                                   QStringLiteral("NAME=VALUE"));
    const QCommandLineOption seed(QStringLiteral("seed"),
                                  QStringLiteral("Seed for random choices (default: a new one)."),
                                  QStringLiteral("N"));
    parser.addOptions({param, seed});
    const HeadlessOptions options;
    options.addTo(parser);
    if (const int code = parseRunCommand(parser, command, args); code != ParsedOk)
        co_return code;
    std::optional<quint64> seedValue;
    if (parser.isSet(seed)) {
        bool ok = false;
        seedValue = parser.value(seed).toULongLong(&ok);
        if (!ok || *seedValue > quint64(std::numeric_limits<qint64>::max())) {
            printError(QStringLiteral("flowdeck %1: --seed: expected a non-negative integer, got \"%2\"")
                           .arg(command, parser.value(seed)));
            co_return ExitUsage;
        }
    }
    const QString idOrShort = parser.positionalArguments().first();
    const QStringList params = parser.values(param);
    // The stored flow with the overrides applied, or the error (with its place) that says why not.
    auto flowOf = [command, params, seedValue](const RerunSource& source, QString id,
                                               QString* error) -> std::optional<FlowDefinition> {
        const QString where = QStringLiteral("stored:") + id;
        QString why;
        std::optional<FlowDefinition> flow
            = resolveStoredFlow(source.document, where, source.parameters, std::nullopt, &why);
        if (flow && !params.isEmpty()) {
            QJsonObject overrides = source.parameters;
            for (const QString& p : params) {
                if (!FlowParser::parseOverride(p, flow->parameters, overrides, &why)) {
                    *error = QStringLiteral("--param %1: %2").arg(p, why);
                    return std::nullopt;
                }
            }
            flow = resolveStoredFlow(source.document, where, overrides, std::nullopt, &why);
        }
        if (!flow) {
            *error = QStringLiteral("the stored flow does not validate: %1").arg(why);
            return std::nullopt;
        }
        flow->seed = seedValue;
        return flow;
    };
    if (parser.isSet(options.queue)) {
        auto queueing = withControl(
            command, parser.value(options.db), idOrShort,
            [flowOf, command](RunControl& control, const OpenSession& storage,
                              QString id) -> QCoro::Task<int> {
                auto reading = control.rerunSource(id);
                const RerunSource source = co_await reading;
                QString error;
                const std::optional<FlowDefinition> flow = flowOf(source, id, &error);
                if (!flow) {
                    printError(QStringLiteral("flowdeck %1: %2").arg(command, error));
                    co_return ExitUsage;
                }
                workers::Submission submission;
                submission.flowName = flow->name;
                submission.document = flow->document;
                submission.parameters = flow->parameters;
                submission.seed = flow->seed;
                submission.totalTaskRuns = totalTaskRuns(*flow);
                submission.retries = flow->document.value(QStringLiteral("retries")).toInt(0);
                submission.startedBy = actorName(command) + QStringLiteral(", again as ") + id;
                auto submitting = storage.pool().run(
                    [submission](QSqlDatabase& db) { return workers::submitFlowRun(db, submission); });
                const QString newId = co_await submitting;
                Output out(stdout);
                out.line(QStringLiteral("queued a new run of flow \"%1\" (again as %2); flow run id: %3")
                             .arg(flow->name, id, newId));
                out.flush();
                co_return ExitCompleted;
            });
        co_return co_await queueing;
    }
    HeadlessRun spec;
    if (!options.fill(parser, command, &spec))
        co_return ExitUsage;
    spec.start = continuing(
        command, idOrShort,
        [flowOf, command](RunControl& control, QString id, HeadlessStart& started) -> QCoro::Task<FlowRun*> {
            auto reading = control.rerunSource(id);
            const RerunSource source = co_await reading;
            QString error;
            const std::optional<FlowDefinition> flow = flowOf(source, id, &error);
            if (!flow) {
                started.error = error;
                co_return nullptr;
            }
            Engine& engine = control.engine();
            engine.setStartedBy(actorName(command) + QStringLiteral(", again as ") + id);
            if (control.gate() && control.gate()->limits(*flow)) {
                auto passing = control.gate()->start(*flow, QString());
                started = headlessStart(co_await passing);
                co_return started.run;
            }
            try {
                co_return engine.start(*flow);
            } catch (const std::exception& e) {
                started.exitCode = ExitFailed;
                started.error
                    = QStringLiteral("cannot start the flow run: ") + QString::fromLocal8Bit(e.what());
            }
            co_return nullptr;
        });
    auto running = runHeadless(std::move(spec));
    co_return co_await running;
}

} // namespace

int cmdRunsRetry(const QStringList& args)
{
    return execCommand([args] { return retryCommand(args); });
}

int cmdRunsRerun(const QStringList& args)
{
    return execCommand([args] { return rerunCommand(args); });
}

int cmdRunsPause(const QStringList& args)
{
    return execCommand([args] { return pauseCommand(args); });
}

int cmdRunsResume(const QStringList& args)
{
    return execCommand([args] { return resumeCommand(args); });
}

} // namespace flowdeck::cli
