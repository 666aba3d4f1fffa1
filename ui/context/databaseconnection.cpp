#include "context/databaseconnection.h"

#include "context/appsettings.h"
#include "run/engine.h"
#include "session/session.h"
#include "store/databaseurl.h"
#include "store/recovery.h"
#include "store/store.h"
#include "store/workerqueries.h"

#include <QCoreApplication>
#include <QDeadlineTimer>
#include <QSysInfo>
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
    // Coroutines still waiting on the database are guarded by the session's store and pool: they
    // are dropped, not resumed.
    m_session.reset();
}

void DatabaseConnection::detach()
{
    if (m_session)
        m_session->detach();
}

Store* DatabaseConnection::store() const
{
    return isOpen() ? m_session->store() : nullptr;
}

ConnectionPool* DatabaseConnection::pool() const
{
    return isOpen() ? m_session->pool() : nullptr;
}

QCoro::Task<> DatabaseConnection::refreshLimits()
{
    if (!isOpen())
        co_return;
    auto refreshing = m_session->refreshLimits();
    co_await refreshing;
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
    // After a write failure the engine no longer writes there: its runs ended in memory.
    if (m_state == DatabaseState::Opening
        || (m_session && m_writeFailure.isEmpty() && m_engine.activeFlowRuns() > 0))
        return false;
    retire();
    Q_EMIT aboutToOpen();
    ++m_generation;
    m_writeFailure.clear();
    m_location = location;
    const QString where = location.trimmed().isEmpty() ? defaultLocation() : location.trimmed();
    m_description = where;
    setState(DatabaseState::Opening);
    auto task = openTask(this, where, m_generation);
    return true;
}

QCoro::Task<> DatabaseConnection::openTask(QPointer<DatabaseConnection> self, QString location,
                                           quint64 generation)
{
    // Owned by the connection from the start: if it goes while the database answers, the session goes
    // with it and this coroutine is dropped, not resumed.
    self->m_session = std::make_unique<Session>(self->m_engine.scheduler());
    Session* session = self->m_session.get();
    SessionOptions options;
    options.registerEngine = true; // attached below, once the open is known to be still wanted
    options.pool = appsettings::poolOptions();
    try {
        auto opening = session->open(location, options);
        if (session->pool())
            self->m_description = session->description(); // the URL parsed: the password redacted
        const RecoveryReport report = co_await opening;
        if (!self || generation != self->m_generation)
            co_return;
        // The store stops writing at once on a storage failure (a full disk) and says so here;
        // passing failures (locked, connection lost) are retried until the database is back.
        connect(
            session->store(), &Store::writeFailed, self.data(),
            [self, generation](const QString& failure) {
                if (self && generation == self->m_generation)
                    self->onWriteFailed(failure);
            },
            Qt::QueuedConnection);
        auto attaching = session->attach(self->m_engine);
        co_await attaching;
        if (!self || generation != self->m_generation)
            co_return;
        if (report.crashedFlowRuns > 0)
            Q_EMIT self->message(tr("%n flow run(s) left by processes that exited were marked Crashed",
                                    nullptr, report.crashedFlowRuns));
    } catch (const std::exception& e) {
        if (!self || generation != self->m_generation)
            co_return;
        // The session's one-line message ("cannot open the database URL: why"), as a sentence.
        QString text = QString::fromUtf8(e.what());
        if (!text.isEmpty())
            text[0] = text[0].toUpper();
        self->setState(DatabaseState::Failed, text);
        co_return;
    }
    self->setState(DatabaseState::Open);
    Q_EMIT self->opened();
    // What a store that stopped writing could not finish (its disk was full) is done here, now that
    // a database takes writes again.
    if (self && generation == self->m_generation && self->m_abandoned) {
        auto cleaning = cleanUpTask(self, session->pool(), *self->m_abandoned);
    }
}

void DatabaseConnection::onWriteFailed(const QString& failure)
{
    if (!m_session || !isOpen() || !m_writeFailure.isEmpty())
        return;
    m_writeFailure = failure;
    const QString reason = tr("cannot write to the database: %1").arg(failure);
    // The engine goes on without the store: nothing more is written there, and the runs of this app
    // stop. Their drivers waiting for commits that never come are let go, so that they end in memory.
    m_session->detach();
    QStringList ids;
    for (const auto& run : m_engine.flowRuns()) {
        if (run->isTerminal())
            continue;
        ids << run->id.toString();
        m_engine.cancelFlowRun(run.get(), reason);
    }
    m_session->store()->abandonWaiters();
    m_abandoned = Abandoned{m_session->store()->engineId(), ids, reason};
    auto task = cleanUpTask(this, m_session->pool(), *m_abandoned);
    Q_EMIT message(tr("Cannot write to the database %1 (%2): flow runs of this app stopped")
                       .arg(m_description, failure));
    Q_EMIT writeFailed(failure);
    Q_EMIT stateChanged(m_state);
}

