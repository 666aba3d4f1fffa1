#include "models/storedtaskrunmodel.h"

#include "models/modelroles.h"
#include "style/statestyle.h"

#include <algorithm>

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
        if (serial == m_refreshing) {
            m_refreshing = 0;
            Q_EMIT readFailed(error);
            return;
        }
        if (serial != m_pending)
            return;
        m_pending = 0;
        setReplacing(false);
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
    restart(true);
}

void StoredTaskRunModel::sort(int column, Qt::SortOrder order)
{
    const TaskRunOrder wanted = orderOf(column);
    const bool descending = order == Qt::DescendingOrder;
    if (wanted == m_query.order && descending == m_query.descending)
        return;
    m_query.order = wanted;
    m_query.descending = descending;
    restart(true);
}

void StoredTaskRunModel::restart(bool keepRows)
{
    // Reads of the previous query are dropped when they arrive.
    m_pending = 0;
    m_refreshing = 0;
    m_query.after.reset();
    m_query.offset = 0;
    if (keepRows && !m_rows.empty() && !m_query.flowRunId.isEmpty()) {
        // The rows stay until the first page of the new query replaces them all at once.
        m_complete = false;
        m_pending = m_pages->request(m_query, true);
        setReplacing(m_pending != 0);
        if (m_pending == 0)
            m_complete = true; // no database
        return;
    }
    setReplacing(false);
    beginResetModel();
    m_rows.clear();
    m_rows.shrink_to_fit();
    m_complete = m_query.flowRunId.isEmpty();
    endResetModel();
    if (!m_complete) {
        m_pending = m_pages->request(m_query, true);
        if (m_pending == 0)
            m_complete = true;
    }
}

void StoredTaskRunModel::setReplacing(bool replacing)
{
    if (m_replacing == replacing)
        return;
    m_replacing = replacing;
    Q_EMIT replacingChanged(replacing);
}

void StoredTaskRunModel::readNext()
{
    if (m_pending || m_complete || m_replacing)
        return;
    m_pending = m_pages->request(m_query);
    if (m_pending == 0)
        m_complete = true; // no database
}

bool StoredTaskRunModel::refreshRows(int first, int count)
{
    if (m_pending || m_refreshing || m_replacing || m_query.flowRunId.isEmpty())
        return false;
    const int size = int(m_rows.size());
    first = std::clamp(first, 0, size);
    count = std::clamp(count, 0, size - first);
    // Rows in view up to the last one read: rows created since come after it.
    const bool atEnd = first + count >= size;
    TaskRunPageQuery query = m_query;
    query.limit = count + (atEnd ? PageSize : 0);
    if (query.limit == 0)
        return false;
    query.after.reset();
    query.offset = first;
    if (query.order == TaskRunOrder::Task && !query.descending && first > 0) {
        const StoredTaskRunRow& before = m_rows[size_t(first - 1)];
        query.after = TaskRunCursor{before.task, before.mapIndex};
        query.offset = 0;
    }
    m_refresh = {first, count, m_rows.size(), query.limit};
    m_refreshing = m_pages->request(query);
    return m_refreshing != 0;
}

void StoredTaskRunModel::onRefreshed(const std::vector<StoredTaskRunRow>& rows)
{
    // Rows read meanwhile moved what the range points at: the next refresh reads it again.
    if (m_rows.size() != m_refresh.rowsThen)
        return;
    const auto same = [](const StoredTaskRunRow& a, const StoredTaskRunRow& b) {
        return a.task == b.task && a.mapIndex == b.mapIndex && a.type == b.type && a.name == b.name
            && a.startedUs == b.startedUs && a.endedUs == b.endedUs && a.attempts == b.attempts
            && a.stallCount == b.stallCount && a.stallTotalUs == b.stallTotalUs && a.message == b.message
            && a.tags == b.tags;
    };
    const int replaced = std::min(int(rows.size()), m_refresh.count);
    int changedFirst = -1;
    int changedLast = -1;
    bool moved = false; // task runs created in between: rows below are no longer where they were
    for (int i = 0; i < replaced; ++i) {
        StoredTaskRunRow& row = m_rows[size_t(m_refresh.first + i)];
        if (same(row, rows[size_t(i)]))
            continue;
        moved = moved || row.task != rows[size_t(i)].task || row.mapIndex != rows[size_t(i)].mapIndex;
        row = rows[size_t(i)];
        if (changedFirst < 0)
            changedFirst = m_refresh.first + i;
        changedLast = m_refresh.first + i;
    }
    if (changedFirst >= 0)
        Q_EMIT dataChanged(index(changedFirst, 0), index(changedLast, TaskRunModel::ColumnCount - 1));
    const int below = m_refresh.first + replaced;
    if (moved && below < int(m_rows.size())) {
        // The rows read below the view have shifted: dropped, and read again when scrolled to.
        beginRemoveRows({}, below, int(m_rows.size()) - 1);
        m_rows.erase(m_rows.begin() + below, m_rows.end());
        endRemoveRows();
        m_complete = false;
        m_query.offset = qint64(m_rows.size());
        if (!m_rows.empty())
            m_query.after = TaskRunCursor{m_rows.back().task, m_rows.back().mapIndex};
        return;
    }
    if (m_refresh.first + m_refresh.count >= int(m_rows.size())) {
        // Task runs created since the last row was read.
        if (int(rows.size()) > m_refresh.count) {
            const int first = int(m_rows.size());
            const int added = int(rows.size()) - m_refresh.count;
            beginInsertRows({}, first, first + added - 1);
            m_rows.insert(m_rows.end(), rows.begin() + m_refresh.count, rows.end());
            endInsertRows();
        }
        m_complete = int(rows.size()) < m_refresh.limit;
        m_query.offset = qint64(m_rows.size());
        if (!m_rows.empty())
            m_query.after = TaskRunCursor{m_rows.back().task, m_rows.back().mapIndex};
    }
}

void StoredTaskRunModel::onRead(quint64 serial, const std::vector<StoredTaskRunRow>& rows)
{
    if (serial != 0 && serial == m_refreshing) {
        m_refreshing = 0;
        onRefreshed(rows);
        Q_EMIT refreshed();
        return;
    }
    if (serial != m_pending)
        return;
    m_pending = 0;
    if (m_replacing) {
        // The new query's first page: every row at once.
        beginResetModel();
        m_rows.assign(rows.begin(), rows.end());
        m_complete = rows.size() < size_t(PageSize);
        m_query.offset = qint64(m_rows.size());
        if (!m_rows.empty())
            m_query.after = TaskRunCursor{m_rows.back().task, m_rows.back().mapIndex};
        endResetModel();
        setReplacing(false);
        Q_EMIT pageRead();
        return;
    }
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
    return !parent.isValid() && !m_complete && !m_replacing;
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
