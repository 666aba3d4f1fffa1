#include "manpage.h"

#include "cli.h"
#include "clicommon.h"
#include "clihelp.h"
#include "clireference.h"
#include "dashboardoptions.h"

#include <QFile>
#include <QSaveFile>

#include <cstdio>

namespace flowdeck::cli {

namespace {

//! Text for roff: backslashes and minus signs escaped, characters beyond ASCII as groff's \[uXXXX]
//! (man renders the page as Latin-1 otherwise), no line starting with a control character.
QString roff(const QString& text)
{
    QString out;
    out.reserve(text.size() + 16);
    for (const char32_t c : text.toUcs4()) {
        if (c == U'\\')
            out += QStringLiteral("\\e");
        else if (c == U'-')
            out += QStringLiteral("\\-");
        else if (c > 0x7f)
            out += QStringLiteral("\\[u%1]").arg(
                QString::number(uint(c), 16).toUpper().rightJustified(4, u'0'));
        else
            out += QChar(c);
    }
    QStringList lines = out.split(u'\n');
    for (QString& line : lines) {
        if (line.startsWith(u'.') || line.startsWith(u'\''))
            line.prepend(QStringLiteral("\\&"));
    }
    return lines.join(u'\n');
}

//! Paragraphs ("\n\n" between them) as roff paragraphs; a help text's own line wrapping is undone.
QString paragraphs(const QString& text)
{
    QString out;
    for (const QString& paragraph : text.split(QStringLiteral("\n\n"), Qt::SkipEmptyParts))
        out += QStringLiteral(".PP\n") + roff(paragraph.simplified()) + u'\n';
    return out;
}

QString optionEntry(const HelpOption& option)
{
    QStringList names;
    for (const QString& name : option.names)
        names << QStringLiteral("\\fB")
                + roff((name.size() == 1 ? QStringLiteral("-") : QStringLiteral("--")) + name)
                + QStringLiteral("\\fR");
    QString head = names.join(QStringLiteral(", "));
    if (!option.valueName.isEmpty())
        head += QStringLiteral(" \\fI") + roff(option.valueName) + QStringLiteral("\\fR");
    return QStringLiteral(".TP\n") + head + u'\n' + roff(option.description) + u'\n';
}

QString commandSection(const CommandHelp& help)
{
    const QString name = QStringLiteral("flowdeck ") + help.path.join(u' ');
    QString out = QStringLiteral(".SS \"") + roff(name) + QStringLiteral("\"\n");
    out += QStringLiteral(".B ") + roff(name) + u'\n';
    if (!help.usage.isEmpty())
        out += roff(help.usage) + u'\n';
    out += paragraphs(help.description);
    if (help.isGroup()) {
        out += QStringLiteral(".PP\nSubcommands: ");
        QStringList subs;
        for (const QString& sub : help.subcommands)
            subs << QStringLiteral("\\fB") + roff(sub) + QStringLiteral("\\fR");
        out += subs.join(QStringLiteral(", ")) + QStringLiteral(".\n");
    }
    if (!help.arguments.isEmpty()) {
        out += QStringLiteral(".PP\nArguments:\n.RS\n");
        for (const HelpArgument& argument : help.arguments)
            out += QStringLiteral(".TP\n\\fI") + roff(argument.name) + QStringLiteral("\\fR\n")
                + roff(argument.description) + u'\n';
        out += QStringLiteral(".RE\n");
    }
    if (!help.options.isEmpty()) {
        out += QStringLiteral(".PP\nOptions:\n.RS\n");
        for (const HelpOption& option : help.options)
            out += optionEntry(option);
        out += QStringLiteral(".RE\n");
    }
    return out;
}

QString referenceSection(const QString& title, const QList<ReferenceEntry>& entries, const QString& font)
{
    QString out = QStringLiteral(".SH ") + title + u'\n';
    for (const ReferenceEntry& e : entries)
        out += QStringLiteral(".TP\n\\f") + font + roff(e.name) + QStringLiteral("\\fR\n")
            + roff(e.description) + u'\n';
    return out;
}

} // namespace

QString manPage()
{
    const QList<CommandHelp> commands = allCommandHelp();
    QString out;
    out += QStringLiteral(".TH FLOWDECK 1 \"\" \"Flowdeck %1\" \"User Commands\"\n")
               .arg(QLatin1String(FLOWDECK_VERSION));
    out += QStringLiteral(".SH NAME\nflowdeck \\- native dashboard with an embedded workflow engine\n");

    out += QStringLiteral(".SH SYNOPSIS\n.B flowdeck\n[\\fIDASHBOARD OPTIONS\\fR]\n");
    for (const CommandHelp& help : commands) {
        if (help.isGroup())
            continue;
        out += QStringLiteral(".br\n.B flowdeck ") + roff(help.path.join(u' ')) + u'\n';
        if (!help.usage.isEmpty())
            out += roff(help.usage) + u'\n';
    }

    out += QStringLiteral(
        ".SH DESCRIPTION\n"
        "Flowdeck runs workflows, small DAGs of tasks described in JSON flow files, and shows every task "
        "run, the event loop's lag, the connection and thread pools and the tag concurrency limits live. "
        "Without a command it opens the dashboard window. With a command it works headless: it validates "
        "and runs flows, lists and cancels stored runs, manages concurrency limits, queues runs and works "
        "through them as a worker.\n"
        ".PP\n"
        "Every run is stored in a database: a SQLite file by default, or PostgreSQL, which several "
        "workers on several machines can share. Each command's \\fB\\-\\-help\\fR shows what this page "
        "shows for it.\n");

    out += QStringLiteral(".SH COMMANDS\n");
    for (const CommandHelp& help : commands)
        out += commandSection(help);

    out += QStringLiteral(".SH DASHBOARD OPTIONS\n");
    for (const QCommandLineOption& option : dashboardOptions())
        out += optionEntry(HelpOption{option.names(), option.valueName(), option.description()});
    out += optionEntry(HelpOption{
        {QStringLiteral("h"), QStringLiteral("help")}, {}, QStringLiteral("Show the commands and options.")});
    out += optionEntry(
        HelpOption{{QStringLiteral("v"), QStringLiteral("version")},
                   {},
                   QStringLiteral("Show the version, the commit, and the Qt and SQLite versions.")});

    out += referenceSection(QStringLiteral("ENVIRONMENT"), environmentVariables(), QStringLiteral("B"));
    out += referenceSection(QStringLiteral("EXIT STATUS"), exitCodes(), QStringLiteral("B"));
    out += referenceSection(QStringLiteral("FILES"), files(), QStringLiteral("I"));

    out += QStringLiteral(".SH EXAMPLES\n"
                          ".nf\n"
                          "flowdeck validate /usr/share/flowdeck/flows/hello.json\n"
                          "flowdeck run /usr/share/flowdeck/flows/tagged\\-fanout.json \\-\\-json\n"
                          "flowdeck runs ls \\-\\-state failed\n"
                          "systemctl enable \\-\\-now flowdeck\\-worker@build1\n"
                          ".fi\n"
                          ".SH SEE ALSO\n"
                          "\\fBsystemctl\\fR(1), \\fBsystemd.service\\fR(5)\n");
    return out;
}

int cmdManPage(const QStringList& args)
{
    const QByteArray text = manPage().toUtf8();
    if (args.isEmpty()) {
        std::fwrite(text.constData(), 1, size_t(text.size()), stdout);
        return ExitCompleted;
    }
    QSaveFile file(args.first());
    if (!file.open(QIODevice::WriteOnly) || file.write(text) != text.size() || !file.commit()) {
        printError(
            QStringLiteral("flowdeck __manpage: cannot write %1: %2").arg(args.first(), file.errorString()));
        return ExitFailed;
    }
    return ExitCompleted;
}

} // namespace flowdeck::cli
