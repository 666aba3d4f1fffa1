#pragma once

#include <QHash>
#include <QJsonObject>
#include <QList>
#include <QMap>
#include <QSqlDatabase>
#include <QString>
#include <QStringList>

#include <optional>

// The read side of the store: plain rows and functions that run on a database thread, inside
// ConnectionPool::run jobs. Every function throws DatabaseError naming what failed.
namespace flowdeck {

//! One flow run as stored. Times are microseconds since the epoch, 0 when unset.
struct FlowRunRow {
    QString id;
    QString flow;
    QString state; //!< type, "RUNNING"
    QString name;  //!< named state, "Running"
    QString message;
    qint64 createdUs = 0;
    qint64 startedUs = 0;
    qint64 endedUs = 0;
    qint64 totalTaskRuns = 0;
    int stallCount = 0;
    qint64 stallTotalUs = 0;
    QString worker; //!< id of the engine process running it
    bool cancelRequested = false;
    QJsonObject parameters;
    QString workerName; //!< the name of the worker that claimed it; empty otherwise
    QString host;       //!< of the process that ran it; empty while queued
    qint64 pid = 0;
    std::optional<quint64> seed;
    QString startedBy; //!< who started it, for people; empty for runs stored before this was kept
    QString pausedBy;  //!< who paused it, while it is PAUSED
    bool pauseRequested = false;
    bool resumeRequested = false;
    QString parentFlowRunId; //!< a subflow's: the flow run and task run that started it; else empty
    QString parentTaskRunId;
    QString result; //!< the flow's own result as JSON text; empty when it has none (yet)
};

//! One task run as stored.
struct TaskRunRow {
    QString id;
    QString flowRunId;
    QString task;
    int mapIndex = -1; //!< -1 when the task is not mapped
    QString state;
    QString name;
    QString message;
    int attempts = 0;
    QStringList tags;
    qint64 createdUs = 0;
    qint64 startedUs = 0;
    qint64 endedUs = 0;
    int stallCount = 0;
    qint64 stallTotalUs = 0;
    QString result; //!< as JSON text; empty when it has none (null, or not completed)
};

//! One transition of a run's state history.
struct StateRow {
    qint64 timeUs = 0;
    QString state;
    QString name;
    QString message;
};

//! One log line; task is empty (and mapIndex -1) for the flow run's own lines.
struct LogRow {
    qint64 id = 0;
    qint64 timeUs = 0;
    QString taskRunId;
    QString task;
    int mapIndex = -1;
    QString level;
    QString message;
};

//! Which flow runs listFlowRuns returns: a page, newest first, after an optional keyset cursor.
struct RunFilter {
    QString state;  //!< a state type such as "FAILED" (any case); empty: any
    QString flow;   //!< a flow name; empty: any
    QString parent; //!< only the subflows started by this flow run (a full id); empty: any
    int limit = 50;
    //! Keyset pagination: only runs older than (beforeCreatedUs, beforeId), the last row of the
    //! previous page. 0 / empty: from the newest.
    qint64 beforeCreatedUs = 0;
    QString beforeId;
};

//! Flow runs newest first (created_at, then id, descending).
QList<FlowRunRow> listFlowRuns(QSqlDatabase& db, const RunFilter& filter);

//! One flow run by its full id.
std::optional<FlowRunRow> flowRun(QSqlDatabase& db, const QString& id);

//! Task runs of a flow run ordered by task and map index; \a state filters by type; \a limit <= 0: all.
QList<TaskRunRow> taskRuns(QSqlDatabase& db, const QString& flowRunId, const QString& state = {},
                           int limit = 1000, int offset = 0);

//! A place in a flow run's task runs ordered by task and map index: a page starts after it.
struct TaskRunCursor {
    QString task;
    int mapIndex = -1; //!< -1 when the task is not mapped
};

/**
 * At most \a limit task runs of a flow run after \a after (from the first when nullopt), ordered by
 * task and map index; \a state filters by type. Keyset paging: each page costs the same, wherever
 * it is in a run of a million task runs (OFFSET would walk every row before it).
 */
QList<TaskRunRow> taskRunsAfter(QSqlDatabase& db, const QString& flowRunId, const QString& state,
                                const std::optional<TaskRunCursor>& after, int limit);

//! The orders a page of task runs can be read in (a column of a task-run table); ties go by task and
//! map index.
enum class TaskRunOrder { Task, MapIndex, State, Tags, Attempts, Started, Duration, Stalls, Message };

//! One page of a flow run's task runs, filtered and ordered by the database.
struct TaskRunPageQuery {
    QString flowRunId;
    QString state;  //!< a state type ("FAILED"); empty: any
    QString task;   //!< exactly this task; empty: any
    QString search; //!< in the task, the message or the tags (any case), or the map index; empty: any
    TaskRunOrder order = TaskRunOrder::Task;
    bool descending = false;
    //! Task order ascending: the page starts after this run (keyset, the same cost anywhere);
    //! otherwise \a offset rows are skipped.
    std::optional<TaskRunCursor> after;
    qint64 offset = 0;
    int limit = 1000;
};

//! The page of task runs \a query asks for (see TaskRunPageQuery).
QList<TaskRunRow> taskRunPage(QSqlDatabase& db, const TaskRunPageQuery& query);

//! How long the finished task runs of one state type took (ended - started), in microseconds.
struct TaskRunDurations {
    QString state;
    qint64 count = 0; //!< task runs with both times
    qint64 minUs = 0;
    qint64 meanUs = 0;
    qint64 maxUs = 0;
};

//! Durations per state type of a flow run's task runs that started and ended (one pass over them).
QList<TaskRunDurations> taskRunDurations(QSqlDatabase& db, const QString& flowRunId);

//! Task runs of a flow run per state type.
QMap<QString, qint64> taskRunCounts(QSqlDatabase& db, const QString& flowRunId);

//! State history in order: a task run's own, or for a flow run id the flow run's own transitions.
QList<StateRow> history(QSqlDatabase& db, const QString& taskRunIdOrFlowRunId);

//! Log lines of a flow run (its own and its task runs') with an id above \a afterId, in order.
QList<LogRow> logs(QSqlDatabase& db, const QString& flowRunId, qint64 afterId = 0, int limit = 1000);

enum class CancelResult { Requested, NotFound, AlreadyFinished };

//! Asks the process running a flow run to cancel it; that process polls for requests (Session).
CancelResult requestCancel(QSqlDatabase& db, const QString& flowRunId);

//! Ids of the unfinished flow runs of engine \a engineId that another process asked to cancel.
QStringList cancelRequests(QSqlDatabase& db, const QString& engineId);

//! Fewest hex digits of a flow run id's start or end that resolveFlowRunId accepts.
inline constexpr int MinRunIdDigits = 6;

//! What resolveFlowRunId found: the id, or an error and the runs that matched (at most 6 when ambiguous).
struct RunIdResolution {
    QString id; //!< empty when not exactly one run matched
    QString error;
    QList<FlowRunRow> candidates; //!< id, flow, state, name and startedUs only
};

/**
 * The flow run named by \a idOrShort: a full id, or a unique prefix or suffix of at least
 * MinRunIdDigits hex digits, dashes ignored, any case. Reads the primary key for a prefix and one pass
 * over the ids for a suffix.
 */
RunIdResolution resolveFlowRunId(QSqlDatabase& db, const QString& idOrShort);
//! As above; nullopt with \a error set when there is no such run, it is ambiguous or too short.
std::optional<QString> resolveFlowRunId(QSqlDatabase& db, const QString& idOrShort, QString* error);

//! Task runs per state type of each of \a flowRunIds (one query; for a page of the runs list).
//! One loop stall as stored.
struct StallRow {
    QString flowRunId; //!< empty when no task run was on the loop
    QString taskRunId;
    QString task; //!< "id" or "id[3]"
    qint64 timeUs = 0;
    qint64 durationUs = 0;
};

//! The newest \a limit stalls recorded before \a beforeUs (any process), newest first.
QList<StallRow> recentStalls(QSqlDatabase& db, qint64 beforeUs, int limit);

QHash<QString, QMap<QString, qint64>> taskRunCountsOf(QSqlDatabase& db, const QStringList& flowRunIds);

//! One task run and everything known about it, for a detail view.
struct TaskRunDetail {
    TaskRunRow run;
    QList<StateRow> history; //!< in order
    QList<StallRow> stalls;  //!< in order
    QList<LogRow> logs;      //!< its own lines only, oldest first (at most the newest TaskRunDetailLogLimit)
    qint64 logCount = 0;     //!< how many lines it has in all
    QJsonObject document;    //!< the flow run's document, to resolve the task's configuration
    QJsonObject parameters;  //!< the flow run's parameters
};

//! Log lines a TaskRunDetail carries at most.
inline constexpr int TaskRunDetailLogLimit = 5000;

/**
 * The detail of the task run \a task (\a mapIndex, -1 when not mapped) of flow run \a flowRunId.
 * Returns nullopt with \a error saying what is wrong when the run has no such task or index.
 */
std::optional<TaskRunDetail> taskRunDetail(QSqlDatabase& db, const QString& flowRunId, const QString& task,
                                           int mapIndex, QString* error);

//! The state history of every task run of a flow run, by task run id, each in order (one query).
QHash<QString, QList<StateRow>> taskRunHistories(QSqlDatabase& db, const QString& flowRunId);

} // namespace flowdeck
