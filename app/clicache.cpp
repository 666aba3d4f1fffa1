#include "clicache.h"

#include "cli.h"
#include "clicommon.h"
#include "clilimitshared.h"
#include "run/scheduler.h"
#include "store/cachequeries.h"

#include <QDateTime>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>

#include <cstdio>

namespace flowdeck::cli {

namespace {

const char kCacheHelp[]
    = "Usage: flowdeck cache SUBCOMMAND [OPTIONS]\n"
      "\n"
      "Cached task results, stored in the database: a task with \"cache\" whose key has an unexpired\n"
      "entry ends COMPLETED \"Cached\" with the entry's result instead of running, in any process on the\n"
      "database. 'flowdeck run --refresh-cache' ignores and overwrites entries.\n"
      "\n"
      "Subcommands:\n"
      "  ls [--json]         list the entries: key, flow, task, when written and until when good\n"
      "  clear KEY | --flow NAME | --all\n"
      "                      remove one entry, those of a flow, or all of them\n"
      "\n"
      "Every subcommand accepts --db URL. See 'flowdeck cache SUBCOMMAND --help'.\n";

QString compactJson(const QJsonValue& value)
{
    const QByteArray text = QJsonDocument(QJsonArray{value}).toJson(QJsonDocument::Compact);
    return QString::fromUtf8(text.mid(1, text.size() - 2));
}

QCoro::Task<int> lsCommand(QStringList args, Output& out)
{
    const QString command = QStringLiteral("cache ls");
    QCommandLineParser parser;
    parser.setApplicationDescription(QStringLiteral("Lists the cached task results, newest first."));
    const QCommandLineOption json(
        QStringLiteral("json"),
        QStringLiteral("Print a JSON array of objects with key, flow, task, result, "
                       "flow_run_id, task_run_id, created, expires and expired."));
    const QCommandLineOption db = dbOption();
    parser.addOptions({json, db});
    if (const int code = parseCommand(parser, command, positionalLast(args, {QStringLiteral("db")}), {});
        code != ParsedOk)
        co_return code;

    int exitCode = ExitCompleted;
    auto reading = runOnDatabase(
        command, parser.value(db), [](QSqlDatabase& d) { return listCacheEntries(d); }, &exitCode);
    const std::optional<QList<CacheEntry>> read = co_await reading;
    if (!read)
        co_return exitCode;
    const qint64 now = QDateTime::currentMSecsSinceEpoch() * 1000;
    if (parser.isSet(json)) {
        QJsonArray array;
        for (const CacheEntry& e : *read) {
            QJsonObject o;
            o.insert(QStringLiteral("key"), e.key);
            o.insert(QStringLiteral("flow"), e.flowName);
            o.insert(QStringLiteral("task"), e.task);
            o.insert(QStringLiteral("result"), e.result);
            o.insert(QStringLiteral("flow_run_id"), e.flowRunId);
            o.insert(QStringLiteral("task_run_id"), e.taskRunId);
            o.insert(QStringLiteral("created"), isoTime(e.createdUs));
            o.insert(QStringLiteral("expires"),
                     e.expiresUs > 0 ? QJsonValue(isoTime(e.expiresUs)) : QJsonValue());
            o.insert(QStringLiteral("expired"), e.expiresUs > 0 && e.expiresUs <= now);
            array.append(o);
        }
        out.line(jsonText(QJsonDocument(array)));
        co_return ExitCompleted;
    }
    if (read->isEmpty()) {
        out.line(
            QStringLiteral("no cached task results (a task with \"cache\" writes one when it completes)"));
        co_return ExitCompleted;
    }
    QList<QStringList> table;
    for (const CacheEntry& e : *read) {
        QString expires = e.expiresUs > 0 ? isoTime(e.expiresUs) : QStringLiteral("never");
        if (e.expiresUs > 0 && e.expiresUs <= now)
            expires += QStringLiteral(" (expired)");
        QString result = compactJson(e.result);
        if (result.size() > 40)
            result = result.left(39) + QChar(0x2026);
        table.append({e.key, e.flowName, e.task, isoTime(e.createdUs), expires, result});
    }
    printTable(out,
               {QStringLiteral("KEY"), QStringLiteral("FLOW"), QStringLiteral("TASK"),
                QStringLiteral("CREATED"), QStringLiteral("EXPIRES"), QStringLiteral("RESULT")},
               table);
    co_return ExitCompleted;
}

QCoro::Task<int> clearCommand(QStringList args, Output& out)
{
    const QString command = QStringLiteral("cache clear");
    QCommandLineParser parser;
    parser.setApplicationDescription(
        QStringLiteral("Removes cached task results: the entry under KEY, those of a flow, or all."));
    parser.addPositionalArgument(QStringLiteral("KEY"), QStringLiteral("The key of the entry to remove."));
    const QCommandLineOption flow(QStringLiteral("flow"),
                                  QStringLiteral("Remove the entries written by runs of flow NAME."),
                                  QStringLiteral("NAME"));
    const QCommandLineOption all(QStringLiteral("all"), QStringLiteral("Remove every entry."));
    const QCommandLineOption db = dbOption();
    parser.addOptions({flow, all, db});
    if (const int code
        = parseCommand(parser, command, positionalLast(args, {QStringLiteral("db"), QStringLiteral("flow")}));
        code != ParsedOk)
        co_return code;
    const QStringList positional = parser.positionalArguments();
    const int ways = int(!positional.isEmpty()) + int(parser.isSet(flow)) + int(parser.isSet(all));
    if (ways != 1 || positional.size() > 1) {
        printError(QStringLiteral("flowdeck cache clear: expected exactly one of KEY, --flow NAME or --all "
                                  "(see 'flowdeck cache clear --help')"));
        co_return ExitUsage;
    }
    CacheClear what;
    if (!positional.isEmpty())
        what = {CacheClear::By::Key, positional.first()};
    else if (parser.isSet(flow))
        what = {CacheClear::By::Flow, parser.value(flow)};
    int exitCode = ExitCompleted;
    auto clearing = runOnDatabase(
        command, parser.value(db), [what](QSqlDatabase& d) { return clearCacheEntries(d, what); }, &exitCode);
    const std::optional<int> removed = co_await clearing;
    if (!removed)
        co_return exitCode;
    if (what.by == CacheClear::By::Key && *removed == 0) {
        printError(
            QStringLiteral("flowdeck cache clear: no cache entry with key %1 (see 'flowdeck cache ls')")
                .arg(quoted(what.value)));
        co_return ExitUsage;
    }
    out.line(QStringLiteral("removed %1 cache %2").arg(*removed).arg(*removed == 1 ? u"entry" : u"entries"));
    co_return ExitCompleted;
}

} // namespace

int cmdCache(const QStringList& args)
{
    const QString sub = args.value(0);
    if (sub == u"--help" || sub == u"-h" || sub == u"help") {
        std::fprintf(stdout, "%s", kCacheHelp);
        return ExitCompleted;
    }
    return runSubcommand(QStringLiteral("cache"), args,
                         {{QStringLiteral("ls"), &lsCommand},
                          {QStringLiteral("list"), &lsCommand},
                          {QStringLiteral("clear"), &clearCommand}},
                         QStringLiteral("ls or clear"));
}

} // namespace flowdeck::cli
