#pragma once

#include "flow/flow.h"

#include <QJsonObject>
#include <QString>

#include <optional>

namespace flowdeck {

/**
 * A flow document kept in the store (a queued, retried or re-run flow run) resolved with the registered
 * kinds, its stored parameter values and seed. Nullopt when it no longer validates, with every error
 * in \a error, joined by "; ".
 */
std::optional<FlowDefinition> resolveStoredFlow(const QJsonObject& document, const QString& source,
                                                const QJsonObject& parameters, std::optional<quint64> seed,
                                                QString* error);

} // namespace flowdeck
