#pragma once

#include <QtGlobal>

namespace flowdeck {

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

} // namespace flowdeck
