#include "models/stallmodel.h"

#include "context/appcontext.h"
#include "models/modelroles.h"
#include "run/engine.h"
#include "store/storedruns.h"
#include "style/statestyle.h"

#include <QDate>
#include <QDateTime>
#include <QLocale>

#include <algorithm>

namespace flowdeck {

StallModel::StallModel(AppContext* context, QObject* parent)
    : QAbstractTableModel(parent)
    , m_context(context)
{
    const auto& recent = context->recentStalls();
    for (auto it = recent.rbegin(); it != recent.rend() && m_stalls.size() < size_t(MaxRows); ++it)
        m_stalls.push_back(*it);
    connect(context, &AppContext::updated, this, &StallModel::apply);
    connect(&context->history(), &RunHistory::earlierStallsRead, this, &StallModel::appendEarlier);
}

const StallRecord* StallModel::stallAt(int row) const
{
    return row >= 0 && row < int(m_stalls.size()) ? &m_stalls[size_t(row)] : nullptr;
}

FlowRun* StallModel::flowRunOf(const StallRecord& stall) const
{
    if (stall.flowRunId.isNull())
        return nullptr;
    if (FlowRun* run = m_context->engine().findFlowRun(stall.flowRunId))
        return run;
    return m_context->history().storedRun(stall.flowRunId.toString());
}

QString StallModel::remedy()
{
    return tr(
        "Run blocking work with kind \"blocking\" so it runs on a worker thread, not on the event loop.");
}

void StallModel::appendEarlier(const QList<StallRecord>& stalls)
{
    if (m_earlierRead || stalls.isEmpty())
        return;
    m_earlierRead = true; // once per session: a database opened again reads the same ones
    const int room = MaxRows - int(m_stalls.size());
    const int added = std::min(room, int(stalls.size()));
    if (added <= 0)
        return;
    beginInsertRows({}, int(m_stalls.size()), int(m_stalls.size()) + added - 1);
    for (int i = 0; i < added; ++i)
        m_stalls.push_back(stalls[i]);
    endInsertRows();
}

StallModel::~StallModel() = default;

int StallModel::rowCount(const QModelIndex& parent) const
{
    return parent.isValid() ? 0 : int(m_stalls.size());
}

int StallModel::columnCount(const QModelIndex& parent) const
{
    return parent.isValid() ? 0 : ColumnCount;
}

QVariant StallModel::data(const QModelIndex& index, int role) const
{
    if (!checkIndex(index, CheckIndexOption::IndexIsValid | CheckIndexOption::ParentIsInvalid))
        return {};
    const StallRecord& stall = m_stalls[size_t(index.row())];
    switch (index.column()) {
    case TimeColumn:
        if (role == Qt::DisplayRole) {
            const QDateTime at = QDateTime::fromMSecsSinceEpoch(stall.startUs / 1000);
            return at.date() == QDate::currentDate()
                ? formatClockMs(stall.startUs)
                : QLocale().toString(at, QStringLiteral("yyyy-MM-dd HH:mm:ss"));
        }
        if (role == Qt::ToolTipRole)
            return QLocale().toString(QDateTime::fromMSecsSinceEpoch(stall.startUs / 1000),
                                      QLocale::LongFormat);
        if (role == SortRole)
            return stall.startUs;
        break;
    case DurationColumn:
        if (role == Qt::DisplayRole)
            return formatDuration(stall.durationUs);
        if (role == SortRole)
            return stall.durationUs;
        if (role == Qt::TextAlignmentRole)
            return int(Qt::AlignRight | Qt::AlignVCenter);
        break;
    case TaskColumn:
        if (role == Qt::DisplayRole)
            return stall.task.isEmpty() ? tr("(no task run on the loop)") : stall.task;
        if (role == Qt::ToolTipRole)
            return stall.taskRunId.isNull()
                ? tr("No task run was on the loop: the dashboard's own work blocked it")
                : tr("Task run %1. %2 Double-click or press Enter to open it.")
                      .arg(stall.taskRunId.toString(), remedy());
        break;
    case FlowRunColumn: {
        if (stall.flowRunId.isNull())
            break;
        const FlowRun* flow = flowRunOf(stall);
        if (role == Qt::DisplayRole)
            return flow ? QStringLiteral("%1 · %2").arg(flow->def.name, shortId(stall.flowRunId.toString()))
                        : shortId(stall.flowRunId.toString());
        if (role == Qt::ToolTipRole)
            return stall.flowRunId.toString();
        break;
    }
    default:
        break;
    }
    return {};
}

QVariant StallModel::headerData(int section, Qt::Orientation orientation, int role) const
{
    if (orientation != Qt::Horizontal || role != Qt::DisplayRole)
        return {};
    switch (section) {
    case TimeColumn:
        return tr("Time");
    case DurationColumn:
        return tr("Blocked for");
    case TaskColumn:
        return tr("Task run");
    case FlowRunColumn:
        return tr("Flow run");
    default:
        break;
    }
    return {};
}

void StallModel::apply(const UpdateBatch& batch)
{
    if (batch.stalls.empty())
        return;
    const int added = int(std::min(batch.stalls.size(), size_t(MaxRows)));
    beginInsertRows({}, 0, added - 1);
    for (int i = 0; i < added; ++i)
        m_stalls.push_front(batch.stalls[batch.stalls.size() - size_t(added) + size_t(i)]);
    endInsertRows();
    const int excess = int(m_stalls.size()) - MaxRows;
    if (excess > 0) {
        beginRemoveRows({}, MaxRows, MaxRows + excess - 1);
        m_stalls.resize(size_t(MaxRows));
        endRemoveRows();
    }
}

} // namespace flowdeck
