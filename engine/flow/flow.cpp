#include "flow/flow.h"

namespace flowdeck {

int FlowDefinition::indexOf(const QString& taskId) const
{
    for (int i = 0; i < tasks.size(); ++i) {
        if (tasks.at(i).id == taskId)
            return i;
    }
    return -1;
}

bool validTag(const QString& tag, QString* error)
{
    auto setError = [error](const QString& text) {
        if (error)
            *error = text;
        return false;
    };
    if (tag.isEmpty())
        return setError(QStringLiteral("a tag must not be empty"));
    for (const QChar c : tag) {
        if (c.isSpace() || c.category() == QChar::Other_Control)
            return setError(QStringLiteral("a tag must not contain whitespace or control characters"));
        if (c == u',')
            return setError(QStringLiteral("a tag must not contain a comma"));
    }
    return true;
}

bool validLimitName(const QString& name, QString* error)
{
    auto setError = [error](const QString& text) {
        if (error)
            *error = text;
        return false;
    };
    if (name.isEmpty())
        return setError(QStringLiteral("a limit name must not be empty"));
    for (const QChar c : name) {
        if (c == u'/' || c == u'%' || c == u'&' || c == u'>' || c == u'<')
            return setError(QStringLiteral("a limit name must not contain any of / % & > <"));
        if (c.isSpace() || c.category() == QChar::Other_Control)
            return setError(QStringLiteral("a limit name must not contain whitespace or control characters"));
        if (c == u',')
            return setError(QStringLiteral("a limit name must not contain a comma"));
    }
    return true;
}

} // namespace flowdeck
