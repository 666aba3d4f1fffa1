#include "store/storedruns.h"

#include "store/runqueries.h"

#include <algorithm>
#include <climits>
#include <map>

namespace flowdeck {

namespace {

StateType parseType(const QString& text)
{
    StateType type = StateType::Pending;
    parseStateType(text, &type);
    return type;
}

//! parseType() for rows by the thousand: states repeat, so the previous one is compared first.
StateType parseTypeFast(const QString& text)
{
    thread_local QString last;
    thread_local StateType lastType = StateType::Pending;
    if (text != last) {
        last = text;
        lastType = parseType(text);
    }
    return lastType;
}

LogLevel parseLevel(const QString& text)
{
    LogLevel level = LogLevel::Info;
    parseLogLevel(text, &level);
    return level;
}

struct Counts {
    std::array<qint64, StateTypeCount> byType{};
    qint64 total = 0;
    qint64 finished = 0;
};

//! Task-run counts by state type; unknown state names are skipped.
Counts countsOf(const QMap<QString, qint64>& counts)
{
    Counts out;
    for (auto it = counts.begin(); it != counts.end(); ++it) {
        StateType type = StateType::Pending;
        if (!parseStateType(it.key(), &type))
            continue;
        out.byType[size_t(type)] += it.value();
        out.total += it.value();
        if (isTerminal(type))
            out.finished += it.value();
    }
    return out;
}

using RowsByTask = std::map<QString, std::vector<const TaskRunRow*>>;

//! Tasks in the order their first runs were created, each with its runs sorted by map index.
std::vector<std::pair<qint64, QString>> taskOrder(RowsByTask& byTask)
{
    std::vector<std::pair<qint64, QString>> order;
    for (auto& [task, taskRows] : byTask) {
        std::sort(taskRows.begin(), taskRows.end(),
                  [](const TaskRunRow* a, const TaskRunRow* b) { return a->mapIndex < b->mapIndex; });
        qint64 first = LLONG_MAX;
        for (const TaskRunRow* row : taskRows)
            first = std::min(first, row->createdUs);
        order.emplace_back(first, task);
    }
    std::sort(order.begin(), order.end());
    return order;
}

void fillTaskRun(TaskRun& task, const TaskRunRow& row, const QHash<QString, QList<StateRow>>& histories)
{
    task.id = RunId::fromString(row.id);
    task.mapIndex = row.mapIndex;
    task.attempts = quint16(std::clamp(row.attempts, 0, 65535));
    task.type = parseTypeFast(row.state);
    task.name = parseStateName(row.name, task.type);
    task.started = row.startedUs > 0;
    task.createdUs = row.createdUs;
    task.startedUs = row.startedUs;
    task.endedUs = row.endedUs;
    task.message = row.message;
    task.stallCount = quint32(std::max(0, row.stallCount));
    task.stallTotalUs = row.stallTotalUs;
    const auto history = histories.constFind(row.id);
    if (history == histories.constEnd())
        return;
    task.history.reserve(size_t(history->size()));
    for (const StateRow& state : *history)
        task.history.push_back({state.timeUs, parseStateName(state.name, parseTypeFast(state.state))});
}

} // namespace

TaskRunCounts taskRunCountsFrom(const QMap<QString, qint64>& counts, qint64 totalTaskRuns)
{
    const Counts c = countsOf(counts);
    TaskRunCounts out;
    out.byType = c.byType;
    out.created = c.total;
    out.total = std::max(totalTaskRuns, c.total);
    out.finished = c.finished;
    return out;
}

std::unique_ptr<FlowRun> storedFlowRun(const FlowRunRow& row, const QMap<QString, qint64>& counts,
                                       const QString& source)
{
    auto run = std::make_unique<FlowRun>();
    run->id = RunId::fromString(row.id);
    run->def.name = row.flow;
    run->def.parameters = row.parameters;
    run->def.source = source;
    run->type = parseType(row.state);
    run->name = parseStateName(row.name, run->type);
    run->message = row.message;
    run->createdUs = row.createdUs;
    run->startedUs = row.startedUs;
    run->endedUs = row.endedUs;
    run->materializing = false;
    run->cancelRequested = row.cancelRequested;
    run->parentFlowRunId = RunId::fromString(row.parentFlowRunId);
    run->parentTaskRunId = RunId::fromString(row.parentTaskRunId);
    const Counts c = countsOf(counts);
    run->countByType = c.byType;
    run->materializedTaskRuns = c.total;
    run->totalTaskRuns = std::max(row.totalTaskRuns, c.total);
    run->finishedTaskRuns = c.finished;
    return run;
}

bool refreshStoredFlowRun(FlowRun& run, const FlowRunRow& row, const QMap<QString, qint64>& counts,
                          bool keepCounts)
{
    const StateType type = parseType(row.state);
    bool changed = false;
    if (run.type != type || run.endedUs != row.endedUs) {
        run.type = type;
        run.name = parseStateName(row.name, type);
        run.message = row.message;
        run.startedUs = row.startedUs;
        run.endedUs = row.endedUs;
        changed = true;
    }
    if (keepCounts)
        return changed;
    // The counts move while the state stays RUNNING; the task runs a worker creates are counted
    // once created, and only the rest as not created yet.
    const Counts c = countsOf(counts);
    const qint64 total = std::max(row.totalTaskRuns, c.total);
    if (run.countByType != c.byType || run.materializedTaskRuns != c.total || run.totalTaskRuns != total) {
        run.countByType = c.byType;
        run.finishedTaskRuns = c.finished;
        run.materializedTaskRuns = c.total;
        run.totalTaskRuns = total;
        changed = true;
    }
    return changed;
}

StoredDetails buildStoredDetails(FlowRun* run, const QList<TaskRunRow>& rows,
                                 const QHash<QString, QList<StateRow>>& histories, const QList<LogRow>& logs)
{
    StoredDetails out;
    RowsByTask byTask;
    for (const TaskRunRow& row : rows)
        byTask[row.task].push_back(&row);
    const std::vector<std::pair<qint64, QString>> order = taskOrder(byTask);

    for (int i = 0; i < int(order.size()); ++i) {
        const auto& taskRows = byTask[order[size_t(i)].second];
        TaskDef def;
        def.id = order[size_t(i)].second;
        def.index = i;
        def.tags = taskRows.front()->tags;
        if (taskRows.front()->mapIndex >= 0)
            def.map = int(taskRows.size());
        out.tasks.append(def);
    }
    // Moved into the FlowRun as they are: QList and std::vector keep their buffers on a move, so the
    // pointers taken here (TaskNode::def, TaskRun::node) stay valid.
    out.nodes.resize(order.size());
    const TaskDef* defs = out.tasks.constData();
    for (size_t i = 0; i < order.size(); ++i) {
        const auto& taskRows = byTask[order[i].second];
        TaskNode& node = out.nodes[i];
        node.def = defs + i;
        node.index = int(i);
        node.count = int(taskRows.size());
        node.materialized = node.count;
        node.runs = TaskRunArray(taskRows.size());
        for (size_t k = 0; k < taskRows.size(); ++k) {
            TaskRun& task = node.runs.emplaceBack();
            task.flowRun = run;
            task.node = &node;
            fillTaskRun(task, *taskRows[k], histories);
            ++out.countByType[size_t(task.type)];
            ++node.countByType[size_t(task.type)];
            if (task.isTerminal()) {
                ++node.finished;
                ++out.finished;
                if (task.type == StateType::Completed)
                    ++node.completed;
            }
        }
        node.settled = node.finished == node.count;
        out.order.push_back(int(i));
        out.total += node.count;
    }
    for (const LogRow& row : logs) {
        const QString task = row.task.isEmpty() ? QString() : taskRunLabel(row.task, row.mapIndex);
        out.logs.push_back({row.timeUs, parseLevel(row.level), task, row.message});
    }
    return out;
}

void applyStoredDetails(FlowRun& run, StoredDetails&& details)
{
    run.def.tasks = std::move(details.tasks);
    run.nodes = std::move(details.nodes);
    run.order = std::move(details.order);
    run.countByType = details.countByType;
    run.materializedTaskRuns = details.total;
    run.totalTaskRuns = std::max(run.totalTaskRuns, details.total);
    run.finishedTaskRuns = details.finished;
}

} // namespace flowdeck
