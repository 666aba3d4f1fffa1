#include "context/logbuffers.h"

namespace flowdeck {

void LogBuffers::append(const FlowRun* run, LogLine&& line)
{
    LogBuffer& buffer = m_buffers[run];
    buffer.lines.push_back(std::move(line));
    if (buffer.lines.size() > size_t(MaxLines)) {
        buffer.lines.pop_front();
        ++buffer.firstSeq;
    }
}

void LogBuffers::replace(const FlowRun* run, std::deque<LogLine>&& lines)
{
    LogBuffer& buffer = m_buffers[run];
    std::swap(buffer.lines, lines);
    buffer.firstSeq = 0;
}

const LogBuffer* LogBuffers::of(const FlowRun* run) const
{
    const auto it = m_buffers.find(run);
    return it == m_buffers.end() ? nullptr : &it->second;
}

} // namespace flowdeck
