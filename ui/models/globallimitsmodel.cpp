#include "models/globallimitsmodel.h"

#include "context/appcontext.h"
#include "context/globallimits.h"
#include "models/modelroles.h"

namespace flowdeck {

namespace {

bool sameRow(const GlobalLimitRow& a, const GlobalLimitRow& b)
{
    return a.name == b.name && a.limit == b.limit && a.active == b.active
        && a.slotDecayPerSecond == b.slotDecayPerSecond && a.activeSlots == b.activeSlots
        && a.decayingSlots == b.decayingSlots && a.waiting == b.waiting;
}

} // namespace

GlobalLimitsModel::GlobalLimitsModel(AppContext* context, QObject* parent)
    : LimitTableModel(context, parent)
{
    connect(&context->globalLimits(), &GlobalLimits::changed, this, &GlobalLimitsModel::scheduleRefresh);
    m_rows = context->globalLimits().rows();
}

GlobalLimitsModel::~GlobalLimitsModel() = default;

int GlobalLimitsModel::rowCount(const QModelIndex& parent) const
{
    return parent.isValid() ? 0 : int(m_rows.size());
}

int GlobalLimitsModel::columnCount(const QModelIndex& parent) const
{
    return parent.isValid() ? 0 : ColumnCount;
}

const GlobalLimitRow* GlobalLimitsModel::rowAt(int row) const
{
    return row >= 0 && row < m_rows.size() ? &m_rows[row] : nullptr;
}

int GlobalLimitsModel::rowOf(const QString& name) const
{
    return indexOf(m_rows, name, [](const GlobalLimitRow& r) { return r.name; });
}

QVariant GlobalLimitsModel::data(const QModelIndex& index, int role) const
{
    if (!checkIndex(index, CheckIndexOption::IndexIsValid | CheckIndexOption::ParentIsInvalid))
        return {};
    const GlobalLimitRow& row = m_rows[index.row()];
    const bool display = role == Qt::DisplayRole || role == SortRole;
    switch (index.column()) {
    case NameColumn:
        if (display)
            return row.name;
        break;
    case KindColumn:
        if (display)
            return row.slotDecayPerSecond ? tr("rate") : tr("concurrency");
        if (role == Qt::ToolTipRole)
            return row.slotDecayPerSecond
                ? tr("Slots come back %1 s after they were taken (limit / decay per second)")
                      .arg(double(std::max(row.limit, 1)) / *row.slotDecayPerSecond, 0, 'g', 4)
                : tr("Slots are held while a task (or flow) run runs");
        break;
    case LimitColumn:
        if (display || role == Qt::EditRole)
            return row.limit;
        if (role == Qt::TextAlignmentRole)
            return int(Qt::AlignRight | Qt::AlignVCenter);
        break;
    case OccupiedColumn:
        if (role == Qt::DisplayRole)
            return row.decayingSlots > 0
                ? tr("%1 of %2 (%3 decaying)").arg(row.activeSlots).arg(row.limit).arg(row.decayingSlots)
                : tr("%1 of %2").arg(row.activeSlots).arg(row.limit);
        if (role == SortRole)
            return row.activeSlots;
        break;
    case DecayColumn:
        if (role == Qt::DisplayRole)
            return row.slotDecayPerSecond ? tr("%1/s").arg(*row.slotDecayPerSecond, 0, 'g', 6)
                                          : QStringLiteral("-");
        if (role == Qt::EditRole)
            return row.slotDecayPerSecond ? QString::number(*row.slotDecayPerSecond, 'g', 6) : QString();
        if (role == SortRole)
            return row.slotDecayPerSecond.value_or(0.0);
        break;
    case ActiveColumn:
        if (role == Qt::CheckStateRole)
            return row.active ? Qt::Checked : Qt::Unchecked;
        if (role == Qt::ToolTipRole)
            return row.active ? tr("Throttles its runs (uncheck to disable)")
                              : tr("Disabled: does not throttle (check to enable)");
        if (role == SortRole)
            return row.active;
        break;
    case WaitingColumn:
        if (display)
            return row.waiting;
        if (role == Qt::TextAlignmentRole)
            return int(Qt::AlignRight | Qt::AlignVCenter);
        break;
    default:
        break;
    }
    return {};
}

QVariant GlobalLimitsModel::headerData(int section, Qt::Orientation orientation, int role) const
{
    if (orientation != Qt::Horizontal || role != Qt::DisplayRole)
        return {};
    switch (section) {
    case NameColumn:
        return tr("Name");
    case KindColumn:
        return tr("Kind");
    case LimitColumn:
        return tr("Limit");
    case OccupiedColumn:
        return tr("Occupied");
    case DecayColumn:
        return tr("Decay");
    case ActiveColumn:
        return tr("Active");
    case WaitingColumn:
        return tr("Waiting");
    default:
        return {};
    }
}

Qt::ItemFlags GlobalLimitsModel::flags(const QModelIndex& index) const
{
    Qt::ItemFlags f = QAbstractTableModel::flags(index);
    if (!index.isValid())
        return f;
    if (index.column() == LimitColumn || index.column() == DecayColumn)
        f |= Qt::ItemIsEditable;
    if (index.column() == ActiveColumn)
        f |= Qt::ItemIsUserCheckable;
    return f;
}

bool GlobalLimitsModel::setData(const QModelIndex& index, const QVariant& value, int role)
{
    if (!checkIndex(index, CheckIndexOption::IndexIsValid | CheckIndexOption::ParentIsInvalid))
        return false;
    GlobalLimitRow& row = m_rows[index.row()];
    GlobalLimitChange change;
    if (index.column() == ActiveColumn && role == Qt::CheckStateRole) {
        change.active = value.toInt() == Qt::Checked;
        row.active = *change.active;
    } else if (role == Qt::EditRole && (index.column() == LimitColumn || index.column() == DecayColumn)) {
        const QString limit = index.column() == LimitColumn ? value.toString() : QString::number(row.limit);
        const QString decay = index.column() == DecayColumn
            ? value.toString()
            : (row.slotDecayPerSecond ? QString::number(*row.slotDecayPerSecond, 'g', 17) : QString());
        GlobalLimitChange parsed;
        const QString error = GlobalLimits::validate(row.name, limit, decay, &parsed);
        if (!error.isEmpty()) {
            Q_EMIT invalidInput(error);
            return false;
        }
        if (index.column() == LimitColumn) {
            change.limit = parsed.limit;
            row.limit = *parsed.limit;
        } else {
            change.slotDecayPerSecond = parsed.slotDecayPerSecond;
            row.slotDecayPerSecond = *parsed.slotDecayPerSecond;
        }
    } else {
        return false;
    }
    if (!m_context->globalLimits().write(row.name, change, false))
        return false;
    // Shown at once; the store's answer follows with changed().
    Q_EMIT dataChanged(index.siblingAtColumn(0), index.siblingAtColumn(ColumnCount - 1));
    return true;
}

void GlobalLimitsModel::reload()
{
    mergeRows(
        m_rows, m_context->globalLimits().rows(), [](const GlobalLimitRow& r) { return r.name; }, sameRow,
        ColumnCount);
}

} // namespace flowdeck
