#pragma once

#include "run/engineobserver.h"

#include <QList>
#include <QObject>
#include <QString>

#include <atomic>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <thread>
#include <vector>

class QTimer;

namespace flowdeck {

class Scheduler;

//! Event-loop lag over the last minute, in milliseconds.
struct LagStats {
    double now = 0;
    double p50 = 0;
    double p99 = 0;
    double max = 0;
    int samples = 0;
};

/**
 * Watches the event loop from its own thread. The loop stamps a heartbeat (a 10 ms timer, and the
 * scheduler's drains); the monitor thread notices a heartbeat older than the threshold while the
 * loop is still stuck, reads which task run the scheduler was running, and reports the stall when
 * the loop is free again.
 */
class LoopMonitor : public QObject {
    Q_OBJECT
public:
    static constexpr int DefaultThresholdMs = 100;

    explicit LoopMonitor(Scheduler& scheduler, QObject* parent = nullptr);
    ~LoopMonitor() override;

    void start();
    void stop();
    bool isRunning() const { return m_thread.joinable(); }

    void setThresholdMs(int ms)
    {
        m_thresholdNs.store(std::int64_t(ms) * 1'000'000, std::memory_order_relaxed);
    }
    int thresholdMs() const { return int(m_thresholdNs.load(std::memory_order_relaxed) / 1'000'000); }

    //! Lag now and percentiles over the last 60 s.
    LagStats lagStats() const;
    //! Largest lag per second over the last 60 s, oldest first (60 values, ms).
    std::vector<double> lagPerSecond() const;
    //! Most recent stalls, newest last (bounded).
    const std::deque<StallRecord>& recentStalls() const { return m_stalls; }
    quint64 stallCount() const { return m_stallCount; }
    //! Reports, now and on this thread, a stall that has ended but not been reported yet. The engine
    //! calls it before a flow run finishes so that the run's stalls are counted with it.
    void settle();
    qint64 stallTotalUs() const { return m_stallTotalUs; }

Q_SIGNALS:
    /**
     * Emitted FROM THE MONITOR THREAD while the loop is still blocked (connect with
     * Qt::DirectConnection to act on it now). \a task is empty when no task run was on the loop.
     */
    void stallDetected(qint64 blockedForMs, const QString& task, flowdeck::RunId taskRunId);
    //! Emitted on the loop thread once the stall is over.
    void stallEnded(const flowdeck::StallRecord& stall);

private:
    void beat();
    void watch();
    void deliverPending();
    void finishStall(StallRecord record);

    Scheduler& m_scheduler;
    QTimer* m_heartbeat = nullptr;
    std::int64_t m_expectedNs = 0;

    std::atomic<std::int64_t> m_thresholdNs{std::int64_t(DefaultThresholdMs) * 1'000'000};
    std::thread m_thread;
    std::mutex m_mutex;
    std::condition_variable m_wake;
    bool m_stop = false;
    // Shared with the monitor thread, under m_mutex:
    bool m_inStall = false;
    std::int64_t m_stallBeat = 0;
    StallRecord m_current;
    std::vector<StallRecord> m_pending;

    struct Sample {
        std::int64_t atNs;
        float lagMs;
    };
    std::deque<Sample> m_samples; // loop thread only
    std::deque<StallRecord> m_stalls;
    quint64 m_stallCount = 0;
    qint64 m_stallTotalUs = 0;
};

} // namespace flowdeck
