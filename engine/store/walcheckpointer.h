#pragma once

#include <QByteArray>
#include <QString>

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <thread>

namespace flowdeck {

/**
 * Copies SQLite's WAL into the database file (passive checkpoints) on its own thread and connection,
 * so that the copying runs beside the next batch instead of inside a commit (see DeferredCheckpoints).
 * The thread runs below the database threads (lowerCurrentThreadPriority): it never holds up the GUI thread.
 */
class WalCheckpointer {
public:
    //! Starts the checkpoint thread for the SQLite file at \a path.
    explicit WalCheckpointer(const QString& path);
    ~WalCheckpointer();
    WalCheckpointer(const WalCheckpointer&) = delete;
    WalCheckpointer& operator=(const WalCheckpointer&) = delete;

    //! Checkpoints that copied the WAL (fully or in part) so far.
    quint64 checkpoints() const { return m_done.load(std::memory_order_relaxed); }

    //! \a rows were committed (called on a database thread): checkpoints once enough were.
    void wrote(quint64 rows);

private:
    void run();

    const QByteArray m_path;
    std::mutex m_mutex;
    std::condition_variable m_wake;
    quint64 m_rows = 0;
    bool m_requested = false;
    bool m_stop = false;
    bool m_failed = false;
    std::atomic<quint64> m_done{0};
    std::thread m_thread; // last: started once everything above is initialised
};

} // namespace flowdeck
