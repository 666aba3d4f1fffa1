#pragma once

#include "run/states.h"

#include <QSortFilterProxyModel>

#include <optional>

namespace flowdeck {

/**
 * State filter and text search over a TaskRunModel. The Run page puts it between the model and the
 * view only while a filter is set, so an unfiltered 100k-row table pays nothing for it.
 */
class TaskRunFilterModel : public QSortFilterProxyModel {
    Q_OBJECT

public:
    explicit TaskRunFilterModel(QObject* parent = nullptr);
    ~TaskRunFilterModel() override;

    void setStateFilter(std::optional<StateType> type);
    //! Case-insensitive text to find in the task id, tags or message.
    void setSearchText(const QString& text);
    //! Only the task runs of the task \a taskId (exactly); empty: every task.
    void setTaskFilter(const QString& taskId);
    const QString& taskFilter() const { return m_task; }
    bool isFiltering() const { return m_state.has_value() || !m_text.isEmpty() || !m_task.isEmpty(); }

protected:
    bool filterAcceptsRow(int sourceRow, const QModelIndex& sourceParent) const override;

private:
    std::optional<StateType> m_state;
    QString m_text;
    QString m_task;
};

} // namespace flowdeck
