#pragma once

#include "models/taskruntable.h"
#include "run/states.h"

#include <array>
#include <memory>
#include <vector>

namespace flowdeck {

class AppContext;
class DirtyRows;

/**
 * Task runs per state type for each task (node) of one flow run, for the run graph. Kept current from
 * the rows that changed since the last display tick (the DirtyRows the task table uses too) and the
 * rows created since, so a tick costs what changed, not the flow run's 100k task runs.
 */
class TaskStateCounts {
public:
    struct Counts {
        std::array<qint64, StateTypeCount> byType{};
        qint64 total = 0;   //!< task runs the task will have (its map count)
        qint64 created = 0; //!< task runs created so far; the rest are not created yet
        qint64 count(StateType t) const { return byType[size_t(t)]; }
    };

    explicit TaskStateCounts(AppContext* context);
    ~TaskStateCounts();
    TaskStateCounts(const TaskStateCounts&) = delete;
    TaskStateCounts& operator=(const TaskStateCounts&) = delete;

    //! Counts the task runs of \a run (null: none); a live run is then followed by sync().
    void setFlowRun(FlowRun* run);
    FlowRun* flowRun() const { return m_table.flowRun(); }
    //! Applies the rows that changed and were created since the last call; true when a count moved.
    bool sync();
    //! Counts every row again (a stored run whose task runs were read again).
    void recount();
    //! The counts of the node at \a nodeIndex (an index of FlowRun::nodes).
    const Counts& of(int nodeIndex) const { return m_counts[size_t(nodeIndex)]; }
    int nodeCount() const { return int(m_counts.size()); }
    //! Rows read by sync() so far: what a tick costs, for tests.
    qint64 rowsVisited() const { return m_visited; }

private:
    void stopTracking();

    AppContext* m_context;
    TaskRunTable m_table;
    std::unique_ptr<DirtyRows> m_dirty;
    std::vector<Counts> m_counts;
    std::vector<quint8> m_types; //!< the type each synced row was counted as
    int m_synced = 0;            //!< rows counted so far
    qint64 m_visited = 0;
};

} // namespace flowdeck
