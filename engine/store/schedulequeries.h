#pragma once

#include "store/connectionpool.h"
#include "store/schedulerow.h"
#include "store/workerqueries.h"

#include <QList>
#include <QSqlDatabase>
#include <QString>

#include <optional>
#include <stdexcept>

/**
 * The SQL of schedules. Every function runs on a database thread inside a ConnectionPool::run job
 * and throws DatabaseError naming what failed (ScheduleConflict for a name in use, ScheduleInvalid for a
 * draft whose expression, zone or flow is not valid). Times are microseconds since the epoch; \a nowUs
 * is passed in, so tests can move the clock.
 *
 * How a schedule fires exactly once across processes: planSchedules() inserts the next fire times as
 * SCHEDULED flow runs (schedule_id, scheduled_for), unique on that pair, so two processes planning at
 * once add each fire time once; claimDueScheduledRuns() takes a due one in one transaction, guarded
 * on it being unclaimed, so one process starts it.
 */
namespace flowdeck::schedules {

//! A schedule name already taken (add) or an update that renames onto another.
class ScheduleConflict : public DatabaseError {
public:
    using DatabaseError::DatabaseError;
};
//! The draft cannot be stored: bad expression, zone or duration (the message names field and value).
class ScheduleInvalid : public DatabaseError {
public:
    using DatabaseError::DatabaseError;
};

//! Every schedule by name, with \a nextCount next fire times from \a nowUs and the last run.
QList<ScheduleRow> listSchedules(QSqlDatabase& db, qint64 nowUs, int nextCount = 3);
//! One schedule by name, or nullopt.
std::optional<ScheduleRow> findSchedule(QSqlDatabase& db, const QString& name, qint64 nowUs,
                                        int nextCount = 3);

//! Stores a new schedule (version 1) and plans its next runs; throws ScheduleConflict or ScheduleInvalid.
ScheduleRow addSchedule(QSqlDatabase& db, const ScheduleDraft& draft, qint64 nowUs);
/**
 * Replaces schedule \a name with \a draft (which may rename it) as a new version: the planned runs
 * nobody has started are cancelled and planned again from the new version. Nullopt when there is no
 * such schedule.
 */
std::optional<ScheduleRow> updateSchedule(QSqlDatabase& db, const QString& name, const ScheduleDraft& draft,
                                          qint64 nowUs);
/**
 * Pauses (\a active false: its planned runs nobody started end CANCELLED "schedule paused") or
 * resumes (plans again from now; fire times missed while paused never run) schedule \a name. False
 * when there is no such schedule.
 */
bool setScheduleActive(QSqlDatabase& db, const QString& name, bool active, qint64 nowUs);
//! Pauses every active schedule (the tray's "pause all"); returns how many.
int pauseAllSchedules(QSqlDatabase& db, qint64 nowUs);
//! Deletes schedule \a name; its planned runs end CANCELLED, its past runs stay. False when none.
bool deleteSchedule(QSqlDatabase& db, const QString& name, qint64 nowUs);

/**
 * How long after its fire time a planned run that no process looked at counts as missed (catch-up
 * applies). A process that is up but has no room for it (a worker at its max flow runs) marks it Late
 * within this time (holdDueScheduledRuns), and a Late run is never missed: it starts when room frees.
 */
constexpr qint64 MissedAfterUs = 15'000'000;
//! How many fire times are planned ahead as SCHEDULED flow runs.
constexpr int PlannedAhead = 3;

struct PlanReport {
    int planned = 0;         //!< new SCHEDULED flow runs
    int missedCancelled = 0; //!< missed fire times ended CANCELLED by catch-up none/latest
    int due = 0;             //!< missed fire times kept by catch-up (Late): to be claimed now
    //! The earliest fire time of a planned, unclaimed run of any schedule, or 0 when none.
    qint64 nextFireUs = 0;
};

/**
 * Keeps PlannedAhead future fire times of every active schedule as SCHEDULED flow runs, and applies
 * each schedule's catch-up to fire times missed while no process was up. Idempotent, and safe when
 * several processes call it at once.
 */
PlanReport planSchedules(QSqlDatabase& db, qint64 nowUs);

//! The earliest fire time of an unclaimed planned run, or 0 when none.
qint64 nextPlannedFireUs(QSqlDatabase& db);

/**
 * Claims up to \a max due (scheduled_for <= nowUs) planned runs (not those missed by more than
 * MissedAfterUs: planSchedules decides about them first, by the schedule's catch-up) for engine \a engineId
 * as claimFlowRuns does, honouring each run's limit of active runs: one over its limit waits in SCHEDULED
 * (AwaitingConcurrencySlot, saying why) or ends CANCELLED with the reason.
 */
/**
 * For a process that fires schedules but has no room to start a run now: marks the due planned runs
 * not yet missed (fire time within MissedAfterUs) Late, saying that \a holder had no room, so that
 * the catch-up never counts them as missed; they are claimed when room frees. Returns how many.
 * Takes no write lock when nothing is due.
 */
int holdDueScheduledRuns(QSqlDatabase& db, qint64 nowUs, const QString& holder);

workers::ClaimResult claimDueScheduledRuns(QSqlDatabase& db, const QString& engineId,
                                           const QString& workerName, const QString& host, qint64 pid,
                                           qint64 nowUs, int max);

} // namespace flowdeck::schedules
