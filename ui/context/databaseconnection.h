#pragma once

#include "store/connectionpool.h"

#include <QCoro/QCoroTask>
#include <QObject>
#include <QPointer>
#include <QString>
#include <QStringList>

#include <memory>
#include <optional>

namespace flowdeck {

class Engine;
class Session;
class Store;

//! Where the run store stands: flow runs are durable only while it is Open.
enum class DatabaseState { None, Opening, Open, Failed };

/**
 * The dashboard's run store: opens a Session on a location (asynchronously: SQL runs only on the
 * pool's database threads), attaches it to the engine, and closes it. Every open, close and pool
 * setting is here; RunHistory, TagLimits and WorkerDirectory read through pool() while it is open.
 *
 * Each open starts a new generation(): a coroutine that started under an older one drops its result.
 */
class DatabaseConnection : public QObject {
    Q_OBJECT

public:
    explicit DatabaseConnection(Engine& engine, QObject* parent = nullptr);
    ~DatabaseConnection() override;

    /**
     * Opens the run store at \a location (a SQLite path or postgresql:// URL; empty: $FLOWDECK_DB, else
     * the location chosen in Settings, else flowdeck.db in the app data folder). On success the engine's
     * runs are durable and limits come from the store; on failure error() says why and the app goes on
     * without persistence. Replacing an open database requires that no flow run is active; returns
     * false otherwise.
     */
    bool open(const QString& location = {});
    /**
     * Writes what is buffered, unregisters this process and closes the store, running the event loop
     * until done or \a timeoutMs passed (at exit, after cancelAllAndWait). Returns true when closed.
     */
    bool closeAndWait(int timeoutMs);
    //! Detaches the store from the engine (before the engine goes).
    void detach();

    //! The location open() uses without an argument, and where it comes from.
    static QString defaultLocation(QString* source = nullptr);
    DatabaseState state() const { return m_state; }
    bool isOpen() const { return m_state == DatabaseState::Open; }
    //! The open (or last tried) database, password redacted.
    QString description() const { return m_description; }
    QString errorText() const { return m_error; }
    /**
     * Why the open store stopped writing for good (a storage failure such as a full disk), or empty.
     * Then the engine goes on without it: the flow runs of this app were stopped (CRASHED in the
     * database as far as it still took it), new runs are refused, and what it holds can still be read.
     */
    QString writeFailure() const { return m_writeFailure; }
    //! Opens the last location again (after a write failure, once the disk has room). See open().
    bool reopen() { return open(m_location); }
    Store* store() const;
    //! The open session (for RunOperations), else null.
    Session* session() const { return isOpen() ? m_session.get() : nullptr; }
    //! The pool while the store is open, else null: for the classes that read and write through it.
    ConnectionPool* pool() const;
    //! Reads the stored limits into the engine's limiter now, when open (the session's poll also does
    //! it every half second). Throws DatabaseError or PoolTimeout.
    QCoro::Task<> refreshLimits();
    //! Counts the opens: results of an older generation are stale.
    quint64 generation() const { return m_generation; }

    PoolMetrics poolMetrics() const;
    PoolOptions poolOptions() const;
    //! Applies and stores the pool's size, overflow and timeout (live for the next checkouts).
    void setPoolOptions(const PoolOptions& options);

    //! Announces that a database operation failed (error()).
    void reportError(const QString& message);

Q_SIGNALS:
    //! open() is replacing the database: what was read from the previous one goes.
    void aboutToOpen();
    //! The open ended (Open or Failed), before stateChanged(): flows held back while it opened start.
    void openEnded();
    //! The database opened, failed or closed.
    void stateChanged(flowdeck::DatabaseState state);
    //! After stateChanged(Open): the time to read what the store holds.
    void opened();
    //! A database operation failed; \a message says what and where.
    void error(const QString& message);
    //! Something worth a line in the status bar.
    void message(const QString& text);
    //! The open store stopped writing for good (see writeFailure()); once per open.
    void writeFailed(const QString& failure);

private:
    void setState(DatabaseState state, const QString& error = {});
    void retire();
    void onWriteFailed(const QString& failure);
    //! What a store that stopped writing left: its engine row, and its flow runs not yet marked CRASHED.
    struct Abandoned {
        QString engineId;
        QStringList unmarked;
        QString reason;
    };
    //! Marks the abandoned runs CRASHED and removes the engine row, through \a pool (the store that
    //! failed, or the next one opened); what is still to do stays in m_abandoned.
    static QCoro::Task<> cleanUpTask(QPointer<DatabaseConnection> self, ConnectionPool* pool,
                                     Abandoned abandoned);
    // Hold a QPointer and a generation: a result for a database since replaced, or a connection that
    // is gone, is dropped.
    static QCoro::Task<> openTask(QPointer<DatabaseConnection> self, QString location, quint64 generation);
    static QCoro::Task<> closeTask(std::shared_ptr<Session> session, std::shared_ptr<bool> done,
                                   bool releaseLater);

    Engine& m_engine;
    std::unique_ptr<Session> m_session;
    DatabaseState m_state = DatabaseState::None;
    QString m_description;
    QString m_error;
    QString m_location; //!< as given to open(), for reopen()
    QString m_writeFailure;
    std::optional<Abandoned> m_abandoned;
    quint64 m_generation = 0;
};

} // namespace flowdeck
