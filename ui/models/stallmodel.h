#pragma once

#include "run/observer.h"

#include <QAbstractTableModel>

#include <deque>

namespace flowdeck {

class AppContext;
struct UpdateBatch;

//! Recent stalls of the event loop, newest first: when, how long, and whose code was on the loop.
class StallModel : public QAbstractTableModel {
    Q_OBJECT

public:
    enum Column { TimeColumn, DurationColumn, TaskColumn, FlowRunColumn, ColumnCount };
    static constexpr int MaxRows = 500;

    explicit StallModel(AppContext* context, QObject* parent = nullptr);
    ~StallModel() override;

    int rowCount(const QModelIndex& parent = {}) const override;
    int columnCount(const QModelIndex& parent = {}) const override;
    QVariant data(const QModelIndex& index, int role = Qt::DisplayRole) const override;
    QVariant headerData(int section, Qt::Orientation orientation, int role = Qt::DisplayRole) const override;

private:
    void apply(const UpdateBatch& batch);

    AppContext* m_context;
    std::deque<StallRecord> m_stalls; // newest first
};

} // namespace flowdeck
