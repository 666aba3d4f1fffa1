#include "run/scheduler.h"

#include "run/threadpriority.h"

#include <QCoreApplication>
#include <QEvent>
#include <QSocketNotifier>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <sys/timerfd.h>
#include <unistd.h>
#include <utility>

namespace flowdeck {

namespace {

const QEvent::Type DrainEvent = static_cast<QEvent::Type>(QEvent::registerEventType());
const QEvent::Type InboxEvent = static_cast<QEvent::Type>(QEvent::registerEventType());

void resumeHandle(void* address, void*)
{
    std::coroutine_handle<>::from_address(address).resume();
}

} // namespace

Scheduler::Scheduler(QObject* parent)
    : QObject(parent)
    , m_timerFd(::timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC))
{
    // CLOCK_MONOTONIC is what std::chrono::steady_clock reads on Linux, so deadlines (nowNs()) arm it
    // as they are.
    if (m_timerFd < 0)
        qFatal("Scheduler: timerfd_create failed: %s", strerror(errno));
    m_timerNotifier = new QSocketNotifier(qintptr(m_timerFd), QSocketNotifier::Read, this);
    connect(m_timerNotifier, &QSocketNotifier::activated, this, [this] {
        std::uint64_t expirations = 0;
        [[maybe_unused]] const ssize_t n = ::read(m_timerFd, &expirations, sizeof expirations);
        fireDeadlines();
    });
    m_ready.reserve(1024);
    // This thread runs the event loop: when it wakes (a timer, input, a completion) it takes the core
    // from the batch writer or another process at once instead of after their slice.
    requestShortSlices();
}

Scheduler::~Scheduler()
{
    delete m_timerNotifier; // before its descriptor closes
    ::close(m_timerFd);
}

std::int64_t Scheduler::nowNs()
{
    return std::chrono::duration_cast<std::chrono::nanoseconds>(
               std::chrono::steady_clock::now().time_since_epoch())
        .count();
}

void Scheduler::schedule(Callback fn, void* a, TaskRun* run)
{
    m_ready.push_back({fn, a, run});
    requestDrain();
}

void Scheduler::schedule(std::coroutine_handle<> handle, TaskRun* run)
{
    schedule(&resumeHandle, handle.address(), run);
}

void Scheduler::post(std::coroutine_handle<> handle, TaskRun* run)
{
    bool wake = false;
    {
        std::lock_guard lock(m_inboxMutex);
        m_inbox.push_back({&resumeHandle, handle.address(), run});
        if (!m_inboxPosted) {
            m_inboxPosted = true;
            wake = true;
        }
    }
    if (wake)
        QCoreApplication::postEvent(this, new QEvent(InboxEvent));
}

void Scheduler::requestDrain()
{
    if (m_drainRequested || m_draining)
        return;
    m_drainRequested = true;
    QCoreApplication::postEvent(this, new QEvent(DrainEvent));
}

bool Scheduler::event(QEvent* event)
{
    if (event->type() == DrainEvent) {
        m_drainRequested = false;
        drain();
        return true;
    }
    if (event->type() == InboxEvent) {
        takeInbox();
        drain();
        return true;
    }
    return QObject::event(event);
}

void Scheduler::takeInbox()
{
    std::vector<Item> items;
    {
        std::lock_guard lock(m_inboxMutex);
        items.swap(m_inbox);
        m_inboxPosted = false;
    }
    m_ready.insert(m_ready.end(), items.begin(), items.end());
}

