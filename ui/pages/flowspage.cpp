#include "pages/flowspage.h"

#include "context/appcontext.h"
#include "context/rungrid.h"
#include "flow/flowparser.h"
#include "flow/subflows.h"
#include "models/flowlistmodel.h"
#include "run/clock.h"
#include "schedule/schedulespec.h"
#include "style/icons.h"
#include "style/statestyle.h"
#include "widgets/badgedelegate.h"
#include "widgets/columnfitter.h"
#include "widgets/rungraphwidget.h"
#include "widgets/rungridwidget.h"
#include "widgets/startflowdialog.h"

#include <QAction>
#include <QDir>
#include <QFileDialog>
#include <QFileInfo>
#include <QHeaderView>
#include <QItemSelectionModel>
#include <QJsonDocument>
#include <QMenu>
#include <QSplitter>
#include <QTabWidget>
#include <QTableView>
#include <QTextBrowser>
#include <QTimer>
#include <QToolBar>
#include <QVBoxLayout>

namespace flowdeck {

namespace {

//! How often an open Start dialog asks again which workers are online.
constexpr int WorkerPollMs = 3000;
//! Requests for the grid within this long become one read.
constexpr int GridReadDelayMs = 150;

} // namespace

FlowsPage::FlowsPage(AppContext* context, QWidget* parent)
    : QWidget(parent)
    , m_context(context)
    , m_model(new FlowListModel(context, this))
    , m_view(new QTableView(this))
    , m_details(new QTextBrowser(this))
    , m_graph(new RunGraphWidget(context, this))
    , m_grid(new RunGridWidget(this))
    , m_views(new QTabWidget(this))
    , m_gridReader(new RunGrid(context->database(), this))
    , m_gridTimer(new QTimer(this))
{
    setObjectName(QStringLiteral("flowsPage"));
    QToolBar* toolbar = makeToolbar();
    setUpView();

    m_details->setObjectName(QStringLiteral("flowDetails"));
    m_details->setOpenLinks(false);

    m_graph->setObjectName(QStringLiteral("flowGraph"));
    // Before a run there is no task table to filter: a click (or Enter) marks the task and its edges.
    connect(m_graph, &RunGraphWidget::taskClicked, m_graph, &RunGraphWidget::setSelectedTask);
    // A double click on the node of a flow that a task runs shows that flow.
    connect(m_graph, &RunGraphWidget::subflowActivated, this, &FlowsPage::selectSubflow);
    // Under the list: the selected flow's description beside its graph.
    auto* below = new QSplitter(Qt::Horizontal, this);
    below->setChildrenCollapsible(false);
    below->addWidget(m_details);
    m_grid->setObjectName(QStringLiteral("flowGrid"));
    m_views->setObjectName(QStringLiteral("flowViews"));
    m_views->setDocumentMode(true);
    m_views->addTab(m_graph, tr("&Graph"));
    m_views->addTab(m_grid, tr("Runs × &Tasks"));
    m_views->setTabToolTip(1,
                           tr("The flow's newest stored runs (newest at the right) and each task's outcome"));
    below->addWidget(m_views);
    below->setStretchFactor(0, 1);
    below->setStretchFactor(1, 3);
    below->setSizes({1000, 3000}); // the graph needs the width: layers go left to right

    auto* splitter = new QSplitter(Qt::Vertical, this);
    splitter->addWidget(m_view);
    splitter->addWidget(below);
    splitter->setStretchFactor(0, 1);
    splitter->setStretchFactor(1, 1);

    auto* layout = new QVBoxLayout(this);
    layout->setContentsMargins(0, 0, 0, 0);
    layout->setSpacing(0);
    layout->addWidget(toolbar);
    layout->addWidget(splitter);

    m_gridTimer->setSingleShot(true);
    m_gridTimer->setInterval(GridReadDelayMs);
    connect(m_gridTimer, &QTimer::timeout, this, &FlowsPage::readGrid);
    connect(m_views, &QTabWidget::currentChanged, this, &FlowsPage::scheduleGridRead);
    connect(m_grid, &RunGridWidget::wantedRunsChanged, this, &FlowsPage::scheduleGridRead);
    connect(m_grid, &RunGridWidget::cellClicked, this, &FlowsPage::openGridCell);
    connect(m_gridReader, &RunGrid::loaded, this, [this](quint64 serial, const QList<GridRun>& runs) {
        if (serial == m_gridSerial)
            m_grid->setRuns(runs);
    });
    connect(m_gridReader, &RunGrid::failed, this, [this](quint64 serial, const QString& error) {
        if (serial == m_gridSerial)
            Q_EMIT m_context->message(tr("Cannot read the runs of %1: %2").arg(m_gridFlow, error));
    });
    // Live: a run of the flow shown that ended (here or, through the history, elsewhere) is a new column.
    connect(context, &AppContext::updated, this, [this](const UpdateBatch& batch) {
        for (const FlowRun* run : batch.finishedFlowRuns) {
            if (run->def.name == m_gridFlow)
                scheduleGridRead();
        }
        for (const FlowRun* run : batch.startedFlowRuns) {
            if (run->def.name == m_gridFlow)
                scheduleGridRead();
        }
    });
    connect(&context->history(), &RunHistory::historyChanged, this, &FlowsPage::scheduleGridRead);
    connect(&context->database(), &DatabaseConnection::opened, this, &FlowsPage::scheduleGridRead);
    connect(m_start, &QAction::triggered, this, &FlowsPage::startSelected);
    connect(m_open, &QAction::triggered, this, &FlowsPage::openFlowFile);
    connect(m_addFolder, &QAction::triggered, this, &FlowsPage::addFolder);
    connect(m_reload, &QAction::triggered, m_model, &FlowListModel::reload);
    connect(m_view, &QTableView::doubleClicked, this, [this] { startSelected(); });
    connect(m_view->selectionModel(), &QItemSelectionModel::currentRowChanged, this,
            &FlowsPage::updateDetails);
    // Rows change under the selection when folders are read again (not when only a last run changed).
    connect(m_model, &QAbstractItemModel::dataChanged, this, [this](const QModelIndex& topLeft) {
        if (topLeft.column() < FlowListModel::LastRunColumn)
            updateDetails();
    });
    connect(m_model, &FlowListModel::groupLoaded, this, [this] {
        if (!m_pendingSelection.isEmpty() && selectSource(m_pendingSelection))
            m_pendingSelection.clear();
    });
    connect(m_model, &QAbstractItemModel::rowsInserted, this, [this] {
        if (!m_view->currentIndex().isValid() && m_model->rowCount() > 0)
            m_view->selectRow(0);
        updateDetails();
    });
    connect(m_model, &QAbstractItemModel::rowsRemoved, this, &FlowsPage::updateDetails);
    connect(&context->scheduleList(), &Schedules::changed, this, &FlowsPage::updateDetails);
    if (m_model->rowCount() > 0)
        m_view->selectRow(0);
    updateDetails();
}

QToolBar* FlowsPage::makeToolbar()
{
    m_start = new QAction(themedIcon(QStringLiteral("media-playback-start"), QStyle::SP_MediaPlay),
                          tr("&Start…"), this);
    m_start->setObjectName(QStringLiteral("startAction"));
    m_start->setShortcut(QKeySequence(Qt::CTRL | Qt::Key_R));
    m_start->setToolTip(tr("Start the selected flow (Ctrl+R)"));
    m_open = new QAction(themedIcon(QStringLiteral("document-open"), QStyle::SP_DialogOpenButton),
                         tr("&Open Flow…"), this);
    m_open->setShortcut(QKeySequence::Open);
    m_addFolder = new QAction(themedIcon(QStringLiteral("folder-new"), QStyle::SP_FileDialogNewFolder),
                              tr("Add Flow &Folder…"), this);
    m_reload = new QAction(themedIcon(QStringLiteral("view-refresh"), QStyle::SP_BrowserReload),
                           tr("&Reload Flows"), this);
    m_reload->setShortcut(QKeySequence::Refresh);
    m_reload->setShortcutContext(Qt::WidgetWithChildrenShortcut);
    addAction(m_reload);

    auto* toolbar = new QToolBar(this);
    toolbar->setToolButtonStyle(Qt::ToolButtonTextBesideIcon);
    toolbar->addAction(m_start);
    toolbar->addSeparator();
    toolbar->addAction(m_open);
    toolbar->addAction(m_addFolder);
    toolbar->addAction(m_reload);
    toolbar->addSeparator();
    m_schedule = toolbar->addAction(
        themedIcon(QStringLiteral("view-calendar"), QStyle::SP_FileDialogInfoView), tr("S&chedule…"));
    m_schedule->setObjectName(QStringLiteral("scheduleFlowAction"));
    m_schedule->setToolTip(tr("Run the selected flow on a schedule (Schedules page)"));
    connect(m_schedule, &QAction::triggered, this, [this] {
        if (const FlowEntry* entry = currentEntry(); entry && entry->isValid())
            Q_EMIT scheduleRequested(entry->name);
    });
    return toolbar;
}

void FlowsPage::setUpView()
{
    m_view->setObjectName(QStringLiteral("flowsView"));
    m_view->setModel(m_model);
    m_view->setSelectionBehavior(QAbstractItemView::SelectRows);
    m_view->setSelectionMode(QAbstractItemView::SingleSelection);
    m_view->setAlternatingRowColors(true);
    m_view->setWordWrap(false);
    m_view->setTextElideMode(Qt::ElideRight);
    m_view->verticalHeader()->hide();
    m_view->verticalHeader()->setSectionResizeMode(QHeaderView::Fixed);
    m_view->verticalHeader()->setDefaultSectionSize(m_view->fontMetrics().height() + 12);
    m_view->setItemDelegateForColumn(FlowListModel::LastRunColumn, new BadgeDelegate(m_view));
    m_view->setContextMenuPolicy(Qt::ActionsContextMenu);
    m_view->addAction(m_start);
    QHeaderView* header = m_view->horizontalHeader();
    header->setSectionResizeMode(QHeaderView::Interactive);
    header->setSectionResizeMode(FlowListModel::DescriptionColumn, QHeaderView::Stretch);
    header->resizeSection(FlowListModel::NameColumn, 170);
    header->resizeSection(FlowListModel::TasksColumn, 60);
    header->resizeSection(FlowListModel::SourceColumn, 200);
    header->resizeSection(FlowListModel::LastRunColumn, 110);
    new ColumnFitter(m_view, QStringLiteral("flows"),
                     {FlowListModel::SourceColumn, FlowListModel::TasksColumn, FlowListModel::LastRunColumn});
}

FlowsPage::~FlowsPage() = default;

const FlowEntry* FlowsPage::currentEntry() const
{
    const QModelIndex current = m_view->currentIndex();
    return current.isValid() ? m_model->entryAt(current.row()) : nullptr;
}

bool FlowsPage::selectSource(const QString& source)
{
    const int row = m_model->rowOfSource(source);
    if (row < 0)
        return false;
    m_view->selectRow(row);
    m_view->scrollTo(m_model->index(row, 0));
    return true;
}

bool FlowsPage::selectSubflow(const QString& taskId)
{
    const QString reference = m_subflows.value(taskId);
    if (reference.isEmpty())
        return false;
    QString error;
    const std::optional<SubflowTarget> target = findSubflow(reference, m_graphSource, &error);
    if (!target) {
        Q_EMIT m_context->message(tr("Cannot find the flow that task %1 runs: %2").arg(taskId, error));
        return false;
    }
    if (selectSource(target->source))
        return true;
    // The library may name the same file by another path (through a link): the file is what counts.
    if (!target->source.startsWith(QStringLiteral("code:"))) {
        for (int row = 0; row < m_model->rowCount(); ++row) {
            const FlowEntry* entry = m_model->entryAt(row);
            if (entry && QFileInfo(entry->source).canonicalFilePath() == target->source)
                return selectSource(entry->source);
        }
    }
    Q_EMIT m_context->message(
        tr("The flow that task %1 runs, %2, is not in the list of flows: add its folder to show it here")
            .arg(taskId, QDir::toNativeSeparators(target->source)));
    return false;
}

StartFlowDialog* FlowsPage::startSelected()
{
    const FlowEntry* entry = currentEntry();
    if (!entry || !entry->isValid())
        return nullptr;
    auto* dialog = new StartFlowDialog(*entry, m_context->parser(), this);
    dialog->setAttribute(Qt::WA_DeleteOnClose);
    connect(dialog, &QDialog::accepted, this, [this, dialog] {
        if (dialog->target() == StartFlowDialog::Target::Worker) {
            // As `flowdeck submit` does: stored SCHEDULED with its document, for a worker to claim.
            if (m_context->history().queueFlowRun(*dialog->flow()))
                Q_EMIT flowQueued(dialog->flow()->name);
            return;
        }
        if (FlowRun* run = m_context->startFlow(*dialog->flow()))
            Q_EMIT flowStarted(run);
    });
    // "Queue for a worker" is offered while workers are online on this database;
    // asked now and every few seconds while the dialog is open.
    if (m_context->workers().isAvailable()) {
        auto* poll = new QTimer(dialog);
        poll->setInterval(WorkerPollMs);
        connect(poll, &QTimer::timeout, this,
                [this, dialog] { auto task = offerWorkers(this, QPointer<StartFlowDialog>(dialog)); });
        poll->start();
        auto task = offerWorkers(this, dialog);
    }
    dialog->open();
    return dialog;
}

QCoro::Task<> FlowsPage::offerWorkers(QPointer<FlowsPage> self, QPointer<StartFlowDialog> dialog)
{
    if (!self || !dialog || !self->m_context->workers().isAvailable())
        co_return;
    QList<workers::WorkerRow> rows;
    try {
        auto reading = self->m_context->workers().read();
        rows = co_await reading;
    } catch (const std::exception&) {
        co_return; // the dialog then simply offers this app only
    }
    if (!self || !dialog)
        co_return;
    dialog->setWorkersOnline(WorkerDirectory::onlineNames(rows, wallUs()));
}

void FlowsPage::openFlowFile()
{
    auto* dialog = new QFileDialog(this, tr("Open Flow"), m_model->userFolder(), tr("Flow files (*.json)"));
    dialog->setAttribute(Qt::WA_DeleteOnClose);
    dialog->setFileMode(QFileDialog::ExistingFiles);
    connect(dialog, &QFileDialog::filesSelected, this, [this](const QStringList& files) {
        for (const QString& file : files)
            m_model->addFile(file);
        // Select the first once it has been read.
        m_pendingSelection = QDir::cleanPath(QFileInfo(files.value(0)).absoluteFilePath());
    });
    dialog->open();
}

void FlowsPage::addFolder()
{
    auto* dialog = new QFileDialog(this, tr("Add Flow Folder"), QDir::homePath());
    dialog->setAttribute(Qt::WA_DeleteOnClose);
    dialog->setFileMode(QFileDialog::Directory);
    dialog->setOption(QFileDialog::ShowDirsOnly);
    connect(dialog, &QFileDialog::fileSelected, m_model, &FlowListModel::addFolder);
    dialog->open();
}

void FlowsPage::showView(View view)
{
    m_views->setCurrentIndex(view == View::Grid ? 1 : 0);
}

void FlowsPage::scheduleGridRead()
{
    if (m_views->currentWidget() == m_grid && !m_gridTimer->isActive())
        m_gridTimer->start();
}

void FlowsPage::readGrid()
{
    if (m_views->currentWidget() != m_grid)
        return;
    if (m_gridFlow.isEmpty()) {
        m_grid->clear();
        return;
    }
    m_gridSerial = m_gridReader->request(m_gridFlow, m_grid->wantedRuns());
}

void FlowsPage::openGridCell(const QString& runId, const QString& task)
{
    // A run of this session, else one read from the store.
    FlowRun* found = nullptr;
    for (const auto& run : m_context->flowRuns()) {
        if (run->id.toString() == runId)
            found = m_context->continuedAs(run.get()) ? m_context->continuedAs(run.get()) : run.get();
    }
    if (!found)
        found = m_context->history().storedRun(runId);
    if (!found) {
        Q_EMIT m_context->message(
            tr("Run %1 is older than the runs read from the database").arg(shortId(runId)));
        return;
    }
    Q_EMIT openRunAtTask(found, task);
}

void FlowsPage::updateGraph(const FlowEntry* entry)
{
    const QString flowName = entry ? entry->name : QString();
    if (flowName != m_gridFlow) {
        m_gridFlow = flowName;
        m_grid->clear();
        ++m_gridSerial; // an answer for the previous flow is not shown
        scheduleGridRead();
    }
    // The flow as Start would run it with the default parameters (map counts follow them).
    std::optional<FlowDefinition> flow;
    if (entry && entry->isValid() && !entry->document.isEmpty()) {
        ValidationErrors errors;
        flow = m_context->parser().resolve(entry->document, entry->source, errors);
    }
    const QString key = flow
        ? flow->source + QString::fromUtf8(QJsonDocument(flow->document).toJson(QJsonDocument::Compact))
        : QString();
    if (key == m_graphFor && !key.isEmpty())
        return;
    m_graphFor = key;
    m_subflows.clear();
    m_graphSource.clear();
    if (flow) {
        m_graphSource = flow->source;
        for (const TaskDef& task : flow->tasks) {
            if (task.kind == subflowKindName())
                m_subflows.insert(task.id, task.config.value(subflowKindName()).toString());
        }
        m_graph->setFlow(*flow);
    } else {
        m_graph->clear();
    }
}

QString FlowsPage::schedulesHtml(const QString& flowName) const
{
    const QList<schedules::ScheduleRow> rows = m_context->scheduleList().ofFlow(flowName);
    if (rows.isEmpty())
        return {};
    QString html = tr("<p><b>Schedules</b></p><ul>");
    for (const schedules::ScheduleRow& row : rows) {
        QString when;
        if (!row.active())
            when = tr("paused");
        else if (!row.nextFireUs.isEmpty())
            when = tr("next %1").arg(formatClock(row.nextFireUs.first()));
        QString last;
        StateType type;
        if (!row.lastRunState.isEmpty() && parseStateType(row.lastRunState, &type))
            last = tr(", last run <span style=\"color:%1\">%2</span>")
                       .arg(stateColor(type).name(), stateLabel(type));
        html += QStringLiteral("<li>%1: <code>%2</code>%3 — %4%5</li>")
                    .arg(row.name().toHtmlEscaped(), row.expressionText().toHtmlEscaped(),
                         row.draft.timezone.isEmpty()
                             ? QString()
                             : QStringLiteral(" (%1)").arg(row.draft.timezone.toHtmlEscaped()),
                         when, last);
    }
    return html + QStringLiteral("</ul>");
}

void FlowsPage::updateDetails()
{
    const FlowEntry* entry = currentEntry();
    m_start->setEnabled(entry && entry->isValid());
    updateGraph(entry);
    if (m_schedule)
        m_schedule->setEnabled(entry && entry->isValid() && !entry->document.isEmpty()
                               && m_context->scheduleList().canWrite());
    if (!entry) {
        m_details->setHtml(tr("<p>Select a flow to see its tasks.</p>"));
        return;
    }
    QString html = QStringLiteral("<h3>%1</h3>").arg(entry->name.toHtmlEscaped());
    html += QStringLiteral("<p><small>%1</small></p>")
                .arg(QDir::toNativeSeparators(entry->source).toHtmlEscaped());
    if (!entry->isValid()) {
        html += tr("<p><b>This flow does not validate and cannot be started:</b></p><ul>");
        for (const ValidationError& e : entry->errors)
            html += QStringLiteral("<li><code>%1</code></li>").arg(e.toString().toHtmlEscaped());
        html += QStringLiteral("</ul>");
    }
    if (!entry->description.isEmpty())
        html += QStringLiteral("<p>%1</p>").arg(entry->description.toHtmlEscaped());
    if (entry->isValid()) {
        html += QStringLiteral("<p>")
            + (entry->taskCount == 1 ? tr("1 task, ") : tr("%1 tasks, ").arg(entry->taskCount))
            + (entry->taskRunCount == 1
                   ? tr("1 task run with the default parameters.")
                   : tr("%1 task runs with the default parameters.").arg(entry->taskRunCount));
        if (!entry->parameters.isEmpty())
            html += tr(" Parameters: <code>%1</code>.")
                        .arg(entry->parameters.keys().join(QStringLiteral(", ")).toHtmlEscaped());
        html += QStringLiteral("</p>");
    }
    html += schedulesHtml(entry->name);
    m_details->setHtml(html);
}

} // namespace flowdeck
