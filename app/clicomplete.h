#pragma once

#include <QStringList>

namespace flowdeck::cli {

/**
 * `flowdeck __complete CWORD WORD...`: the candidates for word CWORD of the command line WORD...
 * (WORD 0 is the program), for the bash completion script. Prints a directive line first ("@files":
 * also complete file names, "@json": also flow files, "@none"), then one candidate per line. Options
 * and subcommands come from the commands' own --help, state names from the state table, run ids and
 * tags from the database (read-only; nothing at all when it cannot be read within a second).
 */
int cmdComplete(const QStringList& args);

} // namespace flowdeck::cli