void Scheduler::drain()
{
    if (m_draining)
        return;
    m_draining = true;
    const std::int64_t start = nowNs();
    stampBeat(start);
    unsigned n = 0;
    while (m_head < m_ready.size()) {
        const Item item = m_ready[m_head++];
        m_current.store(item.run, std::memory_order_relaxed);
        item.fn(item.a, item.run);
        // A clock read every 32 items keeps the slice bounded; after a long item; every item while a
        // stall is watched.
        if ((++n & 31u) == 0 || std::exchange(m_longItem, false)
            || m_beatEachItem.load(std::memory_order_relaxed)) {
            const std::int64_t now = nowNs();
            stampBeat(now);
            if (now - start > SliceNs)
                break;
        }
    }
    m_current.store(nullptr, std::memory_order_relaxed);
    stampBeat(nowNs());
    m_draining = false;
    if (m_head >= m_ready.size()) {
        m_ready.clear();
        m_head = 0;
    } else {
        if (m_head > 4096 && m_head * 2 > m_ready.size()) {
            m_ready.erase(m_ready.begin(), m_ready.begin() + std::ptrdiff_t(m_head));
            m_head = 0;
        }
        // Let timers, input and painting in before the next slice.
        requestDrain();
    }
}

void Scheduler::addDeadline(std::int64_t dueNs, DeadlineCallback fn, void* arg, std::uint64_t token)
{
    m_deadlines.push_back({dueNs, m_deadlineSeq++, fn, arg, token});
    std::push_heap(m_deadlines.begin(), m_deadlines.end(), Later{});
    if (m_timerDue < 0 || dueNs < m_timerDue)
        armTimer();
}

void Scheduler::purgeDeadlines(const std::function<bool(void*)>& matches)
{
    const auto end = std::remove_if(m_deadlines.begin(), m_deadlines.end(),
                                    [&](const Deadline& d) { return matches(d.arg); });
    if (end == m_deadlines.end())
        return;
    m_deadlines.erase(end, m_deadlines.end());
    std::make_heap(m_deadlines.begin(), m_deadlines.end(), Later{});
    armTimer();
}

void Scheduler::armTimer()
{
    itimerspec spec{};
    if (m_deadlines.empty()) {
        ::timerfd_settime(m_timerFd, 0, &spec, nullptr); // disarms
        m_timerDue = -1;
        return;
    }
    const std::int64_t due = m_deadlines.front().due;
    // The loop wakes some time after the timer expires (measured ~0.1 ms on a 2-core VM: +1-2% on
    // 10 ms sleeps). Armed that much earlier, as learned from the wake-ups so far, it wakes about on
    // time; but never earlier than now, so an early wake-up re-arms for the deadline itself.
    const std::int64_t now = nowNs();
    std::int64_t at = due - m_wakeLatencyNs;
    if (at <= now)
        at = due;
    m_timerArmedAt = at > now ? at : -1;
    // Absolute time; one in the past (or 0) still fires at once, as a zero value would disarm.
    at = std::max<std::int64_t>(at, 1);
    spec.it_value.tv_sec = time_t(at / 1'000'000'000);
    spec.it_value.tv_nsec = long(at % 1'000'000'000);
    ::timerfd_settime(m_timerFd, TFD_TIMER_ABSTIME, &spec, nullptr);
    m_timerDue = due;
}

void Scheduler::fireDeadlines()
{
    if (m_timerArmedAt > 0) {
        // How late the loop woke for the timer: a moving average, bounded so that a stalled loop (which
        // the loop monitor reports) does not make every sleep end early.
        const std::int64_t late
            = std::clamp<std::int64_t>(nowNs() - m_timerArmedAt, 0, MaxWakeCompensationNs);
        m_wakeLatencyNs += (late - m_wakeLatencyNs) / 8;
        m_timerArmedAt = -1;
    }
    m_timerDue = -1;
    // Anything due within the kernel's timer slack (50 us for a normal thread) counts as due now.
    const std::int64_t start = nowNs();
    const std::int64_t now = start + 50'000;
    unsigned n = 0;
    while (!m_deadlines.empty() && m_deadlines.front().due <= now) {
        std::pop_heap(m_deadlines.begin(), m_deadlines.end(), Later{});
        const Deadline d = m_deadlines.back();
        m_deadlines.pop_back();
        d.fn(d.arg, d.token);
        // 100k sleeps may end at once: after a slice, timers, input and painting go first, and the
        // rest fire on the next turn (armTimer() arms for a time already past, so it fires at once).
        if ((++n & 31u) == 0 && nowNs() - start > SliceNs)
            break;
    }
    armTimer();
}

} // namespace flowdeck
