// The Run page's task-run detail: opening it from the table, the timeline or the graph, and keeping a
// live task run's detail current.
#include "context/appcontext.h"
#include "context/logbuffers.h"
#include "context/runhistory.h"
#include "context/taskrundetails.h"
#include "models/storedtaskrunmodel.h"
#include "models/taskrunfiltermodel.h"
#include "models/taskrunmodel.h"
#include "pages/runpage.h"
#include "run/flowrun.h"
#include "widgets/taskrundetail.h"

#include <QItemSelectionModel>
#include <QShortcut>
#include <QTableView>

namespace flowdeck {

void RunPage::openTaskDetail(const QString& taskId)
{
    if (!m_current || m_model->flowRun() != m_current)
        return;
    const TaskNode* node = nullptr;
    for (const TaskNode& n : m_current->nodes) {
        if (n.def && n.def->id == taskId)
            node = &n;
    }
    if (!node || node->materialized == 0)
        return;
    TaskRun* chosen = nullptr;
    for (auto wanted : {StateType::Failed, StateType::Crashed, StateType::Running}) {
        for (int i = 0; i < node->materialized && !chosen; ++i) {
            if (node->runs[size_t(i)].type == wanted)
                chosen = &node->runs[size_t(i)];
        }
    }
    if (!chosen)
        chosen = &node->runs[0];
    selectRow(m_model->table().rowOf(*chosen));
    openTaskRunDetail(chosen);
}

void RunPage::openTaskRunDetailAt(const QString& taskId, int mapIndex)
{
    if (!m_current || m_model->flowRun() != m_current)
        return;
    for (const TaskNode& node : m_current->nodes) {
        if (node.def && node.def->id == taskId && mapIndex >= 0 && mapIndex < node.materialized) {
            TaskRun* run = &node.runs[size_t(mapIndex)];
            selectRow(m_model->table().rowOf(*run));
            openTaskRunDetail(run);
            return;
        }
    }
}

void RunPage::openSubflowOf(const QString& taskId)
{
    if (!m_current)
        return;
    const TaskNode* node = nullptr;
    for (const TaskNode& n : m_current->nodes) {
        if (n.def && n.def->id == taskId)
            node = &n;
    }
    if (!node || node->materialized == 0)
        return;
    // The subflow runs this task started, by the task run that started each.
    QHash<RunId, FlowRun*> children;
    for (FlowRun* other : knownRuns()) {
        if (other->parentFlowRunId == m_current->id && other != m_current)
            children.insert(other->parentTaskRunId, other); // the newest copy wins
    }
    // A large run of this process may have freed its finished task runs (TaskRunArray::find).
    FlowRun* chosen = nullptr;
    for (auto wanted : {StateType::Failed, StateType::Crashed, StateType::Running}) {
        for (int i = 0; i < node->materialized && !chosen; ++i) {
            const TaskRun* run = node->runs.find(size_t(i));
            if (run && run->type == wanted)
                chosen = children.value(run->id);
        }
    }
    for (int i = 0; i < node->materialized && !chosen; ++i) {
        if (const TaskRun* run = node->runs.find(size_t(i)))
            chosen = children.value(run->id);
    }
    if (chosen)
        setFlowRun(chosen, false);
}

void RunPage::openDetail(const QModelIndex& index)
{
    if (!index.isValid())
        return;
    if (m_table->model() == m_paged) {
        openPagedDetail(index.row());
        return;
    }
    const int row = m_table->model() == m_filter ? m_filter->mapToSource(index).row() : index.row();
    openTaskRunDetail(m_model->taskRunAt(row));
}

void RunPage::openTaskRunDetail(TaskRun* run)
{
    if (!run || !m_current)
        return;
    m_pagedDetail.clear();
    m_detailRun = run;
    m_detailSerial = 0;
    if (m_context->history().isStored(m_current)) {
        // Another process's run: its history, configuration, stalls and logs are in the database.
        m_detailPanel->setLoading(taskRunLabel(*run));
        m_detailSerial = m_details->request(m_current->id.toString(), run->taskId(), run->mapIndex);
        if (m_detailSerial == 0)
            m_detailPanel->setError(taskRunLabel(*run), tr("the database is not open"));
    } else {
        m_detailShown = {0, 0};
        m_detailMessages.clear();
        m_detailMessagesFor = 0;
        m_detailResult.clear();
        m_detailResultFinal = false;
        refreshLiveDetail();
    }
    m_detailPanel->show();
    m_closeDetail->setEnabled(true);
}

void RunPage::openPagedDetail(int row)
{
    const StoredTaskRunRow* stored = m_paged->rowAt(row);
    if (!stored || !m_current)
        return;
    closeDetail();
    m_pagedDetail = taskRunLabel(stored->task, stored->mapIndex);
    m_detailPanel->setLoading(m_pagedDetail);
    m_detailSerial = m_details->request(m_current->id.toString(), stored->task, stored->mapIndex);
    if (m_detailSerial == 0)
        m_detailPanel->setError(m_pagedDetail, tr("the database is not open"));
    m_detailPanel->show();
    m_closeDetail->setEnabled(true);
}

void RunPage::closeDetail()
{
    m_pagedDetail.clear();
    m_detailRun = nullptr;
    m_detailSerial = 0;
    m_closeDetail->setEnabled(false);
    if (m_detailPanel->isVisible()) {
        const bool hadFocus = m_detailPanel->isAncestorOf(focusWidget());
        m_detailPanel->hide();
        if (hadFocus)
            m_table->setFocus();
    }
}

void RunPage::refreshLiveDetail()
{
    if (!m_detailRun || m_context->history().isStored(m_current))
        return;
    const LogBuffer* logs = m_context->logs().of(m_detailRun->flowRun);
    const std::pair<std::size_t, quint64> now{m_detailRun->history.size() + m_detailRun->attempts,
                                              logs ? logs->endSeq() : 0};
    if (now == m_detailShown && m_detailShown.first != 0)
        return;
    m_detailShown = now;
    showLiveDetail();
    // The engine keeps the current state's message only. An earlier transition was committed before
    // the task run moved on, so the store has its message.
    const std::size_t transitions = m_detailRun->history.size();
    if (transitions > 1 && transitions != m_detailMessagesFor) {
        m_detailMessagesFor = transitions;
        m_detailSerial
            = m_details->request(m_current->id.toString(), m_detailRun->taskId(), m_detailRun->mapIndex);
    }
}

void RunPage::showLiveDetail()
{
    TaskRunDetailView view = m_details->live(*m_detailRun);
    if (view.detail.run.result.isEmpty())
        view.detail.run.result = m_detailResult;
    for (StateRow& h : view.detail.history) {
        if (h.message.isEmpty())
            h.message = m_detailMessages.value(QString::number(h.timeUs) + u'/' + h.name);
    }
    m_detailPanel->setDetail(view);
}

void RunPage::selectRow(int row)
{
    QModelIndex index = m_model->index(row, 0);
    if (m_table->model() == m_filter)
        index = m_filter->mapFromSource(index);
    if (!index.isValid())
        return;
    m_table->selectionModel()->select(index, QItemSelectionModel::ClearAndSelect | QItemSelectionModel::Rows);
    m_table->setCurrentIndex(index);
    m_table->scrollTo(index);
}

} // namespace flowdeck
