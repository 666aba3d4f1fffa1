#include "help/helptext.h"

#include "flow/taskkind.h"
#include "run/states.h"
#include "style/statestyle.h"

#include <QCoreApplication>

#include <cmath>

namespace flowdeck::helptext {

namespace {

QString tr(const char* text)
{
    return QCoreApplication::translate("flowdeck::help", text);
}

QString code(const QString& text)
{
    return QStringLiteral("<code>%1</code>").arg(text.toHtmlEscaped());
}

QString swatch(const QColor& colour)
{
    // A table cell of the colour: rich text draws cell backgrounds, not styled spans.
    return QStringLiteral("<td bgcolor=\"%1\" width=\"28\">&nbsp;</td>").arg(colour.name());
}

//! A bound as people write it: 1000000000, not 1e+09.
QString number(double value)
{
    if (std::floor(value) == value && std::abs(value) < 1e15)
        return QString::number(qint64(value));
    return QString::number(value);
}

QString fieldTypeText(const FieldSpec& field)
{
    QString text = toString(field.type);
    if (field.min && field.max)
        text += QStringLiteral(", %1 to %2").arg(number(*field.min), number(*field.max));
    else if (field.min)
        text += QStringLiteral(", at least %1").arg(number(*field.min));
    else if (field.max)
        text += QStringLiteral(", at most %1").arg(number(*field.max));
    return text;
}

struct CommonField {
    const char* name;
    const char* help;
};

} // namespace

QString flowFormatHtml()
{
    // The fields the flow parser accepts on every task (commonTaskFields() in engine/flow/flowparser.cpp).
    static const CommonField common[] = {
        {"id", QT_TRANSLATE_NOOP("flowdeck::help", "The task's name, unique in the flow (required).")},
        {"kind",
         QT_TRANSLATE_NOOP("flowdeck::help", "What the task does: one of the kinds below (required).")},
        {"depends_on", QT_TRANSLATE_NOOP("flowdeck::help", "Ids of tasks that must complete first.")},
        {"tags", QT_TRANSLATE_NOOP("flowdeck::help", "Concurrency-limit tags; a full tag makes runs wait.")},
        {"map",
         QT_TRANSLATE_NOOP("flowdeck::help", "Run the task this many times ({{map_index}} is each index).")},
        {"map_over", QT_TRANSLATE_NOOP("flowdeck::help", "One run per run of this mapped upstream task.")},
        {"retries", QT_TRANSLATE_NOOP("flowdeck::help", "Attempts after a failed one.")},
        {"retry_delay_s", QT_TRANSLATE_NOOP("flowdeck::help", "Seconds between attempts.")},
        {"timeout_s", QT_TRANSLATE_NOOP("flowdeck::help", "An attempt running longer fails as TimedOut.")},
        {"description", QT_TRANSLATE_NOOP("flowdeck::help", "Text for people.")},
    };
    QString html = QStringLiteral("<h2>%1</h2>").arg(tr("Flow files"));
    html
        += QStringLiteral("<p>%1</p>")
               .arg(tr("A flow is a JSON file: <code>name</code>, optional <code>parameters</code> (defaults "
                       "that <code>{{name}}</code> in task fields refers to, changeable when it starts) and "
                       "<code>tasks</code>, a list of task objects. Every task may have these fields; the "
                       "rest are its kind's own."));
    html += QStringLiteral("<table border=\"1\" cellspacing=\"0\" cellpadding=\"3\">");
    for (const CommonField& field : common)
        html += QStringLiteral("<tr><td>%1</td><td>%2</td></tr>")
                    .arg(code(QString::fromLatin1(field.name)), tr(field.help).toHtmlEscaped());
    html += QStringLiteral("</table>");

    html += QStringLiteral("<h3>%1</h3>").arg(tr("Kinds"));
    const TaskKindRegistry& registry = TaskKindRegistry::instance();
    for (const QString& name : registry.names()) {
        const TaskKind* kind = registry.find(name);
        if (!kind)
            continue;
        html += QStringLiteral("<h4><a name=\"kind-%1\"></a>%2</h4><p>%3</p>")
                    .arg(name.toHtmlEscaped(), code(name), kind->summary().toHtmlEscaped());
        const QList<FieldSpec> fields = kind->fields();
        if (fields.isEmpty()) {
            html += QStringLiteral("<p><i>%1</i></p>").arg(tr("No fields of its own."));
            continue;
        }
        html += QStringLiteral("<table border=\"1\" cellspacing=\"0\" cellpadding=\"3\">");
        for (const FieldSpec& field : fields) {
            html += QStringLiteral("<tr><td>%1%2</td><td>%3</td><td>%4</td></tr>")
                        .arg(code(field.name), field.required ? tr(" (required)") : QString(),
                             fieldTypeText(field).toHtmlEscaped(), field.help.toHtmlEscaped());
        }
        html += QStringLiteral("</table>");
    }
    return html;
}

QString statesHtml()
{
    QString html = QStringLiteral("<h2>%1</h2>").arg(tr("States and colours"));
    html
        += QStringLiteral("<p>%1</p>")
               .arg(tr("Each flow run and task run is in one state. The badges in the tables and the bars of "
                       "the timeline use the colour of the state's type: a timeline row shows a task run's "
                       "time in each state, left to right; a dashed line marks the present."));
    html += QStringLiteral("<table border=\"1\" cellspacing=\"0\" cellpadding=\"3\">");
    html += QStringLiteral("<tr><th></th><th>%1</th><th>%2</th><th>%3</th></tr>")
                .arg(tr("State"), tr("Type"), tr("Meaning"));
    for (int i = 0; i < StateNameCount; ++i) {
        const auto name = StateName(i);
        const StateType type = typeOf(name);
        html += QStringLiteral("<tr>%1<td><b>%2</b></td><td>%3</td><td>%4</td></tr>")
                    .arg(swatch(stateColor(type)), toString(name).toHtmlEscaped(),
                         stateLabel(type).toHtmlEscaped(), stateDescription(name).toHtmlEscaped());
    }
    html += QStringLiteral("</table>");
    return html;
}

QString keyboardHtml(const QList<HelpShortcut>& shortcuts)
{
    QString html = QStringLiteral("<h2>%1</h2>").arg(tr("Keyboard"));
    html += QStringLiteral("<p>%1</p>")
                .arg(tr("Tab and Shift+Tab move between the page list, the toolbars, the filters and the "
                        "tables; arrows move inside a table or list; Enter opens the selected run or starts "
                        "the selected flow; Alt with the underlined letter opens a menu (Alt+F: File)."));
    html += QStringLiteral("<table border=\"1\" cellspacing=\"0\" cellpadding=\"3\">");
    for (const HelpShortcut& shortcut : shortcuts)
        html += QStringLiteral("<tr><td><b>%1</b></td><td>%2</td></tr>")
                    .arg(shortcut.keys.toHtmlEscaped(), shortcut.what.toHtmlEscaped());
    html += QStringLiteral("</table>");
    return html;
}

QString documentHtml(const QList<HelpShortcut>& shortcuts)
{
    return QStringLiteral("<html><body>") + keyboardHtml(shortcuts) + statesHtml() + flowFormatHtml()
        + QStringLiteral("</body></html>");
}

} // namespace flowdeck::helptext
