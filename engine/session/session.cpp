#include "session/session.h"

#include "session/enginelink.h"
#include "store/store.h"

#include <QCoreApplication>
#include <QPointer>
#include <QTimer>

#include <memory>
#include <utility>
#include <vector>

namespace flowdeck {

SessionError::SessionError(const QString& message)
    : std::runtime_error(message.toStdString())
{
}

Session::Session(Scheduler& scheduler, QObject* parent)
    : QObject(parent)
    , m_scheduler(scheduler)
{
}

Session::~Session()
{
    detach();
    // Its pool resumes an open() still waiting with PoolClosed as it goes: that open must not release
    // what the members' destructors are freeing.
    m_destroying = true;
}

double Session::slotLeaseSecondsFromEnvironment()
{
    static const double seconds = [] {
        bool ok = false;
        const double value = qEnvironmentVariable("FLOWDECK_SLOT_LEASE_S").toDouble(&ok);
        return ok && value > 0 ? value : 0.0;
    }();
    return seconds;
}

QString Session::description() const
{
    return m_pool ? m_pool->url().redacted() : QString();
}

QCoro::Task<RecoveryReport> Session::open(QString location, SessionOptions options)
{
    return openTask(this, std::move(location), options);
}

QCoro::Task<RecoveryReport> Session::openTask(QPointer<Session> self, QString location,
                                              SessionOptions options)
{
    QString error;
    const std::optional<DatabaseUrl> url = DatabaseUrl::fromCommandLine(location, &error);
    if (!url)
        throw SessionError(error);
    if (options.readOnly && (options.engine || options.registerEngine))
        throw SessionError(QStringLiteral("cannot open the database read-only for running flows"));
    options.pool.readOnly = options.pool.readOnly || options.readOnly;
    self->release();
    // Owned by the session from the start: if it goes while the database answers, they go with it
    // and this coroutine resumes with PoolClosed.
    self->m_pool = std::make_unique<ConnectionPool>(*url, options.pool);
    // Another open() may have replaced this pool meanwhile: a failure here releases only its own.
    const ConnectionPool* pool = self->m_pool.get();
    self->m_store = std::make_unique<Store>(*self->m_pool, self->m_scheduler);
    if (const double lease = slotLeaseSecondsFromEnvironment(); lease > 0)
        self->m_store->setSlotLeaseSeconds(lease);
    RecoveryReport report;
    try {
        auto opening = self->m_store->open(options.registerEngine || options.engine);
        report = co_await opening;
    } catch (const std::exception& e) {
        if (self && !self->m_destroying && self->m_pool.get() == pool)
            self->release();
        throw SessionError(QStringLiteral("cannot open the database %1: %2")
                               .arg(url->redacted(), QString::fromUtf8(e.what())));
    }
    if (!self || self->m_destroying || self->m_pool.get() != pool)
        throw SessionError(
            QStringLiteral("cannot open the database %1: closed while opening").arg(url->redacted()));
    self->m_open = true;
    if (options.engine) {
        auto attaching = self->attach(*options.engine);
        try {
            co_await attaching;
        } catch (const SessionError& e) {
            if (self && !self->m_destroying && self->m_pool.get() == pool)
                self->release();
            throw;
        }
    }
    co_return report;
}

QCoro::Task<> Session::attach(Engine& engine)
{
    detach();
    if (!m_store)
        throw SessionError(QStringLiteral("cannot attach an engine: the database is not open"));
    QPointer<Session> self(this);
    m_link = new EngineLink(*m_store, engine, this);
    const QPointer<EngineLink> link(m_link);
    const QString where = description();
    try {
        // The limits apply from the first task run on.
        auto refreshing = m_link->refreshLimits();
        co_await refreshing;
    } catch (const std::exception& e) {
        if (self && link && self->m_link == link)
            self->detach();
        throw SessionError(
            QStringLiteral("cannot open the database %1: %2").arg(where, QString::fromUtf8(e.what())));
    }
}

void Session::detach()
{
    delete m_link;
    m_link = nullptr;
}

QCoro::Task<> Session::refreshLimits()
{
    if (!m_link)
        co_return;
    auto refreshing = m_link->refreshLimits();
    co_await refreshing;
}

QCoro::Task<> Session::close()
{
    detach();
    if (!m_open)
        co_return;
    m_open = false;
    const QString where = description();
    try {
        auto closing = m_store->close();
        co_await closing;
    } catch (const std::exception& e) {
        throw SessionError(
            QStringLiteral("leaving the database %1: %2").arg(where, QString::fromUtf8(e.what())));
    }
}

//! Lets go of the pool and store. Destroyed from the event loop, never inside a pool callback (a
//! failed step resumes inside one).
namespace {

//! Stores and pools of closed sessions, freed from the event loop (never inside their own callbacks).
struct Released {
    std::shared_ptr<Store> store;
    std::shared_ptr<ConnectionPool> pool;
};

std::vector<Released>& pendingReleases()
{
    static std::vector<Released> pending;
    return pending;
}

} // namespace

void Session::freeReleased()
{
    for (Released& r : std::exchange(pendingReleases(), {})) {
        r.store.reset();
        r.pool.reset(); // joins its database threads
    }
}

void Session::release()
{
    detach();
    m_open = false;
    if (!m_store && !m_pool)
        return;
    std::shared_ptr<Store> store(std::move(m_store));
    std::shared_ptr<ConnectionPool> pool(std::move(m_pool));
    QCoreApplication* app = QCoreApplication::instance();
    if (!app)
        return; // released here, with no event loop to defer to
    pendingReleases().push_back({std::move(store), std::move(pool)});
    // Also before the application goes: a pool freed while it tears down its event queues crashes.
    static QPointer<QCoreApplication> hooked;
    if (hooked != app) {
        hooked = app;
        QObject::connect(app, &QCoreApplication::aboutToQuit, app, &Session::freeReleased);
        QObject::connect(app, &QObject::destroyed, &Session::freeReleased);
    }
    QTimer::singleShot(0, app, &Session::freeReleased);
}

} // namespace flowdeck
