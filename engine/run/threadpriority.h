#pragma once

namespace flowdeck {

//! How far below the GUI thread a helper thread runs (Linux nice steps, per thread).
enum class BackgroundLevel {
    Database = 4,   //!< database threads: the batch writer, the pages' queries
    Blocking = 4,   //!< blocking task bodies
    Maintenance = 8 //!< WAL checkpoints and other work nobody waits for
};

/**
 * Gives the calling thread a lower share of the CPU than the GUI thread: a higher nice value (Linux
 * keeps one per thread) and SCHED_BATCH, so that waking it never preempts the GUI thread. QThread's
 * priorities do nothing under Linux's default policy. Best effort: a failure changes nothing.
 */
void lowerCurrentThreadPriority(BackgroundLevel level);

} // namespace flowdeck
