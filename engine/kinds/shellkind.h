#pragma once

#include <memory>

namespace flowdeck {

class TaskKind;

// The shell kind: runs a command, its output lines become the run's logs.
std::unique_ptr<TaskKind> makeShellKind();

} // namespace flowdeck
