#include "cliruns.h"

#include "cli.h"
#include "cliapproval.h"
#include "clicommon.h"
#include "clirunops.h"
#include "clirunsshared.h"
#include "flow/references.h"
#include "flow/resolvedconfig.h"
#include "run/flowrun.h"
#include "run/scheduler.h"
#include "run/states.h"
#include "store/runqueries.h"
#include "unixsignals.h"

#include <QCoro/QCoroTimer>
#include <QDateTime>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QRegularExpression>

#include <chrono>
#include <cstdio>
#include <utility>

namespace flowdeck::cli {

using namespace std::chrono_literals;

constexpr auto FollowInterval = 300ms;
constexpr int LogPage = 1000;

const char kRunsHelp[]
    = "Usage: flowdeck runs SUBCOMMAND [OPTIONS]\n"
      "\n"
      "Reads the runs recorded in the database, and retries, re-runs, pauses, resumes, cancels or\n"
      "decides approvals of them.\n"
      "\n"
      "Subcommands:\n"
      "  ls [--state S] [--flow NAME] [--parent RUN_ID] [--limit N] [--json]\n"
      "                      list flow runs, newest first (--parent: the subflow runs of a run)\n"
      "  show RUN_ID [--state S] [--limit N] [--offset N] [--all] [--json]\n"
      "                      a flow run, its task runs counted and timed, and a page of them\n"
      "  show RUN_ID --task TASK[INDEX] [--json]\n"
      "                      one task run: state history, attempts, configuration, stalls, logs\n"
      "  logs RUN_ID [--follow]\n"
      "                      log lines of a flow run; --follow waits for new ones until it ends\n"
      "  cancel RUN_ID       ask the process running a flow run to cancel it\n"
      "  retry RUN_ID [--queue] [--json]\n"
      "                      run again what did not complete of a FAILED, CRASHED or CANCELLED run\n"
      "  rerun RUN_ID [--param NAME=VALUE]... [--queue] [--json]\n"
      "                      a new run of the same flow document with the same parameters\n"
      "  pause RUN_ID [--grace S]\n"
      "                      no task run of it starts until it is resumed\n"
      "  resume RUN_ID [--queue] [--json]\n"
      "                      go on with a PAUSED run, where it runs or here\n"
      "  approve RUN_ID TASK approve a task run waiting for approval\n"
      "  reject RUN_ID TASK [--reason TEXT]\n"
      "                      reject it: it fails with the reason\n"
      "\n"
      "Every subcommand accepts --db URL. RUN_ID is a flow run id, or a unique prefix or suffix of it\n"
      "of at least 6 hex digits (dashes ignored, any case), such as the short id the window shows.\n"
      "See 'flowdeck runs SUBCOMMAND --help' for the options of each.\n";

QJsonValue jsonTime(qint64 us)
{
    return us > 0 ? QJsonValue(isoTime(us)) : QJsonValue();
}

//! Local date and time to the second, for tables.
QString localTime(qint64 us)
{
    return us > 0 ? QDateTime::fromMSecsSinceEpoch(us / 1000).toString(QStringLiteral("yyyy-MM-dd HH:mm:ss"))
                  : QStringLiteral("-");
}

//! How long a run ran (until now while it runs), or "-" when it never started.
QString runDuration(qint64 startedUs, qint64 endedUs)
{
    if (startedUs <= 0)
        return QStringLiteral("-");
    const qint64 end = endedUs > 0 ? endedUs : QDateTime::currentMSecsSinceEpoch() * 1000;
    const QString text = formatDuration(double(std::max<qint64>(0, end - startedUs)) / 1e6);
    return endedUs > 0 ? text : text + QStringLiteral("+");
}

//! "FAILED", or "FAILED (TimedOut)" when the name says more than the type.
QString stateLabel(const QString& state, const QString& name)
{
    return name.isEmpty() || name.toUpper() == state ? state : QStringLiteral("%1 (%2)").arg(state, name);
}

bool isTerminalState(const QString& state)
{
    StateType type;
    return parseStateType(state, &type) && isTerminal(type);
}

QString stateTypeList()
{
    QStringList types;
    for (int i = 0; i < StateTypeCount; ++i)
        types << toString(StateType(i));
    return types.join(QStringLiteral(", "));
}

//! A stored result (JSON text) as a value; null for none.
QJsonValue storedResult(const QString& text)
{
    if (text.isEmpty())
        return QJsonValue();
    QString error;
    return parseJsonValue(text.toUtf8(), &error).value_or(QJsonValue(text));
}

//! One line of a stored result, cut at \a chars with "…".
QString resultPreview(const QString& text, qsizetype chars)
{
    if (text.isEmpty())
        return QStringLiteral("-");
    return text.size() > chars ? text.left(chars - 1) + QChar(0x2026) : text;
}

namespace {

//! "result" of a task run in a list: in full when short, else its size.
void insertListedResult(QJsonObject& o, const QString& text)
{
    if (text.toUtf8().size() <= ListedResultBytes) {
        o.insert(QStringLiteral("result"), storedResult(text));
        return;
    }
    o.insert(QStringLiteral("result"), QJsonValue());
    o.insert(QStringLiteral("result_bytes"), text.toUtf8().size());
    o.insert(QStringLiteral("result_truncated"), true);
}

} // namespace

QJsonObject flowRunJson(const FlowRunRow& r)
{
    QJsonObject o;
    o.insert(QStringLiteral("id"), r.id);
    o.insert(QStringLiteral("flow"), r.flow);
    o.insert(QStringLiteral("state"), r.state);
    o.insert(QStringLiteral("name"), r.name);
    o.insert(QStringLiteral("message"), r.message);
    o.insert(QStringLiteral("created"), jsonTime(r.createdUs));
    o.insert(QStringLiteral("started"), jsonTime(r.startedUs));
    o.insert(QStringLiteral("ended"), jsonTime(r.endedUs));
    o.insert(QStringLiteral("total_task_runs"), r.totalTaskRuns);
    o.insert(QStringLiteral("parameters"), r.parameters);
    o.insert(QStringLiteral("cancel_requested"), r.cancelRequested);
    o.insert(QStringLiteral("seed"), r.seed ? QJsonValue(QString::number(*r.seed)) : QJsonValue());
    o.insert(QStringLiteral("started_by"), r.startedBy.isEmpty() ? QJsonValue() : QJsonValue(r.startedBy));
    o.insert(QStringLiteral("paused_by"), r.pausedBy.isEmpty() ? QJsonValue() : QJsonValue(r.pausedBy));
    o.insert(QStringLiteral("stall_count"), r.stallCount);
    o.insert(QStringLiteral("stall_total_ms"), double(r.stallTotalUs) / 1000.0);
    o.insert(QStringLiteral("parent_flow_run_id"),
             r.parentFlowRunId.isEmpty() ? QJsonValue() : QJsonValue(r.parentFlowRunId));
    o.insert(QStringLiteral("parent_task_run_id"),
             r.parentTaskRunId.isEmpty() ? QJsonValue() : QJsonValue(r.parentTaskRunId));
    o.insert(QStringLiteral("result"), storedResult(r.result));
    return o;
}

QJsonObject taskRunJson(const TaskRunRow& r)
{
    QJsonObject o;
    o.insert(QStringLiteral("id"), r.id);
    o.insert(QStringLiteral("task"), r.task);
    o.insert(QStringLiteral("map_index"), r.mapIndex >= 0 ? QJsonValue(r.mapIndex) : QJsonValue());
    o.insert(QStringLiteral("state"), r.state);
    o.insert(QStringLiteral("name"), r.name);
    o.insert(QStringLiteral("message"), r.message);
    o.insert(QStringLiteral("attempts"), r.attempts);
    o.insert(QStringLiteral("tags"), QJsonArray::fromStringList(r.tags));
    o.insert(QStringLiteral("created"), jsonTime(r.createdUs));
    o.insert(QStringLiteral("started"), jsonTime(r.startedUs));
    o.insert(QStringLiteral("ended"), jsonTime(r.endedUs));
    return o;
}

QJsonObject listedTaskRunJson(const TaskRunRow& r)
{
    QJsonObject o = taskRunJson(r);
    insertListedResult(o, r.result);
    return o;
}

//! Parses --state: a state type in any case. Prints the error and returns false when unknown.
bool parseStateOption(const QString& command, const QString& value, QString* state)
{
    StateType type;
    if (!parseStateType(value, &type)) {
        printError(QStringLiteral("flowdeck %1: --state: unknown state type \"%2\" (one of %3)")
                       .arg(command, value, stateTypeList()));
        return false;
    }
    *state = toString(type);
    return true;
}

//! Checks that exactly one RUN_ID was given; prints the error otherwise.
bool oneRunId(const QString& command, const QCommandLineParser& parser)
{
    const QStringList positional = parser.positionalArguments();
    if (positional.size() == 1)
        return true;
    printError(
        positional.isEmpty()
            ? QStringLiteral("flowdeck %1: missing RUN_ID argument (see 'flowdeck %1 --help')").arg(command)
            : QStringLiteral("flowdeck %1: expected one RUN_ID argument, got %2")
                  .arg(command)
                  .arg(positional.size()));
    return false;
}

//! The full id for RUN_ID (an id, or a unique prefix or suffix); prints why not, with the candidates
//! when it is ambiguous, and returns an empty string.
QCoro::Task<QString> resolveRunId(ConnectionPool& pool, QString command, QString idOrShort)
{
    auto resolving = pool.run([idOrShort](QSqlDatabase& db) { return resolveFlowRunId(db, idOrShort); });
    const RunIdResolution resolved = co_await resolving;
    if (resolved.id.isEmpty()) {
        QString text = QStringLiteral("flowdeck %1: %2").arg(command, resolved.error);
        if (resolved.candidates.size() > 1) {
            Output table(stderr);
            printError(text);
            QList<QStringList> rows;
            for (const FlowRunRow& r : resolved.candidates)
                rows.append({r.id, r.flow, stateLabel(r.state, r.name), localTime(r.startedUs)});
            printTable(table,
                       {QStringLiteral("ID"), QStringLiteral("FLOW"), QStringLiteral("STATE"),
                        QStringLiteral("STARTED")},
                       rows, QStringLiteral("  "));
            table.flush();
        } else {
            printError(text);
        }
    }
    co_return resolved.id;
}

QCoro::Task<OpenRun> openRun(QString command, QString dbValue, QString idOrPrefix, bool readOnly)
{
    OpenRun run;
    run.scheduler = std::make_unique<Scheduler>();
    auto opening = readOnly ? openSessionReadOnly(command, dbValue, *run.scheduler)
                            : openSession(command, dbValue, *run.scheduler);
    run.storage = co_await opening;
    if (!run.storage)
        co_return run;
    try {
        auto resolving = resolveRunId(run.storage.pool(), command, idOrPrefix);
        run.id = co_await resolving;
    } catch (const std::exception& e) {
        printDatabaseError(command, e);
    }
    co_return run;
}

namespace {

QCoro::Task<int> lsCommand(QStringList args, Output& out)
{
    const QString command = QStringLiteral("runs ls");
    QCommandLineParser parser;
    parser.setApplicationDescription(QStringLiteral("Lists flow runs, newest first."));
    const QCommandLineOption state(QStringLiteral("state"),
                                   QStringLiteral("Only runs in this state type (e.g. failed)."),
                                   QStringLiteral("S"));
    const QCommandLineOption flow(QStringLiteral("flow"), QStringLiteral("Only runs of this flow."),
                                  QStringLiteral("NAME"));
    const QCommandLineOption limit(QStringLiteral("limit"), QStringLiteral("At most N runs (default 50)."),
                                   QStringLiteral("N"), QStringLiteral("50"));
    const QCommandLineOption parent(QStringLiteral("parent"),
                                    QStringLiteral("Only the subflow runs started by flow run RUN_ID."),
                                    QStringLiteral("RUN_ID"));
    const QCommandLineOption json(QStringLiteral("json"), QStringLiteral("Print a JSON array of runs."));
    const QCommandLineOption db = dbOption();
    parser.addOptions({state, flow, parent, limit, json, db});
    if (const int code = parseCommand(parser, command, args); code != ParsedOk)
        co_return code;
    if (!parser.positionalArguments().isEmpty()) {
        printError(QStringLiteral("flowdeck %1: unexpected argument \"%2\"")
                       .arg(command, parser.positionalArguments().first()));
        co_return ExitUsage;
    }
    RunFilter filter;
    if (parser.isSet(state) && !parseStateOption(command, parser.value(state), &filter.state))
        co_return ExitUsage;
    filter.flow = parser.value(flow);
    bool ok = false;
    filter.limit = parser.value(limit).toInt(&ok);
    if (!ok || filter.limit < 1) {
        printError(QStringLiteral("flowdeck %1: --limit: expected a positive integer, got \"%2\"")
                       .arg(command, parser.value(limit)));
        co_return ExitUsage;
    }

    Scheduler scheduler;
    const QString dbValue = parser.value(db);
    auto opening = openSessionReadOnly(command, dbValue, scheduler);
    OpenSession storage = co_await opening;
    if (!storage)
        co_return ExitUsage;
    if (parser.isSet(parent)) {
        auto resolving = resolveRunId(storage.pool(), command, parser.value(parent));
        filter.parent = co_await resolving;
        if (filter.parent.isEmpty())
            co_return ExitUsage;
    }
    QList<FlowRunRow> rows;
    try {
        auto listing = storage.pool().run([filter](QSqlDatabase& db) { return listFlowRuns(db, filter); });
        rows = co_await listing;
    } catch (const std::exception& e) {
        printDatabaseError(command, e);
        co_return ExitUsage;
    }

    if (parser.isSet(json)) {
        QJsonArray array;
        for (const FlowRunRow& r : std::as_const(rows)) {
            QJsonObject o = flowRunJson(r);
            o.insert(QStringLiteral("task_runs"), r.totalTaskRuns);
            array.append(o);
        }
        out.line(jsonText(QJsonDocument(array)));
        co_return ExitCompleted;
    }
    if (rows.isEmpty()) {
        out.line(filter.state.isEmpty() && filter.flow.isEmpty() && filter.parent.isEmpty()
                     ? QStringLiteral("no flow runs")
                     : QStringLiteral("no flow runs match"));
        co_return ExitCompleted;
    }
    // Full ids: version 7 ids of runs created within a minute share their first 8 characters.
    QList<QStringList> table;
    for (const FlowRunRow& r : std::as_const(rows)) {
        table.append({r.id, r.flow, stateLabel(r.state, r.name), localTime(r.startedUs),
                      runDuration(r.startedUs, r.endedUs), QString::number(r.totalTaskRuns)});
    }
    printTable(out,
               {QStringLiteral("ID"), QStringLiteral("FLOW"), QStringLiteral("STATE"),
                QStringLiteral("STARTED"), QStringLiteral("DURATION"), QStringLiteral("TASK RUNS")},
               table);
    co_return ExitCompleted;
}

struct FollowStep {
    bool found = false;
    bool terminal = false;
    QList<LogRow> lines;
};

QCoro::Task<int> logsCommand(QStringList args, Output& out)
{
    const QString command = QStringLiteral("runs logs");
    QCommandLineParser parser;
    parser.setApplicationDescription(QStringLiteral("Prints the log lines of a flow run and its task runs."));
    parser.addPositionalArgument(
        QStringLiteral("RUN_ID"),
        QStringLiteral("Flow run id, or a unique prefix or suffix of at least 6 hex digits."));
    const QCommandLineOption follow(
        {QStringLiteral("f"), QStringLiteral("follow")},
        QStringLiteral("Keep printing new lines until the run ends (or Ctrl-C)."));
    const QCommandLineOption db = dbOption();
    parser.addOptions({follow, db});
    if (const int code = parseCommand(parser, command, args); code != ParsedOk)
        co_return code;
    if (!oneRunId(command, parser))
        co_return ExitUsage;
    const bool following = parser.isSet(follow);

    UnixSignals signals;
    bool interrupted = false;
    QObject::connect(&signals, &UnixSignals::received, &signals, [&interrupted](int) { interrupted = true; });

    auto opening = openRun(command, parser.value(db), parser.positionalArguments().first(), true);
    const OpenRun opened = co_await opening;
    if (opened.id.isEmpty())
        co_return ExitUsage;
    const OpenSession& storage = opened.storage;
    const QString& id = opened.id;
    try {
        qint64 lastId = 0;
        while (!interrupted) {
            // The state is read before the lines: once a run is terminal, every line it logged is
            // committed (the store writes a run's lines no later than its final transition).
            auto reading = storage.pool().run([id, lastId](QSqlDatabase& db) {
                FollowStep step;
                const std::optional<FlowRunRow> run = flowRun(db, id);
                step.found = run.has_value();
                step.terminal = run && isTerminalState(run->state);
                step.lines = logs(db, id, lastId, LogPage);
                return step;
            });
            const FollowStep step = co_await reading;
            if (!step.found) {
                printError(
                    QStringLiteral("flowdeck %1: flow run %2 is gone from the database").arg(command, id));
                co_return ExitUsage;
            }
            for (const LogRow& l : step.lines) {
                const QString who
                    = l.taskRunId.isEmpty() ? QStringLiteral("flow") : taskRunLabel(l.task, l.mapIndex);
                out.line(QStringLiteral("%1 %2 %3: %4").arg(isoTime(l.timeUs), l.level, who, l.message));
                lastId = l.id;
            }
            if (step.lines.size() == LogPage)
                continue; // more lines are waiting
            if (!following || step.terminal)
                co_return ExitCompleted;
            out.flush();
            auto pause = QCoro::sleepFor(FollowInterval);
            co_await pause;
        }
    } catch (const std::exception& e) {
        printDatabaseError(command, e);
        co_return ExitUsage;
    }
    co_return ExitCancelled;
}

QCoro::Task<int> cancelCommand(QStringList args, Output& out)
{
    const QString command = QStringLiteral("runs cancel");
    QCommandLineParser parser;
    parser.setApplicationDescription(
        QStringLiteral("Asks the process running a flow run to cancel it; it notices within a second."));
    parser.addPositionalArgument(
        QStringLiteral("RUN_ID"),
        QStringLiteral("Flow run id, or a unique prefix or suffix of at least 6 hex digits."));
    const QCommandLineOption db = dbOption();
    parser.addOption(db);
    if (const int code = parseCommand(parser, command, args); code != ParsedOk)
        co_return code;
    if (!oneRunId(command, parser))
        co_return ExitUsage;

    auto opening = openRun(command, parser.value(db), parser.positionalArguments().first(), false);
    const OpenRun opened = co_await opening;
    if (opened.id.isEmpty())
        co_return ExitUsage;
    const OpenSession& storage = opened.storage;
    const QString& id = opened.id;
    try {
        auto cancelling = storage.pool().run([id](QSqlDatabase& db) {
            const CancelResult result = requestCancel(db, id);
            const std::optional<FlowRunRow> run
                = result == CancelResult::AlreadyFinished ? flowRun(db, id) : std::optional<FlowRunRow>();
            return std::make_pair(result, run ? stateLabel(run->state, run->name) : QString());
        });
        const auto [result, state] = co_await cancelling;
        switch (result) {
        case CancelResult::Requested:
            out.line(
                QStringLiteral(
                    "cancel requested for flow run %1; the process running it will cancel it within a second")
                    .arg(id));
            co_return ExitCompleted;
        case CancelResult::NotFound:
            printError(QStringLiteral("flowdeck %1: no flow run with id %2").arg(command, id));
            co_return ExitUsage;
        case CancelResult::AlreadyFinished:
            printError(QStringLiteral("flowdeck %1: flow run %2 has already finished (%3); nothing to cancel")
                           .arg(command, id, state));
            co_return ExitUsage;
        }
    } catch (const std::exception& e) {
        printDatabaseError(command, e);
    }
    co_return ExitUsage;
}

} // namespace

int cmdRuns(const QStringList& args)
{
    const QString sub = args.value(0);
    if (sub == u"--help" || sub == u"-h" || sub == u"help") {
        std::fprintf(stdout, "%s", kRunsHelp);
        return ExitCompleted;
    }
    // These run a flow run here, printed as `flowdeck run` prints it, with their own output.
    const QStringList rest = args.mid(1);
    if (sub == u"retry")
        return cmdRunsRetry(rest);
    if (sub == u"rerun")
        return cmdRunsRerun(rest);
    if (sub == u"pause")
        return cmdRunsPause(rest);
    if (sub == u"resume")
        return cmdRunsResume(rest);
    return runSubcommand(
        QStringLiteral("runs"), args,
        {{QStringLiteral("ls"), &lsCommand},
         {QStringLiteral("list"), &lsCommand},
         {QStringLiteral("show"), &showCommand},
         {QStringLiteral("logs"), &logsCommand},
         {QStringLiteral("cancel"), &cancelCommand},
         {QStringLiteral("approve"), &approveCommand},
         {QStringLiteral("reject"), &rejectCommand}},
        QStringLiteral("ls, show, logs, cancel, retry, rerun, pause, resume, approve or reject"));
}

} // namespace flowdeck::cli
