#pragma once

#include <QThreadPool>

#include <atomic>
#include <functional>

namespace flowdeck {

//! Counts of the blocking pool at one instant.
struct BlockingPoolStats {
    int maxThreads = 0;
    int busy = 0;   //!< bodies running now
    int queued = 0; //!< bodies submitted but not started
    quint64 completed = 0;
};

/**
 * A dedicated QThreadPool for blocking task bodies (never the global pool, whose size follows the
 * CPU count: 2 threads here would turn 350 one-second calls into three minutes).
 * Sized for blocking I/O, like anyio's 40 worker threads.
 */
class BlockingPool {
public:
    static constexpr int DefaultThreads = 40;

    explicit BlockingPool(int maxThreads = DefaultThreads);
    ~BlockingPool();
    BlockingPool(const BlockingPool&) = delete;
    BlockingPool& operator=(const BlockingPool&) = delete;

    void setMaxThreads(int threads);
    int maxThreads() const;
    BlockingPoolStats stats() const;

    //! Runs \a body on a pool thread (through QtConcurrent::run on this pool).
    void submit(std::function<void()> body);

    QThreadPool* threadPool() { return &m_pool; }

private:
    QThreadPool m_pool;
    std::atomic<int> m_busy{0};
    std::atomic<int> m_queued{0};
    std::atomic<quint64> m_completed{0};
};

} // namespace flowdeck
