#pragma once

#include "run/runid.h"
#include "run/states.h"

#include <QCoro/QCoroTask>
#include <QMetaType>
#include <QString>
#include <QStringList>

namespace flowdeck {

struct FlowRun;
struct TaskRun;

enum class LogLevel { Debug, Info, Warning, Error };
QString toString(LogLevel level);

//! One state transition of a flow run (taskRun null) or a task run.
struct TransitionEvent {
    qint64 timeUs = 0; //!< wall clock, microseconds since the epoch
    FlowRun* flowRun = nullptr;
    TaskRun* taskRun = nullptr;
    bool isNew = false; //!< the run was created in this state; \c from is meaningless
    StateType from = StateType::Pending;
    StateType type = StateType::Pending;
    StateName name = StateName::Pending;
    QString message;
    //! Already written to the database by the transaction that took the run's slots (SlotSink), so
    //! a store does not write it again.
    bool persisted = false;
};

//! One log line of a flow run or task run.
struct LogEvent {
    qint64 timeUs = 0;
    FlowRun* flowRun = nullptr;
    TaskRun* taskRun = nullptr;
    LogLevel level = LogLevel::Info;
    QString message;
};

//! One stall of the event loop: how long, and whose code was on the loop.
struct StallRecord {
    qint64 startUs = 0; //!< wall clock, microseconds since the epoch
    qint64 durationUs = 0;
    TaskRun* taskRun = nullptr; //!< valid only on the loop thread right after the stall; may be null
    FlowRun* flowRun = nullptr;
    RunId taskRunId; //!< null when no task run was on the loop
    RunId flowRunId;
    QString task; //!< "id" or "id[3]"; empty when no task run was on the loop
};

/**
 * Receives every transition and log line, synchronously, on the engine's thread. Implementations
 * must be cheap (they are on the hot path): buffer, then write or display in batches.
 */
class EngineObserver {
public:
    virtual ~EngineObserver() = default;
    virtual void onTransition(const TransitionEvent& event) { Q_UNUSED(event) }
    virtual void onLog(const LogEvent& event) { Q_UNUSED(event) }
    //! A stall of the event loop has ended (see LoopMonitor).
    virtual void onStall(const StallRecord& stall) { Q_UNUSED(stall) }
};

/**
 * Where transitions become durable (the store). The engine asks it before a task run moves on:
 * after RUNNING (before the task's code runs) and after a terminal state (before downstream tasks
 * hear of it), and before it announces a finished flow run.
 */
class DurabilitySink {
public:
    virtual ~DurabilitySink() = default;
    //! Sequence number of the latest transition handed to the observers.
    virtual quint64 lastSequence() const = 0;
    virtual bool isCommitted(quint64 sequence) const = 0;
    //! Calls back once everything up to \a sequence is committed. Registered in non-decreasing order.
    virtual void whenCommitted(quint64 sequence, void (*callback)(void* a, void* b), void* a, void* b) = 0;
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

Q_DECLARE_METATYPE(flowdeck::RunId)
Q_DECLARE_METATYPE(flowdeck::StallRecord)
