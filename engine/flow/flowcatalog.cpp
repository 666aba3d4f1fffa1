#include "flow/flowcatalog.h"

#include <QJsonArray>

namespace flowdeck {

FlowBuilder::FlowBuilder(const QString& name)
{
    m_document.insert(QStringLiteral("name"), name);
}

FlowBuilder& FlowBuilder::description(const QString& text)
{
    m_document.insert(QStringLiteral("description"), text);
    return *this;
}

FlowBuilder& FlowBuilder::parameter(const QString& name, const QJsonValue& defaultValue)
{
    m_parameters.insert(name, defaultValue);
    return *this;
}

FlowBuilder& FlowBuilder::seed(quint64 seed)
{
    m_document.insert(QStringLiteral("seed"), qint64(seed));
    return *this;
}

FlowBuilder& FlowBuilder::task(const QString& id, const QString& kind, const QJsonObject& fields)
{
    QJsonObject task = fields;
    task.insert(QStringLiteral("id"), id);
    task.insert(QStringLiteral("kind"), kind);
    m_tasks.append(task);
    return *this;
}

QJsonObject FlowBuilder::document() const
{
    QJsonObject doc = m_document;
    if (!m_parameters.isEmpty())
        doc.insert(QStringLiteral("parameters"), m_parameters);
    QJsonArray tasks;
    for (const QJsonObject& task : m_tasks)
        tasks.append(task);
    doc.insert(QStringLiteral("tasks"), tasks);
    return doc;
}

FlowCatalog& FlowCatalog::instance()
{
    static FlowCatalog catalog;
    return catalog;
}

void FlowCatalog::add(const QJsonObject& document)
{
    const QString name = document.value(QStringLiteral("name")).toString();
    for (QJsonObject& doc : m_documents) {
        if (doc.value(QStringLiteral("name")).toString() == name) {
            doc = document;
            return;
        }
    }
    m_documents.append(document);
}

std::optional<QJsonObject> FlowCatalog::find(const QString& name) const
{
    for (const QJsonObject& doc : m_documents) {
        if (doc.value(QStringLiteral("name")).toString() == name)
            return doc;
    }
    return std::nullopt;
}

QStringList FlowCatalog::names() const
{
    QStringList out;
    for (const QJsonObject& doc : m_documents)
        out << doc.value(QStringLiteral("name")).toString();
    return out;
}

} // namespace flowdeck
