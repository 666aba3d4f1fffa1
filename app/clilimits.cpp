#include "clilimits.h"

#include "cli.h"
#include "clicommon.h"
#include "clilimitshared.h"
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

} // namespace

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

void printHoldersAndWaiters(Output& out, const QList<LimitRunRow>& holders, const QString& holdersTitle,
                            const QString& holderColumn, const QList<LimitRunRow>& waiters,
                            const QString& waitersTitle, bool numbered)
{
    if (!holders.isEmpty()) {
        out.line(QString());
        out.line(holdersTitle);
        QList<QStringList> table;
        for (const LimitRunRow& h : holders)
            table.append({h.taskRunId, taskLabel(h),
                          h.flowRunId.isEmpty() ? QStringLiteral("-") : h.flowRunId, sinceText(h.sinceUs)});
        printTable(
            out, {holderColumn, QStringLiteral("TASK"), QStringLiteral("FLOW RUN"), QStringLiteral("SINCE")},
            table, QStringLiteral("  "));
    }
    if (!waiters.isEmpty()) {
        out.line(QString());
        out.line(waitersTitle);
        QList<QStringList> table;
        int place = 0;
        for (const LimitRunRow& w : waiters) {
            QStringList row{w.taskRunId, taskLabel(w), w.flowRunId, sinceText(w.sinceUs), w.message};
            if (numbered)
                row.prepend(QString::number(++place));
            table.append(row);
        }
        QStringList header{QStringLiteral("TASK RUN"), QStringLiteral("TASK"), QStringLiteral("FLOW RUN"),
                           QStringLiteral("WAITING SINCE"), QStringLiteral("WHY")};
        if (numbered)
            header.prepend(QStringLiteral("#"));
        printTable(out, header, table, QStringLiteral("  "));
    }
}

QCoro::Task<int> runStatement(QString command, QString dbValue, QString key, LimitStatement statement,
                              void (*printUnknown)(const QString&, const QString&), Output& out)
{
    int exitCode = ExitCompleted;
    auto running = runOnDatabase(
        command, dbValue, [key, statement](QSqlDatabase& d) { return statement(d, key); }, &exitCode);
    const std::optional<std::optional<QString>> result = co_await running;
    if (!result)
        co_return exitCode;
    if (!*result) {
        printUnknown(command, key);
        co_return ExitUsage;
    }
    out.line(**result);
    co_return ExitCompleted;
}

//! The shared front of `inspect`, `reset` and `delete` (\a parser has their options; TAG is read here).
//! Returns the exit code to stop with (help shown, or a usage error already printed), or -1 to go on.
int parseTagArguments(QCommandLineParser& parser, const QString& command, const QStringList& args,
                      QString* tag)
{
    if (const int code = parseCommand(parser, command, positionalLast(args, {QStringLiteral("db")}),
                                      {QStringLiteral("TAG")});
        code != ParsedOk)
        return code;
    const QStringList positional = parser.positionalArguments();
    *tag = positional.at(0);
    return checkTag(command, *tag) ? -1 : ExitUsage;
}

namespace {

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
    if (const int code = parseCommand(parser, command, positionalLast(args, {QStringLiteral("db")}),
                                      {QStringLiteral("TAG"), QStringLiteral("N")});
        code != ParsedOk)
        co_return code;
    const QStringList positional = parser.positionalArguments();
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
    if (const int code = parseCommand(parser, command, positionalLast(args, {QStringLiteral("db")}), {});
        code != ParsedOk)
        co_return code;

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
    printHoldersAndWaiters(out, r.holders, QStringLiteral("task runs holding slots:"),
                           QStringLiteral("TASK RUN"), r.waiters,
                           QStringLiteral("task runs waiting, in queue order:"), true);
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
QCoro::Task<int> tagStatementCommand(QString command, QString description, QStringList args, Output& out,
                                     LimitStatement statement)
{
    QCommandLineParser parser;
    parser.setApplicationDescription(description);
    parser.addPositionalArgument(QStringLiteral("TAG"), QStringLiteral("The tag."));
    const QCommandLineOption db = dbOption();
    parser.addOption(db);
    QString tag;
    if (const int exit = parseTagArguments(parser, command, args, &tag); exit >= 0)
        co_return exit;

    auto running = runStatement(command, parser.value(db), tag, std::move(statement), &printUnknownTag, out);
    co_return co_await running;
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

} // namespace

int cmdConcurrencyLimit(const QStringList& args)
{
    const QString sub = args.value(0);
    if (sub == u"--help" || sub == u"-h" || sub == u"help") {
        std::fprintf(stdout, "%s", kLimitsHelp);
        return ExitCompleted;
    }
    return runSubcommand(QStringLiteral("concurrency-limit"), args,
                         {{QStringLiteral("create"), &createCommand},
                          {QStringLiteral("ls"), &lsCommand},
                          {QStringLiteral("list"), &lsCommand},
                          {QStringLiteral("inspect"), &inspectCommand},
                          {QStringLiteral("reset"), &resetCommand},
                          {QStringLiteral("delete"), &deleteCommand}},
                         QStringLiteral("create, ls, inspect, reset or delete"));
}

} // namespace flowdeck::cli
