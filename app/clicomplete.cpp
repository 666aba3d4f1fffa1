#include "clicomplete.h"

#include "cli.h"
#include "clicommon.h"
#include "clihelp.h"
#include "dashboardoptions.h"
#include "flow/flowcatalog.h"
#include "run/scheduler.h"
#include "run/states.h"
#include "store/limitqueries.h"
#include "store/runqueries.h"

#include <QCoreApplication>
#include <QTimer>

#include <cstdio>
#include <cstdlib>
#include <fcntl.h>
#include <unistd.h>

namespace flowdeck::cli {

namespace {

//! How long a completion may wait for the database before it answers with what it has.
constexpr int DatabaseDeadlineMs = 1000;

enum class Directive { None, Files, FlowFiles };

struct Completion {
    Directive directive = Directive::None;
    QStringList words;
    enum class FromDatabase { Nothing, RunIds, Tags } fromDatabase = FromDatabase::Nothing;
};

void print(const Completion& completion, const QString& current, const QStringList& more = {})
{
    const char* directive = completion.directive == Directive::Files ? "@files"
        : completion.directive == Directive::FlowFiles               ? "@json"
                                                                     : "@none";
    QByteArray out = QByteArray(directive) + '\n';
    QStringList seen;
    for (const QString& word : completion.words + more) {
        if (word.startsWith(current) && !seen.contains(word)) {
            seen << word;
            out += word.toLocal8Bit() + '\n';
        }
    }
    std::fwrite(out.constData(), 1, size_t(out.size()), stdout);
    std::fflush(stdout);
}

QStringList longOptions(const QList<HelpOption>& options)
{
    QStringList names;
    for (const HelpOption& o : options) {
        if (o.longName().startsWith(QStringLiteral("--")))
            names << o.longName();
    }
    return names;
}

//! The dashboard's options as its --help would list them.
QList<HelpOption> dashboardHelpOptions()
{
    QList<HelpOption> options;
    for (const QCommandLineOption& o : dashboardOptions())
        options << HelpOption{o.names(), o.valueName(), o.description()};
    options << HelpOption{{QStringLiteral("h"), QStringLiteral("help")}, {}, {}}
            << HelpOption{{QStringLiteral("v"), QStringLiteral("version")}, {}, {}};
    return options;
}

QStringList stateWords()
{
    QStringList words;
    for (int i = 0; i < StateTypeCount; ++i)
        words << toString(StateType(i)).toLower();
    return words;
}

//! What a value of \a option (a name without dashes, with its value name) may be.
Completion valueOf(const HelpOption& option)
{
    Completion c;
    const QStringList& names = option.names;
    if (names.contains(QStringLiteral("state")))
        c.words = stateWords();
    else if (names.contains(QStringLiteral("db")) || names.contains(QStringLiteral("screenshot")))
        c.directive = Directive::Files;
    else if (option.valueName == u"FLOW") {
        c.directive = Directive::FlowFiles;
        c.words = FlowCatalog::instance().names();
    } else if (option.valueName == u"RUN_ID") {
        c.fromDatabase = Completion::FromDatabase::RunIds;
    } else if (names.contains(QStringLiteral("page")))
        c.words = dashboardPageNames();
    else if (names.contains(QStringLiteral("palette")))
        c.words = {QStringLiteral("dark"), QStringLiteral("light"), QStringLiteral("system")};
    return c;
}

//! What positional argument \a name ("FLOW", "RUN_ID", "TAG") may be.
Completion positional(const QString& name)
{
    Completion c;
    if (name == u"FLOW") {
        c.directive = Directive::FlowFiles;
        c.words = FlowCatalog::instance().names();
    } else if (name == u"RUN_ID") {
        c.fromDatabase = Completion::FromDatabase::RunIds;
    } else if (name == u"TAG") {
        c.fromDatabase = Completion::FromDatabase::Tags;
    }
    return c;
}

//! The run ids (newest first) or tags in the database; nothing when it cannot be read.
QCoro::Task<QStringList> databaseWords(Completion::FromDatabase what, QString db)
{
    Scheduler scheduler;
    auto opening = openSessionReadOnly(QStringLiteral("__complete"), db, scheduler);
    OpenSession storage = co_await opening;
    if (!storage)
        co_return QStringList();
    try {
        if (what == Completion::FromDatabase::RunIds) {
            auto query = storage.pool().run([](QSqlDatabase& database) {
                RunFilter filter;
                filter.limit = 500;
                QStringList ids;
                for (const FlowRunRow& row : listFlowRuns(database, filter))
                    ids << row.id;
                return ids;
            });
            co_return co_await query;
        }
        auto query = storage.pool().run([](QSqlDatabase& database) {
            QStringList tags = limitsByTag(database).keys();
            tags.sort();
            return tags;
        });
        co_return co_await query;
    } catch (const std::exception&) {
        co_return QStringList();
    }
}

//! Works out what word \a cword of \a words may be.
Completion complete(const QStringList& words, qsizetype cword, QString* db)
{
    const QString& current = words.at(cword);
    const QStringList commands = cliCommands();
    CommandHelp help;
    qsizetype first = 1; // the first word after the command (and subcommand)
    if (commands.contains(words.value(1)) && cword > 1) {
        help = commandHelp({words.at(1)});
        first = 2;
        if (help.isGroup()) {
            if (cword == 2) {
                Completion c;
                c.words = help.subcommands;
                if (current.startsWith(u'-'))
                    c.words = longOptions(help.options) + QStringList{QStringLiteral("--help")};
                return c;
            }
            if (!help.subcommands.contains(words.at(2)))
                return {};
            help = commandHelp({words.at(1), words.at(2)});
            first = 3;
        }
    } else if (cword == 1 && !current.startsWith(u'-')) {
        Completion c;
        c.words = commands;
        return c;
    } else {
        help.options = dashboardHelpOptions();
    }

    // Options with a value take the next word; "--db URL" anywhere tells where the database is.
    qsizetype positionals = 0;
    for (qsizetype i = first; i < cword; ++i) {
        const QString& word = words.at(i);
        if (word.startsWith(QStringLiteral("--")) && word.contains(u'=')) {
            if (word.startsWith(QStringLiteral("--db=")))
                *db = word.mid(5);
            continue;
        }
        if (word.startsWith(u'-') && word.size() > 1) {
            const HelpOption* option = help.option(word.mid(word.startsWith(QStringLiteral("--")) ? 2 : 1));
            if (option && !option->valueName.isEmpty()) {
                if (i + 1 == cword)
                    return valueOf(*option);
                if (option->names.contains(QStringLiteral("db")))
                    *db = words.at(i + 1);
                ++i;
            }
            continue;
        }
        ++positionals;
    }
    for (qsizetype i = cword + 1; i + 1 < words.size(); ++i) {
        if (words.at(i) == u"--db")
            *db = words.at(i + 1);
    }
    if (current.startsWith(QStringLiteral("--")) && current.contains(u'=')) {
        const HelpOption* option = help.option(current.mid(2).section(u'=', 0, 0));
        return option && !option->valueName.isEmpty() ? valueOf(*option) : Completion{};
    }
    if (current.startsWith(u'-'))
        return Completion{Directive::None, longOptions(help.options), {}};
    if (positionals < help.arguments.size())
        return positional(help.arguments.at(positionals).name);
    return {};
}

} // namespace

int cmdComplete(const QStringList& args)
{
    // Completion is silent: no error of a database that cannot be opened reaches the terminal.
    if (const int null = ::open("/dev/null", O_WRONLY); null >= 0) {
        ::dup2(null, STDERR_FILENO);
        ::close(null);
    }
    bool ok = false;
    const qsizetype cword = args.value(0).toLongLong(&ok);
    QStringList words = args.mid(1);
    if (!ok || cword < 1 || words.isEmpty())
        return ExitUsage;
    while (words.size() <= cword)
        words << QString();
    // "--state=fa": the value is completed (bash replaces what follows the '=').
    QString current = words.at(cword);
    if (current.startsWith(QStringLiteral("--")) && current.contains(u'='))
        current = current.section(u'=', 1);

    QString db;
    const Completion completion = complete(words, cword, &db);
    if (completion.fromDatabase == Completion::FromDatabase::Nothing) {
        print(completion, current);
        return ExitCompleted;
    }
    // An unreachable server may keep a database thread in connect() for long: answer without the
    // database's words then, and end without waiting for that thread.
    QTimer::singleShot(DatabaseDeadlineMs, [completion, current] {
        print(completion, current);
        std::_Exit(ExitCompleted);
    });
    QStringList found;
    const int code = execCommand([&]() -> QCoro::Task<int> {
        found = co_await databaseWords(completion.fromDatabase, db);
        co_return ExitCompleted;
    });
    print(completion, current, found);
    return code;
}

} // namespace flowdeck::cli
