#pragma once

#include <QString>

#include <cstdint>

namespace flowdeck {

enum class LogLevel; // run/observer.h

//! Prefect's nine state types; orchestration decisions look only at the type.
enum class StateType : std::uint8_t {
    Scheduled,
    Pending,
    Running,
    Completed,
    Failed,
    Cancelled,
    Crashed,
    Paused,
    Cancelling,
};
inline constexpr int StateTypeCount = 9;

//! Named states on top of the types; names are for people.
enum class StateName : std::uint8_t {
    Scheduled,
    Late,
    AwaitingRetry,
    AwaitingConcurrencySlot,
    Pending,
    Running,
    Retrying,
    Paused,
    Suspended,
    Cancelling,
    Cancelled,
    Completed,
    Cached,
    Failed,
    TimedOut,
    UpstreamFailed,
    Crashed,
    AwaitingApproval, //!< PAUSED: an approval task run waits for someone to approve or reject it
};
inline constexpr int StateNameCount = 18;

//! The type a named state belongs to.
StateType typeOf(StateName name);
//! The default name of a type (Running for RUNNING, ...).
StateName defaultName(StateType type);

//! Upper-case type as Prefect spells it: "RUNNING".
QString toString(StateType type);
//! CamelCase name: "AwaitingRetry".
QString toString(StateName name);
bool parseStateType(const QString& text, StateType* out);

bool isTerminal(StateType type);

//! The one transition table for flow runs and task runs. \a from is nullopt-like when the run is new.
bool isTransitionAllowed(StateType from, StateType to);
//! Why a transition is refused, or an empty string when it is allowed.
QString transitionError(StateType from, StateType to);
//! A change of named state within one type that the table's same-type rule would refuse: only
//! AwaitingRetry -> AwaitingConcurrencySlot (the retry delay is over and the run now waits for a slot).
bool isRenameAllowed(StateName from, StateName to);
//! The named exceptions to the type table, for task runs: the rename above, and Pending -> Cached (a
//! result taken from the cache completes a run that never ran).
bool isNamedTransitionAllowed(StateName from, StateName to);

//! The named state spelled \a text ("AwaitingRetry", as toString(StateName) writes it), else the
//! default name of \a type. A table lookup, safe on any thread: stored runs are parsed by the row.
StateName parseStateName(const QString& text, StateType type);
//! A log level as toString(LogLevel) writes it, in any case ("WARNING", "warning").
bool parseLogLevel(const QString& text, LogLevel* out);

//! Why a flow run in state \a state cannot be retried; empty when it can (FAILED, CRASHED, CANCELLED).
QString whyNotRetry(StateType state);
//! Why it cannot be paused; empty when it can (SCHEDULED, PENDING or RUNNING).
QString whyNotPause(StateType state);
//! Why it cannot be resumed; empty when it can (PAUSED).
QString whyNotResume(StateType state);

} // namespace flowdeck
