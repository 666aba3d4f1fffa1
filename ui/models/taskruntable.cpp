#include "models/taskruntable.h"

#include <algorithm>

namespace flowdeck {

void TaskRunTable::setFlowRun(FlowRun* flow)
{
    // Such a run frees its finished task runs: who shows it reads them from the store (RunPage).
    Q_ASSERT(!flow || !flow->releasesFinished);
    m_flow = flow;
    layOut();
}

void TaskRunTable::layOut() const
{
    const FlowRun* flow = m_flow;
    m_order.clear();
    m_firstRow.clear();
    m_firstRowOfNode.clear();
    m_laidOut = 0;
    if (!flow)
        return;
    for (int index : flow->order) {
        if (flow->nodes[size_t(index)].def->forEach.isEmpty())
            m_order.push_back(index);
    }
    m_order.insert(m_order.end(), flow->expansionOrder.begin(), flow->expansionOrder.end());
    m_laidOut = flow->expansionOrder.size();
    m_firstRowOfNode.assign(flow->nodes.size(), 0);
    int row = 0;
    for (int index : m_order) {
        m_firstRow.push_back(row);
        m_firstRowOfNode[size_t(index)] = row;
        row += flow->nodes[size_t(index)].count;
    }
    m_firstRow.push_back(row);
}

int TaskRunTable::orderPosOf(int row) const
{
    refresh();
    // The last position whose first row is <= row; nodes with no runs share a first row, and
    // upper_bound skips past them to the one that holds the row.
    const auto it = std::upper_bound(m_firstRow.begin(), m_firstRow.end() - 1, row);
    return int(it - m_firstRow.begin()) - 1;
}

TaskRun& TaskRunTable::at(int row) const
{
    refresh();
    const int pos = orderPosOf(row);
    const TaskNode& node = nodeAt(pos);
    return node.runs[size_t(row - m_firstRow[size_t(pos)])];
}

} // namespace flowdeck
