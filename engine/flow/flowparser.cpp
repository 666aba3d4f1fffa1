#include "flow/flowparser.h"

#include "flow/cachepolicy.h"
#include "flow/fieldchecker.h"
#include "flow/jsonpath.h"
#include "flow/jsontext.h"
#include "flow/referencecheck.h"
#include "flow/references.h"
#include "flow/subflows.h"
#include "flow/substitution.h"
#include "flow/taskkind.h"
#include "flow/tasklist.h"

#include <QFile>
#include <QHash>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonParseError>
#include <QSet>

#include <algorithm>
#include <cmath>
#include <limits>

namespace flowdeck {

using namespace detail;

namespace {
//! Refuses a flow whose task runs, over all its tasks, exceed MaxTaskRunsPerFlowRun; the error is
//! placed at the task that takes the total over. Only for a flow without other errors (so
//! "map_over" names a mapped task and there is no cycle).
void checkTotalTaskRuns(const QList<TaskDef>& tasks, FieldChecker& check)
{
    QHash<QString, qsizetype> byId;
    for (qsizetype i = 0; i < tasks.size(); ++i)
        byId.insert(tasks.at(i).id, i);
    QList<qint64> counts(tasks.size(), -1);
    const auto countOf = [&](qsizetype index, const auto& self) -> qint64 {
        if (counts.at(index) >= 0)
            return counts.at(index);
        const TaskDef& task = tasks.at(index);
        const qint64 count
            = task.mapOver.isEmpty() ? qint64(task.map.value_or(1)) : self(byId.value(task.mapOver), self);
        counts[index] = count;
        return count;
    };
    qint64 total = 0;
    for (qsizetype i = 0; i < tasks.size(); ++i) {
        total += countOf(i, countOf);
        if (total <= MaxTaskRunsPerFlowRun)
            continue;
        const TaskDef& task = tasks.at(i);
        const QString path = task.map ? childPath(taskPath(i), QStringLiteral("map"))
            : task.mapOver.isEmpty()  ? taskPath(i)
                                      : childPath(taskPath(i), QStringLiteral("map_over"));
        check.error(path,
                    QStringLiteral("the flow would have more than %1 task runs (the most a flow run may "
                                   "have), counting the tasks up to this one")
                        .arg(MaxTaskRunsPerFlowRun));
        return;
    }
}

QJsonObject resolveParameters(const QJsonObject& document, const QJsonObject& overrides,
                              ValidationErrors& errors)
{
    FieldChecker check(errors);
    QJsonObject parameters;
    const QJsonValue value = document.value(QStringLiteral("parameters"));
    if (value.isObject()) {
        parameters = value.toObject();
        for (auto it = parameters.constBegin(); it != parameters.constEnd(); ++it) {
            const QString path = childPath(QStringLiteral("parameters"), it.key());
            if (it.key() == mapIndexName())
                check.error(path, QStringLiteral("\"map_index\" is reserved and cannot be a parameter name"));
            else if (!isValidName(it.key()))
                check.error(
                    path, QStringLiteral("invalid parameter name %1: %2").arg(quoted(it.key()), nameRule()));
        }
    } else if (!value.isUndefined()) {
        check.typeError(QStringLiteral("parameters"), QStringLiteral("an object"), value);
    }

    for (auto it = overrides.begin(); it != overrides.end(); ++it) {
        const QString path = childPath(QStringLiteral("parameters"), it.key());
        if (!parameters.contains(it.key())) {
            check.error(path, QStringLiteral("no parameter named %1 to override").arg(quoted(it.key())));
            continue;
        }
        const QJsonValue defaultValue = parameters.value(it.key());
        if (!defaultValue.isNull() && jsonTypeName(defaultValue) != jsonTypeName(it.value())) {
            check.error(path,
                        QStringLiteral(
                            "the override for %1 has the wrong type: expected %2 like the default, found %3")
                            .arg(quoted(it.key()), jsonTypeName(defaultValue), jsonTypeName(it.value())));
            continue;
        }
        parameters.insert(it.key(), it.value());
    }
    return parameters;
}

//! The flow's own "result": parameters substituted, references to task results checked.
void resolveFlowResult(const QJsonObject& document, FlowDefinition& flow, ValidationErrors& errors)
{
    const QString key = QStringLiteral("result");
    if (!document.contains(key))
        return;
    ParameterSubstitution substitution(flow.parameters, errors);
    substitution.setMapIndexAllowed(false,
                                    QStringLiteral("{{map_index}} cannot be used in the flow's result"));
    flow.result = substitution.apply(document.value(key), key);
    ReferenceScope scope;
    scope.taskResultsOnly = true;
    const auto isTask = [&flow](const QString& id) { return flow.indexOf(id) >= 0; };
    for (const ResultUse& use : checkReferences(flow.result, key, scope, isTask, errors)) {
        if (!flow.resultReads.contains(use.task))
            flow.resultReads.append(use.task);
    }
}

} // namespace

FlowParser::FlowParser(const TaskKindRegistry& kinds)
    : m_kinds(kinds)
{
}

std::optional<FlowDefinition> FlowParser::parse(const QByteArray& json, const QString& source,
                                                ValidationErrors& errors, const QJsonObject& overrides) const
{
    QJsonParseError parseError;
    const QJsonDocument document = QJsonDocument::fromJson(json, &parseError);
    if (parseError.error != QJsonParseError::NoError) {
        const qsizetype offset = std::clamp<qsizetype>(parseError.offset, 0, json.size());
        const qsizetype line = json.left(offset).count('\n') + 1;
        const qsizetype lineStart = offset > 0 ? json.lastIndexOf('\n', offset - 1) + 1 : 0;
        const qsizetype column = QString::fromUtf8(json.mid(lineStart, offset - lineStart)).size() + 1;
        errors.append({QStringLiteral("line %1, column %2").arg(line).arg(column),
                       QStringLiteral("invalid JSON: ") + parseError.errorString()});
        return std::nullopt;
    }
    if (!document.isObject()) {
        const QString found = document.isArray() ? QStringLiteral("an array") : QStringLiteral("nothing");
        errors.append({QString(), QStringLiteral("expected a JSON object at the top level, found ") + found});
        return std::nullopt;
    }
    return resolve(document.object(), source, errors, overrides);
}

std::optional<FlowDefinition> FlowParser::parseFile(const QString& path, ValidationErrors& errors,
                                                    const QJsonObject& overrides) const
{
    QFile file(path);
    if (!file.open(QIODevice::ReadOnly)) {
        errors.append({QString(),
                       QStringLiteral("cannot read flow file %1: %2").arg(quoted(path), file.errorString())});
        return std::nullopt;
    }
    return parse(file.readAll(), path, errors, overrides);
}

std::optional<FlowDefinition> FlowParser::resolve(const QJsonObject& document, const QString& source,
                                                  ValidationErrors& errors,
                                                  const QJsonObject& overrides) const
{
    const qsizetype errorsBefore = errors.size();
    FieldChecker check(errors);
    FlowDefinition flow;
    flow.source = source;
    flow.document = document;

    const QString nameKey = QStringLiteral("name");
    const QJsonValue name = document.value(nameKey);
    if (name.isUndefined())
        check.missing(nameKey, nameKey);
    else if (!name.isString())
        check.typeError(nameKey, QStringLiteral("a string"), name);
    else if (name.toString().trimmed().isEmpty())
        check.error(nameKey, QStringLiteral("must not be empty"));
    else
        flow.name = name.toString();

    const QString descriptionKey = QStringLiteral("description");
    const QJsonValue description = document.value(descriptionKey);
    if (description.isString())
        flow.description = description.toString();
    else if (!description.isUndefined())
        check.typeError(descriptionKey, QStringLiteral("a string"), description);

    flow.parameters = resolveParameters(document, overrides, errors);

    const QString seedKey = QStringLiteral("seed");
    const QJsonValue seed = document.value(seedKey);
    if (!seed.isUndefined()) {
        FieldSpec spec{seedKey, FieldType::Integer, false, 0.0, 9.2e18, {}};
        if (check.field(seed, spec, seedKey))
            flow.seed = static_cast<quint64>(seed.toInteger());
    }

    const QString retriesKey = QStringLiteral("retries");
    const QJsonValue retries = document.value(retriesKey);
    if (!retries.isUndefined())
        check.field(retries, FieldSpec{retriesKey, FieldType::Integer, false, 0.0, {}, {}}, retriesKey);

    const QString concurrencyKey = QStringLiteral("concurrency");
    const QJsonValue concurrency = document.value(concurrencyKey);
    if (!concurrency.isUndefined())
        flow.concurrency = parseLimitList(concurrency, concurrencyKey, check);

    // A cap on the flow's flow runs active at once (queued and scheduled runs), and what a run over it
    // does: waits in SCHEDULED ("enqueue", the default) or ends CANCELLED ("skip").
    const QString maxActiveKey = QStringLiteral("max_active_runs");
    const QJsonValue maxActive = document.value(maxActiveKey);
    if (!maxActive.isUndefined()
        && check.field(maxActive, FieldSpec{maxActiveKey, FieldType::Integer, false, 1.0, {}, {}},
                       maxActiveKey))
        flow.maxActiveRuns = int(maxActive.toInteger());
    const QString onLimitKey = QStringLiteral("on_limit");
    const QJsonValue onLimit = document.value(onLimitKey);
    if (!onLimit.isUndefined()) {
        if (onLimit != QJsonValue(QStringLiteral("enqueue")) && onLimit != QJsonValue(QStringLiteral("skip")))
            check.error(onLimitKey, QStringLiteral("must be \"enqueue\" or \"skip\""));
        else
            flow.skipOnLimit = onLimit.toString() == u"skip";
    }

    const QStringList topLevel = {nameKey,
                                  descriptionKey,
                                  QStringLiteral("parameters"),
                                  seedKey,
                                  QStringLiteral("tasks"),
                                  retriesKey,
                                  concurrencyKey,
                                  maxActiveKey,
                                  onLimitKey,
                                  QStringLiteral("result")};
    for (auto it = document.begin(); it != document.end(); ++it) {
        if (!topLevel.contains(it.key()))
            check.error(it.key(), QStringLiteral("unknown field %1").arg(quoted(it.key())));
    }

    const QString tasksKey = QStringLiteral("tasks");
    const QJsonValue tasks = document.value(tasksKey);
    if (tasks.isUndefined()) {
        check.missing(tasksKey, tasksKey);
    } else if (!tasks.isArray()) {
        check.typeError(tasksKey, QStringLiteral("a list of tasks"), tasks);
    } else if (tasks.toArray().isEmpty()) {
        check.error(tasksKey, QStringLiteral("a flow needs at least one task"));
    } else {
        flow.tasks = resolveTaskList(m_kinds, flow.parameters, tasks.toArray(), errors);
        if (errors.size() == errorsBefore)
            checkTotalTaskRuns(flow.tasks, check);
        resolveSubflows(flow, errors);
    }
    resolveFlowResult(document, flow, errors);

    if (errors.size() > errorsBefore)
        return std::nullopt;
    return flow;
}

namespace {

//! VALUE of a "NAME=VALUE" override as the JSON type of the parameter's default, or nullopt with a
//! one-line \a error.
std::optional<QJsonValue> overrideValue(const QString& name, const QString& value,
                                        const QJsonValue& defaultValue, QString& error)
{
    switch (defaultValue.type()) {
    case QJsonValue::Double: {
        bool ok = false;
        const double number = value.trimmed().toDouble(&ok);
        if (!ok || !std::isfinite(number)) {
            error = QStringLiteral("parameter %1 expects a number, got %2").arg(quoted(name), quoted(value));
            return std::nullopt;
        }
        if (isIntegral(number) && std::abs(number) < 9.0e15)
            return QJsonValue(static_cast<qint64>(number));
        return QJsonValue(number);
    }
    case QJsonValue::Bool: {
        const QString word = value.trimmed().toLower();
        if (word != QStringLiteral("true") && word != QStringLiteral("false")) {
            error = QStringLiteral("parameter %1 expects true or false, got %2")
                        .arg(quoted(name), quoted(value));
            return std::nullopt;
        }
        return QJsonValue(word == QStringLiteral("true"));
    }
    case QJsonValue::String:
        return QJsonValue(value);
    case QJsonValue::Array:
    case QJsonValue::Object: {
        const bool wantArray = defaultValue.isArray();
        QJsonParseError parseError;
        const QJsonDocument document = QJsonDocument::fromJson(value.toUtf8(), &parseError);
        const QString expected = wantArray ? QStringLiteral("a JSON array") : QStringLiteral("a JSON object");
        if (parseError.error != QJsonParseError::NoError) {
            error = QStringLiteral("parameter %1 expects %2, got %3 (%4)")
                        .arg(quoted(name), expected, quoted(value), parseError.errorString());
            return std::nullopt;
        }
        if (wantArray != document.isArray()) {
            error = QStringLiteral("parameter %1 expects %2, got %3")
                        .arg(quoted(name), expected, quoted(value));
            return std::nullopt;
        }
        if (wantArray)
            return QJsonValue(document.array());
        return QJsonValue(document.object());
    }
    case QJsonValue::Null:
    case QJsonValue::Undefined:
        break;
    }
    // A null default has no type to convert to: take JSON if it parses, else the text.
    QJsonParseError parseError;
    const QJsonDocument wrapped
        = QJsonDocument::fromJson(QByteArray('[' + value.toUtf8() + ']'), &parseError);
    if (parseError.error == QJsonParseError::NoError && wrapped.array().size() == 1)
        return wrapped.array().at(0);
    return QJsonValue(value);
}

} // namespace

bool FlowParser::parseOverride(const QString& text, const QJsonObject& defaults, QJsonObject& overrides,
                               QString* error)
{
    const auto fail = [&](const QString& message) {
        if (error)
            *error = message;
        return false;
    };
    const qsizetype equals = text.indexOf(u'=');
    if (equals < 0)
        return fail(QStringLiteral("invalid parameter override %1: expected NAME=VALUE").arg(quoted(text)));
    const QString name = text.left(equals).trimmed();
    const QString value = text.mid(equals + 1);
    if (name.isEmpty())
        return fail(
            QStringLiteral("invalid parameter override %1: the parameter name is empty").arg(quoted(text)));
    if (!defaults.contains(name)) {
        QStringList known = defaults.keys();
        const QString hint = known.isEmpty()
            ? QStringLiteral("the flow has no parameters")
            : QStringLiteral("parameters: ") + known.join(QStringLiteral(", "));
        return fail(QStringLiteral("unknown parameter %1 (%2)").arg(quoted(name), hint));
    }
    QString message;
    const std::optional<QJsonValue> converted = overrideValue(name, value, defaults.value(name), message);
    if (!converted)
        return fail(message);
    overrides.insert(name, *converted);
    return true;
}

} // namespace flowdeck
