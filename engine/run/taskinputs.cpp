#include "run/taskinputs.h"

#include "flow/fieldchecker.h"
#include "flow/jsontext.h"
#include "flow/referencecheck.h"
#include "flow/references.h"
#include "flow/substitution.h"
#include "flow/taskkind.h"
#include "run/flowrun.h"

#include <QJsonArray>

namespace flowdeck {

namespace {

const TaskNode* nodeOf(const FlowRun& flow, const QString& task)
{
    const int index = flow.def.indexOf(task);
    return index >= 0 ? &flow.nodes[size_t(index)] : nullptr;
}

std::optional<QJsonValue> lookupTaskResult(const FlowRun& flow, const Reference& reference, QString* error)
{
    const TaskNode* node = nodeOf(flow, reference.task);
    if (!node) {
        *error = QStringLiteral("reference \"{{%1}}\": no task named \"%2\"")
                     .arg(reference.text, reference.task);
        return std::nullopt;
    }
    return followPath(taskResultValue(*node), reference.path, reference.text, error);
}

bool isMapped(const TaskNode& node)
{
    return node.def->map || node.mapOverUpstream >= 0 || !node.def->forEach.isEmpty();
}

} // namespace

QJsonValue taskResultValue(const TaskNode& node)
{
    if (!isMapped(node))
        return node.runs.find(0) ? node.runs[0].result : QJsonValue();
    // Runs are released only once nothing reads their results (Engine::canRelease): none is missing.
    QJsonArray results;
    for (std::size_t i = 0; i < node.runs.constructed(); ++i)
        results.append(node.runs[i].result);
    return results;
}

std::optional<QJsonObject> resolveTaskConfig(const TaskRun& run, QString* error)
{
    const TaskNode& node = *run.node;
    const TaskDef& def = *node.def;
    QJsonObject config = def.usesMapIndex ? substituteMapIndex(node.config, run.mapIndex) : node.config;
    if (!def.usesReferences)
        return config;
    const FlowRun& flow = *run.flowRun;
    const ReferenceLookup lookup
        = [&](const Reference& reference, QString* why) -> std::optional<QJsonValue> {
        switch (reference.source) {
        case Reference::Source::TaskResult:
            return lookupTaskResult(flow, reference, why);
        case Reference::Source::UpstreamResult: {
            if (node.mapOverUpstream < 0) {
                *why = QStringLiteral("\"{{%1}}\" is only known in a task with \"map_over\"")
                           .arg(reference.text);
                return std::nullopt;
            }
            const TaskNode& up = flow.nodes[size_t(node.mapOverUpstream)];
            const TaskRun* upRun = up.runs.find(size_t(run.mapIndex));
            const QJsonValue result = upRun ? upRun->result : QJsonValue();
            return followPath(result, reference.path, reference.text, why);
        }
        case Reference::Source::Item: {
            if (!node.itemsKnown || run.mapIndex < 0 || run.mapIndex >= node.items.size()) {
                *why = QStringLiteral("\"{{%1}}\" is only known in a run of a task with \"for_each\"")
                           .arg(reference.text);
                return std::nullopt;
            }
            return followPath(node.items.at(run.mapIndex), reference.path, reference.text, why);
        }
        }
        return std::nullopt;
    };
    const auto isTask = [&flow](const QString& id) { return flow.def.indexOf(id) >= 0; };
    QJsonObject resolved = config;
    for (auto it = config.begin(); it != config.end(); ++it) {
        if (!containsReference(it.value()))
            continue;
        std::optional<QJsonValue> value = renderReferences(it.value(), lookup, isTask, error);
        if (!value) {
            *error = QStringLiteral("%1: %2").arg(it.key(), *error);
            return std::nullopt;
        }
        resolved.insert(it.key(), *value);
    }
    // A whole-field reference had no type when the flow was checked: its value is checked now.
    ValidationErrors errors;
    detail::FieldChecker check(errors);
    for (const FieldSpec& spec : node.kind->fields()) {
        const auto it = config.constFind(spec.name);
        if (it == config.constEnd() || !detail::isWholeReference(it.value()))
            continue;
        if (!check.field(resolved.value(spec.name), spec, spec.name)) {
            *error = QStringLiteral("%1 (the value of %2)")
                         .arg(errors.constLast().toString(), it.value().toString());
            return std::nullopt;
        }
    }
    return resolved;
}

std::optional<QJsonValue> resolveFlowResult(const FlowRun& flow, QString* error)
{
    if (flow.def.result.isUndefined())
        return QJsonValue(QJsonValue::Undefined);
    const ReferenceLookup lookup
        = [&](const Reference& reference, QString* why) -> std::optional<QJsonValue> {
        if (reference.source != Reference::Source::TaskResult) {
            *why = QStringLiteral("\"{{%1}}\" cannot be used in the flow's result").arg(reference.text);
            return std::nullopt;
        }
        return lookupTaskResult(flow, reference, why);
    };
    const auto isTask = [&flow](const QString& id) { return flow.def.indexOf(id) >= 0; };
    std::optional<QJsonValue> value = renderReferences(flow.def.result, lookup, isTask, error);
    if (!value)
        *error = QStringLiteral("the flow's result: ") + *error;
    return value;
}

} // namespace flowdeck
