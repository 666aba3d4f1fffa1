#pragma once

#include <QJsonObject>
#include <QJsonValue>
#include <QString>

#include <optional>

namespace flowdeck {

struct FlowRun;
struct TaskNode;
struct TaskRun;

/**
 * The configuration a task run's kind is handed: its task's fields with "{{map_index}}", "{{item}}",
 * "{{upstream.result}}" and "{{tasks.ID.result...}}" resolved (flow/references.h), and the values of
 * whole-field references checked against the kind's fields. Returns nullopt with \a error naming the
 * reference (and, for a path that misses, the keys that exist) when it cannot be resolved.
 */
std::optional<QJsonObject> resolveTaskConfig(const TaskRun& run, QString* error);

//! The flow's own result ("result" in its document) with its references resolved; undefined when it
//! declares none.
std::optional<QJsonValue> resolveFlowResult(const FlowRun& flow, QString* error);

//! A task's result as a reference reads it: its run's result, or for a mapped task (map, map_over,
//! for_each) the array of its runs' results in map order.
QJsonValue taskResultValue(const TaskNode& node);

} // namespace flowdeck
