#include "pages/concurrencypage.h"

#include "context/appcontext.h"
#include "models/concurrencymodel.h"
#include "models/globallimitsmodel.h"
#include "run/engine.h"
#include "run/flowrun.h"
#include "style/statestyle.h"
#include "widgets/columnfitter.h"
#include "widgets/limitseditor.h"
#include "widgets/occupancychart.h"

#include <QFontMetrics>
#include <QGroupBox>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QItemSelectionModel>
#include <QLabel>
#include <QLineEdit>
#include <QPushButton>
#include <QScrollArea>
#include <QSet>
#include <QSplitter>
#include <QTableView>
#include <QTableWidget>
#include <QTimer>
#include <QVBoxLayout>

namespace flowdeck {

namespace {

enum DetailColumn { FlowColumn, TaskColumn, StateColumn, SinceColumn, WhereColumn, DetailColumnCount };

QTableWidget* detailTable(const QString& name, QWidget* parent)
{
    auto* table = new QTableWidget(0, DetailColumnCount, parent);
    table->setObjectName(name);
    table->setHorizontalHeaderLabels({ConcurrencyPage::tr("Flow run"), ConcurrencyPage::tr("Task run"),
                                      ConcurrencyPage::tr("State"), ConcurrencyPage::tr("Since"),
                                      ConcurrencyPage::tr("Process")});
    table->setEditTriggers(QAbstractItemView::NoEditTriggers);
    table->setSelectionBehavior(QAbstractItemView::SelectRows);
    table->setAlternatingRowColors(true);
    table->verticalHeader()->hide();
    table->verticalHeader()->setSectionResizeMode(QHeaderView::Fixed);
    table->verticalHeader()->setDefaultSectionSize(table->fontMetrics().height() + 8);
    // The flow run's name takes what is left, so the table fits its half of the page without a
    // horizontal scroll bar; the others are sized for their usual contents (and can be dragged).
    QHeaderView* header = table->horizontalHeader();
    header->setMinimumSectionSize(40);
    header->setSectionResizeMode(FlowColumn, QHeaderView::Stretch);
    const QFontMetrics fm = table->fontMetrics();
    header->resizeSection(TaskColumn, fm.horizontalAdvance(QStringLiteral("fanout[0000]")) + 16);
    header->resizeSection(StateColumn, fm.horizontalAdvance(QStringLiteral("AwaitingConcurrencySlot")) + 16);
    header->resizeSection(SinceColumn, fm.horizontalAdvance(QStringLiteral("00:00:00")) + 16);
    header->resizeSection(WhereColumn, fm.horizontalAdvance(QStringLiteral("this one")) + 16);
    // Half a narrow page is too little for all five: the process and the time go first.
    new ColumnFitter(table, name, {WhereColumn, SinceColumn});
    return table;
}

void setRow(QTableWidget* table, int row, const QStringList& cells)
{
    for (int c = 0; c < DetailColumnCount; ++c) {
        QTableWidgetItem* item = table->item(row, c);
        if (!item) {
            item = new QTableWidgetItem;
            table->setItem(row, c, item);
        }
        if (item->text() != cells.value(c))
            item->setText(cells.value(c));
    }
}

QString label(const LimitRunRow& run)
{
    return taskRunLabel(run.task, run.mapIndex);
}

} // namespace

ConcurrencyPage::ConcurrencyPage(AppContext* context, QWidget* parent)
    : QWidget(parent)
    , m_context(context)
    , m_editor(new LimitsEditor(context, false, this))
    , m_detailTitle(new QLabel(this))
    , m_database(new QLabel(this))
    , m_tagReset(new QPushButton(tr("Reset"), this))
    , m_tagStatus(new QLabel(this))
    , m_holders(detailTable(QStringLiteral("holdersView"), this))
    , m_waiters(detailTable(QStringLiteral("waitersView"), this))
    , m_detailTimer(new QTimer(this))
    , m_globalModel(new GlobalLimitsModel(context, this))
    , m_globalView(new QTableView(this))
    , m_globalName(new QLineEdit(this))
    , m_globalLimit(new QLineEdit(this))
    , m_globalDecay(new QLineEdit(this))
    , m_globalAdd(new QPushButton(tr("Add"), this))
    , m_globalDelete(new QPushButton(tr("Delete"), this))
    , m_globalReset(new QPushButton(tr("Reset"), this))
    , m_globalStatus(new QLabel(this))
    , m_chart(new OccupancyChart(this))
    , m_chartTimer(new QTimer(this))
{
    setObjectName(QStringLiteral("concurrencyPage"));
    m_database->setObjectName(QStringLiteral("concurrencyDatabase"));
    m_database->setWordWrap(true);
    m_database->setForegroundRole(QPalette::PlaceholderText);
    m_detailTitle->setObjectName(QStringLiteral("tagDetailTitle"));
    m_detailTitle->setTextFormat(Qt::RichText);

    QWidget* limits = makeLimitsPanel();
    QWidget* global = makeGlobalPanel();
    QWidget* details = makeDetailsPanel();

    auto* splitter = new QSplitter(Qt::Vertical, this);
    splitter->setChildrenCollapsible(false);
    splitter->addWidget(limits);
    splitter->addWidget(global);
    splitter->addWidget(details);
    splitter->setStretchFactor(0, 1);
    splitter->setStretchFactor(1, 1);
    splitter->setStretchFactor(2, 1);
    // Three panels do not fit a small screen (900x600, or 1920x1080 at scale 2) at their smallest: the
    // page scrolls instead of making the window taller than the screen.
    auto* scroll = new QScrollArea(this);
    scroll->setFrameShape(QFrame::NoFrame);
    scroll->setWidgetResizable(true);
    scroll->setHorizontalScrollBarPolicy(Qt::ScrollBarAsNeeded);
    scroll->setWidget(splitter);
    auto* layout = new QVBoxLayout(this);
    layout->setContentsMargins(0, 0, 0, 0);
    layout->addWidget(scroll);

    m_detailTimer->setSingleShot(true);
    m_detailTimer->setInterval(AppContext::TickIntervalMs);
    connect(m_detailTimer, &QTimer::timeout, this, &ConcurrencyPage::refreshDetails);
    connect(m_editor, &LimitsEditor::currentTagChanged, this, [this](const QString& tag) {
        m_detailGlobal.clear();
        m_inspected = LimitRow{};
        m_inspected.tag = tag;
        if (!tag.isEmpty())
            m_context->limits().inspect(tag);
        refreshDetails();
    });
    connect(model(), &ConcurrencyModel::refreshed, this, [this] {
        // Until the user picks a tag, the busiest one is shown.
        if (m_editor->currentTag().isEmpty() && m_detailGlobal.isEmpty() && model()->rowCount() > 0) {
            int busiest = 0;
            for (int r = 1; r < model()->rowCount(); ++r) {
                if (model()->rowAt(r)->active + model()->rowAt(r)->waiting
                    > model()->rowAt(busiest)->active + model()->rowAt(busiest)->waiting)
                    busiest = r;
            }
            if (model()->rowAt(busiest)->active > 0)
                selectTag(model()->rowAt(busiest)->tag);
        }
        scheduleDetails();
    });
    connect(&context->limits(), &TagLimits::changed, this, [this] {
        const QString tag = m_editor->currentTag();
        if (!tag.isEmpty() && isVisible())
            m_context->limits().inspect(tag);
    });
    connect(&context->limits(), &TagLimits::inspected, this, [this](const QString& tag, const LimitRow& row) {
        if (tag != m_editor->currentTag())
            return;
        m_inspected = row;
        scheduleDetails();
    });
    connect(&context->database(), &DatabaseConnection::stateChanged, this, &ConcurrencyPage::refreshDetails);
    connect(m_globalView->selectionModel(), &QItemSelectionModel::currentRowChanged, this, [this] {
        const QString name = currentGlobal();
        if (name.isEmpty())
            return;
        m_detailGlobal = name;
        m_inspectedGlobal = GlobalLimitRow{};
        m_inspectedGlobal.name = name;
        m_context->globalLimits().inspect(name);
        refreshDetails();
    });
    connect(&context->globalLimits(), &GlobalLimits::changed, this, [this] {
        if (!m_detailGlobal.isEmpty() && isVisible())
            m_context->globalLimits().inspect(m_detailGlobal);
        scheduleDetails();
    });
    connect(&context->globalLimits(), &GlobalLimits::inspected, this,
            [this](const QString& name, const GlobalLimitRow& row) {
                if (name != m_detailGlobal)
                    return;
                m_inspectedGlobal = row;
                scheduleDetails();
            });
    connect(m_globalModel, &GlobalLimitsModel::dataChanged, this, &ConcurrencyPage::scheduleDetails);
    refreshDetails();
}

void ConcurrencyPage::selectGlobal(const QString& name)
{
    const int row = m_globalModel->rowOf(name);
    if (row >= 0)
        m_globalView->setCurrentIndex(m_globalModel->index(row, GlobalLimitsModel::NameColumn));
}

QWidget* ConcurrencyPage::makeLimitsPanel()
{
    auto* limits = new QWidget(this);
    auto* limitsLayout = new QVBoxLayout(limits);
    limitsLayout->setContentsMargins(8, 6, 8, 0);
    auto* intro = new QLabel(tr("<b>Tag concurrency limits</b>: a task run with a limited tag runs only "
                                "while it holds a slot. Double-click a limit to change it."),
                             limits);
    intro->setToolTip(tr("A task run with a limited tag runs only while it holds one of the tag's slots; "
                         "the others wait in line, in the order they asked."));
    intro->setWordWrap(true); // the page fits a narrow window
    limitsLayout->addWidget(intro);
    limitsLayout->addWidget(m_editor, 1);

    // Slots of task runs that died without giving them back (a killed process) are freed by their
    // lease; Reset frees them now, as `flowdeck concurrency-limit reset TAG` does.
    m_tagReset->setObjectName(QStringLiteral("tagResetButton"));
    m_tagReset->setToolTip(
        tr("Free the selected tag's slots held by task runs that no longer run (in the database)"));
    m_tagStatus->setObjectName(QStringLiteral("tagStatus"));
    m_tagStatus->setWordWrap(true);
    auto* resetRow = new QHBoxLayout;
    resetRow->addWidget(m_tagStatus, 1);
    resetRow->addWidget(m_tagReset);
    limitsLayout->addLayout(resetRow);
    connect(m_tagReset, &QPushButton::clicked, this, [this] {
        if (const QString tag = m_editor->currentTag(); !tag.isEmpty() && m_context->limits().reset(tag))
            m_tagStatus->setText(tr("Resetting tag \"%1\"…").arg(tag));
    });
    connect(&m_context->limits(), &TagLimits::wasReset, this, [this](const QString& tag, int freed) {
        m_tagStatus->setText(freed < 0 ? tr("Tag \"%1\" has no limit.").arg(tag)
                                       : tr("Freed %n slot row(s) of tag \"%1\" held by task runs that no "
                                            "longer run.",
                                            nullptr, freed)
                                             .arg(tag));
    });
    const auto updateReset = [this] {
        m_tagReset->setEnabled(!m_editor->currentTag().isEmpty() && m_context->database().store());
    };
    connect(m_editor, &LimitsEditor::currentTagChanged, this, updateReset);
    connect(&m_context->database(), &DatabaseConnection::stateChanged, this, updateReset);
    updateReset();

    limitsLayout->addWidget(m_database);
    return limits;
}

QWidget* ConcurrencyPage::makeGlobalPanel()
{
    auto* panel = new QWidget(this);
    auto* layout = new QVBoxLayout(panel);
    layout->setContentsMargins(8, 6, 8, 0);
    auto* intro = new QLabel(tr("<b>Global concurrency and rate limits</b>: a task (or flow) run occupies "
                                "them with \"concurrency\"; a rate limit's slots decay. Double-click a "
                                "limit or decay to change it; the check box enables or disables it."),
                             panel);
    intro->setWordWrap(true);
    layout->addWidget(intro);

    m_globalView->setObjectName(QStringLiteral("globalLimitsView"));
    m_globalView->setModel(m_globalModel);
    m_globalView->setSelectionBehavior(QAbstractItemView::SelectRows);
    m_globalView->setSelectionMode(QAbstractItemView::SingleSelection);
    m_globalView->setAlternatingRowColors(true);
    m_globalView->verticalHeader()->hide();
    m_globalView->horizontalHeader()->setStretchLastSection(true);
    m_globalView->horizontalHeader()->setSectionResizeMode(GlobalLimitsModel::NameColumn,
                                                           QHeaderView::Stretch);
    m_globalView->setEditTriggers(QAbstractItemView::DoubleClicked | QAbstractItemView::EditKeyPressed);
    layout->addWidget(m_globalView, 1);

    m_globalName->setObjectName(QStringLiteral("globalNameEdit"));
    m_globalName->setPlaceholderText(tr("name"));
    m_globalLimit->setObjectName(QStringLiteral("globalLimitEdit"));
    m_globalLimit->setPlaceholderText(tr("limit"));
    m_globalDecay->setObjectName(QStringLiteral("globalDecayEdit"));
    m_globalDecay->setPlaceholderText(tr("decay per second (rate limit)"));
    m_globalAdd->setObjectName(QStringLiteral("globalAddButton"));
    m_globalDelete->setObjectName(QStringLiteral("globalDeleteButton"));
    m_globalReset->setObjectName(QStringLiteral("globalResetButton"));
    m_globalReset->setToolTip(tr("Free the slots held by runs that no longer run (in the database)"));
    auto* form = new QHBoxLayout;
    form->addWidget(m_globalName, 2);
    form->addWidget(m_globalLimit, 1);
    form->addWidget(m_globalDecay, 2);
    form->addWidget(m_globalAdd);
    form->addStretch();
    form->addWidget(m_globalReset);
    form->addWidget(m_globalDelete);
    layout->addLayout(form);
    m_globalStatus->setObjectName(QStringLiteral("globalStatus"));
    m_globalStatus->setWordWrap(true);
    layout->addWidget(m_globalStatus);
    layout->addWidget(m_chart);
    // Sampled from the model (already coalesced), once a second: the chart's minute of history.
    m_chartTimer->setInterval(1000);
    connect(m_chartTimer, &QTimer::timeout, this, [this] {
        QHash<QString, QPair<int, int>> sample;
        for (int r = 0; r < m_globalModel->rowCount(); ++r) {
            const GlobalLimitRow* row = m_globalModel->rowAt(r);
            sample.insert(row->name, {row->activeSlots, row->limit});
        }
        m_chart->addSample(sample);
    });
    m_chartTimer->start();

    connect(m_globalModel, &GlobalLimitsModel::invalidInput, m_globalStatus, &QLabel::setText);
    const auto add = [this] {
        GlobalLimitChange change;
        const QString name = m_globalName->text().trimmed();
        const QString error
            = GlobalLimits::validate(name, m_globalLimit->text(), m_globalDecay->text(), &change);
        if (!error.isEmpty()) {
            m_globalStatus->setText(error);
            return;
        }
        if (m_globalModel->rowOf(name) >= 0) {
            m_globalStatus->setText(
                tr("Global limit \"%1\" exists already: change it in the table.").arg(name));
            return;
        }
        m_globalStatus->clear();
        m_context->globalLimits().write(name, change, true);
        m_globalName->clear();
        m_globalLimit->clear();
        m_globalDecay->clear();
    };
    connect(m_globalAdd, &QPushButton::clicked, this, add);
    connect(m_globalName, &QLineEdit::returnPressed, this, add);
    connect(m_globalLimit, &QLineEdit::returnPressed, this, add);
    connect(m_globalDecay, &QLineEdit::returnPressed, this, add);
    connect(m_globalDelete, &QPushButton::clicked, this, [this] {
        if (const QString name = currentGlobal(); !name.isEmpty())
            m_context->globalLimits().remove(name);
    });
    connect(m_globalReset, &QPushButton::clicked, this, [this] {
        if (const QString name = currentGlobal(); !name.isEmpty())
            m_context->globalLimits().reset(name);
    });
    const auto updateButtons = [this] {
        const bool selected = !currentGlobal().isEmpty();
        m_globalDelete->setEnabled(selected);
        m_globalReset->setEnabled(selected && m_context->database().store());
    };
    connect(m_globalView->selectionModel(), &QItemSelectionModel::currentRowChanged, this, updateButtons);
    connect(m_globalModel, &QAbstractItemModel::rowsRemoved, this, updateButtons);
    connect(&m_context->database(), &DatabaseConnection::stateChanged, this, updateButtons);
    updateButtons();
    return panel;
}

QString ConcurrencyPage::currentGlobal() const
{
    const GlobalLimitRow* row = m_globalModel->rowAt(m_globalView->currentIndex().row());
    return row ? row->name : QString();
}

QWidget* ConcurrencyPage::makeDetailsPanel()
{
    auto* holdersBox = new QGroupBox(tr("Holding slots"), this);
    auto* holdersLayout = new QVBoxLayout(holdersBox);
    holdersLayout->addWidget(m_holders);
    auto* waitersBox = new QGroupBox(tr("Waiting, in queue order"), this);
    auto* waitersLayout = new QVBoxLayout(waitersBox);
    waitersLayout->addWidget(m_waiters);
    auto* details = new QWidget(this);
    auto* detailsLayout = new QVBoxLayout(details);
    detailsLayout->setContentsMargins(8, 0, 8, 4);
    detailsLayout->addWidget(m_detailTitle);
    auto* tables = new QHBoxLayout;
    tables->addWidget(holdersBox);
    tables->addWidget(waitersBox);
    detailsLayout->addLayout(tables, 1);
    return details;
}

ConcurrencyPage::~ConcurrencyPage() = default;

ConcurrencyModel* ConcurrencyPage::model() const
{
    return m_editor->model();
}

void ConcurrencyPage::selectTag(const QString& tag)
{
    const int row = model()->rowOf(tag);
    if (row < 0)
        return;
    m_editor->view()->setCurrentIndex(model()->index(row, ConcurrencyModel::TagColumn));
}

void ConcurrencyPage::showEvent(QShowEvent* event)
{
    model()->refresh();
    QWidget::showEvent(event);
}

void ConcurrencyPage::scheduleDetails()
{
    if (!m_detailTimer->isActive())
        m_detailTimer->start();
}

void ConcurrencyPage::refreshDetails()
{
    m_detailTimer->stop();
    switch (m_context->database().state()) {
    case DatabaseState::Open:
        m_database->setText(tr("Limits are stored in %1 and shared with every process using it; "
                               "counts include other processes' task runs.")
                                .arg(m_context->database().description()));
        break;
    case DatabaseState::Opening:
        m_database->setText(tr("Opening the database…"));
        break;
    default:
        m_database->setText(tr("No database: limits apply to this process only and are not stored."));
        break;
    }

    const ConcurrencyLimiter& limiter = m_context->engine().limiter();
    auto fill = [&](QTableWidget* table, const QList<TaskRun*>& local, const QList<LimitRunRow>& stored,
                    bool holding) {
        QList<QStringList> rows;
        QSet<QString> seen;
        for (const TaskRun* run : local) {
            seen.insert(run->id.toString());
            const qint64 since = holding
                ? run->startedUs
                : (run->history.empty() ? run->createdUs : run->history.back().timeUs);
            rows.append(
                {QStringLiteral("%1 (%2)").arg(run->flowRun->def.name, shortId(run->flowRun->id.toString())),
                 taskRunLabel(*run), toString(run->name), formatClock(since), tr("this one")});
        }
        for (const LimitRunRow& run : stored) {
            // This process's task runs are shown live from the limiter above, not as the store last saw them.
            if (seen.contains(run.taskRunId)
                || m_context->engine().findFlowRun(RunId::fromString(run.flowRunId))
                || m_context->engine().findFlowRun(RunId::fromString(run.taskRunId)))
                continue;
            rows.append({shortId(run.flowRunId.isEmpty() ? run.taskRunId : run.flowRunId),
                         run.task.isEmpty() ? tr("(flow run)") : label(run),
                         run.state.isEmpty() ? tr("unknown") : run.state,
                         run.sinceUs ? formatClock(run.sinceUs) : QString(), tr("another")});
        }
        table->setRowCount(int(rows.size()));
        for (int i = 0; i < rows.size(); ++i)
            setRow(table, i, rows[i]);
    };

    if (const GlobalLimitRow* global = m_globalModel->rowAt(m_globalModel->rowOf(m_detailGlobal))) {
        m_detailTitle->setText(
            tr("<b>%1</b> (global limit): %2 of %3 slots occupied%4, %5 waiting")
                .arg(m_detailGlobal.toHtmlEscaped())
                .arg(global->activeSlots)
                .arg(global->limit)
                .arg(global->decayingSlots > 0 ? tr(" (%1 decaying)").arg(global->decayingSlots) : QString())
                .arg(global->waiting));
        const bool inspected = m_inspectedGlobal.name == m_detailGlobal;
        fill(m_holders, limiter.globalHolders(m_detailGlobal),
             inspected ? m_inspectedGlobal.holders : QList<LimitRunRow>{}, true);
        fill(m_waiters, limiter.globalWaiters(m_detailGlobal),
             inspected ? m_inspectedGlobal.waiters : QList<LimitRunRow>{}, false);
        return;
    }

    const QString tag = m_editor->currentTag();
    const TagRow* row = model()->rowAt(model()->rowOf(tag));
    if (tag.isEmpty() || !row) {
        m_detailTitle->setText(
            tr("Select a tag or a global limit to see the runs holding and waiting for its slots."));
        m_holders->setRowCount(0);
        m_waiters->setRowCount(0);
        return;
    }
    m_detailTitle->setText(tr("<b>%1</b>: %2 of %3 slots in use, %4 waiting")
                               .arg(tag.toHtmlEscaped())
                               .arg(row->active)
                               .arg(row->limit)
                               .arg(row->waiting));

    fill(m_holders, limiter.holders(tag), m_inspected.tag == tag ? m_inspected.holders : QList<LimitRunRow>{},
         true);
    fill(m_waiters, limiter.waiters(tag), m_inspected.tag == tag ? m_inspected.waiters : QList<LimitRunRow>{},
         false);
}

} // namespace flowdeck
