#include "pages/healthpage.h"

#include "context/appcontext.h"
#include "models/stallmodel.h"
#include "pages/trendspanel.h"
#include "run/engine.h"
#include "style/statestyle.h"
#include "widgets/progresswidget.h"
#include "widgets/sparklinewidget.h"

#include <QFormLayout>
#include <QGridLayout>
#include <QGroupBox>
#include <QHeaderView>
#include <QLabel>
#include <QScrollArea>
#include <QTabWidget>
#include <QTableView>
#include <QVBoxLayout>

namespace flowdeck {

namespace {

QLabel* figure(QWidget* parent)
{
    auto* label = new QLabel(parent);
    label->setTextInteractionFlags(Qt::TextSelectableByMouse);
    QFont font = label->font();
    font.setBold(true);
    label->setFont(font);
    return label;
}

QString ms(double value)
{
    return HealthPage::tr("%1 ms").arg(value, 0, 'f', value < 10 ? 2 : 1);
}

} // namespace

HealthPage::HealthPage(AppContext* context, QWidget* parent)
    : QWidget(parent)
    , m_context(context)
    , m_stalls(new StallModel(context, this))
    , m_sparkline(new SparklineWidget(this))
    , m_stallView(new QTableView(this))
{
    setObjectName(QStringLiteral("healthPage"));

    QGroupBox* loop = makeLoopGroup();
    QGroupBox* pool = makePoolGroup();
    QGroupBox* database = makeDatabaseGroup();
    QGroupBox* states = makeStatesGroup();
    QGroupBox* stallsBox = makeStallsGroup();

    // The figures scroll on a small screen rather than setting the window's minimum height.
    auto* content = new QWidget(this);
    auto* layout = new QGridLayout(content);
    layout->addWidget(loop, 0, 0);
    layout->addWidget(pool, 0, 1);
    layout->addWidget(states, 1, 0);
    layout->addWidget(database, 1, 1);
    layout->addWidget(stallsBox, 2, 0, 1, 2);
    layout->setColumnStretch(0, 3);
    layout->setColumnStretch(1, 2);
    layout->setRowStretch(2, 1);
    auto scrolling = [this](QWidget* widget) {
        auto* scroll = new QScrollArea(this);
        scroll->setFrameShape(QFrame::NoFrame);
        scroll->setWidgetResizable(true);
        scroll->setWidget(widget);
        return scroll;
    };
    // What the engine says now, and in a tab of its own what the stored runs say over the last day or
    // week: one click (or Ctrl+Tab) away instead of under the stalls at the bottom of a long page.
    m_tabs = new QTabWidget(this);
    m_tabs->setObjectName(QStringLiteral("healthTabs"));
    m_tabs->setDocumentMode(true);
    m_tabs->addTab(scrolling(content), tr("&Now"));
    m_trends = new TrendsPanel(context, this);
    m_tabs->addTab(scrolling(m_trends), tr("&Trends"));
    m_tabs->setTabToolTip(0,
                          tr("Event-loop lag, the thread and database pools, task runs by state and "
                             "the stalls"));
    m_tabs->setTabToolTip(1,
                          tr("Flow runs per hour by end state, the slowest and most failing flows and "
                             "tasks, and task durations, from the stored runs"));
    auto* outer = new QVBoxLayout(this);
    outer->setContentsMargins(0, 0, 0, 0);
    outer->addWidget(m_tabs);

    connect(context, &AppContext::pulse, this, [this] {
        if (isVisible())
            refresh();
    });
    refresh();
}

QGroupBox* HealthPage::makeLoopGroup()
{
    auto* loop = new QGroupBox(tr("Event loop"), this);
    auto* loopLayout = new QGridLayout(loop);
    m_lagNow = figure(loop);
    m_lagP50 = figure(loop);
    m_lagP99 = figure(loop);
    m_lagMax = figure(loop);
    const QList<std::pair<QString, QLabel*>> lagFigures{{tr("Lag now"), m_lagNow},
                                                        {tr("p50 (1 min)"), m_lagP50},
                                                        {tr("p99 (1 min)"), m_lagP99},
                                                        {tr("Max (1 min)"), m_lagMax}};
    const QString lagMeaning = tr("How late the loop's 10 ms heartbeat ran: how long a click, a repaint or a "
                                  "timer waited. Stalls back to back add up here.");
    for (int i = 0; i < lagFigures.size(); ++i) {
        auto* name = new QLabel(lagFigures[i].first, loop);
        name->setToolTip(lagMeaning);
        lagFigures[i].second->setToolTip(lagMeaning);
        loopLayout->addWidget(name, 0, i);
        loopLayout->addWidget(lagFigures[i].second, 1, i);
    }
    loopLayout->addWidget(m_sparkline, 2, 0, 1, 4);
    m_stallSummary = new QLabel(loop);
    m_stallSummary->setWordWrap(true);
    loopLayout->addWidget(m_stallSummary, 3, 0, 1, 4);
    return loop;
}

QGroupBox* HealthPage::makePoolGroup()
{
    auto* pool = new QGroupBox(tr("Blocking thread pool"), this);
    auto* poolLayout = new QFormLayout(pool);
    m_poolBusy = figure(pool);
    m_poolQueued = figure(pool);
    m_poolCompleted = figure(pool);
    m_poolBar = new ProgressWidget(pool);
    m_poolBar->setObjectName(QStringLiteral("poolBar"));
    m_poolBar->setFormat(tr("%v of %m threads busy"));
    poolLayout->addRow(tr("Busy / threads:"), m_poolBusy);
    poolLayout->addRow(m_poolBar);
    poolLayout->addRow(tr("Queued:"), m_poolQueued);
    poolLayout->addRow(tr("Completed:"), m_poolCompleted);
    return pool;
}

QGroupBox* HealthPage::makeDatabaseGroup()
{
    auto* database = new QGroupBox(tr("Database pool"), this);
    database->setObjectName(QStringLiteral("databasePoolGroup"));
    auto* databaseLayout = new QVBoxLayout(database);
    m_database = new QLabel(database);
    m_database->setObjectName(QStringLiteral("databaseLocationLabel"));
    m_database->setWordWrap(true);
    m_database->setTextInteractionFlags(Qt::TextSelectableByMouse);
    databaseLayout->addWidget(m_database);
    m_dbFigures = new QWidget(database);
    auto* dbForm = new QFormLayout(m_dbFigures);
    dbForm->setContentsMargins(0, 0, 0, 0);
    m_dbCheckedOut = figure(m_dbFigures);
    m_dbCheckedOut->setObjectName(QStringLiteral("dbCheckedOut"));
    m_dbOverflow = figure(m_dbFigures);
    m_dbWaiters = figure(m_dbFigures);
    m_dbTimeouts = figure(m_dbFigures);
    m_dbWaitP99 = figure(m_dbFigures);
    m_dbBar = new ProgressWidget(m_dbFigures);
    m_dbBar->setObjectName(QStringLiteral("dbPoolBar"));
    m_dbBar->setFormat(tr("%v of %m connections checked out"));
    dbForm->addRow(tr("Checked out / size:"), m_dbCheckedOut);
    dbForm->addRow(m_dbBar);
    dbForm->addRow(tr("Overflow in use / max:"), m_dbOverflow);
    dbForm->addRow(tr("Waiting for a connection:"), m_dbWaiters);
    dbForm->addRow(tr("Timeouts:"), m_dbTimeouts);
    dbForm->addRow(tr("Wait p99:"), m_dbWaitP99);
    databaseLayout->addWidget(m_dbFigures);
    databaseLayout->addStretch(1);
    return database;
}

QGroupBox* HealthPage::makeStatesGroup()
{
    auto* states = new QGroupBox(tr("Task runs by state (flow runs not finished)"), this);
    auto* statesLayout = new QGridLayout(states);
    for (int t = 0; t < StateTypeCount; ++t) {
        const auto type = StateType(t);
        auto* name = new QLabel(QStringLiteral("<span style=\"color:%1\">●</span> %2")
                                    .arg(stateColor(type).name(), stateLabel(type).toHtmlEscaped()),
                                states);
        m_stateCounts[size_t(t)] = figure(states);
        m_stateCounts[size_t(t)]->setAlignment(Qt::AlignRight | Qt::AlignVCenter);
        statesLayout->addWidget(name, t % 5, (t / 5) * 2);
        statesLayout->addWidget(m_stateCounts[size_t(t)], t % 5, (t / 5) * 2 + 1);
    }
    statesLayout->setColumnStretch(1, 1);
    statesLayout->setColumnStretch(3, 1);
    return states;
}

QGroupBox* HealthPage::makeStallsGroup()
{
    auto* stallsBox = new QGroupBox(tr("Recent stalls"), this);
    auto* stallsLayout = new QVBoxLayout(stallsBox);
    m_stallView->setObjectName(QStringLiteral("stallsView"));
    m_stallView->setModel(m_stalls);
    m_stallView->setAlternatingRowColors(true);
    m_stallView->setSelectionBehavior(QAbstractItemView::SelectRows);
    m_stallView->verticalHeader()->hide();
    m_stallView->verticalHeader()->setSectionResizeMode(QHeaderView::Fixed);
    m_stallView->verticalHeader()->setDefaultSectionSize(m_stallView->fontMetrics().height() + 8);
    m_stallView->horizontalHeader()->setStretchLastSection(true);
    m_stallView->horizontalHeader()->resizeSection(StallModel::TimeColumn, 110);
    m_stallView->horizontalHeader()->resizeSection(StallModel::DurationColumn, 100);
    m_stallView->horizontalHeader()->resizeSection(StallModel::TaskColumn, 200);
    stallsLayout->addWidget(m_stallView);
    // What the figures mean, and the remedy the task run's log line gives.
    m_loopNote = new QLabel(tr("A stall is one stretch of time one task run (or none) kept the event loop "
                               "blocked. Lag is how late the loop's heartbeat ran: when stalls follow each "
                               "other without a break, the lag adds them up and can be longer than any one "
                               "stall. %1 Double-click a stall (or press Enter) to open its run.")
                                .arg(StallModel::remedy()),
                            stallsBox);
    m_loopNote->setObjectName(QStringLiteral("loopNote"));
    m_loopNote->setWordWrap(true);
    stallsLayout->addWidget(m_loopNote);
    connect(m_stallView, &QAbstractItemView::activated, this, [this](const QModelIndex& index) {
        const StallRecord* stall = m_stalls->stallAt(index.row());
        if (!stall)
            return;
        if (FlowRun* run = m_stalls->flowRunOf(*stall))
            Q_EMIT openTaskRun(run, stall->taskRunId);
    });
    return stallsBox;
}

HealthPage::~HealthPage() = default;

void HealthPage::showEvent(QShowEvent* event)
{
    refresh();
    QWidget::showEvent(event);
}

void HealthPage::refresh()
{
    const LagStats lag = m_context->lagStats();
    m_lagNow->setText(ms(lag.now));
    m_lagP50->setText(ms(lag.p50));
    m_lagP99->setText(ms(lag.p99));
    m_lagMax->setText(ms(lag.max));
    const int threshold = m_context->loopLagThresholdMs();
    m_sparkline->setValues(m_context->lagPerSecond(), threshold);
    const LoopMonitor& monitor = m_context->engine().loopMonitor();
    const quint64 stalls = monitor.stallCount();
    QString summary = tr("Stall threshold %1 ms. ").arg(threshold);
    if (stalls == 0 && m_stalls->rowCount() > 0)
        summary += tr("No stall since start; the stalls listed are of earlier sessions.");
    else if (stalls == 0)
        summary += tr("No stall since start.");
    else if (stalls == 1)
        summary += tr("1 stall since start, %1 blocked.").arg(formatDuration(monitor.stallTotalUs()));
    else
        summary += tr("%1 stalls since start, %2 blocked in all.")
                       .arg(stalls)
                       .arg(formatDuration(monitor.stallTotalUs()));
    m_stallSummary->setText(summary);

    const BlockingPoolStats pool = m_context->blockingPoolStats();
    m_poolBusy->setText(tr("%1 / %2").arg(pool.busy).arg(pool.maxThreads));
    m_poolQueued->setText(QString::number(pool.queued));
    m_poolCompleted->setText(QString::number(pool.completed));
    m_poolBar->setMaximum(std::max(1, pool.maxThreads));
    m_poolBar->setValue(std::min(pool.busy, pool.maxThreads));

    const auto counts = m_context->activeTaskRunCounts();
    for (int t = 0; t < StateTypeCount; ++t)
        m_stateCounts[size_t(t)]->setText(QString::number(counts[size_t(t)]));

    switch (m_context->database().state()) {
    case DatabaseState::Open:
        if (const QString failure = m_context->database().writeFailure(); !failure.isEmpty()) {
            m_database->setText(tr("Cannot write to %1: %2. Flow runs of this app were stopped and new ones "
                                   "cannot start; what was saved can still be read. Free space, then click "
                                   "Retry in the status bar.")
                                    .arg(m_context->database().description(), failure));
            break;
        }
        m_database->setText(m_context->database().description());
        break;
    case DatabaseState::Opening:
        m_database->setText(tr("Opening %1…").arg(m_context->database().description()));
        break;
    case DatabaseState::Failed:
        m_database->setText(
            tr("Not available: %1. Flow runs are not saved.").arg(m_context->database().errorText()));
        break;
    case DatabaseState::None:
        m_database->setText(tr("No database: flow runs are kept in memory for the session."));
        break;
    }
    QPalette databasePalette = m_database->palette();
    databasePalette.setColor(QPalette::WindowText,
                             m_context->database().writeFailure().isEmpty()
                                 ? palette().color(QPalette::WindowText)
                                 : stateColor(StateType::Failed));
    m_database->setPalette(databasePalette);
    m_dbFigures->setVisible(m_context->database().isOpen());
    if (m_context->database().isOpen()) {
        const PoolMetrics db = m_context->database().poolMetrics();
        m_dbCheckedOut->setText(tr("%1 / %2").arg(db.checkedOut).arg(db.poolSize));
        m_dbOverflow->setText(tr("%1 / %2").arg(db.overflowInUse).arg(db.maxOverflow));
        m_dbWaiters->setText(QString::number(db.waiters));
        m_dbTimeouts->setText(QString::number(db.timeouts));
        m_dbWaitP99->setText(ms(db.waitP99Ms));
        m_dbBar->setMaximum(std::max(1, db.poolSize + db.maxOverflow));
        m_dbBar->setValue(std::min(db.checkedOut, db.poolSize + db.maxOverflow));
    }
}

QString HealthPage::databaseText() const
{
    if (!m_dbFigures->isVisibleTo(this))
        return m_database->text();
    return QStringList{m_database->text(),  m_dbCheckedOut->text(), m_dbOverflow->text(),
                       m_dbWaiters->text(), m_dbTimeouts->text(),   m_dbWaitP99->text()}
        .join(QStringLiteral(" | "));
}

void HealthPage::showView(View view)
{
    m_tabs->setCurrentIndex(view == View::Trends ? 1 : 0);
}

HealthPage::View HealthPage::view() const
{
    return m_tabs->currentIndex() == 1 ? View::Trends : View::Now;
}

} // namespace flowdeck
