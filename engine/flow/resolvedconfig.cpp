#include "flow/resolvedconfig.h"

#include "flow/flowparser.h"
#include "flow/substitution.h"
#include "flow/taskkind.h"

namespace flowdeck {

std::optional<QJsonObject> resolvedTaskConfig(const QJsonObject& document, const QJsonObject& parameters,
                                              const QString& task, int mapIndex, QString* error,
                                              QString* kind)
{
    FlowParser parser(TaskKindRegistry::instance());
    ValidationErrors errors;
    const std::optional<FlowDefinition> flow
        = parser.resolve(document, QStringLiteral("stored document"), errors, parameters);
    if (!flow) {
        if (error)
            *error = errors.isEmpty()
                ? QStringLiteral("the stored flow document does not resolve")
                : QStringLiteral("the stored flow document does not resolve: ") + errors.first().toString();
        return std::nullopt;
    }
    for (const TaskDef& def : flow->tasks) {
        if (def.id != task)
            continue;
        if (kind)
            *kind = def.kind;
        QJsonObject config
            = def.usesMapIndex && mapIndex >= 0 ? substituteMapIndex(def.config, mapIndex) : def.config;
        return config;
    }
    if (error)
        *error = QStringLiteral("the stored flow document has no task \"%1\"").arg(task);
    return std::nullopt;
}

} // namespace flowdeck
