#include "models/taskrunmodel.h"

#include "context/appcontext.h"
#include "context/dirtyrows.h"
#include "models/modelroles.h"
#include "run/clock.h"
#include "run/concurrencylimiter.h"
#include "run/engine.h"
#include "style/statestyle.h"

#include <QBrush>

namespace flowdeck {

namespace {

qint64 durationUs(const TaskRun& run)
{
    if (!run.startedUs)
        return -1;
    const qint64 end = run.endedUs ? run.endedUs : wallUs();
    return std::max<qint64>(0, end - run.startedUs);
}

} // namespace

QString waitingReason(const TaskRun& run)
{
    if (run.started || run.isTerminal())
        return {};
    const TaskNode& node = *run.node;
    const FlowRun& flow = *run.flowRun;
    if (node.pendingDeps > 0) {
        QStringList waitingFor;
        for (const QString& dep : node.def->dependsOn) {
            const int index = flow.def.indexOf(dep);
            if (index >= 0 && !flow.nodes[size_t(index)].settled)
                waitingFor << dep;
        }
        return TaskRunModel::tr("waiting for %1").arg(waitingFor.join(QStringLiteral(", ")));
    }
    if (run.upstreamPending && node.mapOverUpstream >= 0)
        return TaskRunModel::tr("waiting for %1[%2]")
            .arg(flow.nodes[size_t(node.mapOverUpstream)].def->id)
            .arg(run.mapIndex);
    return TaskRunModel::tr("ready, queued to start");
}

TaskRunModel::TaskRunModel(AppContext* context, QObject* parent)
    : QAbstractTableModel(parent)
    , m_context(context)
{
    connect(context, &AppContext::updated, this, &TaskRunModel::apply);
    // Places in line move when any flow run's task runs get slots: one update of the message column
    // per pulse while something of this run waits, never a signal per task run.
    connect(context, &AppContext::pulse, this, [this] {
        maybeAnnounceNewRows();
        const FlowRun* flow = m_table.flowRun();
        if (flow && !flow->isTerminal() && flow->count(StateType::Scheduled) > 0 && m_rows > 0)
            Q_EMIT dataChanged(index(0, MessageColumn), index(m_rows - 1, MessageColumn), {Qt::DisplayRole});
    });
}

TaskRunModel::~TaskRunModel()
{
    if (m_dirty)
        m_context->removeDirtyRows(m_dirty.get());
}

void TaskRunModel::setFlowRun(FlowRun* run)
{
    if (run == m_table.flowRun())
        return;
    beginResetModel();
    if (m_dirty) {
        m_context->removeDirtyRows(m_dirty.get());
        m_dirty.reset();
    }
    m_table.setFlowRun(run);
    m_rows = m_table.rowCount();
    if (run && !run->isTerminal()) {
        m_dirty = std::make_unique<DirtyRows>(run);
        m_context->addDirtyRows(m_dirty.get());
    }
    endResetModel();
}

TaskRun* TaskRunModel::taskRunAt(int row) const
{
    if (row < 0 || row >= m_rows)
        return nullptr;
    return &m_table.at(row);
}

int TaskRunModel::rowCount(const QModelIndex& parent) const
{
    return parent.isValid() ? 0 : m_rows;
}

int TaskRunModel::columnCount(const QModelIndex& parent) const
{
    return parent.isValid() ? 0 : ColumnCount;
}

QVariant TaskRunModel::data(const QModelIndex& index, int role) const
{
    if (!checkIndex(index, CheckIndexOption::IndexIsValid | CheckIndexOption::ParentIsInvalid))
        return {};
    // Views ask for a dozen roles per cell; most have no answer here.
    switch (role) {
    case Qt::DisplayRole:
    case Qt::ToolTipRole:
    case Qt::TextAlignmentRole:
    case Qt::ForegroundRole:
    case BadgeColorRole:
    case SortRole:
    case StateTypeRole:
    case RunPointerRole:
        break;
    default:
        return {};
    }
    const TaskRun& run = m_table.at(index.row());
    if (role == StateTypeRole)
        return int(run.type);
    if (role == RunPointerRole)
        return QVariant::fromValue(quintptr(&run));
    const auto column = Column(index.column());
    switch (column) {
    case TaskColumn:
    case MapIndexColumn:
    case TagsColumn:
    case AttemptColumn:
        return taskData(run, column, role);
    case StateColumn:
        if (role == Qt::DisplayRole)
            return toString(run.name);
        if (role == Qt::ToolTipRole)
            return stateToolTip(run.name);
        return stateBadgeData(run.type, role); // its colour and sort order; the name is shown
    case StartColumn:
    case DurationColumn:
        return timeData(run, column, role);
    case StallsColumn:
        return stallData(run, role);
    case MessageColumn:
        return messageData(run, role);
    case ColumnCount:
        break;
    }
    return {};
}

QVariant TaskRunModel::taskData(const TaskRun& run, Column column, int role) const
{
    const bool display = role == Qt::DisplayRole;
    const bool rightAligned = role == Qt::TextAlignmentRole;
    switch (column) {
    case TaskColumn:
        if (display || role == SortRole)
            return run.taskId();
        if (role == Qt::ToolTipRole)
            return tr("%1 (kind %2)\n%3").arg(run.taskId(), run.node->def->kind, run.id.toString());
        break;
    case MapIndexColumn:
        if (display)
            return run.mapIndex >= 0 ? QVariant(run.mapIndex) : QVariant();
        if (role == SortRole)
            return run.mapIndex;
        if (rightAligned)
            return int(Qt::AlignRight | Qt::AlignVCenter);
        break;
    case TagsColumn:
        if (display || role == SortRole)
            return run.node->def->tags.join(QStringLiteral(", "));
        break;
    default: // AttemptColumn
        if (display)
            return run.attempts > 0 ? QVariant(int(run.attempts)) : QVariant();
        if (role == SortRole)
            return int(run.attempts);
        if (rightAligned)
            return int(Qt::AlignRight | Qt::AlignVCenter);
        if (role == Qt::ToolTipRole)
            return tr("attempt %1 of %2").arg(run.attempts).arg(run.node->def->retries + 1);
        break;
    }
    return {};
}

QVariant TaskRunModel::timeData(const TaskRun& run, Column column, int role) const
{
    if (column == StartColumn) {
        if (role == Qt::DisplayRole)
            return formatClock(run.startedUs);
        return role == SortRole ? QVariant(run.startedUs) : QVariant();
    }
    const qint64 us = durationUs(run);
    switch (role) {
    case Qt::DisplayRole:
        return us >= 0 ? formatDuration(us) : QString();
    case SortRole:
        return us;
    case Qt::TextAlignmentRole:
        return int(Qt::AlignRight | Qt::AlignVCenter);
    }
    return {};
}

QVariant TaskRunModel::stallData(const TaskRun& run, int role) const
{
    switch (role) {
    case Qt::DisplayRole:
        return run.stallCount > 0 ? tr("%1 × %2").arg(run.stallCount).arg(formatDuration(run.stallTotalUs))
                                  : QString();
    case BadgeColorRole:
        return run.stallCount > 0 ? QVariant(stateColor(StateType::Failed)) : QVariant();
    case SortRole:
        return run.stallTotalUs;
    case Qt::ToolTipRole:
        if (run.stallCount > 0)
            return tr("Blocked the event loop %1 times for %2 in all: run blocking work with kind "
                      "\"blocking\" so it runs on a worker thread")
                .arg(run.stallCount)
                .arg(formatDuration(run.stallTotalUs));
        break;
    }
    return {};
}

QVariant TaskRunModel::messageData(const TaskRun& run, int role) const
{
    switch (role) {
    case Qt::DisplayRole:
    case SortRole:
    case Qt::ToolTipRole:
        if (run.name == StateName::AwaitingConcurrencySlot && !m_context->history().isStored(run.flowRun)) {
            // Its place in line moves as others get slots: read from the limiter now, not the place it
            // had when it was queued (the stored message keeps that one).
            if (const auto why = m_context->engine().limiter().whyWaiting(run))
                return why->describe();
        }
        return run.message.isEmpty() ? waitingReason(run) : run.message;
    case Qt::ForegroundRole:
        if (run.message.isEmpty())
            return QBrush(stateColor(StateType::Pending));
        break;
    }
    return {};
}

QVariant TaskRunModel::headerData(int section, Qt::Orientation orientation, int role) const
{
    if (orientation != Qt::Horizontal || role != Qt::DisplayRole)
        return {};
    const QString title = columnTitle(section);
    return title.isEmpty() ? QVariant() : QVariant(title);
}

QString TaskRunModel::columnTitle(int section)
{
    switch (section) {
    case TaskColumn:
        return tr("Task");
    case MapIndexColumn:
        return tr("Index");
    case StateColumn:
        return tr("State");
    case TagsColumn:
        return tr("Tags");
    case AttemptColumn:
        return tr("Attempt");
    case StartColumn:
        return tr("Started");
    case DurationColumn:
        return tr("Duration");
    case StallsColumn:
        return tr("Stalls");
    case MessageColumn:
        return tr("Message / waiting for");
    default:
        break;
    }
    return {};
}

void TaskRunModel::maybeAnnounceNewRows()
{
    // A view repaints all it shows when rows are appended (it lays its rows out again), although
    // rows appended below thousands of others are seldom on screen: while a big flow run creates its
    // task runs, they are announced every AnnounceIntervalMs, and the last ones on the next ticks.
    if (m_rows < InstantRows || m_table.rowCount() == m_table.totalRows() || !m_announced.isValid()
        || m_announced.hasExpired(AnnounceIntervalMs))
        announceNewRows();
}

void TaskRunModel::announceNewRows()
{
    // Inserting costs views time by the row (a million rows at once: tens of ms): a bounded number a turn.
    const int rows = std::min(m_table.rowCount(), m_rows + MaxRowsPerInsert);
    if (rows <= m_rows)
        return;
    m_announced.start();
    beginInsertRows({}, m_rows, rows - 1);
    m_rows = rows;
    endInsertRows();
}

void TaskRunModel::apply(const UpdateBatch& batch)
{
    FlowRun* flow = m_table.flowRun();
    if (!flow || !m_dirty)
        return;
    if (std::find(batch.changedFlowRuns.begin(), batch.changedFlowRuns.end(), flow)
        == batch.changedFlowRuns.end())
        return;
    const int oldRows = m_rows;
    maybeAnnounceNewRows();
    for (const auto& [first, last] : m_dirty->takeRanges(oldRows))
        Q_EMIT dataChanged(index(first, 0), index(last, ColumnCount - 1));
    if (flow->isTerminal() && flow->activeDrivers == 0 && m_rows == m_table.totalRows()) {
        // Nothing of it changes any more: stop tracking.
        m_context->removeDirtyRows(m_dirty.get());
        m_dirty.reset();
    }
}

} // namespace flowdeck
