#pragma once

#include "flow/flow.h"
#include "run/runid.h"
#include "run/statehistory.h"
#include "run/states.h"

#include <QJsonArray>
#include <QJsonValue>
#include <QString>

#include <algorithm>
#include <array>
#include <cstddef>
#include <memory>
#include <new>
#include <utility>
#include <vector>

namespace flowdeck {

class TaskKind;
class TaskContext;
struct FlowRun;
struct TaskNode;

//! One run of one task (one map index). Owned by its FlowRun; kept small, since a flow may have 100k.
struct TaskRun {
    // Largest fields first: no padding (176 bytes on 64-bit, the last flag in what was tail padding).
    RunId id;
    FlowRun* flowRun = nullptr;
    TaskNode* node = nullptr;
    qint64 createdUs = 0;
    qint64 startedUs = 0; //!< first RUNNING
    qint64 endedUs = 0;
    qint64 stallTotalUs = 0;
    QString message;
    QJsonValue result;
    TaskContext* active = nullptr; //!< set while its driver runs
    StateHistory history;
    qint32 mapIndex = -1;    //!< -1 when the task is not mapped
    quint32 sleepSerial = 0; //!< identifies its current sleep in the shared deadline queue
    quint32 stallCount = 0;
    quint16 attempts = 0;
    StateType type = StateType::Pending;
    StateName name = StateName::Pending;
    bool started = false;       //!< its driver has begun (it may be waiting to retry)
    quint8 upstreamPending = 0; //!< 1 while its map_over counterpart has not completed
    //! An entry of the shared deadline queue may still name it after it ends: a timeout was set, or a
    //! sleep was interrupted (Engine::sweepFinished purges them only then). In the padding: no cost.
    bool deadlineLeft = false;

    const QString& taskId() const;
    //! Its place in its task's runs (TaskNode::runs).
    std::size_t index() const { return mapIndex < 0 ? 0 : std::size_t(mapIndex); }
    bool isTerminal() const { return flowdeck::isTerminal(type); }
};

static_assert(sizeof(void*) != 8 || sizeof(TaskRun) == 176, "a million task runs: keep TaskRun small");

/**
 * The runs of one task, in blocks of BlockRuns: room for all of them is allocated at start (so a flow
 * too large to allocate fails then), but a run is constructed only when it is created (in index
 * order, see Engine::materialize), so the pages of a block are committed as runs are created rather
 * than all at once. A block whose runs have all finished may be released (Engine::sweepFinished): its
 * runs are destroyed and its memory freed, and they live on only as rows in the store. Use find() where
 * a run may have been released; operator[] only where it cannot have been.
 */
class TaskRunArray {
public:
    //! 4096 runs, 704 KB: a million runs are 245 blocks.
    static constexpr std::size_t BlockRuns = 4096;

    TaskRunArray() = default;
    //! Room for \a capacity runs, none constructed; throws std::bad_alloc.
    explicit TaskRunArray(std::size_t capacity);
    TaskRunArray(TaskRunArray&& other) noexcept
        : m_blocks(std::move(other.m_blocks))
        , m_capacity(std::exchange(other.m_capacity, 0))
        , m_constructed(std::exchange(other.m_constructed, 0))
        , m_released(std::exchange(other.m_released, 0))
    {
    }
    TaskRunArray& operator=(TaskRunArray&& other) noexcept
    {
        if (this != &other) {
            clear();
            m_blocks = std::move(other.m_blocks);
            m_capacity = std::exchange(other.m_capacity, 0);
            m_constructed = std::exchange(other.m_constructed, 0);
            m_released = std::exchange(other.m_released, 0);
        }
        return *this;
    }
    TaskRunArray(const TaskRunArray&) = delete;
    TaskRunArray& operator=(const TaskRunArray&) = delete;
    ~TaskRunArray() { clear(); }

    //! Constructs the next run, at index constructed().
    inline TaskRun& emplaceBack();
    //! Run \a i, constructed and not released.
    TaskRun& operator[](std::size_t i) const
    {
        Q_ASSERT(i < m_constructed && m_blocks[i / BlockRuns].runs);
        return m_blocks[i / BlockRuns].runs[i % BlockRuns];
    }
    //! Run \a i, or null when it was not constructed yet or its block was released.
    TaskRun* find(std::size_t i) const
    {
        if (i >= m_constructed)
            return nullptr;
        TaskRun* block = m_blocks[i / BlockRuns].runs;
        return block ? block + i % BlockRuns : nullptr;
    }
    std::size_t capacity() const { return m_capacity; }
    std::size_t constructed() const { return m_constructed; }
    //! Runs whose block was released.
    std::size_t released() const { return m_released; }

