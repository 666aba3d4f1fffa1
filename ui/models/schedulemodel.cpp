#include "models/schedulemodel.h"

#include "context/schedules.h"
#include "models/modelroles.h"
#include "run/states.h"
#include "schedule/schedulespec.h"
#include "style/statestyle.h"

#include <QDateTime>
#include <QLocale>

namespace flowdeck {

namespace {

//! A fire time in local time: "06:00" today, "Mon 7 Dec 01:00" on another day.
QString fireText(qint64 us)
{
    const QDateTime local = QDateTime::fromMSecsSinceEpoch(us / 1000);
    // Seconds only where they say something (an interval of seconds).
    const QString time = local.time().second() != 0 ? QStringLiteral("HH:mm:ss") : QStringLiteral("HH:mm");
    if (local.date() == QDate::currentDate())
        return QLocale().toString(local.time(), time);
    return QLocale().toString(local, QStringLiteral("ddd d MMM ") + time);
}

//! Fire times in the schedule's own zone, ISO 8601 with the offset.
QString zonedTimes(const schedules::ScheduleRow& row)
{
    const std::optional<ScheduleSpec> spec = row.draft.spec();
    QStringList lines;
    for (const qint64 us : row.nextFireUs)
        lines << (spec ? isoWithOffset(spec->toZoned(us)) : fireText(us));
    return lines.join(QLatin1Char('\n'));
}

} // namespace

ScheduleModel::ScheduleModel(Schedules& schedules, QObject* parent)
    : QAbstractTableModel(parent)
    , m_schedules(schedules)
{
    connect(&schedules, &Schedules::changed, this, &ScheduleModel::refresh);
    refresh();
}

ScheduleModel::~ScheduleModel() = default;

void ScheduleModel::refresh()
{
    const QList<schedules::ScheduleRow>& rows = m_schedules.rows();
    bool sameIds = rows.size() == m_rows.size();
    for (qsizetype i = 0; sameIds && i < rows.size(); ++i)
        sameIds = rows.at(i).id == m_rows.at(i).id;
    if (!sameIds) {
        // Added, deleted or renamed: a handful of rows, read again as a whole.
        beginResetModel();
        m_rows = rows;
        endResetModel();
        return;
    }
    m_rows = rows;
    if (!m_rows.isEmpty())
        Q_EMIT dataChanged(index(0, 0), index(int(m_rows.size()) - 1, ColumnCount - 1));
}

const schedules::ScheduleRow* ScheduleModel::rowAt(int row) const
{
    return row >= 0 && row < m_rows.size() ? &m_rows.at(row) : nullptr;
}

int ScheduleModel::rowOf(const QString& name) const
{
    for (qsizetype i = 0; i < m_rows.size(); ++i) {
        if (m_rows.at(i).name() == name)
            return int(i);
    }
    return -1;
}

int ScheduleModel::rowCount(const QModelIndex& parent) const
{
    return parent.isValid() ? 0 : int(m_rows.size());
}

int ScheduleModel::columnCount(const QModelIndex& parent) const
{
    return parent.isValid() ? 0 : ColumnCount;
}

QVariant ScheduleModel::data(const QModelIndex& index, int role) const
{
    const schedules::ScheduleRow* row = rowAt(index.row());
    if (!row)
        return {};
    StateType lastType = StateType::Scheduled;
    const bool hasLast = !row->lastRunState.isEmpty() && parseStateType(row->lastRunState, &lastType);
    switch (role) {
    case Qt::DisplayRole:
        switch (index.column()) {
        case NameColumn:
            return row->name();
        case FlowColumn:
            return row->draft.flowName;
        case ExpressionColumn:
            return row->expressionText();
        case ZoneColumn:
            return row->draft.timezone.isEmpty() ? tr("local") : row->draft.timezone;
        case ActiveColumn:
            return row->active() ? tr("Active") : tr("Paused");
        case NextColumn:
            if (!row->active())
                return tr("—");
            if (row->nextFireUs.isEmpty())
                return tr("none");
            // The next one; its tooltip lists them all in the schedule's zone.
            return fireText(row->nextFireUs.first());
        case LastRunColumn:
            return hasLast ? stateLabel(lastType) : tr("never run");
        default:
            return {};
        }
    case Qt::CheckStateRole:
        if (index.column() == ActiveColumn)
            return row->active() ? Qt::Checked : Qt::Unchecked;
        return {};
    case Qt::ToolTipRole:
        if (index.column() == NextColumn && !row->nextFireUs.isEmpty())
            return tr("Next fire times in %1:\n%2")
                .arg(row->draft.timezone.isEmpty() ? tr("the local zone") : row->draft.timezone,
                     zonedTimes(*row));
        if (index.column() == LastRunColumn && hasLast)
            return tr("Flow run %1, fired %2").arg(shortId(row->lastRunId), fireText(row->lastRunFireUs));
        if (index.column() == ActiveColumn)
            return row->active() ? tr("Fires on its schedule; Space pauses it")
                                 : tr("Paused: fires nothing; Space resumes it");
        return {};
    case BadgeColorRole:
        if (index.column() == LastRunColumn && hasLast)
            return stateColor(lastType);
        return {};
    case StateTypeRole:
        if (index.column() == LastRunColumn && hasLast)
            return int(lastType);
        return {};
    default:
        return {};
    }
}

QVariant ScheduleModel::headerData(int section, Qt::Orientation orientation, int role) const
{
    if (orientation != Qt::Horizontal || role != Qt::DisplayRole)
        return {};
    switch (section) {
    case NameColumn:
        return tr("Name");
    case FlowColumn:
        return tr("Flow");
    case ExpressionColumn:
        return tr("Schedule");
    case ZoneColumn:
        return tr("Zone");
    case ActiveColumn:
        return tr("Active");
    case NextColumn:
        return tr("Next fire");
    case LastRunColumn:
        return tr("Last run");
    default:
        return {};
    }
}

Qt::ItemFlags ScheduleModel::flags(const QModelIndex& index) const
{
    Qt::ItemFlags f = QAbstractTableModel::flags(index);
    if (index.column() == ActiveColumn)
        f |= Qt::ItemIsUserCheckable;
    return f;
}

bool ScheduleModel::setData(const QModelIndex& index, const QVariant& value, int role)
{
    const schedules::ScheduleRow* row = rowAt(index.row());
    if (!row || index.column() != ActiveColumn || role != Qt::CheckStateRole)
        return false;
    const bool active = value.value<Qt::CheckState>() == Qt::Checked;
    if (active == row->active())
        return false;
    // Shown at once; the store's answer (read again after the write) confirms or reverts it.
    if (!m_schedules.setActive(row->name(), active))
        return false;
    m_rows[index.row()].draft.active = active;
    Q_EMIT dataChanged(index.siblingAtColumn(0), index.siblingAtColumn(ColumnCount - 1));
    return true;
}

} // namespace flowdeck
