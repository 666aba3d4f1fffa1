#pragma once

#include <memory>

namespace flowdeck {

class TaskKind;

// The http kind: one HTTP request, checked against the expected status.
std::unique_ptr<TaskKind> makeHttpKind();

} // namespace flowdeck
