#include "context/dirtyrows.h"

#include <algorithm>

namespace flowdeck {

DirtyRows::DirtyRows(FlowRun* flow)
    : m_table(flow)
    , m_marked(size_t(m_table.totalRows()), 0)
{
    // Sized once for a busy tick, so marking never reallocates on the engine's hot path.
    m_rows.reserve(size_t(std::min(m_table.totalRows(), 1 << 16)));
    m_ranges.reserve(64);
}

const std::vector<std::pair<int, int>>& DirtyRows::takeRanges(int limit, int gap, int maxRanges)
{
    std::vector<std::pair<int, int>>& ranges = m_ranges;
    ranges.clear();
    if (m_rows.empty())
        return ranges;
    std::sort(m_rows.begin(), m_rows.end());
    for (int row : m_rows) {
        m_marked[size_t(row)] = 0;
        if (row >= limit)
            continue;
        if (!ranges.empty() && row - ranges.back().second <= gap)
            ranges.back().second = row;
        else
            ranges.emplace_back(row, row);
    }
    m_rows.clear();
    if (int(ranges.size()) > maxRanges) {
        const std::pair<int, int> all{ranges.front().first, ranges.back().second};
        ranges.clear();
        ranges.push_back(all);
    }
    return ranges;
}

} // namespace flowdeck
