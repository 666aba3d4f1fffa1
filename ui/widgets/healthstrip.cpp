#include "widgets/healthstrip.h"

#include "context/appcontext.h"
#include "run/clock.h"
#include "style/statestyle.h"

#include <QFrame>
#include <QHBoxLayout>
#include <QLabel>
#include <QMessageBox>
#include <QMouseEvent>
#include <QToolButton>

namespace flowdeck {

namespace {

QFrame* separator(QWidget* parent)
{
    auto* line = new QFrame(parent);
    line->setFrameShape(QFrame::VLine);
    line->setFrameShadow(QFrame::Sunken);
    return line;
}

QString poolTip()
{
    return HealthStrip::tr("Database pool: connections checked out / pool size, overflow in use, and jobs "
                           "waiting for a connection");
}

QString dot(StateType type)
{
    return QStringLiteral("<span style=\"color:%1\">●</span>").arg(stateColor(type).name());
}

} // namespace

HealthStrip::HealthStrip(AppContext* context, QWidget* parent)
    : QWidget(parent)
    , m_context(context)
    , m_pool(new QLabel(this))
    , m_database(new QLabel(this))
    , m_lag(new QLabel(this))
    , m_states(new QLabel(this))
    , m_failed(new QToolButton(this))
    , m_retry(new QToolButton(this))
{
    setObjectName(QStringLiteral("healthStrip"));
    auto* layout = new QHBoxLayout(this);
    layout->setContentsMargins(4, 0, 4, 0);
    layout->setSpacing(8);
    layout->addWidget(m_pool);
    m_poolSeparator = separator(this);
    layout->addWidget(m_poolSeparator);
    layout->addWidget(m_database);
    layout->addWidget(m_retry);
    layout->addWidget(separator(this));
    layout->addWidget(m_lag);
    layout->addWidget(separator(this));
    layout->addWidget(m_states);
    layout->addWidget(m_failed);
    // The strip keeps its room in the status bar; long status messages are elided instead.
    m_database->setObjectName(QStringLiteral("stripDatabase"));
    m_database->setTextFormat(Qt::RichText);
    m_database->setToolTip(poolTip());
    for (QLabel* label : {m_pool, m_database, m_lag, m_states})
        label->setSizePolicy(QSizePolicy::Minimum, QSizePolicy::Preferred);
    setSizePolicy(QSizePolicy::Minimum, QSizePolicy::Preferred);
    m_pool->setToolTip(tr("Blocking thread pool: bodies running / threads, and bodies waiting for a thread"));
    m_lag->setToolTip(
        tr("Event-loop lag now, and the largest over the last minute: how late the loop's heartbeat "
           "ran. Stalls back to back add up here, so it can exceed any one listed stall."));
    m_states->setToolTip(tr("Task runs of the flow runs that have not finished"));
    m_failed->setObjectName(QStringLiteral("stripFailures"));
    m_failed->setAutoRaise(true);
    m_failed->setToolButtonStyle(Qt::ToolButtonTextOnly);
    // As tall as the labels beside it: a button's frame would make the status bar, and so the
    // window's minimum height, taller.
    m_failed->setSizePolicy(QSizePolicy::Minimum, QSizePolicy::Ignored);
    m_failed->setCursor(Qt::PointingHandCursor);
    m_failed->setToolTip(tr("Flow runs that failed or crashed in the last hour, of this app and of the "
                            "processes sharing its database. Click to list them on the Runs page."));
    connect(m_failed, &QToolButton::clicked, this, &HealthStrip::failuresActivated);
    m_retry->setObjectName(QStringLiteral("stripRetry"));
    m_retry->setText(tr("Retry"));
    m_retry->setAutoRaise(true);
    m_retry->setToolButtonStyle(Qt::ToolButtonTextOnly);
    m_retry->setSizePolicy(QSizePolicy::Minimum, QSizePolicy::Ignored);
    m_retry->setToolTip(tr("Open the database again, once it has room (or choose another in Settings)"));
    m_retry->setVisible(false);
    connect(m_retry, &QToolButton::clicked, this, [this] {
        if (!m_context->database().reopen())
            Q_EMIT m_context->database().message(tr("The database is opening; try again in a moment"));
        refresh();
    });
    connect(&m_context->database(), &DatabaseConnection::writeFailed, this,
            &HealthStrip::announceWriteFailure);
    connect(&m_context->database(), &DatabaseConnection::stateChanged, this, &HealthStrip::refresh);
    m_states->setTextFormat(Qt::RichText);
    m_lag->setTextFormat(Qt::RichText);
    setCursor(Qt::PointingHandCursor);
    refresh();
}

HealthStrip::~HealthStrip() = default;

void HealthStrip::setCompact(bool compact)
{
    if (compact == m_compact)
        return;
    m_compact = compact;
    m_pool->setVisible(!compact);
    m_poolSeparator->setVisible(!compact);
}

int HealthStrip::fullWidthHint() const
{
    int width = sizeHint().width();
    if (m_compact)
        width += m_pool->sizeHint().width() + m_poolSeparator->sizeHint().width() + 2 * layout()->spacing();
    return width;
}

void HealthStrip::refresh()
{
    const BlockingPoolStats pool = m_context->blockingPoolStats();
    m_pool->setText(tr("Pool %1/%2 busy · %3 queued").arg(pool.busy).arg(pool.maxThreads).arg(pool.queued));

    const QString writeFailure = m_context->database().writeFailure();
    m_retry->setVisible(!writeFailure.isEmpty());
    switch (writeFailure.isEmpty() ? m_context->database().state() : DatabaseState::Failed) {
    case DatabaseState::Open: {
        const PoolMetrics db = m_context->database().poolMetrics();
        QString text = tr("DB %1/%2").arg(db.checkedOut).arg(db.poolSize);
        if (db.overflowInUse > 0)
            text += tr(" +%1").arg(db.overflowInUse);
        if (db.waiters > 0)
            text += QStringLiteral(" · <b style=\"color:%1\">%2</b>")
                        .arg(stateColor(StateType::Failed).name(),
                             tr("%1 waiting for a connection").arg(db.waiters));
        if (db.timeouts > 0)
            text += tr(" · %1 timeouts").arg(db.timeouts);
        m_database->setText(text);
        m_database->setToolTip(poolTip());
        break;
    }
    case DatabaseState::Opening:
        m_database->setText(tr("DB opening…"));
        break;
    case DatabaseState::Failed:
        // What happened in plain words: the failure's first part ("disk full").
        m_database->setText(
            QStringLiteral("<b style=\"color:%1\">%2</b>")
                .arg(stateColor(StateType::Failed).name(),
                     writeFailure.isEmpty()
                         ? tr("No database")
                         : tr("DB cannot write: %1")
                               .arg(writeFailure.section(QLatin1Char(':'), 0, 0).toHtmlEscaped())));
        m_database->setToolTip(
            writeFailure.isEmpty()
                ? m_context->database().errorText()
                : tr("Cannot write to %1: %2. Flow runs of this app were stopped and new ones "
                     "cannot start. Free space, then click Retry.")
                      .arg(m_context->database().description(), writeFailure));
        break;
    case DatabaseState::None:
        m_database->setText(tr("No database"));
        break;
    }

    const LagStats lag = m_context->lagStats();
    QString now = tr("%1 ms").arg(lag.now, 0, 'f', 1);
    if (lag.now >= m_context->loopLagThresholdMs())
        now = QStringLiteral("<b style=\"color:%1\">%2</b>").arg(stateColor(StateType::Failed).name(), now);
    m_lag->setText(tr("Lag %1 · max %2 ms (1 min)").arg(now).arg(lag.max, 0, 'f', 1));

    const auto counts = m_context->activeTaskRunCounts();
    auto count = [&](StateType t) { return counts[size_t(t)]; };
    const qint64 running = count(StateType::Running) + count(StateType::Cancelling);
    const qint64 waiting = count(StateType::Scheduled) + count(StateType::Pending) + count(StateType::Paused);
    m_states->setText(tr("%1 %2 running  %3 %4 waiting")
                          .arg(dot(StateType::Running))
                          .arg(running)
                          .arg(dot(StateType::Pending))
                          .arg(waiting));

    // Failures stay counted after their flow run ended: what a user looks for after a failure.
    const int failed = m_context->failedFlowRunsSince(wallUs() - FailureWindowUs);
    m_failed->setText(tr("%n failed in the last hour", nullptr, failed));
    QPalette palette = m_failed->palette();
    palette.setColor(QPalette::ButtonText,
                     failed > 0 ? stateColor(StateType::Failed)
                                : QWidget::palette().color(QPalette::WindowText));
    m_failed->setPalette(palette);
}

void HealthStrip::announceWriteFailure(const QString& failure)
{
    refresh();
    auto* box
        = new QMessageBox(QMessageBox::Critical, tr("Cannot write to the database"),
                          tr("The database %1 cannot be written: %2.\n\nThe flow runs of this app were "
                             "stopped (marked Crashed where the database still took it); what was saved "
                             "before stays. New runs cannot start until it is open again: free space, "
                             "then click Retry in the status bar.")
                              .arg(m_context->database().description(), failure),
                          QMessageBox::Ok, window());
    box->setObjectName(QStringLiteral("writeFailureBox"));
    box->setAttribute(Qt::WA_DeleteOnClose);
    // Not modal: the window goes on (reading, Settings, Retry); never a nested event loop.
    box->setWindowModality(Qt::NonModal);
    box->show();
}

QString HealthStrip::text() const
{
    return QStringList{m_pool->text(), m_database->text(), m_lag->text(), m_states->text(), m_failed->text()}
        .join(QStringLiteral(" | "));
}

void HealthStrip::mouseReleaseEvent(QMouseEvent* event)
{
    if (event->button() == Qt::LeftButton)
        Q_EMIT activated();
    QWidget::mouseReleaseEvent(event);
}

} // namespace flowdeck
