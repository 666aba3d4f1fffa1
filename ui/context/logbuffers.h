#pragma once

#include "store/storedruns.h"

#include <deque>
#include <unordered_map>

namespace flowdeck {

struct FlowRun;

//! The last LogBuffers::MaxLines log lines of one flow run; seq numbers count every line ever added.
struct LogBuffer {
    std::deque<LogLine> lines;
    quint64 firstSeq = 0;
    quint64 endSeq() const { return firstSeq + lines.size(); }
};

//! The log lines the Run page shows, per flow run: live ones from the engine, stored ones once read.
class LogBuffers {
public:
    static constexpr int MaxLines = 10000;

    //! Adds \a line to \a run's buffer, dropping its oldest line past MaxLines.
    void append(const FlowRun* run, LogLine&& line);
    //! Replaces \a run's lines with \a lines read from the store (at most MaxLines).
    void replace(const FlowRun* run, std::deque<LogLine>&& lines);
    //! Log lines of \a run, or null when it has none.
    const LogBuffer* of(const FlowRun* run) const;

private:
    std::unordered_map<const FlowRun*, LogBuffer> m_buffers;
};

} // namespace flowdeck
