#pragma once

#include <QList>
#include <QSqlDatabase>
#include <QString>

// Approval task runs in the store: the decisions people write (CLI, dashboard) and the process running
// the flow run reads. Functions run on a database thread (ConnectionPool::run jobs) and throw
// DatabaseError naming what failed. Every read goes through the partial index of waiting task runs.
namespace flowdeck {

//! An approval task run that waits (state_name AwaitingApproval) as stored.
struct WaitingApprovalRow {
    QString taskRunId;
    QString flowRunId;
    QString task;
    int mapIndex = -1;
    QString prompt;     //!< the task run's message while it waits
    qint64 sinceUs = 0; //!< when the task run was created
};

//! A decision written for a task run that still waits.
struct ApprovalDecisionRow {
    QString taskRunId;
    bool approved = false;
    QString reason;
    QString by;
};

enum class DecideResult {
    Decided,
    UnknownTask, //!< the flow run has no such task run
    NotWaiting,  //!< the task run exists but does not wait for a decision (or has one already)
};

//! What decideApproval did; state is the task run's named state when it did not wait.
struct DecideOutcome {
    DecideResult result = DecideResult::UnknownTask;
    QString state;       //!< "Completed", "Running", ... for NotWaiting
    QString decidedAs;   //!< "approved" / "rejected" when a decision waits to be applied
    bool mapped = false; //!< UnknownTask for TASK without an index, but the task has mapped runs
};

/**
 * Writes a decision for task run \a task (\a mapIndex, -1 when not mapped) of flow run \a flowRunId
 * in one guarded UPDATE: only if it waits (AwaitingApproval) and has no decision yet. Otherwise
 * nothing is written and the outcome says why.
 */
DecideOutcome decideApproval(QSqlDatabase& db, const QString& flowRunId, const QString& task, int mapIndex,
                             bool approve, const QString& reason, const QString& by);
//! As above for a task run known by its id.
DecideOutcome decideApprovalById(QSqlDatabase& db, const QString& taskRunId, bool approve,
                                 const QString& reason, const QString& by);

//! Decisions written for task runs that still wait, created at or after \a sinceUs.
QList<ApprovalDecisionRow> pendingApprovalDecisions(QSqlDatabase& db, qint64 sinceUs);

//! Task runs waiting for a decision without one yet, oldest first; \a flowRunId empty: of every run.
QList<WaitingApprovalRow> waitingApprovals(QSqlDatabase& db, const QString& flowRunId = {});

namespace detail {
//! The statements of the two reads above, for tests that check they use the partial index.
QString pendingApprovalDecisionsSql();
QString waitingApprovalsSql();
} // namespace detail

} // namespace flowdeck
