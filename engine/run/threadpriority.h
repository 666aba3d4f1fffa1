#pragma once

#include <cstdint>

namespace flowdeck {

//! How far below the GUI thread a helper thread runs (Linux nice steps, per thread), and how.
enum class BackgroundLevel {
    Database = 4,   //!< database threads: the batch writer, the pages' queries (SCHED_BATCH)
    Blocking = 4,   //!< blocking task bodies (SCHED_BATCH)
    Maintenance = 8 //!< WAL checkpoints and other work nobody waits for (SCHED_IDLE)
};

/**
 * Gives the calling thread a lower share of the CPU than the GUI thread: a higher nice value (Linux
 * keeps one per thread) and SCHED_BATCH, so that waking it never preempts the GUI thread; for
 * Maintenance SCHED_IDLE, which runs only on a core nothing else wants and which any other thread
 * preempts at once when it wakes. QThread's priorities do nothing under Linux's default policy. Best
 * effort: a failure changes nothing.
 */
void lowerCurrentThreadPriority(BackgroundLevel level);

//! The time slice the thread that runs the event loop asks for (see requestShortSlices()).
constexpr std::int64_t LoopSliceNs = 200'000;

/**
 * Asks Linux's fair scheduler (EEVDF, Linux 6.12 and later) for short time slices for the calling
 * thread, keeping its policy and nice value. A thread that wakes with a shorter slice than the one
 * running on its core preempts it at once instead of waiting for that thread's slice to end, and its
 * share of the CPU over time stays what its nice value gives. For the event loop's thread: it sleeps
 * most of the time and has to answer within a millisecond of waking, also while the batch writer or
 * another process keeps the cores busy. Needs no privilege (unlike a lower nice value). Returns
 * whether the kernel took it; older kernels ignore the slice.
 */
bool requestShortSlices(std::int64_t sliceNs = LoopSliceNs);

//! The calling thread's time slice as the kernel reports it (ns), or 0 where it does not.
std::int64_t currentThreadSliceNs();

} // namespace flowdeck
