#include "flowtestkinds.h"

#include <QJsonDocument>

#include <memory>

using namespace flowdeck;

namespace flowdeck::test {

namespace {

FieldSpec field(const QString& name, FieldType type, bool required = false, std::optional<double> min = {},
                std::optional<double> max = {})
{
    FieldSpec spec;
    spec.name = name;
    spec.type = type;
    spec.required = required;
    spec.min = min;
    spec.max = max;
    return spec;
}

//! A kind with one field of every type, and a cross-field rule, so every check has a target.
class ProbeKind : public TaskKind {
public:
    QString name() const override { return QStringLiteral("probe"); }
    QString summary() const override { return QStringLiteral("accepts one field of every type"); }
    QList<FieldSpec> fields() const override
    {
        return {
            field(QStringLiteral("text"), FieldType::String, true),
            field(QStringLiteral("number"), FieldType::Number, false, 0.0, 10.0),
            field(QStringLiteral("integer"), FieldType::Integer),
            field(QStringLiteral("flag"), FieldType::Bool),
            field(QStringLiteral("list"), FieldType::StringList),
            field(QStringLiteral("env"), FieldType::StringMap),
            field(QStringLiteral("range"), FieldType::NumberOrRange, false, 0.0),
            field(QStringLiteral("codes"), FieldType::IntegerOrList, false, 100.0, 599.0),
            field(QStringLiteral("body"), FieldType::StringOrObject),
            field(QStringLiteral("any"), FieldType::Any),
        };
    }
    void validate(const QJsonObject& config, const QString& path, ValidationErrors& errors) const override
    {
        if (config.contains(QStringLiteral("number")) && config.contains(QStringLiteral("range")))
            errors.append({path + QStringLiteral(".range"),
                           QStringLiteral("use either \"number\" or \"range\", not both")});
    }
    QCoro::Task<TaskOutcome> run(TaskContext&) const override { co_return TaskOutcome::success(); }
};

//! A kind without fields of its own.
class PlainKind : public TaskKind {
public:
    QString name() const override { return QStringLiteral("plain"); }
    QString summary() const override { return QStringLiteral("does nothing"); }
    QList<FieldSpec> fields() const override { return {}; }
    QCoro::Task<TaskOutcome> run(TaskContext&) const override { co_return TaskOutcome::success(); }
};

} // namespace
void addTestKinds()
{
    TaskKindRegistry::instance().add(std::make_unique<ProbeKind>());
    TaskKindRegistry::instance().add(std::make_unique<PlainKind>());
}

QByteArray flowWith(const QByteArray& tasks, const QByteArray& parameters)
{
    return "{\"name\": \"test\", \"parameters\": " + parameters + ", \"tasks\": " + tasks + "}";
}

QStringList errorTexts(const ValidationErrors& errors)
{
    QStringList texts;
    for (const ValidationError& error : errors)
        texts.append(error.toString());
    return texts;
}

QJsonObject jsonObject(const QByteArray& json)
{
    return QJsonDocument::fromJson(json).object();
}

QJsonArray jsonArray(const QByteArray& json)
{
    return QJsonDocument::fromJson(json).array();
}

} // namespace flowdeck::test
