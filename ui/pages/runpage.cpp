#include "pages/runpage.h"

#include "context/appcontext.h"
#include "context/logbuffers.h"
#include "context/storedtaskrunpages.h"
#include "context/taskrundetails.h"
#include "flow/jsontext.h"
#include "models/logmodel.h"
#include "models/storedtaskrunmodel.h"
#include "models/taskrunfiltermodel.h"
#include "models/taskrunmodel.h"
#include "run/clock.h"
#include "run/engine.h"
#include "run/flowrun.h"
#include "style/icons.h"
#include "style/statestyle.h"
#include "widgets/approvalbanner.h"
#include "widgets/badgedelegate.h"
#include "widgets/confirmdialog.h"
#include "widgets/elidedlabel.h"
#include "widgets/progresswidget.h"
#include "widgets/runactions.h"
#include "widgets/rungraphwidget.h"
#include "widgets/taskrundetail.h"
#include "widgets/timelinewidget.h"

#include <QAction>
#include <QClipboard>
#include <QComboBox>
#include <QGuiApplication>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QItemSelectionModel>
#include <QLabel>
#include <QLineEdit>
#include <QMenu>
#include <QMessageBox>
#include <QProgressBar>
#include <QPushButton>
#include <QScrollBar>
#include <QShortcut>
#include <QSplitter>
#include <QTabWidget>
#include <QTableView>
#include <QTimer>
#include <QToolButton>
#include <QVBoxLayout>

