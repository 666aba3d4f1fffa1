#include "models/limittablemodel.h"

#include "context/appcontext.h"

#include <QTimer>

namespace flowdeck {

LimitTableModel::LimitTableModel(AppContext* context, QObject* parent)
    : QAbstractTableModel(parent)
    , m_context(context)
    , m_timer(new QTimer(this))
{
    m_timer->setSingleShot(true);
    m_timer->setInterval(AppContext::TickIntervalMs);
    connect(m_timer, &QTimer::timeout, this, &LimitTableModel::refresh);
    // The figures arrive at most at display rate; the timer folds them into one refresh per tick.
    connect(context, &AppContext::updated, this, &LimitTableModel::scheduleRefresh);
    connect(&context->database(), &DatabaseConnection::stateChanged, this, &LimitTableModel::scheduleRefresh);
}

void LimitTableModel::refresh()
{
    m_timer->stop();
    reload();
    Q_EMIT refreshed();
}

void LimitTableModel::scheduleRefresh()
{
    if (!m_timer->isActive())
        m_timer->start();
}

} // namespace flowdeck