QCoro::Task<> DatabaseConnection::cleanUpTask(QPointer<DatabaseConnection> self, ConnectionPool* pool,
                                              Abandoned abandoned)
{
    const QString host = QSysInfo::machineHostName();
    try {
        // The runs' end as far as the database still takes it (else on the next open), then the
        // engine row, so that nothing looks alive that no longer writes.
        if (!abandoned.unmarked.isEmpty()) {
            auto crashing = pool->run([abandoned, host](QSqlDatabase& db) {
                for (const QString& id : abandoned.unmarked)
                    Recovery(db, abandoned.engineId, host).crashNow(id, abandoned.reason);
            });
            co_await crashing;
            if (!self)
                co_return;
            if (self->m_abandoned)
                self->m_abandoned->unmarked.clear();
            Q_EMIT self->message(tr("%n stopped flow run(s) marked Crashed in the database", nullptr,
                                    int(abandoned.unmarked.size())));
        }
        auto unregistering = pool->run(
            [engineId = abandoned.engineId](QSqlDatabase& db) { workers::unregisterEngine(db, engineId); });
        co_await unregistering;
        if (self)
            self->m_abandoned.reset();
    } catch (const std::exception& e) {
        if (self && self->m_abandoned && !self->m_abandoned->unmarked.isEmpty())
            Q_EMIT self->message(
                tr("The stopped flow runs could not be marked Crashed yet (%1); that is done "
                   "when the database is open again")
                    .arg(QString::fromUtf8(e.what())));
    }
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
    if (!m_session)
        return;
    std::shared_ptr<Session> session(std::move(m_session));
    const bool open = m_state == DatabaseState::Open;
    session->detach();
    m_state = DatabaseState::None;
    if (open) {
        auto task = closeTask(session, std::make_shared<bool>(false), true);
        return;
    }
    // Not open: nothing to write. Destroyed from the event loop, never inside a pool callback.
    QTimer::singleShot(0, this, [session]() mutable { session.reset(); });
}

QCoro::Task<> DatabaseConnection::closeTask(std::shared_ptr<Session> session, std::shared_ptr<bool> done,
                                            bool releaseLater)
{
    try {
        auto closing = session->close();
        co_await closing;
    } catch (const std::exception& e) {
        qWarning("flowdeck: %s", e.what());
    }
    *done = true;
    if (releaseLater) {
        // This runs inside a pool callback: the pool must outlive it.
        QTimer::singleShot(0, QCoreApplication::instance(), [session]() mutable { session.reset(); });
    }
}

bool DatabaseConnection::closeAndWait(int timeoutMs)
{
    if (!m_session)
        return true;
    std::shared_ptr<Session> session(std::move(m_session));
    session->detach();
    const bool open = m_state == DatabaseState::Open;
    m_state = DatabaseState::None;
    ++m_generation;
    bool closed = true;
    if (open) {
        auto done = std::make_shared<bool>(false);
        auto closing = closeTask(session, done, false);
        // At exit only (main() after QApplication::exec() returned, and test teardown): no event loop
        // is running any more, so this pumps events while the last batch commits; nothing waits on SQL.
        QDeadlineTimer deadline(timeoutMs);
        while (!*done && !deadline.hasExpired())
            QCoreApplication::processEvents(QEventLoop::WaitForMoreEvents, 20);
        closed = *done;
    }
    session.reset();
    Q_EMIT stateChanged(m_state);
    return closed;
}

PoolMetrics DatabaseConnection::poolMetrics() const
{
    return m_session && m_session->pool() ? m_session->pool()->metrics() : PoolMetrics{};
}

PoolOptions DatabaseConnection::poolOptions() const
{
    return m_session && m_session->pool() ? m_session->pool()->options() : appsettings::poolOptions();
}

void DatabaseConnection::setPoolOptions(const PoolOptions& options)
{
    PoolOptions applied = options;
    applied.poolSize = std::max(1, applied.poolSize);
    applied.maxOverflow = std::max(0, applied.maxOverflow);
    if (ConnectionPool* pool = m_session ? m_session->pool() : nullptr) {
        applied.recycleS = pool->options().recycleS;
        pool->setOptions(applied);
    }
    appsettings::setPoolOptions(applied);
}

void DatabaseConnection::reportError(const QString& message)
{
    Q_EMIT error(message);
}

} // namespace flowdeck
