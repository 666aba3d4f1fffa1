// The Run page on a paged stored flow run (too large to read whole): its rows in view and counts read
// again while another process runs it, and its graph from counts the database makes.
#include "context/appcontext.h"
#include "context/runhistory.h"
#include "context/storedtaskrunpages.h"
#include "models/storedtaskrunmodel.h"
#include "pages/runpage.h"
#include "run/flowrun.h"
#include "widgets/rungraphwidget.h"

#include <QTabWidget>
#include <QTableView>
#include <QTimer>

#include <map>

namespace flowdeck {

void RunPage::refreshPaged()
{
    if (!showsPaged()) {
        m_pagedRefresh->stop();
        return;
    }
    if (!isVisible() || m_table->model() != m_paged)
        return;
    // Once it has ended, one last read of what is in view, then no more. A run of this process ends
    // in memory before its last rows are committed: a few more reads.
    bool ended = m_current->isTerminal();
    if (m_current->releasesFinished) {
        m_pagedTail = ended ? m_pagedTail + 1 : 0;
        ended = m_pagedTail > LiveTailTicks;
    } else {
        m_context->history().refreshRun(m_current);
    }
    // Only the rows in view: a page of them, read by key from the row above them.
    int first = m_table->rowAt(0);
    int last = m_table->rowAt(m_table->viewport()->height() - 1);
    if (first < 0)
        first = 0;
    if (last < 0)
        last = m_paged->rowCount() - 1;
    // The graph's counts too while it shows: a pass over the run's rows in the database.
    // The graph's counts too while it shows: a pass over the run's rows (about a second for a million
    // on SQLite), so every few ticks.
    if (m_views->currentIndex() == 1 && m_graph->isVisible() && ++m_tallyTicks % TallyEveryTicks == 0)
        readTallies();
    if (m_paged->refreshRows(first, last - first + 1) && ended)
        m_pagedRefresh->stop();
}

void RunPage::showLiveCounts()
{
    // The engine counts a run's task runs per task and state as they move: no pass over rows.
    FlowRun* run = m_current;
    QHash<QString, TaskStateCounts::Counts> counts;
    for (const TaskNode& node : run->nodes) {
        TaskStateCounts::Counts& c = counts[node.def->id];
        c.byType = node.countByType;
        c.created = node.materialized;
        c.total = node.count;
    }
    m_graph->setTaskCounts(run->def, counts);
}

void RunPage::readTallies()
{
    if (m_current && m_current->releasesFinished) {
        showLiveCounts();
        return;
    }
    if (!showsPaged() || m_tallySerial != 0)
        return;
    m_tallyFor = m_current->id.toString();
    m_tallySerial = m_paged->pages()->requestTallies(m_tallyFor);
}

void RunPage::applyTallies(quint64 serial, const QList<TaskStateTally>& tallies)
{
    if (serial != m_tallySerial)
        return;
    m_tallySerial = 0;
    if (!showsPaged() || m_current->id.toString() != m_tallyFor)
        return;
    // One node per task, in the order their first task runs were created (as a run read whole has).
    QHash<QString, TaskStateCounts::Counts> counts;
    QHash<QString, std::pair<qint64, bool>> firstAndMapped;
    for (const TaskStateTally& tally : tallies) {
        TaskStateCounts::Counts& c = counts[tally.task];
        StateType type = StateType::Pending;
        if (parseStateType(tally.state, &type))
            c.byType[size_t(type)] += tally.count;
        c.created += tally.count;
        c.total = c.created;
        const auto it = firstAndMapped.find(tally.task);
        if (it == firstAndMapped.end()) {
            firstAndMapped.insert(tally.task, {tally.firstCreatedUs, tally.mapped});
        } else {
            it->first = std::min(it->first, tally.firstCreatedUs);
            it->second = it->second || tally.mapped;
        }
    }
    std::multimap<std::pair<qint64, QString>, QString> order;
    for (auto it = firstAndMapped.cbegin(); it != firstAndMapped.cend(); ++it)
        order.emplace(std::pair{it->first, it.key()}, it.key());
    FlowDefinition flow;
    flow.name = m_current->def.name;
    for (const auto& [key, task] : order) {
        TaskDef def;
        def.id = task;
        def.index = int(flow.tasks.size());
        if (firstAndMapped.value(task).second)
            def.map = int(counts.value(task).created);
        flow.tasks.append(def);
    }
    m_graph->setTaskCounts(flow, counts);
}

} // namespace flowdeck
