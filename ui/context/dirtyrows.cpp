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
    m_gaps.reserve(64);
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
    if (int(ranges.size()) > std::max(1, maxRanges))
        mergeClosest(size_t(std::max(1, maxRanges)));
    return ranges;
}

void DirtyRows::mergeClosest(size_t maxRanges)
{
    // Bridging the smallest gaps keeps far-apart rows apart: one range over everything would tell views
    // that the rows they show changed (and they repaint them) when the changes were all elsewhere.
    std::vector<std::pair<int, int>>& ranges = m_ranges;
    const size_t merges = ranges.size() - maxRanges;
    m_gaps.clear();
    for (size_t i = 1; i < ranges.size(); ++i)
        m_gaps.push_back(ranges[i].first - ranges[i - 1].second);
    std::nth_element(m_gaps.begin(), m_gaps.begin() + std::ptrdiff_t(merges - 1), m_gaps.end());
    const int threshold = m_gaps[merges - 1];
    // Every gap below the threshold is bridged, and as many as are needed of those equal to it.
    size_t equal
        = merges - size_t(std::count_if(m_gaps.begin(), m_gaps.end(), [&](int g) { return g < threshold; }));
    size_t kept = 0;
    for (size_t i = 1; i < ranges.size(); ++i) {
        const int gap = ranges[i].first - ranges[kept].second;
        const bool bridge = gap < threshold || (gap == threshold && equal > 0);
        if (gap == threshold && bridge)
            --equal;
        if (bridge)
            ranges[kept].second = ranges[i].second;
        else
            ranges[++kept] = ranges[i];
    }
    ranges.resize(kept + 1);
}

} // namespace flowdeck
