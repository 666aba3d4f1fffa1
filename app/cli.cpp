#include "cli.h"

#include "clicommon.h"
#include "clilimits.h"
#include "clirun.h"
#include "cliruns.h"
#include "cliworker.h"

#include <QCommandLineParser>
#include <QHash>

#include <cstdio>
#include <functional>

namespace flowdeck {

using namespace cli;

namespace {

const QStringList kCommands = {QStringLiteral("concurrency-limit"),
                               QStringLiteral("gcl"),
                               QStringLiteral("global-concurrency-limit"),
                               QStringLiteral("run"),
                               QStringLiteral("runs"),
                               QStringLiteral("validate"),
                               QStringLiteral("submit"),
                               QStringLiteral("worker")};

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
    bool helpShown = false;
    if (!parseArgs(parser, QStringLiteral("validate"), args, &helpShown))
        return ExitUsage;
    if (helpShown)
        return ExitCompleted;
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

} // namespace

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
        std::fprintf(stdout, "flowdeck %s\n", FLOWDECK_VERSION);
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
            "  concurrency-limit create|ls|inspect|reset|delete [TAG] [N] [--json]\n"
            "                      manage tag concurrency limits (see 'flowdeck concurrency-limit --help')\n"
            "  gcl create|ls|inspect|update|enable|disable|reset|delete [NAME] [--limit N] [--json]\n"
            "                      manage global concurrency and rate limits; long name\n"
            "                      global-concurrency-limit (see 'flowdeck gcl --help')\n"
            "  run FLOW [--param NAME=VALUE]... [--json] [--threads N] [--seed N]\n"
            "                      run a flow headless (FLOW: a JSON file or a code-defined flow)\n"
            "  runs ls|show|logs|cancel [RUN_ID] [--json]\n"
            "                      list, inspect, tail or cancel recorded runs (see 'flowdeck runs --help')\n"
            "  submit FLOW [--param NAME=VALUE]... [--seed N]\n"
            "                      queue a flow run for a worker; prints its id as the last word\n"
            "  validate FLOW       check a flow file and print every error with its place\n"
            "  worker [--name NAME] [--max-flow-runs N] [--lease-seconds S] [--grace-seconds S]\n"
            "                      claim and run queued flow runs until SIGINT/SIGTERM (graceful)\n"
            "\n"
            "Dashboard options:\n"
            "  --screenshot PATH   render the main window to a PNG and exit\n"
            "  --after-ms N        wait this long before the screenshot (default 300)\n"
            "  --run FLOW          start this flow at launch (repeatable)\n"
            "  --page NAME         open this page: flows, runs, run, health, concurrency, workers, settings\n"
            "  --size WxH          window size in logical pixels, e.g. 900x600\n"
            "  --scale N           scale factor from 0.5 to 4 (as QT_SCALE_FACTOR); --scale 2 --size "
            "960x540\n"
            "                      makes a 1920x1080 screenshot\n"
            "  --palette NAME      dark or light (Fusion with that palette), or system (the default)\n"
            "\n"
            "  -h, --help          show this help (also 'flowdeck COMMAND --help')\n"
            "  -v, --version       show the version\n"
            "\n"
            "Exit codes: 0 completed, 1 failed, 2 bad usage or invalid flow, 130 cancelled by "
            "SIGINT/SIGTERM.\n");
        return ExitCompleted;
    }
    const QStringList rest = args.mid(1);
    if (first == u"concurrency-limit")
        return cli::cmdConcurrencyLimit(rest);
    if (first == u"gcl" || first == u"global-concurrency-limit")
        return cli::cmdGlobalConcurrencyLimit(rest);
    if (first == u"run")
        return cli::cmdRun(rest);
    if (first == u"runs")
        return cli::cmdRuns(rest);
    if (first == u"validate")
        return cmdValidate(rest);
    if (first == u"submit")
        return cli::cmdSubmit(rest);
    if (first == u"worker")
        return cli::cmdWorker(rest);
    printError(QStringLiteral("flowdeck: unknown command \"%1\" (see 'flowdeck --help')").arg(first));
    return ExitUsage;
}

} // namespace flowdeck
