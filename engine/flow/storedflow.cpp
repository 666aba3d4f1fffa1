#include "flow/storedflow.h"

#include "flow/flowparser.h"
#include "flow/taskkind.h"

#include <QStringList>

namespace flowdeck {

std::optional<FlowDefinition> resolveStoredFlow(const QJsonObject& document, const QString& source,
                                                const QJsonObject& parameters, std::optional<quint64> seed,
                                                QString* error)
{
    ValidationErrors errors;
    std::optional<FlowDefinition> flow
        = FlowParser(TaskKindRegistry::instance()).resolve(document, source, errors, parameters);
    if (!flow) {
        QStringList lines;
        for (const ValidationError& e : errors)
            lines << e.toString();
        *error = lines.join(QStringLiteral("; "));
        return std::nullopt;
    }
    if (seed)
        flow->seed = seed;
    return flow;
}

} // namespace flowdeck
