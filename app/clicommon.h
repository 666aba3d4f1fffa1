#pragma once

#include "flow/flow.h"
#include "session/session.h"
#include "store/connectionpool.h"
#include "store/store.h"

#include <QByteArray>
#include <QCommandLineOption>
#include <QCommandLineParser>
#include <QCoro/QCoroTask>
#include <QString>
#include <QStringList>

#include <cstdio>
#include <exception>
#include <functional>
#include <memory>
#include <optional>

namespace flowdeck::cli {

//! Buffered writer to a FILE*: lines are flushed once per event-loop turn, not per line.
class Output {
public:
    explicit Output(FILE* file);
    ~Output();
    void line(const QString& text);
    void flush();

private:
    FILE* m_file;
    QByteArray m_buffer;
    bool m_flushQueued = false;
};

void printError(const QString& text);
//! "flowdeck COMMAND: what failed" for a database error after the store opened.
void printDatabaseError(const QString& command, const std::exception& e);
//! Left-aligned columns separated by two spaces; the last column is not padded.
void printTable(Output& out, const QStringList& header, const QList<QStringList>& rows,
                const QString& indent = {});
//! ISO 8601 UTC with milliseconds.
QString isoTime(qint64 us);
QString clockTime(qint64 us);
QString formatDuration(double seconds);

//! Parses a subcommand's arguments (adds -h/--help); on error prints one line and returns false.
bool parseArgs(QCommandLineParser& parser, const QString& command, const QStringList& args, bool* helpShown);

//! What parseCommand returns when the command goes on; any other value is the command's exit code.
inline constexpr int ParsedOk = -1;
//! Parses \a args of `flowdeck COMMAND` (adds -h/--help): ParsedOk, ExitCompleted after the help was
//! shown, or ExitUsage after the error was printed.
int parseCommand(QCommandLineParser& parser, const QString& command, const QStringList& args);
//! The same, and then the positional arguments must be exactly \a expected (their names, for the
//! message saying which is missing or unexpected).
int parseCommand(QCommandLineParser& parser, const QString& command, const QStringList& args,
                 const QStringList& expected);
//! Whether \a positional holds exactly the arguments \a names; prints what is wrong otherwise.
bool expectArguments(const QString& command, const QStringList& positional, const QStringList& names);
//! Options first and positional arguments after "--", so that a negative number or a name starting
//! with '-' is a positional argument (then refused with a clear message), not an unknown option.
QStringList positionalLast(const QStringList& args, const QStringList& optionsWithValue);

//! After \a parser has parsed \a args: the valued option (as written) that has no value, because
//! it is last or followed by another option or "--" (which QCommandLineParser would take as its
//! value); an empty string when every valued option has one.
QString optionWithoutValue(const QCommandLineParser& parser, const QStringList& args);

//! Whether exactly one FLOW argument was given; otherwise prints "flowdeck COMMAND: ..." and returns
//! false (exit 2).
bool oneFlowArgument(const QCommandLineParser& parser, const QString& command);

//! $FLOWDECK_WRITE_RETRY_S: how long a writing command (run, worker) retries writes that fail for a
//! passing reason (the database locked, the connection lost) before it gives up; default 60 s.
double writeRetryLimitSeconds();
//! $FLOWDECK_MAX_RESULT_BYTES: the default result limit of run and worker (Engine's default if unset).
qint64 maxResultBytesSetting();

//! Who does what a command does, for people: "alice@host (flowdeck runs retry, pid 42)".
QString actorName(const QString& command);

//! The --db option every command that touches the store accepts.
QCommandLineOption dbOption();

//! The open session of a command, with what opening it recovered.
struct OpenSession {
    std::unique_ptr<Session> session;
    RecoveryReport recovery;

    explicit operator bool() const { return bool(session); }
    ConnectionPool& pool() const { return *session->pool(); }
    Store& store() const { return *session->store(); }
};

/**
 * Opens the database chosen by --db / $FLOWDECK_DB / the default file through a Session, migrating
 * and recovering it; with \a engine (a command that runs flows) attaches it too. On failure prints
 * "flowdeck COMMAND: why" and returns an empty handle (exit 2).
 */
QCoro::Task<OpenSession> openSession(const QString& command, const QString& dbValue, Scheduler& scheduler,
                                     Engine* engine = nullptr);
//! openSession() for a command that only reads: read-only, without migration or recovery.
QCoro::Task<OpenSession> openSessionReadOnly(const QString& command, const QString& dbValue,
                                             Scheduler& scheduler);

//! A flow read for a command, or the exit code that says why not.
struct LoadedFlow {
    std::optional<FlowDefinition> flow;
    int exitCode = 0;
};
//! Reads FLOW (a file, or the name of a flow defined in code) and applies --param overrides;
//! prints every error with its place.
LoadedFlow loadFlow(const QString& command, const QString& what, const QStringList& params);

//! Runs a command coroutine in the application's event loop and returns its exit code.
int execCommand(std::function<QCoro::Task<int>()> command);

//! \a text in double quotes with control characters, unusual spaces and quotes escaped: an error
//! about a name stays on one line whatever the name holds.
QString quoted(const QString& text);

//! A verb's subcommand: runs with the arguments after its name, printing to the output.
using Subcommand = QCoro::Task<int> (*)(QStringList, Output&);
/**
 * Runs the subcommand of \a table that args[0] names with the rest of \a args (through execCommand),
 * or says that it is missing or unknown, listing \a expected ("ls, show or cancel") and pointing to
 * `flowdeck VERB --help`, and returns ExitUsage.
 */
int runSubcommand(const QString& verb, const QStringList& args,
                  const QList<std::pair<QString, Subcommand>>& table, const QString& expected);

} // namespace flowdeck::cli
