#include "clicommon.h"

#include "cli.h"
#include "flow/flowcatalog.h"
#include "flow/flowparser.h"
#include "flow/taskkind.h"
#include "run/engine.h"

#include <QCoreApplication>
#include <QDateTime>
#include <QFileInfo>
#include <QHostInfo>
#include <QRegularExpression>
#include <QTimer>

namespace flowdeck::cli {

Output::Output(FILE* file)
    : m_file(file)
{
}

Output::~Output()
{
    flush();
}

void Output::line(const QString& text)
{
    m_buffer += text.toUtf8();
    m_buffer += '\n';
    if (m_buffer.size() > (1 << 16)) {
        flush();
    } else if (!m_flushQueued && QCoreApplication::instance()) {
        m_flushQueued = true;
        QTimer::singleShot(0, QCoreApplication::instance(), [this] { flush(); });
    }
}

void Output::flush()
{
    m_flushQueued = false;
    if (m_buffer.isEmpty())
        return;
    std::fwrite(m_buffer.constData(), 1, size_t(m_buffer.size()), m_file);
    std::fflush(m_file);
    m_buffer.clear();
}

void printError(const QString& text)
{
    std::fprintf(stderr, "%s\n", text.toLocal8Bit().constData());
}

//! Left-aligned columns separated by two spaces; the last column is not padded.
void printTable(Output& out, const QStringList& header, const QList<QStringList>& rows, const QString& indent)
{
    QList<qsizetype> widths;
    for (const QString& h : header)
        widths << h.size();
    for (const QStringList& row : rows) {
        for (qsizetype i = 0; i < row.size() && i < widths.size(); ++i)
            widths[i] = std::max(widths[i], row[i].size());
    }
    auto format = [&widths, &indent](const QStringList& cells) {
        QString line = indent;
        for (qsizetype i = 0; i < cells.size(); ++i) {
            if (i + 1 < cells.size())
                line += cells[i].leftJustified(widths[i]) + QStringLiteral("  ");
            else
                line += cells[i];
        }
        return line;
    };
    out.line(format(header));
    for (const QStringList& row : rows)
        out.line(format(row));
}

void printDatabaseError(const QString& command, const std::exception& e)
{
    printError(QStringLiteral("flowdeck %1: %2").arg(command, QString::fromUtf8(e.what())));
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

//! The valued option (as written, "--db") whose value is missing in \a args, or an empty string.
//! QCommandLineParser takes the next token as the value whatever it is, so "--db" before another
//! option, or before the "--" that ends the options, would swallow it: a value that is "--" or
//! looks like an option (not "-" and not a negative number) counts as missing.
QString optionWithoutValue(const QCommandLineParser& parser, const QStringList& args)
{
    static const QRegularExpression number(QStringLiteral("^-[0-9.]"));
    for (qsizetype i = 0; i < args.size(); ++i) {
        const QString& arg = args[i];
        if (arg == u"--")
            break;
        if (!arg.startsWith(u'-') || arg == u"-" || arg.contains(u'='))
            continue;
        const QString name = arg.mid(arg.startsWith(u"--") ? 2 : 1);
        // Set and with a value: a valued option (a flag has no values).
        if (!parser.isSet(name) || parser.values(name).isEmpty())
            continue;
        if (i + 1 >= args.size())
            return arg;
        const QString& next = args[i + 1];
        if (next.startsWith(u'-') && next != u"-" && !number.match(next).hasMatch())
            return arg;
        ++i;
    }
    return {};
}

bool parseArgs(QCommandLineParser& parser, const QString& command, const QStringList& args, bool* helpShown)
{
    parser.setOptionsAfterPositionalArgumentsMode(QCommandLineParser::ParseAsOptions);
    parser.setSingleDashWordOptionMode(QCommandLineParser::ParseAsLongOptions);
    const QCommandLineOption help({QStringLiteral("h"), QStringLiteral("help")},
                                  QStringLiteral("Show this help."));
    parser.addOption(help);
    if (!parser.parse(QStringList{QStringLiteral("flowdeck ") + command} + args)) {
        printError(
            QStringLiteral("flowdeck %1: %2 (see 'flowdeck %1 --help')").arg(command, parser.errorText()));
        return false;
    }
    if (const QString option = optionWithoutValue(parser, args); !option.isEmpty()) {
        printError(QStringLiteral("flowdeck %1: missing value after \"%2\" (see 'flowdeck %1 --help')")
                       .arg(command, option));
        return false;
    }
    // An empty --db would read as "not given" further on and open $FLOWDECK_DB or the default.
    if (parser.optionNames().contains(QStringLiteral("db"))
        && parser.value(QStringLiteral("db")).trimmed().isEmpty()) {
        printError(QStringLiteral("flowdeck %1: --db: empty database URL (leave --db out for $FLOWDECK_DB "
                                  "or the default)")
                       .arg(command));
        return false;
    }
    *helpShown = parser.isSet(help);
    if (*helpShown)
        std::fprintf(stdout, "%s", parser.helpText().toLocal8Bit().constData());
    return true;
}

int parseCommand(QCommandLineParser& parser, const QString& command, const QStringList& args)
{
    bool helpShown = false;
    if (!parseArgs(parser, command, args, &helpShown))
        return ExitUsage;
    return helpShown ? ExitCompleted : ParsedOk;
}

int parseCommand(QCommandLineParser& parser, const QString& command, const QStringList& args,
                 const QStringList& expected)
{
    if (const int code = parseCommand(parser, command, args); code != ParsedOk)
        return code;
    return expectArguments(command, parser.positionalArguments(), expected) ? ParsedOk : ExitUsage;
}

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

bool oneFlowArgument(const QCommandLineParser& parser, const QString& command)
{
    const qsizetype given = parser.positionalArguments().size();
    if (given == 1)
        return true;
    printError(
        given == 0
            ? QStringLiteral("flowdeck %1: missing FLOW argument (see 'flowdeck %1 --help')").arg(command)
            : QStringLiteral("flowdeck %1: expected one FLOW argument, got %2").arg(command).arg(given));
    return false;
}

double writeRetryLimitSeconds()
{
    bool ok = false;
    const double seconds = qEnvironmentVariable("FLOWDECK_WRITE_RETRY_S").toDouble(&ok);
    return ok && seconds > 0 ? seconds : 60.0;
}

qint64 maxResultBytesSetting()
{
    bool ok = false;
    const qint64 bytes = qEnvironmentVariable("FLOWDECK_MAX_RESULT_BYTES").toLongLong(&ok);
    return ok && bytes > 0 ? bytes : Engine::DefaultMaxResultBytes;
}

QString actorName(const QString& command)
{
    QString user = qEnvironmentVariable("USER");
    if (user.isEmpty())
        user = qEnvironmentVariable("LOGNAME", QStringLiteral("someone"));
    return QStringLiteral("%1@%2 (flowdeck %3, pid %4)")
        .arg(user, QHostInfo::localHostName(), command)
        .arg(QCoreApplication::applicationPid());
}

QCommandLineOption dbOption()
{
    return QCommandLineOption(
        QStringLiteral("db"),
        QStringLiteral("Database: a SQLite file path or postgresql://user[:password]@host[:port]/db "
                       "(default: $FLOWDECK_DB, else flowdeck.db in the app data folder). A password "
                       "given here shows in the process list (ps): leave it out and put it in "
                       "$PGPASSFILE or ~/.pgpass, or give the URL in $FLOWDECK_DB."),
        QStringLiteral("URL"));
}

namespace {

QCoro::Task<OpenSession> openSessionWith(QString command, QString dbValue, Scheduler& scheduler,
                                         SessionOptions options)
{
    OpenSession handle;
    auto session = std::make_unique<Session>(scheduler);
    try {
        auto opening = session->open(dbValue, options);
        handle.recovery = co_await opening;
    } catch (const SessionError& e) {
        printError(QStringLiteral("flowdeck %1: %2").arg(command, e.message()));
        co_return handle;
    }
    handle.session = std::move(session);
    co_return handle;
}

} // namespace

QCoro::Task<OpenSession> openSession(const QString& command, const QString& dbValue, Scheduler& scheduler,
                                     Engine* engine)
{
    return openSessionWith(command, dbValue, scheduler,
                           {.engine = engine, .registerEngine = false, .readOnly = false, .pool = {}});
}

QCoro::Task<OpenSession> openSessionReadOnly(const QString& command, const QString& dbValue,
                                             Scheduler& scheduler)
{
    return openSessionWith(command, dbValue, scheduler,
                           {.engine = nullptr, .registerEngine = false, .readOnly = true, .pool = {}});
}

//! Reads FLOW (a file, or the name of a flow defined in code) and applies --param overrides.
LoadedFlow loadFlow(const QString& command, const QString& what, const QStringList& params)
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
        printError(
            QStringLiteral("flowdeck %1: no flow file or code-defined flow named \"%2\"").arg(command, what));
        return {std::nullopt, 2};
    }
    if (flow && !params.isEmpty()) {
        QJsonObject overrides;
        for (const QString& p : params) {
            QString error;
            if (!FlowParser::parseOverride(p, flow->parameters, overrides, &error)) {
                printError(QStringLiteral("flowdeck %1: --param %2: %3").arg(command, p, error));
                return {std::nullopt, 2};
            }
        }
        flow = parser.resolve(flow->document, flow->source, errors, overrides);
    }
    if (!flow) {
        for (const ValidationError& e : errors)
            printError(label + QStringLiteral(": ") + e.toString());
        printError(QStringLiteral("%1: %2 error%3")
                       .arg(label)
                       .arg(errors.size())
                       .arg(errors.size() == 1 ? QString() : QStringLiteral("s")));
        return {std::nullopt, 2};
    }
    return {flow, 0};
}

