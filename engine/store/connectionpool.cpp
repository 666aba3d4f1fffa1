#include "store/connectionpool.h"

#include "run/threadpriority.h"
#include "store/schema.h"

#include <QFile>
#include <QFileInfo>
#include <QSqlError>
#include <QSqlQuery>
#include <QUrl>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <fcntl.h>
#include <map>
#include <mutex>
#include <pthread.h>
#include <sys/statvfs.h>
#include <thread>
#include <unistd.h>
#include <vector>

namespace flowdeck {

namespace {

using Clock = std::chrono::steady_clock;

constexpr std::size_t WaitSamples = 1024;

std::atomic<int> g_awaitersAlive{0};

const char* const ClosedMessage = "the connection pool was closed before the job's result was handed back";

PoolOptions sanitized(PoolOptions o)
{
    o.poolSize = std::max(1, o.poolSize);
    o.maxOverflow = std::max(0, o.maxOverflow);
    return o;
}

QString timeoutMessage(const PoolOptions& o)
{
    return QStringLiteral("QueuePool limit of size %1 overflow %2 reached, connection timed out, timeout %3")
        .arg(o.poolSize)
        .arg(o.maxOverflow)
        .arg(o.timeoutS, 0, 'f', 2);
}

[[noreturn]] void throwDatabaseError(const QString& message)
{
    throw DatabaseError(message.toStdString());
}

QString driverText(const QSqlError& error)
{
    const QString text = error.databaseText().isEmpty() ? error.text() : error.databaseText();
    return text.simplified();
}

//! Creates the SQLite file (mode 0600) if needed and checks that it can be written, before Qt opens it.
void prepareSqliteFile(const QString& path, bool readOnly)
{
    const QFileInfo info(path);
    if (info.isDir())
        throwDatabaseError(QStringLiteral("cannot open SQLite database \"%1\": it is a folder").arg(path));
    if (readOnly) {
        if (!info.exists())
            throwDatabaseError(QStringLiteral("cannot open SQLite database \"%1\": no such file").arg(path));
        return;
    }
    if (!QFileInfo(info.absolutePath()).isDir())
        throwDatabaseError(
            QStringLiteral("cannot open SQLite database \"%1\": the folder \"%2\" does not exist")
                .arg(path, info.absolutePath()));
    const QByteArray native = QFile::encodeName(path);
    // An existing file is never opened here: closing any descriptor of a file drops every POSIX lock
    // this process holds on it, SQLite's included, and that corrupts a database in use.
    auto checkWritable = [&] {
        if (::faccessat(AT_FDCWD, native.constData(), R_OK | W_OK, AT_EACCESS) != 0) {
            throwDatabaseError(QStringLiteral("cannot open SQLite database \"%1\" for writing: %2")
                                   .arg(path, QString::fromLocal8Bit(std::strerror(errno))));
        }
    };
    if (info.exists()) {
        checkWritable();
        return;
    }
    // A new file: nobody can hold locks on it yet, so creating it with mode 0600 is safe.
    const int fd = ::open(native.constData(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0) {
        if (errno == EEXIST) { // created meanwhile by another connection or process
            checkWritable();
            return;
        }
        throwDatabaseError(QStringLiteral("cannot create SQLite database \"%1\": %2")
                               .arg(path, QString::fromLocal8Bit(std::strerror(errno))));
    }
    ::close(fd);
}

//! Runs one setup statement; returns an error text, empty on success. \a value receives the first column.
QString setupStatement(QSqlDatabase& db, const QString& sql, QString* value = nullptr, bool* busy = nullptr)
{
    QSqlQuery query(db);
    if (!query.exec(sql)) {
        const QSqlError error = query.lastError();
        if (busy) // SQLITE_BUSY, SQLITE_LOCKED
            *busy = error.nativeErrorCode() == QLatin1String("5")
                || error.nativeErrorCode() == QLatin1String("6");
        return driverText(error) + QStringLiteral(" (in \"") + sql + QStringLiteral("\")");
    }
    if (value && query.next())
        *value = query.value(0).toString();
    return {};
}

} // namespace

struct ConnectionPool::Private {
    struct Job {
        std::function<void(QSqlDatabase&)> fn;
        quint64 waiter = 0; //!< its key in waiters
        std::exception_ptr* error = nullptr;
        Clock::time_point enqueued;
    };

