#include "context/databaseconnection.h"

#include "context/appsettings.h"
#include "run/engine.h"
#include "store/databaseurl.h"
#include "store/store.h"

#include <QCoreApplication>
#include <QDeadlineTimer>
#include <QTimer>

#include <algorithm>

namespace flowdeck {

DatabaseConnection::DatabaseConnection(Engine& engine, QObject* parent)
    : QObject(parent)
    , m_engine(engine)
{
}

DatabaseConnection::~DatabaseConnection()
{
    // Coroutines still waiting on the database are guarded by the store and the pool: they are
    // dropped, not resumed.
    m_store.reset();
    m_pool.reset();
}

void DatabaseConnection::detach()
{
    if (m_store)
        m_store->detach();
}

QString DatabaseConnection::defaultLocation(QString* source)
{
    const QString env = qEnvironmentVariable("FLOWDECK_DB");
    if (!env.isEmpty()) {
        if (source)
            *source = QStringLiteral("$FLOWDECK_DB");
        return env;
    }
    const QString chosen = appsettings::databaseLocation();
    if (!chosen.isEmpty()) {
        if (source)
            *source = tr("Settings");
        return chosen;
    }
    if (source)
        *source = tr("default");
    return DatabaseUrl::defaultSqlite().path;
}

bool DatabaseConnection::open(const QString& location)
{
    if (m_state == DatabaseState::Opening || (m_store && m_engine.activeFlowRuns() > 0))
        return false;
    retire();
    Q_EMIT aboutToOpen();
    ++m_generation;
    const QString where = location.trimmed().isEmpty() ? defaultLocation() : location.trimmed();
    m_description = where;
    setState(DatabaseState::Opening);
    auto task = openTask(this, where, m_generation);
    return true;
}

QCoro::Task<> DatabaseConnection::openTask(QPointer<DatabaseConnection> self, QString location,
                                           quint64 generation)
{
    QString error;
    const std::optional<DatabaseUrl> url = DatabaseUrl::parse(location, &error);
    if (!url) {
        self->setState(DatabaseState::Failed,
                       tr("The database location \"%1\" is not valid: %2").arg(location, error));
        co_return;
    }
    self->m_description = url->redacted();
    // Owned by the connection from the start: if it goes while the database answers, they go with it
    // and the waiting coroutines are dropped, not resumed.
    self->m_pool = std::make_unique<ConnectionPool>(*url, appsettings::poolOptions());
    self->m_store = std::make_unique<Store>(*self->m_pool, self->m_engine.scheduler());
    bool leaseOk = false;
    const double lease = qEnvironmentVariable("FLOWDECK_SLOT_LEASE_S").toDouble(&leaseOk);
    if (leaseOk && lease > 0)
        self->m_store->setSlotLeaseSeconds(lease);
    Store* store = self->m_store.get();
    try {
        auto opening = store->open(true);
        const RecoveryReport report = co_await opening;
        if (!self || generation != self->m_generation)
            co_return;
        store->attach(self->m_engine);
        auto limiting = store->refreshLimits();
        co_await limiting;
        if (!self || generation != self->m_generation)
            co_return;
        if (report.crashedFlowRuns > 0)
            Q_EMIT self->message(tr("%n flow run(s) left by processes that exited were marked Crashed",
                                    nullptr, report.crashedFlowRuns));
    } catch (const std::exception& e) {
        if (!self || generation != self->m_generation)
            co_return;
        self->setState(
            DatabaseState::Failed,
            tr("Cannot open the database %1: %2").arg(self->m_description, QString::fromUtf8(e.what())));
        co_return;
    }
    self->setState(DatabaseState::Open);
    Q_EMIT self->opened();
}

void DatabaseConnection::setState(DatabaseState state, const QString& error)
{
    m_state = state;
    m_error = error;
    if (state == DatabaseState::Failed) {
        // Nothing was attached; the pool and store go once the coroutine that failed has returned.
        retire();
        m_state = DatabaseState::Failed;
    }
    if (state != DatabaseState::Opening)
        Q_EMIT openEnded();
    if (state == DatabaseState::Failed)
        Q_EMIT this->error(error);
    Q_EMIT stateChanged(state);
}

void DatabaseConnection::retire()
{
    if (!m_store && !m_pool)
        return;
    std::shared_ptr<Store> store(std::move(m_store));
    std::shared_ptr<ConnectionPool> pool(std::move(m_pool));
    const bool open = m_state == DatabaseState::Open;
    if (store)
        store->detach();
    m_state = DatabaseState::None;
    auto done = std::make_shared<bool>(false);
    if (open && store) {
        auto task = closeTask(store, pool, done, true);
        return;
    }
    // Not open: nothing to write. Destroyed from the event loop, never inside a pool callback.
    QTimer::singleShot(0, this, [store, pool]() mutable {
        store.reset();
        pool.reset();
    });
}

QCoro::Task<> DatabaseConnection::closeTask(std::shared_ptr<Store> store,
                                            std::shared_ptr<ConnectionPool> pool, std::shared_ptr<bool> done,
                                            bool releaseLater)
{
    try {
        auto closing = store->close();
        co_await closing;
    } catch (const std::exception& e) {
        qWarning("flowdeck: closing the database %s: %s", qPrintable(pool->url().redacted()), e.what());
    }
    *done = true;
    if (releaseLater) {
        // This runs inside a pool callback: the pool must outlive it.
        QTimer::singleShot(0, QCoreApplication::instance(), [store, pool]() mutable {
            store.reset();
            pool.reset();
        });
    }
}

bool DatabaseConnection::closeAndWait(int timeoutMs)
{
    if (!m_store) {
        m_pool.reset();
        return true;
    }
    std::shared_ptr<Store> store(std::move(m_store));
    std::shared_ptr<ConnectionPool> pool(std::move(m_pool));
    store->detach();
    const bool open = m_state == DatabaseState::Open;
    m_state = DatabaseState::None;
    ++m_generation;
    bool closed = true;
    if (open) {
        auto done = std::make_shared<bool>(false);
        auto closing = closeTask(store, pool, done, false);
        // At exit only (main() after QApplication::exec() returned, and test teardown): no event loop
        // is running any more, so this pumps events while the last batch commits; nothing waits on SQL.
        QDeadlineTimer deadline(timeoutMs);
        while (!*done && !deadline.hasExpired())
            QCoreApplication::processEvents(QEventLoop::WaitForMoreEvents, 20);
        closed = *done;
    }
    store.reset();
    pool.reset();
    Q_EMIT stateChanged(m_state);
    return closed;
}

PoolMetrics DatabaseConnection::poolMetrics() const
{
    return m_pool ? m_pool->metrics() : PoolMetrics{};
}

PoolOptions DatabaseConnection::poolOptions() const
{
    return m_pool ? m_pool->options() : appsettings::poolOptions();
}

void DatabaseConnection::setPoolOptions(const PoolOptions& options)
{
    PoolOptions applied = options;
    applied.poolSize = std::max(1, applied.poolSize);
    applied.maxOverflow = std::max(0, applied.maxOverflow);
    if (m_pool) {
        applied.recycleS = m_pool->options().recycleS;
        m_pool->setOptions(applied);
    }
    appsettings::setPoolOptions(applied);
}

void DatabaseConnection::reportError(const QString& message)
{
    Q_EMIT error(message);
}

} // namespace flowdeck
