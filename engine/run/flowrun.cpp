#include "run/flowrun.h"

#include <functional>

namespace flowdeck {

TaskRunArray::TaskRunArray(std::size_t capacity)
    : m_capacity(capacity)
{
    if (capacity == 0)
        return;
    const std::size_t blocks = blockCount();
    m_blocks = std::make_unique<Block[]>(blocks);
    try {
        for (std::size_t b = 0; b < blocks; ++b) {
            const std::size_t runs = blockEnd(b) - blockBegin(b);
            m_blocks[b].runs = static_cast<TaskRun*>(::operator new(runs * sizeof(TaskRun)));
        }
    } catch (...) {
        clear();
        throw;
    }
}

void TaskRunArray::releaseBlock(std::size_t block)
{
    Block& b = m_blocks[block];
    if (!b.runs)
        return;
    const std::size_t begin = blockBegin(block);
    const std::size_t end = blockEnd(block);
    Q_ASSERT(m_constructed >= end);
    for (std::size_t i = end; i > begin; --i)
        b.runs[i - 1 - begin].~TaskRun();
    ::operator delete(b.runs);
    b.runs = nullptr;
    m_released += end - begin;
}

bool TaskRunArray::holds(const void* p) const
{
    const auto* run = static_cast<const TaskRun*>(p);
    for (std::size_t b = 0, blocks = blockCount(); b < blocks; ++b) {
        const TaskRun* first = m_blocks[b].runs;
        const std::size_t begin = blockBegin(b);
        if (!first || begin >= m_constructed)
            continue;
        const std::size_t live = std::min(blockEnd(b), m_constructed) - begin;
        if (std::less_equal<const TaskRun*>()(first, run) && std::less<const TaskRun*>()(run, first + live))
            return true;
    }
    return false;
}

void ReleasedTally::add(const TaskRun& run)
{
    ++runs;
    attempts += run.attempts;
    if (run.startedUs > 0 && run.endedUs >= run.startedUs) {
        const double s = double(run.endedUs - run.startedUs) / 1e6;
        minSeconds = timed ? std::min(minSeconds, s) : s;
        maxSeconds = std::max(maxSeconds, s);
        sumSeconds += s;
        ++timed;
    }
}

void TaskRunArray::clear()
{
    for (std::size_t b = m_blocks ? blockCount() : 0; b > 0; --b) {
        Block& block = m_blocks[b - 1];
        if (!block.runs)
            continue;
        const std::size_t begin = blockBegin(b - 1);
        const std::size_t end = std::min(blockEnd(b - 1), m_constructed);
        for (std::size_t i = end; i > begin; --i)
            block.runs[i - 1 - begin].~TaskRun();
        ::operator delete(block.runs);
        block.runs = nullptr;
    }
    m_blocks.reset();
    m_capacity = 0;
    m_constructed = 0;
    m_released = 0;
}

} // namespace flowdeck
