#pragma once

#include "run/runid.h"
#include "run/states.h"

#include <QByteArray>
#include <QMetaType>
#include <QString>

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
    //! On a COMPLETED transition: the run's result (a flow run's own result) as compact JSON, made
    //! once by the engine (it measures the size against the limit with it); empty for none.
    QByteArray result;
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
    QString task;      //!< "id" or "id[3]"; empty when no task run was on the loop
    QString taskId;    //!< the task's id alone ("id"); empty when no task run was on the loop
    int mapIndex = -1; //!< the task run's map index; -1 when not mapped or no task run was on the loop
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

} // namespace flowdeck

Q_DECLARE_METATYPE(flowdeck::RunId)
Q_DECLARE_METATYPE(flowdeck::StallRecord)
