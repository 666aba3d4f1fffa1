#pragma once

#include <memory>

namespace flowdeck {

class TaskKind;

//! "flow": runs another flow (a file or a code-defined flow) as a subflow of the task run.
std::unique_ptr<TaskKind> makeFlowKind();

} // namespace flowdeck
