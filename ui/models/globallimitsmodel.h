#pragma once

#include "models/limittablemodel.h"
#include "store/limitrow.h"

#include <QList>

namespace flowdeck {

/**
 * The global concurrency and rate limits of the Concurrency page, one row per limit by name: its kind,
 * limit and decay (edited in place), occupied slots, whether it throttles (a check box) and its
 * waiting task runs. Refreshed at most once per display tick, with row-level inserts, removals and
 * changes.
 */
class GlobalLimitsModel : public LimitTableModel {
    Q_OBJECT

public:
    enum Column {
        NameColumn,
        KindColumn,
        LimitColumn,
        OccupiedColumn,
        DecayColumn,
        ActiveColumn,
        WaitingColumn,
        ColumnCount
    };

    explicit GlobalLimitsModel(AppContext* context, QObject* parent = nullptr);
    ~GlobalLimitsModel() override;

    int rowCount(const QModelIndex& parent = {}) const override;
    int columnCount(const QModelIndex& parent = {}) const override;
    QVariant data(const QModelIndex& index, int role = Qt::DisplayRole) const override;
    QVariant headerData(int section, Qt::Orientation orientation, int role = Qt::DisplayRole) const override;
    Qt::ItemFlags flags(const QModelIndex& index) const override;
    bool setData(const QModelIndex& index, const QVariant& value, int role = Qt::EditRole) override;

    const GlobalLimitRow* rowAt(int row) const;
    int rowOf(const QString& name) const;

private:
    void reload() override;

    QList<GlobalLimitRow> m_rows; // by name
};

} // namespace flowdeck
