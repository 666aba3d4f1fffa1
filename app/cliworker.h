#pragma once

#include <QStringList>

namespace flowdeck::cli {

//! `flowdeck submit FLOW [--param NAME=VALUE]... [--db URL]`: queues a flow run for a
//! worker and prints its id as the last word.
int cmdSubmit(const QStringList& args);

//! `flowdeck worker [--db URL] [--name NAME] [--max-flow-runs N]`: claims queued flow
//! runs and runs them until SIGINT/SIGTERM, then shuts down gracefully.
int cmdWorker(const QStringList& args);

} // namespace flowdeck::cli
