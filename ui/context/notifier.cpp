#include "context/notifier.h"

#include "context/appcontext.h"
#include "run/clock.h"
#include "run/engine.h"
#include "run/flowrun.h"
#include "style/statestyle.h"

#include <QTimer>

#include <algorithm>
#include <map>

namespace flowdeck {

namespace {

//! Flow runs of another process that are under way (a queued or planned run is not).
bool activeElsewhere(const FlowRun& run)
{
    return run.type == StateType::Running || run.type == StateType::Pending || run.type == StateType::Paused
        || run.type == StateType::Cancelling;
}

} // namespace

Notifier::Notifier(AppContext& context, QObject* parent)
    : QObject(parent)
    , m_context(context)
    , m_timer(new QTimer(this))
    , m_sinceUs(wallUs())
{
    m_timer->setSingleShot(true);
    connect(m_timer, &QTimer::timeout, this, &Notifier::flush);
    connect(&context, &AppContext::updated, this, &Notifier::apply);
    connect(&context, &AppContext::pulse, this, &Notifier::updateTrayState);
    connect(&context.approvals(), &Approvals::changed, this, &Notifier::checkStoredApprovals);
    // The first runs read from the store come as a whole, not as added runs.
    connect(&context.history(), &RunHistory::historyChanged, this, &Notifier::considerHistory);
}

Notifier::~Notifier() = default;

void Notifier::setSink(NotificationSink* sink)
{
    m_sink = sink;
    m_state = {};
    if (m_sink)
        updateTrayState();
}

void Notifier::setTiming(int gatherMs, int minGapMs)
{
    m_gatherMs = gatherMs;
    m_minGapMs = minGapMs;
}

void Notifier::acknowledge()
{
    if (m_unseenFailures == 0)
        return;
    m_unseenFailures = 0;
    updateTrayState();
}

void Notifier::activate()
{
    if (!m_last.runId.isEmpty()) {
        FlowRun* run = m_context.engine().findFlowRun(RunId::fromString(m_last.runId));
        if (!run)
            run = m_context.history().storedRun(m_last.runId);
        if (run) {
            if (FlowRun* now = m_context.continuedAs(run))
                run = now;
            Q_EMIT openRun(run);
            return;
        }
    }
    if (m_last.kind == Notification::Kind::Summary && m_last.failures > 0)
        Q_EMIT openFailedRuns();
}

void Notifier::apply(const UpdateBatch& batch)
{
    if (!m_sink)
        return;
    for (const FlowRun* run : batch.finishedFlowRuns)
        consider(*run);
    // Runs of other processes (workers) come from the run history's poll as changed or added runs.
    bool storedChanged = false;
    for (const FlowRun* run : batch.changedFlowRuns) {
        if (!m_context.history().isStored(run))
            continue;
        storedChanged = true;
        if (run->isTerminal() && run->endedUs >= m_sinceUs)
            consider(*run);
    }
    // A stored approval may have been read before the history had its flow run.
    if (storedChanged)
        checkStoredApprovals();
    checkLocalApprovals();
    updateTrayState();
}

void Notifier::considerHistory()
{
    if (!m_sink)
        return;
    // Runs that ended before this session began are old news (an earlier session's history).
    for (const FlowRun* run : m_context.history().runs()) {
        if (run->isTerminal() && run->endedUs >= m_sinceUs)
            consider(*run);
    }
    checkStoredApprovals();
    updateTrayState();
}

void Notifier::consider(const FlowRun& run)
{
    Notification::Kind kind;
    if (run.type == StateType::Failed || run.type == StateType::Crashed) {
        kind = Notification::Kind::Failed;
        if (!m_options.failures)
            return;
    } else if (run.type == StateType::Completed) {
        kind = Notification::Kind::Completed;
        if (!m_options.completions)
            return;
    } else {
        return;
    }
    // One notification per run and ending: the same run seen again in a later poll is not news, a
    // retry that fails again is.
    const QString key = run.id.toString() + QLatin1Char(':') + QString::number(run.endedUs);
    if (m_seen.contains(key))
        return;
    m_seen.insert(key);
    if (kind == Notification::Kind::Failed)
        ++m_unseenFailures;
    add({kind, run.def.name, run.id.toString(), run.firstFailure.isEmpty() ? run.message : run.firstFailure});
}

void Notifier::noteApproval(const FlowRun& run, const QString& taskRunId, const QString& task, int mapIndex,
                            const QString& prompt)
{
    if (m_seen.contains(taskRunId))
        return;
    m_seen.insert(taskRunId);
    const QString label = mapIndex >= 0 ? QStringLiteral("%1[%2]").arg(task).arg(mapIndex) : task;
    add({Notification::Kind::Approval, run.def.name, run.id.toString(),
         prompt.isEmpty() ? label : label + QStringLiteral(": ") + prompt});
}

void Notifier::checkLocalApprovals()
{
    if (!m_sink || !m_options.approvals)
        return;
    // The engine's list of waiting approval task runs: short, and read once per tick.
    for (const TaskRun* t : m_context.engine().awaitingApprovals())
        noteApproval(*t->flowRun, t->id.toString(), t->taskId(), t->mapIndex, t->message);
}

void Notifier::checkStoredApprovals()
{
    if (!m_sink || !m_options.approvals)
        return;
    // Approvals waiting in other processes, as the last read of the store found them.
    for (const FlowRun* run : m_context.history().runs()) {
        if (run->isTerminal() || m_context.approvals().waitingCount(run) == 0)
            continue;
        for (const PendingApproval& approval : m_context.approvals().waitingFor(run))
            noteApproval(*run, approval.taskRunId, approval.task, approval.mapIndex, approval.prompt);
    }
}

void Notifier::add(Event event)
{
    m_pending.push_back(std::move(event));
    if (m_timer->isActive())
        return;
    // Gathered for a moment (a burst is one summary), and never sooner than MinGapMs after the last.
    int delay = m_gatherMs;
    if (m_sinceShown.isValid())
        delay = std::max<qint64>(delay, m_minGapMs - m_sinceShown.elapsed());
    m_timer->start(delay);
}

void Notifier::flush()
{
    if (m_pending.empty() || !m_sink) {
        m_pending.clear();
        return;
    }
    m_last = m_pending.size() == 1 ? single(m_pending.front()) : summary();
    m_pending.clear();
    m_sinceShown.start();
    m_sink->showNotification(m_last);
}

Notification Notifier::single(const Event& event) const
{
    Notification n;
    n.kind = event.kind;
    n.runId = event.runId;
    const QString run = QStringLiteral("%1 (%2)").arg(event.flowName, shortId(event.runId));
    switch (event.kind) {
    case Notification::Kind::Failed:
        n.title = tr("Flow run failed: %1").arg(event.flowName);
        n.text = event.detail.isEmpty() ? run : tr("%1: %2").arg(run, event.detail);
        n.failures = 1;
        break;
    case Notification::Kind::Completed:
        n.title = tr("Flow run completed: %1").arg(event.flowName);
        n.text = run;
        break;
    case Notification::Kind::Approval:
        n.title = tr("Approval waiting: %1").arg(event.flowName);
        n.text = tr("%1: %2").arg(run, event.detail);
        break;
    case Notification::Kind::Summary:
        break;
    }
    return n;
}

Notification Notifier::summary() const
{
    Notification n;
    n.kind = Notification::Kind::Summary;
    int counts[3] = {};
    std::map<QString, int> failedFlows;
    const Event* firstFailure = nullptr;
    for (const Event& e : m_pending) {
        ++counts[int(e.kind)];
        if (e.kind == Notification::Kind::Failed) {
            ++failedFlows[e.flowName];
            if (!firstFailure)
                firstFailure = &e;
        }
    }
    QStringList parts;
    if (counts[0] > 0)
        parts << (counts[0] == 1 ? tr("1 flow run failed") : tr("%1 flow runs failed").arg(counts[0]));
    if (counts[1] > 0)
        parts << (counts[1] == 1 ? tr("1 flow run completed") : tr("%1 flow runs completed").arg(counts[1]));
    if (counts[2] > 0)
        parts << (counts[2] == 1 ? tr("1 approval waiting") : tr("%1 approvals waiting").arg(counts[2]));
    n.title = parts.join(QStringLiteral(", "));
    n.failures = counts[0];
    if (firstFailure) {
        QStringList flows;
        for (const auto& [name, count] : failedFlows)
            flows << (count > 1 ? QStringLiteral("%1 ×%2").arg(name).arg(count) : name);
        n.text = tr("%1. First: %2 (%3): %4")
                     .arg(flows.join(QStringLiteral(", ")), firstFailure->flowName,
                          shortId(firstFailure->runId), firstFailure->detail);
    } else {
        QStringList flows;
        for (const Event& e : m_pending) {
            if (!flows.contains(e.flowName))
                flows << e.flowName;
        }
        n.text = flows.join(QStringLiteral(", "));
    }
    return n;
}

void Notifier::updateTrayState()
{
    if (!m_sink)
        return;
    TrayState state;
    state.activeRuns = m_context.activeFlowRuns();
    for (const FlowRun* run : m_context.history().runs())
        state.activeRuns += activeElsewhere(*run) ? 1 : 0;
    state.unseenFailures = m_unseenFailures;
    state.status = state.unseenFailures > 0 ? TrayState::Status::Failed
        : state.activeRuns > 0              ? TrayState::Status::Running
                                            : TrayState::Status::Idle;
    QStringList lines{tr("Flowdeck")};
    lines << (state.activeRuns == 0       ? tr("No flow runs active")
                  : state.activeRuns == 1 ? tr("1 flow run active")
                                          : tr("%1 flow runs active").arg(state.activeRuns));
    if (state.unseenFailures > 0)
        lines << (state.unseenFailures == 1
                      ? tr("1 flow run failed since you last looked")
                      : tr("%1 flow runs failed since you last looked").arg(state.unseenFailures));
    state.toolTip = lines.join(QLatin1Char('\n'));
    if (state == m_state)
        return;
    m_state = state;
    m_sink->showTrayState(m_state);
}

} // namespace flowdeck