    //! A coroutine awaiting a job, from the submission until it is resumed.
    struct Waiter {
        std::coroutine_handle<> handle;
        std::exception_ptr* error = nullptr;
    };

    //! One database thread. Active: counted as open, holds (or opens on its next job) a connection.
    struct Slot {
        std::thread thread;
        std::condition_variable wake;
        int index = 0;
        bool active = false;
        bool closing = false;
    };

    //! What a database thread owns: lives and dies on that thread.
    struct Connection {
        std::optional<QSqlDatabase> db;
        QString name;
        Clock::time_point openedAt;

        void close()
        {
            if (!db)
                return;
            db->close();
            db.reset();
            QSqlDatabase::removeDatabase(name);
        }
    };

    ConnectionPool* q;
    DatabaseUrl url;
    QString namePrefix;
    bool readOnly = false; //!< fixed at construction (options.readOnly then)

    mutable std::mutex mutex;
    PoolOptions options;
    std::deque<Job> queue;
    // Every awaiter not yet resumed, in submission order: the destructor resumes those left.
    std::map<quint64, Waiter> waiters;
    quint64 waiterSeq = 0;
    std::vector<std::unique_ptr<Slot>> slots;
    std::condition_variable jobsCv;  // idle active slots wait here for jobs
    std::condition_variable watchCv; // the timeout watcher
    std::thread watcher;
    bool stopping = false;
    int open = 0;    // active slots
    int idle = 0;    // active slots without a job
    int closing = 0; // slots closing their connection (still physically open)
    int checkedOut = 0;
    quint64 timeouts = 0;
    quint64 checkouts = 0;
    std::vector<float> waitsMs;
    std::size_t waitNext = 0;
    quint64 connectionSeq = 0; // only touched under the mutex

    Private(ConnectionPool* pool, const DatabaseUrl& u, const PoolOptions& o)
        : q(pool)
        , url(u)
        , namePrefix(QStringLiteral("flowdeck-%1-").arg(quintptr(pool), 0, 16))
        , options(sanitized(o))
    {
        waitsMs.reserve(WaitSamples);
    }

