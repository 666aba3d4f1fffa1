#pragma once

#include "run/flowrun.h"

#include <vector>

namespace flowdeck {

/**
 * The rows of a flow run's task-run table, without copying a run: rows follow the order in which
 * the engine creates task runs (nodes in dependency order, map indexes ascending), so a row is a
 * (node, index) pair found from prefix sums of the node sizes, and new runs only ever append rows.
 * A for_each task's runs are created after every other task's (Engine::queueExpansion): its rows
 * follow them, in the order the for_each tasks expanded.
 */
class TaskRunTable {
public:
    TaskRunTable() = default;
    explicit TaskRunTable(FlowRun* flow) { setFlowRun(flow); }

    void setFlowRun(FlowRun* flow);
    FlowRun* flowRun() const { return m_flow; }

    //! Rows that exist now (the task runs created so far).
    int rowCount() const { return m_flow ? int(m_flow->materializedTaskRuns) : 0; }
    //! Lays the rows out again once a for_each task has expanded (its rows follow every earlier one).
    void refresh() const
    {
        if (m_flow && m_flow->expansionOrder.size() != m_laidOut)
            layOut();
    }
    //! Rows once every task run exists.
    int totalRows() const { return m_flow ? int(m_flow->totalTaskRuns) : 0; }

    TaskRun& at(int row) const;
    int rowOf(const TaskRun& run) const
    {
        refresh();
        return m_firstRowOfNode[size_t(run.node->index)] + int(run.index());
    }
    //! Position in dependency order of the node that holds \a row.
    int orderPosOf(int row) const;
    //! Number of nodes (tasks) and the first row of the node at dependency-order position \a pos.
    int nodeCount() const
    {
        refresh();
        return int(m_order.size());
    }
    int firstRowAt(int pos) const { return m_firstRow[size_t(pos)]; }
    const TaskNode& nodeAt(int pos) const { return m_flow->nodes[size_t(m_order[size_t(pos)])]; }

    //! Calls f(row, run) for rows [first, last), walking the nodes once.
    template<typename F>
    void forEach(int first, int last, F&& f) const
    {
        if (first >= last)
            return;
        refresh();
        int pos = orderPosOf(first);
        int row = first;
        while (row < last && pos < nodeCount()) {
            const TaskNode& node = nodeAt(pos);
            const int begin = m_firstRow[size_t(pos)];
            const int end = std::min(last, begin + node.count);
            for (; row < end; ++row)
                f(row, node.runs[size_t(row - begin)]);
            ++pos;
        }
    }

private:
    void layOut() const;

    FlowRun* m_flow = nullptr;
    // Laid out again when a for_each task expands (refresh): rows before it never move.
    mutable std::vector<int> m_order;          // node indexes in creation order
    mutable std::vector<int> m_firstRow;       // by order position, plus the total at the end
    mutable std::vector<int> m_firstRowOfNode; // by node index
    mutable std::size_t m_laidOut = 0;         // for_each tasks laid out
};

} // namespace flowdeck
