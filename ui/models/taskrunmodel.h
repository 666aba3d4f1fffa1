#pragma once

#include "models/taskruntable.h"

#include <QAbstractTableModel>
#include <QElapsedTimer>

#include <memory>

namespace flowdeck {

class AppContext;
class DirtyRows;
struct UpdateBatch;

/**
 * The task runs of one flow run. Rows index the FlowRun's nodes directly (TaskRunTable), so 100k
 * task runs cost no copies; new runs append rows (per display tick while the table is short, every
 * AnnounceIntervalMs beyond InstantRows until all are created), and changed runs become a few dataChanged
 * ranges per display tick (DirtyRows), never a reset. Only setFlowRun() resets. Durations of running task
 * runs grow with time alone: views repaint them on AppContext::pulse rather than the model announcing every
 * row as changed.
 */
class TaskRunModel : public QAbstractTableModel {
    Q_OBJECT

public:
    enum Column {
        TaskColumn,
        MapIndexColumn,
        StateColumn,
        TagsColumn,
        AttemptColumn,
        StartColumn,
        DurationColumn,
        StallsColumn,
        MessageColumn,
        ColumnCount
    };

    //! Up to this many rows, new task runs are announced on the display tick; beyond, at most every
    //! AnnounceIntervalMs (on a tick or the pulse), and on every tick once every one has been created.
    static constexpr int InstantRows = 2000;
    static constexpr int AnnounceIntervalMs = 200;
    //! At most this many rows are appended at a time.
    static constexpr int MaxRowsPerInsert = 32768;

    explicit TaskRunModel(AppContext* context, QObject* parent = nullptr);
    ~TaskRunModel() override;

    //! Shows the task runs of \a run (a bulk load: the model resets).
    void setFlowRun(FlowRun* run);
    FlowRun* flowRun() const { return m_table.flowRun(); }
    TaskRun* taskRunAt(int row) const;
    const TaskRunTable& table() const { return m_table; }

    int rowCount(const QModelIndex& parent = {}) const override;
    int columnCount(const QModelIndex& parent = {}) const override;
    QVariant data(const QModelIndex& index, int role = Qt::DisplayRole) const override;
    QVariant headerData(int section, Qt::Orientation orientation, int role = Qt::DisplayRole) const override;
    //! The title of column \a section; empty when there is none.
    static QString columnTitle(int section);

private:
    // data() by column: the task and its run, times, loop stalls, message.
    QVariant taskData(const TaskRun& run, Column column, int role) const;
    QVariant timeData(const TaskRun& run, Column column, int role) const;
    QVariant stallData(const TaskRun& run, int role) const;
    QVariant messageData(const TaskRun& run, int role) const;

    void apply(const UpdateBatch& batch);
    //! Appends the rows of the task runs the flow run created since the last announcement.
    void announceNewRows();
    //! announceNewRows() when it is time to (see InstantRows).
    void maybeAnnounceNewRows();

    AppContext* m_context;
    TaskRunTable m_table;
    std::unique_ptr<DirtyRows> m_dirty;
    int m_rows = 0;            // rows announced to views; the flow run may have created more since
    QElapsedTimer m_announced; // since rows were last appended
};

//! Why a task run that has not started is waiting, for people ("waiting for extract").
QString waitingReason(const TaskRun& run);

} // namespace flowdeck
