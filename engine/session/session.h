#pragma once

#include "store/connectionpool.h"
#include "store/recovery.h"

#include <QCoro/QCoroTask>
#include <QObject>
#include <QPointer>
#include <QString>

#include <memory>
#include <stdexcept>

namespace flowdeck {

class Engine;
class EngineLink;
class Scheduler;
class Store;

//! Why a session could not open; what() is one line, e.g. "cannot open the database URL: why".
class SessionError : public std::runtime_error {
public:
    explicit SessionError(const QString& message);
    QString message() const { return QString::fromUtf8(what()); }
};

struct SessionOptions {
    //! The engine to connect at once (see Session::attach); implies registerEngine.
    Engine* engine = nullptr;
    //! This process runs flows: it registers itself, so that others see it alive and recover its runs
    //! when it dies. Set it (without engine) to attach later, e.g. after checking the open is still wanted.
    bool registerEngine = false;
    //! Only reads (runs ls/show/logs): the database is opened read-only (pool.readOnly) and
    //! nothing is migrated, recovered or registered; works on a read-only file or a full disk. A
    //! SQLite file that does not exist is an error, never created. Not with engine/registerEngine.
    bool readOnly = false;
    PoolOptions pool;
};

/**
 * The one way in: opens a database from a URL (connection pool, store: migrate, register, recover),
 * connects its store to an engine (observer, durability and slot sink, limits, then a poll for the
 * heartbeat, slot leases, limits and cancel requests) and closes it. Never blocks the calling thread:
 * every step awaits the pool, and a step whose session is destroyed meanwhile ends with PoolClosed.
 */
class Session : public QObject {
    Q_OBJECT
public:
    //! \a scheduler runs the callbacks of the store (the engine's scheduler when one is connected).
    explicit Session(Scheduler& scheduler, QObject* parent = nullptr);
    ~Session() override;

    /**
     * Opens \a location: a SQLite path or postgresql:// URL; empty means $FLOWDECK_DB, else the
     * default file. With options.engine, attaches it and applies the stored limits before returning.
     * Throws SessionError; then nothing stays open.
     */
    QCoro::Task<RecoveryReport> open(QString location, SessionOptions options = {});
    //! Connects the open store to \a engine and applies the stored limits to its limiter; throws
    //! SessionError (and stays detached) when they cannot be read.
    QCoro::Task<> attach(Engine& engine);
    //! Disconnects the engine; the store stays open.
    void detach();
    //! Reads the limits and applies them to the attached engine's limiter now (the poll does it every
    //! half second). Throws DatabaseError or PoolTimeout.
    QCoro::Task<> refreshLimits();
    //! Detaches, writes what is buffered and unregisters this process; the rows stay readable through
    //! pool() until the session is destroyed. Throws SessionError.
    QCoro::Task<> close();

    bool isOpen() const { return m_open; }
    //! Set while open() runs and after it succeeded; null before it and after it failed.
    Store* store() const { return m_store.get(); }
    ConnectionPool* pool() const { return m_pool.get(); }
    //! The database as messages name it (the password redacted); empty when store() is null.
    QString description() const;

    /**
     * A closed or destroyed session's store and pool are freed from the event loop, never inside their
     * own callbacks. This frees them now: for an owner that is about to destroy the scheduler they
     * used (the store calls it until it is gone), outside any store callback.
     */
    static void freeReleased();

    //! $FLOWDECK_SLOT_LEASE_S (seconds a dead process's slots stay taken), read once; 0 when unset.
    static double slotLeaseSecondsFromEnvironment();

private:
    static QCoro::Task<RecoveryReport> openTask(QPointer<Session> self, QString location,
                                                SessionOptions options);
    void release();

    Scheduler& m_scheduler;
    std::unique_ptr<ConnectionPool> m_pool;
    std::unique_ptr<Store> m_store;
    EngineLink* m_link = nullptr;
    bool m_open = false;
    bool m_destroying = false;
};

} // namespace flowdeck
