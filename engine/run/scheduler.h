#pragma once

#include <QObject>

#include <atomic>
#include <coroutine>
#include <cstdint>
#include <functional>
#include <mutex>
#include <vector>

class QSocketNotifier;

namespace flowdeck {

struct TaskRun;

/**
 * The engine's ready queue and deadline queue, on the thread that runs the coroutines.
 *
 * Everything that resumes a coroutine or starts a task run goes through one FIFO ready queue that
 * is drained in batches from a single posted event (time-sliced so a burst of 100k ready runs
 * never stalls the loop). Sleeps and timeouts of all task runs share one heap and one timer (a Linux
 * timerfd watched by the event loop: nanosecond deadlines, where a QTimer rounds to whole ms).
 * Worker threads hand completions back through post(), which wakes the loop once per batch.
 */
class Scheduler : public QObject {
    Q_OBJECT
public:
    using Callback = void (*)(void* a, void* b);
    using DeadlineCallback = void (*)(void* arg, std::uint64_t token);

    explicit Scheduler(QObject* parent = nullptr);
    ~Scheduler() override;

    //! Monotonic clock in nanoseconds.
    static std::int64_t nowNs();

    //! Calls fn(a, run) from the loop, after everything already queued. \a run is the task run the
    //! callback works for (or null); it is current() while the callback runs.
    void schedule(Callback fn, void* a, TaskRun* run);
    //! Resumes \a handle from the loop on behalf of \a run.
    void schedule(std::coroutine_handle<> handle, TaskRun* run);
    //! Same as schedule(handle, run), callable from any thread.
    void post(std::coroutine_handle<> handle, TaskRun* run);

    //! Calls fn(arg, token) from the loop once the monotonic clock reaches \a dueNs. Entries are not
    //! removed when their purpose goes away: the callback compares \a token with its current value.
    void addDeadline(std::int64_t dueNs, DeadlineCallback fn, void* arg, std::uint64_t token);
    //! Drops deadline entries whose arg matches, before what they point to is freed.
    void purgeDeadlines(const std::function<bool(void* arg)>& matches);

    //! The task run whose code runs on the loop right now, or null. Readable from any thread.
    TaskRun* current() const { return m_current.load(std::memory_order_relaxed); }

    //! Monotonic time of the loop's latest sign of life (heartbeat or drain), for the loop monitor.
    std::int64_t lastBeatNs() const { return m_beatNs.load(std::memory_order_relaxed); }
    void stampBeat(std::int64_t ns) { m_beatNs.store(ns, std::memory_order_relaxed); }
    //! While set, every ready item stamps the beat when it returns, so a stall's end is exact.
    void setBeatAfterEachItem(bool on) { m_beatEachItem.store(on, std::memory_order_relaxed); }

    std::size_t deadlineCount() const { return m_deadlines.size(); }
    //! Items in the ready queue, not run yet.
    std::size_t readyCount() const { return m_ready.size() - m_head; }

    /**
     * The item running now did a batch of work (up to a millisecond or so): the drain reads the clock
     * when it returns. Items are otherwise taken to be a few microseconds each and the clock is read
     * every 32 of them; 32 batches in a row would hold the loop for tens of milliseconds.
     */
    void noteLongItem() { m_longItem = true; }

    //! Awaitable that re-queues the awaiting coroutine at the back of the ready queue. Loops that
    //! yield do so after a batch: the item counts as long (noteLongItem).
    auto yield(TaskRun* run = nullptr)
    {
        struct Awaiter {
            Scheduler* scheduler;
            TaskRun* run;
            bool await_ready() const noexcept { return false; }
            void await_suspend(std::coroutine_handle<> h)
            {
                scheduler->noteLongItem();
                scheduler->schedule(h, run);
            }
            void await_resume() const noexcept {}
        };
        return Awaiter{this, run};
    }

protected:
    bool event(QEvent* event) override;

private:
    struct Item {
        Callback fn;
        void* a;
        TaskRun* run;
    };
    struct Deadline {
        std::int64_t due;
        std::uint64_t seq;
        DeadlineCallback fn;
        void* arg;
        std::uint64_t token;
    };
    struct Later {
        bool operator()(const Deadline& x, const Deadline& y) const
        {
            return x.due != y.due ? x.due > y.due : x.seq > y.seq;
        }
    };

    void requestDrain();
    void drain();
    void takeInbox();
    void fireDeadlines();
    void armTimer();

    std::vector<Item> m_ready;
    std::size_t m_head = 0;
    bool m_drainRequested = false;
    bool m_draining = false;
    bool m_longItem = false; //!< see noteLongItem()
    //! Longest time one drain may run before it yields to other events.
    static constexpr std::int64_t SliceNs = 1'000'000;

    std::mutex m_inboxMutex;
    std::vector<Item> m_inbox;
    bool m_inboxPosted = false;

    std::vector<Deadline> m_deadlines; // a heap ordered by Later
    std::uint64_t m_deadlineSeq = 0;
    static constexpr std::int64_t MaxWakeCompensationNs = 250'000;
    int m_timerFd = -1;
    std::int64_t m_timerArmedAt = -1; //!< when the armed timer expires (for the wake-up latency), or -1
    std::int64_t m_wakeLatencyNs = 0; //!< learned: how long after expiry the loop runs fireDeadlines()
    QSocketNotifier* m_timerNotifier = nullptr;
    std::int64_t m_timerDue = -1;

    std::atomic<TaskRun*> m_current{nullptr};
    std::atomic<std::int64_t> m_beatNs{0};
    std::atomic<bool> m_beatEachItem{false};
};

} // namespace flowdeck