    std::size_t blockCount() const { return (m_capacity + BlockRuns - 1) / BlockRuns; }
    std::size_t blockBegin(std::size_t block) const { return block * BlockRuns; }
    std::size_t blockEnd(std::size_t block) const { return std::min(m_capacity, (block + 1) * BlockRuns); }
    bool isReleased(std::size_t block) const
    {
        return block < blockCount() && m_blocks[block].runs == nullptr;
    }
    //! Counts run \a i as finished for good; true when it was the last of its block to finish.
    bool noteFinished(std::size_t i)
    {
        Block& b = m_blocks[i / BlockRuns];
        return ++b.finished == blockEnd(i / BlockRuns) - blockBegin(i / BlockRuns);
    }
    bool isBlockFinished(std::size_t block) const
    {
        return block < blockCount() && m_blocks[block].finished == blockEnd(block) - blockBegin(block);
    }
    //! Destroys the runs of \a block (every one constructed) and frees its memory.
    void releaseBlock(std::size_t block);
    //! Whether \a p points to a run of this array that is constructed and not released (it is not
    //! dereferenced: \a p may point to anything).
    bool holds(const void* p) const;

private:
    struct Block {
        TaskRun* runs = nullptr;
        std::size_t finished = 0;
    };
    void clear();

    std::unique_ptr<Block[]> m_blocks;
    std::size_t m_capacity = 0;
    std::size_t m_constructed = 0;
    std::size_t m_released = 0;
};

//! Attempts and durations of task runs, for summaries; a node keeps one of the runs it has freed.
struct ReleasedTally {
    qint64 runs = 0;
    qint64 attempts = 0;
    qint64 timed = 0; //!< runs with a start and an end
    double minSeconds = 0;
    double maxSeconds = 0;
    double sumSeconds = 0;

    void add(const TaskRun& run);
};

//! The runs of one task of a flow run, and how they wait for their upstream tasks.
struct TaskNode {
    const TaskDef* def = nullptr;
    const TaskKind* kind = nullptr;
    int index = 0;
    QJsonObject config;
    int count = 1;
    TaskRunArray runs;
    int materialized = 0;
    int finished = 0;
    int completed = 0;
    int pendingDeps = 0;  //!< depends_on tasks not yet completed in full
    bool blocked = false; //!< an upstream task failed or was cancelled: no run of this task runs
    bool settled = false; //!< every run has finished and the dependents were told
    StateName blockedAs = StateName::UpstreamFailed;
    QString blockedMessage;
    //! Its task runs per state type, kept as they move (a released run is no longer there to count).
    std::array<qint64, StateTypeCount> countByType{};
    ReleasedTally releasedTally;
    int mapOverUpstream = -1;    //!< index of the node this one maps over
    std::vector<int> dependents; //!< nodes that wait for all runs of this one
    std::vector<int> mapOverDependents;
    //! Task runs (and the flow's result) that will still read this task's results: while above 0 its
    //! runs keep their results in memory; at 0 they are dropped (they live on in the store).
    qint64 resultReaders = 0;
    //! for_each: its runs are created once the array it maps over is known (see Engine::expandForEach).
    bool awaitingItems = false;
    bool itemsKnown = false;
    QJsonArray items; //!< for_each: the element of each run, by map index

