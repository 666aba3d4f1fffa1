#pragma once

#include "flow/flow.h"

#include <QJsonObject>
#include <QJsonValue>
#include <QList>
#include <QString>

#include <functional>

namespace flowdeck::detail {

//! A task result that a task (or the flow's own result) reads, and where the reference is written.
struct ResultUse {
    QString task;
    QString path;
};

//! Where references may appear in a task and what it is: for the checks of checkReferences().
struct ReferenceScope {
    QString ownId;                //!< the task's own id; empty for the flow's result
    bool mapOver = false;         //!< "{{upstream.result}}" is allowed
    bool forEach = false;         //!< "{{item}}" is allowed
    bool taskResultsOnly = false; //!< the flow's result: only "{{tasks.ID.result}}"
};

/**
 * Checks every reference in the strings of \a value (at \a path): malformed references and paths,
 * unknown tasks, a task reading its own result, "{{upstream.result}}" outside map_over and
 * "{{item}}" outside for_each are errors at their place. Returns the task results read.
 */
QList<ResultUse> checkReferences(const QJsonValue& value, const QString& path, const ReferenceScope& scope,
                                 const std::function<bool(const QString&)>& isTask, ValidationErrors& errors);

//! True for a string that is exactly one reference: its JSON type is known only at run time.
bool isWholeReference(const QJsonValue& value);

} // namespace flowdeck::detail
