#pragma once

#include "store/workerrow.h"

#include <QAbstractTableModel>
#include <QList>

namespace flowdeck {

/**
 * The engine processes registered in the database, workers first: name, host, pid,
 * last heartbeat, flow runs running, blocking-pool use and event-loop lag as each one reports them.
 * Filled from rows read on a database thread (WorkersPage); this model never runs SQL.
 */
class WorkerModel : public QAbstractTableModel {
    Q_OBJECT
public:
    enum Column { Name, Host, Pid, Heartbeat, FlowRuns, BlockingPool, LoopLag, Status, ColumnCount };

    explicit WorkerModel(QObject* parent = nullptr);

    //! Replaces the rows (kept in place when the same engines are listed, so selection survives);
    //! \a nowUs is the wall time the heartbeats are compared with.
    void setRows(const QList<workers::WorkerRow>& rows, qint64 nowUs);
    const QList<workers::WorkerRow>& rows() const { return m_rows; }
    //! Workers whose heartbeat is within their lease.
    int online() const;
    //! Rows of kind "worker", online or not.
    //! Engines online that are not workers (dashboards, `flowdeck run`; this app among them).
    int onlineOthers() const;
    int workerCount() const;
    //! The engine id of this app's own process (shown as "this app"); empty when unknown.
    void setOwnEngineId(const QString& id) { m_ownEngineId = id; }

    int rowCount(const QModelIndex& parent = {}) const override;
    int columnCount(const QModelIndex& parent = {}) const override;
    QVariant data(const QModelIndex& index, int role = Qt::DisplayRole) const override;
    QVariant headerData(int section, Qt::Orientation orientation, int role = Qt::DisplayRole) const override;

private:
    bool isLate(const workers::WorkerRow& row) const;

    QList<workers::WorkerRow> m_rows;
    qint64 m_nowUs = 0;
    QString m_ownEngineId;
};

} // namespace flowdeck
