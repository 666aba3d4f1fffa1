#pragma once

#include "run/observer.h"

#include <QAbstractTableModel>
#include <QList>

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

    //! The stall of \a row, or null.
    const StallRecord* stallAt(int row) const;
    //! The flow run of \a stall, of this session or read from the store; null when unknown.
    FlowRun* flowRunOf(const StallRecord& stall) const;
    //! What to do about a stall, as the log line of the task run says it.
    static QString remedy();

private:
    void apply(const UpdateBatch& batch);
    //! Stalls of earlier sessions go below this session's (they are older).
    void appendEarlier(const QList<StallRecord>& stalls);

    AppContext* m_context;
    std::deque<StallRecord> m_stalls; // newest first
    bool m_earlierRead = false;
};

} // namespace flowdeck
