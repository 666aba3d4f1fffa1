#include "models/storedtaskrunmodel.h"

#include "models/modelroles.h"
#include "style/statestyle.h"

namespace flowdeck {

namespace {

TaskRunOrder orderOf(int column)
{
    switch (column) {
    case TaskRunModel::MapIndexColumn:
        return TaskRunOrder::MapIndex;
    case TaskRunModel::StateColumn:
        return TaskRunOrder::State;
    case TaskRunModel::TagsColumn:
        return TaskRunOrder::Tags;
    case TaskRunModel::AttemptColumn:
        return TaskRunOrder::Attempts;
    case TaskRunModel::StartColumn:
        return TaskRunOrder::Started;
    case TaskRunModel::DurationColumn:
        return TaskRunOrder::Duration;
    case TaskRunModel::StallsColumn:
        return TaskRunOrder::Stalls;
    case TaskRunModel::MessageColumn:
        return TaskRunOrder::Message;
    default:
        return TaskRunOrder::Task;
    }
}

} // namespace

StoredTaskRunModel::StoredTaskRunModel(StoredTaskRunPages* pages, QObject* parent)
    : QAbstractTableModel(parent)
    , m_pages(pages)
{
    connect(pages, &StoredTaskRunPages::read, this, &StoredTaskRunModel::onRead);
    connect(pages, &StoredTaskRunPages::failed, this, [this](quint64 serial, const QString& error) {
        if (serial != m_pending)
            return;
        m_pending = 0;
        Q_EMIT readFailed(error);
    });
}

StoredTaskRunModel::~StoredTaskRunModel() = default;

void StoredTaskRunModel::setFlowRun(const QString& flowRunId)
{
    if (flowRunId == m_query.flowRunId && m_query.state.isEmpty() && m_query.task.isEmpty()
        && m_query.search.isEmpty())
        return;
    m_query = TaskRunPageQuery{};
    m_query.flowRunId = flowRunId;
    m_query.limit = PageSize;
    restart();
}

void StoredTaskRunModel::setFilter(const QString& state, const QString& task, const QString& search)
{
    if (state == m_query.state && task == m_query.task && search == m_query.search)
        return;
    m_query.state = state;
    m_query.task = task;
    m_query.search = search;
    restart();
}

void StoredTaskRunModel::sort(int column, Qt::SortOrder order)
{
    const TaskRunOrder wanted = orderOf(column);
    const bool descending = order == Qt::DescendingOrder;
    if (wanted == m_query.order && descending == m_query.descending)
        return;
    m_query.order = wanted;
    m_query.descending = descending;
    restart();
}

void StoredTaskRunModel::restart()
{
    beginResetModel();
    m_rows.clear();
    m_rows.shrink_to_fit();
    m_query.after.reset();
    m_query.offset = 0;
    m_pending = 0; // a page of the previous query is dropped when it arrives
    m_complete = m_query.flowRunId.isEmpty();
    endResetModel();
    if (!m_complete)
        readNext();
}

void StoredTaskRunModel::readNext()
{
    if (m_pending || m_complete)
        return;
    m_pending = m_pages->request(m_query);
    if (m_pending == 0)
        m_complete = true; // no database
}

void StoredTaskRunModel::onRead(quint64 serial, const std::vector<StoredTaskRunRow>& rows)
{
    if (serial != m_pending)
        return;
    m_pending = 0;
    if (rows.size() < size_t(PageSize))
        m_complete = true;
    if (!rows.empty()) {
        const int first = int(m_rows.size());
        beginInsertRows({}, first, first + int(rows.size()) - 1);
        m_rows.insert(m_rows.end(), rows.begin(), rows.end());
        endInsertRows();
        m_query.offset += qint64(rows.size());
        m_query.after = TaskRunCursor{rows.back().task, rows.back().mapIndex};
    }
    Q_EMIT pageRead();
}

const StoredTaskRunRow* StoredTaskRunModel::rowAt(int row) const
{
    return row >= 0 && size_t(row) < m_rows.size() ? &m_rows[size_t(row)] : nullptr;
}

int StoredTaskRunModel::rowCount(const QModelIndex& parent) const
{
    return parent.isValid() ? 0 : int(m_rows.size());
}

int StoredTaskRunModel::columnCount(const QModelIndex& parent) const
{
    return parent.isValid() ? 0 : TaskRunModel::ColumnCount;
}

bool StoredTaskRunModel::canFetchMore(const QModelIndex& parent) const
{
    return !parent.isValid() && !m_complete;
}

void StoredTaskRunModel::fetchMore(const QModelIndex& parent)
{
    if (!parent.isValid())
        readNext();
}

QVariant StoredTaskRunModel::data(const QModelIndex& index, int role) const
{
    if (!checkIndex(index, CheckIndexOption::IndexIsValid | CheckIndexOption::ParentIsInvalid))
        return {};
    const StoredTaskRunRow& run = m_rows[size_t(index.row())];
    if (role == StateTypeRole)
        return int(run.type);
    const bool display = role == Qt::DisplayRole;
    const bool sortRole = role == SortRole;
    const QVariant right
        = role == Qt::TextAlignmentRole ? QVariant(int(Qt::AlignRight | Qt::AlignVCenter)) : QVariant();
    const qint64 durationUs
        = run.startedUs && run.endedUs ? std::max<qint64>(0, run.endedUs - run.startedUs) : -1;
    switch (index.column()) {
    case TaskRunModel::TaskColumn:
        return display || sortRole ? QVariant(run.task) : QVariant();
    case TaskRunModel::MapIndexColumn:
        if (display)
            return run.mapIndex >= 0 ? QVariant(run.mapIndex) : QVariant();
        return sortRole ? QVariant(run.mapIndex) : right;
    case TaskRunModel::StateColumn:
        if (display)
            return toString(run.name);
        if (role == Qt::ToolTipRole)
            return stateToolTip(run.name);
        return stateBadgeData(run.type, role);
    case TaskRunModel::TagsColumn:
        return display || sortRole ? QVariant(run.tags) : QVariant();
    case TaskRunModel::AttemptColumn:
        if (display)
            return run.attempts > 0 ? QVariant(int(run.attempts)) : QVariant();
        return sortRole ? QVariant(int(run.attempts)) : right;
    case TaskRunModel::StartColumn:
        if (display)
            return formatClock(run.startedUs);
        return sortRole ? QVariant(run.startedUs) : QVariant();
    case TaskRunModel::DurationColumn:
        if (display)
            return durationUs >= 0 ? formatDuration(durationUs) : QString();
        return sortRole ? QVariant(durationUs) : right;
    case TaskRunModel::StallsColumn:
        if (display)
            return run.stallCount > 0
                ? TaskRunModel::tr("%1 × %2").arg(run.stallCount).arg(formatDuration(run.stallTotalUs))
                : QString();
        if (role == BadgeColorRole)
            return run.stallCount > 0 ? QVariant(stateColor(StateType::Failed)) : QVariant();
        return sortRole ? QVariant(run.stallTotalUs) : QVariant();
    case TaskRunModel::MessageColumn:
        return display || sortRole || role == Qt::ToolTipRole ? QVariant(run.message) : QVariant();
    default:
        return {};
    }
}

QVariant StoredTaskRunModel::headerData(int section, Qt::Orientation orientation, int role) const
{
    // The same columns as a live run's table.
    if (orientation != Qt::Horizontal || role != Qt::DisplayRole)
        return {};
    const QString title = TaskRunModel::columnTitle(section);
    return title.isEmpty() ? QVariant() : QVariant(title);
}

} // namespace flowdeck
