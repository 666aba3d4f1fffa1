#pragma once

#include "flow/flow.h"

#include <QJsonArray>
#include <QJsonObject>
#include <QList>

namespace flowdeck {

class TaskKindRegistry;

namespace detail {
class FieldChecker;

//! A task id or parameter name: letters, digits, "_", "-" and "." (nameRule() says so to people).
bool isValidName(const QString& name);
QString nameRule();

//! A "concurrency" list (limit names, or {"name", "occupy", "strict"}) at \a path; errors go to \a check.
QList<LimitUse> parseLimitList(const QJsonValue& value, const QString& path, FieldChecker& check);
} // namespace detail

/**
 * A flow document's "tasks" as TaskDefs: each task's parameters substituted ({{name}}), its common
 * fields and its kind's fields checked, dependencies (depends_on, map_over and result references)
 * resolved and cycles found. Every mistake is added to \a errors with its place (tasks[2].map); the
 * returned list is only meaningful when none was added.
 */
QList<TaskDef> resolveTaskList(const TaskKindRegistry& kinds, const QJsonObject& parameters,
                               const QJsonArray& tasks, ValidationErrors& errors);

} // namespace flowdeck
