#pragma once

// Bare probes for the benchmarks: what this machine does right now, measured in the same run as a
// benchmark's figure, so that the figure divided by its probe compares across machines (absolute
// timings move by 2x and more between machines and with load).

#include <QString>

namespace flowdeck::bench {

//! Microseconds per coroutine for \a coroutines coroutines that each go through the engine's
//! batched ready queue (Scheduler) three times: the cost of the engine's own hand-offs, without
//! any task run, kind or store. Median of 3.
double readyQueueProbeUs(int coroutines = 100000);

//! Rows per second SQLite inserts in one transaction into a WAL database at \a path (a file that
//! does not exist yet): one prepared insert of three columns, 100,000 rows.
double sqliteRowsPerSecond(const QString& path);

//! Prints the ready-queue probe line that benchmarks put above their tables and returns the probe.
double printReadyQueueProbe();

} // namespace flowdeck::bench
