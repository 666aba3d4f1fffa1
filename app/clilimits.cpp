#include "clilimits.h"

#include "cli.h"
#include "clicommon.h"
#include "run/flowrun.h"
#include "run/scheduler.h"
#include "store/limitqueries.h"

#include <QDateTime>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QRegularExpression>

#include <climits>
#include <cmath>
#include <cstdio>
#include <functional>
#include <optional>
#include <utility>

namespace flowdeck::cli {

namespace {

constexpr int UsageBarWidth = 20;

const char kLimitsHelp[]
    = "Usage: flowdeck concurrency-limit SUBCOMMAND [OPTIONS]\n"
      "\n"
      "Tag concurrency limits, stored in the database: a task run with a limited tag runs only while it\n"
      "holds one of the tag's slots; the others wait in line (AwaitingConcurrencySlot). Running engines\n"
      "pick up changes within a second.\n"
      "\n"
      "Subcommands:\n"
      "  create TAG N        create the limit of TAG, or change it, to N slots (0 holds the tag's task "
      "runs)\n"
      "  ls [--json]         list the limits with their slots in use and waiting task runs\n"
      "  inspect TAG [--json]\n"
      "                      the limit, the task runs holding its slots and those waiting, in queue order\n"
      "  reset TAG           free the slots held by task runs that are no longer running\n"
      "  delete TAG          delete the limit; its waiting task runs stop waiting for it\n"
      "\n"
      "Every subcommand accepts --db URL. See 'flowdeck concurrency-limit SUBCOMMAND --help'.\n";

//! \a text in double quotes with control characters, unusual spaces and quotes escaped: an error
//! about a tag stays on one line whatever the tag holds.
QString quoted(const QString& text)
{
    QString out = QStringLiteral("\"");
    for (const QChar c : text) {
        if (c == u'"' || c == u'\\') {
            out += u'\\';
            out += c;
        } else if (c == u'\n') {
            out += QStringLiteral("\\n");
        } else if (c == u'\t') {
            out += QStringLiteral("\\t");
        } else if (c == u'\r') {
            out += QStringLiteral("\\r");
        } else if ((c.isSpace() && c != u' ') || c.category() == QChar::Other_Control
                   || c.category() == QChar::Other_Format) {
            out += QStringLiteral("\\u%1").arg(c.unicode(), 4, 16, QLatin1Char('0'));
        } else {
            out += c;
        }
    }
    return out + u'"';
}

/**
 * Puts options first and positional arguments after "--", so that QCommandLineParser takes a
 * negative number ("-1") or a tag starting with '-' followed by a digit for a positional argument
 * that is then rejected with a clear message, not for an unknown option.
 */
QStringList positionalLast(const QStringList& args, const QStringList& optionsWithValue)
{
    static const QRegularExpression number(QStringLiteral("^-[0-9.]"));
    QStringList options;
    QStringList positional;
    for (qsizetype i = 0; i < args.size(); ++i) {
        const QString& arg = args[i];
        if (arg == u"--") {
            positional += args.mid(i + 1);
            break;
        }
        if (!arg.startsWith(u'-') || arg == u"-" || number.match(arg).hasMatch()) {
            positional << arg;
            continue;
        }
        options << arg;
        QString name = arg.mid(arg.startsWith(u"--") ? 2 : 1);
        if (!name.contains(u'=') && optionsWithValue.contains(name) && i + 1 < args.size())
            options << args[++i];
    }
    return options + QStringList{QStringLiteral("--")} + positional;
}

bool parseSubcommand(QCommandLineParser& parser, const QString& command, const QStringList& args,
                     bool* helpShown)
{
    return parseArgs(parser, command, positionalLast(args, {QStringLiteral("db")}), helpShown);
}

//! Checks the number of positional arguments; prints the error otherwise.
bool expectArguments(const QString& command, const QStringList& positional, const QStringList& names)
{
    if (positional.size() == names.size())
        return true;
    if (positional.size() < names.size()) {
        const QStringList missing = names.mid(positional.size());
        printError(QStringLiteral("flowdeck %1: missing %2 argument%3 (see 'flowdeck %1 --help')")
                       .arg(command, missing.join(QStringLiteral(" and ")),
                            missing.size() == 1 ? QString() : QStringLiteral("s")));
    } else {
        printError(QStringLiteral("flowdeck %1: unexpected argument %2 (expected %3)")
                       .arg(command, quoted(positional.at(names.size())),
                            names.isEmpty() ? QStringLiteral("none") : names.join(u' ')));
    }
    return false;
}

bool checkTag(const QString& command, const QString& tag)
{
    QString error;
    if (validTag(tag, &error))
        return true;
    printError(QStringLiteral("flowdeck %1: invalid tag %2: %3").arg(command, quoted(tag), error));
    return false;
}

//! A limit: a non-negative integer that fits an int, in plain digits.
bool parseLimit(const QString& command, const QString& text, int* limit)
{
    static const QRegularExpression digits(QStringLiteral("^[0-9]+$"));
    bool ok = false;
    const int value = digits.match(text).hasMatch() ? text.toInt(&ok) : 0;
    if (ok) {
        *limit = value;
        return true;
    }
    if (digits.match(text).hasMatch())
        printError(
            QStringLiteral("flowdeck %1: the limit must be a non-negative integer no larger than %2, got %3")
                .arg(command)
                .arg(INT_MAX)
                .arg(quoted(text)));
    else
        printError(QStringLiteral("flowdeck %1: the limit must be a non-negative integer, got %2")
                       .arg(command, quoted(text)));
    return false;
}

void printUnknownTag(const QString& command, const QString& tag)
{
    printError(
        QStringLiteral("flowdeck %1: no concurrency limit for tag %2 (see 'flowdeck concurrency-limit ls')")
            .arg(command, quoted(tag)));
}

QString jsonText(const QJsonDocument& doc)
{
    return QString::fromUtf8(doc.toJson(QJsonDocument::Indented)).trimmed();
}

QString taskLabel(const LimitRunRow& r)
{
    if (r.task.isEmpty())
        return QStringLiteral("(not in the store)");
    return taskRunLabel(r.task, r.mapIndex);
}

//! Local time to the millisecond and how long ago.
QString sinceText(qint64 us)
{
    if (us <= 0)
        return QStringLiteral("-");
    const qint64 now = QDateTime::currentMSecsSinceEpoch() * 1000;
    return QStringLiteral("%1 (%2 ago)")
        .arg(QDateTime::fromMSecsSinceEpoch(us / 1000).toString(QStringLiteral("yyyy-MM-dd HH:mm:ss.zzz")),
             formatDuration(double(std::max<qint64>(0, now - us)) / 1e6));
}

QString usageBar(const LimitRow& r)
{
    if (r.limit == 0)
        return r.active > 0 ? QStringLiteral("paused, %1 still running").arg(r.active)
                            : QStringLiteral("paused");
    const int filled
        = std::min(UsageBarWidth, int((qint64(r.active) * UsageBarWidth + r.limit - 1) / r.limit));
    QString bar = u'[' + QString(filled, u'#') + QString(UsageBarWidth - filled, u'.') + u']';
    bar += QStringLiteral(" %1%").arg(qint64(r.active) * 100 / r.limit);
    if (r.active > r.limit)
        bar += QStringLiteral(" (over: lowered while running)");
    return bar;
}

QJsonObject runJson(const LimitRunRow& r)
{
    QJsonObject o;
    o.insert(QStringLiteral("task_run_id"), r.taskRunId);
    o.insert(QStringLiteral("flow_run_id"), r.flowRunId.isEmpty() ? QJsonValue() : QJsonValue(r.flowRunId));
    o.insert(QStringLiteral("task"), r.task.isEmpty() ? QJsonValue() : QJsonValue(r.task));
    o.insert(QStringLiteral("map_index"), r.mapIndex >= 0 ? QJsonValue(r.mapIndex) : QJsonValue());
    o.insert(QStringLiteral("since"), r.sinceUs > 0 ? QJsonValue(isoTime(r.sinceUs)) : QJsonValue());
    o.insert(QStringLiteral("message"), r.message);
    return o;
}

/**
 * Opens the database of \a command and runs \a job on its pool. Returns the job's result, or nullopt
 * with \a exitCode set after printing why not (ExitUsage: no database; ExitFailed: the job failed).
 */
template<typename F, typename R = std::invoke_result_t<F, QSqlDatabase&>>
QCoro::Task<std::optional<R>> runOnDatabase(QString command, QString dbValue, F job, int* exitCode)
{
    Scheduler scheduler;
    auto opening = openSession(command, dbValue, scheduler);
    OpenSession storage = co_await opening;
    if (!storage) {
        *exitCode = ExitUsage;
        co_return std::nullopt;
    }
    std::optional<R> result;
    try {
        auto running = storage.pool().run(std::move(job));
        result = co_await running;
    } catch (const std::exception& e) {
        printDatabaseError(command, e);
        *exitCode = ExitFailed;
    }
    co_return result;
}

//! The shared front of `inspect`, `reset` and `delete` (\a parser has their options; TAG is read here).
//! Returns the exit code to stop with (help shown, or a usage error already printed), or -1 to go on.
int parseTagArguments(QCommandLineParser& parser, const QString& command, const QStringList& args,
                      QString* tag)
{
    bool helpShown = false;
    if (!parseSubcommand(parser, command, args, &helpShown))
        return ExitUsage;
    if (helpShown)
        return ExitCompleted;
    const QStringList positional = parser.positionalArguments();
    if (!expectArguments(command, positional, {QStringLiteral("TAG")}))
        return ExitUsage;
    *tag = positional.at(0);
    return checkTag(command, *tag) ? -1 : ExitUsage;
}

QCoro::Task<int> createCommand(QStringList args, Output& out)
{
    const QString command = QStringLiteral("concurrency-limit create");
    QCommandLineParser parser;
    parser.setApplicationDescription(
        QStringLiteral("Creates the concurrency limit of a tag, or changes it."));
    parser.addPositionalArgument(QStringLiteral("TAG"),
                                 QStringLiteral("The tag (no whitespace, control characters or commas)."));
    parser.addPositionalArgument(
        QStringLiteral("N"),
        QStringLiteral("Slots: how many of the tag's task runs may run at once (0 holds them all)."));
    const QCommandLineOption db = dbOption();
    parser.addOption(db);
    bool helpShown = false;
    if (!parseSubcommand(parser, command, args, &helpShown))
        co_return ExitUsage;
    if (helpShown)
        co_return ExitCompleted;
    const QStringList positional = parser.positionalArguments();
    if (!expectArguments(command, positional, {QStringLiteral("TAG"), QStringLiteral("N")}))
        co_return ExitUsage;
    const QString tag = positional.at(0);
    int limit = 0;
    if (!checkTag(command, tag) || !parseLimit(command, positional.at(1), &limit))
        co_return ExitUsage;

    int exitCode = ExitCompleted;
    auto writing = runOnDatabase(
        command, parser.value(db),
        [tag, limit](QSqlDatabase& d) {
            upsertLimit(d, tag, limit);
            return true;
        },
        &exitCode);
    const std::optional<bool> written = co_await writing;
    if (!written)
        co_return exitCode;
    out.line(QStringLiteral("concurrency limit for tag %1 set to %2").arg(quoted(tag)).arg(limit));
    co_return ExitCompleted;
}

QCoro::Task<int> lsCommand(QStringList args, Output& out)
{
    const QString command = QStringLiteral("concurrency-limit ls");
    QCommandLineParser parser;
    parser.setApplicationDescription(QStringLiteral("Lists the concurrency limits, by tag."));
    const QCommandLineOption json(
        QStringLiteral("json"),
        QStringLiteral("Print a JSON array of objects with tag, limit, active and waiting."));
    const QCommandLineOption db = dbOption();
    parser.addOptions({json, db});
    bool helpShown = false;
    if (!parseSubcommand(parser, command, args, &helpShown))
        co_return ExitUsage;
    if (helpShown)
        co_return ExitCompleted;
    if (!expectArguments(command, parser.positionalArguments(), {}))
        co_return ExitUsage;

    int exitCode = ExitCompleted;
    auto reading = runOnDatabase(
        command, parser.value(db), [](QSqlDatabase& d) { return listLimits(d); }, &exitCode);
    const std::optional<QList<LimitRow>> read = co_await reading;
    if (!read)
        co_return exitCode;
    const QList<LimitRow>& rows = *read;

    if (parser.isSet(json)) {
        QJsonArray array;
        for (const LimitRow& r : std::as_const(rows)) {
            QJsonObject o;
            o.insert(QStringLiteral("tag"), r.tag);
            o.insert(QStringLiteral("limit"), r.limit);
            o.insert(QStringLiteral("active"), r.active);
            o.insert(QStringLiteral("waiting"), r.waiting);
            array.append(o);
        }
        out.line(jsonText(QJsonDocument(array)));
        co_return ExitCompleted;
    }
    if (rows.isEmpty()) {
        out.line(QStringLiteral(
            "no concurrency limits (create one with 'flowdeck concurrency-limit create TAG N')"));
        co_return ExitCompleted;
    }
    QList<QStringList> table;
    for (const LimitRow& r : std::as_const(rows)) {
        table.append({r.tag, QString::number(r.limit), QString::number(r.active), QString::number(r.waiting),
                      usageBar(r)});
    }
    printTable(out,
               {QStringLiteral("TAG"), QStringLiteral("LIMIT"), QStringLiteral("ACTIVE"),
                QStringLiteral("WAITING"), QStringLiteral("USAGE")},
               table);
    co_return ExitCompleted;
}

//! `concurrency-limit inspect --json`: one object.
void printInspectJson(const LimitRow& r, Output& out)
{
    QJsonObject o;
    o.insert(QStringLiteral("tag"), r.tag);
    o.insert(QStringLiteral("limit"), r.limit);
    o.insert(QStringLiteral("active_slots"), QJsonArray::fromStringList(r.activeSlots));
    o.insert(QStringLiteral("waiting"), QJsonArray::fromStringList(r.waitingRuns));
    QJsonArray holders;
    for (const LimitRunRow& h : r.holders)
        holders.append(runJson(h));
    QJsonArray waiters;
    for (const LimitRunRow& w : r.waiters)
        waiters.append(runJson(w));
    o.insert(QStringLiteral("holders"), holders);
    o.insert(QStringLiteral("waiters"), waiters);
    out.line(jsonText(QJsonDocument(o)));
}

//! `concurrency-limit inspect`: the limit, its use, and tables of its holders and waiters.
void printInspectText(const LimitRow& r, Output& out)
{
    out.line(QStringLiteral("tag:      %1").arg(r.tag));
    out.line(QStringLiteral("limit:    %1%2")
                 .arg(r.limit)
                 .arg(r.limit == 0 ? QStringLiteral(" (paused: its task runs wait until the limit is raised)")
                                   : QString()));
    out.line(QStringLiteral("active:   %1 slot%2 in use%3")
                 .arg(r.active)
                 .arg(r.active == 1 ? QString() : QStringLiteral("s"))
                 .arg(r.limit > 0 ? QStringLiteral("  ") + usageBar(r) : QString()));
    out.line(QStringLiteral("waiting:  %1 task run%2")
                 .arg(r.waiting)
                 .arg(r.waiting == 1 ? QString() : QStringLiteral("s")));
    if (!r.holders.isEmpty()) {
        out.line(QString());
        out.line(QStringLiteral("task runs holding slots:"));
        QList<QStringList> table;
        for (const LimitRunRow& h : r.holders)
            table.append({h.taskRunId, taskLabel(h),
                          h.flowRunId.isEmpty() ? QStringLiteral("-") : h.flowRunId, sinceText(h.sinceUs)});
        printTable(out,
                   {QStringLiteral("TASK RUN"), QStringLiteral("TASK"), QStringLiteral("FLOW RUN"),
                    QStringLiteral("SINCE")},
                   table, QStringLiteral("  "));
    }
    if (!r.waiters.isEmpty()) {
        out.line(QString());
        out.line(QStringLiteral("task runs waiting, in queue order:"));
        QList<QStringList> table;
        int place = 0;
        for (const LimitRunRow& w : r.waiters) {
            table.append({QString::number(++place), w.taskRunId, taskLabel(w), w.flowRunId,
                          sinceText(w.sinceUs), w.message});
        }
        printTable(out,
                   {QStringLiteral("#"), QStringLiteral("TASK RUN"), QStringLiteral("TASK"),
                    QStringLiteral("FLOW RUN"), QStringLiteral("WAITING SINCE"), QStringLiteral("WHY")},
                   table, QStringLiteral("  "));
    }
}

QCoro::Task<int> inspectCommand(QStringList args, Output& out)
{
    const QString command = QStringLiteral("concurrency-limit inspect");
    QCommandLineParser parser;
    parser.setApplicationDescription(QStringLiteral(
        "Shows a tag's limit, the task runs holding its slots and those waiting, in queue order."));
    parser.addPositionalArgument(QStringLiteral("TAG"), QStringLiteral("The tag."));
    const QCommandLineOption json(QStringLiteral("json"),
                                  QStringLiteral("Print one JSON object with tag, limit, active_slots (task "
                                                 "run ids) and waiting (ids in queue order)."));
    const QCommandLineOption db = dbOption();
    parser.addOptions({json, db});
    QString tag;
    if (const int exit = parseTagArguments(parser, command, args, &tag); exit >= 0)
        co_return exit;

    int exitCode = ExitCompleted;
    auto reading = runOnDatabase(
        command, parser.value(db), [tag](QSqlDatabase& d) { return inspectLimit(d, tag); }, &exitCode);
    const std::optional<std::optional<LimitRow>> read = co_await reading;
    if (!read)
        co_return exitCode;
    const std::optional<LimitRow>& found = *read;
    if (!found) {
        printUnknownTag(command, tag);
        co_return ExitUsage;
    }
    const LimitRow& r = *found;

    if (parser.isSet(json))
        printInspectJson(r, out);
    else
        printInspectText(r, out);
    co_return ExitCompleted;
}

//! A verb of the form `concurrency-limit VERB TAG [--db URL]` that runs one \a statement on the tag on a
//! database thread: the statement returns the line to print, or nothing when the tag has no limit.
QCoro::Task<int>
tagStatementCommand(QString command, QString description, QStringList args, Output& out,
                    std::function<std::optional<QString>(QSqlDatabase&, const QString&)> statement)
{
    QCommandLineParser parser;
    parser.setApplicationDescription(description);
    parser.addPositionalArgument(QStringLiteral("TAG"), QStringLiteral("The tag."));
    const QCommandLineOption db = dbOption();
    parser.addOption(db);
    QString tag;
    if (const int exit = parseTagArguments(parser, command, args, &tag); exit >= 0)
        co_return exit;

    int exitCode = ExitCompleted;
    auto running = runOnDatabase(
        command, parser.value(db), [tag, statement](QSqlDatabase& d) { return statement(d, tag); },
        &exitCode);
    const std::optional<std::optional<QString>> result = co_await running;
    if (!result)
        co_return exitCode;
    if (!*result) {
        printUnknownTag(command, tag);
        co_return ExitUsage;
    }
    out.line(**result);
    co_return ExitCompleted;
}

QCoro::Task<int> resetCommand(QStringList args, Output& out)
{
    return tagStatementCommand(QStringLiteral("concurrency-limit reset"),
                               QStringLiteral("Frees a tag's slots held by task runs that are no longer "
                                              "running, and those whose lease expired."),
                               std::move(args), out,
                               [](QSqlDatabase& db, const QString& tag) -> std::optional<QString> {
                                   const int freed = resetLimit(db, tag);
                                   if (freed < 0)
                                       return std::nullopt;
                                   return QStringLiteral("freed %1 slot%2 of tag %3")
                                       .arg(freed)
                                       .arg(freed == 1 ? QString() : QStringLiteral("s"))
                                       .arg(quoted(tag));
                               });
}

QCoro::Task<int> deleteCommand(QStringList args, Output& out)
{
    return tagStatementCommand(
        QStringLiteral("concurrency-limit delete"),
        QStringLiteral("Deletes a tag's concurrency limit; its waiting task runs stop waiting for it."),
        std::move(args), out, [](QSqlDatabase& db, const QString& tag) -> std::optional<QString> {
            if (!deleteLimit(db, tag))
                return std::nullopt;
            return QStringLiteral("deleted the concurrency limit of tag %1").arg(quoted(tag));
        });
}

const char kGlobalLimitsHelp[]
    = "Usage: flowdeck gcl SUBCOMMAND [OPTIONS]   (long name: global-concurrency-limit)\n"
      "\n"
      "Named global concurrency limits and rate limits, stored in the database (Prefect's 'gcl'). A task\n"
      "occupies one for its whole attempt with \"concurrency\": [{\"name\": NAME, \"occupy\": N}], a flow "
      "run for\n"
      "its whole run with \"concurrency\" at the flow's top level, and a task takes slots of a rate limit\n"
      "with \"rate_limit\": NAME: those are never released but decay, each coming back LIMIT / RATE seconds\n"
      "after it was taken, so no such window sees more than LIMIT starts. Running engines pick up changes\n"
      "within a second; lowering a limit never stops running work; deleting one releases its waiters.\n"
      "\n"
      "Subcommands:\n"
      "  create NAME --limit N [--slot-decay-per-second R] [--active-slots N] [--disable]\n"
      "                      create a limit (R > 0 makes it usable as a rate limit)\n"
      "  ls [--json]         list the limits with their occupied slots and waiting task runs\n"
      "  inspect NAME [--json]\n"
      "                      the limit, the runs holding its slots and those waiting\n"
      "  update NAME [--limit N] [--active-slots N] [--slot-decay-per-second R] [--enable | --disable]\n"
      "                      change a limit (R = 0 removes the decay)\n"
      "  enable NAME         make a limit throttle again\n"
      "  disable NAME        stop a limit from throttling (it is kept)\n"
      "  reset NAME          free the slots held by runs that are no longer running\n"
      "  delete NAME         delete the limit; its waiting task runs stop waiting for it\n"
      "\n"
      "--json objects carry name, limit, active, active_slots, slot_decay_per_second (null when none) and\n"
      "waiting. Names: not empty, none of / % & > <, no whitespace, control characters or commas.\n"
      "Every subcommand accepts --db URL. See 'flowdeck gcl SUBCOMMAND --help'.\n";

const QStringList kGlobalValueOptions
    = {QStringLiteral("db"), QStringLiteral("limit"), QStringLiteral("slot-decay-per-second"),
       QStringLiteral("active-slots")};

bool checkLimitName(const QString& command, const QString& name)
{
    QString error;
    if (validLimitName(name, &error))
        return true;
    printError(QStringLiteral("flowdeck %1: invalid limit name %2: %3").arg(command, quoted(name), error));
    return false;
}

void printUnknownGlobal(const QString& command, const QString& name)
{
    printError(QStringLiteral("flowdeck %1: no global concurrency limit named %2 (see 'flowdeck gcl ls')")
                   .arg(command, quoted(name)));
}

//! A count option (--limit, --active-slots): a non-negative integer.
bool parseCount(const QString& command, const QString& option, const QString& text, int* value)
{
    static const QRegularExpression digits(QStringLiteral("^[0-9]+$"));
    bool ok = false;
    const int parsed = digits.match(text).hasMatch() ? text.toInt(&ok) : 0;
    if (ok) {
        *value = parsed;
        return true;
    }
    printError(QStringLiteral("flowdeck %1: --%2 must be a non-negative integer no larger than %3, got %4")
                   .arg(command, option)
                   .arg(INT_MAX)
                   .arg(quoted(text)));
    return false;
}

//! --slot-decay-per-second: a finite number >= 0 (0: none).
bool parseDecay(const QString& command, const QString& text, double* value)
{
    bool ok = false;
    const double parsed = text.trimmed().toDouble(&ok);
    if (ok && std::isfinite(parsed) && parsed >= 0 && parsed <= 1e9) {
        *value = parsed;
        return true;
    }
    printError(QStringLiteral("flowdeck %1: --slot-decay-per-second must be a number from 0 to 1e9 (slots "
                              "per second; 0: none), got %2")
                   .arg(command, quoted(text)));
    return false;
}

QJsonObject globalJson(const GlobalLimitRow& r)
{
    QJsonObject o;
    o.insert(QStringLiteral("name"), r.name);
    o.insert(QStringLiteral("limit"), r.limit);
    o.insert(QStringLiteral("active"), r.active);
    o.insert(QStringLiteral("active_slots"), r.activeSlots);
    o.insert(QStringLiteral("slot_decay_per_second"),
             r.slotDecayPerSecond ? QJsonValue(*r.slotDecayPerSecond) : QJsonValue());
    o.insert(QStringLiteral("waiting"), r.waiting);
    return o;
}

QString decayText(const GlobalLimitRow& r)
{
    return r.slotDecayPerSecond ? QString::number(*r.slotDecayPerSecond, 'g', 6) + QStringLiteral("/s")
                                : QStringLiteral("-");
}

/**
 * `gcl create` and `gcl update`: NAME and the options that set values. Returns the exit code to stop
 * with, or -1 to go on with \a change filled.
 */
int parseGlobalChange(QCommandLineParser& parser, const QString& command, const QStringList& args,
                      bool create, QString* name, GlobalLimitChange* change)
{
    const QCommandLineOption limit(QStringLiteral("limit"), QStringLiteral("Slots (0 holds every run)."),
                                   QStringLiteral("N"));
    const QCommandLineOption decay(
        QStringLiteral("slot-decay-per-second"),
        QStringLiteral("Slots per second that come back (> 0: a rate limit; 0: none)."), QStringLiteral("R"));
    const QCommandLineOption activeSlots(
        QStringLiteral("active-slots"),
        QStringLiteral("Set the occupied slots (unowned ones are added or the "
                       "decaying ones removed; held slots stay)."),
        QStringLiteral("N"));
    const QCommandLineOption enable(QStringLiteral("enable"), QStringLiteral("Make it throttle."));
    const QCommandLineOption disable(QStringLiteral("disable"),
                                     QStringLiteral("Keep it without throttling."));
    parser.addPositionalArgument(QStringLiteral("NAME"), QStringLiteral("The limit's name."));
    parser.addOptions({limit, decay, activeSlots, disable, dbOption()});
    if (!create)
        parser.addOption(enable);
    bool helpShown = false;
    if (!parseArgs(parser, command, positionalLast(args, kGlobalValueOptions), &helpShown))
        return ExitUsage;
    if (helpShown)
        return ExitCompleted;
    const QStringList positional = parser.positionalArguments();
    if (!expectArguments(command, positional, {QStringLiteral("NAME")}))
        return ExitUsage;
    *name = positional.at(0);
    if (!checkLimitName(command, *name))
        return ExitUsage;
    if (parser.isSet(limit)) {
        int n = 0;
        if (!parseCount(command, QStringLiteral("limit"), parser.value(limit), &n))
            return ExitUsage;
        change->limit = n;
    } else if (create) {
        printError(QStringLiteral("flowdeck %1: missing --limit N (see 'flowdeck %1 --help')").arg(command));
        return ExitUsage;
    }
    if (parser.isSet(activeSlots)) {
        int n = 0;
        if (!parseCount(command, QStringLiteral("active-slots"), parser.value(activeSlots), &n))
            return ExitUsage;
        change->activeSlots = n;
    }
    if (parser.isSet(decay)) {
        double r = 0;
        if (!parseDecay(command, parser.value(decay), &r))
            return ExitUsage;
        change->slotDecayPerSecond = r > 0 ? std::optional<double>(r) : std::nullopt;
    }
    if (!create && parser.isSet(enable) && parser.isSet(disable)) {
        printError(QStringLiteral("flowdeck %1: --enable and --disable exclude each other").arg(command));
        return ExitUsage;
    }
    if (parser.isSet(disable))
        change->active = false;
    else if (!create && parser.isSet(enable))
        change->active = true;
    if (!create && !change->limit && !change->active && !change->slotDecayPerSecond && !change->activeSlots) {
        printError(QStringLiteral("flowdeck %1: nothing to change: give --limit, --active-slots, "
                                  "--slot-decay-per-second, --enable or --disable")
                       .arg(command));
        return ExitUsage;
    }
    return -1;
}

QCoro::Task<int> gclCreateCommand(QStringList args, Output& out)
{
    const QString command = QStringLiteral("gcl create");
    QCommandLineParser parser;
    parser.setApplicationDescription(QStringLiteral("Creates a global concurrency limit (or rate limit)."));
    QString name;
    GlobalLimitChange values;
    if (const int exit = parseGlobalChange(parser, command, args, true, &name, &values); exit >= 0)
        co_return exit;
    int exitCode = ExitCompleted;
    auto writing = runOnDatabase(
        command, parser.value(QStringLiteral("db")),
        [name, values](QSqlDatabase& d) { return createGlobalLimit(d, name, values); }, &exitCode);
    const std::optional<bool> written = co_await writing;
    if (!written)
        co_return exitCode;
    if (!*written) {
        printError(
            QStringLiteral("flowdeck %1: a global concurrency limit named %2 exists already (change it "
                           "with 'flowdeck gcl update')")
                .arg(command, quoted(name)));
        co_return ExitUsage;
    }
    out.line(QStringLiteral("created global concurrency limit %1 with %2 slot%3%4%5")
                 .arg(quoted(name))
                 .arg(*values.limit)
                 .arg(*values.limit == 1 ? QString() : QStringLiteral("s"))
                 .arg(values.slotDecayPerSecond && *values.slotDecayPerSecond
                          ? QStringLiteral(", decaying at %1/s").arg(**values.slotDecayPerSecond)
                          : QString())
                 .arg(values.active && !*values.active ? QStringLiteral(" (disabled)") : QString()));
    co_return ExitCompleted;
}

QCoro::Task<int> gclUpdateCommand(QStringList args, Output& out)
{
    const QString command = QStringLiteral("gcl update");
    QCommandLineParser parser;
    parser.setApplicationDescription(QStringLiteral("Changes a global concurrency limit."));
    QString name;
    GlobalLimitChange change;
    if (const int exit = parseGlobalChange(parser, command, args, false, &name, &change); exit >= 0)
        co_return exit;
    int exitCode = ExitCompleted;
    auto writing = runOnDatabase(
        command, parser.value(QStringLiteral("db")),
        [name, change](QSqlDatabase& d) { return updateGlobalLimit(d, name, change); }, &exitCode);
    const std::optional<bool> written = co_await writing;
    if (!written)
        co_return exitCode;
    if (!*written) {
        printUnknownGlobal(command, name);
        co_return ExitUsage;
    }
    out.line(QStringLiteral("updated global concurrency limit %1").arg(quoted(name)));
    co_return ExitCompleted;
}

//! `gcl enable NAME` and `gcl disable NAME`.
QCoro::Task<int> gclSwitchCommand(QStringList args, Output& out, bool active)
{
    const QString command = active ? QStringLiteral("gcl enable") : QStringLiteral("gcl disable");
    QCommandLineParser parser;
    parser.setApplicationDescription(
        active ? QStringLiteral("Makes a global concurrency limit throttle again.")
               : QStringLiteral("Stops a global concurrency limit from throttling."));
    parser.addPositionalArgument(QStringLiteral("NAME"), QStringLiteral("The limit's name."));
    parser.addOption(dbOption());
    bool helpShown = false;
    if (!parseArgs(parser, command, positionalLast(args, kGlobalValueOptions), &helpShown))
        co_return ExitUsage;
    if (helpShown)
        co_return ExitCompleted;
    if (!expectArguments(command, parser.positionalArguments(), {QStringLiteral("NAME")}))
        co_return ExitUsage;
    const QString name = parser.positionalArguments().at(0);
    if (!checkLimitName(command, name))
        co_return ExitUsage;
    GlobalLimitChange change;
    change.active = active;
    int exitCode = ExitCompleted;
    auto writing = runOnDatabase(
        command, parser.value(QStringLiteral("db")),
        [name, change](QSqlDatabase& d) { return updateGlobalLimit(d, name, change); }, &exitCode);
    const std::optional<bool> written = co_await writing;
    if (!written)
        co_return exitCode;
    if (!*written) {
        printUnknownGlobal(command, name);
        co_return ExitUsage;
    }
    out.line(QStringLiteral("%1 global concurrency limit %2")
                 .arg(active ? QStringLiteral("enabled") : QStringLiteral("disabled"), quoted(name)));
    co_return ExitCompleted;
}

QCoro::Task<int> gclEnableCommand(QStringList args, Output& out)
{
    return gclSwitchCommand(std::move(args), out, true);
}

QCoro::Task<int> gclDisableCommand(QStringList args, Output& out)
{
    return gclSwitchCommand(std::move(args), out, false);
}

QCoro::Task<int> gclLsCommand(QStringList args, Output& out)
{
    const QString command = QStringLiteral("gcl ls");
    QCommandLineParser parser;
    parser.setApplicationDescription(QStringLiteral("Lists the global concurrency limits."));
    const QCommandLineOption json(QStringLiteral("json"),
                                  QStringLiteral("Print a JSON array of objects with name, limit, active, "
                                                 "active_slots, slot_decay_per_second and waiting."));
    parser.addOptions({json, dbOption()});
    bool helpShown = false;
    if (!parseArgs(parser, command, positionalLast(args, kGlobalValueOptions), &helpShown))
        co_return ExitUsage;
    if (helpShown)
        co_return ExitCompleted;
    if (!expectArguments(command, parser.positionalArguments(), {}))
        co_return ExitUsage;
    int exitCode = ExitCompleted;
    auto reading = runOnDatabase(
        command, parser.value(QStringLiteral("db")), [](QSqlDatabase& d) { return listGlobalLimits(d); },
        &exitCode);
    const std::optional<QList<GlobalLimitRow>> read = co_await reading;
    if (!read)
        co_return exitCode;
    if (parser.isSet(json)) {
        QJsonArray array;
        for (const GlobalLimitRow& r : *read)
            array.append(globalJson(r));
        out.line(jsonText(QJsonDocument(array)));
        co_return ExitCompleted;
    }
    if (read->isEmpty()) {
        out.line(QStringLiteral("no global concurrency limits (create one with 'flowdeck gcl create NAME "
                                "--limit N')"));
        co_return ExitCompleted;
    }
    QList<QStringList> table;
    for (const GlobalLimitRow& r : *read) {
        table.append({r.name, QString::number(r.limit),
                      r.active ? QStringLiteral("yes") : QStringLiteral("no"), QString::number(r.activeSlots),
                      decayText(r), QString::number(r.waiting)});
    }
    printTable(out,
               {QStringLiteral("NAME"), QStringLiteral("LIMIT"), QStringLiteral("ACTIVE"),
                QStringLiteral("OCCUPIED"), QStringLiteral("DECAY"), QStringLiteral("WAITING")},
               table);
    co_return ExitCompleted;
}

QCoro::Task<int> gclInspectCommand(QStringList args, Output& out)
{
    const QString command = QStringLiteral("gcl inspect");
    QCommandLineParser parser;
    parser.setApplicationDescription(
        QStringLiteral("Shows a global concurrency limit, the runs holding its slots and those waiting."));
    parser.addPositionalArgument(QStringLiteral("NAME"), QStringLiteral("The limit's name."));
    const QCommandLineOption json(
        QStringLiteral("json"),
        QStringLiteral("Print one JSON object with name, limit, active, active_slots, "
                       "slot_decay_per_second, waiting, holders and waiters."));
    parser.addOptions({json, dbOption()});
    bool helpShown = false;
    if (!parseArgs(parser, command, positionalLast(args, kGlobalValueOptions), &helpShown))
        co_return ExitUsage;
    if (helpShown)
        co_return ExitCompleted;
    if (!expectArguments(command, parser.positionalArguments(), {QStringLiteral("NAME")}))
        co_return ExitUsage;
    const QString name = parser.positionalArguments().at(0);
    if (!checkLimitName(command, name))
        co_return ExitUsage;
    int exitCode = ExitCompleted;
    auto reading = runOnDatabase(
        command, parser.value(QStringLiteral("db")),
        [name](QSqlDatabase& d) { return inspectGlobalLimit(d, name); }, &exitCode);
    const std::optional<std::optional<GlobalLimitRow>> read = co_await reading;
    if (!read)
        co_return exitCode;
    if (!*read) {
        printUnknownGlobal(command, name);
        co_return ExitUsage;
    }
    const GlobalLimitRow& r = **read;
    if (parser.isSet(json)) {
        QJsonObject o = globalJson(r);
        QJsonArray holders;
        for (const LimitRunRow& h : r.holders)
            holders.append(runJson(h));
        QJsonArray waiters;
        for (const LimitRunRow& w : r.waiters)
            waiters.append(runJson(w));
        o.insert(QStringLiteral("holders"), holders);
        o.insert(QStringLiteral("waiters"), waiters);
        out.line(jsonText(QJsonDocument(o)));
        co_return ExitCompleted;
    }
    out.line(QStringLiteral("name:     %1").arg(r.name));
    out.line(QStringLiteral("limit:    %1%2")
                 .arg(r.limit)
                 .arg(r.active ? QString() : QStringLiteral(" (disabled)")));
    out.line(
        QStringLiteral("occupied: %1 slot%2%3")
            .arg(r.activeSlots)
            .arg(r.activeSlots == 1 ? QString() : QStringLiteral("s"))
            .arg(r.decayingSlots > 0 ? QStringLiteral(" (%1 decaying)").arg(r.decayingSlots) : QString()));
    out.line(QStringLiteral("decay:    %1").arg(decayText(r)));
    out.line(QStringLiteral("waiting:  %1 task run%2")
                 .arg(r.waiting)
                 .arg(r.waiting == 1 ? QString() : QStringLiteral("s")));
    if (!r.holders.isEmpty()) {
        out.line(QString());
        out.line(QStringLiteral("runs holding slots:"));
        QList<QStringList> table;
        for (const LimitRunRow& h : r.holders)
            table.append({h.taskRunId, taskLabel(h),
                          h.flowRunId.isEmpty() ? QStringLiteral("-") : h.flowRunId, sinceText(h.sinceUs)});
        printTable(out,
                   {QStringLiteral("RUN"), QStringLiteral("TASK"), QStringLiteral("FLOW RUN"),
                    QStringLiteral("SINCE")},
                   table, QStringLiteral("  "));
    }
    if (!r.waiters.isEmpty()) {
        out.line(QString());
        out.line(QStringLiteral("task runs waiting, longest first:"));
        QList<QStringList> table;
        for (const LimitRunRow& w : r.waiters)
            table.append({w.taskRunId, taskLabel(w), w.flowRunId, sinceText(w.sinceUs), w.message});
        printTable(out,
                   {QStringLiteral("TASK RUN"), QStringLiteral("TASK"), QStringLiteral("FLOW RUN"),
                    QStringLiteral("WAITING SINCE"), QStringLiteral("WHY")},
                   table, QStringLiteral("  "));
    }
    co_return ExitCompleted;
}

//! `gcl reset NAME` and `gcl delete NAME`: one statement on the limit.
QCoro::Task<int>
gclStatementCommand(QString command, QString description, QStringList args, Output& out,
                    std::function<std::optional<QString>(QSqlDatabase&, const QString&)> statement)
{
    QCommandLineParser parser;
    parser.setApplicationDescription(description);
    parser.addPositionalArgument(QStringLiteral("NAME"), QStringLiteral("The limit's name."));
    parser.addOption(dbOption());
    bool helpShown = false;
    if (!parseArgs(parser, command, positionalLast(args, kGlobalValueOptions), &helpShown))
        co_return ExitUsage;
    if (helpShown)
        co_return ExitCompleted;
    if (!expectArguments(command, parser.positionalArguments(), {QStringLiteral("NAME")}))
        co_return ExitUsage;
    const QString name = parser.positionalArguments().at(0);
    if (!checkLimitName(command, name))
        co_return ExitUsage;
    int exitCode = ExitCompleted;
    auto running = runOnDatabase(
        command, parser.value(QStringLiteral("db")),
        [name, statement](QSqlDatabase& d) { return statement(d, name); }, &exitCode);
    const std::optional<std::optional<QString>> result = co_await running;
    if (!result)
        co_return exitCode;
    if (!*result) {
        printUnknownGlobal(command, name);
        co_return ExitUsage;
    }
    out.line(**result);
    co_return ExitCompleted;
}

QCoro::Task<int> gclResetCommand(QStringList args, Output& out)
{
    return gclStatementCommand(
        QStringLiteral("gcl reset"),
        QStringLiteral("Frees a global limit's slots held by runs that are no longer running, those whose "
                       "lease expired and unowned ones."),
        std::move(args), out, [](QSqlDatabase& db, const QString& name) -> std::optional<QString> {
            const int freed = resetGlobalLimit(db, name);
            if (freed < 0)
                return std::nullopt;
            return QStringLiteral("freed %1 slot row%2 of global concurrency limit %3")
                .arg(freed)
                .arg(freed == 1 ? QString() : QStringLiteral("s"))
                .arg(quoted(name));
        });
}

QCoro::Task<int> gclDeleteCommand(QStringList args, Output& out)
{
    return gclStatementCommand(
        QStringLiteral("gcl delete"),
        QStringLiteral("Deletes a global concurrency limit; its waiting task runs stop waiting for it."),
        std::move(args), out, [](QSqlDatabase& db, const QString& name) -> std::optional<QString> {
            if (!deleteGlobalLimit(db, name))
                return std::nullopt;
            return QStringLiteral("deleted global concurrency limit %1").arg(quoted(name));
        });
}

} // namespace

int cmdConcurrencyLimit(const QStringList& args)
{
    const QString sub = args.value(0);
    if (sub == u"--help" || sub == u"-h" || sub == u"help") {
        std::fprintf(stdout, "%s", kLimitsHelp);
        return ExitCompleted;
    }
    using Command = QCoro::Task<int> (*)(QStringList, Output&);
    Command command = nullptr;
    if (sub == u"create")
        command = &createCommand;
    else if (sub == u"ls" || sub == u"list")
        command = &lsCommand;
    else if (sub == u"inspect")
        command = &inspectCommand;
    else if (sub == u"reset")
        command = &resetCommand;
    else if (sub == u"delete")
        command = &deleteCommand;
    if (!command) {
        printError(
            sub.isEmpty()
                ? QStringLiteral(
                    "flowdeck concurrency-limit: missing subcommand: create, ls, inspect, reset or delete "
                    "(see 'flowdeck concurrency-limit --help')")
                : QStringLiteral(
                      "flowdeck concurrency-limit: unknown subcommand %1: expected create, ls, inspect, "
                      "reset or delete (see 'flowdeck concurrency-limit --help')")
                      .arg(quoted(sub)));
        return ExitUsage;
    }
    // The output outlives the command's coroutine: it may have a flush queued on the event loop.
    Output out(stdout);
    const QStringList rest = args.mid(1);
    return execCommand([command, rest, &out] { return command(rest, out); });
}

int cmdGlobalConcurrencyLimit(const QStringList& args)
{
    const QString sub = args.value(0);
    if (sub == u"--help" || sub == u"-h" || sub == u"help") {
        std::fprintf(stdout, "%s", kGlobalLimitsHelp);
        return ExitCompleted;
    }
    using Command = QCoro::Task<int> (*)(QStringList, Output&);
    static const QList<std::pair<QString, Command>> commands = {
        {QStringLiteral("create"), &gclCreateCommand},   {QStringLiteral("ls"), &gclLsCommand},
        {QStringLiteral("list"), &gclLsCommand},         {QStringLiteral("inspect"), &gclInspectCommand},
        {QStringLiteral("update"), &gclUpdateCommand},   {QStringLiteral("enable"), &gclEnableCommand},
        {QStringLiteral("disable"), &gclDisableCommand}, {QStringLiteral("reset"), &gclResetCommand},
        {QStringLiteral("delete"), &gclDeleteCommand},
    };
    Command command = nullptr;
    for (const auto& [name, fn] : commands) {
        if (sub == name)
            command = fn;
    }
    if (!command) {
        const QString expected = QStringLiteral(
            "create, ls, inspect, update, enable, disable, reset or delete (see 'flowdeck gcl --help')");
        printError(sub.isEmpty() ? QStringLiteral("flowdeck gcl: missing subcommand: ") + expected
                                 : QStringLiteral("flowdeck gcl: unknown subcommand %1: expected %2")
                                       .arg(quoted(sub), expected));
        return ExitUsage;
    }
    Output out(stdout);
    const QStringList rest = args.mid(1);
    return execCommand([command, rest, &out] { return command(rest, out); });
}

} // namespace flowdeck::cli
