#include "pages/runspage.h"

#include "context/appcontext.h"
#include "context/appsettings.h"
#include "models/flowrunfiltermodel.h"
#include "models/flowrunmodel.h"
#include "models/flowruntreemodel.h"
#include "models/modelroles.h"
#include "run/flowrun.h"
#include "style/icons.h"
#include "style/statestyle.h"
#include "widgets/badgedelegate.h"
#include "widgets/columnfitter.h"
#include "widgets/confirmdialog.h"
#include "widgets/progressdelegate.h"
#include "widgets/runactions.h"

#include <QAction>
#include <QClipboard>
#include <QComboBox>
#include <QDateTime>
#include <QDateTimeEdit>
#include <QFontMetrics>
#include <QGuiApplication>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QItemSelectionModel>
#include <QLabel>
#include <QLineEdit>
#include <QMenu>
#include <QMessageBox>
#include <QPushButton>
#include <QSignalBlocker>
#include <QTimer>
#include <QToolBar>
#include <QToolButton>
#include <QTreeView>
#include <QVBoxLayout>

#include <algorithm>

namespace flowdeck {

namespace {

// The state types the state menu offers, in its order.
constexpr StateType MenuStates[] = {StateType::Running,   StateType::Completed,  StateType::Failed,
                                    StateType::Cancelled, StateType::Cancelling, StateType::Crashed,
                                    StateType::Pending,   StateType::Scheduled,  StateType::Paused};

constexpr quint32 FailedMask
    = FlowRunFilterModel::bit(StateType::Failed) | FlowRunFilterModel::bit(StateType::Crashed);

quint32 activeMask()
{
    quint32 mask = 0;
    for (StateType type : MenuStates) {
        if (!isTerminal(type))
            mask |= FlowRunFilterModel::bit(type);
    }
    return mask;
}

// The time range entries: their settings key, and how far back a relative one reaches.
const QString CustomRange = QStringLiteral("custom");

qint64 rangeSpanS(const QString& range)
{
    if (range == u"hour")
        return 3600;
    if (range == u"day")
        return 24 * 3600;
    if (range == u"week")
        return 7 * 24 * 3600;
    return 0;
}

} // namespace

RunsPage::RunsPage(AppContext* context, QAction* cancelAction, QWidget* parent)
    : QWidget(parent)
    , m_context(context)
    , m_model(new FlowRunModel(context, this))
    , m_tree(new FlowRunTreeModel(m_model, this))
    , m_filter(new FlowRunFilterModel(this))
    , m_view(new QTreeView(this))
    , m_stateFilter(new QToolButton(this))
    , m_flowFilter(new QComboBox(this))
    , m_timeFilter(new QComboBox(this))
    , m_from(new QDateTimeEdit(this))
    , m_to(new QDateTimeEdit(this))
    , m_search(new QLineEdit(this))
    , m_rangeTick(new QTimer(this))
{
    setObjectName(QStringLiteral("runsPage"));
    m_filter->setSourceModel(m_tree);

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

    m_clearFilters = new QAction(themedIcon(QStringLiteral("edit-clear"), QStyle::SP_DialogResetButton),
                                 tr("Clear Filters"), this);
    m_clearFilters->setObjectName(QStringLiteral("clearRunFilters"));
    m_clearFilters->setToolTip(tr("Show every flow run: clear the state, flow, time and text filters"));
    connect(m_clearFilters, &QAction::triggered, this, &RunsPage::clearFilters);

    m_runActions = new RunActions(context, this);

    QToolBar* toolbar = makeToolbar(cancelAction);
    QWidget* filterBar = makeFilterBar();
    setUpView(cancelAction);

    connect(m_view->selectionModel(), &QItemSelectionModel::selectionChanged, this,
            &RunsPage::selectionChanged);
    m_open->setEnabled(false);
    connect(m_view->selectionModel(), &QItemSelectionModel::selectionChanged, this,
            [this] { m_open->setEnabled(!m_view->selectionModel()->selectedRows().isEmpty()); });
    connect(this, &RunsPage::selectionChanged, this, [this] { m_runActions->setRuns(selectedFlowRuns()); });
    connect(context, &AppContext::updated, this, &RunsPage::apply);

    auto* layout = new QVBoxLayout(this);
    layout->setContentsMargins(0, 0, 0, 0);
    layout->setSpacing(0);
    layout->addWidget(toolbar);
    layout->addWidget(filterBar);
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

    restoreFilters();
    for (QAction* action : std::as_const(m_stateActions))
        connect(action, &QAction::toggled, this, &RunsPage::applyFilters);
    connect(m_flowFilter, &QComboBox::currentIndexChanged, this, &RunsPage::applyFilters);
    connect(m_timeFilter, &QComboBox::currentIndexChanged, this, &RunsPage::applyFilters);
    connect(m_from, &QDateTimeEdit::dateTimeChanged, this, &RunsPage::applyFilters);
    connect(m_to, &QDateTimeEdit::dateTimeChanged, this, &RunsPage::applyFilters);
    connect(m_search, &QLineEdit::textChanged, this, &RunsPage::applyFilters);
    // A relative range's start moves with the clock; a minute's precision is enough.
    m_rangeTick->setInterval(60 * 1000);
    connect(m_rangeTick, &QTimer::timeout, this, &RunsPage::applyFilters);
}

QToolBar* RunsPage::makeToolbar(QAction* cancelAction)
{
    auto* toolbar = new QToolBar(this);
    toolbar->setToolButtonStyle(Qt::ToolButtonTextBesideIcon);
    toolbar->addAction(m_open);
    toolbar->addAction(cancelAction);
    toolbar->addSeparator();
    toolbar->addAction(m_runActions->retryAction());
    toolbar->addAction(m_runActions->runAgainAction());
    toolbar->addAction(m_runActions->pauseResumeAction());
    return toolbar;
}

QWidget* RunsPage::makeFilterBar()
{
    // States: several at once, checked in a menu, with the usual sets one click away.
    m_stateFilter->setObjectName(QStringLiteral("stateFilter"));
    m_stateFilter->setPopupMode(QToolButton::InstantPopup);
    m_stateFilter->setToolButtonStyle(Qt::ToolButtonTextOnly);
    auto* states = new QMenu(m_stateFilter);
    states->addAction(tr("All states"), this, [this] { checkStates(0); });
    states->addAction(tr("Not finished"), this, [this] { checkStates(activeMask()); });
    states->addAction(tr("Failed or crashed"), this, [this] { checkStates(FailedMask); });
    states->addSeparator();
    for (StateType type : MenuStates) {
        QAction* action = states->addAction(stateLabel(type));
        action->setCheckable(true);
        action->setData(int(type));
        m_stateActions << action;
    }
    m_stateFilter->setMenu(states);

    m_flowFilter->setObjectName(QStringLiteral("flowFilter"));
    m_flowFilter->addItem(tr("All flows"), QString());
    m_flowFilter->setSizeAdjustPolicy(QComboBox::AdjustToContents);

    m_timeFilter->setObjectName(QStringLiteral("timeFilter"));
    m_timeFilter->addItem(tr("Any time"), QString());
    m_timeFilter->addItem(tr("Last hour"), QStringLiteral("hour"));
    m_timeFilter->addItem(tr("Last 24 hours"), QStringLiteral("day"));
    m_timeFilter->addItem(tr("Last 7 days"), QStringLiteral("week"));
    m_timeFilter->addItem(tr("Custom…"), CustomRange);
    const QDateTime now = QDateTime::currentDateTime();
    for (QDateTimeEdit* edit : {m_from, m_to}) {
        edit->setCalendarPopup(true);
        edit->setDisplayFormat(QStringLiteral("yyyy-MM-dd HH:mm"));
    }
    m_from->setObjectName(QStringLiteral("filterFrom"));
    m_from->setToolTip(tr("Runs started from this time"));
    m_from->setDateTime(now.addDays(-1));
    m_to->setObjectName(QStringLiteral("filterTo"));
    m_to->setToolTip(tr("Runs started up to this time"));
    m_to->setDateTime(now.addSecs(3600));

    m_search->setObjectName(QStringLiteral("runSearch"));
    m_search->setPlaceholderText(tr("Search flow, run id, parameters"));
    m_search->setClearButtonEnabled(true);
    m_search->setMinimumWidth(m_search->fontMetrics().horizontalAdvance(m_search->placeholderText()) + 40);

    // A row of its own (no toolbar overflow menu hides a filter on a narrow window).
    auto* bar = new QWidget(this);
    auto* row = new QHBoxLayout(bar);
    row->setContentsMargins(6, 2, 6, 2);
    row->addWidget(new QLabel(tr("State:"), bar));
    row->addWidget(m_stateFilter);
    row->addSpacing(8);
    row->addWidget(new QLabel(tr("Flow:"), bar));
    row->addWidget(m_flowFilter);
    row->addSpacing(8);
    row->addWidget(new QLabel(tr("Started:"), bar));
    row->addWidget(m_timeFilter);
    row->addWidget(m_from);
    row->addWidget(m_to);
    connect(m_timeFilter, &QComboBox::currentIndexChanged, this, [this] {
        const bool custom = m_timeFilter->currentData().toString() == CustomRange;
        m_from->setVisible(custom);
        m_to->setVisible(custom);
    });
    m_from->setVisible(false);
    m_to->setVisible(false);
    row->addSpacing(8);
    row->addWidget(m_search, 1);
    auto* clear = new QToolButton(bar);
    clear->setObjectName(QStringLiteral("clearRunFiltersButton"));
    clear->setToolButtonStyle(Qt::ToolButtonTextBesideIcon);
    clear->setDefaultAction(m_clearFilters);
    // The button shows while a filter is set, so a table with fewer rows says why.
    connect(m_clearFilters, &QAction::changed, clear,
            [this, clear] { clear->setVisible(m_clearFilters->isVisible()); });
    row->addWidget(clear);
    return bar;
}

void RunsPage::setUpView(QAction* cancelAction)
{
    m_view->setObjectName(QStringLiteral("runsView"));
    m_view->setModel(m_filter);
    m_view->setSelectionBehavior(QAbstractItemView::SelectRows);
    m_view->setSelectionMode(QAbstractItemView::ExtendedSelection);
    m_view->setAlternatingRowColors(true);
    m_view->setWordWrap(false);
    // Subflow runs under their parent: Right and Left expand and collapse; a double click or Enter
    // opens the run, as in a table.
    m_view->setRootIsDecorated(true);
    m_view->setUniformRowHeights(true);
    m_view->setAllColumnsShowFocus(true);
    m_view->setExpandsOnDoubleClick(false);
    m_view->setIndentation(m_view->fontMetrics().height());
    m_view->setItemDelegateForColumn(FlowRunModel::StateColumn, new BadgeDelegate(m_view));
    m_view->setItemDelegateForColumn(FlowRunModel::ProgressColumn, new ProgressDelegate(m_view));
    m_view->header()->setSortIndicator(-1, Qt::AscendingOrder);
    m_view->setSortingEnabled(true);
    QHeaderView* header = m_view->header();
    header->setSectionResizeMode(QHeaderView::Interactive);
    header->setStretchLastSection(false);
    header->setSectionResizeMode(FlowRunModel::ProgressColumn, QHeaderView::Stretch);
    // Sized from the font (high-DPI and large fonts), leaving the progress bar most of the width.
    const QFontMetrics fm = m_view->fontMetrics();
    auto fit = [&fm](const QString& sample) { return fm.horizontalAdvance(sample) + 20; };
    // The state column also holds the tree's expand arrows and a level's indentation.
    header->resizeSection(FlowRunModel::StateColumn,
                          fit(QStringLiteral("Cancelling")) + 10 + 2 * m_view->indentation());
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
                    menu.addAction(m_runActions->retryAction());
                    menu.addAction(m_runActions->runAgainAction());
                    menu.addAction(m_runActions->pauseResumeAction());
                    menu.addAction(m_runActions->documentAction());
                    menu.addSeparator();
                }
                columns->addColumnActions(menu.addMenu(tr("C&olumns")));
                menu.exec(m_view->viewport()->mapToGlobal(pos));
            });
    connect(m_view, &QTreeView::doubleClicked, this, [this](const QModelIndex& index) {
        if (FlowRun* run = m_tree->flowRunAt(m_filter->mapToSource(index)))
            Q_EMIT openRun(run);
    });
}

