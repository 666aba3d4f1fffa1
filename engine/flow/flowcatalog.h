#pragma once

#include <QJsonObject>
#include <QJsonValue>
#include <QList>
#include <QString>
#include <QStringList>

#include <optional>

namespace flowdeck {

/**
 * Builds a flow document in C++: the same data a JSON flow file holds, so code-defined flows are
 * validated, parameterised and run exactly like files.
 */
class FlowBuilder {
public:
    explicit FlowBuilder(const QString& name);
    FlowBuilder& description(const QString& text);
    FlowBuilder& parameter(const QString& name, const QJsonValue& defaultValue);
    FlowBuilder& seed(quint64 seed);
    //! Adds a task; \a fields holds its kind's fields and common ones (depends_on, map, tags, ...).
    FlowBuilder& task(const QString& id, const QString& kind, const QJsonObject& fields = {});
    QJsonObject document() const;

private:
    QJsonObject m_document;
    QJsonObject m_parameters;
    QList<QJsonObject> m_tasks;
};

//! Flows defined in code, registered at start-up and run by name (`flowdeck run NAME`).
class FlowCatalog {
public:
    static FlowCatalog& instance();
    //! Adds or replaces the flow named by the document's "name".
    void add(const QJsonObject& document);
    std::optional<QJsonObject> find(const QString& name) const;
    QStringList names() const;

private:
    QList<QJsonObject> m_documents;
};

} // namespace flowdeck
