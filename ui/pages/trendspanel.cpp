#include "pages/trendspanel.h"

#include "context/appcontext.h"
#include "context/trends.h"
#include "widgets/trendswidget.h"

#include <QComboBox>
#include <QFileDialog>
#include <QHBoxLayout>
#include <QLabel>
#include <QTimer>
#include <QToolButton>
#include <QVBoxLayout>

namespace flowdeck {

namespace {

constexpr qint64 HourUs = 3'600'000'000LL;
constexpr int ClockRefreshMs = 60'000;

} // namespace

TrendsPanel::TrendsPanel(AppContext* context, QWidget* parent)
    : QGroupBox(tr("Trends (from the run store)"), parent)
    , m_context(context)
    , m_trends(new Trends(context->database(), this))
    , m_chart(new TrendsWidget(this))
    , m_window(new QComboBox(this))
    , m_refresh(new QTimer(this))
    , m_clock(new QTimer(this))
{
    setObjectName(QStringLiteral("trendsPanel"));
    m_chart->setObjectName(QStringLiteral("trendsChart"));
    m_window->setObjectName(QStringLiteral("trendsWindow"));
    m_window->addItem(tr("Last 24 hours"), 24);
    m_window->addItem(tr("Last 7 days"), 24 * 7);
    auto* png = new QToolButton(this);
    png->setText(tr("Export PNG…"));
    png->setObjectName(QStringLiteral("exportTrendsPng"));
    auto* csv = new QToolButton(this);
    csv->setText(tr("Export CSV…"));
    csv->setObjectName(QStringLiteral("exportTrendsCsv"));
    auto* bar = new QHBoxLayout;
    bar->addWidget(m_window);
    bar->addStretch(1);
    bar->addWidget(png);
    bar->addWidget(csv);
    auto* layout = new QVBoxLayout(this);
    layout->addLayout(bar);
    layout->addWidget(m_chart, 1);
    m_chart->setMinimumHeight(260);

    m_refresh->setSingleShot(true);
    m_refresh->setInterval(RefreshDelayMs);
    connect(m_refresh, &QTimer::timeout, this, &TrendsPanel::refresh);
    m_clock->setInterval(ClockRefreshMs);
    connect(m_clock, &QTimer::timeout, this, &TrendsPanel::scheduleRefresh);
    m_clock->start();
    connect(m_window, &QComboBox::currentIndexChanged, this, &TrendsPanel::refresh);
    connect(png, &QToolButton::clicked, this, &TrendsPanel::exportPng);
    connect(csv, &QToolButton::clicked, this, &TrendsPanel::exportCsv);
    connect(&context->database(), &DatabaseConnection::opened, this, &TrendsPanel::scheduleRefresh);
    connect(&context->history(), &RunHistory::historyChanged, this, &TrendsPanel::scheduleRefresh);
    connect(context, &AppContext::updated, this, [this](const UpdateBatch& batch) {
        if (!batch.finishedFlowRuns.empty())
            scheduleRefresh();
    });
    connect(m_trends, &Trends::loaded, this, [this](quint64 serial, const TrendsData& data) {
        if (serial != m_serial)
            return;
        m_chart->setData(data);
        // A task's durations: the one chosen, else the slowest.
        QString flow = m_chart->durationFlow();
        QString task = m_chart->durationTask();
        if (task.isEmpty() && !m_chart->slowestTasks().isEmpty()) {
            flow = m_chart->slowestTasks().first().flow;
            task = m_chart->slowestTasks().first().task;
        }
        if (!task.isEmpty())
            m_durationsSerial = m_trends->requestDurations(flow, task, DurationRuns);
    });
    connect(m_trends, &Trends::durationsLoaded, this,
            [this](quint64 serial, const QString& flow, const QString& task,
                   const QList<TaskDuration>& durations) {
                if (serial == m_durationsSerial)
                    m_chart->setDurations(flow, task, durations);
            });
    connect(m_trends, &Trends::failed, this, [this](const QString& error) {
        Q_EMIT m_context->message(tr("Cannot read the trends: %1").arg(error));
    });
    connect(m_chart, &TrendsWidget::taskChosen, this, [this](const QString& flow, const QString& task) {
        m_durationsSerial = m_trends->requestDurations(flow, task, DurationRuns);
    });
}

TrendsPanel::~TrendsPanel() = default;

void TrendsPanel::showEvent(QShowEvent* event)
{
    QGroupBox::showEvent(event);
    scheduleRefresh();
}

void TrendsPanel::scheduleRefresh()
{
    if (isVisible() && !m_refresh->isActive())
        m_refresh->start();
}

void TrendsPanel::refresh()
{
    const int hours = m_window->currentData().toInt();
    // Per hour over a day, per day over a week.
    const qint64 bucket = hours > 24 ? 24 * HourUs : HourUs;
    m_serial = m_trends->refresh(hours * HourUs, bucket);
}

void TrendsPanel::exportPng()
{
    auto* dialog = new QFileDialog(this, tr("Export Trends as PNG"), QStringLiteral("trends.png"),
                                   tr("PNG images (*.png)"));
    dialog->setAttribute(Qt::WA_DeleteOnClose);
    dialog->setAcceptMode(QFileDialog::AcceptSave);
    connect(dialog, &QFileDialog::fileSelected, this, [this](const QString& path) {
        QString error;
        Q_EMIT m_context->message(m_chart->exportPng(path, &error) ? tr("Saved %1").arg(path) : error);
    });
    dialog->open();
}

void TrendsPanel::exportCsv()
{
    auto* dialog = new QFileDialog(this, tr("Export Trends as CSV"), QStringLiteral("trends.csv"),
                                   tr("CSV files (*.csv)"));
    dialog->setAttribute(Qt::WA_DeleteOnClose);
    dialog->setAcceptMode(QFileDialog::AcceptSave);
    connect(dialog, &QFileDialog::fileSelected, this, [this](const QString& path) {
        QString error;
        Q_EMIT m_context->message(m_chart->exportCsv(path, &error) ? tr("Saved %1").arg(path) : error);
    });
    dialog->open();
}

} // namespace flowdeck
