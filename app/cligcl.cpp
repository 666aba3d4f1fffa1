#include "cli.h"
#include "clicommon.h"
#include "clilimitshared.h"
#include "store/limitqueries.h"

#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>

#include <cmath>
#include <cstdio>
#include <functional>
#include <optional>
#include <utility>

namespace flowdeck::cli {

namespace {

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
    if (const int code
        = parseCommand(parser, command, positionalLast(args, kGlobalValueOptions), {QStringLiteral("NAME")});
        code != ParsedOk)
        return code;
    const QStringList positional = parser.positionalArguments();
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
    if (const int code
        = parseCommand(parser, command, positionalLast(args, kGlobalValueOptions), {QStringLiteral("NAME")});
        code != ParsedOk)
        co_return code;
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
    if (const int code = parseCommand(parser, command, positionalLast(args, kGlobalValueOptions), {});
        code != ParsedOk)
        co_return code;
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
    if (const int code
        = parseCommand(parser, command, positionalLast(args, kGlobalValueOptions), {QStringLiteral("NAME")});
        code != ParsedOk)
        co_return code;
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
    printHoldersAndWaiters(out, r.holders, QStringLiteral("runs holding slots:"), QStringLiteral("RUN"),
                           r.waiters, QStringLiteral("task runs waiting, longest first:"), false);
    co_return ExitCompleted;
}

//! `gcl reset NAME` and `gcl delete NAME`: one statement on the limit.
QCoro::Task<int> gclStatementCommand(QString command, QString description, QStringList args, Output& out,
                                     LimitStatement statement)
{
    QCommandLineParser parser;
    parser.setApplicationDescription(description);
    parser.addPositionalArgument(QStringLiteral("NAME"), QStringLiteral("The limit's name."));
    parser.addOption(dbOption());
    if (const int code
        = parseCommand(parser, command, positionalLast(args, kGlobalValueOptions), {QStringLiteral("NAME")});
        code != ParsedOk)
        co_return code;
    const QString name = parser.positionalArguments().at(0);
    if (!checkLimitName(command, name))
        co_return ExitUsage;
    auto running = runStatement(command, parser.value(QStringLiteral("db")), name, std::move(statement),
                                &printUnknownGlobal, out);
    co_return co_await running;
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

int cmdGlobalConcurrencyLimit(const QStringList& args)
{
    const QString sub = args.value(0);
    if (sub == u"--help" || sub == u"-h" || sub == u"help") {
        std::fprintf(stdout, "%s", kGlobalLimitsHelp);
        return ExitCompleted;
    }
    return runSubcommand(QStringLiteral("gcl"), args,
                         {{QStringLiteral("create"), &gclCreateCommand},
                          {QStringLiteral("ls"), &gclLsCommand},
                          {QStringLiteral("list"), &gclLsCommand},
                          {QStringLiteral("inspect"), &gclInspectCommand},
                          {QStringLiteral("update"), &gclUpdateCommand},
                          {QStringLiteral("enable"), &gclEnableCommand},
                          {QStringLiteral("disable"), &gclDisableCommand},
                          {QStringLiteral("reset"), &gclResetCommand},
                          {QStringLiteral("delete"), &gclDeleteCommand}},
                         QStringLiteral("create, ls, inspect, update, enable, disable, reset or delete"));
}

} // namespace flowdeck::cli