namespace flowdeck {

namespace {

QToolButton* toolButton(QWidget* parent, const QString& text, const QString& tip)
{
    auto* button = new QToolButton(parent);
    button->setText(text);
    button->setToolTip(tip);
    button->setAutoRaise(true);
    return button;
}

void setUpTable(QTableView* view)
{
    view->setSelectionBehavior(QAbstractItemView::SelectRows);
    view->setAlternatingRowColors(true);
    view->setWordWrap(false);
    view->verticalHeader()->hide();
    // Fixed row heights: the view never measures 100k rows.
    view->verticalHeader()->setSectionResizeMode(QHeaderView::Fixed);
    view->verticalHeader()->setDefaultSectionSize(view->fontMetrics().height() + 8);
    view->horizontalHeader()->setSectionResizeMode(QHeaderView::Interactive);
    view->horizontalHeader()->setStretchLastSection(true);
}

} // namespace

RunPage::RunPage(AppContext* context, QAction* cancelAction, QWidget* parent)
    : QWidget(parent)
    , m_context(context)
    , m_model(new TaskRunModel(context, this))
    , m_filter(new TaskRunFilterModel(this))
    , m_paged(new StoredTaskRunModel(new StoredTaskRunPages(context, this), this))
    , m_logs(new LogModel(context, this))
    , m_title(new QLabel(this))
    , m_progress(new ProgressWidget(this))
    , m_cancelFlow(new QPushButton(themedIcon(QStringLiteral("process-stop"), QStyle::SP_BrowserStop),
                                   tr("Cancel Flow Run…"), this))
    , m_info(new ElidedLabel(this))
    , m_subflows(new QLabel(this))
    , m_runActions(new RunActions(context, this))
    , m_stateFilter(new QComboBox(this))
    , m_search(new QLineEdit(this))
    , m_queryBusy(new QProgressBar(this))
    , m_searchDelay(new QTimer(this))
    , m_pagedRefresh(new QTimer(this))
    , m_table(new QTableView(this))
    , m_timeline(new TimelineWidget(context, this))
    , m_graph(new RunGraphWidget(context, this))
    , m_views(new QTabWidget(this))
    , m_taskFilterChip(new QToolButton(this))
    , m_logView(new QTableView(this))
    , m_copyId(
          new QAction(themedIcon(QStringLiteral("edit-copy"), QStyle::SP_FileIcon), tr("Copy Run &Id"), this))
    , m_details(new TaskRunDetails(context, this))
    , m_detailPanel(new TaskRunDetailPanel(this))
{
    setObjectName(QStringLiteral("runPage"));
    // The full id: the short one the header shows is its end, which the CLI accepts as well.
    m_copyId->setObjectName(QStringLiteral("copyRunId"));
    m_copyId->setShortcut(QKeySequence(Qt::CTRL | Qt::SHIFT | Qt::Key_C));
    m_copyId->setShortcutContext(Qt::WidgetWithChildrenShortcut);
    addAction(m_copyId);
    connect(m_copyId, &QAction::triggered, this, [this] {
        if (m_current)
            QGuiApplication::clipboard()->setText(m_current->id.toString());
    });

    auto* header = makeHeader();
    auto* operations = makeOperations();
    auto* filters = makeFilters(cancelAction);
    setUpTaskTable(cancelAction);
    QWidget* timelinePanel = makeTimelinePanel();
    QWidget* graphPanel = makeGraphPanel();
    setUpLogView();
    // The timeline and the graph share the panel under the table, one tab each.
    m_views->setObjectName(QStringLiteral("runViews"));
    m_views->setDocumentMode(true);
    m_views->addTab(timelinePanel, tr("&Timeline"));
    m_views->addTab(graphPanel, tr("&Graph"));
    connect(m_views, &QTabWidget::currentChanged, this, [this](int tab) {
        if (tab == 1 && showsPaged() && !m_current->isTerminal())
            readTallies();
    });

    auto* splitter = new QSplitter(Qt::Vertical, this);
    splitter->setChildrenCollapsible(false);
    splitter->addWidget(m_table);
    splitter->addWidget(m_views);
    splitter->addWidget(m_logView);
    splitter->setStretchFactor(0, 4);
    splitter->setStretchFactor(1, 4);
    splitter->setStretchFactor(2, 2);
    // The selected task run's detail beside the table, timeline and log, the page's full height.
    auto* withDetail = new QSplitter(Qt::Horizontal, this);
    withDetail->setChildrenCollapsible(false);
    withDetail->addWidget(splitter);
    withDetail->addWidget(m_detailPanel);
    withDetail->setStretchFactor(0, 3);
    withDetail->setStretchFactor(1, 2);
    m_detailPanel->hide();

    auto* layout = new QVBoxLayout(this);
    layout->setContentsMargins(0, 0, 0, 0);
    layout->setSpacing(2);
    layout->addLayout(header);
    layout->addLayout(operations);
    // Task runs of this flow run waiting for approval, with Approve / Reject (hidden while none wait).
    auto* approvals = new ApprovalBanner(context, this);
    layout->addWidget(approvals);
    connect(this, &RunPage::selectionChanged, approvals,
            [this, approvals] { approvals->setFlowRun(m_current); });
    layout->addLayout(filters);
    layout->addWidget(withDetail, 1);

    connect(m_cancelFlow, &QPushButton::clicked, this, &RunPage::cancelFlowRun);
    connect(m_stateFilter, &QComboBox::currentIndexChanged, this, &RunPage::applyFilters);
    // A paged run's search is a query of seconds over a million rows: asked once typing pauses.
    m_searchDelay->setSingleShot(true);
    m_searchDelay->setInterval(SearchDelayMs);
    connect(m_searchDelay, &QTimer::timeout, this, &RunPage::applyFilters);
    connect(m_search, &QLineEdit::textChanged, this, [this] {
        if (showsPaged())
            m_searchDelay->start();
        else
            applyFilters();
    });
    connect(m_paged, &StoredTaskRunModel::replacingChanged, m_queryBusy, &QWidget::setVisible);
    // One timer for the page, whatever the number of rows: the rows in view and the counts.
    m_pagedRefresh->setInterval(PagedRefreshMs);
    connect(m_pagedRefresh, &QTimer::timeout, this, &RunPage::refreshPaged);
    connect(m_paged->pages(), &StoredTaskRunPages::tallied, this, &RunPage::applyTallies);
    connect(m_paged->pages(), &StoredTaskRunPages::failed, this, [this](quint64 serial) {
        if (serial == m_tallySerial)
            m_tallySerial = 0;
    });
    connect(m_table->selectionModel(), &QItemSelectionModel::selectionChanged, this,
            &RunPage::selectionChanged);
    connect(m_table, &QAbstractItemView::clicked, this, &RunPage::openDetail);
    connect(m_table, &QAbstractItemView::activated, this, &RunPage::openDetail);
    connect(m_detailPanel, &TaskRunDetailPanel::closeRequested, this, &RunPage::closeDetail);
    m_closeDetail = new QShortcut(QKeySequence(Qt::Key_Escape), this);
    m_closeDetail->setContext(Qt::WidgetWithChildrenShortcut);
    m_closeDetail->setEnabled(false);
    connect(m_closeDetail, &QShortcut::activated, this, &RunPage::closeDetail);
    connect(m_details, &TaskRunDetails::loaded, this, [this](quint64 serial, const TaskRunDetailView& view) {
        if (serial != m_detailSerial || (!m_detailRun && m_pagedDetail.isEmpty()))
            return;
        if (m_context->history().isStored(m_current)) {
            m_detailPanel->setDetail(view);
            return;
        }
        for (const StateRow& h : view.detail.history) {
            if (!h.message.isEmpty())
                m_detailMessages.insert(QString::number(h.timeUs) + u'/' + h.name, h.message);
        }
        if (view.detail.run.state == toString(StateType::Completed)) {
            m_detailResult = view.detail.run.result;
            m_detailResultFinal = true;
        }
        showLiveDetail();
    });
    connect(m_details, &TaskRunDetails::failed, this, [this](quint64 serial, const QString& error) {
        // A live task run may not be committed yet: it shows what the engine has.
        if (serial == m_detailSerial && m_detailRun && m_context->history().isStored(m_current))
            m_detailPanel->setError(taskRunLabel(*m_detailRun), error);
        else if (serial == m_detailSerial && !m_pagedDetail.isEmpty())
            m_detailPanel->setError(m_pagedDetail, error);
    });
    connect(context, &AppContext::updated, this, &RunPage::apply);
    connect(context, &AppContext::pulse, this, &RunPage::onPulse);
    connect(&context->history(), &RunHistory::detailsLoaded, this, [this](FlowRun* run) {
        if (run == m_current)
            showDetails();
    });
    connect(&context->history(), &RunHistory::historyChanged, this, [this] {
        if (!m_current)
            setFlowRun(m_context->newestFlowRun(), true);
    });

    setFlowRun(context->newestFlowRun(), true);
}

RunPage::~RunPage() = default;

QHBoxLayout* RunPage::makeHeader()
{
    m_title->setObjectName(QStringLiteral("runTitle"));
    m_title->setTextFormat(Qt::RichText);
    m_title->setTextInteractionFlags(Qt::TextSelectableByMouse);
    m_title->setSizePolicy(QSizePolicy::Ignored, QSizePolicy::Preferred);
    // Room for the second line (a run's message, where it is stored) from the start: when one appears
    // as a run ends, the page below does not move, which would repaint all of it at once.
    m_title->setText(QStringLiteral("<b>Flow</b><br><small>message</small>"));
    m_title->setMinimumHeight(m_title->sizeHint().height());
    m_progress->setObjectName(QStringLiteral("runProgress"));
    m_progress->setFixedWidth(240);
    m_progress->setFormat(tr("%v / %m task runs"));
    m_cancelFlow->setObjectName(QStringLiteral("cancelFlowRunButton"));
    m_cancelFlow->setToolTip(tr("Cancel the whole flow run (Shift+Del)"));
    auto* header = new QHBoxLayout;
    header->setContentsMargins(8, 6, 8, 2);
    auto* copyId = new QToolButton(this);
    copyId->setDefaultAction(m_copyId);
    copyId->setToolButtonStyle(Qt::ToolButtonIconOnly);
    copyId->setToolTip(tr("Copy the flow run's full id (Ctrl+Shift+C)"));
    copyId->setAutoRaise(true);
    header->addWidget(m_title, 1);
    header->addWidget(copyId);
    header->addWidget(m_progress);
    return header;
}

QHBoxLayout* RunPage::makeOperations()
{
    m_info->setObjectName(QStringLiteral("runInfo"));
    auto* row = new QHBoxLayout;
    row->setContentsMargins(8, 0, 8, 2);
    row->addWidget(m_info, 1);
    m_subflows->setObjectName(QStringLiteral("subflowLinks"));
    m_subflows->setTextFormat(Qt::RichText);
    m_subflows->setTextInteractionFlags(Qt::LinksAccessibleByMouse | Qt::LinksAccessibleByKeyboard);
    m_subflows->hide();
    connect(m_subflows, &QLabel::linkActivated, this, &RunPage::openLinkedRun);
    row->addWidget(m_subflows);
    for (QAction* action : {m_runActions->documentAction(), m_runActions->retryAction(),
                            m_runActions->runAgainAction(), m_runActions->pauseResumeAction()}) {
        auto* button = new QToolButton(this);
        button->setObjectName(action->objectName() + QStringLiteral("Button"));
        button->setDefaultAction(action);
        button->setToolButtonStyle(Qt::ToolButtonTextBesideIcon);
        button->setAutoRaise(true);
        row->addWidget(button);
    }
    row->addWidget(m_cancelFlow);
    return row;
}

QHBoxLayout* RunPage::makeFilters(QAction* cancelAction)
{
    m_stateFilter->setObjectName(QStringLiteral("taskStateFilter"));
    m_stateFilter->addItem(tr("All states"), -1);
    for (int t = 0; t < StateTypeCount; ++t)
        m_stateFilter->addItem(stateLabel(StateType(t)), t);
    m_search->setObjectName(QStringLiteral("taskSearch"));
    m_search->setPlaceholderText(tr("Search task, tag or message"));
    m_search->setClearButtonEnabled(true);
    auto* cancelTask = new QToolButton(this);
    cancelTask->setDefaultAction(cancelAction);
    cancelTask->setToolButtonStyle(Qt::ToolButtonTextBesideIcon);
    cancelTask->setAutoRaise(true);
    auto* filters = new QHBoxLayout;
    filters->setContentsMargins(8, 2, 8, 2);
    filters->addWidget(new QLabel(tr("State:"), this));
    filters->addWidget(m_stateFilter);
    filters->addWidget(m_search, 1);
    m_queryBusy->setObjectName(QStringLiteral("taskQueryBusy"));
    m_queryBusy->setRange(0, 0); // busy, no progress known
    m_queryBusy->setTextVisible(false);
    m_queryBusy->setFixedWidth(60);
    m_queryBusy->setMaximumHeight(m_search->sizeHint().height() / 2);
    m_queryBusy->setToolTip(tr("Reading the task runs from the database; the rows shown stay until then"));
    m_queryBusy->hide();
    filters->addWidget(m_queryBusy);
    m_taskFilterChip->setObjectName(QStringLiteral("taskFilterChip"));
    m_taskFilterChip->setToolTip(tr("Show the task runs of every task"));
    m_taskFilterChip->setAutoRaise(true);
    m_taskFilterChip->hide();
    connect(m_taskFilterChip, &QToolButton::clicked, this, [this] { filterToTask({}); });
    filters->addWidget(m_taskFilterChip);
    filters->addWidget(cancelTask);
    return filters;
}

void RunPage::setUpTaskTable(QAction* cancelAction)
{
    m_table->setObjectName(QStringLiteral("taskRunsView"));
    setUpTable(m_table);
    m_table->setModel(m_model);
    m_table->setSelectionMode(QAbstractItemView::ExtendedSelection);
    auto* badges = new BadgeDelegate(m_table);
    m_table->setItemDelegateForColumn(TaskRunModel::StateColumn, badges);
    m_table->setItemDelegateForColumn(TaskRunModel::StallsColumn, badges);
    QHeaderView* columns = m_table->horizontalHeader();
    columns->resizeSection(TaskRunModel::TaskColumn, 130);
    columns->resizeSection(TaskRunModel::MapIndexColumn, 55);
    columns->resizeSection(TaskRunModel::StateColumn, 120);
    columns->resizeSection(TaskRunModel::TagsColumn, 80);
    columns->resizeSection(TaskRunModel::AttemptColumn, 60);
    columns->resizeSection(TaskRunModel::StartColumn, 75);
    columns->resizeSection(TaskRunModel::DurationColumn, 75);
    columns->resizeSection(TaskRunModel::StallsColumn, 90);
    m_table->setContextMenuPolicy(Qt::CustomContextMenu);
    connect(m_table, &QWidget::customContextMenuRequested, this, [this, cancelAction](const QPoint& pos) {
        if (!m_table->indexAt(pos).isValid())
            return;
        QMenu menu(this);
        menu.addAction(cancelAction);
        menu.addAction(m_copyId);
        menu.exec(m_table->viewport()->mapToGlobal(pos));
    });
}

QWidget* RunPage::makeTimelinePanel()
{
    auto* timelinePanel = new QWidget(this);
    auto* timelineBar = new QHBoxLayout;
    timelineBar->setContentsMargins(8, 0, 8, 0);
    auto* zoomOut = toolButton(timelinePanel, tr("−"), tr("Zoom time out (Ctrl+wheel)"));
    auto* zoomIn = toolButton(timelinePanel, tr("+"), tr("Zoom time in (Ctrl+wheel)"));
    auto* rowsOut = toolButton(timelinePanel, tr("Rows −"), tr("Show more rows (Ctrl+Shift+wheel)"));
    auto* rowsIn = toolButton(timelinePanel, tr("Rows +"), tr("Taller rows (Ctrl+Shift+wheel)"));
    auto* fit = toolButton(timelinePanel, tr("Fit"), tr("Show the whole flow run"));
    zoomOut->setObjectName(QStringLiteral("zoomOut"));
    zoomIn->setObjectName(QStringLiteral("zoomIn"));
    timelineBar->addStretch(1);
    timelineBar->addWidget(zoomOut);
    timelineBar->addWidget(zoomIn);
    timelineBar->addWidget(rowsOut);
    timelineBar->addWidget(rowsIn);
    timelineBar->addWidget(fit);
    auto* timelineLayout = new QVBoxLayout(timelinePanel);
    timelineLayout->setContentsMargins(0, 0, 0, 0);
    timelineLayout->setSpacing(0);
    timelineLayout->addLayout(timelineBar);
    timelineLayout->addWidget(m_timeline);
    m_timeline->setObjectName(QStringLiteral("timeline"));
    connect(zoomOut, &QToolButton::clicked, m_timeline, &TimelineWidget::zoomTimeOut);
    connect(zoomIn, &QToolButton::clicked, m_timeline, &TimelineWidget::zoomTimeIn);
    connect(rowsOut, &QToolButton::clicked, m_timeline, &TimelineWidget::zoomRowsOut);
    connect(rowsIn, &QToolButton::clicked, m_timeline, &TimelineWidget::zoomRowsIn);
    connect(fit, &QToolButton::clicked, m_timeline, &TimelineWidget::fitAll);
    connect(m_timeline, &TimelineWidget::rowClicked, this, &RunPage::selectRow);
    return timelinePanel;
}

QWidget* RunPage::makeGraphPanel()
{
    auto* panel = new QWidget(this);
    auto* bar = new QHBoxLayout;
    bar->setContentsMargins(8, 0, 8, 0);
    auto* hint = new QLabel(tr("<small>Click a task to show its task runs; double-click to open one; drag "
                               "to pan; ▸ shows each task run; dashed: reads a result</small>"),
                            panel);
    hint->setObjectName(QStringLiteral("graphHint"));
    auto* zoomOut = toolButton(panel, tr("−"), tr("Zoom out (wheel, -)"));
    auto* zoomIn = toolButton(panel, tr("+"), tr("Zoom in (wheel, +)"));
    auto* fit = toolButton(panel, tr("Fit"), tr("Show the whole graph (0)"));
    zoomOut->setObjectName(QStringLiteral("graphZoomOut"));
    zoomIn->setObjectName(QStringLiteral("graphZoomIn"));
    fit->setObjectName(QStringLiteral("graphFit"));
    bar->addWidget(hint, 1);
    bar->addWidget(zoomOut);
    bar->addWidget(zoomIn);
    bar->addWidget(fit);
    auto* layout = new QVBoxLayout(panel);
    layout->setContentsMargins(0, 0, 0, 0);
    layout->setSpacing(0);
    layout->addLayout(bar);
    layout->addWidget(m_graph, 1);
    m_graph->setObjectName(QStringLiteral("runGraph"));
    connect(zoomOut, &QToolButton::clicked, m_graph, &RunGraphWidget::zoomOut);
    connect(zoomIn, &QToolButton::clicked, m_graph, &RunGraphWidget::zoomIn);
    connect(fit, &QToolButton::clicked, m_graph, &RunGraphWidget::fitAll);
    connect(m_graph, &RunGraphWidget::taskClicked, this, &RunPage::filterToTask);
    connect(m_graph, &RunGraphWidget::taskActivated, this, &RunPage::openTaskDetail);
    connect(m_graph, &RunGraphWidget::taskRunActivated, this, &RunPage::openTaskRunDetailAt);
    connect(m_graph, &RunGraphWidget::subflowActivated, this, &RunPage::openSubflowOf);
    return panel;
}

void RunPage::showView(View view)
{
    m_views->setCurrentIndex(view == View::Graph ? 1 : 0);
}

RunPage::View RunPage::currentView() const
{
    return m_views->currentIndex() == 1 ? View::Graph : View::Timeline;
}

void RunPage::filterToTask(const QString& taskId)
{
    if (m_filter->taskFilter() == taskId)
        return;
    m_filter->setTaskFilter(taskId);
    m_graph->setSelectedTask(taskId);
    m_taskFilterChip->setText(tr("Task: %1 ✕").arg(taskId));
    m_taskFilterChip->setVisible(!taskId.isEmpty());
    applyFilters();
}

void RunPage::setUpLogView()
{
    m_logView->setObjectName(QStringLiteral("logView"));
    setUpTable(m_logView);
    m_logView->setModel(m_logs);
    m_logView->setSelectionMode(QAbstractItemView::ExtendedSelection);
    m_logView->horizontalHeader()->resizeSection(LogModel::TimeColumn, 95);
    m_logView->horizontalHeader()->resizeSection(LogModel::LevelColumn, 75);
    m_logView->horizontalHeader()->resizeSection(LogModel::TaskColumn, 110);
    // Tail the log: stay at the bottom while new lines arrive, unless the user scrolled up.
    connect(m_logs, &QAbstractItemModel::rowsAboutToBeInserted, this, [this] {
        const QScrollBar* bar = m_logView->verticalScrollBar();
        m_logAtBottom = bar->value() >= bar->maximum() - 2;
    });
    connect(m_logs, &QAbstractItemModel::rowsInserted, this, [this] {
        if (m_logAtBottom)
            m_logView->scrollToBottom();
    });
}

FlowRun* RunPage::flowRun() const
{
    return m_current;
}

void RunPage::setFlowRun(FlowRun* run, bool followNewest)
{
    m_followNewest = followNewest;
    if (run != m_current) {
        // Another run starts unfiltered, at its top: a filter or scroll position kept from the
        // previous run would hide rows without saying so.
        if (m_stateFilter->currentIndex() != 0)
            m_stateFilter->setCurrentIndex(0);
        if (!m_search->text().isEmpty())
            m_search->clear();
        filterToTask({});
        m_table->scrollToTop();
        m_logAtBottom = true;
        m_current = run;
        m_runActions->setRuns(run ? QList<FlowRun*>{run} : QList<FlowRun*>{});
        closeDetail();
        // A run from the store gets its task runs, history and logs read first.
        if (m_context->history().needsDetails(run))
            m_context->history().loadDetails(run);
        showDetails();
    }
    updateHeader();
    Q_EMIT selectionChanged();
}

bool RunPage::showsPaged() const
{
    // A large run of this process frees its finished task runs: it is read from the store as well.
    return m_current
        && (m_current->releasesFinished
            || (!m_context->history().needsDetails(m_current) && m_context->history().isPaged(m_current)));
}

void RunPage::showDetails()
{
    // A paged stored run has no task runs in memory, and a large run of this process keeps only those
    // that have not finished: its table reads them a page at a time, the timeline, which walks every
    // task run, is left empty, and the graph shows counts per task.
    const bool paged = showsPaged();
    FlowRun* shown = m_context->history().needsDetails(m_current) || paged ? nullptr : m_current;
    const QString pagedId = paged ? m_current->id.toString() : QString();
    if (shown == m_model->flowRun() && (shown == m_current || paged) && pagedId == m_paged->flowRunId())
        return;
    // Reset first: the run's task runs may have just been built.
    closeDetail();
    m_model->setFlowRun(nullptr);
    m_logs->setFlowRun(nullptr);
    m_timeline->setFlowRun(nullptr);
    m_model->setFlowRun(shown);
    m_paged->setFlowRun(pagedId);
    // Its graph: its task runs counted per task by the database (a count in flight for the run shown
    // before is dropped when it arrives).
    m_tallySerial = 0;
    m_pagedTail = 0;
    if (paged)
        readTallies();
    // Its timeline would walk every task run: no timeline tab for it, the graph shows instead.
    m_views->setTabEnabled(0, !paged);
    m_views->setTabToolTip(
        0, paged ? tr("A flow run this large has no timeline: its graph counts its task runs") : QString());
    // Another process may still run it: its rows in view and counts follow.
    if (paged && !m_current->isTerminal())
        m_pagedRefresh->start();
    else
        m_pagedRefresh->stop();
    m_logs->setFlowRun(paged ? m_current : shown);
    m_timeline->setFlowRun(shown);
    m_graph->setFlowRun(shown);
    // The view's model may be the filter; the selection model changes with it.
    applyFilters();
    updateHeader();
}

QList<TaskRun*> RunPage::selectedTaskRuns() const
{
    QList<TaskRun*> runs;
    if (m_table->model() == m_paged)
        return runs; // stored rows, not task runs of this process
    const QModelIndexList rows = m_table->selectionModel()->selectedRows();
    const bool filtered = m_table->model() == m_filter;
    for (const QModelIndex& index : rows) {
        const int row = filtered ? m_filter->mapToSource(index).row() : index.row();
        if (TaskRun* run = m_model->taskRunAt(row))
            runs << run;
    }
    return runs;
}

QMessageBox* RunPage::cancelSelected()
{
    QList<TaskRun*> runs;
    for (TaskRun* run : selectedTaskRuns()) {
        if (!run->isTerminal())
            runs << run;
    }
    if (runs.isEmpty())
        return nullptr;
    const TaskRun* first = runs.first();
    const QString label = taskRunLabel(*first);
    const QString text = runs.size() == 1 ? tr("Cancel task run %1?").arg(label)
                                          : tr("Cancel %n task runs?", nullptr, int(runs.size()));
    return openCancelConfirmation(
        this, tr("Cancel Task Runs"), text,
        tr("Tasks that depend on them will not run, and the flow run will end as Cancelled."),
        tr("Cancel Task Runs"), [this, runs] {
            for (TaskRun* run : runs)
                m_context->cancelTaskRun(run);
        });
}

QMessageBox* RunPage::cancelFlowRun()
{
    FlowRun* run = m_current;
    if (!run || run->isTerminal())
        return nullptr;
    auto* box = new QMessageBox(
        QMessageBox::Question, tr("Cancel Flow Run"),
        tr("Cancel the flow run of \"%1\" (%2)?").arg(run->def.name, shortId(run->id.toString())),
        QMessageBox::NoButton, this);
    box->setObjectName(QStringLiteral("confirmCancel"));
    QPushButton* yes = box->addButton(tr("Cancel Run"), QMessageBox::AcceptRole);
    yes->setObjectName(QStringLiteral("confirmButton"));
    box->setDefaultButton(box->addButton(tr("Keep Running"), QMessageBox::RejectRole));
    box->setAttribute(Qt::WA_DeleteOnClose);
    connect(box, &QMessageBox::buttonClicked, this, [this, run, yes](QAbstractButton* button) {
        if (button == yes)
            m_context->cancelFlowRun(run);
    });
    box->open();
    return box;
}

void RunPage::apply(const UpdateBatch& batch)
{
    // The run shown went on under its id (retried or resumed here): show the run that goes on.
    for (const auto& [earlier, now] : batch.continuedFlowRuns) {
        if (earlier == m_current) {
            setFlowRun(now, m_followNewest);
            return;
        }
    }
    // Following the newest run means the newest started by someone: a subflow run is reached
    // through its parent's link.
    for (auto it = batch.startedFlowRuns.rbegin(); m_followNewest && it != batch.startedFlowRuns.rend();
         ++it) {
        if ((*it)->parentFlowRunId.isNull()) {
            setFlowRun(*it, true);
            return;
        }
    }
    for (FlowRun* started : batch.startedFlowRuns) {
        if (m_current && started->parentFlowRunId == m_current->id) {
            updateSubflowLinks();
            break;
        }
    }
    FlowRun* run = m_current;
    if (!run
        || std::find(batch.changedFlowRuns.begin(), batch.changedFlowRuns.end(), run)
            == batch.changedFlowRuns.end())
        return;
    // The header follows state changes at once, progress and duration on the pulse: a progress
    // bar repaints synchronously, too costly 30 times a second.
    if (run->type != m_headerType)
        updateHeader();
    if (showsPaged()) {
        // Its counts moved on (read by RunHistory, or kept by the engine): the header shows them; a
        // resumed run is followed.
        updateHeader();
        if (run->releasesFinished && m_views->currentIndex() == 1)
            showLiveCounts();
        if (!run->isTerminal() && !m_pagedRefresh->isActive())
            m_pagedRefresh->start();
        return;
    }
    if (m_model->flowRun() != run)
        return; // a stored run whose task runs are being read
    m_timeline->refresh();
    m_graph->refresh();
    refreshLiveDetail();
    Q_EMIT selectionChanged(); // selected task runs may have finished
}

void RunPage::showEvent(QShowEvent* event)
{
    updateHeader();
    QWidget::showEvent(event);
}

void RunPage::onPulse()
{
    FlowRun* run = m_model->flowRun();
    // A completed run's result is read from the store once its completion is committed there.
    if (m_detailRun && !m_detailResultFinal && m_detailRun->type == StateType::Completed && m_current
        && !m_context->history().isStored(m_current)) {
        m_detailSerial
            = m_details->request(m_current->id.toString(), m_detailRun->taskId(), m_detailRun->mapIndex);
    }
    if (m_current && m_current->releasesFinished && isVisible() && !m_current->isTerminal()) {
        updateHeader(); // its duration grows with time alone; its table reads the store on its own timer
        return;
    }
    if (m_context->history().isStored(run))
        return; // another process's run: refreshed with the history, not with time
    if (!run || !isVisible() || (run->isTerminal() && m_headerType == run->type))
        return;
    // Durations of running task runs grow with time alone: repaint the visible rows.
    m_table->viewport()->update();
    m_timeline->refresh();
    updateHeader();
}

void RunPage::applyFilters()
{
    const int state = m_stateFilter->currentData().toInt();
    if (showsPaged()) {
        // The store filters and orders a paged run's task runs: the view sorts by asking it.
        m_paged->setFilter(state >= 0 ? toString(StateType(state)) : QString(), m_filter->taskFilter(),
                           m_search->text().trimmed());
        if (m_filter->sourceModel())
            m_filter->setSourceModel(nullptr);
        if (m_table->model() != m_paged) {
            QItemSelectionModel* old = m_table->selectionModel();
            m_table->setModel(m_paged);
            delete old;
            connect(m_table->selectionModel(), &QItemSelectionModel::selectionChanged, this,
                    &RunPage::selectionChanged);
            m_table->horizontalHeader()->setSortIndicator(TaskRunModel::TaskColumn, Qt::AscendingOrder);
            m_table->setSortingEnabled(true);
            Q_EMIT selectionChanged();
        }
        return;
    }
    m_table->setSortingEnabled(false);
    m_filter->setStateFilter(state >= 0 ? std::optional<StateType>(StateType(state)) : std::nullopt);
    m_filter->setSearchText(m_search->text());
    // The proxy is connected to the model only while it filters: unfiltered, a 100k-row table pays
    // nothing for it (a connected proxy maps every row and re-filters every changed one).
    const bool filtering = m_filter->isFiltering();
    if (filtering && m_filter->sourceModel() != m_model)
        m_filter->setSourceModel(m_model);
    QAbstractItemModel* wanted = filtering ? static_cast<QAbstractItemModel*>(m_filter) : m_model;
    if (m_table->model() != wanted) {
        QItemSelectionModel* old = m_table->selectionModel();
        m_table->setModel(wanted);
        delete old;
        connect(m_table->selectionModel(), &QItemSelectionModel::selectionChanged, this,
                &RunPage::selectionChanged);
        Q_EMIT selectionChanged();
    }
    if (!filtering && m_filter->sourceModel())
        m_filter->setSourceModel(nullptr);
}

} // namespace flowdeck
