#pragma once

#include "clicommon.h"

#include <QCoro/QCoroTask>
#include <QStringList>

#include <functional>

namespace flowdeck {
class Engine;
class RunLimitGate;
struct FlowRun;
struct GateOutcome;
} // namespace flowdeck

namespace flowdeck::cli {

//! The flow run a headless command started, or why it could not.
struct HeadlessStart {
    FlowRun* run = nullptr;
    QString error;    //!< without the "flowdeck COMMAND: " prefix
    int exitCode = 1; //!< when run is null
    QString note;     //!< when run is null and that is fine (exitCode 0): printed instead of an error
};

//! What a headless command prints and returns for a start through the run limit gate: the run when
//! it started; otherwise "flow run ID skipped: why" (ExitSkipped), "... cancelled while it waited"
//! (ExitCancelled), or the failure (ExitFailed).
HeadlessStart headlessStart(const GateOutcome& outcome);

//! How many task runs a run of \a flow has, over all its tasks.
qint64 totalTaskRuns(const FlowDefinition& flow);

//! A flow run to run in this process, printed as `flowdeck run` prints it.
struct HeadlessRun {
    QString command; //!< "run", "runs retry", ...: names the command in messages
    int threads = 0;
    bool json = false;
    QString db;
    //! Starts the flow run in \a engine once the session is open; a flow with max_active_runs passes
    //! \a gate (which may keep it waiting, or skip it).
    std::function<QCoro::Task<HeadlessStart>(Engine& engine, const OpenSession& storage, RunLimitGate& gate)>
        start;
};

/**
 * Opens the database, starts the flow run, prints its progress (--json lines or human lines) and a
 * summary, and returns the exit code: 0 completed, 1 failed or crashed, 2 bad input or no database,
 * 3 skipped by the flow's max_active_runs ("on_limit": "skip"), 130 cancelled by a signal (also while
 * it waited for its max_active_runs, or left paused by one).
 */
QCoro::Task<int> runHeadless(HeadlessRun spec);

//! `flowdeck run FLOW [--param NAME=VALUE]... [--json] [--db URL]`: runs a flow headless.
int cmdRun(const QStringList& args);

} // namespace flowdeck::cli
