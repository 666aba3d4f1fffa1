#include "models/flowrunmodel.h"

#include "context/appcontext.h"
#include "models/modelroles.h"
#include "run/clock.h"
#include "run/engine.h"
#include "style/statestyle.h"

#include <QBrush>
#include <QDate>
#include <QDateTime>
#include <QLocale>

#include <algorithm>

namespace flowdeck {

namespace {

qint64 waitingCount(const FlowRun& run, const TaskRunCounts& c)
{
    auto count = [&c](StateType t) { return c.byType[size_t(t)]; };
    // Task runs not created yet wait while the run goes on; once it ended, they never run.
    return count(StateType::Scheduled) + count(StateType::Pending) + count(StateType::Paused)
        + (run.isTerminal() ? 0 : std::max<qint64>(0, c.total - c.created));
}

qint64 durationUs(const FlowRun& run)
{
    const qint64 start = run.startedUs ? run.startedUs : run.createdUs;
    const qint64 end = run.endedUs ? run.endedUs : wallUs();
    return std::max<qint64>(0, end - start);
}

} // namespace

FlowRunModel::FlowRunModel(AppContext* context, QObject* parent)
    : QAbstractTableModel(parent)
    , m_context(context)
{
    m_runs = allRuns();
    reindex();
    connect(context, &AppContext::updated, this, &FlowRunModel::apply);
    connect(context, &AppContext::pulse, this, &FlowRunModel::tickDurations);
    connect(&context->history(), &RunHistory::historyChanged, this, &FlowRunModel::loadHistory);
    // Approvals waiting in other processes flag their runs' state cells (read on the pulse).
    connect(&context->approvals(), &Approvals::changed, this, [this] {
        if (!m_runs.empty())
            Q_EMIT dataChanged(index(0, StateColumn), index(rowCount() - 1, StateColumn),
                               {Qt::DisplayRole, Qt::ToolTipRole});
    });
}

std::vector<FlowRun*> FlowRunModel::allRuns() const
{
    std::vector<FlowRun*> runs(m_context->history().runs().rbegin(), m_context->history().runs().rend());
    for (const auto& run : m_context->flowRuns())
        runs.push_back(run.get());
    // An earlier copy of a run that went on in this process is shown by its newer copy only.
    std::erase_if(runs, [this](const FlowRun* run) { return m_context->continuedAs(run) != nullptr; });
    // By creation time, whoever runs them: a run queued for a worker after this session's runs
    // started is newer than they are.
    std::stable_sort(runs.begin(), runs.end(),
                     [](const FlowRun* a, const FlowRun* b) { return a->createdUs < b->createdUs; });
    return runs;
}

void FlowRunModel::reindex()
{
    m_position.clear();
    for (size_t i = 0; i < m_runs.size(); ++i)
        m_position.insert(m_runs[i], int(i));
}

void FlowRunModel::loadHistory()
{
    std::vector<FlowRun*> runs = allRuns();
    // Usually the stored runs are all older than this session's: they go below them, in one insert.
    std::vector<FlowRun*> older;
    for (FlowRun* run : runs) {
        if (!m_position.contains(run))
            older.push_back(run);
    }
    const bool onlyOlder = !older.empty() && older.size() + m_runs.size() == runs.size()
        && std::equal(m_runs.begin(), m_runs.end(), runs.begin() + qsizetype(older.size()))
        && std::equal(older.begin(), older.end(), runs.begin());
    if (onlyOlder) {
        const int first = int(m_runs.size());
        beginInsertRows({}, first, first + int(older.size()) - 1);
        m_runs = std::move(runs);
        reindex();
        endInsertRows();
        return;
    }
    if (runs == m_runs)
        return;
    // Runs added among the known ones (a run queued for a worker is newer than this session's
    // first runs): row-level inserts, when every known run is still there in the same order.
    size_t known = 0;
    for (FlowRun* run : runs) {
        if (known < m_runs.size() && run == m_runs[known])
            ++known;
    }
    if (known == m_runs.size() && runs.size() > m_runs.size()) {
        // Oldest first, so a position only moves when something is inserted before it. New runs at
        // positions [i, i + k) are rows [n - i, n - i + k) once inserted (row = size - 1 - position).
        size_t i = 0;
        while (i < runs.size()) {
            if (i < m_runs.size() && m_runs[i] == runs[i]) {
                ++i;
                continue;
            }
            size_t k = 0;
            while (i + k < runs.size() && !m_position.contains(runs[i + k]))
                ++k;
            const int row = int(m_runs.size()) - int(i);
            beginInsertRows({}, row, row + int(k) - 1);
            m_runs.insert(m_runs.begin() + qsizetype(i), runs.begin() + qsizetype(i),
                          runs.begin() + qsizetype(i + k));
            reindex();
            endInsertRows();
            i += k;
        }
        return;
    }
    // The database changed: a bulk load.
    beginResetModel();
    m_runs = std::move(runs);
    reindex();
    endResetModel();
}

FlowRunModel::~FlowRunModel() = default;

int FlowRunModel::rowCount(const QModelIndex& parent) const
{
    return parent.isValid() ? 0 : int(m_runs.size());
}

int FlowRunModel::columnCount(const QModelIndex& parent) const
{
    return parent.isValid() ? 0 : ColumnCount;
}

FlowRun* FlowRunModel::flowRunAt(int row) const
{
    if (row < 0 || row >= int(m_runs.size()))
        return nullptr;
    return m_runs[m_runs.size() - 1 - size_t(row)];
}

QModelIndex FlowRunModel::indexOf(const FlowRun* run, int column) const
{
    const auto it = m_position.constFind(run);
    if (it == m_position.constEnd())
        return {};
    return index(int(m_runs.size()) - 1 - *it, column);
}

QVariant FlowRunModel::data(const QModelIndex& index, int role) const
{
    if (!checkIndex(index, CheckIndexOption::IndexIsValid | CheckIndexOption::ParentIsInvalid))
        return {};
    const FlowRun* run = flowRunAt(index.row());
    if (!run)
        return {};
    if (role == StateTypeRole)
        return int(run->type);
    if (role == RunPointerRole)
        return QVariant::fromValue(quintptr(run));
    const auto column = Column(index.column());
    switch (column) {
    case StateColumn:
        if (const int approvals = role == Qt::DisplayRole || role == Qt::ToolTipRole || role == BadgeColorRole
                ? m_context->approvals().waitingCount(run)
                : 0;
            approvals > 0) {
            // Flagged in the colour of the waiting task runs' state: someone must approve or reject
            // before this run goes on. Sorted and filtered by its state type as any other run.
            if (role == Qt::DisplayRole)
                return tr("Approval");
            if (role == BadgeColorRole)
                return stateColor(StateType::Paused);
            QStringList lines{
                tr("%1, waiting for approval of %n task run(s): open the run to approve or reject", "",
                   approvals)
                    .arg(stateLabel(run->type))};
            for (const PendingApproval& a : m_context->approvals().waitingFor(run))
                lines << tr("%1: %2").arg(taskRunLabel(a.task, a.mapIndex), a.prompt);
            return lines.join(u'\n');
        }
        if (role == Qt::ToolTipRole)
            return run->message.isEmpty()
                ? stateToolTip(run->name)
                : QStringLiteral("%1\n%2").arg(stateToolTip(run->name), run->message);
        return stateBadgeData(run->type, role);
    case FlowColumn:
    case IdColumn:
    case WorkerColumn:
        return originData(*run, column, role);
    case StartColumn:
    case DurationColumn:
        return timeData(*run, column, role);
    case ProgressColumn:
        return progressData(*run, role);
    case WaitingColumn:
    case RunningColumn:
    case CompletedColumn:
    case FailedColumn:
    case CrashedColumn:
    case CancelledColumn:
        return countData(*run, column, role);
    case ColumnCount:
        break;
    }
    return {};
}

QVariant FlowRunModel::originData(const FlowRun& run, Column column, int role) const
{
    if (column == FlowColumn) {
        if (role == Qt::DisplayRole || role == SortRole)
            return run.def.name;
        return role == Qt::ToolTipRole ? QVariant(run.def.source) : QVariant();
    }
    if (column == IdColumn) {
        if (role == Qt::DisplayRole)
            return shortId(run.id.toString());
        return role == SortRole || role == Qt::ToolTipRole ? QVariant(run.id.toString()) : QVariant();
    }
    const RunHistory& history = m_context->history();
    if (role == Qt::DisplayRole || role == SortRole)
        return history.workerNameOf(&run);
    if (role != Qt::ToolTipRole)
        return {};
    if (!history.isStored(&run))
        return tr("Run by this app's own engine");
    if (history.isClaimedByWorker(&run))
        return tr("Run by worker %1").arg(history.workerNameOf(&run));
    if (!history.workerNameOf(&run).isEmpty())
        return tr("Run by a process that is not a worker (this app in an earlier session, or flowdeck "
                  "run): %1")
            .arg(history.workerNameOf(&run));
    return run.type == StateType::Scheduled ? tr("Queued: waiting for a worker")
                                            : tr("Run by another process (not a worker)");
}

QVariant FlowRunModel::timeData(const FlowRun& run, Column column, int role) const
{
    if (column == StartColumn) {
        const QDateTime at = QDateTime::fromMSecsSinceEpoch(run.createdUs / 1000);
        if (role == Qt::DisplayRole)
            return at.date() == QDate::currentDate()
                ? formatClock(run.createdUs)
                : QLocale().toString(at, QStringLiteral("yyyy-MM-dd HH:mm"));
        if (role == Qt::ToolTipRole)
            return QLocale().toString(at, QLocale::LongFormat);
        return role == SortRole ? QVariant(run.createdUs) : QVariant();
    }
    switch (role) {
    case Qt::DisplayRole:
        return formatDuration(durationUs(run));
    case SortRole:
        return durationUs(run);
    case Qt::TextAlignmentRole:
        return int(Qt::AlignRight | Qt::AlignVCenter);
    }
    return {};
}

TaskRunCounts FlowRunModel::countsOf(const FlowRun& run) const
{
    if (const TaskRunCounts* row = m_context->history().rowCountsOf(&run))
        return *row;
    TaskRunCounts c;
    c.byType = run.countByType;
    c.created = run.materializedTaskRuns;
    c.total = run.totalTaskRuns;
    c.finished = run.finishedTaskRuns;
    return c;
}

QVariant FlowRunModel::progressData(const FlowRun& run, int role) const
{
    // Progress is completed work; the other end states are parts of their own, in their colours.
    const TaskRunCounts c = countsOf(run);
    auto count = [&c](StateType t) { return c.byType[size_t(t)]; };
    const qint64 completed = count(StateType::Completed);
    const qint64 total = c.total;
    auto fraction = [total](qint64 n) { return total > 0 ? double(n) / double(total) : 0.0; };
    switch (role) {
    case Qt::DisplayRole:
        return tr("%1 / %2").arg(completed).arg(total);
    case ProgressRole:
    case SortRole:
        return fraction(completed);
    case ProgressPartsRole: {
        QList<ProgressPart> parts;
        for (StateType t : {StateType::Failed, StateType::Crashed, StateType::Cancelled}) {
            if (count(t) > 0)
                parts.append({fraction(count(t)), stateColor(t)});
        }
        return QVariant::fromValue(parts);
    }
    case Qt::ToolTipRole: {
        QString tip = tr("%1 of %2 task runs completed").arg(completed).arg(total);
        QStringList others;
        for (StateType t : {StateType::Failed, StateType::Crashed, StateType::Cancelled}) {
            if (count(t) > 0)
                others << tr("%1 %2").arg(count(t)).arg(stateLabel(t).toLower());
        }
        const qint64 notRun = run.isTerminal() ? total - c.finished : 0;
        if (notRun > 0)
            others << tr("%1 never ran").arg(notRun);
        if (!others.isEmpty())
            tip += QStringLiteral("; ") + others.join(QStringLiteral(", "));
        return tip;
    }
    }
    return {};
}

QVariant FlowRunModel::countData(const FlowRun& run, Column column, int role) const
{
    const TaskRunCounts c = countsOf(run);
    auto byType = [&c](StateType t) { return c.byType[size_t(t)]; };
    qint64 count = 0;
    StateType colour = StateType::Completed;
    switch (column) {
    case WaitingColumn:
        count = waitingCount(run, c);
        break;
    case RunningColumn:
        count = byType(StateType::Running) + byType(StateType::Cancelling);
        break;
    case CompletedColumn:
        count = byType(StateType::Completed);
        break;
    case FailedColumn:
        count = byType(StateType::Failed);
        colour = StateType::Failed;
        break;
    case CrashedColumn:
        count = byType(StateType::Crashed);
        colour = StateType::Crashed;
        break;
    default:
        count = byType(StateType::Cancelled);
        break;
    }
    switch (role) {
    case Qt::DisplayRole:
    case SortRole:
        return count;
    case Qt::TextAlignmentRole:
        return int(Qt::AlignRight | Qt::AlignVCenter);
    case Qt::ForegroundRole:
        // Failures and crashes stand out; the other counts keep the text colour.
        if (count > 0 && (column == FailedColumn || column == CrashedColumn))
            return QBrush(stateColor(colour));
        break;
    }
    return {};
}

QVariant FlowRunModel::headerData(int section, Qt::Orientation orientation, int role) const
{
    if (orientation != Qt::Horizontal || section < 0 || section >= ColumnCount)
        return {};
    if (role == Qt::DisplayRole) {
        switch (section) {
        case StateColumn:
            return tr("State");
        case FlowColumn:
            return tr("Flow");
        case IdColumn:
            return tr("Run");
        case WorkerColumn:
            return tr("Worker");
        case StartColumn:
            return tr("Started");
        case DurationColumn:
            return tr("Duration");
        case ProgressColumn:
            return tr("Progress");
        case WaitingColumn:
            return tr("Waiting");
        case RunningColumn:
            return tr("Running");
        case CompletedColumn:
            return tr("Completed");
        case FailedColumn:
            return tr("Failed");
        case CrashedColumn:
            return tr("Crashed");
        case CancelledColumn:
            return tr("Cancelled");
        default:
            break;
        }
    }
    if (role == Qt::ToolTipRole) {
        switch (section) {
        case WaitingColumn:
            return tr("Task runs not started yet: scheduled, pending, paused or not created yet");
        case RunningColumn:
            return tr("Task runs running or being cancelled");
        case FailedColumn:
            return tr("Task runs that failed");
        case CrashedColumn:
            return tr("Task runs whose process died while they ran (or that were lost with it)");
        case ProgressColumn:
            return tr("Completed task runs of all task runs; failed, crashed and cancelled ones are "
                      "shown in their colours after them");
        case WorkerColumn:
            return tr("The worker process running the flow run (flowdeck worker), or this app");
        default:
            break;
        }
    }
    return {};
}

void FlowRunModel::apply(const UpdateBatch& batch)
{
    // A run that goes on under an earlier copy's id takes that copy's row (same id, same start).
    for (const auto& [earlier, now] : batch.continuedFlowRuns) {
        const auto it = m_position.constFind(earlier);
        if (it == m_position.constEnd() || m_position.contains(now))
            continue;
        const int position = *it;
        m_position.erase(it);
        m_runs[size_t(position)] = now;
        m_position.insert(now, position);
        const QModelIndex first = indexOf(now, 0);
        Q_EMIT dataChanged(first, first.siblingAtColumn(ColumnCount - 1));
    }
    std::vector<FlowRun*> added;
    for (FlowRun* run : batch.startedFlowRuns) {
        if (!m_position.contains(run))
            added.push_back(run);
    }
    if (!added.empty()) {
        // Newest first: new runs go on top, in one insert.
        beginInsertRows({}, 0, int(added.size()) - 1);
        for (FlowRun* run : added) {
            m_position.insert(run, int(m_runs.size()));
            m_runs.push_back(run);
        }
        endInsertRows();
    }
    for (FlowRun* run : batch.changedFlowRuns) {
        const QModelIndex first = indexOf(run, 0);
        if (first.isValid())
            Q_EMIT dataChanged(first, first.siblingAtColumn(ColumnCount - 1));
    }
}

void FlowRunModel::tickDurations()
{
    for (size_t i = 0; i < m_runs.size(); ++i) {
        if (m_runs[i]->isTerminal() || m_context->history().isStored(m_runs[i]))
            continue;
        const QModelIndex cell = index(int(m_runs.size() - 1 - i), DurationColumn);
        Q_EMIT dataChanged(cell, cell, {Qt::DisplayRole, SortRole});
    }
}

} // namespace flowdeck
