#pragma once

#include "run/states.h"

#include <QCoro/QCoroTask>
#include <QList>
#include <QString>
#include <QStringList>

namespace flowdeck {

struct TaskRun;

//! A global limit's slots that a task run takes in the database with its start.
struct LimitTake {
    QString name;
    int occupy = 1;
    //! A rate limit's slots: never released, they come back once they decay. Otherwise held until
    //! the run leaves RUNNING (under the holder's lease, like tag slots).
    bool decays = false;
    //! Held for a whole flow run: the flow run's id (the slots are freed when it ends). Empty: held
    //! by the task run for its attempt.
    QString flowRunId;
    bool operator==(const LimitTake&) const = default;
};

/**
 * Where slots are also taken across processes (the store): after the engine's own limiter granted a
 * run its slots, the run still needs them in the shared database before it may run.
 */
class SlotSink {
public:
    virtual ~SlotSink() = default;
    //! The transition a run makes once it holds its slots: RUNNING (or Retrying), as attempt
    //! \c attempts.
    struct Start {
        StateName name = StateName::Running;
        int attempts = 1;
        StateType from = StateType::Pending; //!< the run's state until then
    };
    //! Takes a slot of each of \a tags and the slots of \a limits for \a run in the database, all or
    //! none, and records \a start in the same transaction: a run holds slots in the database exactly
    //! when it is RUNNING there. Returns the start's time (wall clock, µs), taken inside the
    //! transaction once the slots are secured, so it never precedes the release that made room; 0
    //! when another process holds the slots, or minus the µs until a rate limit's slots decay
    //! (nothing is written; the engine tries again then). Throws on database errors. The run's
    //! earlier transitions must be durable already.
    virtual QCoro::Task<qint64> acquireSlots(const TaskRun& run, const QStringList& tags, const Start& start,
                                             const QList<LimitTake>& limits = {})
        = 0;
};

} // namespace flowdeck
