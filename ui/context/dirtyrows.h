#pragma once

#include "models/taskruntable.h"

#include <utility>
#include <vector>

namespace flowdeck {

/**
 * Rows of one flow run's task-run table that changed since the last display tick. Marking is O(1)
 * and allocation-free after the first tick (a byte per row dedups), since it runs once per transition.
 */
class DirtyRows {
public:
    explicit DirtyRows(FlowRun* flow);

    FlowRun* flowRun() const { return m_table.flowRun(); }
    const TaskRunTable& table() const { return m_table; }

    void mark(const TaskRun& run)
    {
        const int row = m_table.rowOf(run);
        if (!m_marked[size_t(row)]) {
            m_marked[size_t(row)] = 1;
            m_rows.push_back(row);
        }
    }
    bool isEmpty() const { return m_rows.empty(); }

    /**
     * Takes the marked rows below \a limit as sorted, inclusive ranges; rows closer than \a gap are
     * merged, and beyond \a maxRanges the ranges closest to each other are, until \a maxRanges remain
     * (the rows between them count as changed). Clears every mark. The result
     * is valid until the next call (its buffer is reused: no allocation per tick).
     */
    const std::vector<std::pair<int, int>>& takeRanges(int limit, int gap = 16, int maxRanges = 32);

private:
    //! Bridges the smallest gaps between m_ranges until at most \a maxRanges remain.
    void mergeClosest(size_t maxRanges);

    TaskRunTable m_table;
    std::vector<char> m_marked;
    std::vector<int> m_rows;
    std::vector<std::pair<int, int>> m_ranges;
    std::vector<int> m_gaps; // between consecutive ranges, reused by mergeClosest()
};

} // namespace flowdeck
