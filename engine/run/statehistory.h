#pragma once

#include "run/states.h"

#include <QtGlobal>

#include <algorithm>
#include <cstddef>
#include <cstring>
#include <new>

namespace flowdeck {

//! When a run entered a named state (microseconds since the epoch).
struct StateStamp {
    qint64 timeUs;
    StateName name;
};

/**
 * The states a task run went through, in order, in 32 bytes. The usual three (Pending, Running,
 * Completed) fit inline; a longer history (retries, pauses) moves to the heap. A vector with room for
 * four cost 104 bytes per run (24 in the run, 80 on the heap), for each of a million finished runs.
 */
class StateHistory {
public:
    StateHistory() = default;
    StateHistory(const StateHistory& other) { *this = other; }
    StateHistory& operator=(const StateHistory& other)
    {
        if (this == &other)
            return *this;
        clear();
        reserve(other.m_size);
        for (std::size_t i = 0; i < other.size(); ++i)
            push_back(other[i]);
        return *this;
    }
    ~StateHistory() { clear(); }

    std::size_t size() const { return m_size; }
    bool empty() const { return m_size == 0; }
    StateStamp operator[](std::size_t i) const
    {
        Q_ASSERT(i < m_size);
        return onHeap() ? m_heap.data[i] : StateStamp{m_inline.times[i], StateName(m_names[i])};
    }
    StateStamp front() const { return (*this)[0]; }
    StateStamp back() const { return (*this)[m_size - 1]; }

    void push_back(StateStamp stamp)
    {
        if (!onHeap() && m_size < Inline) {
            m_inline.times[m_size] = stamp.timeUs;
            m_names[m_size] = quint8(stamp.name);
        } else {
            reserve(std::size_t(m_size) + 1);
            m_heap.data[m_size] = stamp;
        }
        ++m_size;
    }
    //! Room for \a n stamps; only a history longer than the inline three allocates.
    void reserve(std::size_t n)
    {
        if (n <= Inline || (onHeap() && n <= m_heap.capacity))
            return;
        const quint32 capacity = quint32(std::max<std::size_t>(n, std::size_t(m_size) * 2));
        auto* data = static_cast<StateStamp*>(::operator new(capacity * sizeof(StateStamp)));
        for (std::size_t i = 0; i < m_size; ++i)
            data[i] = (*this)[i];
        if (onHeap())
            ::operator delete(m_heap.data);
        m_heap.data = data;
        m_heap.capacity = capacity;
        m_spilled = true;
    }
    void clear()
    {
        if (onHeap())
            ::operator delete(m_heap.data);
        m_spilled = false;
        m_size = 0;
    }

private:
    static constexpr std::size_t Inline = 3;
    bool onHeap() const { return m_spilled; }

    union {
        struct {
            qint64 times[Inline];
        } m_inline;
        struct {
            StateStamp* data;
            quint32 capacity;
        } m_heap;
    };
    quint8 m_names[Inline] = {};
    bool m_spilled = false;
    quint32 m_size = 0;
};

static_assert(sizeof(StateHistory) == 32);

} // namespace flowdeck
