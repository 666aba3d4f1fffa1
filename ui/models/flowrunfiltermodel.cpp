#include "models/flowrunfiltermodel.h"

#include "models/flowrunmodel.h"
#include "models/modelroles.h"

namespace flowdeck {

FlowRunFilterModel::FlowRunFilterModel(QObject* parent)
    : QSortFilterProxyModel(parent)
{
    setSortRole(SortRole);
    setDynamicSortFilter(true);
}

FlowRunFilterModel::~FlowRunFilterModel() = default;

void FlowRunFilterModel::setStateFilter(StateFilter filter)
{
    m_state = filter;
    invalidateRowsFilter();
}

void FlowRunFilterModel::setFlowFilter(const QString& name)
{
    m_flow = name;
    invalidateRowsFilter();
}

bool FlowRunFilterModel::filterAcceptsRow(int sourceRow, const QModelIndex& sourceParent) const
{
    const QModelIndex index = sourceModel()->index(sourceRow, FlowRunModel::StateColumn, sourceParent);
    const auto type = StateType(index.data(StateTypeRole).toInt());
    if (m_state.activeOnly && isTerminal(type))
        return false;
    if (m_state.failedOrCrashed && type != StateType::Failed && type != StateType::Crashed)
        return false;
    if (m_state.type && *m_state.type != type)
        return false;
    if (!m_flow.isEmpty()
        && index.siblingAtColumn(FlowRunModel::FlowColumn).data(SortRole).toString() != m_flow)
        return false;
    return true;
}

} // namespace flowdeck
