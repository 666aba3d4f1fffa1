#include "clihelp.h"

#include "cli.h"

#include <QCoreApplication>

#include <cstdio>
#include <unistd.h>

namespace flowdeck::cli {

QString HelpOption::longName() const
{
    QString longest;
    for (const QString& name : names) {
        if (name.size() > longest.size())
            longest = name;
    }
    return (longest.size() == 1 ? QStringLiteral("-") : QStringLiteral("--")) + longest;
}

const HelpOption* CommandHelp::option(const QString& name) const
{
    for (const HelpOption& o : options) {
        if (o.names.contains(name))
            return &o;
    }
    return nullptr;
}

namespace {

enum class Section { Text, Options, Arguments, Subcommands };

//! "--db <URL>" or "-h, --help" into names and value name.
HelpOption parseOptionNames(QString spec)
{
    HelpOption option;
    const qsizetype value = spec.indexOf(QStringLiteral(" <"));
    if (value >= 0 && spec.endsWith(u'>')) {
        option.valueName = spec.mid(value + 2, spec.size() - value - 3);
        spec.truncate(value);
    }
    for (QString name : spec.split(QStringLiteral(", "), Qt::SkipEmptyParts)) {
        while (name.startsWith(u'-'))
            name.remove(0, 1);
        if (!name.isEmpty())
            option.names << name;
    }
    return option;
}

//! The usage line without "Usage:", the program and the command's own words.
QString usageOf(QString usage, const QStringList& path)
{
    const QString program = QCoreApplication::arguments().value(0);
    if (!program.isEmpty() && (usage == program || usage.startsWith(program + u' ')))
        usage = usage.mid(program.size());
    QStringList words = usage.split(u' ', Qt::SkipEmptyParts);
    if (!words.isEmpty() && words.first() == u"flowdeck")
        words.removeFirst();
    for (const QString& word : path) {
        if (!words.isEmpty() && words.first() == word)
            words.removeFirst();
    }
    return words.join(u' ');
}

} // namespace

CommandHelp parseHelpText(const QString& text, const QStringList& path)
{
    CommandHelp help;
    help.path = path;
    help.text = text;
    const QStringList lines = text.split(u'\n');
    qsizetype i = 0;
    if (!lines.isEmpty() && lines.first().startsWith(QStringLiteral("Usage: "))) {
        help.usage = usageOf(lines.first().mid(7), path);
        i = 1;
    }

    Section section = Section::Text;
    QStringList paragraphs;
    QString paragraph;
    QString* entryDescription = nullptr; // the column entry that continuation lines extend
    auto endParagraph = [&] {
        if (!paragraph.isEmpty())
            paragraphs << paragraph;
        paragraph.clear();
    };
    for (; i < lines.size(); ++i) {
        const QString& line = lines.at(i);
        if (!line.isEmpty() && !line.startsWith(u' ') && line.endsWith(u':')) {
            endParagraph();
            section = line == u"Options:" ? Section::Options
                : line == u"Arguments:"   ? Section::Arguments
                : line == u"Subcommands:" ? Section::Subcommands
                                          : Section::Text;
            if (section == Section::Text)
                paragraph = line;
            entryDescription = nullptr;
            continue;
        }
        if (line.isEmpty()) {
            endParagraph();
            section = Section::Text;
            entryDescription = nullptr;
            continue;
        }
        if (section == Section::Text) {
            paragraph += (paragraph.isEmpty() ? QString() : QStringLiteral("\n")) + line;
            continue;
        }
        // Two columns: an entry starts at the third column, its description continues on lines
        // indented further.
        if (line.startsWith(QStringLiteral("   "))) {
            if (entryDescription) {
                const QString more = line.trimmed();
                if (!more.isEmpty())
                    *entryDescription
                        += (entryDescription->isEmpty() ? QString() : QStringLiteral(" ")) + more;
            }
            continue;
        }
        if (!line.startsWith(QStringLiteral("  ")))
            continue;
        QString names = line.mid(2);
        QString description;
        if (const qsizetype gap = line.indexOf(QStringLiteral("  "), 2); gap >= 0) {
            names = line.mid(2, gap - 2);
            description = line.mid(gap).trimmed();
        }
        switch (section) {
        case Section::Options: {
            HelpOption option = parseOptionNames(names.trimmed());
            option.description = description;
            help.options << option;
            entryDescription = &help.options.last().description;
            break;
        }
        case Section::Arguments:
            help.arguments << HelpArgument{names.trimmed(), description};
            entryDescription = &help.arguments.last().description;
            break;
        case Section::Subcommands: {
            const QString name = names.section(u' ', 0, 0, QString::SectionSkipEmpty);
            if (!name.isEmpty() && !help.subcommands.contains(name))
                help.subcommands << name;
            entryDescription = nullptr;
            break;
        }
        case Section::Text:
            break;
        }
    }
    endParagraph();
    help.description = paragraphs.join(QStringLiteral("\n\n"));
    return help;
}

QString captureStdout(const std::function<void()>& function)
{
    std::fflush(stdout);
    FILE* file = std::tmpfile();
    const int saved = file ? ::dup(STDOUT_FILENO) : -1;
    if (saved < 0 || ::dup2(::fileno(file), STDOUT_FILENO) < 0) {
        if (saved >= 0)
            ::close(saved);
        if (file)
            std::fclose(file);
        return {};
    }
    function();
    std::fflush(stdout);
    ::dup2(saved, STDOUT_FILENO);
    ::close(saved);
    QByteArray bytes;
    std::rewind(file);
    char buffer[4096];
    size_t n = 0;
    while ((n = std::fread(buffer, 1, sizeof buffer, file)) > 0)
        bytes.append(buffer, qsizetype(n));
    std::fclose(file);
    return QString::fromLocal8Bit(bytes);
}

CommandHelp commandHelp(const QStringList& path)
{
    const QString text = captureStdout([&path] { runCli(path + QStringList{QStringLiteral("--help")}); });
    return parseHelpText(text, path);
}

QList<CommandHelp> allCommandHelp()
{
    QList<CommandHelp> all;
    for (const QString& command : cliCommands()) {
        const CommandHelp group = commandHelp({command});
        all << group;
        for (const QString& sub : group.subcommands)
            all << commandHelp({command, sub});
    }
    return all;
}

} // namespace flowdeck::cli
