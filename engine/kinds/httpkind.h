#pragma once

#include <QJsonObject>

#include <memory>

namespace flowdeck {

class TaskKind;

// The http kind: one HTTP request, checked against the expected status.
std::unique_ptr<TaskKind> makeHttpKind();

//! The transfer timeout (ms of silence from the server before the request fails; 0: none) of an http
//! task with \a config: idle_timeout_s, else 30 s when the task has no timeout_s, else none.
int httpTransferTimeoutMs(const QJsonObject& config, bool hasTaskTimeout);

} // namespace flowdeck
