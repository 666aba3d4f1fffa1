#include "models/workermodel.h"

#include "style/statestyle.h"

#include <QBrush>
#include <QColor>
#include <QSet>

#include <algorithm>

namespace flowdeck {

WorkerModel::WorkerModel(QObject* parent)
    : QAbstractTableModel(parent)
{
}

void WorkerModel::setRows(const QList<workers::WorkerRow>& rows, qint64 nowUs)
{
    m_nowUs = nowUs;
    // Row-level: engines that are gone are removed, new ones inserted where they sort, the others
    // changed in place (so selection and scrolling survive the refresh every second).
    QSet<QString> wanted;
    for (const workers::WorkerRow& r : rows)
        wanted.insert(r.id);
    for (int i = int(m_rows.size()) - 1; i >= 0; --i) {
        if (!wanted.contains(m_rows[i].id)) {
            beginRemoveRows({}, i, i);
            m_rows.removeAt(i);
            endRemoveRows();
        }
    }
    QSet<QString> kept;
    for (const workers::WorkerRow& r : std::as_const(m_rows))
        kept.insert(r.id);
    // The kept engines must be in the new order; when an engine moved (renamed), start over.
    qsizetype next = 0;
    bool inOrder = true;
    for (const workers::WorkerRow& r : rows) {
        if (!kept.contains(r.id))
            continue;
        if (next >= m_rows.size() || m_rows[next].id != r.id) {
            inOrder = false;
            break;
        }
        ++next;
    }
    if (!inOrder) {
        if (!m_rows.isEmpty()) {
            beginRemoveRows({}, 0, int(m_rows.size()) - 1);
            m_rows.clear();
            endRemoveRows();
        }
        kept.clear();
    }
    for (qsizetype i = 0; i < rows.size(); ++i) {
        if (kept.contains(rows[i].id)) {
            m_rows[i] = rows[i];
            continue;
        }
        beginInsertRows({}, int(i), int(i));
        m_rows.insert(i, rows[i]);
        endInsertRows();
    }
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
        n += workers::isOnlineWorker(row, m_nowUs) ? 1 : 0;
    return n;
}

int WorkerModel::onlineOthers() const
{
    return int(std::count_if(m_rows.begin(), m_rows.end(), [this](const workers::WorkerRow& r) {
        return r.kind != QLatin1String("worker") && !isLate(r);
    }));
}

int WorkerModel::workerCount() const
{
    return int(std::count_if(m_rows.begin(), m_rows.end(),
                             [](const workers::WorkerRow& r) { return r.kind == QLatin1String("worker"); }));
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
            if (worker)
                return r.name;
            return !m_ownEngineId.isEmpty() && r.id == m_ownEngineId ? tr("this app")
                                                                     : tr("(dashboard or flowdeck run)");
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
            return isLate(r) ? tr("offline") : tr("online");
        default:
            return {};
        }
    }
    if (role == Qt::ForegroundRole && index.column() == Status)
        return QBrush(stateColor(isLate(r) ? StateType::Crashed : StateType::Completed));
    if (role == Qt::TextAlignmentRole && index.column() != Name && index.column() != Host
        && index.column() != Status)
        return int(Qt::AlignRight | Qt::AlignVCenter);
    if (role == Qt::ToolTipRole) {
        QString tip = tr("Engine id %1; heartbeat lease %2 s").arg(r.id).arg(double(r.leaseUs) / 1e6);
        if (isLate(r))
            tip += QLatin1Char('\n')
                + tr("No heartbeat within its lease: the next process that checks marks it gone, and its "
                     "running flow runs CRASHED (or requeued with flow-level retries).");
        if (!worker)
            tip += QLatin1Char('\n')
                + tr("A process that runs flows of its own (a dashboard or flowdeck run), "
                     "not a worker: it claims no queued runs.");
        return tip;
    }
    return {};
}

QVariant WorkerModel::headerData(int section, Qt::Orientation orientation, int role) const
{
    if (orientation != Qt::Horizontal || role != Qt::DisplayRole)
        return {};
    switch (section) {
    case Name:
        return tr("Name");
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
        return tr("Loop lag (p99)");
    case Status:
        return tr("Status");
    default:
        return {};
    }
}

} // namespace flowdeck
