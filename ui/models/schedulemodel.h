#pragma once

#include "store/schedulerow.h"

#include <QAbstractTableModel>

namespace flowdeck {

class Schedules;

//! The Schedules page's table: one row per schedule, its Active cell a check box that pauses or resumes it.
class ScheduleModel : public QAbstractTableModel {
    Q_OBJECT

public:
    enum Column {
        NameColumn,
        FlowColumn,
        ExpressionColumn,
        ZoneColumn,
        ActiveColumn,
        NextColumn,
        LastRunColumn,
        ColumnCount
    };

    explicit ScheduleModel(Schedules& schedules, QObject* parent = nullptr);
    ~ScheduleModel() override;

    const schedules::ScheduleRow* rowAt(int row) const;
    int rowOf(const QString& name) const;

    int rowCount(const QModelIndex& parent = {}) const override;
    int columnCount(const QModelIndex& parent = {}) const override;
    QVariant data(const QModelIndex& index, int role = Qt::DisplayRole) const override;
    QVariant headerData(int section, Qt::Orientation orientation, int role = Qt::DisplayRole) const override;
    Qt::ItemFlags flags(const QModelIndex& index) const override;
    //! The Active check box: pauses or resumes the schedule in the store.
    bool setData(const QModelIndex& index, const QVariant& value, int role = Qt::EditRole) override;

private:
    void refresh();

    Schedules& m_schedules;
    QList<schedules::ScheduleRow> m_rows;
};

} // namespace flowdeck
