#pragma once

#include "states.h"

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
};

//! One log line of a flow run or task run.
struct LogEvent {
    qint64 timeUs = 0;
    FlowRun* flowRun = nullptr;
    TaskRun* taskRun = nullptr;
    LogLevel level = LogLevel::Info;
    QString message;
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
};

} // namespace flowdeck
