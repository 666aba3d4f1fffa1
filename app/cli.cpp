#include "cli.h"

#include "engine.h"
#include "flowcatalog.h"
#include "flowparser.h"
#include "taskkind.h"
#include "unixsignals.h"

#include <QCommandLineParser>
#include <QCoreApplication>
#include <QDateTime>
#include <QFileInfo>
#include <QJsonArray>
#include <QJsonDocument>
#include <QTimeZone>
#include <QTimer>

#include <csignal>
#include <cstdio>
#include <map>

namespace flowdeck {

namespace {

const QStringList kCommands = {QStringLiteral("run"), QStringLiteral("validate")};

//! Buffered writer to a FILE*: lines are flushed once per event-loop turn, not per line.
class Output {
public:
    explicit Output(FILE* file)
        : m_file(file)
    {
    }
    ~Output() { flush(); }
    void line(const QString& text)
    {
        m_buffer += text.toUtf8();
        m_buffer += '\n';
        if (m_buffer.size() > (1 << 16))
            flush();
        else if (!m_flushQueued && QCoreApplication::instance()) {
            m_flushQueued = true;
            QTimer::singleShot(0, QCoreApplication::instance(), [this] { flush(); });
        }
    }
    void flush()
    {
        m_flushQueued = false;
        if (m_buffer.isEmpty())
            return;
        std::fwrite(m_buffer.constData(), 1, size_t(m_buffer.size()), m_file);
        std::fflush(m_file);
        m_buffer.clear();
    }

private:
    FILE* m_file;
    QByteArray m_buffer;
    bool m_flushQueued = false;
};

void printError(const QString& text)
{
    std::fprintf(stderr, "%s\n", text.toLocal8Bit().constData());
}

QString isoTime(qint64 us)
{
    return QDateTime::fromMSecsSinceEpoch(us / 1000, Qt::UTC).toString(Qt::ISODateWithMs);
}

QString clockTime(qint64 us)
{
    return QDateTime::fromMSecsSinceEpoch(us / 1000).toString(QStringLiteral("HH:mm:ss.zzz"));
}

QString formatDuration(double seconds)
{
    if (seconds < 1e-3)
        return QStringLiteral("%1 µs").arg(seconds * 1e6, 0, 'f', 0);
    if (seconds < 1)
        return QStringLiteral("%1 ms").arg(seconds * 1e3, 0, 'f', 1);
    if (seconds < 120)
        return QStringLiteral("%1 s").arg(seconds, 0, 'f', 2);
    return QStringLiteral("%1 min").arg(seconds / 60, 0, 'f', 1);
}

//! `--json`: one object per line per transition and log line.
class JsonObserver final : public EngineObserver {
public:
    explicit JsonObserver(Output& out)
        : m_out(out)
    {
    }
    void onTransition(const TransitionEvent& e) override
    {
        QJsonObject o;
        o.insert(QStringLiteral("event"), QStringLiteral("transition"));
        o.insert(QStringLiteral("time"), isoTime(e.timeUs));
        o.insert(QStringLiteral("flow_run_id"), e.flowRun->id.toString());
        o.insert(QStringLiteral("flow"), e.flowRun->def.name);
        if (e.taskRun) {
            o.insert(QStringLiteral("task_run_id"), e.taskRun->id.toString());
            o.insert(QStringLiteral("task"), e.taskRun->taskId());
            o.insert(QStringLiteral("map_index"), e.taskRun->mapIndex >= 0 ? QJsonValue(e.taskRun->mapIndex) : QJsonValue());
        } else {
            o.insert(QStringLiteral("task_run_id"), QJsonValue());
            o.insert(QStringLiteral("task"), QJsonValue());
            o.insert(QStringLiteral("map_index"), QJsonValue());
        }
        o.insert(QStringLiteral("from"), e.isNew ? QJsonValue() : QJsonValue(toString(e.from)));
        o.insert(QStringLiteral("state"), toString(e.type));
        o.insert(QStringLiteral("name"), toString(e.name));
        o.insert(QStringLiteral("message"), e.message);
        m_out.line(QString::fromUtf8(QJsonDocument(o).toJson(QJsonDocument::Compact)));
    }
    void onLog(const LogEvent& e) override
    {
        QJsonObject o;
        o.insert(QStringLiteral("event"), QStringLiteral("log"));
        o.insert(QStringLiteral("time"), isoTime(e.timeUs));
        o.insert(QStringLiteral("flow_run_id"), e.flowRun ? QJsonValue(e.flowRun->id.toString()) : QJsonValue());
        o.insert(QStringLiteral("task_run_id"), e.taskRun ? QJsonValue(e.taskRun->id.toString()) : QJsonValue());
        o.insert(QStringLiteral("task"), e.taskRun ? QJsonValue(e.taskRun->taskId()) : QJsonValue());
        o.insert(QStringLiteral("map_index"),
                 e.taskRun && e.taskRun->mapIndex >= 0 ? QJsonValue(e.taskRun->mapIndex) : QJsonValue());
        o.insert(QStringLiteral("level"), toString(e.level));
        o.insert(QStringLiteral("message"), e.message);
        m_out.line(QString::fromUtf8(QJsonDocument(o).toJson(QJsonDocument::Compact)));
    }

