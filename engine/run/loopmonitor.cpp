#include "run/loopmonitor.h"

#include "run/clock.h"
#include "run/flowrun.h"
#include "run/scheduler.h"

#include <QTimer>

#include <algorithm>
#include <chrono>

namespace flowdeck {

namespace {

constexpr std::int64_t HeartbeatNs = 10'000'000;
constexpr std::int64_t WindowNs = 60'000'000'000;
constexpr auto WatchInterval = std::chrono::milliseconds(5);
constexpr size_t MaxKeptStalls = 500;

} // namespace

LoopMonitor::LoopMonitor(Scheduler& scheduler, QObject* parent)
    : QObject(parent)
    , m_scheduler(scheduler)
    , m_heartbeat(new QTimer(this))
{
    qRegisterMetaType<flowdeck::RunId>();
    qRegisterMetaType<flowdeck::StallRecord>();
    m_heartbeat->setTimerType(Qt::PreciseTimer);
    m_heartbeat->setInterval(int(HeartbeatNs / 1'000'000));
    connect(m_heartbeat, &QTimer::timeout, this, &LoopMonitor::beat);
}

LoopMonitor::~LoopMonitor()
{
    stop();
}

void LoopMonitor::start()
{
    if (m_thread.joinable())
        return;
    const std::int64_t now = Scheduler::nowNs();
    m_scheduler.stampBeat(now);
    m_expectedNs = now + HeartbeatNs;
    m_heartbeat->start();
    {
        std::lock_guard lock(m_mutex);
        m_stop = false;
        // Started again after a stop: what the loop did while nobody watched is not a stall.
        m_inStall = false;
        m_pending.clear();
        m_scheduler.setBeatAfterEachItem(false);
    }
    m_thread = std::thread([this] { watch(); });
}

void LoopMonitor::stop()
{
    if (!m_thread.joinable())
        return;
    {
        std::lock_guard lock(m_mutex);
        m_stop = true;
    }
    m_wake.notify_all();
    m_thread.join(); // the watcher wakes every few ms and never waits on the loop
    m_heartbeat->stop();
}

void LoopMonitor::beat()
{
    const std::int64_t now = Scheduler::nowNs();
    m_scheduler.stampBeat(now);
    const float lagMs = float(std::max<std::int64_t>(0, now - m_expectedNs)) / 1e6f;
    m_expectedNs = now + HeartbeatNs;
    m_samples.push_back({now, lagMs});
    while (!m_samples.empty() && now - m_samples.front().atNs > WindowNs)
        m_samples.pop_front();
}

void LoopMonitor::watch()
{
    std::unique_lock lock(m_mutex);
    while (!m_stop) {
        m_wake.wait_for(lock, WatchInterval);
        if (m_stop)
            break;
        const std::int64_t now = Scheduler::nowNs();
        const std::int64_t beat = m_scheduler.lastBeatNs();
        if (m_inStall) {
            if (beat == m_stallBeat)
                continue; // still blocked
            m_inStall = false;
            m_scheduler.setBeatAfterEachItem(false);
            m_current.durationUs = (beat - m_stallBeat) / 1000;
            m_pending.push_back(m_current);
            QMetaObject::invokeMethod(this, &LoopMonitor::deliverPending, Qt::QueuedConnection);
            continue;
        }
        if (now - beat <= m_thresholdNs.load(std::memory_order_relaxed))
            continue;
        m_inStall = true;
        m_stallBeat = beat;
        m_scheduler.setBeatAfterEachItem(true); // the end of the stall gets an exact stamp
        m_current = StallRecord{};
        m_current.startUs = wallUs() - (now - beat) / 1000;
        // The loop is stuck inside this run's code, so the run's identity is not changing under us.
        if (TaskRun* run = m_scheduler.current()) {
            m_current.taskRun = run;
            m_current.taskRunId = run->id;
            m_current.flowRun = run->flowRun;
            m_current.flowRunId = run->flowRun->id;
            m_current.task = taskRunLabel(*run);
            m_current.taskId = run->taskId();
            m_current.mapIndex = run->mapIndex;
        }
        const QString task = m_current.task;
        const RunId id = m_current.taskRunId;
        lock.unlock();
        Q_EMIT stallDetected((now - beat) / 1'000'000, task, id);
        lock.lock();
    }
}

void LoopMonitor::settle()
{
    std::vector<StallRecord> ready;
    {
        std::lock_guard lock(m_mutex);
        // This runs on the loop, so the loop is alive now: a stall in progress ends here.
        const std::int64_t beat = Scheduler::nowNs();
        m_scheduler.stampBeat(beat);
        if (m_inStall && beat != m_stallBeat) {
            m_inStall = false;
            m_scheduler.setBeatAfterEachItem(false);
            m_current.durationUs = (beat - m_stallBeat) / 1000;
            m_pending.push_back(m_current);
        }
        ready.swap(m_pending);
    }
    for (StallRecord& record : ready)
        finishStall(std::move(record));
}

void LoopMonitor::deliverPending()
{
    std::vector<StallRecord> ready;
    {
        std::lock_guard lock(m_mutex);
        ready.swap(m_pending);
    }
    for (StallRecord& record : ready)
        finishStall(std::move(record));
}

void LoopMonitor::finishStall(StallRecord record)
{
    ++m_stallCount;
    m_stallTotalUs += record.durationUs;
    m_stalls.push_back(record);
    if (m_stalls.size() > MaxKeptStalls)
        m_stalls.pop_front();
    Q_EMIT stallEnded(record);
}

LagStats LoopMonitor::lagStats() const
{
    LagStats stats;
    if (m_samples.empty())
        return stats;
    // The sample in progress: how late the next heartbeat already is.
    stats.now = std::max(double(m_samples.back().lagMs),
                         double(std::max<std::int64_t>(0, Scheduler::nowNs() - m_expectedNs)) / 1e6);
    std::vector<float> lags;
    lags.reserve(m_samples.size());
    for (const Sample& s : m_samples)
        lags.push_back(s.lagMs);
    std::sort(lags.begin(), lags.end());
    auto at
        = [&](double q) { return double(lags[std::min(lags.size() - 1, size_t(q * double(lags.size())))]); };
    stats.p50 = at(0.50);
    stats.p99 = at(0.99);
    stats.max = std::max(double(lags.back()), stats.now);
    stats.samples = int(lags.size());
    return stats;
}

std::vector<double> LoopMonitor::lagPerSecond() const
{
    std::vector<double> out(60, 0.0);
    const std::int64_t now = Scheduler::nowNs();
    for (const Sample& s : m_samples) {
        const std::int64_t age = (now - s.atNs) / 1'000'000'000;
        if (age >= 0 && age < 60)
            out[size_t(59 - age)] = std::max(out[size_t(59 - age)], double(s.lagMs));
    }
    return out;
}

} // namespace flowdeck
