#pragma once

#include "run/flowrun.h"
#include "run/observer.h"

#include <QHash>
#include <QList>
#include <QMap>
#include <QString>

#include <array>
#include <deque>
#include <memory>
#include <vector>

namespace flowdeck {

struct FlowRunRow;
struct LogRow;
struct StateRow;
struct TaskRunRow;

//! One log line as a viewer keeps it: from this process's engine, or read back from the store.
struct LogLine {
    qint64 timeUs = 0;
    LogLevel level = LogLevel::Info;
    QString task; //!< "id" or "id[3]"; empty for the flow run's own lines
    QString message;
};

//! A flow run's task runs as its row counts them (kept by the writers of whichever process runs it).
struct TaskRunCounts {
    std::array<qint64, StateTypeCount> byType{};
    qint64 created = 0;  //!< task runs created so far
    qint64 total = 0;    //!< task runs it will have (created ones included)
    qint64 finished = 0; //!< in a terminal state

    bool operator==(const TaskRunCounts&) const = default;
};

//! Counts of \a counts (state type -> runs, as taskRunCountsOf returns) of a run that will have
//! \a totalTaskRuns task runs.
TaskRunCounts taskRunCountsFrom(const QMap<QString, qint64>& counts, qint64 totalTaskRuns);

//! A flow run as stored, without its task runs (buildStoredDetails() reads those): state, times,
//! parameters and the task-run counts of \a counts (state type -> runs, as taskRunCountsOf returns).
//! \a source says where it was read from (FlowDefinition::source).
std::unique_ptr<FlowRun> storedFlowRun(const FlowRunRow& row, const QMap<QString, qint64>& counts,
                                       const QString& source);

/**
 * Applies to \a run what another process changed since it was read: state, message and times, and
 * the counts of \a counts (task runs created and by state) unless \a keepCounts (its task runs are
 * read, and counted by them). Returns false, changing nothing, when none of these changed.
 */
bool refreshStoredFlowRun(FlowRun& run, const FlowRunRow& row, const QMap<QString, qint64>& counts,
                          bool keepCounts);

/**
 * The task runs, state histories and logs of a stored flow run, built where they are read (a
 * database thread) so that the GUI thread only moves them in: for a 100k-task run, parsing the rows
 * and freeing them afterwards takes the better part of a second.
 */
struct StoredDetails {
    QList<TaskDef> tasks;
    std::vector<TaskNode> nodes;
    std::vector<int> order;
    std::array<qint64, StateTypeCount> countByType{};
    qint64 total = 0;
    qint64 finished = 0;
    std::deque<LogLine> logs;
};

/**
 * Gives a stored flow run the nodes and task runs a viewer walks: one node per task, in the order
 * their first runs were created, its runs by map index. Safe on any thread: \a run is only pointed
 * at (TaskRun::flowRun), never read or written.
 */
StoredDetails buildStoredDetails(FlowRun* run, const QList<TaskRunRow>& rows,
                                 const QHash<QString, QList<StateRow>>& histories, const QList<LogRow>& logs);

//! Moves what buildStoredDetails() made into \a run (but its logs): O(number of tasks), whatever the
//! number of task runs. \a run must have no task runs yet.
void applyStoredDetails(FlowRun& run, StoredDetails&& details);

} // namespace flowdeck