int execCommand(std::function<QCoro::Task<int>()> command)
{
    int exitCode = 1;
    bool done = false;
    auto wrapper = [&]() -> QCoro::Task<> {
        auto running = command();
        exitCode = co_await running;
        done = true;
        QCoreApplication::exit(exitCode);
    };
    auto task = wrapper();
    if (!done)
        QCoreApplication::exec();
    return exitCode;
}

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

int runSubcommand(const QString& verb, const QStringList& args,
                  const QList<std::pair<QString, Subcommand>>& table, const QString& expected)
{
    const QString sub = args.value(0);
    Subcommand command = nullptr;
    for (const auto& [name, fn] : table) {
        if (sub == name)
            command = fn;
    }
    if (!command) {
        const QString help = QStringLiteral("(see 'flowdeck %1 --help')").arg(verb);
        printError(sub.isEmpty()
                       ? QStringLiteral("flowdeck %1: missing subcommand: %2 %3").arg(verb, expected, help)
                       : QStringLiteral("flowdeck %1: unknown subcommand %2: expected %3 %4")
                             .arg(verb, quoted(sub), expected, help));
        return ExitUsage;
    }
    // The output outlives the command's coroutine: it may have a flush queued on the event loop.
    Output out(stdout);
    const QStringList rest = args.mid(1);
    return execCommand([command, rest, &out] { return command(rest, out); });
}

} // namespace flowdeck::cli
