#pragma once

#include "flow/flow.h"

#include <QJsonValue>
#include <QString>

#include <optional>

namespace flowdeck::detail {

class FieldChecker;

/**
 * Reads a task's "cache" field at \a path: "inputs", or {"key": TEXT, "expiration_s": N} (both
 * optional fields but one of "key" or "inputs": true). Every mistake is an error at its place; nullopt
 * then.
 */
std::optional<CachePolicy> parseCachePolicy(const QJsonValue& value, const QString& path,
                                            FieldChecker& check);

} // namespace flowdeck::detail
