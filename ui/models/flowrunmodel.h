#pragma once

#include "store/storedruns.h"

#include <QAbstractTableModel>
#include <QHash>

#include <vector>

namespace flowdeck {

class AppContext;
struct FlowRun;
struct UpdateBatch;

//! The flow runs of this session and those read from the store, newest first, updated live with
//! row-level inserts and changes; the store's history arrives as one bulk insert.
class FlowRunModel : public QAbstractTableModel {
    Q_OBJECT

public:
    enum Column {
        StateColumn,
        FlowColumn,
        IdColumn,
        WorkerColumn, //!< the worker running it, "this app", or empty while queued
        StartColumn,
        DurationColumn,
        ProgressColumn,
        WaitingColumn,
        RunningColumn,
        CompletedColumn,
        FailedColumn,
        CrashedColumn,
        CancelledColumn,
        ColumnCount
    };

    explicit FlowRunModel(AppContext* context, QObject* parent = nullptr);
    ~FlowRunModel() override;

    int rowCount(const QModelIndex& parent = {}) const override;
    int columnCount(const QModelIndex& parent = {}) const override;
    QVariant data(const QModelIndex& index, int role = Qt::DisplayRole) const override;
    QVariant headerData(int section, Qt::Orientation orientation, int role = Qt::DisplayRole) const override;

    FlowRun* flowRunAt(int row) const;
    QModelIndex indexOf(const FlowRun* run, int column = 0) const;

private:
    // data() by column: where a run comes from, its times, its progress, its task-run counts.
    QVariant originData(const FlowRun& run, Column column, int role) const;
    QVariant timeData(const FlowRun& run, Column column, int role) const;
    QVariant progressData(const FlowRun& run, int role) const;
    QVariant countData(const FlowRun& run, Column column, int role) const;
    //! \a run's task-run counts as they are now: its own, or its row's when those are newer.
    TaskRunCounts countsOf(const FlowRun& run) const;

    void apply(const UpdateBatch& batch);
    void tickDurations();
    void loadHistory();
    //! Every run the context knows, oldest first (by creation time).
    std::vector<FlowRun*> allRuns() const;
    void reindex();

    AppContext* m_context;
    std::vector<FlowRun*> m_runs; // oldest first; row = size - 1 - position
    QHash<const FlowRun*, int> m_position;
};

} // namespace flowdeck
