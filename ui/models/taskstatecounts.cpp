#include "models/taskstatecounts.h"

#include "context/appcontext.h"
#include "context/dirtyrows.h"

#include <algorithm>
#include <limits>

namespace flowdeck {

TaskStateCounts::TaskStateCounts(AppContext* context)
    : m_context(context)
{
}

TaskStateCounts::~TaskStateCounts()
{
    stopTracking();
}

void TaskStateCounts::stopTracking()
{
    if (m_dirty) {
        m_context->removeDirtyRows(m_dirty.get());
        m_dirty.reset();
    }
}

void TaskStateCounts::setFlowRun(FlowRun* run)
{
    if (run == m_table.flowRun())
        return;
    stopTracking();
    m_table.setFlowRun(run);
    if (run && !run->isTerminal()) {
        m_dirty = std::make_unique<DirtyRows>(run);
        m_context->addDirtyRows(m_dirty.get());
    }
    recount();
}

void TaskStateCounts::recount()
{
    FlowRun* run = m_table.flowRun();
    m_counts.assign(run ? run->nodes.size() : 0, Counts{});
    m_types.assign(run ? size_t(run->totalTaskRuns) : 0, 0);
    m_synced = 0;
    if (!run)
        return;
    for (const TaskNode& node : run->nodes)
        m_counts[size_t(node.index)].total = node.count;
    sync();
}

bool TaskStateCounts::sync()
{
    FlowRun* run = m_table.flowRun();
    if (!run)
        return false;
    bool moved = false;
    if (m_dirty && !m_dirty->isEmpty()) {
        // Every range on its own (no cap merging them into one span): scattered changes in a 100k-row
        // run cost the rows that changed, not the rows between them.
        for (const auto& [first, last] : m_dirty->takeRanges(m_synced, 16, std::numeric_limits<int>::max())) {
            m_visited += last + 1 - first;
            m_table.forEach(first, last + 1, [&](int row, const TaskRun& taskRun) {
                const auto now = quint8(taskRun.type);
                quint8& was = m_types[size_t(row)];
                if (now == was)
                    return;
                Counts& counts = m_counts[size_t(taskRun.node->index)];
                --counts.byType[was];
                ++counts.byType[now];
                was = now;
                moved = true;
            });
        }
    }
    const int rows = m_table.rowCount();
    if (rows > m_synced) {
        // A for_each task that expanded since the last count: more rows, and its total.
        if (size_t(rows) > m_types.size()) {
            m_types.resize(size_t(std::max<qint64>(rows, run->totalTaskRuns)), 0);
            for (const TaskNode& node : run->nodes)
                m_counts[size_t(node.index)].total = node.count;
        }
        m_visited += rows - m_synced;
        m_table.forEach(m_synced, rows, [&](int row, const TaskRun& taskRun) {
            const auto now = quint8(taskRun.type);
            m_types[size_t(row)] = now;
            Counts& counts = m_counts[size_t(taskRun.node->index)];
            ++counts.byType[now];
            ++counts.created;
        });
        m_synced = rows;
        moved = true;
    }
    if (m_dirty && run->isTerminal() && run->activeDrivers == 0 && m_synced == m_table.totalRows())
        stopTracking(); // nothing of it changes any more
    return moved;
}

} // namespace flowdeck
