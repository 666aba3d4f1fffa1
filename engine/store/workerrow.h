#pragma once

#include <QString>

// The worker registry as read from the store: plain rows, for the dashboard and the CLI. The queries
// that fill them are in store/workerqueries.h.
namespace flowdeck::workers {

//! One engine process as registered (workers and other flow-running processes).
struct WorkerRow {
    QString id;
    QString name; //!< empty for an engine that is not a worker
    QString kind; //!< "worker" or "engine"
    QString host;
    qint64 pid = 0;
    qint64 startedUs = 0;
    qint64 heartbeatUs = 0;
    qint64 leaseUs = 0;
    int maxFlowRuns = 0;
    int flowRunsRunning = 0; //!< as reported with the last heartbeat
    int blockingBusy = 0;
    int blockingMax = 0;
    qint64 loopLagUs = 0;
    int queued = 0; //!< flow runs waiting in the queue (the same for every row)
};

//! Whether \a row is a worker whose heartbeat (compared with the wall time \a nowUs) is within its
//! lease; an engine row without a lease of its own gets the default (30 s).
bool isOnlineWorker(const WorkerRow& row, qint64 nowUs);

} // namespace flowdeck::workers
