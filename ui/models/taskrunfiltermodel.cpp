#include "models/taskrunfiltermodel.h"

#include "models/taskrunmodel.h"

namespace flowdeck {

TaskRunFilterModel::TaskRunFilterModel(QObject* parent)
    : QSortFilterProxyModel(parent)
{
    setDynamicSortFilter(true);
}

TaskRunFilterModel::~TaskRunFilterModel() = default;

void TaskRunFilterModel::setStateFilter(std::optional<StateType> type)
{
    m_state = type;
    invalidateRowsFilter();
}

void TaskRunFilterModel::setSearchText(const QString& text)
{
    m_text = text.trimmed();
    invalidateRowsFilter();
}

void TaskRunFilterModel::setTaskFilter(const QString& taskId)
{
    m_task = taskId;
    invalidateRowsFilter();
}

bool TaskRunFilterModel::filterAcceptsRow(int sourceRow, const QModelIndex& sourceParent) const
{
    if (sourceParent.isValid())
        return false;
    // Reads the run directly: a role lookup per row is too slow for 100k rows.
    const auto* model = static_cast<const TaskRunModel*>(sourceModel());
    const TaskRun* run = model->taskRunAt(sourceRow);
    if (!run)
        return false;
    if (m_state && run->type != *m_state)
        return false;
    if (!m_task.isEmpty() && run->taskId() != m_task)
        return false;
    if (m_text.isEmpty())
        return true;
    if (run->taskId().contains(m_text, Qt::CaseInsensitive)
        || run->message.contains(m_text, Qt::CaseInsensitive))
        return true;
    for (const QString& tag : run->node->def->tags) {
        if (tag.contains(m_text, Qt::CaseInsensitive))
            return true;
    }
    return run->mapIndex >= 0 && QString::number(run->mapIndex) == m_text;
}

} // namespace flowdeck
