#include "models/concurrencymodel.h"

#include "models/modelroles.h"

namespace flowdeck {

ConcurrencyModel::ConcurrencyModel(AppContext* context, QObject* parent)
    : LimitTableModel(context, parent)
{
    connect(&context->limits(), &TagLimits::changed, this, &ConcurrencyModel::scheduleRefresh);
    m_rows = context->limits().rows();
}

ConcurrencyModel::~ConcurrencyModel() = default;

int ConcurrencyModel::rowCount(const QModelIndex& parent) const
{
    return parent.isValid() ? 0 : int(m_rows.size());
}

int ConcurrencyModel::columnCount(const QModelIndex& parent) const
{
    return parent.isValid() ? 0 : ColumnCount;
}

const TagRow* ConcurrencyModel::rowAt(int row) const
{
    return row >= 0 && row < m_rows.size() ? &m_rows[row] : nullptr;
}

int ConcurrencyModel::rowOf(const QString& tag) const
{
    return indexOf(m_rows, tag, [](const TagRow& r) { return r.tag; });
}

QVariant ConcurrencyModel::data(const QModelIndex& index, int role) const
{
    if (!checkIndex(index, CheckIndexOption::IndexIsValid | CheckIndexOption::ParentIsInvalid))
        return {};
    const TagRow& row = m_rows[index.row()];
    switch (index.column()) {
    case TagColumn:
        if (role == Qt::DisplayRole || role == SortRole)
            return row.tag;
        break;
    case LimitColumn:
        if (role == Qt::DisplayRole || role == SortRole)
            return row.limit;
        // Text, so the in-place editor is a line edit: a spin box would drop what it cannot parse
        // ("1e9" became 19) where validateLimit() refuses it and says why.
        if (role == Qt::EditRole)
            return QString::number(row.limit);
        if (role == Qt::ToolTipRole)
            return row.limit == 0 ? tr("A limit of 0 pauses the tag: its task runs wait until it is raised")
                                  : tr("Double-click to change the limit");
        if (role == Qt::TextAlignmentRole)
            return int(Qt::AlignRight | Qt::AlignVCenter);
        break;
    case ActiveColumn:
    case WaitingColumn: {
        const bool active = index.column() == ActiveColumn;
        const int value = active ? row.active : row.waiting;
        const int remote = active ? row.remoteActive : row.remoteWaiting;
        if (role == Qt::DisplayRole)
            return remote > 0 ? tr("%1 (%2 elsewhere)").arg(value).arg(remote) : QString::number(value);
        if (role == SortRole)
            return value;
        if (role == Qt::TextAlignmentRole)
            return int(Qt::AlignRight | Qt::AlignVCenter);
        if (role == Qt::ToolTipRole && remote > 0)
            return active ? tr("%1 slots held by other processes sharing the database").arg(remote)
                          : tr("%1 task runs of other processes waiting").arg(remote);
        break;
    }
    case UsageColumn:
        if (role == Qt::DisplayRole)
            return row.limit > 0 ? tr("%1 of %2").arg(row.active).arg(row.limit) : tr("paused");
        if (role == ProgressRole)
            return row.limit > 0 ? std::min(1.0, double(row.active) / double(row.limit)) : 0.0;
        if (role == SortRole)
            return row.limit > 0 ? double(row.active) / double(row.limit) : 0.0;
        break;
    default:
        break;
    }
    return {};
}

QVariant ConcurrencyModel::headerData(int section, Qt::Orientation orientation, int role) const
{
    if (orientation != Qt::Horizontal || role != Qt::DisplayRole)
        return {};
    switch (section) {
    case TagColumn:
        return tr("Tag");
    case LimitColumn:
        return tr("Limit");
    case ActiveColumn:
        return tr("Active");
    case WaitingColumn:
        return tr("Waiting");
    case UsageColumn:
        return tr("Usage");
    default:
        return {};
    }
}

Qt::ItemFlags ConcurrencyModel::flags(const QModelIndex& index) const
{
    Qt::ItemFlags f = QAbstractTableModel::flags(index);
    if (index.isValid() && index.column() == LimitColumn)
        f |= Qt::ItemIsEditable;
    return f;
}

bool ConcurrencyModel::setData(const QModelIndex& index, const QVariant& value, int role)
{
    if (role != Qt::EditRole || !checkIndex(index, CheckIndexOption::IndexIsValid)
        || index.column() != LimitColumn)
        return false;
    const QString tag = m_rows[index.row()].tag;
    int limit = 0;
    const QString error = TagLimits::validateLimit(tag, value.toString(), &limit);
    if (!error.isEmpty()) {
        Q_EMIT invalidInput(error);
        return false;
    }
    if (!m_context->limits().setLimit(tag, limit))
        return false;
    // Shown at once; the store's answer follows with limitsChanged.
    m_rows[index.row()].limit = limit;
    Q_EMIT dataChanged(index, index.siblingAtColumn(ColumnCount - 1));
    return true;
}

void ConcurrencyModel::reload()
{
    mergeRows(
        m_rows, m_context->limits().rows(), [](const TagRow& r) { return r.tag; },
        [](const TagRow& a, const TagRow& b) { return a == b; }, ColumnCount);
}

} // namespace flowdeck
