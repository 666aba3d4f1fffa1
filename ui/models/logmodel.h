#pragma once

#include "context/appcontext.h"

#include <QAbstractTableModel>

#include <deque>

namespace flowdeck {

//! The log lines of one flow run, tailing live: new lines append rows, the oldest beyond
//! LogBuffers::MaxLines are removed from the top.
class LogModel : public QAbstractTableModel {
    Q_OBJECT

public:
    enum Column { TimeColumn, LevelColumn, TaskColumn, MessageColumn, ColumnCount };

    explicit LogModel(AppContext* context, QObject* parent = nullptr);
    ~LogModel() override;

    //! Shows the lines of \a run (a bulk load: the model resets).
    void setFlowRun(const FlowRun* run);
    const FlowRun* flowRun() const { return m_run; }

    int rowCount(const QModelIndex& parent = {}) const override;
    int columnCount(const QModelIndex& parent = {}) const override;
    QVariant data(const QModelIndex& index, int role = Qt::DisplayRole) const override;
    QVariant headerData(int section, Qt::Orientation orientation, int role = Qt::DisplayRole) const override;

private:
    void apply(const UpdateBatch& batch);
    void pull();

    AppContext* m_context;
    const FlowRun* m_run = nullptr;
    std::deque<LogLine> m_lines;
    quint64 m_endSeq = 0; // sequence number after the last line taken from the context
};

} // namespace flowdeck
