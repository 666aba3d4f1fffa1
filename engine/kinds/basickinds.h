#pragma once

#include <memory>

namespace flowdeck {

class TaskKind;

// Kinds that need nothing but the event loop: noop, sleep (a timer) and fail.
std::unique_ptr<TaskKind> makeNoopKind();
std::unique_ptr<TaskKind> makeSleepKind();
std::unique_ptr<TaskKind> makeFailKind();

} // namespace flowdeck
