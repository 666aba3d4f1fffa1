#pragma once

#include "context/appcontext.h"
#include "models/limittablemodel.h"

#include <QList>

namespace flowdeck {

/**
 * One row per limited tag: its limit (editable in place), the slots in use and the task runs waiting,
 * here and in other processes sharing the database, and a usage bar. Refreshed at most once per
 * display tick with row-level inserts, removals and dataChanged; never reset.
 */
class ConcurrencyModel : public LimitTableModel {
    Q_OBJECT

public:
    enum Column { TagColumn, LimitColumn, ActiveColumn, WaitingColumn, UsageColumn, ColumnCount };

    explicit ConcurrencyModel(AppContext* context, QObject* parent = nullptr);
    ~ConcurrencyModel() override;

    int rowCount(const QModelIndex& parent = {}) const override;
    int columnCount(const QModelIndex& parent = {}) const override;
    QVariant data(const QModelIndex& index, int role = Qt::DisplayRole) const override;
    QVariant headerData(int section, Qt::Orientation orientation, int role = Qt::DisplayRole) const override;
    Qt::ItemFlags flags(const QModelIndex& index) const override;
    //! Editing the limit validates it (a non-negative integer) and writes it; an invalid value is
    //! refused (returns false) and invalidInput() says why.
    bool setData(const QModelIndex& index, const QVariant& value, int role = Qt::EditRole) override;

    const TagRow* rowAt(int row) const;
    int rowOf(const QString& tag) const;

private:
    void reload() override;

    QList<TagRow> m_rows; // by tag
};

} // namespace flowdeck