    bool enqueue(std::function<void(QSqlDatabase&)> fn, std::coroutine_handle<> handle,
                 std::exception_ptr* error);
    void dispatch();
    void serve(Slot& slot);
    void watch();
    void recordWait(Clock::duration wait);
    void deactivate(Slot& slot);
    void runJob(Connection& conn, Job& job, double recycleS);
    void openConnection(Connection& conn);
    QString configureSqlite(QSqlDatabase& db);
    QString configureSqliteReadOnly(QSqlDatabase& db, const QString& where);
    QString configurePostgres(QSqlDatabase& db);
    void complete(Job& job);
    void resume(quint64 waiter);
};

bool ConnectionPool::Private::enqueue(std::function<void(QSqlDatabase&)> fn, std::coroutine_handle<> handle,
                                      std::exception_ptr* error)
{
    std::unique_lock lock(mutex);
    if (stopping) {
        // Submitted by a coroutine that the destructor resumed: it goes on at once, with the error.
        lock.unlock();
        fn = nullptr;
        *error = std::make_exception_ptr(PoolClosed(ClosedMessage));
        return false;
    }
    const quint64 waiter = ++waiterSeq;
    waiters.emplace(waiter, Waiter{handle, error});
    queue.push_back(Job{std::move(fn), waiter, error, Clock::now()});
    if (queue.size() == 1)
        watchCv.notify_one();
    dispatch();
    jobsCv.notify_one();
    return true;
}

// Opens connections (lazily, on their threads) while jobs outnumber idle connections, up to the limit.
void ConnectionPool::Private::dispatch()
{
    const int limit = options.poolSize + options.maxOverflow;
    while (!stopping && qsizetype(queue.size()) > idle && open + closing < limit) {
        Slot* slot = nullptr;
        for (const auto& s : slots) {
            if (!s->active && !s->closing) {
                slot = s.get();
                break;
            }
        }
        if (!slot) {
            slots.push_back(std::make_unique<Slot>());
            slot = slots.back().get();
            slot->index = int(slots.size());
            slot->thread = std::thread([this, slot] { serve(*slot); });
        }
        slot->active = true;
        ++open;
        ++idle;
        slot->wake.notify_one();
    }
}

void ConnectionPool::Private::deactivate(Slot& slot)
{
    slot.active = false;
    slot.closing = true;
    --open;
    --idle;
    ++closing;
}

void ConnectionPool::Private::serve(Slot& slot)
{
    const QByteArray threadName = "flowdeck-db-" + QByteArray::number(slot.index);
    pthread_setname_np(pthread_self(), threadName.left(15).constData());
    // Batches, checkpoints and the pages' queries yield to the GUI thread when the cores are busy.
    lowerCurrentThreadPriority(BackgroundLevel::Database);

    Connection conn;
    std::unique_lock lock(mutex);
    for (;;) {
        if (stopping)
            break;
        if (!slot.active) {
            slot.wake.wait(lock, [&] { return slot.active || stopping; });
            continue;
        }
        if (queue.empty()) {
            if (open > options.poolSize) {
                deactivate(slot);
                lock.unlock();
                conn.close();
                lock.lock();
                slot.closing = false;
                --closing;
                dispatch();
                continue;
            }
            jobsCv.wait(lock, [&] { return stopping || !queue.empty() || open > options.poolSize; });
            continue;
        }

        Job job = std::move(queue.front());
        queue.pop_front();
        --idle;
        ++checkedOut;
        ++checkouts;
        recordWait(Clock::now() - job.enqueued);
        const double recycleS = options.recycleS;
        lock.unlock();

        runJob(conn, job, recycleS);

        // Check in on this thread before the result is handed back: a blocked caller holds nothing.
        lock.lock();
        --checkedOut;
        ++idle;
        const bool close = !conn.db || (queue.empty() && open > options.poolSize);
        if (close)
            deactivate(slot);
        lock.unlock();
        complete(job);
        if (close)
            conn.close();
        lock.lock();
        if (close) {
            slot.closing = false;
            --closing;
            dispatch();
        }
    }
    lock.unlock();
    conn.close();
}

void ConnectionPool::Private::runJob(Connection& conn, Job& job, double recycleS)
{
    try {
        if (conn.db && recycleS > 0
            && Clock::now() - conn.openedAt >= std::chrono::duration<double>(recycleS))
            conn.close();
        if (!conn.db)
            openConnection(conn);
        job.fn(*conn.db);
    } catch (...) {
        *job.error = std::current_exception();
        if (conn.db) {
            // Reset on return, as QueuePool does: no transaction outlives its job. A connection
            // that cannot answer afterwards is dropped and reopened by the next job.
            bool alive = false;
            {
                QSqlQuery reset(*conn.db);
                reset.exec(QStringLiteral("ROLLBACK"));
                alive = reset.exec(QStringLiteral("SELECT 1"));
            }
            if (!alive)
                conn.close();
        }
    }
    job.fn = nullptr; // what the job captured is released here, not on the caller's thread
}

void ConnectionPool::Private::openConnection(Connection& conn)
{
    QString name;
    {
        std::lock_guard lock(mutex);
        name = namePrefix + QString::number(++connectionSeq);
    }
    if (url.isSqlite())
        prepareSqliteFile(url.path, readOnly);

    QString failure;
    {
        QSqlDatabase db = url.addConnection(name);
        if (!db.isValid()) {
            failure = QStringLiteral("the Qt SQL driver %1 is not available (is its plugin installed?)")
                          .arg(url.driverName());
        } else {
            failure = url.isSqlite() ? configureSqlite(db) : configurePostgres(db);
            if (failure.isEmpty()) {
                conn.db = db;
                conn.name = name;
                conn.openedAt = Clock::now();
            } else {
                db.close();
            }
        }
    }
    if (!failure.isEmpty()) {
        QSqlDatabase::removeDatabase(name);
        throwDatabaseError(failure);
    }
}

QString ConnectionPool::Private::configureSqlite(QSqlDatabase& db)
{
    const QString where = QStringLiteral("cannot open SQLite database \"%1\": ").arg(url.path);
    if (readOnly)
        return configureSqliteReadOnly(db, where);
    db.setConnectOptions(QStringLiteral("QSQLITE_BUSY_TIMEOUT=5000"));
    if (!db.open())
        return where + driverText(db.lastError());
    QString journal;
    QString error = setupStatement(db, QStringLiteral("PRAGMA busy_timeout = 5000"));
    // 16 KB pages for a new file (no effect on an existing one): fewer b-tree pages to split and write
    // for group commit's bulk inserts. Measured with bench_store, 100k no-op task runs: 12.0-12.5 us per
    // task at 4 KB, 11.8-11.9 at 8 KB, 10.8-11.1 at 16 KB, 11.2-11.8 at 32 and 64 KB.
    if (error.isEmpty())
        error = setupStatement(db, QStringLiteral("PRAGMA page_size = 16384"));
    if (error.isEmpty())
        error = setupStatement(db, QStringLiteral("PRAGMA journal_mode"), &journal);
    // Switching to WAL rewrites the file's header: another application's file is refused before.
    if (error.isEmpty() && journal.compare(QLatin1String("wal"), Qt::CaseInsensitive) != 0) {
        try {
            if (const QStringList foreign = schema::foreignTables(db); !foreign.isEmpty())
                error = schema::foreignTablesMessage(foreign);
        } catch (const DatabaseError& e) {
            error = QString::fromUtf8(e.what());
        }
    }
    // Switching a new database to WAL needs it exclusively for a moment. Connections that open it at
    // the same time can get SQLITE_BUSY at once, without the busy handler: retry, within the busy timeout.
    const auto deadline = Clock::now() + std::chrono::milliseconds(5000);
    for (int attempt = 0; error.isEmpty() && journal.compare(QLatin1String("wal"), Qt::CaseInsensitive) != 0;
         ++attempt) {
        bool busy = false;
        error = setupStatement(db, QStringLiteral("PRAGMA journal_mode = WAL"), &journal, &busy);
        if (!busy || Clock::now() >= deadline)
            break;
        error.clear();
        // On the connection's own database thread, never the GUI thread: a brief back-off while
        // another connection switches a new file to WAL.
        std::this_thread::sleep_for(std::chrono::milliseconds(std::min(50, 1 << std::min(attempt, 6))));
    }
    if (error.isEmpty() && journal.compare(QLatin1String("wal"), Qt::CaseInsensitive) != 0)
        error = QStringLiteral("cannot enable WAL (journal mode stays \"%1\")").arg(journal);
    if (error.isEmpty())
        error = setupStatement(db, QStringLiteral("PRAGMA synchronous = NORMAL"));
    // SQLite reuses the WAL file from its start once a checkpoint has copied it all, and never makes it
    // smaller: a burst (a million task runs created while the checkpoints fall behind) would leave a
    // write-ahead log of a gigabyte and more beside the database for as long as it stays open. With a
    // limit, the connection that starts the log again cuts the file back to 64 MB.
    if (error.isEmpty())
        error = setupStatement(db, QStringLiteral("PRAGMA journal_size_limit = %1").arg(WalSizeLimitBytes));
    if (error.isEmpty())
        error = setupStatement(db, QStringLiteral("PRAGMA foreign_keys = ON"));
    // 64 MB of page cache: bulk writes of 100k task runs touch far more than the 2 MB default.
    if (error.isEmpty())
        error = setupStatement(db, QStringLiteral("PRAGMA cache_size = -65536"));
    if (error.contains(QLatin1String("readonly")))
        error += QStringLiteral("; the file or its folder is read-only");
    return error.isEmpty() ? QString() : where + error;
}

QString ConnectionPool::Private::configureSqliteReadOnly(QSqlDatabase& db, const QString& where)
{
    // Nothing that writes: no journal mode switch, no page size. A WAL database is read with its
    // shared-memory index, which SQLite creates beside the file when it can; on a read-only file
    // system it cannot, and the file (which nobody can change there) is read as immutable.
    db.setConnectOptions(QStringLiteral("QSQLITE_BUSY_TIMEOUT=5000;QSQLITE_OPEN_READONLY"));
    if (!db.open())
        return where + driverText(db.lastError());
    QString error = setupStatement(db, QStringLiteral("SELECT count(*) FROM sqlite_master"));
    struct statvfs fs = {};
    if (!error.isEmpty() && ::statvfs(QFile::encodeName(url.path).constData(), &fs) == 0
        && (fs.f_flag & ST_RDONLY)) {
        db.close();
        db.setConnectOptions(QStringLiteral("QSQLITE_OPEN_READONLY;QSQLITE_OPEN_URI"));
        db.setDatabaseName(QString::fromUtf8(QUrl::fromLocalFile(url.path).toEncoded())
                           + QStringLiteral("?immutable=1"));
        if (!db.open())
            return where + driverText(db.lastError());
        error = setupStatement(db, QStringLiteral("SELECT count(*) FROM sqlite_master"));
    }
    if (error.isEmpty())
        error = setupStatement(db, QStringLiteral("PRAGMA busy_timeout = 5000"));
    if (error.isEmpty())
        error = setupStatement(db, QStringLiteral("PRAGMA cache_size = -65536"));
    return error.isEmpty() ? QString() : where + error;
}

QString ConnectionPool::Private::configurePostgres(QSqlDatabase& db)
{
    db.setConnectOptions(QStringLiteral("connect_timeout=10;application_name=flowdeck"));
    const QString where = QStringLiteral("cannot connect to PostgreSQL at %1: ").arg(url.redacted());
    if (!db.open())
        return where + driverText(db.lastError());
    // Keeps server notices (e.g. the reset's "no transaction in progress") out of stderr.
    QString error = setupStatement(db, QStringLiteral("SET client_min_messages TO error"));
    if (error.isEmpty() && readOnly)
        error = setupStatement(db, QStringLiteral("SET default_transaction_read_only TO on"));
    // The store's statements are short. On tables without statistics yet (right after a bulk load or an
    // upgrade), the planner's estimates make JIT compile them, about 0.5 s a query: off for these
    // sessions. A server without the setting (before PostgreSQL 11) refuses it, which changes nothing.
    if (error.isEmpty())
        setupStatement(db, QStringLiteral("SET jit TO off"));
    return error.isEmpty() ? QString() : where + error;
}

void ConnectionPool::Private::complete(Job& job)
{
    // Dropped with the pool if it goes first; its destructor then resumes the waiter.
    QMetaObject::invokeMethod(
        q, [this, waiter = job.waiter] { resume(waiter); }, Qt::QueuedConnection);
}

void ConnectionPool::Private::resume(quint64 waiter)
{
    std::coroutine_handle<> handle;
    {
        std::lock_guard lock(mutex);
        const auto it = waiters.find(waiter);
        if (it == waiters.end())
            return;
        handle = it->second.handle;
        waiters.erase(it);
    }
    handle.resume();
}

void ConnectionPool::Private::recordWait(Clock::duration wait)
{
    const float ms = float(std::chrono::duration<double, std::milli>(wait).count());
    if (waitsMs.size() < WaitSamples) {
        waitsMs.push_back(ms);
    } else {
        waitsMs[waitNext] = ms;
        waitNext = (waitNext + 1) % WaitSamples;
    }
}

// Expires the oldest waiting job once its wait reaches the timeout. Jobs leave the queue only at
// its front (taken by a database thread or expired here), and all share the current timeout, so
// the front always has the earliest deadline.
void ConnectionPool::Private::watch()
{
    pthread_setname_np(pthread_self(), "flowdeck-dbwatch");
    std::unique_lock lock(mutex);
    while (!stopping) {
        if (queue.empty() || options.timeoutS <= 0) {
            watchCv.wait(lock);
            continue;
        }
        const auto deadline = queue.front().enqueued
            + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(options.timeoutS));
        if (Clock::now() < deadline) {
            watchCv.wait_until(lock, deadline);
            continue;
        }
        Job job = std::move(queue.front());
        queue.pop_front();
        ++timeouts;
        const QString message = timeoutMessage(options);
        lock.unlock();
        job.fn = nullptr;
        *job.error = std::make_exception_ptr(PoolTimeout(message.toStdString()));
        complete(job);
        lock.lock();
    }
}

ConnectionPool::ConnectionPool(const DatabaseUrl& url, const PoolOptions& options, QObject* parent)
    : QObject(parent)
    , d(std::make_unique<Private>(this, url, options))
{
    d->readOnly = options.readOnly;
    d->watcher = std::thread([this] { d->watch(); });
}

ConnectionPool::~ConnectionPool()
{
    std::deque<Private::Job> dropped;
    {
        std::lock_guard lock(d->mutex);
        d->stopping = true;
        // Jobs that never got a connection are dropped; their coroutines are resumed below.
        dropped.swap(d->queue);
        for (const auto& slot : d->slots)
            slot->wake.notify_all();
        d->jobsCv.notify_all();
        d->watchCv.notify_all();
    }
    dropped.clear();
    for (const auto& slot : d->slots)
        slot->thread.join(); // running jobs finish; each thread closes its own connection
    d->watcher.join();

    // A coroutine left suspended would never be destroyed: its frame, and the task frames awaiting
    // it, would leak. So every awaiter not yet resumed (its job dropped, or its result still on the
    // way in the event queue, which goes with this object) resumes now, with PoolClosed: the
    // coroutines unwind (guarding their objects as after any co_await) and their frames are freed.
    std::map<quint64, Private::Waiter> left;
    {
        std::lock_guard lock(d->mutex);
        left.swap(d->waiters);
    }
    for (auto& [id, waiter] : left) {
        *waiter.error = std::make_exception_ptr(PoolClosed(ClosedMessage));
        waiter.handle.resume();
    }
}

const DatabaseUrl& ConnectionPool::url() const
{
    return d->url;
}

PoolOptions ConnectionPool::options() const
{
    std::lock_guard lock(d->mutex);
    return d->options;
}

void ConnectionPool::setOptions(const PoolOptions& options)
{
    std::lock_guard lock(d->mutex);
    d->options = sanitized(options);
    d->jobsCv.notify_all(); // idle connections beyond a smaller pool close
    d->watchCv.notify_all();
    d->dispatch();
}

PoolMetrics ConnectionPool::metrics() const
{
    PoolMetrics m;
    std::vector<float> waits;
    {
        std::lock_guard lock(d->mutex);
        m.poolSize = d->options.poolSize;
        m.maxOverflow = d->options.maxOverflow;
        m.open = d->open + d->closing;
        m.checkedOut = d->checkedOut;
        m.idle = d->idle;
        m.overflowInUse = std::max(0, m.open - m.poolSize);
        // Jobs beyond the idle connections (those being opened included) wait; the others are being
        // handed to a free connection this very moment.
        m.waiters = std::max(0, int(d->queue.size()) - d->idle);
        m.timeouts = d->timeouts;
        m.checkouts = d->checkouts;
        waits = d->waitsMs;
    }
    if (!waits.empty()) {
        auto at = [&waits](double p) {
            const auto k = std::size_t(p * double(waits.size() - 1) + 0.5);
            std::nth_element(waits.begin(), waits.begin() + std::ptrdiff_t(k), waits.end());
            return double(waits[k]);
        };
        m.waitP50Ms = at(0.50);
        m.waitP99Ms = at(0.99);
    }
    return m;
}

ConnectionPool::SubmitAwaiter ConnectionPool::submit(std::function<void(QSqlDatabase&)> job)
{
    return SubmitAwaiter(this, std::move(job));
}

int ConnectionPool::awaitersAlive()
{
    return g_awaitersAlive.load();
}

ConnectionPool::SubmitAwaiter::SubmitAwaiter(ConnectionPool* pool, std::function<void(QSqlDatabase&)> job)
    : m_pool(pool)
    , m_job(std::move(job))
{
    ++g_awaitersAlive;
}

ConnectionPool::SubmitAwaiter::SubmitAwaiter(const SubmitAwaiter& other)
    : m_pool(other.m_pool)
    , m_job(other.m_job)
    , m_error(other.m_error)
{
    ++g_awaitersAlive;
}

ConnectionPool::SubmitAwaiter::SubmitAwaiter(SubmitAwaiter&& other) noexcept
    : m_pool(other.m_pool)
    , m_job(std::move(other.m_job))
    , m_error(std::move(other.m_error))
{
    ++g_awaitersAlive;
}

ConnectionPool::SubmitAwaiter::~SubmitAwaiter()
{
    --g_awaitersAlive;
}

bool ConnectionPool::SubmitAwaiter::await_suspend(std::coroutine_handle<> handle)
{
    return m_pool->d->enqueue(std::move(m_job), handle, &m_error);
}

void ConnectionPool::SubmitAwaiter::await_resume()
{
    if (m_error)
        std::rethrow_exception(m_error);
}

} // namespace flowdeck
