#pragma once

#include "run/states.h"

#include <QCoro/QCoroTask>
#include <QStringList>

namespace flowdeck {

struct TaskRun;

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
    //! Takes a slot of each of \a tags for \a run in the database, all or none, and records \a start
    //! in the same transaction: a run holds slots in the database exactly when it is RUNNING there.
    //! Returns the start's time (wall clock, µs), taken inside the transaction once the slots are
    //! secured, so it never precedes the release that made room; 0 when another process holds the
    //! slots (nothing is written; the engine tries again shortly). Throws on database errors. The
    //! run's earlier transitions must be durable already.
    virtual QCoro::Task<qint64> acquireSlots(const TaskRun& run, const QStringList& tags, const Start& start)
        = 0;
};

} // namespace flowdeck
