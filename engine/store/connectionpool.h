#pragma once

#include "store/databaseurl.h"

#include <QCoro/QCoroTask>
#include <QObject>
#include <QSqlDatabase>
#include <QString>

#include <coroutine>
#include <exception>
#include <functional>
#include <memory>
#include <optional>
#include <stdexcept>
#include <type_traits>

namespace flowdeck {

//! SQLAlchemy QueuePool's knobs, with its defaults.
struct PoolOptions {
    int poolSize = 5;       //!< connections kept open
    int maxOverflow = 10;   //!< extra connections opened under load, closed when returned
    double timeoutS = 30.0; //!< longest wait for a connection before PoolTimeout
    double recycleS = 3600; //!< a connection older than this is reopened before use; <= 0: never
    //! Connections only read: SQLite opens an existing file read-only (never creates one, changes
    //! nothing, works on a full disk or a read-only file); PostgreSQL sessions are read-only. Taken
    //! when the pool is made; setOptions() does not change it.
    bool readOnly = false;
};

//! A snapshot of the pool, for the dashboard and the CLI.
struct PoolMetrics {
    int poolSize = 0;
    int maxOverflow = 0;
    int open = 0; //!< connections open now (idle + checked out)
    int checkedOut = 0;
    int overflowInUse = 0; //!< connections open beyond poolSize
    int idle = 0;
    int waiters = 0;       //!< jobs waiting for a connection: queued with none free nor being opened
    quint64 timeouts = 0;  //!< PoolTimeout errors so far
    quint64 checkouts = 0; //!< jobs that got a connection so far
    double waitP50Ms = 0;  //!< wait for a connection, over the recent jobs
    double waitP99Ms = 0;
};

//! No connection became free within the pool's timeout. Recoverable: retry later.
class PoolTimeout : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

//! The pool was destroyed before the job's result was handed back: what a coroutine still awaiting a
//! job gets when its pool goes, so that it unwinds and its frame is freed instead of being left
//! suspended for ever.
class PoolClosed : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

//! A database error (connecting, or a statement); what() names the statement's purpose and the
//! driver's message.
class DatabaseError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

/**
 * A bounded pool of database connections with QueuePool semantics. A QSqlDatabase is usable only in
 * the thread that opened it, so every connection lives on its own database thread: callers submit a
 * job and co_await its result; the calling thread (the GUI thread) never waits on SQL. A connection
 * goes back to the pool as soon as its job returns, on the database thread, so a busy or blocked
 * caller never holds a connection.
 */
class ConnectionPool : public QObject {
    Q_OBJECT
public:
    //! SQLite: what the write-ahead log is cut back to when it starts again (PRAGMA journal_size_limit).
    static constexpr qint64 WalSizeLimitBytes = 64 * 1024 * 1024;

    ConnectionPool(const DatabaseUrl& url, const PoolOptions& options = {}, QObject* parent = nullptr);
    /**
     * Waits for running jobs and drops the queued ones; then resumes every coroutine still awaiting
     * a job (queued, running or finished but not yet resumed) at once with PoolClosed. Call from the
     * owning thread. Jobs submitted meanwhile (by those coroutines) fail at once with PoolClosed.
     */
    ~ConnectionPool() override;

    const DatabaseUrl& url() const;
    PoolOptions options() const;
    //! New limits apply to the next checkouts; extra idle connections are closed.
    void setOptions(const PoolOptions& options);
    PoolMetrics metrics() const;

    /**
     * Runs \a job(db) on a database thread with a checked-out connection and resumes the awaiting
     * coroutine on this object's thread with its result. Throws PoolTimeout when no connection was
     * free within the timeout, DatabaseError when connecting fails, and rethrows what \a job throws.
     */
    template<typename F>
    auto run(F job) -> QCoro::Task<std::invoke_result_t<F, QSqlDatabase&>>
    {
        using R = std::invoke_result_t<F, QSqlDatabase&>;
        struct State {
            std::conditional_t<std::is_void_v<R>, bool, std::optional<R>> result{};
            std::exception_ptr error;
        };
        auto state = std::make_shared<State>();
        // Named locals, not temporaries inside the co_await expression: GCC 12 destroys such
        // temporaries twice.
        std::function<void(QSqlDatabase&)> wrapped = [state, job = std::move(job)](QSqlDatabase& db) mutable {
            if constexpr (std::is_void_v<R>) {
                job(db);
            } else {
                state->result.emplace(job(db));
            }
        };
        SubmitAwaiter awaiter = submit(std::move(wrapped));
        co_await awaiter;
        if constexpr (!std::is_void_v<R>)
            co_return std::move(*state->result);
    }

    /**
     * Low level: queues \a job; the awaiter resumes (on this object's thread) when it has run.
     * Exceptions from the job, PoolTimeout and DatabaseError are rethrown at the co_await.
     */
    class SubmitAwaiter;
    SubmitAwaiter submit(std::function<void(QSqlDatabase&)> job);

    //! SubmitAwaiters alive in this process, of every pool. Each lives in the frame of a coroutine
    //! awaiting a job, so once every such coroutine has finished this is 0 again: tests check with it
    //! that no coroutine was left suspended (and its frame leaked).
    static int awaitersAlive();

private:
    struct Private;
    std::unique_ptr<Private> d;
    friend class SubmitAwaiter;
};

class ConnectionPool::SubmitAwaiter {
public:
    SubmitAwaiter(ConnectionPool* pool, std::function<void(QSqlDatabase&)> job);
    // GCC 12 copies an lvalue awaiter into the frame for co_await: a copy counts as alive too.
    SubmitAwaiter(const SubmitAwaiter& other);
    SubmitAwaiter(SubmitAwaiter&& other) noexcept;
    SubmitAwaiter& operator=(const SubmitAwaiter&) = delete;
    SubmitAwaiter& operator=(SubmitAwaiter&&) = delete;
    ~SubmitAwaiter();
    bool await_ready() const noexcept { return false; }
    //! Queues the job; false (do not suspend, PoolClosed at await_resume) while the pool is being destroyed.
    bool await_suspend(std::coroutine_handle<> handle);
    void await_resume();

private:
    ConnectionPool* m_pool;
    std::function<void(QSqlDatabase&)> m_job;
    std::exception_ptr m_error;
};

} // namespace flowdeck
