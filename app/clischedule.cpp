#include "clischedule.h"

#include "cli.h"
#include "clicommon.h"
#include "clilimitshared.h"
#include "flow/flowcatalog.h"
#include "flow/flowparser.h"
#include "flow/taskkind.h"
#include "run/clock.h"
#include "schedule/schedulespec.h"
#include "store/schedulequeries.h"

#include <QFileInfo>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QRegularExpression>

#include <cstdio>

namespace flowdeck::cli {

namespace {

const char kScheduleHelp[]
    = "Usage: flowdeck schedule SUBCOMMAND [OPTIONS]\n"
      "\n"
      "Schedules run a flow with fixed parameters on a cron expression or an interval. The flow document\n"
      "is stored with the schedule (a later change of the file changes nothing until 'schedule update').\n"
      "The dashboard and every 'flowdeck worker' on the database fire them: each fire time becomes exactly\n"
      "one flow run, and the next 3 wait as SCHEDULED flow runs ('flowdeck runs ls --state SCHEDULED').\n"
      "\n"
      "Subcommands:\n"
      "  add FLOW (--cron EXPR [--timezone TZ] | --every DURATION [--anchor TIME]) [--name NAME]\n"
      "      [--param NAME=VALUE]... [--max-active-runs N] [--on-limit enqueue|skip]\n"
      "      [--catchup none|latest|all] [--paused]\n"
      "                      store a schedule (name: the flow's name unless given)\n"
      "  ls [--json]         name, flow, expression, zone, active, next 3 fire times, last run and state\n"
      "  pause NAME          stop firing (planned runs are taken back)\n"
      "  resume NAME         fire again from now (fire times missed while paused do not run)\n"
      "  delete NAME         delete the schedule (its past runs stay)\n"
      "  update NAME [--flow FLOW] [options of add] [--rename NEW]\n"
      "                      a new version: the flow document is read again (from --flow, else from where "
      "it\n"
      "                      came from when it still exists), and the options given replace the stored ones\n"
      "  next EXPR [--timezone TZ] [--count N]\n"
      "                      print the next fire times of a cron expression (or 'every DURATION'), one\n"
      "                      per line, ISO 8601 in that zone with its offset\n"
      "\n"
      "Cron: 5 fields (minute hour day-of-month month day-of-week) with lists, ranges, steps, month and\n"
      "weekday names, or @hourly, @daily, @weekly, @monthly, @yearly; when both day fields are restricted\n"
      "either one matches, as cron does. Time zones are IANA ids (Europe/Berlin); default: the local zone.\n"
      "Across daylight-saving changes a skipped local time does not run and a repeated one runs once.\n"
      "Durations: a number with s, m, h or d (30s, 15m, 1h30m, 1d); whole days keep the local time of day.\n"
      "Catch-up after no process was up: none, latest (default) or all missed fire times run.\n"
      "--max-active-runs N caps the schedule's active flow runs; over it a run waits in SCHEDULED\n"
      "(--on-limit enqueue, the default) or ends CANCELLED (skip). A flow document may say the same with\n"
      "\"max_active_runs\": N and \"on_limit\". Bad expressions exit 2 naming the field and the value.\n"
      "Every subcommand accepts --db URL.\n";

const QStringList kValueOptions
    = {QStringLiteral("db"),       QStringLiteral("cron"),    QStringLiteral("every"),
       QStringLiteral("timezone"), QStringLiteral("anchor"),  QStringLiteral("name"),
       QStringLiteral("param"),    QStringLiteral("catchup"), QStringLiteral("max-active-runs"),
       QStringLiteral("on-limit"), QStringLiteral("flow"),    QStringLiteral("rename"),
       QStringLiteral("count")};

void printUnknown(const QString& command, const QString& name)
{
    printError(QStringLiteral("flowdeck %1: no schedule named %2 (see 'flowdeck schedule ls')")
                   .arg(command, quoted(name)));
}

void printExprError(const QString& command, const ScheduleExprError& error)
{
    printError(QStringLiteral("flowdeck %1: %2").arg(command, error.message()));
}

//! The flow FLOW names (a file or a code-defined flow), with its source, or nullopt after printing why.
std::optional<FlowDefinition> readFlow(const QString& command, const QString& what, int* exitCode)
{
    LoadedFlow loaded = loadFlow(command, what, {});
    if (!loaded.flow) {
        *exitCode = loaded.exitCode;
        return std::nullopt;
    }
    if (QFileInfo::exists(what))
        loaded.flow->source = QFileInfo(what).absoluteFilePath();
    return loaded.flow;
}

//! --param values as overrides of \a flow's parameters; false after printing why.
bool readParams(const QString& command, const FlowDefinition& flow, const QStringList& params,
                QJsonObject* overrides)
{
    for (const QString& p : params) {
        QString error;
        if (!FlowParser::parseOverride(p, flow.parameters, *overrides, &error)) {
            printError(QStringLiteral("flowdeck %1: --param %2: %3").arg(command, p, error));
            return false;
        }
    }
    ValidationErrors errors;
    if (!FlowParser(TaskKindRegistry::instance()).resolve(flow.document, flow.source, errors, *overrides)) {
        for (const ValidationError& e : errors)
            printError(QStringLiteral("flowdeck %1: %2").arg(command, e.toString()));
        return false;
    }
    return true;
}

struct ScheduleOptions {
    QCommandLineOption cron{QStringLiteral("cron"),
                            QStringLiteral("A 5-field cron expression or @daily etc."),
                            QStringLiteral("EXPR")};
    QCommandLineOption every{QStringLiteral("every"), QStringLiteral("An interval: 30s, 15m, 2h, 1d."),
                             QStringLiteral("DURATION")};
    QCommandLineOption timezone{QStringLiteral("timezone"),
                                QStringLiteral("IANA time zone (default: the local zone)."),
                                QStringLiteral("TZ")};
    QCommandLineOption anchor{QStringLiteral("anchor"),
                              QStringLiteral("When the interval starts (ISO 8601, local time in the zone)."),
                              QStringLiteral("TIME")};
    QCommandLineOption param{QStringLiteral("param"), QStringLiteral("A fixed parameter value."),
                             QStringLiteral("NAME=VALUE")};
    QCommandLineOption maxActive{
        QStringLiteral("max-active-runs"),
        QStringLiteral("At most N flow runs of the schedule active at once (0: no cap)."),
        QStringLiteral("N")};
    QCommandLineOption onLimit{QStringLiteral("on-limit"),
                               QStringLiteral("Over the cap: enqueue (wait, default) or skip (cancel)."),
                               QStringLiteral("enqueue|skip")};
    QCommandLineOption catchup{QStringLiteral("catchup"),
                               QStringLiteral("Missed fire times: none, latest (default) or all."),
                               QStringLiteral("none|latest|all")};
    QCommandLineOption paused{QStringLiteral("paused"), QStringLiteral("Store it paused.")};

