#include "workerspage.h"

#include "appcontext.h"
#include "connectionpool.h"
#include "store.h"
#include "workermodel.h"
#include "workerqueries.h"

#include <QHeaderView>
#include <QLabel>
#include <QTableView>
#include <QTimer>
#include <QVBoxLayout>

#include <chrono>

namespace flowdeck {

namespace {

constexpr int RefreshMs = 1000;

qint64 wallUs()
{
    return std::chrono::duration_cast<std::chrono::microseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
}

} // namespace

WorkersPage::WorkersPage(AppContext* context, QWidget* parent)
    : QWidget(parent)
    , m_context(context)
    , m_model(new WorkerModel(this))
    , m_view(new QTableView(this))
    , m_summary(new QLabel(this))
    , m_timer(new QTimer(this))
{
    setObjectName(QStringLiteral("workersPage"));
    auto* layout = new QVBoxLayout(this);
    auto* title = new QLabel(tr("<b>Workers</b>"), this);
    layout->addWidget(title);
    m_summary->setObjectName(QStringLiteral("workersSummary"));
    m_summary->setWordWrap(true);
    m_summary->setTextInteractionFlags(Qt::TextSelectableByMouse);
    layout->addWidget(m_summary);
    m_view->setObjectName(QStringLiteral("workersView"));
    m_view->setModel(m_model);
    m_view->setSelectionBehavior(QAbstractItemView::SelectRows);
    m_view->setAlternatingRowColors(true);
    m_view->verticalHeader()->hide();
    m_view->horizontalHeader()->setStretchLastSection(true);
    m_view->horizontalHeader()->setSectionResizeMode(QHeaderView::ResizeToContents);
    layout->addWidget(m_view, 1);
    m_summary->setText(tr("Start workers with <tt>flowdeck worker --db URL</tt> and queue runs with "
                          "<tt>flowdeck submit FLOW --db URL</tt>."));
    m_timer->setInterval(RefreshMs);
    connect(m_timer, &QTimer::timeout, this, &WorkersPage::refresh);
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

void WorkersPage::refresh()
{
    if (m_loading)
        return;
    if (!m_context || !m_context->store()) {
        m_model->setRows({}, wallUs());
        m_summary->setText(tr("No database is open."));
        return;
    }
    m_loading = true;
    auto task = load(this);
}

QCoro::Task<> WorkersPage::load(QPointer<WorkersPage> self)
{
    QString problem;
    QList<workers::WorkerRow> rows;
    try {
        // On a database thread of the pool: the GUI thread only waits for the answer, never on SQL.
        auto reading
            = self->m_context->store()->pool().run([](QSqlDatabase& db) { return workers::listWorkers(db); });
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
    for (const workers::WorkerRow& r : rows)
        running += r.flowRunsRunning;
    self->m_summary->setText(tr("%1 worker(s) online, %2 flow run(s) running on workers, %3 queued. "
                                "Queue runs with <tt>flowdeck submit FLOW</tt>.")
                                 .arg(self->m_model->online())
                                 .arg(running)
                                 .arg(queued));
}

} // namespace flowdeck
