#pragma once

#include <QJsonObject>
#include <QString>

#include <optional>

namespace flowdeck {

/**
 * The configuration one task run ran with: its task's kind fields from the flow \a document with
 * the run's \a parameters substituted, and "{{map_index}}" replaced by \a mapIndex (-1: not mapped).
 * Sets \a kind (when given) to the task's kind. Returns nullopt with \a error set when the document
 * no longer resolves or has no such task.
 */
std::optional<QJsonObject> resolvedTaskConfig(const QJsonObject& document, const QJsonObject& parameters,
                                              const QString& task, int mapIndex, QString* error,
                                              QString* kind = nullptr);

} // namespace flowdeck
