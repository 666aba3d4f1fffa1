#include "flow/taskkind.h"

#include <algorithm>

namespace flowdeck {

QString toString(FieldType type)
{
    switch (type) {
    case FieldType::Number:
        return QStringLiteral("a number");
    case FieldType::Integer:
        return QStringLiteral("an integer");
    case FieldType::String:
        return QStringLiteral("a string");
    case FieldType::Bool:
        return QStringLiteral("true or false");
    case FieldType::StringList:
        return QStringLiteral("a list of strings");
    case FieldType::StringMap:
        return QStringLiteral("an object of strings");
    case FieldType::NumberOrRange:
        return QStringLiteral("a number or [min, max]");
    case FieldType::IntegerOrList:
        return QStringLiteral("an integer or a list of integers");
    case FieldType::StringOrObject:
        return QStringLiteral("a string or an object");
    case FieldType::Any:
        return QStringLiteral("any value");
    }
    return QString();
}

TaskKindRegistry& TaskKindRegistry::instance()
{
    static TaskKindRegistry registry;
    return registry;
}

TaskKindRegistry::TaskKindRegistry()
{
    registerBuiltinKinds(*this);
}

void TaskKindRegistry::add(std::unique_ptr<TaskKind> kind)
{
    const QString name = kind->name();
    auto it = std::find_if(m_kinds.begin(), m_kinds.end(), [&](const auto& k) { return k->name() == name; });
    if (it != m_kinds.end())
        *it = std::move(kind);
    else
        m_kinds.push_back(std::move(kind));
}

const TaskKind* TaskKindRegistry::find(const QString& name) const
{
    for (const auto& kind : m_kinds) {
        if (kind->name() == name)
            return kind.get();
    }
    return nullptr;
}

QStringList TaskKindRegistry::names() const
{
    QStringList out;
    for (const auto& kind : m_kinds)
        out << kind->name();
    out.sort();
    return out;
}

} // namespace flowdeck
