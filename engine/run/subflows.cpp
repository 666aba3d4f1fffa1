// Subflows: flow runs started by a task run of kind "flow" (kinds/flowkind.cpp), linked to it, and
// paused and resumed with their parent. Cancelling reaches them through the task run: its kind
// cancels the child when the task run is interrupted.
#include "run/clock.h"
#include "run/engine.h"

namespace flowdeck {

FlowRun* Engine::startChild(const FlowDefinition& definition, TaskRun& parent)
{
    FlowRun& flow = build(definition, RunId::generate(), wallUs());
    // Set before the first transition, so the store writes the link with the flow run's first row.
    flow.parentFlowRunId = parent.flowRun->id;
    flow.parentTaskRunId = parent.id;
    flow.refreshCache = parent.flowRun->refreshCache;
    return launch(flow);
}

std::vector<FlowRun*> Engine::activeChildren(const FlowRun& parent) const
{
    std::vector<FlowRun*> children;
    for (const auto& flow : m_flowRuns) {
        if (!flow->isTerminal() && flow->parentFlowRunId == parent.id && flow.get() != &parent)
            children.push_back(flow.get());
    }
    return children;
}

void Engine::pauseChildren(const FlowRun& parent, const QString& by, std::optional<double> graceSeconds)
{
    const QString who
        = QStringLiteral("its parent flow run (%1)").arg(by.isEmpty() ? parent.id.toString() : by);
    for (FlowRun* child : activeChildren(parent))
        pauseFlowRun(child, who, graceSeconds); // and its own children in turn
}

void Engine::resumeChildren(const FlowRun& parent, const QString& by)
{
    const QString who
        = QStringLiteral("its parent flow run (%1)").arg(by.isEmpty() ? parent.id.toString() : by);
    for (FlowRun* child : activeChildren(parent))
        resumeFlowRun(child, who);
}

} // namespace flowdeck
