#include "cli.h"

#include "clicache.h"
#include "clicommon.h"
#include "clicomplete.h"
#include "clilimits.h"
#include "clireference.h"
#include "clirun.h"
#include "cliruns.h"
#include "clischedule.h"
#include "cliworker.h"
#include "dashboardoptions.h"
#include "manpage.h"
#include "version.h"

#include <QCommandLineParser>
#include <QHash>

#include <cstdio>
#include <functional>

namespace flowdeck {

using namespace cli;

namespace {

const QStringList kCommands = {QStringLiteral("cache"),    QStringLiteral("concurrency-limit"),
                               QStringLiteral("gcl"),      QStringLiteral("global-concurrency-limit"),
                               QStringLiteral("run"),      QStringLiteral("runs"),
                               QStringLiteral("schedule"), QStringLiteral("validate"),
                               QStringLiteral("submit"),   QStringLiteral("worker")};

int cmdValidate(const QStringList& args)
{
    Output out(stdout);
    QCommandLineParser parser;
    parser.setApplicationDescription(
        QStringLiteral("Checks a flow file and prints every error with its place."));
    parser.addPositionalArgument(QStringLiteral("FLOW"),
                                 QStringLiteral("Flow file (JSON) or name of a code-defined flow."));
    const QCommandLineOption param(QStringLiteral("param"), QStringLiteral("Override a parameter."),
                                   QStringLiteral("NAME=VALUE"));
    parser.addOption(param);
    if (const int code = parseCommand(parser, QStringLiteral("validate"), args); code != ParsedOk)
        return code;
    if (!oneFlowArgument(parser, QStringLiteral("validate")))
        return ExitUsage;
    const QString path = parser.positionalArguments().first();
    LoadedFlow loaded = loadFlow(QStringLiteral("validate"), path, parser.values(param));
    if (!loaded.flow)
        return loaded.exitCode;
    const FlowDefinition& flow = *loaded.flow;
    // A task mapped over another has as many runs as it; validated flows have no cycles.
    std::function<qint64(const TaskDef&)> countOf = [&](const TaskDef& t) -> qint64 {
        return t.mapOver.isEmpty() ? t.map.value_or(1) : countOf(flow.tasks.at(flow.indexOf(t.mapOver)));
    };
    qint64 runs = 0;
    for (const TaskDef& t : flow.tasks)
        runs += countOf(t);
    out.line(QStringLiteral("%1: ok - flow \"%2\", %3 tasks, %4 task runs, parameters: %5")
                 .arg(path, flow.name)
                 .arg(flow.tasks.size())
                 .arg(runs)
                 .arg(flow.parameters.isEmpty() ? QStringLiteral("none")
                                                : flow.parameters.keys().join(QStringLiteral(", "))));
    // Which global limits the flow run and each task occupy.
    const auto uses = [](const QList<LimitUse>& list) {
        QStringList parts;
        for (const LimitUse& use : list)
            parts << QStringLiteral("\"%1\" x%2%3")
                         .arg(use.name)
                         .arg(use.occupy)
                         .arg(use.strict ? QStringLiteral(" (strict)") : QString());
        return parts.join(QStringLiteral(", "));
    };
    if (!flow.concurrency.isEmpty())
        out.line(QStringLiteral("  the flow run occupies %1 for its whole run").arg(uses(flow.concurrency)));
    for (const TaskDef& t : flow.tasks) {
        QStringList parts;
        if (!t.concurrency.isEmpty())
            parts << QStringLiteral("occupies %1 per attempt").arg(uses(t.concurrency));
        if (t.rateLimit)
            parts << QStringLiteral("takes %1 of a rate limit per attempt").arg(uses({*t.rateLimit}));
        if (!parts.isEmpty())
            out.line(QStringLiteral("  task \"%1\" %2").arg(t.id, parts.join(QStringLiteral("; "))));
    }
    return ExitCompleted;
}

//! \a text wrapped at 80 columns, each line after \a indent spaces.
QString wrapped(const QString& text, int indent)
{
    QString out;
    QString line;
    for (const QString& word : text.split(u' ', Qt::SkipEmptyParts)) {
        if (!line.isEmpty() && indent + line.size() + 1 + word.size() > 80) {
            out += QString(indent, u' ') + line + u'\n';
            line.clear();
        }
        line += (line.isEmpty() ? QString() : QStringLiteral(" ")) + word;
    }
    return out + QString(indent, u' ') + line + u'\n';
}

//! The dashboard's options for the top-level --help, from the options its parser takes.
QString dashboardHelp()
{
    QString text;
    auto entry = [&text](const QString& names, const QString& description) {
        if (names.size() < 20)
            text += QStringLiteral("  ") + names.leftJustified(20) + wrapped(description, 22).mid(22);
        else
            text += QStringLiteral("  ") + names + u'\n' + wrapped(description, 22);
    };
    for (const QCommandLineOption& option : dashboardOptions())
        entry(QStringLiteral("--") + option.names().constFirst()
                  + (option.valueName().isEmpty() ? QString() : u' ' + option.valueName()),
              option.description());
    text += u'\n';
    entry(QStringLiteral("-h, --help"), QStringLiteral("Show this help (also 'flowdeck COMMAND --help')."));
    entry(QStringLiteral("-v, --version"),
          QStringLiteral("Show the version, the commit, and the Qt and SQLite versions."));
    return text + u'\n';
}

//! "Environment:" and "Exit codes:" for the top-level --help, from the tables the man page uses.
QString referenceHelp()
{
    QString text = QStringLiteral("Environment:\n");
    for (const ReferenceEntry& e : environmentVariables())
        text += QStringLiteral("  ") + e.name + u'\n' + wrapped(e.description, 6);
    text += QStringLiteral("\nExit codes:\n");
    for (const ReferenceEntry& e : exitCodes())
        text += QStringLiteral("  ") + e.name.leftJustified(5) + wrapped(e.description, 7).mid(7);
    return text + QStringLiteral("\nSee 'man flowdeck' for all of it.\n");
}

} // namespace

QStringList cliCommands()
{
    return kCommands;
}

bool isCliInvocation(const QStringList& args)
{
    if (args.isEmpty())
        return false;
    const QString& first = args.first();
    return kCommands.contains(first) || first == u"--help" || first == u"-h" || first == u"--version"
        || first == u"-v" || !first.startsWith(u'-');
}

int runCli(const QStringList& args)
{
    const QString first = args.value(0);
    if (first == u"--version" || first == u"-v") {
        std::fprintf(stdout, "%s", versionText().toLocal8Bit().constData());
        return ExitCompleted;
    }
    if (first == u"--help" || first == u"-h") {
        std::fprintf(
            stdout,
            "Usage: flowdeck [COMMAND] [OPTIONS]\n"
            "\n"
            "Without a command, opens the dashboard.\n"
            "\n"
            "Commands:\n"
            "  cache ls|clear [KEY] [--flow NAME] [--all] [--json]\n"
            "                      list or clear cached task results (see 'flowdeck cache --help')\n"
            "  concurrency-limit create|ls|inspect|reset|delete [TAG] [N] [--json]\n"
            "                      manage tag concurrency limits (see 'flowdeck concurrency-limit --help')\n"
            "  gcl create|ls|inspect|update|enable|disable|reset|delete [NAME] [--limit N] [--json]\n"
            "                      manage global concurrency and rate limits; long name\n"
            "                      global-concurrency-limit (see 'flowdeck gcl --help')\n"
            "  run FLOW [--param NAME=VALUE]... [--json] [--threads N] [--seed N] [--refresh-cache]\n"
            "                      run a flow headless (FLOW: a JSON file or a code-defined flow)\n"
            "  runs ls|show|logs|cancel [RUN_ID] [--json]\n"
            "                      list, inspect, tail or cancel recorded runs (see 'flowdeck runs --help')\n"
            "  schedule add|ls|pause|resume|delete|update|next [NAME] [--cron EXPR | --every DURATION]\n"
            "                      run a flow on a cron expression or an interval (see 'flowdeck schedule\n"
            "                      --help'); the dashboard and every worker fire them, once per fire time\n"
            "  submit FLOW [--param NAME=VALUE]... [--seed N]\n"
            "                      queue a flow run for a worker; prints its id as the last word\n"
            "  validate FLOW       check a flow file and print every error with its place\n"
            "  worker [--name NAME] [--max-flow-runs N] [--lease-seconds S] [--grace-seconds S]\n"
            "                      claim and run queued flow runs until SIGINT/SIGTERM (graceful)\n"
            "\n"
            "Dashboard options:\n");
        std::fprintf(stdout, "%s", dashboardHelp().toLocal8Bit().constData());
        std::fprintf(stdout, "%s", referenceHelp().toLocal8Bit().constData());
        return ExitCompleted;
    }
    const QStringList rest = args.mid(1);
    if (first == u"cache")
        return cli::cmdCache(rest);
    if (first == u"concurrency-limit")
        return cli::cmdConcurrencyLimit(rest);
    if (first == u"gcl" || first == u"global-concurrency-limit")
        return cli::cmdGlobalConcurrencyLimit(rest);
    if (first == u"run")
        return cli::cmdRun(rest);
    if (first == u"runs")
        return cli::cmdRuns(rest);
    if (first == u"schedule")
        return cli::cmdSchedule(rest);
    if (first == u"validate")
        return cmdValidate(rest);
    if (first == u"submit")
        return cli::cmdSubmit(rest);
    if (first == u"worker")
        return cli::cmdWorker(rest);
    // Hidden: for the build (the man page) and the bash completion script.
    if (first == u"__manpage")
        return cli::cmdManPage(rest);
    if (first == u"__complete")
        return cli::cmdComplete(rest);
    printError(QStringLiteral("flowdeck: unknown command \"%1\" (see 'flowdeck --help')").arg(first));
    return ExitUsage;
}

} // namespace flowdeck
