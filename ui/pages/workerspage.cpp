#include "pages/workerspage.h"

#include "context/appcontext.h"
#include "models/workermodel.h"
#include "run/clock.h"
#include "widgets/columnfitter.h"

#include <QHeaderView>
#include <QLabel>
#include <QTableView>
#include <QTimer>
#include <QVBoxLayout>

namespace flowdeck {

namespace {

constexpr int RefreshMs = 1000;

} // namespace

WorkersPage::WorkersPage(AppContext* context, QWidget* parent)
    : QWidget(parent)
    , m_context(context)
    , m_model(new WorkerModel(this))
    , m_view(new QTableView(this))
    , m_summary(new QLabel(this))
    , m_empty(new QLabel(this))
    , m_timer(new QTimer(this))
{
    setObjectName(QStringLiteral("workersPage"));
    auto* layout = new QVBoxLayout(this);
    auto* title = new QLabel(tr("<b>Workers</b>"), this);
    layout->addWidget(title);
    m_summary->setObjectName(QStringLiteral("workersSummary"));
    m_summary->setWordWrap(true);
    m_summary->setTextFormat(Qt::PlainText);
    m_summary->setTextInteractionFlags(Qt::TextSelectableByMouse);
    layout->addWidget(m_summary);
    m_empty->setObjectName(QStringLiteral("workersEmptyState"));
    m_empty->setWordWrap(true);
    m_empty->setTextInteractionFlags(Qt::TextSelectableByMouse);
    m_empty->setAlignment(Qt::AlignCenter);
    m_empty->setMargin(24);
    m_empty->setFrameShape(QFrame::StyledPanel);
    m_empty->setVisible(false);
    layout->addWidget(m_empty);
    m_view->setObjectName(QStringLiteral("workersView"));
    m_view->setModel(m_model);
    m_view->setSelectionBehavior(QAbstractItemView::SelectRows);
    m_view->setAlternatingRowColors(true);
    m_view->verticalHeader()->hide();
    m_view->horizontalHeader()->setStretchLastSection(false);
    m_view->horizontalHeader()->setSectionResizeMode(QHeaderView::ResizeToContents);
    m_view->horizontalHeader()->setMinimumSectionSize(70);
    new ColumnFitter(m_view, QStringLiteral("workers"),
                     {WorkerModel::Host, WorkerModel::Pid, WorkerModel::BlockingPool, WorkerModel::LoopLag,
                      WorkerModel::Heartbeat, WorkerModel::FlowRuns});
    layout->addWidget(m_view, 1);
    m_summary->setText(tr("Worker processes sharing this database, as their heartbeats report them."));
    m_timer->setInterval(RefreshMs);
    connect(m_timer, &QTimer::timeout, this, &WorkersPage::refresh);
    // Shown before the database is open (at launch): read as soon as it is.
    connect(&context->database(), &DatabaseConnection::stateChanged, this, [this] {
        if (isVisible())
            refresh();
    });
}

WorkersPage::~WorkersPage() = default;

void WorkersPage::showEvent(QShowEvent* event)
{
    QWidget::showEvent(event);
    m_timer->start();
    refresh();
}

void WorkersPage::hideEvent(QHideEvent* event)
{
    QWidget::hideEvent(event);
    m_timer->stop();
}

void WorkersPage::showEmptyState()
{
    const bool empty = m_model->workerCount() == 0;
    m_empty->setVisible(empty);
    if (!empty)
        return;
    if (!m_context || !m_context->workers().isAvailable()) {
        m_empty->setText(tr("<p><b>No database is open.</b></p><p>Workers share a database with this app: "
                            "open one in Settings, then start workers on it.</p>"));
        return;
    }
    QString url = m_context->database().description();
    if (url.contains(QLatin1Char(' ')))
        url = QLatin1Char('\'') + url + QLatin1Char('\'');
    m_empty->setText(
        tr("<p><b>No worker has registered in this database yet.</b></p>"
           "<p>Start one, on this machine or on any other that reaches the database:</p>"
           "<p><tt>flowdeck worker --db %1</tt></p>"
           "<p>Then queue flow runs for it with <b>Start</b> → <i>Queue for a worker</i>, or with "
           "<tt>flowdeck submit FLOW.json --db %1</tt>. Several machines share one PostgreSQL "
           "database the same way.</p>")
            .arg(url.toHtmlEscaped()));
}

void WorkersPage::refresh()
{
    if (m_loading)
        return;
    if (!m_context || !m_context->workers().isAvailable()) {
        m_model->setRows({}, wallUs());
        m_summary->setText(tr("No database is open."));
        showEmptyState();
        return;
    }
    m_loading = true;
    m_model->setOwnEngineId(m_context->workers().ownEngineId());
    auto task = load(this);
}

QCoro::Task<> WorkersPage::load(QPointer<WorkersPage> self)
{
    QString problem;
    QList<workers::WorkerRow> rows;
    try {
        // On a database thread of the pool: the GUI thread goes on while the query runs.
        auto reading = self->m_context->workers().read();
        rows = co_await reading;
    } catch (const std::exception& e) {
        problem = QString::fromUtf8(e.what());
    }
    if (!self)
        co_return;
    self->m_loading = false;
    if (!problem.isEmpty()) {
        self->m_summary->setText(tr("Cannot read the workers: %1").arg(problem));
        co_return;
    }
    self->m_model->setRows(rows, wallUs());
    const int queued = rows.isEmpty() ? 0 : rows.first().queued;
    int running = 0;
    int capacity = 0;
    for (const workers::WorkerRow& r : rows) {
        if (r.kind != QLatin1String("worker"))
            continue;
        running += r.flowRunsRunning;
        capacity += r.maxFlowRuns;
    }
    // Every engine the table lists as online is counted: workers (which claim queued runs) apart from
    // the processes that run their own flows, this app among them.
    const int workers = self->m_model->workerCount();
    const int online = self->m_model->online();
    QString summary = workers == 0
        ? tr("No worker registered: runs queued for a worker wait (%1 queued).").arg(queued)
        : tr("%1 of %2 worker(s) online, running %3 of at most %4 flow run(s); %5 queued.")
              .arg(online)
              .arg(workers)
              .arg(running)
              .arg(capacity)
              .arg(queued);
    summary += QLatin1Char(' ')
        + tr("%1 other engine(s) online that run their own flows (this app included).")
              .arg(self->m_model->onlineOthers());
    summary += QLatin1Char(' ') + tr("Database: %1.").arg(self->m_context->database().description());
    self->m_summary->setText(summary);
    self->showEmptyState();
}

} // namespace flowdeck
