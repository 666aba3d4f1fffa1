#include "run/blockingpool.h"

#include "run/threadpriority.h"

#include <QtConcurrent/QtConcurrentRun>

namespace flowdeck {

BlockingPool::BlockingPool(int maxThreads)
{
    m_pool.setObjectName(QStringLiteral("flowdeck-blocking"));
    setMaxThreads(maxThreads);
}

BlockingPool::~BlockingPool()
{
    // Bodies check their cancellation tokens; the engine cancels them before it goes away.
    m_pool.waitForDone();
}

void BlockingPool::setMaxThreads(int threads)
{
    m_pool.setMaxThreadCount(std::max(1, threads));
}

int BlockingPool::maxThreads() const
{
    return m_pool.maxThreadCount();
}

BlockingPoolStats BlockingPool::stats() const
{
    BlockingPoolStats s;
    s.maxThreads = m_pool.maxThreadCount();
    s.busy = m_busy.load(std::memory_order_relaxed);
    s.queued = m_queued.load(std::memory_order_relaxed);
    s.completed = m_completed.load(std::memory_order_relaxed);
    return s;
}

void BlockingPool::submit(std::function<void()> body)
{
    m_queued.fetch_add(1, std::memory_order_relaxed);
    // The future is not needed: completion is reported through the engine's ready queue.
    (void)QtConcurrent::run(&m_pool, [this, body = std::move(body)] {
        m_queued.fetch_sub(1, std::memory_order_relaxed);
        thread_local bool lowered = false; // once per pool thread: the GUI thread comes first
        if (!lowered) {
            lowerCurrentThreadPriority(BackgroundLevel::Blocking);
            lowered = true;
        }
        m_busy.fetch_add(1, std::memory_order_relaxed);
        body();
        m_busy.fetch_sub(1, std::memory_order_relaxed);
        m_completed.fetch_add(1, std::memory_order_relaxed);
    });
}

} // namespace flowdeck
