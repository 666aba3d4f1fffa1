#pragma once

#include <QList>
#include <QString>
#include <QStringList>

#include <functional>

namespace flowdeck::cli {

//! One option as a command's --help lists it.
struct HelpOption {
    QStringList names; //!< without dashes: {"h", "help"}
    QString valueName; //!< "URL" for "--db <URL>"; empty for a flag
    QString description;

    //! "--db" (the longest name with its dashes).
    QString longName() const;
};

//! One positional argument as a command's --help lists it.
struct HelpArgument {
    QString name;
    QString description;
};

/**
 * What `flowdeck COMMAND [SUBCOMMAND] --help` prints, read back into parts. The man page and the
 * shell completion are built from these, so they show exactly what --help shows.
 */
struct CommandHelp {
    QStringList path;    //!< {"runs", "ls"}
    QString usage;       //!< the usage line after the program and the command: "[options] FLOW"
    QString description; //!< paragraphs separated by "\n\n"
    QList<HelpOption> options;
    QList<HelpArgument> arguments;
    //! A command group's subcommands ("runs": ls, show, ...), in the order its help lists them.
    QStringList subcommands;
    QString text; //!< the help text as printed

    bool isGroup() const { return !subcommands.isEmpty(); }
    //! The option named \a name (without dashes), or nullptr.
    const HelpOption* option(const QString& name) const;
};

/**
 * Reads a help text: QCommandLineParser's layout (a usage line, the description, "Options:" and
 * "Arguments:" in two columns) or a command group's ("Subcommands:" with one entry per name).
 */
CommandHelp parseHelpText(const QString& text, const QStringList& path = {});

//! Whatever \a function writes to the standard output (file descriptor 1), instead of printing it.
QString captureStdout(const std::function<void()>& function);

//! `flowdeck PATH... --help`, run in this process, read back.
CommandHelp commandHelp(const QStringList& path);

//! Every visible command and every subcommand of the command groups, in the command table's order
//! (a group first, then its subcommands).
QList<CommandHelp> allCommandHelp();

} // namespace flowdeck::cli