    void addTo(QCommandLineParser& parser) const
    {
        parser.addOptions(
            {cron, every, timezone, anchor, param, maxActive, onLimit, catchup, paused, dbOption()});
    }

    /**
     * Applies what \a parser holds to \a draft (\a flow: the flow, for --param). Returns the exit code to
     * stop with, or -1.
     */
    int apply(const QString& command, const QCommandLineParser& parser, const FlowDefinition* flow,
              schedules::ScheduleDraft* draft, bool adding) const
    {
        if (parser.isSet(cron) && parser.isSet(every)) {
            printError(QStringLiteral("flowdeck %1: --cron and --every exclude each other").arg(command));
            return ExitUsage;
        }
        if (adding && !parser.isSet(cron) && !parser.isSet(every)) {
            printError(QStringLiteral("flowdeck %1: give --cron EXPR or --every DURATION").arg(command));
            return ExitUsage;
        }
        ScheduleExprError error;
        if (parser.isSet(timezone)) {
            if (!ScheduleSpec::zoneFor(parser.value(timezone), &error)) {
                printExprError(command, error);
                return ExitUsage;
            }
            draft->timezone = parser.value(timezone);
        } else if (adding) {
            // Stored by id, so every process fires it in the same zone.
            draft->timezone = QString::fromUtf8(QTimeZone::systemTimeZoneId());
        }
        if (parser.isSet(cron)) {
            if (!CronExpression::parse(parser.value(cron), &error)) {
                printExprError(command, error);
                return ExitUsage;
            }
            draft->cron = parser.value(cron).trimmed();
            draft->intervalUs = 0;
            draft->anchorUs.reset();
        }
        if (parser.isSet(every)) {
            const std::optional<qint64> us = ScheduleSpec::parseDuration(parser.value(every), &error);
            if (!us) {
                printExprError(command, error);
                return ExitUsage;
            }
            draft->cron.clear();
            draft->intervalUs = *us;
        }
        if (parser.isSet(anchor)) {
            if (!draft->cron.isEmpty()) {
                printError(
                    QStringLiteral("flowdeck %1: --anchor goes with --every, not --cron").arg(command));
                return ExitUsage;
            }
            const std::optional<qint64> at
                = ScheduleSpec::parseAnchor(parser.value(anchor), draft->timezone, &error);
            if (!at) {
                printExprError(command, error);
                return ExitUsage;
            }
            draft->anchorUs = at;
        }
        if (parser.isSet(maxActive)) {
            static const QRegularExpression digits(QStringLiteral("^[0-9]{1,6}$"));
            if (!digits.match(parser.value(maxActive)).hasMatch()) {
                printError(
                    QStringLiteral("flowdeck %1: --max-active-runs must be a non-negative integer, got %2")
                        .arg(command, quoted(parser.value(maxActive))));
                return ExitUsage;
            }
            draft->maxActiveRuns = parser.value(maxActive).toInt();
        }
        if (parser.isSet(onLimit) && !schedules::parseOnLimit(parser.value(onLimit), &draft->onLimit)) {
            printError(QStringLiteral("flowdeck %1: --on-limit must be enqueue or skip, got %2")
                           .arg(command, quoted(parser.value(onLimit))));
            return ExitUsage;
        }
        if (parser.isSet(catchup) && !schedules::parseCatchup(parser.value(catchup), &draft->catchup)) {
            printError(QStringLiteral("flowdeck %1: --catchup must be none, latest or all, got %2")
                           .arg(command, quoted(parser.value(catchup))));
            return ExitUsage;
        }
        if (parser.isSet(paused))
            draft->active = false;
        if (parser.isSet(param) && flow) {
            QJsonObject overrides;
            if (!readParams(command, *flow, parser.values(param), &overrides))
                return ExitUsage;
            draft->parameters = overrides;
        }
        if (!draft->spec(&error)) {
            printExprError(command, error);
            return ExitUsage;
        }
        return -1;
    }
};

QStringList nextTexts(const schedules::ScheduleRow& r)
{
    QStringList out;
    const std::optional<ScheduleSpec> spec = r.draft.spec();
    for (const qint64 us : r.nextFireUs)
        out << (spec ? isoWithOffset(spec->toZoned(us)) : isoTime(us));
    return out;
}

QJsonObject scheduleJson(const schedules::ScheduleRow& r)
{
    QJsonObject o;
    o.insert(QStringLiteral("name"), r.name());
    o.insert(QStringLiteral("flow"), r.draft.flowName);
    o.insert(QStringLiteral("expression"), r.expressionText());
    o.insert(QStringLiteral("cron"), r.draft.cron.isEmpty() ? QJsonValue() : QJsonValue(r.draft.cron));
    o.insert(QStringLiteral("every"),
             r.draft.intervalUs > 0 ? QJsonValue(ScheduleSpec::durationText(r.draft.intervalUs))
                                    : QJsonValue());
    o.insert(QStringLiteral("timezone"), r.draft.timezone);
    o.insert(QStringLiteral("active"), r.active());
    o.insert(QStringLiteral("next"), QJsonArray::fromStringList(nextTexts(r)));
    QJsonObject last;
    if (!r.lastRunId.isEmpty()) {
        last.insert(QStringLiteral("id"), r.lastRunId);
        last.insert(QStringLiteral("state"), r.lastRunState);
        last.insert(QStringLiteral("fire_time"), isoTime(r.lastRunFireUs));
    }
    o.insert(QStringLiteral("last_run"), r.lastRunId.isEmpty() ? QJsonValue() : QJsonValue(last));
    o.insert(QStringLiteral("parameters"), r.draft.parameters);
    o.insert(QStringLiteral("max_active_runs"), r.draft.maxActiveRuns);
    o.insert(QStringLiteral("on_limit"), schedules::toString(r.draft.onLimit));
    o.insert(QStringLiteral("catchup"), schedules::toString(r.draft.catchup));
    o.insert(QStringLiteral("version"), r.version);
    o.insert(QStringLiteral("source"), r.draft.source);
    return o;
}

//! Runs a schedule query and maps its errors: invalid or conflicting drafts exit 2, others 1.
template<typename F, typename R = std::invoke_result_t<F, QSqlDatabase&>>
QCoro::Task<std::optional<R>> runScheduleJob(QString command, QString dbValue, F job, int* exitCode)
{
    QString refused;
    auto wrapped = [job, &refused](QSqlDatabase& db) -> std::optional<R> {
        try {
            return job(db);
        } catch (const schedules::ScheduleConflict& e) {
            refused = QString::fromUtf8(e.what());
        } catch (const schedules::ScheduleInvalid& e) {
            refused = QString::fromUtf8(e.what());
        }
        return std::nullopt;
    };
    auto running = runOnDatabase(command, dbValue, wrapped, exitCode);
    std::optional<std::optional<R>> result = co_await running;
    if (!result)
        co_return std::nullopt;
    if (!*result) {
        printError(QStringLiteral("flowdeck %1: %2").arg(command, refused));
        *exitCode = ExitUsage;
        co_return std::nullopt;
    }
    co_return **result;
}

void printAdded(Output& out, const QString& verb, const schedules::ScheduleRow& r)
{
    out.line(QStringLiteral("%1 schedule %2 (version %3): flow %4, %5 in %6%7")
                 .arg(verb, quoted(r.name()))
                 .arg(r.version)
                 .arg(quoted(r.draft.flowName), r.expressionText(), r.draft.timezone,
                      r.active() ? QString() : QStringLiteral(", paused")));
    const QStringList next = nextTexts(r);
    if (!next.isEmpty())
        out.line(QStringLiteral("next: %1").arg(next.join(QStringLiteral(", "))));
}

QCoro::Task<int> addCommand(QStringList args, Output& out)
{
    const QString command = QStringLiteral("schedule add");
    QCommandLineParser parser;
    parser.setApplicationDescription(QStringLiteral("Stores a schedule that runs FLOW."));
    parser.addPositionalArgument(QStringLiteral("FLOW"),
                                 QStringLiteral("Flow file (JSON) or code-defined flow."));
    const ScheduleOptions options;
    options.addTo(parser);
    const QCommandLineOption name(QStringLiteral("name"), QStringLiteral("The schedule's name."),
                                  QStringLiteral("NAME"));
    parser.addOption(name);
    if (const int code = parseCommand(parser, command, args); code != ParsedOk)
        co_return code;
    if (!oneFlowArgument(parser, command))
        co_return ExitUsage;
    int exitCode = ExitCompleted;
    const std::optional<FlowDefinition> flow
        = readFlow(command, parser.positionalArguments().first(), &exitCode);
    if (!flow)
        co_return exitCode;
    schedules::ScheduleDraft draft;
    draft.name = parser.isSet(name) ? parser.value(name) : flow->name;
    draft.flowName = flow->name;
    draft.source = flow->source;
    draft.document = flow->document;
    if (const int exit = options.apply(command, parser, &*flow, &draft, true); exit >= 0)
        co_return exit;
    auto adding = runScheduleJob(
        command, parser.value(QStringLiteral("db")),
        [draft](QSqlDatabase& db) { return schedules::addSchedule(db, draft, wallUs()); }, &exitCode);
    const std::optional<schedules::ScheduleRow> row = co_await adding;
    if (!row)
        co_return exitCode;
    printAdded(out, QStringLiteral("added"), *row);
    co_return ExitCompleted;
}

QCoro::Task<int> updateCommand(QStringList args, Output& out)
{
    const QString command = QStringLiteral("schedule update");
    QCommandLineParser parser;
    parser.setApplicationDescription(QStringLiteral("Stores a new version of schedule NAME."));
    parser.addPositionalArgument(QStringLiteral("NAME"), QStringLiteral("The schedule's name."));
    const ScheduleOptions options;
    options.addTo(parser);
    const QCommandLineOption flowOption(QStringLiteral("flow"), QStringLiteral("Run this flow from now on."),
                                        QStringLiteral("FLOW"));
    const QCommandLineOption rename(QStringLiteral("rename"), QStringLiteral("A new name."),
                                    QStringLiteral("NEW"));
    const QCommandLineOption resume(QStringLiteral("active"), QStringLiteral("Store it active."));
    parser.addOptions({flowOption, rename, resume});
    if (const int code
        = parseCommand(parser, command, positionalLast(args, kValueOptions), {QStringLiteral("NAME")});
        code != ParsedOk)
        co_return code;
    const QString name = parser.positionalArguments().first();
    int exitCode = ExitCompleted;
    auto reading = runOnDatabase(
        command, parser.value(QStringLiteral("db")),
        [name](QSqlDatabase& db) { return schedules::findSchedule(db, name, wallUs()); }, &exitCode);
    const std::optional<std::optional<schedules::ScheduleRow>> found = co_await reading;
    if (!found)
        co_return exitCode;
    if (!*found) {
        printUnknown(command, name);
        co_return ExitUsage;
    }
    schedules::ScheduleDraft draft = (*found)->draft;
    // The new version reads the flow again: from --flow, else from where it came from.
    std::optional<FlowDefinition> flow;
    QString from = parser.isSet(flowOption) ? parser.value(flowOption) : draft.source;
    if (from.startsWith(u"code:"))
        from = from.mid(5);
    if (parser.isSet(flowOption) || QFileInfo::exists(from) || FlowCatalog::instance().find(from)) {
        flow = readFlow(command, from, &exitCode);
        if (!flow)
            co_return exitCode;
        draft.flowName = flow->name;
        draft.source = flow->source;
        draft.document = flow->document;
    } else {
        ValidationErrors errors;
        flow = FlowParser(TaskKindRegistry::instance()).resolve(draft.document, draft.source, errors);
    }
    if (parser.isSet(rename))
        draft.name = parser.value(rename);
    if (parser.isSet(resume))
        draft.active = true;
    if (const int exit = options.apply(command, parser, flow ? &*flow : nullptr, &draft, false); exit >= 0)
        co_return exit;
    auto updating = runScheduleJob(
        command, parser.value(QStringLiteral("db")),
        [name, draft](QSqlDatabase& db) { return schedules::updateSchedule(db, name, draft, wallUs()); },
        &exitCode);
    const std::optional<std::optional<schedules::ScheduleRow>> row = co_await updating;
    if (!row)
        co_return exitCode;
    if (!*row) {
        printUnknown(command, name);
        co_return ExitUsage;
    }
    printAdded(out, QStringLiteral("updated"), **row);
    co_return ExitCompleted;
}

QCoro::Task<int> lsCommand(QStringList args, Output& out)
{
    const QString command = QStringLiteral("schedule ls");
    QCommandLineParser parser;
    parser.setApplicationDescription(QStringLiteral("Lists the schedules."));
    const QCommandLineOption json(QStringLiteral("json"),
                                  QStringLiteral("Print a JSON array of objects with name, flow, expression, "
                                                 "timezone, active, next, last_run and the options."));
    parser.addOptions({json, dbOption()});
    if (const int code = parseCommand(parser, command, positionalLast(args, kValueOptions), {});
        code != ParsedOk)
        co_return code;
    int exitCode = ExitCompleted;
    auto reading = runOnDatabase(
        command, parser.value(QStringLiteral("db")),
        [](QSqlDatabase& db) { return schedules::listSchedules(db, wallUs()); }, &exitCode);
    const std::optional<QList<schedules::ScheduleRow>> rows = co_await reading;
    if (!rows)
        co_return exitCode;
    if (parser.isSet(json)) {
        QJsonArray array;
        for (const schedules::ScheduleRow& r : *rows)
            array.append(scheduleJson(r));
        out.line(jsonText(QJsonDocument(array)));
        co_return ExitCompleted;
    }
    if (rows->isEmpty()) {
        out.line(QStringLiteral("no schedules (add one with 'flowdeck schedule add FLOW --cron EXPR')"));
        co_return ExitCompleted;
    }
    QList<QStringList> table;
    for (const schedules::ScheduleRow& r : *rows) {
        table << QStringList{r.name(),
                             r.draft.flowName,
                             r.expressionText(),
                             r.draft.timezone,
                             r.active() ? QStringLiteral("yes") : QStringLiteral("paused"),
                             r.lastRunId.isEmpty() ? QStringLiteral("-")
                                                   : QStringLiteral("%1 %2").arg(r.lastRunState, r.lastRunId),
                             r.active() ? nextTexts(r).join(QStringLiteral(", ")) : QStringLiteral("-")};
    }
    printTable(out,
               {QStringLiteral("NAME"), QStringLiteral("FLOW"), QStringLiteral("EXPRESSION"),
                QStringLiteral("ZONE"), QStringLiteral("ACTIVE"), QStringLiteral("LAST RUN"),
                QStringLiteral("NEXT")},
               table);
    co_return ExitCompleted;
}

//! pause, resume and delete NAME.
QCoro::Task<int> nameCommand(QStringList args, Output& out, QString verb)
{
    const QString command = QStringLiteral("schedule ") + verb;
    QCommandLineParser parser;
    parser.setApplicationDescription(verb == u"pause" ? QStringLiteral("Pauses schedule NAME.")
                                         : verb == u"resume"
                                         ? QStringLiteral("Resumes schedule NAME from now.")
                                         : QStringLiteral("Deletes schedule NAME."));
    parser.addPositionalArgument(QStringLiteral("NAME"), QStringLiteral("The schedule's name."));
    parser.addOption(dbOption());
    if (const int code
        = parseCommand(parser, command, positionalLast(args, kValueOptions), {QStringLiteral("NAME")});
        code != ParsedOk)
        co_return code;
    const QString name = parser.positionalArguments().first();
    int exitCode = ExitCompleted;
    auto writing = runOnDatabase(
        command, parser.value(QStringLiteral("db")),
        [name, verb](QSqlDatabase& db) {
            if (verb == u"delete")
                return schedules::deleteSchedule(db, name, wallUs());
            return schedules::setScheduleActive(db, name, verb == u"resume", wallUs());
        },
        &exitCode);
    const std::optional<bool> done = co_await writing;
    if (!done)
        co_return exitCode;
    if (!*done) {
        printUnknown(command, name);
        co_return ExitUsage;
    }
    out.line(QStringLiteral("%1 schedule %2")
                 .arg(verb == u"pause"        ? QStringLiteral("paused")
                          : verb == u"resume" ? QStringLiteral("resumed")
                                              : QStringLiteral("deleted"),
                      quoted(name)));
    co_return ExitCompleted;
}

QCoro::Task<int> pauseCommand(QStringList args, Output& out)
{
    return nameCommand(std::move(args), out, QStringLiteral("pause"));
}
QCoro::Task<int> resumeCommand(QStringList args, Output& out)
{
    return nameCommand(std::move(args), out, QStringLiteral("resume"));
}
QCoro::Task<int> deleteCommand(QStringList args, Output& out)
{
    return nameCommand(std::move(args), out, QStringLiteral("delete"));
}

int nextCommand(const QStringList& args)
{
    const QString command = QStringLiteral("schedule next");
    Output out(stdout);
    QCommandLineParser parser;
    parser.setApplicationDescription(
        QStringLiteral("Prints the next fire times of a cron expression (or 'every DURATION') from now."));
    parser.addPositionalArgument(QStringLiteral("EXPR"), QStringLiteral("A cron expression, quoted."));
    const QCommandLineOption timezone(QStringLiteral("timezone"),
                                      QStringLiteral("IANA time zone (default: the local zone)."),
                                      QStringLiteral("TZ"));
    const QCommandLineOption count(QStringLiteral("count"), QStringLiteral("How many (default 5)."),
                                   QStringLiteral("N"));
    parser.addOptions({timezone, count});
    if (const int code = parseCommand(parser, command, args); code != ParsedOk)
        return code;
    const QStringList positional = parser.positionalArguments();
    if (positional.size() != 1) {
        printError(
            QStringLiteral("flowdeck %1: expected one EXPR (quote a cron expression: '0 9 * * 1-5'), got %2")
                .arg(command)
                .arg(positional.size()));
        return ExitUsage;
    }
    int n = 5;
    if (parser.isSet(count)) {
        bool ok = false;
        n = parser.value(count).toInt(&ok);
        if (!ok || n < 1 || n > 10'000) {
            printError(QStringLiteral("flowdeck %1: --count must be a number from 1 to 10000, got %2")
                           .arg(command, quoted(parser.value(count))));
            return ExitUsage;
        }
    }
    const QString expr = positional.first().trimmed();
    ScheduleExprError error;
    std::optional<ScheduleSpec> spec;
    if (expr.startsWith(QLatin1String("every "))) {
        const std::optional<qint64> us = ScheduleSpec::parseDuration(expr.mid(6), &error);
        if (us)
            spec = ScheduleSpec::interval(*us, std::nullopt, parser.value(timezone), &error);
    } else {
        spec = ScheduleSpec::cron(expr, parser.value(timezone), &error);
    }
    if (!spec) {
        printExprError(command, error);
        return ExitUsage;
    }
    const QList<qint64> times = spec->nextFireTimes(wallUs(), n);
    if (times.isEmpty())
        printError(
            QStringLiteral("flowdeck %1: %2 never fires within the next 5 years").arg(command, quoted(expr)));
    for (const qint64 us : times)
        out.line(isoWithOffset(spec->toZoned(us)));
    out.flush();
    return times.isEmpty() ? ExitFailed : ExitCompleted;
}

} // namespace

int cmdSchedule(const QStringList& args)
{
    const QString sub = args.value(0);
    if (sub == u"--help" || sub == u"-h" || sub == u"help") {
        std::fprintf(stdout, "%s", kScheduleHelp);
        return ExitCompleted;
    }
    if (sub == u"next")
        return nextCommand(args.mid(1));
    return runSubcommand(QStringLiteral("schedule"), args,
                         {{QStringLiteral("add"), &addCommand},
                          {QStringLiteral("ls"), &lsCommand},
                          {QStringLiteral("list"), &lsCommand},
                          {QStringLiteral("pause"), &pauseCommand},
                          {QStringLiteral("resume"), &resumeCommand},
                          {QStringLiteral("delete"), &deleteCommand},
                          {QStringLiteral("update"), &updateCommand}},
                         QStringLiteral("add, ls, pause, resume, delete, update or next"));
}

} // namespace flowdeck::cli
