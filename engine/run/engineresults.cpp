#include "flow/jsontext.h"
#include "flow/references.h"
#include "flow/taskkind.h"
#include "run/clock.h"
#include "run/engine.h"
#include "run/flowrun.h"
#include "run/taskinputs.h"

#include <algorithm>
#include <new>

// Results between task runs: resolving the references of a run as it starts, keeping results in
// memory only while some task run still reads them, the size limit, for_each and the flow's result.
namespace flowdeck {

namespace {

// A yield every this many created task runs keeps a large for_each from stalling the loop.
constexpr int ExpandBatch = 1024;

TaskNode* nodeOf(FlowRun& flow, const QString& task)
{
    const int index = flow.def.indexOf(task);
    return index >= 0 ? &flow.nodes[size_t(index)] : nullptr;
}

void readBy(FlowRun& flow, const QString& task, qint64 runs)
{
    if (TaskNode* node = nodeOf(flow, task))
        node->resultReaders += runs;
}

void dropResults(TaskNode& node)
{
    for (std::size_t i = 0; i < node.runs.constructed(); ++i) {
        if (TaskRun* run = node.runs.find(i)) // null: finished and released, its result with it
            run->result = QJsonValue();
    }
}

//! \a runs fewer task runs will read \a node's results; with \a drop, at none they are dropped.
void unread(TaskNode* node, qint64 runs, bool drop)
{
    if (!node || runs == 0)
        return;
    node->resultReaders -= runs;
    if (node->resultReaders <= 0) {
        node->resultReaders = 0;
        if (drop)
            dropResults(*node);
    }
}

} // namespace

void Engine::countResultReaders(FlowRun& flow)
{
    for (TaskNode& node : flow.nodes) {
        const TaskDef& def = *node.def;
        if (!def.forEach.isEmpty()) {
            node.awaitingItems = true;
            node.count = 0;
        }
    }
    for (TaskNode& node : flow.nodes) {
        const TaskDef& def = *node.def;
        // A for_each task holds what it reads until its runs exist (expandForEach counts them then).
        const qint64 runs = def.forEach.isEmpty() ? node.count : 1;
        for (const QString& task : def.resultsRead)
            readBy(flow, task, runs);
        if (def.readsUpstreamResult && node.mapOverUpstream >= 0)
            flow.nodes[size_t(node.mapOverUpstream)].resultReaders += runs;
    }
    for (const QString& task : flow.def.resultReads)
        readBy(flow, task, 1);
}

void Engine::releaseReads(FlowRun& flow, const TaskNode& reader, qint64 runs)
{
    for (const QString& task : reader.def->resultsRead)
        unread(nodeOf(flow, task), runs, m_durability);
    if (reader.def->readsUpstreamResult && reader.mapOverUpstream >= 0)
        unread(&flow.nodes[size_t(reader.mapOverUpstream)], runs, m_durability);
    if (flow.releasesFinished && !flow.finishedBlocks.empty())
        requestSweep(flow); // finished blocks whose results were read may go now
}

QJsonObject Engine::takeInputs(TaskRun& run, bool& ok)
{
    QString error;
    std::optional<QJsonObject> config = resolveTaskConfig(run, &error);
    releaseReads(*run.flowRun, *run.node, 1);
    ok = config.has_value();
    if (ok)
        return std::move(*config);
    log(run.flowRun, &run, LogLevel::Error, error);
    transition(run, StateName::Failed, error);
    return {};
}

void Engine::resultsOnFinish(TaskRun& run)
{
    if (!run.started)
        releaseReads(*run.flowRun, *run.node, 1); // it never read what it references, and never will
    // With a store, results live there (written with the transition that completes the run): the
    // engine keeps one only while some task run still reads it. Without one, the run is all there is.
    if (m_durability && run.node->resultReaders == 0 && !run.result.isNull())
        run.result = QJsonValue();
}

void Engine::checkResultSize(const TaskRun& run, TaskOutcome& outcome)
{
    const QJsonValue& result = outcome.result;
    m_completedResult.clear();
    if (result.isNull() || result.isUndefined())
        return;
    m_completedResult = jsonBytes(result);
    const qint64 limit = maxResultBytes(*run.node->def);
    const qint64 size = m_completedResult.size();
    if (size <= limit)
        return;
    m_completedResult.clear();
    outcome = TaskOutcome::failure(
        QStringLiteral("the result is %1 bytes as JSON, more than the limit of %2 bytes (max_result_bytes)")
            .arg(size)
            .arg(limit));
}

void Engine::afterCompleted(TaskRun& run)
{
    m_completedResult.clear(); // handed to the observers with the transition
    // The store has it now (its row holds the JSON text): nothing here needs the value any more.
    if (m_durability && run.node->resultReaders == 0)
        run.result = QJsonValue();
}

void Engine::queueExpansion(FlowRun& flow, TaskNode& node)
{
    node.awaitingItems = false;
    ++flow.expanding;
    flow.expansionQueue.push_back(node.index);
    startExpansions(flow);
}

void Engine::startExpansions(FlowRun& flow)
{
    if (flow.materializing || flow.expanderRunning || flow.expansionQueue.empty())
        return;
    auto task = expandQueued(&flow);
}

QCoro::Task<> Engine::expandQueued(FlowRun* flow)
{
    flow->expanderRunning = true;
    while (!flow->expansionQueue.empty()) {
        TaskNode* node = &flow->nodes[size_t(flow->expansionQueue.front())];
        flow->expansionQueue.erase(flow->expansionQueue.begin());
        auto expanding = expandForEach(flow, node);
        co_await expanding;
    }
    flow->expanderRunning = false;
}

QCoro::Task<> Engine::expandForEach(FlowRun* flowPtr, TaskNode* nodePtr)
{
    FlowRun& flow = *flowPtr;
    TaskNode& node = *nodePtr;
    QString error;
    const QString reference = node.def->forEach.trimmed().mid(2).chopped(2).trimmed();
    const auto isTask = [&flow](const QString& id) { return flow.def.indexOf(id) >= 0; };
    std::optional<QJsonValue> items;
    if (const std::optional<Reference> parsed = parseReference(reference, isTask, &error)) {
        if (TaskNode* source = nodeOf(flow, parsed->task))
            items = followPath(taskResultValue(*source), parsed->path, parsed->text, &error);
    }
    if (items && !items->isArray()) {
        error = QStringLiteral("for_each \"{{%1}}\" is %2, not an array")
                    .arg(reference, detail::describe(*items));
        items.reset();
    }
    const qint64 count = items ? items->toArray().size() : 1;
    if (items && flow.totalTaskRuns + count > MaxTaskRunsPerFlowRun) {
        error
            = QStringLiteral("for_each \"{{%1}}\" has %2 elements: the flow run would have more than %3 task "
                             "runs")
                  .arg(reference)
                  .arg(count)
                  .arg(MaxTaskRunsPerFlowRun);
        items.reset();
    }
    const qint64 runs = items ? count : 1;
    try {
        node.runs = TaskRunArray(size_t(runs));
    } catch (const std::bad_alloc&) {
        error = QStringLiteral("for_each \"{{%1}}\": no memory for %2 task runs").arg(reference).arg(runs);
        items.reset();
        node.runs = TaskRunArray(1);
    }
    node.count = items ? int(count) : 1;
    flow.totalTaskRuns += node.count;
    flow.expansionOrder.push_back(node.index);
    // Its runs read what it references; the hold taken for the expansion itself goes.
    for (const QString& task : node.def->resultsRead)
        readBy(flow, task, node.count);
    releaseReads(flow, node, 1);
    if (items) {
        node.items = items->toArray();
        node.itemsKnown = true;
    } else {
        // One run that fails without running says why; the tasks after it are upstream-failed.
        blockNode(flow, node, StateName::Failed, error);
    }
    int sinceYield = 0;
    for (int k = 0; k < node.count; ++k) {
        createTaskRun(flow, node, k);
        if (++sinceYield >= ExpandBatch) {
            sinceYield = 0;
            co_await m_scheduler->yield();
            co_await caughtUp();
        }
    }
    if (node.isFinished())
        nodeFinished(flow, node);
    // A continued flow run's stored task runs are kept until no for_each task can still expand.
    if (--flow.expanding == 0 && !flow.materializing
        && std::none_of(flow.nodes.begin(), flow.nodes.end(),
                        [](const TaskNode& n) { return n.awaitingItems; })) {
        flow.prior.reset();
        flow.continuation.reset();
    }
    maybeFinishFlow(flow);
}

bool Engine::settleFlowResult(FlowRun& flow, QString* why)
{
    std::optional<QJsonValue> result = resolveFlowResult(flow, why);
    for (const QString& task : flow.def.resultReads)
        unread(nodeOf(flow, task), 1, m_durability);
    if (!result)
        return false;
    flow.result = *result;
    m_completedResult
        = flow.result.isUndefined() || flow.result.isNull() ? QByteArray() : jsonBytes(flow.result);
    return true;
}

} // namespace flowdeck