    void onStall(const StallRecord& e) override
    {
        QJsonObject o;
        o.insert(QStringLiteral("event"), QStringLiteral("stall"));
        o.insert(QStringLiteral("time"), isoTime(e.startUs));
        o.insert(QStringLiteral("duration_ms"), double(e.durationUs) / 1000.0);
        o.insert(QStringLiteral("flow_run_id"), e.flowRunId.isNull() ? QJsonValue() : QJsonValue(e.flowRunId.toString()));
        o.insert(QStringLiteral("task_run_id"), e.taskRunId.isNull() ? QJsonValue() : QJsonValue(e.taskRunId.toString()));
        o.insert(QStringLiteral("task"), e.task.isEmpty() ? QJsonValue() : QJsonValue(e.task));
        m_out.line(QString::fromUtf8(QJsonDocument(o).toJson(QJsonDocument::Compact)));
    }

private:
    Output& m_out;
};

//! Collects event-loop stalls for the summary.
class StallCollector final : public EngineObserver {
public:
    void onStall(const StallRecord& e) override { m_stalls.append(e); }
    void print(Output& out, int thresholdMs) const
    {
        if (m_stalls.isEmpty()) {
            out.line(QStringLiteral("event loop: no stall above %1 ms").arg(thresholdMs));
            return;
        }
        qint64 total = 0;
        QHash<QString, QPair<int, qint64>> byTask; // task -> (count, total us)
        qint64 outside = 0;
        for (const StallRecord& s : m_stalls) {
            total += s.durationUs;
            if (s.task.isEmpty())
                outside += s.durationUs;
            else {
                auto& entry = byTask[s.task];
                ++entry.first;
                entry.second += s.durationUs;
            }
        }
        out.line(QStringLiteral("event loop: %1 stall%2 above %3 ms, %4 in total%5")
                     .arg(m_stalls.size())
                     .arg(m_stalls.size() == 1 ? QString() : QStringLiteral("s"))
                     .arg(thresholdMs)
                     .arg(formatDuration(double(total) / 1e6))
                     .arg(outside ? QStringLiteral(" (%1 outside any task run)").arg(formatDuration(double(outside) / 1e6))
                                  : QString()));
        QList<QPair<QString, QPair<int, qint64>>> worst;
        for (auto it = byTask.begin(); it != byTask.end(); ++it)
            worst.append({it.key(), it.value()});
        std::sort(worst.begin(), worst.end(), [](const auto& a, const auto& b) { return a.second.second > b.second.second; });
        for (int i = 0; i < std::min<qsizetype>(5, worst.size()); ++i) {
            out.line(QStringLiteral("  %1 blocked the loop %2 time%3, %4")
                         .arg(worst[i].first)
                         .arg(worst[i].second.first)
                         .arg(worst[i].second.first == 1 ? QString() : QStringLiteral("s"))
                         .arg(formatDuration(double(worst[i].second.second) / 1e6)));
        }
        if (worst.size() > 5)
            out.line(QStringLiteral("  ... and %1 more task runs").arg(worst.size() - 5));
    }

private:
    QList<StallRecord> m_stalls;
};

//! Human output: a line per flow-level event, and the first task failures as they happen.
class HumanObserver final : public EngineObserver {
public:
    explicit HumanObserver(Output& out)
        : m_out(out)
    {
    }
    void onTransition(const TransitionEvent& e) override
    {
        if (!e.taskRun) {
            QString text = QStringLiteral("%1  flow run %2 (%3): %4")
                               .arg(clockTime(e.timeUs), e.flowRun->def.name, e.flowRun->id.toString(), toString(e.type));
            if (toString(e.name).toUpper() != toString(e.type))
                text += QStringLiteral(" (%1)").arg(toString(e.name));
            if (!e.message.isEmpty())
                text += QStringLiteral(" - ") + e.message;
            m_out.line(text);
            return;
        }
        if (e.type != StateType::Failed && e.type != StateType::Crashed)
            return;
        if (e.name == StateName::UpstreamFailed)
            return;
        if (++m_failures <= MaxFailureLines) {
            const TaskRun& r = *e.taskRun;
            const QString label = r.mapIndex >= 0 ? QStringLiteral("%1[%2]").arg(r.taskId()).arg(r.mapIndex) : r.taskId();
            m_out.line(QStringLiteral("%1  task run %2 %3 (%4): %5")
                           .arg(clockTime(e.timeUs), label, toString(e.type), toString(e.name), e.message));
        } else if (m_failures == MaxFailureLines + 1) {
            m_out.line(QStringLiteral("%1  (further task failures are counted in the summary)").arg(clockTime(e.timeUs)));
        }
    }

private:
    static constexpr int MaxFailureLines = 20;
    Output& m_out;
    int m_failures = 0;
};

void printSummary(const FlowRun& flow, Output& out)
{
    struct Row {
        QString task;
        qint64 runs = 0;
        std::map<int, qint64> byType;
        qint64 attempts = 0;
        double minS = 0, maxS = 0, sumS = 0;
        qint64 timed = 0;
    };
    QList<Row> rows;
    for (const TaskNode& node : flow.nodes) {
        Row row;
        row.task = node.def->id;
        row.runs = node.count;
        for (int i = 0; i < node.materialized; ++i) {
            const TaskRun& r = node.runs[size_t(i)];
            ++row.byType[int(r.type)];
            row.attempts += r.attempts;
            if (r.startedUs > 0 && r.endedUs >= r.startedUs) {
                const double s = double(r.endedUs - r.startedUs) / 1e6;
                row.minS = row.timed ? std::min(row.minS, s) : s;
                row.maxS = std::max(row.maxS, s);
                row.sumS += s;
                ++row.timed;
            }
        }
        rows.append(row);
    }
    int width = 4;
    for (const Row& row : rows)
        width = std::max(width, int(row.task.size()));
    const QList<StateType> columns = {StateType::Completed, StateType::Failed, StateType::Cancelled, StateType::Crashed};
    QString header = QStringLiteral("%1 %2").arg(QStringLiteral("task"), -width).arg(QStringLiteral("runs"), 7);
    for (StateType t : columns)
        header += QStringLiteral(" %1").arg(toString(t), 10);
    header += QStringLiteral(" %1 %2 %3 %4").arg(QStringLiteral("attempts"), 9).arg(QStringLiteral("min"), 10)
                  .arg(QStringLiteral("avg"), 10).arg(QStringLiteral("max"), 10);
    out.line(QString());
    out.line(header);
    for (const Row& row : rows) {
        QString line = QStringLiteral("%1 %2").arg(row.task, -width).arg(row.runs, 7);
        for (StateType t : columns) {
            const auto it = row.byType.find(int(t));
            line += QStringLiteral(" %1").arg(it == row.byType.end() ? 0 : it->second, 10);
        }
        const auto dash = QStringLiteral("-");
        line += QStringLiteral(" %1 %2 %3 %4")
                    .arg(row.attempts, 9)
                    .arg(row.timed ? formatDuration(row.minS) : dash, 10)
                    .arg(row.timed ? formatDuration(row.sumS / double(row.timed)) : dash, 10)
                    .arg(row.timed ? formatDuration(row.maxS) : dash, 10);
        out.line(line);
    }
    const double wall = double(flow.endedUs - flow.createdUs) / 1e6;
    out.line(QString());
    out.line(QStringLiteral("flow run %1: %2 (%3) in %4 - %5")
                 .arg(flow.def.name, toString(flow.type), toString(flow.name), formatDuration(wall), flow.message));
}

struct LoadedFlow {
    std::optional<FlowDefinition> flow;
    int exitCode = ExitCompleted;
};

//! Reads FLOW (a file, or the name of a flow defined in code) and applies --param overrides.
LoadedFlow loadFlow(const QString& command, const QString& what, const QStringList& params, Output& err)
{
    FlowParser parser(TaskKindRegistry::instance());
    ValidationErrors errors;
    std::optional<FlowDefinition> flow;
    QString label = what;
    if (QFileInfo::exists(what)) {
        flow = parser.parseFile(what, errors);
    } else if (const auto doc = FlowCatalog::instance().find(what)) {
        flow = parser.resolve(*doc, QStringLiteral("code:") + what, errors);
        label = QStringLiteral("code:") + what;
    } else {
        err.line(QStringLiteral("flowdeck %1: no flow file or code-defined flow named \"%2\"").arg(command, what));
        return {std::nullopt, ExitUsage};
    }
    if (flow && !params.isEmpty()) {
        QJsonObject overrides;
        for (const QString& p : params) {
            QString error;
            if (!FlowParser::parseOverride(p, flow->parameters, overrides, &error)) {
                err.line(QStringLiteral("flowdeck %1: --param %2: %3").arg(command, p, error));
                return {std::nullopt, ExitUsage};
            }
        }
        flow = parser.resolve(flow->document, flow->source, errors, overrides);
    }
    if (!flow) {
        for (const ValidationError& e : errors)
            err.line(label + QStringLiteral(": ") + e.toString());
        err.line(QStringLiteral("%1: %2 error%3").arg(label).arg(errors.size()).arg(errors.size() == 1 ? QString() : QStringLiteral("s")));
        return {std::nullopt, ExitUsage};
    }
    return {flow, ExitCompleted};
}

//! Parses the subcommand's arguments; on error prints one line and returns false.
bool parseArgs(QCommandLineParser& parser, const QString& command, const QStringList& args, Output& err,
               bool* helpShown)
{
    parser.setOptionsAfterPositionalArgumentsMode(QCommandLineParser::ParseAsOptions);
    parser.setSingleDashWordOptionMode(QCommandLineParser::ParseAsLongOptions);
    const QCommandLineOption help({QStringLiteral("h"), QStringLiteral("help")}, QStringLiteral("Show this help."));
    parser.addOption(help);
    if (!parser.parse(QStringList{QStringLiteral("flowdeck ") + command} + args)) {
        err.line(QStringLiteral("flowdeck %1: %2 (see 'flowdeck %1 --help')").arg(command, parser.errorText()));
        return false;
    }
    if (parser.isSet(help)) {
        std::fprintf(stdout, "%s", parser.helpText().toLocal8Bit().constData());
        *helpShown = true;
    }
    return true;
}

int cmdValidate(const QStringList& args)
{
    Output out(stdout);
    Output err(stderr);
    QCommandLineParser parser;
    parser.setApplicationDescription(QStringLiteral("Checks a flow file and prints every error with its place."));
    parser.addPositionalArgument(QStringLiteral("FLOW"), QStringLiteral("Flow file (JSON) or name of a code-defined flow."));
    const QCommandLineOption param(QStringLiteral("param"), QStringLiteral("Override a parameter."), QStringLiteral("NAME=VALUE"));
    parser.addOption(param);
    bool helpShown = false;
    if (!parseArgs(parser, QStringLiteral("validate"), args, err, &helpShown))
        return ExitUsage;
    if (helpShown)
        return ExitCompleted;
    if (parser.positionalArguments().size() != 1) {
        err.line(parser.positionalArguments().isEmpty()
                     ? QStringLiteral("flowdeck validate: missing FLOW argument (see 'flowdeck validate --help')")
                     : QStringLiteral("flowdeck validate: expected one FLOW argument, got %1").arg(parser.positionalArguments().size()));
        return ExitUsage;
    }
    const QString path = parser.positionalArguments().first();
    LoadedFlow loaded = loadFlow(QStringLiteral("validate"), path, parser.values(param), err);
    if (!loaded.flow)
        return loaded.exitCode;
    const FlowDefinition& flow = *loaded.flow;
    qint64 runs = 0;
    QHash<QString, qint64> counts;
    for (const TaskDef& t : flow.tasks) {
        const qint64 n = t.mapOver.isEmpty() ? t.map.value_or(1) : counts.value(t.mapOver);
        counts.insert(t.id, n);
        runs += n;
    }
    // Order of the loop above is file order; map_over may name a later task, so recount in order.
    out.line(QStringLiteral("%1: ok - flow \"%2\", %3 tasks, %4 task runs, parameters: %5")
                 .arg(path, flow.name)
                 .arg(flow.tasks.size())
                 .arg(runs)
                 .arg(flow.parameters.isEmpty() ? QStringLiteral("none") : flow.parameters.keys().join(QStringLiteral(", "))));
    return ExitCompleted;
}

int cmdRun(const QStringList& args)
{
    Output out(stdout);
    Output err(stderr);
    QCommandLineParser parser;
    parser.setApplicationDescription(QStringLiteral("Runs a flow headless and prints its progress and a summary."));
    parser.addPositionalArgument(QStringLiteral("FLOW"), QStringLiteral("Flow file (JSON) or name of a code-defined flow."));
    const QCommandLineOption param(QStringLiteral("param"), QStringLiteral("Override a parameter (repeatable)."),
                                   QStringLiteral("NAME=VALUE"));
    const QCommandLineOption json(QStringLiteral("json"),
                                  QStringLiteral("Print one JSON object per line per transition and log line on stdout."));
    const QCommandLineOption threads(QStringLiteral("threads"),
                                     QStringLiteral("Blocking pool threads (default %1).").arg(BlockingPool::DefaultThreads),
                                     QStringLiteral("N"));
    const QCommandLineOption seed(QStringLiteral("seed"), QStringLiteral("Seed for random choices (overrides the flow's)."),
                                  QStringLiteral("N"));
    parser.addOptions({param, json, threads, seed});
    bool helpShown = false;
    if (!parseArgs(parser, QStringLiteral("run"), args, err, &helpShown))
        return ExitUsage;
    if (helpShown)
        return ExitCompleted;
    if (parser.positionalArguments().size() != 1) {
        err.line(parser.positionalArguments().isEmpty()
                     ? QStringLiteral("flowdeck run: missing FLOW argument (see 'flowdeck run --help')")
                     : QStringLiteral("flowdeck run: expected one FLOW argument, got %1").arg(parser.positionalArguments().size()));
        return ExitUsage;
    }
    int threadCount = BlockingPool::DefaultThreads;
    if (parser.isSet(threads)) {
        bool ok = false;
        threadCount = parser.value(threads).toInt(&ok);
        if (!ok || threadCount < 1 || threadCount > 10000) {
            err.line(QStringLiteral("flowdeck run: --threads: expected an integer from 1 to 10000, got \"%1\"").arg(parser.value(threads)));
            return ExitUsage;
        }
    }
    std::optional<quint64> seedValue;
    if (parser.isSet(seed)) {
        bool ok = false;
        seedValue = parser.value(seed).toULongLong(&ok);
        if (!ok) {
            err.line(QStringLiteral("flowdeck run: --seed: expected a non-negative integer, got \"%1\"").arg(parser.value(seed)));
            return ExitUsage;
        }
    }
    const bool jsonMode = parser.isSet(json);
    Output& human = jsonMode ? err : out;
    LoadedFlow loaded = loadFlow(QStringLiteral("run"), parser.positionalArguments().first(), parser.values(param), err);
    if (!loaded.flow)
        return loaded.exitCode;
    if (seedValue)
        loaded.flow->seed = seedValue;

    Engine engine;
    engine.blockingPool().setMaxThreads(threadCount);
    JsonObserver jsonObserver(out);
    HumanObserver humanObserver(human);
    StallCollector stalls;
    if (jsonMode)
        engine.addObserver(&jsonObserver);
    engine.addObserver(&humanObserver);
    engine.addObserver(&stalls);
    // Said while the loop is still blocked: this runs on the monitor's thread.
    QObject::connect(
        &engine.loopMonitor(), &LoopMonitor::stallDetected, &engine.loopMonitor(),
        [](qint64 ms, const QString& task, RunId) {
            const QString who = task.isEmpty() ? QStringLiteral("code outside any task run") : QStringLiteral("task run ") + task;
            printError(QStringLiteral("warning: the event loop has been blocked for %1 ms by %2 (still blocked)").arg(ms).arg(who));
        },
        Qt::DirectConnection);

    UnixSignals signals;
    bool cancelledBySignal = false;
    FlowRun* run = nullptr;
    QObject::connect(&signals, &UnixSignals::received, &engine, [&](int sig) {
        cancelledBySignal = true;
        human.line(QStringLiteral("received %1: cancelling the flow run").arg(sig == SIGINT ? QStringLiteral("SIGINT") : QStringLiteral("SIGTERM")));
        if (run)
            engine.cancelFlowRun(run, QStringLiteral("cancelled by %1").arg(sig == SIGINT ? QStringLiteral("SIGINT") : QStringLiteral("SIGTERM")));
    });
    int exitCode = ExitFailed;
    QObject::connect(&engine, &Engine::flowRunFinished, &engine, [&](FlowRun* finished) {
        printSummary(*finished, human);
        stalls.print(human, engine.loopMonitor().thresholdMs());
        if (finished->type == StateType::Completed)
            exitCode = ExitCompleted;
        else if (finished->type == StateType::Cancelled && cancelledBySignal)
            exitCode = ExitCancelled;
        else
            exitCode = ExitFailed;
        QCoreApplication::exit(exitCode);
    });
    run = engine.start(*loaded.flow);
    if (!run->isTerminal())
        QCoreApplication::exec();
    out.flush();
    err.flush();
    return exitCode;
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
        std::fprintf(stdout,
                     "Usage: flowdeck [COMMAND] [OPTIONS]\n"
                     "\n"
                     "Without a command, opens the dashboard.\n"
                     "\n"
                     "Commands:\n"
                     "  run FLOW [--param NAME=VALUE]... [--json] [--threads N] [--seed N]\n"
                     "                      run a flow headless (FLOW: a JSON file or a code-defined flow)\n"
                     "  validate FLOW       check a flow file and print every error with its place\n"
                     "\n"
                     "Dashboard options:\n"
                     "  --screenshot PATH   render the main window to a PNG and exit\n"
                     "\n"
                     "  -h, --help          show this help (also 'flowdeck COMMAND --help')\n"
                     "  -v, --version       show the version\n"
                     "\n"
                     "Exit codes: 0 completed, 1 failed, 2 bad usage or invalid flow, 130 cancelled by SIGINT/SIGTERM.\n");
        return ExitCompleted;
    }
    const QStringList rest = args.mid(1);
    if (first == u"run")
        return cmdRun(rest);
    if (first == u"validate")
        return cmdValidate(rest);
    printError(QStringLiteral("flowdeck: unknown command \"%1\" (see 'flowdeck --help')").arg(first));
    return ExitUsage;
}

} // namespace flowdeck
