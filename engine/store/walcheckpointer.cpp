#include "store/walcheckpointer.h"

#include "run/threadpriority.h"
#include "store/store.h"

#include <pthread.h>
#include <sqlite3.h>

namespace flowdeck {

WalCheckpointer::WalCheckpointer(const QString& path)
    : m_path(path.toUtf8())
    , m_thread([this] { run(); })
{
}
WalCheckpointer::~WalCheckpointer()
{
    {
        std::lock_guard lock(m_mutex);
        m_stop = true;
    }
    m_wake.notify_one();
    m_thread.join();
}

void WalCheckpointer::wrote(quint64 rows)
{
    constexpr quint64 CheckpointEveryRows = 8192;
    bool wake = false;
    {
        std::lock_guard lock(m_mutex);
        m_rows += rows;
        if (m_rows >= CheckpointEveryRows && !m_requested) {
            m_rows = 0;
            m_requested = wake = true;
        }
    }
    if (wake)
        m_wake.notify_one();
}

void WalCheckpointer::run()
{
    pthread_setname_np(pthread_self(), "flowdeck-ckpt");
    lowerCurrentThreadPriority(BackgroundLevel::Maintenance);
    sqlite3* db = nullptr;
    std::unique_lock lock(m_mutex);
    for (;;) {
        m_wake.wait(lock, [this] { return m_stop || m_requested; });
        if (m_stop)
            break;
        lock.unlock();
        if (!db && !m_failed) {
            // The file exists and is in WAL mode: a batch was committed to it.
            // A read makes the new connection see the WAL: until then it checkpoints nothing.
            if (sqlite3_open_v2(m_path.constData(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, nullptr)
                    != SQLITE_OK
                || sqlite3_exec(db, "SELECT count(*) FROM sqlite_master", nullptr, nullptr, nullptr)
                    != SQLITE_OK) {
                qCWarning(lcStore) << "cannot open the database for checkpoints:"
                                   << (db ? sqlite3_errmsg(db) : "out of memory");
                sqlite3_close(db);
                db = nullptr;
                m_failed = true; // the writer's own checkpoints (at a higher limit) remain
            }
        }
        if (db) {
            // PASSIVE: copies what no reader still needs, without waiting for or blocking anyone.
            int logFrames = 0;
            int copiedFrames = 0;
            const int rc = sqlite3_wal_checkpoint_v2(db, nullptr, SQLITE_CHECKPOINT_PASSIVE, &logFrames,
                                                     &copiedFrames);
            if (rc == SQLITE_OK && copiedFrames > 0)
                m_done.fetch_add(1, std::memory_order_relaxed);
            else if (rc != SQLITE_BUSY)
                qCWarning(lcStore) << "checkpointing the WAL failed:" << sqlite3_errmsg(db);
        }
        lock.lock();
        m_requested = false;
    }
    lock.unlock();
    sqlite3_close(db);
}

} // namespace flowdeck
