#include "cliruns.h"

#include "cli.h"
#include "cliapproval.h"
#include "clicommon.h"
#include "clirunops.h"
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

namespace {

using namespace std::chrono_literals;

//! Task runs listed by `runs show` before it says how many more there are.
constexpr int ShowTaskRunLimit = 50;
//! Task runs read per query by `runs show --json`.
constexpr int JsonTaskRunPage = 2000;
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
      "  show RUN_ID [--state S] [--json]\n"
      "                      a flow run and its task runs\n"
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

//! Results longer than this (as JSON) are left out of lists; `runs show --task` prints them whole.
constexpr qsizetype ListedResultBytes = 1024;
//! Characters of a result shown in the task-run table and the run's header.
constexpr qsizetype ResultPreviewChars = 40;

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

QString jsonText(const QJsonDocument& doc)
{
    return QString::fromUtf8(doc.toJson(QJsonDocument::Indented)).trimmed();
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

} // namespace

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

namespace {

//! The open database of a command about one flow run, and that run's full id.
struct OpenRun {
    std::unique_ptr<Scheduler> scheduler; //!< the store's, outlives it
    OpenSession storage;
    QString id; //!< empty when the database or the run could not be found (the reason is printed)
};

//! Opens the database of \a command (\a readOnly: for a command that only reads) and resolves
//! RUN_ID (\a idOrPrefix) in it.
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
    bool helpShown = false;
    if (!parseArgs(parser, command, args, &helpShown))
        co_return ExitUsage;
    if (helpShown)
        co_return ExitCompleted;
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

struct ShowData {
    FlowRunRow run;
    QMap<QString, qint64> counts;
    QList<TaskRunRow> taskRuns;
};

//! `runs show --json`: the run's fields, then its task runs streamed a page at a time (a run may
//! have 100k task runs). Throws what the database throws.
QCoro::Task<> printShowJson(ConnectionPool& pool, QString id, QString stateFilter, ShowData data, Output& out)
{
    QJsonObject o = flowRunJson(data.run);
    QJsonObject counts;
    for (auto it = data.counts.cbegin(); it != data.counts.cend(); ++it)
        counts.insert(it.key(), it.value());
    o.insert(QStringLiteral("task_run_counts"), counts);
    QString head = jsonText(QJsonDocument(o));
    head.chop(2); // "\n}"
    out.line(head + QStringLiteral(",\n    \"task_runs\": ["));
    // Each element is printed once the next one (or the end) says whether a comma follows.
    QString pending;
    int offset = 0;
    QList<TaskRunRow> page = std::move(data.taskRuns);
    for (;;) {
        for (const TaskRunRow& t : std::as_const(page)) {
            if (!pending.isEmpty())
                out.line(pending + u',');
            pending = QStringLiteral("        ")
                + QString::fromUtf8(QJsonDocument(listedTaskRunJson(t)).toJson(QJsonDocument::Compact));
        }
        if (page.size() < JsonTaskRunPage)
            break;
        offset += JsonTaskRunPage;
        auto paging = pool.run([id, stateFilter, offset](QSqlDatabase& db) {
            return taskRuns(db, id, stateFilter, JsonTaskRunPage, offset);
        });
        page = co_await paging;
    }
    if (!pending.isEmpty())
        out.line(pending);
    out.line(QStringLiteral("    ]\n}"));
}

//! `runs show`: the run's fields, one per line. Returns how many task runs are stored.
qint64 printShowHeader(const ShowData& data, Output& out)
{
    const FlowRunRow& run = data.run;
    QStringList countText;
    qint64 stored = 0;
    for (auto it = data.counts.cbegin(); it != data.counts.cend(); ++it) {
        countText << QStringLiteral("%1 %2").arg(it.value()).arg(it.key());
        stored += it.value();
    }
    const QList<std::pair<QString, QString>> header = {
        {QStringLiteral("flow run"), run.id},
        {QStringLiteral("flow"), run.flow},
        {QStringLiteral("state"),
         stateLabel(run.state, run.name)
             + (run.cancelRequested && !isTerminalState(run.state) ? QStringLiteral(", cancel requested")
                                                                   : QString())},
        {QStringLiteral("message"), run.message.isEmpty() ? QStringLiteral("-") : run.message},
        {QStringLiteral("created"), localTime(run.createdUs)},
        {QStringLiteral("started"), localTime(run.startedUs)},
        {QStringLiteral("ended"), localTime(run.endedUs)},
        {QStringLiteral("duration"), runDuration(run.startedUs, run.endedUs)},
        {QStringLiteral("task runs"),
         QStringLiteral("%1%2")
             .arg(std::max(run.totalTaskRuns, stored))
             .arg(countText.isEmpty() ? QString()
                                      : QStringLiteral(": ") + countText.join(QStringLiteral(", ")))},
        {QStringLiteral("parameters"),
         run.parameters.isEmpty()
             ? QStringLiteral("-")
             : QString::fromUtf8(QJsonDocument(run.parameters).toJson(QJsonDocument::Compact))},
        {QStringLiteral("seed"), run.seed ? QString::number(*run.seed) : QStringLiteral("-")},
        {QStringLiteral("started by"), run.startedBy.isEmpty() ? QStringLiteral("-") : run.startedBy},
        {QStringLiteral("result"), resultPreview(run.result, 200)},
    };
    if (!run.parentFlowRunId.isEmpty()) {
        out.line(QStringLiteral("%1  %2")
                     .arg(QStringLiteral("subflow of:"), -11)
                     .arg(QStringLiteral("flow run %1, task run %2")
                              .arg(run.parentFlowRunId, run.parentTaskRunId)));
    }
    for (const auto& [key, value] : header)
        out.line(QStringLiteral("%1  %2").arg(key + u':', -11).arg(value));
    if (run.state == QLatin1String("PAUSED") && !run.pausedBy.isEmpty())
        out.line(QStringLiteral("%1  %2").arg(QStringLiteral("paused by:"), -11).arg(run.pausedBy));
    if (run.stallCount > 0) {
        out.line(QStringLiteral("%1  %2 event-loop stalls, %3 in total")
                     .arg(QStringLiteral("stalls:"), -11)
                     .arg(run.stallCount)
                     .arg(formatDuration(double(run.stallTotalUs) / 1e6)));
    }
    return stored;
}

//! `runs show`: the first task runs in a table, and how many more there are.
void printShowTaskRuns(const ShowData& data, const QString& stateFilter, qint64 stored, Output& out)
{
    out.line(QString());
    if (data.taskRuns.isEmpty()) {
        out.line(stateFilter.isEmpty() ? QStringLiteral("no task runs recorded")
                                       : QStringLiteral("no task runs in state %1").arg(stateFilter));
        return;
    }
    QList<QStringList> table;
    for (const TaskRunRow& t : std::as_const(data.taskRuns)) {
        table.append({taskRunLabel(t.task, t.mapIndex), stateLabel(t.state, t.name),
                      QString::number(t.attempts), localTime(t.startedUs),
                      runDuration(t.startedUs, t.endedUs), resultPreview(t.result, ResultPreviewChars),
                      t.message});
    }
    printTable(out,
               {QStringLiteral("TASK"), QStringLiteral("STATE"), QStringLiteral("ATTEMPTS"),
                QStringLiteral("STARTED"), QStringLiteral("DURATION"), QStringLiteral("RESULT"),
                QStringLiteral("MESSAGE")},
               table);
    const qint64 matching = stateFilter.isEmpty() ? stored : data.counts.value(stateFilter);
    if (matching > data.taskRuns.size()) {
        out.line(
            QStringLiteral(
                "... showing the first %1 of %2 task runs%3 (--state S narrows the list, --json lists all)")
                .arg(data.taskRuns.size())
                .arg(matching)
                .arg(stateFilter.isEmpty() ? QString() : QStringLiteral(" in state ") + stateFilter));
    }
}

//! How long a run stayed in each state of \a history: until the next transition, and the last one
//! until \a endedUs or now (then marked as still going with a "+").
QStringList stateDurations(const QList<StateRow>& history, bool terminal)
{
    QStringList out;
    const qint64 now = QDateTime::currentMSecsSinceEpoch() * 1000;
    for (qsizetype i = 0; i < history.size(); ++i) {
        if (i + 1 < history.size())
            out << formatDuration(double(std::max<qint64>(0, history[i + 1].timeUs - history[i].timeUs))
                                  / 1e6);
        else if (terminal)
            out << QStringLiteral("-");
        else
            out << formatDuration(double(std::max<qint64>(0, now - history[i].timeUs)) / 1e6) + u'+';
    }
    return out;
}

//! `runs show --task`: one task run's story. Throws what the database throws.
QCoro::Task<int> showTaskRun(ConnectionPool& pool, QString command, QString flowRunId, QString task,
                             int mapIndex, bool jsonMode, Output& out)
{
    auto reading = pool.run([flowRunId, task, mapIndex](QSqlDatabase& db) {
        QString error;
        std::optional<TaskRunDetail> d = taskRunDetail(db, flowRunId, task, mapIndex, &error);
        return std::make_pair(std::move(d), error);
    });
    const auto [detail, error] = co_await reading;
    if (!detail) {
        printError(QStringLiteral("flowdeck %1: --task: %2").arg(command, error));
        co_return ExitUsage;
    }
    const TaskRunDetail& d = *detail;
    QString configError;
    QString kind;
    const std::optional<QJsonObject> config
        = resolvedTaskConfig(d.document, d.parameters, task, mapIndex, &configError, &kind);
    const bool terminal = isTerminalState(d.run.state);
    const QStringList durations = stateDurations(d.history, terminal);
    if (jsonMode) {
        QJsonObject o = taskRunJson(d.run);
        o.insert(QStringLiteral("result"), storedResult(d.run.result)); // in full
        o.insert(QStringLiteral("flow_run_id"), flowRunId);
        o.insert(QStringLiteral("kind"), kind.isEmpty() ? QJsonValue() : QJsonValue(kind));
        o.insert(QStringLiteral("config"), config ? QJsonValue(*config) : QJsonValue());
        if (!config)
            o.insert(QStringLiteral("config_error"), configError);
        QJsonArray history;
        for (qsizetype i = 0; i < d.history.size(); ++i) {
            const StateRow& h = d.history[i];
            QJsonObject e{{QStringLiteral("time"), jsonTime(h.timeUs)},
                          {QStringLiteral("state"), h.state},
                          {QStringLiteral("name"), h.name},
                          {QStringLiteral("message"), h.message}};
            e.insert(QStringLiteral("duration_ms"),
                     i + 1 < d.history.size()
                         ? QJsonValue(double(d.history[i + 1].timeUs - h.timeUs) / 1000.0)
                         : QJsonValue());
            history.append(e);
        }
        o.insert(QStringLiteral("history"), history);
        QJsonArray stalls;
        for (const StallRow& st : d.stalls)
            stalls.append(QJsonObject{{QStringLiteral("time"), jsonTime(st.timeUs)},
                                      {QStringLiteral("duration_ms"), double(st.durationUs) / 1000.0}});
        o.insert(QStringLiteral("stalls"), stalls);
        QJsonArray logs;
        for (const LogRow& l : d.logs)
            logs.append(QJsonObject{{QStringLiteral("time"), jsonTime(l.timeUs)},
                                    {QStringLiteral("level"), l.level},
                                    {QStringLiteral("message"), l.message}});
        o.insert(QStringLiteral("logs"), logs);
        o.insert(QStringLiteral("log_count"), d.logCount);
        out.line(jsonText(QJsonDocument(o)));
        co_return ExitCompleted;
    }
    const TaskRunRow& r = d.run;
    const QList<std::pair<QString, QString>> header = {
        {QStringLiteral("task run"), r.id},
        {QStringLiteral("task"), taskRunLabel(r.task, r.mapIndex)},
        {QStringLiteral("flow run"), flowRunId},
        {QStringLiteral("kind"), kind.isEmpty() ? QStringLiteral("-") : kind},
        {QStringLiteral("state"), stateLabel(r.state, r.name)},
        {QStringLiteral("message"), r.message.isEmpty() ? QStringLiteral("-") : r.message},
        {QStringLiteral("attempts"), QString::number(r.attempts)},
        {QStringLiteral("tags"), r.tags.isEmpty() ? QStringLiteral("-") : r.tags.join(QStringLiteral(", "))},
        {QStringLiteral("created"), localTime(r.createdUs)},
        {QStringLiteral("started"), localTime(r.startedUs)},
        {QStringLiteral("ended"), localTime(r.endedUs)},
        {QStringLiteral("duration"), runDuration(r.startedUs, r.endedUs)},
    };
    for (const auto& [key, value] : header)
        out.line(QStringLiteral("%1  %2").arg(key + u':', -11).arg(value));
    out.line(QString());
    out.line(QStringLiteral("configuration:"));
    if (config) {
        for (const QString& line :
             QString::fromUtf8(QJsonDocument(*config).toJson(QJsonDocument::Indented)).trimmed().split(u'\n'))
            out.line(QStringLiteral("  ") + line);
    } else {
        out.line(QStringLiteral("  unknown: ") + configError);
    }
    out.line(QString());
    if (r.result.isEmpty()) {
        out.line(QStringLiteral("result: none"));
    } else {
        out.line(QStringLiteral("result:"));
        const QJsonValue result = storedResult(r.result);
        const QString text = result.isArray() || result.isObject()
            ? QString::fromUtf8(result.isArray()
                                    ? QJsonDocument(result.toArray()).toJson(QJsonDocument::Indented)
                                    : QJsonDocument(result.toObject()).toJson(QJsonDocument::Indented))
            : r.result;
        for (const QString& line : text.trimmed().split(u'\n'))
            out.line(QStringLiteral("  ") + line);
    }
    out.line(QString());
    out.line(QStringLiteral("state history:"));
    QList<QStringList> rows;
    for (qsizetype i = 0; i < d.history.size(); ++i) {
        const StateRow& h = d.history[i];
        rows.append({isoTime(h.timeUs), stateLabel(h.state, h.name), durations[i], h.message});
    }
    printTable(
        out,
        {QStringLiteral("TIME"), QStringLiteral("STATE"), QStringLiteral("FOR"), QStringLiteral("MESSAGE")},
        rows, QStringLiteral("  "));
    out.line(QString());
    if (d.stalls.isEmpty()) {
        out.line(QStringLiteral("stalls: none"));
    } else {
        out.line(QStringLiteral("stalls:"));
        QList<QStringList> stallRows;
        for (const StallRow& st : d.stalls)
            stallRows.append({isoTime(st.timeUs), formatDuration(double(st.durationUs) / 1e6)});
        printTable(out, {QStringLiteral("TIME"), QStringLiteral("DURATION")}, stallRows,
                   QStringLiteral("  "));
    }
    out.line(QString());
    if (d.logCount == 0) {
        out.line(QStringLiteral("logs: none"));
    } else {
        out.line(d.logCount > d.logs.size()
                     ? QStringLiteral("logs (the last %1 of %2 lines):").arg(d.logs.size()).arg(d.logCount)
                     : QStringLiteral("logs:"));
        for (const LogRow& l : d.logs)
            out.line(QStringLiteral("  %1 %2 %3").arg(isoTime(l.timeUs), l.level, l.message));
    }
    co_return ExitCompleted;
}

//! Parses --task "TASK" or "TASK[INDEX]"; prints the error and returns false when malformed.
bool parseTaskOption(const QString& command, const QString& value, QString* task, int* mapIndex)
{
    static const QRegularExpression form(QStringLiteral("^([^\\[\\]]+)(?:\\[(\\d{1,9})\\])?$"));
    const QRegularExpressionMatch m = form.match(value.trimmed());
    if (!m.hasMatch()) {
        printError(
            QStringLiteral("flowdeck %1: --task: expected TASK or TASK[INDEX] (INDEX a number from 0), "
                           "got \"%2\"")
                .arg(command, value));
        return false;
    }
    *task = m.captured(1);
    *mapIndex = m.capturedLength(2) > 0 ? m.captured(2).toInt() : -1;
    return true;
}

QCoro::Task<int> showCommand(QStringList args, Output& out)
{
    const QString command = QStringLiteral("runs show");
    QCommandLineParser parser;
    parser.setApplicationDescription(QStringLiteral("Shows a flow run and its task runs."));
    parser.addPositionalArgument(
        QStringLiteral("RUN_ID"),
        QStringLiteral("Flow run id, or a unique prefix or suffix of at least 6 hex digits."));
    const QCommandLineOption state(QStringLiteral("state"),
                                   QStringLiteral("Only task runs in this state type."), QStringLiteral("S"));
    const QCommandLineOption json(
        QStringLiteral("json"),
        QStringLiteral("Print one JSON object with the run's fields and all its task runs."));
    const QCommandLineOption taskOption(
        QStringLiteral("task"),
        QStringLiteral("Show one task run instead: its state history, attempts, resolved configuration, "
                       "stalls and log lines."),
        QStringLiteral("TASK[INDEX]"));
    const QCommandLineOption db = dbOption();
    parser.addOptions({state, json, taskOption, db});
    bool helpShown = false;
    if (!parseArgs(parser, command, args, &helpShown))
        co_return ExitUsage;
    if (helpShown)
        co_return ExitCompleted;
    if (!oneRunId(command, parser))
        co_return ExitUsage;
    QString stateFilter;
    if (parser.isSet(state) && !parseStateOption(command, parser.value(state), &stateFilter))
        co_return ExitUsage;
    const bool jsonMode = parser.isSet(json);
    QString task;
    int mapIndex = -1;
    if (parser.isSet(taskOption)) {
        if (parser.isSet(state)) {
            printError(QStringLiteral("flowdeck %1: --state and --task do not go together").arg(command));
            co_return ExitUsage;
        }
        if (!parseTaskOption(command, parser.value(taskOption), &task, &mapIndex))
            co_return ExitUsage;
    }

    auto opening = openRun(command, parser.value(db), parser.positionalArguments().first(), true);
    const OpenRun opened = co_await opening;
    if (opened.id.isEmpty())
        co_return ExitUsage;
    const OpenSession& storage = opened.storage;
    const QString& id = opened.id;
    if (!task.isEmpty()) {
        try {
            auto showing = showTaskRun(storage.pool(), command, id, task, mapIndex, jsonMode, out);
            co_return co_await showing;
        } catch (const std::exception& e) {
            printDatabaseError(command, e);
            co_return ExitUsage;
        }
    }
    ShowData data;
    try {
        // JSON carries every task run, a page at a time; people get the first ones and the counts.
        const int limit = jsonMode ? JsonTaskRunPage : ShowTaskRunLimit;
        auto reading = storage.pool().run([id, stateFilter, limit](QSqlDatabase& db) {
            ShowData d;
            d.run = flowRun(db, id).value_or(FlowRunRow{});
            d.counts = taskRunCounts(db, id);
            d.taskRuns = taskRuns(db, id, stateFilter, limit);
            return d;
        });
        data = co_await reading;
        if (data.run.id.isEmpty()) {
            printError(QStringLiteral("flowdeck %1: no flow run with id %2").arg(command, id));
            co_return ExitUsage;
        }
        if (jsonMode) {
            auto printing = printShowJson(storage.pool(), id, stateFilter, std::move(data), out);
            co_await printing;
            co_return ExitCompleted;
        }
    } catch (const std::exception& e) {
        printDatabaseError(command, e);
        co_return ExitUsage;
    }

    const qint64 stored = printShowHeader(data, out);
    printShowTaskRuns(data, stateFilter, stored, out);
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
    bool helpShown = false;
    if (!parseArgs(parser, command, args, &helpShown))
        co_return ExitUsage;
    if (helpShown)
        co_return ExitCompleted;
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
    bool helpShown = false;
    if (!parseArgs(parser, command, args, &helpShown))
        co_return ExitUsage;
    if (helpShown)
        co_return ExitCompleted;
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
