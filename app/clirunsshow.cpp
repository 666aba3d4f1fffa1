// `flowdeck runs show`: a flow run, a summary of its task runs and a page of them, or every one
// streamed a page of rows at a time; or one task run's story (--task). Memory holds one page of rows,
// whatever the number of task runs (a flow run may have a million).
#include "cli.h"
#include "cliruns.h"
#include "clirunsshared.h"
#include "flow/resolvedconfig.h"
#include "run/flowrun.h"
#include "run/states.h"
#include "store/connectionpool.h"
#include "store/runqueries.h"

#include <QDateTime>
#include <QJsonArray>
#include <QRegularExpression>

#include <functional>
#include <optional>
#include <utility>

namespace flowdeck::cli {

namespace {

//! Task runs listed by `runs show` when no --limit is given.
constexpr int ShowTaskRunLimit = 50;
//! Task runs read per query when more are printed (--all, --json, a large --limit).
constexpr int TaskRunPage = 2000;

struct ShowData {
    FlowRunRow run;
    QMap<QString, qint64> counts;
};

//! Which task runs `runs show` prints.
struct ShowPaging {
    QString state; //!< a state type, or empty for all
    qint64 offset = 0;
    qint64 limit = 0; //!< <= 0: every one from offset on
};

/**
 * Reads the task runs \a paging asks for, TaskRunPage rows per query, and hands each page to \a sink,
 * which prints it: only one page is in memory at a time. The first page starts at the offset (OFFSET
 * walks the index to it once); later pages go on from the last row read (keyset). Returns how many
 * task runs were handed over. Throws what the database throws.
 */
QCoro::Task<qint64> streamTaskRuns(ConnectionPool& pool, QString id, ShowPaging paging,
                                   std::function<void(const QList<TaskRunRow>&)> sink)
{
    qint64 given = 0;
    std::optional<TaskRunCursor> cursor;
    for (;;) {
        const qint64 left = paging.limit > 0 ? paging.limit - given : qint64(TaskRunPage);
        if (left <= 0)
            break;
        const int size = int(std::min<qint64>(left, TaskRunPage));
        const bool first = given == 0;
        auto reading = pool.run(
            [id, state = paging.state, cursor, first, offset = paging.offset, size](QSqlDatabase& db) {
                return first && offset > 0 ? taskRuns(db, id, state, size, int(offset))
                                           : taskRunsAfter(db, id, state, cursor, size);
            });
        const QList<TaskRunRow> page = co_await reading;
        if (page.isEmpty())
            break;
        given += page.size();
        cursor = TaskRunCursor{page.last().task, page.last().mapIndex};
        sink(page);
        if (page.size() < size)
            break;
    }
    co_return given;
}

QJsonObject durationsJson(const QList<TaskRunDurations>& durations)
{
    QJsonObject o;
    for (const TaskRunDurations& d : durations) {
        o.insert(d.state,
                 QJsonObject{{QStringLiteral("count"), d.count},
                             {QStringLiteral("min_ms"), double(d.minUs) / 1000.0},
                             {QStringLiteral("mean_ms"), double(d.meanUs) / 1000.0},
                             {QStringLiteral("max_ms"), double(d.maxUs) / 1000.0}});
    }
    return o;
}

//! `runs show --json`: the run's fields and the summary, then its task runs streamed a page at a
//! time. Throws what the database throws.
QCoro::Task<> printShowJson(ConnectionPool& pool, QString id, ShowData data,
                            QList<TaskRunDurations> durations, ShowPaging paging, Output& out)
{
    QJsonObject o = flowRunJson(data.run);
    QJsonObject counts;
    for (auto it = data.counts.cbegin(); it != data.counts.cend(); ++it)
        counts.insert(it.key(), it.value());
    o.insert(QStringLiteral("task_run_counts"), counts);
    o.insert(QStringLiteral("task_run_durations"), durationsJson(durations));
    o.insert(QStringLiteral("task_runs_offset"), paging.offset);
    o.insert(QStringLiteral("task_runs_limit"), paging.limit > 0 ? QJsonValue(paging.limit) : QJsonValue());
    QString head = jsonText(QJsonDocument(o));
    head.chop(2); // "\n}"
    out.line(head + QStringLiteral(",\n    \"task_runs\": ["));
    // Each element is printed once the next one (or the end) says whether a comma follows.
    QString pending;
    auto streaming = streamTaskRuns(pool, id, paging, [&out, &pending](const QList<TaskRunRow>& page) {
        for (const TaskRunRow& t : page) {
            if (!pending.isEmpty())
                out.line(pending + u',');
            pending = QStringLiteral("        ")
                + QString::fromUtf8(QJsonDocument(listedTaskRunJson(t)).toJson(QJsonDocument::Compact));
        }
    });
    co_await streaming;
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

//! `runs show`: "durations:" lines, one per state type of the task runs that started and ended.
void printShowDurations(const QList<TaskRunDurations>& durations, Output& out)
{
    for (qsizetype i = 0; i < durations.size(); ++i) {
        const TaskRunDurations& d = durations[i];
        out.line(QStringLiteral("%1  %2 %3: min %4, mean %5, max %6")
                     .arg(i == 0 ? QStringLiteral("durations:") : QString(), -11)
                     .arg(d.count)
                     .arg(d.state, formatDuration(double(d.minUs) / 1e6),
                          formatDuration(double(d.meanUs) / 1e6), formatDuration(double(d.maxUs) / 1e6)));
    }
}

//! The task-run table of `runs show`, printed a page at a time: the columns are as wide as the
//! header and the first page need (a longer cell later on pushes its line only).
class TaskRunTablePrinter {
public:
    explicit TaskRunTablePrinter(Output& out)
        : m_out(out)
    {
    }

    void add(const QList<TaskRunRow>& page)
    {
        QList<QStringList> rows;
        rows.reserve(page.size());
        for (const TaskRunRow& t : page) {
            rows.append({taskRunLabel(t.task, t.mapIndex), stateLabel(t.state, t.name),
                         QString::number(t.attempts), localTime(t.startedUs),
                         runDuration(t.startedUs, t.endedUs), resultPreview(t.result, ResultPreviewChars),
                         t.message});
        }
        if (m_widths.isEmpty()) {
            const QStringList header{QStringLiteral("TASK"),     QStringLiteral("STATE"),
                                     QStringLiteral("ATTEMPTS"), QStringLiteral("STARTED"),
                                     QStringLiteral("DURATION"), QStringLiteral("RESULT"),
                                     QStringLiteral("MESSAGE")};
            for (const QString& h : header)
                m_widths << h.size();
            for (const QStringList& row : std::as_const(rows)) {
                for (qsizetype i = 0; i < row.size(); ++i)
                    m_widths[i] = std::max(m_widths[i], row[i].size());
            }
            print(header);
        }
        for (const QStringList& row : std::as_const(rows))
            print(row);
    }

private:
    void print(const QStringList& cells)
    {
        QString line;
        for (qsizetype i = 0; i < cells.size(); ++i)
            line += i + 1 < cells.size() ? cells[i].leftJustified(m_widths[i]) + QStringLiteral("  ")
                                         : cells[i];
        m_out.line(line);
    }

    Output& m_out;
    QList<qsizetype> m_widths;
};

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

} // namespace

QCoro::Task<int> showCommand(QStringList args, Output& out)
{
    const QString command = QStringLiteral("runs show");
    QCommandLineParser parser;
    parser.setApplicationDescription(QStringLiteral(
        "Shows a flow run: its fields, its task runs counted by state with their durations, and a page "
        "of its task runs (the first 50 unless told otherwise). Rows are read a page at a time, so a run "
        "of a million task runs prints at once in little memory."));
    parser.addPositionalArgument(
        QStringLiteral("RUN_ID"),
        QStringLiteral("Flow run id, or a unique prefix or suffix of at least 6 hex digits."));
    const QCommandLineOption state(QStringLiteral("state"),
                                   QStringLiteral("Only task runs in this state type."), QStringLiteral("S"));
    const QCommandLineOption limit(QStringLiteral("limit"),
                                   QStringLiteral("At most N task runs (default 50; with --json: all)."),
                                   QStringLiteral("N"));
    const QCommandLineOption offset(QStringLiteral("offset"),
                                    QStringLiteral("Skip the first N task runs (ordered by task and index)."),
                                    QStringLiteral("N"));
    const QCommandLineOption all(
        QStringLiteral("all"),
        QStringLiteral("Every task run (from --offset on), streamed a page at a time."));
    const QCommandLineOption json(
        QStringLiteral("json"),
        QStringLiteral(
            "Print one JSON object: the run's fields, task_run_counts, task_run_durations and "
            "task_runs, streamed a page at a time: every task run, or with --limit or --offset a page "
            "(50 unless --limit), as task_runs_offset and task_runs_limit say."));
    const QCommandLineOption taskOption(
        QStringLiteral("task"),
        QStringLiteral("Show one task run instead: its state history, attempts, resolved configuration, "
                       "stalls and log lines."),
        QStringLiteral("TASK[INDEX]"));
    const QCommandLineOption db = dbOption();
    parser.addOptions({state, limit, offset, all, json, taskOption, db});
    if (const int code = parseCommand(parser, command, args); code != ParsedOk)
        co_return code;
    if (!oneRunId(command, parser))
        co_return ExitUsage;
    ShowPaging paging;
    if (parser.isSet(state) && !parseStateOption(command, parser.value(state), &paging.state))
        co_return ExitUsage;
    const bool jsonMode = parser.isSet(json);
    auto number = [&](const QCommandLineOption& option, qint64 least, qint64* value) {
        bool ok = false;
        *value = parser.value(option).toLongLong(&ok);
        if (ok && *value >= least)
            return true;
        printError(QStringLiteral("flowdeck %1: --%2: expected %3 integer, got \"%4\"")
                       .arg(command, option.names().constFirst(),
                            least > 0 ? QStringLiteral("a positive") : QStringLiteral("a non-negative"),
                            parser.value(option)));
        return false;
    };
    if (parser.isSet(limit) && parser.isSet(all)) {
        printError(QStringLiteral("flowdeck %1: --limit and --all do not go together").arg(command));
        co_return ExitUsage;
    }
    if (parser.isSet(limit) && !number(limit, 1, &paging.limit))
        co_return ExitUsage;
    if (parser.isSet(offset) && !number(offset, 0, &paging.offset))
        co_return ExitUsage;
    if (paging.offset > std::numeric_limits<int>::max()) {
        printError(QStringLiteral("flowdeck %1: --offset: at most %2")
                       .arg(command)
                       .arg(std::numeric_limits<int>::max()));
        co_return ExitUsage;
    }
    // People get a page unless they ask for all; JSON gets all unless it asks for a page.
    if (!parser.isSet(limit) && !parser.isSet(all) && !(jsonMode && !parser.isSet(offset)))
        paging.limit = ShowTaskRunLimit;
    QString task;
    int mapIndex = -1;
    if (parser.isSet(taskOption)) {
        for (const QCommandLineOption* other : {&state, &limit, &offset, &all}) {
            if (parser.isSet(*other)) {
                printError(QStringLiteral("flowdeck %1: --%2 and --task do not go together")
                               .arg(command, other->names().constFirst()));
                co_return ExitUsage;
            }
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
    try {
        if (!task.isEmpty()) {
            auto showing = showTaskRun(storage.pool(), command, id, task, mapIndex, jsonMode, out);
            co_return co_await showing;
        }
        // The run's row carries its counts: the header prints before any task run is read.
        auto reading = storage.pool().run([id](QSqlDatabase& db) {
            ShowData d;
            d.run = flowRun(db, id).value_or(FlowRunRow{});
            d.counts = taskRunCounts(db, id);
            return d;
        });
        const ShowData data = co_await reading;
        if (data.run.id.isEmpty()) {
            printError(QStringLiteral("flowdeck %1: no flow run with id %2").arg(command, id));
            co_return ExitUsage;
        }
        std::optional<qint64> stored;
        if (!jsonMode) {
            stored = printShowHeader(data, out);
            out.flush();
        }
        auto timing = storage.pool().run([id](QSqlDatabase& db) { return taskRunDurations(db, id); });
        const QList<TaskRunDurations> durations = co_await timing;
        if (jsonMode) {
            auto printing = printShowJson(storage.pool(), id, data, durations, paging, out);
            co_await printing;
            co_return ExitCompleted;
        }
        printShowDurations(durations, out);
        out.line(QString());
        TaskRunTablePrinter table(out);
        auto streaming = streamTaskRuns(storage.pool(), id, paging,
                                        [&table](const QList<TaskRunRow>& page) { table.add(page); });
        const qint64 shown = co_await streaming;
        const qint64 matching = paging.state.isEmpty() ? *stored : data.counts.value(paging.state);
        const QString inState
            = paging.state.isEmpty() ? QString() : QStringLiteral(" in state ") + paging.state;
        if (shown == 0) {
            out.line(
                matching == 0
                    ? (paging.state.isEmpty() ? QStringLiteral("no task runs recorded")
                                              : QStringLiteral("no task runs in state %1").arg(paging.state))
                    : QStringLiteral("no task runs after the first %1%2").arg(paging.offset).arg(inState));
        } else if (paging.offset + shown < matching) {
            out.line(
                QStringLiteral("... showing task runs %1-%2 of %3%4; next: --offset %5 (--limit N per page, "
                               "--state S narrows, --all lists every one)")
                    .arg(paging.offset + 1)
                    .arg(paging.offset + shown)
                    .arg(matching)
                    .arg(inState)
                    .arg(paging.offset + shown));
        }
    } catch (const std::exception& e) {
        printDatabaseError(command, e);
        co_return ExitUsage;
    }
    co_return ExitCompleted;
}

} // namespace flowdeck::cli
