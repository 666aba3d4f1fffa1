#pragma once

#include <QString>
#include <QStringList>

namespace flowdeck::cli {

/**
 * flowdeck(1) in man(7) markup, built from what `--help` shows: every command of the command table
 * and every subcommand of a command group with its options and arguments (read from their own
 * --help), the dashboard's options, the environment variables, exit codes and files.
 */
QString manPage();

//! `flowdeck __manpage [FILE]`: prints the man page, or writes it to FILE.
int cmdManPage(const QStringList& args);

} // namespace flowdeck::cli
