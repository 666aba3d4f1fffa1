#pragma once

#include <memory>

namespace flowdeck {

class TaskKind;

// Kinds that block: on the blocking pool (blocking), or on purpose on the event loop (loop_block).
std::unique_ptr<TaskKind> makeBlockingKind();
std::unique_ptr<TaskKind> makeLoopBlockKind();

} // namespace flowdeck
