#pragma once

#include "flow/flow.h"
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

//! The --db option every command that touches the store accepts.
QCommandLineOption dbOption();

//! The pool and store of a command.
struct StoreHandle {
    std::unique_ptr<ConnectionPool> pool;
    std::unique_ptr<Store> store;
    RecoveryReport recovery;
};

/**
 * Opens the store chosen by --db / $FLOWDECK_DB / the default file, migrating and recovering it.
 * On failure prints one line naming the database and returns an empty handle (exit 2). Only a
 * command that runs flows (\a runsFlows) registers itself as an engine process.
 */
QCoro::Task<StoreHandle> openStore(const QString& command, const QString& dbValue, Scheduler& scheduler,
                                   bool runsFlows = false);

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

} // namespace flowdeck::cli
