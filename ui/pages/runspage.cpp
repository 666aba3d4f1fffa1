#include "pages/runspage.h"

#include "context/appcontext.h"
#include "models/flowrunfiltermodel.h"
#include "models/flowrunmodel.h"
#include "models/modelroles.h"
#include "style/icons.h"
#include "style/statestyle.h"
#include "widgets/badgedelegate.h"
#include "widgets/columnfitter.h"
#include "widgets/confirmdialog.h"
#include "widgets/progressdelegate.h"

#include <QAction>
#include <QClipboard>
#include <QComboBox>
#include <QFontMetrics>
#include <QGuiApplication>
#include <QHeaderView>
#include <QItemSelectionModel>
#include <QLabel>
#include <QMenu>
#include <QMessageBox>
#include <QPushButton>
#include <QTableView>
#include <QToolBar>
#include <QVBoxLayout>

namespace flowdeck {

namespace {

// State filter entries: -3 failed or crashed, -2 all, -1 active, otherwise a StateType.
constexpr int FailedStates = -3;
constexpr int AllStates = -2;
constexpr int ActiveStates = -1;

} // namespace

RunsPage::RunsPage(AppContext* context, QAction* cancelAction, QWidget* parent)
    : QWidget(parent)
    , m_context(context)
    , m_model(new FlowRunModel(context, this))
    , m_filter(new FlowRunFilterModel(this))
    , m_view(new QTableView(this))
    , m_stateFilter(new QComboBox(this))
    , m_flowFilter(new QComboBox(this))
{
    setObjectName(QStringLiteral("runsPage"));
    m_filter->setSourceModel(m_model);

    m_open = new QAction(themedIcon(QStringLiteral("document-preview"), QStyle::SP_FileDialogContentsView),
                         tr("&Open Run"), this);
    connect(m_open, &QAction::triggered, this, [this] {
        const QList<FlowRun*> runs = selectedFlowRuns();
        if (!runs.isEmpty())
            Q_EMIT openRun(runs.first());
    });

    // The full id: the short one the table shows is its end, which the CLI accepts as well.
    m_copyId
        = new QAction(themedIcon(QStringLiteral("edit-copy"), QStyle::SP_FileIcon), tr("Copy Run &Id"), this);
    m_copyId->setObjectName(QStringLiteral("copyRunId"));
    m_copyId->setShortcut(QKeySequence(Qt::CTRL | Qt::SHIFT | Qt::Key_C));
    m_copyId->setShortcutContext(Qt::WidgetWithChildrenShortcut);
    addAction(m_copyId);
    connect(m_copyId, &QAction::triggered, this, [this] {
        QStringList ids;
        for (const FlowRun* run : selectedFlowRuns())
            ids << run->id.toString();
        if (!ids.isEmpty())
            QGuiApplication::clipboard()->setText(ids.join(u'\n'));
    });

    QToolBar* toolbar = makeToolbar(cancelAction);
    setUpView(cancelAction);

    connect(m_view->selectionModel(), &QItemSelectionModel::selectionChanged, this,
            &RunsPage::selectionChanged);
    m_open->setEnabled(false);
    connect(m_view->selectionModel(), &QItemSelectionModel::selectionChanged, this,
            [this] { m_open->setEnabled(!m_view->selectionModel()->selectedRows().isEmpty()); });
    connect(m_stateFilter, &QComboBox::currentIndexChanged, this, &RunsPage::applyFilters);
    connect(m_flowFilter, &QComboBox::currentIndexChanged, this, &RunsPage::applyFilters);
    connect(context, &AppContext::updated, this, &RunsPage::apply);

    auto* layout = new QVBoxLayout(this);
    layout->setContentsMargins(0, 0, 0, 0);
    layout->setSpacing(0);
    layout->addWidget(toolbar);
    layout->addWidget(m_view);

    // Flow names of the store's history join the flow filter as they are read.
    auto addHistoryFlows = [this] {
        UpdateBatch stored;
        stored.startedFlowRuns = m_context->history().runs();
        apply(stored);
    };
    connect(&context->history(), &RunHistory::historyChanged, this, addHistoryFlows);
    addHistoryFlows();
    UpdateBatch initial;
    for (const auto& run : context->flowRuns())
        initial.startedFlowRuns.push_back(run.get());
    apply(initial);
}

QToolBar* RunsPage::makeToolbar(QAction* cancelAction)
{
    m_stateFilter->setObjectName(QStringLiteral("stateFilter"));
    m_stateFilter->addItem(tr("All states"), AllStates);
    m_stateFilter->addItem(tr("Not finished"), ActiveStates);
    m_stateFilter->addItem(tr("Failed or crashed"), FailedStates);
    for (StateType type : {StateType::Running, StateType::Completed, StateType::Failed, StateType::Cancelled,
                           StateType::Cancelling, StateType::Crashed, StateType::Pending,
                           StateType::Scheduled, StateType::Paused})
        m_stateFilter->addItem(stateLabel(type), int(type));
    m_flowFilter->setObjectName(QStringLiteral("flowFilter"));
    m_flowFilter->addItem(tr("All flows"), QString());
    m_flowFilter->setSizeAdjustPolicy(QComboBox::AdjustToContents);

    auto* toolbar = new QToolBar(this);
    toolbar->setToolButtonStyle(Qt::ToolButtonTextBesideIcon);
    toolbar->addAction(m_open);
    toolbar->addAction(cancelAction);
    auto* spacer = new QWidget(toolbar);
    spacer->setSizePolicy(QSizePolicy::Expanding, QSizePolicy::Preferred);
    toolbar->addWidget(spacer);
    toolbar->addWidget(new QLabel(tr("State: "), toolbar));
    toolbar->addWidget(m_stateFilter);
    toolbar->addWidget(new QLabel(tr("  Flow: "), toolbar));
    toolbar->addWidget(m_flowFilter);
    return toolbar;
}

void RunsPage::setUpView(QAction* cancelAction)
{
    m_view->setObjectName(QStringLiteral("runsView"));
    m_view->setModel(m_filter);
    m_view->setSelectionBehavior(QAbstractItemView::SelectRows);
    m_view->setSelectionMode(QAbstractItemView::ExtendedSelection);
    m_view->setAlternatingRowColors(true);
    m_view->setWordWrap(false);
    m_view->verticalHeader()->hide();
    m_view->verticalHeader()->setSectionResizeMode(QHeaderView::Fixed);
    m_view->verticalHeader()->setDefaultSectionSize(m_view->fontMetrics().height() + 12);
    m_view->setItemDelegateForColumn(FlowRunModel::StateColumn, new BadgeDelegate(m_view));
    m_view->setItemDelegateForColumn(FlowRunModel::ProgressColumn, new ProgressDelegate(m_view));
    m_view->horizontalHeader()->setSortIndicator(-1, Qt::AscendingOrder);
    m_view->setSortingEnabled(true);
    QHeaderView* header = m_view->horizontalHeader();
    header->setSectionResizeMode(QHeaderView::Interactive);
    header->setStretchLastSection(false);
    header->setSectionResizeMode(FlowRunModel::ProgressColumn, QHeaderView::Stretch);
    // Sized from the font (high-DPI and large fonts), leaving the progress bar most of the width.
    const QFontMetrics fm = m_view->fontMetrics();
    auto fit = [&fm](const QString& sample) { return fm.horizontalAdvance(sample) + 20; };
    header->resizeSection(FlowRunModel::StateColumn, fit(QStringLiteral("Cancelling")) + 10);
    header->resizeSection(FlowRunModel::FlowColumn, fit(QStringLiteral("tagged-fanout-xx")));
    header->resizeSection(FlowRunModel::IdColumn, fit(QStringLiteral("01a2b3c4")));
    header->resizeSection(FlowRunModel::WorkerColumn, fit(QStringLiteral("build-box-1")));
    header->resizeSection(FlowRunModel::StartColumn, fit(QStringLiteral("2026-12-31 00:00")));
    header->resizeSection(FlowRunModel::DurationColumn, fit(QStringLiteral("00:00:00")));
    for (int c = FlowRunModel::WaitingColumn; c <= FlowRunModel::CancelledColumn; ++c)
        header->resizeSection(c, fit(QStringLiteral("Cancelled")));
    // On a narrow window the counts the progress bar already shows in colour go first, then the details.
    auto* columns = new ColumnFitter(
        m_view, QStringLiteral("runs"),
        {FlowRunModel::CrashedColumn, FlowRunModel::CancelledColumn, FlowRunModel::WaitingColumn,
         FlowRunModel::RunningColumn, FlowRunModel::IdColumn, FlowRunModel::WorkerColumn,
         FlowRunModel::CompletedColumn, FlowRunModel::DurationColumn, FlowRunModel::StartColumn});

    m_view->setContextMenuPolicy(Qt::CustomContextMenu);
    // The columns to show are chosen here too (the header's menu needs a mouse), also on an empty table.
    connect(m_view, &QWidget::customContextMenuRequested, this,
            [this, cancelAction, columns](const QPoint& pos) {
                QMenu menu(this);
                if (m_view->indexAt(pos).isValid()) {
                    menu.addAction(m_open);
                    menu.addAction(m_copyId);
                    menu.addAction(cancelAction);
                    menu.addSeparator();
                }
                columns->addColumnActions(menu.addMenu(tr("C&olumns")));
                menu.exec(m_view->viewport()->mapToGlobal(pos));
            });
    connect(m_view, &QTableView::doubleClicked, this, [this](const QModelIndex& index) {
        if (FlowRun* run = m_model->flowRunAt(m_filter->mapToSource(index).row()))
            Q_EMIT openRun(run);
    });
}

RunsPage::~RunsPage() = default;

QList<FlowRun*> RunsPage::selectedFlowRuns() const
{
    QList<FlowRun*> runs;
    const QModelIndexList rows = m_view->selectionModel()->selectedRows();
    for (const QModelIndex& index : rows) {
        if (FlowRun* run = m_model->flowRunAt(m_filter->mapToSource(index).row()))
            runs << run;
    }
    return runs;
}

void RunsPage::select(const FlowRun* run)
{
    const QModelIndex index = m_filter->mapFromSource(m_model->indexOf(run));
    if (!index.isValid())
        return;
    m_view->selectionModel()->select(index, QItemSelectionModel::ClearAndSelect | QItemSelectionModel::Rows);
    m_view->setCurrentIndex(index);
}

QMessageBox* RunsPage::cancelSelected()
{
    QList<FlowRun*> runs;
    for (FlowRun* run : selectedFlowRuns()) {
        if (!run->isTerminal() && !run->cancelRequested)
            runs << run;
    }
    if (runs.isEmpty())
        return nullptr;
    QString text;
    if (runs.size() == 1)
        text = tr("Cancel the flow run of \"%1\" (%2)?")
                   .arg(runs.first()->def.name, shortId(runs.first()->id.toString()));
    else
        text = tr("Cancel %n flow runs?", nullptr, int(runs.size()));
    // Runs are kept for the session, so the pointers are still valid when the answer comes.
    return openCancelConfirmation(
        this, tr("Cancel Flow Runs"), text,
        tr("Task runs that have not started will not start; running ones are interrupted."),
        tr("Cancel Runs"), [this, runs] {
            for (FlowRun* run : runs)
                m_context->cancelFlowRun(run);
        });
}

void RunsPage::apply(const UpdateBatch& batch)
{
    for (FlowRun* run : batch.startedFlowRuns) {
        if (m_flowFilter->findData(run->def.name) < 0)
            m_flowFilter->addItem(run->def.name, run->def.name);
    }
    if (!batch.changedFlowRuns.empty())
        Q_EMIT selectionChanged(); // a selected run may have finished: it can no longer be cancelled
}

void RunsPage::showFailed()
{
    m_stateFilter->setCurrentIndex(m_stateFilter->findData(FailedStates));
    m_flowFilter->setCurrentIndex(0);
}

void RunsPage::applyFilters()
{
    const int state = m_stateFilter->currentData().toInt();
    FlowRunFilterModel::StateFilter filter;
    filter.activeOnly = state == ActiveStates;
    filter.failedOrCrashed = state == FailedStates;
    if (state >= 0)
        filter.type = StateType(state);
    m_filter->setStateFilter(filter);
    m_filter->setFlowFilter(m_flowFilter->currentData().toString());
}

} // namespace flowdeck
