#pragma once

#include "flow/flow.h"

#include <QJsonObject>
#include <QString>

#include <optional>

namespace flowdeck {

//! The kind of a task that runs another flow as a subflow.
QString subflowKindName();

//! Where a subflow's document comes from: a file (absolute path) or a code-defined flow.
struct SubflowTarget {
    QJsonObject document;
    QString source; //!< the file's absolute path, or "code:NAME"
};

/**
 * The flow a "flow" field names, as seen from a flow whose source is \a parentSource: a path, relative
 * to the directory of \a parentSource when that is a file, or the name of a code-defined flow (a file
 * of that name wins). Nullopt with \a error when there is neither or the file is not a JSON object.
 */
std::optional<SubflowTarget> findSubflow(const QString& reference, const QString& parentSource,
                                         QString* error);

namespace detail {

/**
 * For every task of kind "flow" in \a flow: finds its flow (an error at "tasks[N].flow" when there is
 * none), writes the file's absolute path into the task's configuration and the stored document (so a
 * stored run resolves it again from anywhere), and refuses a flow that contains itself, directly or
 * through other flows, with the chain in the message.
 */
void resolveSubflows(FlowDefinition& flow, ValidationErrors& errors);

} // namespace detail

} // namespace flowdeck
