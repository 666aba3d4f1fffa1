#pragma once

#include <QStringList>

namespace flowdeck {

//! Exit codes of the command line.
//! 3: a run skipped by its flow's max_active_runs ("on_limit": "skip"), stored CANCELLED with the reason.
enum ExitCode { ExitCompleted = 0, ExitFailed = 1, ExitUsage = 2, ExitSkipped = 3, ExitCancelled = 130 };

//! The visible subcommands, in the order `--help` and the man page list them.
QStringList cliCommands();

//! True when \a args (without the program name) name a command-line subcommand or option that
//! needs no display.
bool isCliInvocation(const QStringList& args);

//! Runs a subcommand; needs a QCoreApplication. Returns the process exit code.
int runCli(const QStringList& args);

} // namespace flowdeck
