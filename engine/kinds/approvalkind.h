#pragma once

#include <memory>

namespace flowdeck {

class TaskKind;

//! `approval`: waits, holding no slot or thread, until someone approves or rejects the task run.
std::unique_ptr<TaskKind> makeApprovalKind();

} // namespace flowdeck