    bool isFinished() const { return materialized == count && finished == count; }
};

//! A task run as stored, that a retried or resumed flow run goes on with (see Engine::continueRun).
struct PriorTaskRun {
    RunId id;
    QString task;
    qint32 mapIndex = -1;
    StateType type = StateType::Pending;
    StateName name = StateName::Pending;
    quint16 attempts = 0;
    qint64 createdUs = 0;
    qint64 startedUs = 0;
    qint64 endedUs = 0;
    QString message;
    QJsonValue result;
};

//! How a stored flow run goes on: from the state its row is in now, with the task runs it has.
struct Continuation {
    //! The state the stored row is in: SCHEDULED "AwaitingRetry" for a retry, PAUSED for a resume,
    //! SCHEDULED "Scheduled" for either when a worker took it from the queue.
    StateName from = StateName::AwaitingRetry;
    qint64 startedUs = 0; //!< when the flow run first ran; 0 if it never did
    //! Why the task runs that did not complete run again: "the flow run was retried by ...".
    QString reopenMessage;
    std::vector<PriorTaskRun> taskRuns;
};

//! One run of a flow: its state, its task runs, and counts the dashboard reads without scanning.
struct FlowRun {
    RunId id;
    FlowDefinition def;
    quint64 seed = 0;
    QString startedBy; //!< who started it, for people: "flowdeck run (alice@host, pid 42)", "worker w1"
    StateType type = StateType::Scheduled;
    StateName name = StateName::Scheduled;
    QString message;
    qint64 createdUs = 0;
    qint64 startedUs = 0;
    qint64 endedUs = 0;
    std::vector<StateStamp> history;
    std::vector<TaskNode> nodes;
    std::vector<int> order; //!< nodes in dependency order
    qint64 totalTaskRuns = 0;
    qint64 materializedTaskRuns = 0;
    qint64 finishedTaskRuns = 0;
    std::array<qint64, StateTypeCount> countByType{};
    bool materializing = true;
    /**
     * Set at start for a large flow run with a store (Engine::setReleaseFinishedFrom): its task runs
     * that have finished, and that nothing downstream needs, are freed a block at a time and live on
     * only as rows. Who shows such a run reads its task runs from the store, never from nodes[].runs.
     */
    bool releasesFinished = false;
    qint64 releasedTaskRuns = 0;
    //! A block of a node whose runs have all finished, not released yet; \c noted orders it against
    //! the engine's sweeps (see Engine::sweepThunk).
    struct FinishedBlock {
        int node;
        std::size_t block;
        quint64 noted;
    };
    std::vector<FinishedBlock> finishedBlocks;
    int expanding = 0; //!< for_each tasks whose runs are queued to be created or being created
    //! for_each tasks ready to expand, one at a time once the other task runs exist, so that task runs
    //! are always created (and shown) in one order: every other task's, then each for_each's in turn.
    std::vector<int> expansionQueue;
    std::vector<int> expansionOrder; //!< for_each tasks in the order their runs were created
    bool expanderRunning = false;
    bool cancelRequested = false;
    bool refreshCache = false; //!< cache entries are ignored and overwritten (`run --refresh-cache`)
    //! Paused: no task run of it starts until it is resumed; those that ran when it paused finish.
    bool pauseRequested = false;
    quint32 pauseSerial = 0;             //!< identifies the current pause (its grace deadline)
    double pauseGraceSeconds = -1;       //!< of the current pause; negative: none
    std::vector<TaskRun*> heldRuns;      //!< became ready while paused; not driving yet
    std::vector<TaskRun*> pausedDrivers; //!< driving, suspended at the pause gate
    //! While materializing a continued run: the stored task runs per node, by map index (-1 first).
    std::unique_ptr<std::vector<std::vector<PriorTaskRun*>>> prior;
    std::unique_ptr<Continuation> continuation;
    int activeDrivers = 0;
    QString firstFailure; //!< "task[3]: message" of the first task run that failed
    QJsonValue result;    //!< the flow's own result ("result" in its document), once it completed
    //! Set when this flow run is a subflow: the task run of the parent flow run that started it.
    RunId parentFlowRunId;
    RunId parentTaskRunId;

    bool isTerminal() const { return flowdeck::isTerminal(type); }
    qint64 count(StateType t) const { return countByType[static_cast<int>(t)]; }
};

inline const QString& TaskRun::taskId() const
{
    return node->def->id;
}

inline TaskRun& TaskRunArray::emplaceBack()
{
    Q_ASSERT(m_constructed < m_capacity);
    const std::size_t i = m_constructed++;
    return *new (m_blocks[i / BlockRuns].runs + i % BlockRuns) TaskRun();
}

//! How a task run is named to people: "task", or "task[3]" for a mapped run.
inline QString taskRunLabel(const QString& task, int mapIndex)
{
    return mapIndex >= 0 ? QStringLiteral("%1[%2]").arg(task).arg(mapIndex) : task;
}

inline QString taskRunLabel(const TaskRun& run)
{
    return taskRunLabel(run.taskId(), run.mapIndex);
}

} // namespace flowdeck
