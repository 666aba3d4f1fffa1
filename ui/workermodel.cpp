#include "workermodel.h"

#include <QBrush>
#include <QColor>

namespace flowdeck {

WorkerModel::WorkerModel(QObject* parent)
    : QAbstractTableModel(parent)
{
}

void WorkerModel::setRows(const QList<workers::WorkerRow>& rows, qint64 nowUs)
{
    m_nowUs = nowUs;
    bool sameEngines = rows.size() == m_rows.size();
    for (qsizetype i = 0; sameEngines && i < rows.size(); ++i)
        sameEngines = rows[i].id == m_rows[i].id;
    if (!sameEngines) {
        beginResetModel();
        m_rows = rows;
        endResetModel();
        return;
    }
    m_rows = rows;
    if (!m_rows.isEmpty())
        Q_EMIT dataChanged(index(0, 0), index(int(m_rows.size()) - 1, ColumnCount - 1));
}

bool WorkerModel::isLate(const workers::WorkerRow& row) const
{
    return m_nowUs - row.heartbeatUs > (row.leaseUs > 0 ? row.leaseUs : 30'000'000);
}

int WorkerModel::online() const
{
    int n = 0;
    for (const workers::WorkerRow& row : m_rows)
        n += row.kind == QLatin1String("worker") && !isLate(row) ? 1 : 0;
    return n;
}

int WorkerModel::rowCount(const QModelIndex& parent) const
{
    return parent.isValid() ? 0 : int(m_rows.size());
}

int WorkerModel::columnCount(const QModelIndex& parent) const
{
    return parent.isValid() ? 0 : ColumnCount;
}

QVariant WorkerModel::data(const QModelIndex& index, int role) const
{
    if (!index.isValid() || index.row() >= m_rows.size())
        return {};
    const workers::WorkerRow& r = m_rows[index.row()];
    const bool worker = r.kind == QLatin1String("worker");
    if (role == Qt::DisplayRole) {
        switch (index.column()) {
        case Name:
            return worker ? r.name : tr("(flowdeck run / dashboard)");
        case Host:
            return r.host;
        case Pid:
            return r.pid;
        case Heartbeat: {
            const double ago = std::max<double>(0, double(m_nowUs - r.heartbeatUs) / 1e6);
            return ago < 60 ? tr("%1 s ago").arg(ago, 0, 'f', 1) : tr("%1 min ago").arg(ago / 60, 0, 'f', 1);
        }
        case FlowRuns:
            return worker ? QStringLiteral("%1 / %2").arg(r.flowRunsRunning).arg(r.maxFlowRuns)
                          : QStringLiteral("-");
        case BlockingPool:
            return worker ? QStringLiteral("%1 / %2").arg(r.blockingBusy).arg(r.blockingMax)
                          : QStringLiteral("-");
        case LoopLag:
            return worker ? tr("%1 ms").arg(double(r.loopLagUs) / 1000.0, 0, 'f', 1) : QStringLiteral("-");
        case Status:
            return isLate(r) ? tr("heartbeat late: offline once noticed") : tr("online");
        default:
            return {};
        }
    }
    if (role == Qt::ForegroundRole && index.column() == Status && isLate(r))
        return QBrush(QColor(0xc0, 0x39, 0x2b));
    if (role == Qt::TextAlignmentRole && index.column() != Name && index.column() != Host
        && index.column() != Status)
        return int(Qt::AlignRight | Qt::AlignVCenter);
    if (role == Qt::ToolTipRole)
        return tr("engine id %1; lease %2 s").arg(r.id).arg(double(r.leaseUs) / 1e6);
    return {};
}

QVariant WorkerModel::headerData(int section, Qt::Orientation orientation, int role) const
{
    if (orientation != Qt::Horizontal || role != Qt::DisplayRole)
        return {};
    switch (section) {
    case Name:
        return tr("Worker");
    case Host:
        return tr("Host");
    case Pid:
        return tr("PID");
    case Heartbeat:
        return tr("Last heartbeat");
    case FlowRuns:
        return tr("Flow runs");
    case BlockingPool:
        return tr("Blocking pool");
    case LoopLag:
        return tr("Loop lag p99");
    case Status:
        return tr("Status");
    default:
        return {};
    }
}

} // namespace flowdeck