RunsPage::~RunsPage() = default;

QList<FlowRun*> RunsPage::selectedFlowRuns() const
{
    QList<FlowRun*> runs;
    const QModelIndexList rows = m_view->selectionModel()->selectedRows();
    for (const QModelIndex& index : rows) {
        if (FlowRun* run = m_tree->flowRunAt(m_filter->mapToSource(index)))
            runs << run;
    }
    return runs;
}

QModelIndex RunsPage::viewIndexOf(const FlowRun* run) const
{
    return m_filter->mapFromSource(m_tree->indexOf(run));
}

void RunsPage::select(const FlowRun* run)
{
    const QModelIndex index = viewIndexOf(run);
    if (!index.isValid())
        return;
    for (QModelIndex parent = index.parent(); parent.isValid(); parent = parent.parent())
        m_view->expand(parent);
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

void RunsPage::expandContextRows(const QModelIndex& parent)
{
    const int rows = m_filter->rowCount(parent);
    for (int row = 0; row < rows; ++row) {
        const QModelIndex index = m_filter->index(row, 0, parent);
        if (!m_filter->hasChildren(index))
            continue;
        const FlowRun* run = m_tree->flowRunAt(m_filter->mapToSource(index));
        if (run && !m_filter->acceptsRun(*run)) {
            m_view->expand(index);
            expandContextRows(index);
        }
    }
}

void RunsPage::checkStates(quint32 mask)
{
    // One filter pass for the whole set rather than one per toggled state.
    for (QAction* action : std::as_const(m_stateActions)) {
        const QSignalBlocker blocker(action);
        action->setChecked(mask & FlowRunFilterModel::bit(StateType(action->data().toInt())));
    }
    applyFilters();
}

void RunsPage::showFailed()
{
    {
        const QSignalBlocker flow(m_flowFilter);
        const QSignalBlocker time(m_timeFilter);
        const QSignalBlocker search(m_search);
        m_flowFilter->setCurrentIndex(0);
        m_timeFilter->setCurrentIndex(0);
        m_search->clear();
    }
    checkStates(FailedMask);
}

void RunsPage::clearFilters()
{
    {
        const QSignalBlocker flow(m_flowFilter);
        const QSignalBlocker search(m_search);
        m_flowFilter->setCurrentIndex(0);
        m_search->clear();
    }
    m_timeFilter->setCurrentIndex(0); // also hides the custom range's edits
    checkStates(0);
}

void RunsPage::restoreFilters()
{
    const appsettings::RunsFilter saved = appsettings::runsFilter();
    m_restoring = true;
    quint32 mask = 0;
    for (const QString& name : saved.states) {
        StateType type;
        if (parseStateType(name, &type))
            mask |= FlowRunFilterModel::bit(type);
    }
    for (QAction* action : std::as_const(m_stateActions))
        action->setChecked(mask & FlowRunFilterModel::bit(StateType(action->data().toInt())));
    // A flow of the history may not be listed yet: it joins the list now, once.
    if (!saved.flow.isEmpty() && m_flowFilter->findData(saved.flow) < 0)
        m_flowFilter->addItem(saved.flow, saved.flow);
    m_flowFilter->setCurrentIndex(std::max(0, m_flowFilter->findData(saved.flow)));
    if (saved.from.isValid())
        m_from->setDateTime(saved.from);
    if (saved.to.isValid())
        m_to->setDateTime(saved.to);
    m_timeFilter->setCurrentIndex(std::max(0, m_timeFilter->findData(saved.range)));
    m_search->setText(saved.search);
    m_restoring = false;
    applyFilters();
}

void RunsPage::applyFilters()
{
    quint32 mask = 0;
    QStringList stateNames;
    QStringList labels;
    for (const QAction* action : std::as_const(m_stateActions)) {
        if (action->isChecked()) {
            const auto type = StateType(action->data().toInt());
            mask |= FlowRunFilterModel::bit(type);
            stateNames << toString(type);
            labels << stateLabel(type);
        }
    }
    if (mask == 0)
        m_stateFilter->setText(tr("All states"));
    else if (mask == activeMask())
        m_stateFilter->setText(tr("Not finished"));
    else if (labels.size() <= 3)
        m_stateFilter->setText(labels.join(QStringLiteral(", ")));
    else
        m_stateFilter->setText(tr("%n states", nullptr, int(labels.size())));
    m_filter->setStateTypes(mask);
    m_filter->setFlowFilter(m_flowFilter->currentData().toString());

    const QString range = m_timeFilter->currentData().toString();
    if (range == CustomRange) {
        m_filter->setTimeRange(m_from->dateTime().toMSecsSinceEpoch() * 1000,
                               m_to->dateTime().toMSecsSinceEpoch() * 1000);
        m_rangeTick->stop();
    } else if (const qint64 span = rangeSpanS(range)) {
        m_filter->setTimeRange(QDateTime::currentDateTime().addSecs(-span).toMSecsSinceEpoch() * 1000, 0);
        m_rangeTick->start();
    } else {
        m_filter->setTimeRange(0, 0);
        m_rangeTick->stop();
    }
    m_filter->setSearchText(m_search->text());

    const bool active = mask || m_flowFilter->currentIndex() > 0 || !range.isEmpty()
        || !m_search->text().trimmed().isEmpty();
    m_clearFilters->setVisible(active);
    m_clearFilters->setEnabled(active);
    if (active)
        expandContextRows();
    if (m_restoring)
        return;
    appsettings::RunsFilter saved;
    saved.states = stateNames;
    saved.flow = m_flowFilter->currentData().toString();
    saved.range = range;
    saved.from = m_from->dateTime();
    saved.to = m_to->dateTime();
    saved.search = m_search->text();
    appsettings::setRunsFilter(saved);
}

} // namespace flowdeck
