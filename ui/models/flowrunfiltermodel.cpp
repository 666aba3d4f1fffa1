#include "models/flowrunfiltermodel.h"

#include "models/flowrunmodel.h"
#include "models/flowruntreemodel.h"
#include "models/modelroles.h"
#include "run/flowrun.h"

#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>

namespace flowdeck {

FlowRunFilterModel::FlowRunFilterModel(QObject* parent)
    : QSortFilterProxyModel(parent)
{
    setSortRole(SortRole);
    setDynamicSortFilter(true);
    // A subflow run that matches keeps its parent row, which shows where it belongs.
    setRecursiveFilteringEnabled(true);
}

FlowRunFilterModel::~FlowRunFilterModel() = default;

void FlowRunFilterModel::setSourceModel(QAbstractItemModel* model)
{
    for (const QMetaObject::Connection& connection : m_forgetting)
        disconnect(connection);
    m_forgetting.clear();
    m_searchText.clear();
    m_tree = qobject_cast<FlowRunTreeModel*>(model);
    m_runs = m_tree ? m_tree->runs() : qobject_cast<FlowRunModel*>(model);
    if (m_runs) {
        auto forget = [this] { m_searchText.clear(); };
        m_forgetting = {connect(model, &QAbstractItemModel::rowsRemoved, this, forget),
                        connect(model, &QAbstractItemModel::modelReset, this, forget)};
    }
    QSortFilterProxyModel::setSourceModel(model);
}

void FlowRunFilterModel::setStateFilter(StateFilter filter)
{
    m_state = filter;
    invalidateRowsFilter();
}

void FlowRunFilterModel::setStateTypes(quint32 mask)
{
    if (mask == m_stateTypes)
        return;
    m_stateTypes = mask;
    invalidateRowsFilter();
}

void FlowRunFilterModel::setFlowFilter(const QString& name)
{
    if (name == m_flow)
        return;
    m_flow = name;
    invalidateRowsFilter();
}

void FlowRunFilterModel::setTimeRange(qint64 fromUs, qint64 toUs)
{
    if (fromUs == m_fromUs && toUs == m_toUs)
        return;
    m_fromUs = fromUs;
    m_toUs = toUs;
    invalidateRowsFilter();
}

void FlowRunFilterModel::setSearchText(const QString& text)
{
    const QString folded = text.trimmed().toCaseFolded();
    if (folded == m_text)
        return;
    m_text = folded;
    invalidateRowsFilter();
}

const QString& FlowRunFilterModel::searchTextOf(const FlowRun& run) const
{
    auto it = m_searchText.constFind(&run);
    if (it != m_searchText.constEnd())
        return *it;
    QString text = run.def.name + u'\n' + run.id.toString();
    for (auto p = run.def.parameters.constBegin(); p != run.def.parameters.constEnd(); ++p) {
        text += u'\n' + p.key() + u'=';
        const QJsonValue value = p.value();
        if (value.isString())
            text += value.toString();
        else if (value.isArray())
            text += QString::fromUtf8(QJsonDocument(value.toArray()).toJson(QJsonDocument::Compact));
        else if (value.isObject())
            text += QString::fromUtf8(QJsonDocument(value.toObject()).toJson(QJsonDocument::Compact));
        else
            text += value.toVariant().toString();
    }
    return *m_searchText.insert(&run, text.toCaseFolded());
}

bool FlowRunFilterModel::acceptsState(StateType type) const
{
    if (m_state.activeOnly && isTerminal(type))
        return false;
    if (m_state.failedOrCrashed && type != StateType::Failed && type != StateType::Crashed)
        return false;
    if (m_state.type && *m_state.type != type)
        return false;
    return !m_stateTypes || (m_stateTypes & bit(type));
}

const FlowRun* FlowRunFilterModel::runAt(int sourceRow, const QModelIndex& sourceParent) const
{
    if (m_tree)
        return m_tree->flowRunAt(m_tree->index(sourceRow, 0, sourceParent));
    return sourceParent.isValid() ? nullptr : m_runs->flowRunAt(sourceRow);
}

bool FlowRunFilterModel::filterAcceptsRow(int sourceRow, const QModelIndex& sourceParent) const
{
    if (!m_runs) {
        // Another model: the state and flow filters by its roles.
        const QModelIndex index = sourceModel()->index(sourceRow, FlowRunModel::StateColumn, sourceParent);
        return acceptsState(StateType(index.data(StateTypeRole).toInt()))
            && (m_flow.isEmpty()
                || index.siblingAtColumn(FlowRunModel::FlowColumn).data(SortRole).toString() == m_flow);
    }
    const FlowRun* run = runAt(sourceRow, sourceParent);
    return run && acceptsRun(*run);
}

bool FlowRunFilterModel::acceptsRun(const FlowRun& run) const
{
    if (!acceptsState(run.type))
        return false;
    if (!m_flow.isEmpty() && run.def.name != m_flow)
        return false;
    if (m_fromUs && run.createdUs < m_fromUs)
        return false;
    if (m_toUs && run.createdUs > m_toUs)
        return false;
    return m_text.isEmpty() || searchTextOf(run).contains(m_text);
}

} // namespace flowdeck
