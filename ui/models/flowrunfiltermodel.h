#pragma once

#include "run/states.h"

#include <QSortFilterProxyModel>

#include <optional>

namespace flowdeck {

//! Filters the Runs table by state and flow name; sorts by the raw values (SortRole).
class FlowRunFilterModel : public QSortFilterProxyModel {
    Q_OBJECT

public:
    //! A state filter: one state type, every run that has not finished, or every failed or crashed one.
    struct StateFilter {
        bool activeOnly = false;
        std::optional<StateType> type;
        bool failedOrCrashed = false;
    };

    explicit FlowRunFilterModel(QObject* parent = nullptr);
    ~FlowRunFilterModel() override;

    void setStateFilter(StateFilter filter);
    //! Shows only runs of the flow named \a name; empty shows all flows.
    void setFlowFilter(const QString& name);

protected:
    bool filterAcceptsRow(int sourceRow, const QModelIndex& sourceParent) const override;

private:
    StateFilter m_state;
    QString m_flow;
};

} // namespace flowdeck
