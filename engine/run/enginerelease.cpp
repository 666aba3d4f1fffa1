// Releasing finished task runs: a large flow run frees its task runs a block at a time once they have
// all finished and nothing downstream reads them. They live on as rows in the store; what the engine
// still counts about them is in their node (countByType, releasedTally).
#include "run/engine.h"
#include "run/flowrun.h"

#include <algorithm>
#include <functional>

namespace flowdeck {

bool Engine::holdsTaskRun(const FlowRun& flow, const TaskRun* run)
{
    return std::any_of(flow.nodes.begin(), flow.nodes.end(),
                       [run](const TaskNode& node) { return node.runs.holds(run); });
}

void Engine::noteFinishedForRelease(TaskRun& run)
{
    FlowRun& flow = *run.flowRun;
    TaskNode& node = *run.node;
    const std::size_t i = run.index();
    if (!node.runs.noteFinished(i) || !flow.releasesFinished)
        return;
    flow.finishedBlocks.push_back({node.index, i / TaskRunArray::BlockRuns, ++m_sweepClock});
    requestSweep(flow);
}

void Engine::requestSweep(FlowRun& flow)
{
    if (!flow.releasesFinished || flow.finishedBlocks.empty())
        return;
    if (std::find(m_sweeps.begin(), m_sweeps.end(), &flow) == m_sweeps.end())
        m_sweeps.push_back(&flow);
    if (m_sweepQueued)
        return;
    // At the back of the ready queue: whatever was queued for these runs before they finished (a
    // start of a run cancelled while it waited there) has run by the time the sweep does.
    m_sweepQueued = true;
    m_sweepHorizon = m_sweepClock;
    m_scheduler->schedule(&Engine::sweepThunk, this, nullptr);
}

void Engine::sweepThunk(void* engine, void*)
{
    auto* self = static_cast<Engine*>(engine);
    self->m_sweepQueued = false;
    const quint64 horizon = self->m_sweepHorizon;
    bool later = false; // blocks left, or noted after this sweep was queued: the next sweep's
    for (FlowRun* flow : std::vector<FlowRun*>(self->m_sweeps)) {
        later = self->sweepFinished(*flow, horizon) || later
            || std::any_of(flow->finishedBlocks.begin(), flow->finishedBlocks.end(),
                           [horizon](const FlowRun::FinishedBlock& b) { return b.noted > horizon; });
    }
    std::erase_if(self->m_sweeps, [](const FlowRun* flow) { return flow->finishedBlocks.empty(); });
    if (later && !self->m_sweepQueued) {
        self->m_sweepQueued = true;
        self->m_sweepHorizon = self->m_sweepClock;
        self->m_scheduler->schedule(&Engine::sweepThunk, self, nullptr);
    }
}

bool Engine::canRelease(const FlowRun& flow, const TaskNode& node, std::size_t block) const
{
    if (node.resultReaders > 0)
        return false; // a run still to start reads their results (kept in memory until then)
    const std::size_t end = node.runs.blockEnd(block);
    for (int d : node.mapOverDependents) {
        // A run mapping over these one reads its counterpart's state when it is created.
        const TaskNode& down = flow.nodes[size_t(d)];
        if (std::size_t(down.materialized) < end && !down.blocked && !flow.cancelRequested)
            return false;
    }
    return true;
}

bool Engine::sweepFinished(FlowRun& flow, quint64 horizon)
{
    // [first, last) of each block freed. A block is 0.3 to 1 ms of destructors: SweepBlocks per turn
    // of the ready queue, so that a task whose runs all become free at once (its map_over dependent
    // was just created) is freed over many turns rather than in one long one.
    std::vector<std::pair<const TaskRun*, const TaskRun*>> freed;
    bool unstarted = false;    // a freed run never started: it may sit in a held list
    bool deadlineLeft = false; // a freed run may still be named by the deadline queue
    bool more = false;         // releasable blocks left for the next turn
    auto& blocks = flow.finishedBlocks;
    for (std::size_t k = 0; k < blocks.size();) {
        const FlowRun::FinishedBlock b = blocks[k];
        TaskNode& node = flow.nodes[size_t(b.node)];
        if (b.noted > horizon || !canRelease(flow, node, b.block)) {
            ++k;
            continue;
        }
        if (freed.size() == SweepBlocks) {
            more = true;
            break;
        }
        const std::size_t begin = node.runs.blockBegin(b.block);
        const std::size_t end = node.runs.blockEnd(b.block);
        for (std::size_t i = begin; i < end; ++i) {
            const TaskRun& run = node.runs[i];
            node.releasedTally.add(run);
            unstarted = unstarted || !run.started;
            deadlineLeft = deadlineLeft || run.deadlineLeft;
        }
        const TaskRun* first = &node.runs[begin];
        freed.emplace_back(first, first + (end - begin));
        node.runs.releaseBlock(b.block);
        flow.releasedTaskRuns += qint64(end - begin);
        blocks[k] = blocks.back();
        blocks.pop_back();
    }
    if (freed.empty())
        return more;
    m_scheduler->noteLongItem();
    const auto isFreed = [&freed](const void* arg) {
        const auto* run = static_cast<const TaskRun*>(arg);
        return std::any_of(freed.begin(), freed.end(), [run](const auto& range) {
            return std::less_equal<const TaskRun*>()(range.first, run)
                && std::less<const TaskRun*>()(run, range.second);
        });
    };
    // Finished runs that were held back (by a pause, or for the store) and were never started. A run
    // that started has left both lists.
    if (unstarted) {
        std::erase_if(flow.heldRuns, isFreed);
        std::erase_if(m_heldForStore, isFreed);
    }
    // Timeouts that were never reached, and sleeps that were interrupted, still name their runs.
    if (deadlineLeft)
        m_scheduler->purgeDeadlines(isFreed);
    return more;
}

void Engine::forgetSweeps(const FlowRun& flow)
{
    std::erase(m_sweeps, &flow);
}

} // namespace flowdeck
