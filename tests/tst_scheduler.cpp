// The scheduler on its own: the FIFO ready queue drained in time-sliced batches, the deadline queue
// behind one timer, and hand-offs from other threads. Every test runs inside an event loop with a
// watchdog, so a lost wake-up fails the test instead of hanging it.
#include "run/flowrun.h"
#include "run/scheduler.h"

#include <QCoro/QCoroTask>
#include <QEventLoop>
#include <QSocketNotifier>
#include <QTest>
#include <QThread>
#include <QTimer>

#include <algorithm>
#include <chrono>
#include <coroutine>
#include <thread>
#include <vector>

using namespace flowdeck;

namespace {

constexpr int WatchdogMs = 10000;
// fireDeadlines() counts a deadline within the kernel's timer slack (50 us) as due.
constexpr std::int64_t TimerSlackNs = 50'000;

std::int64_t msToNs(double ms)
{
    return std::int64_t(ms * 1e6);
}

//! Runs the event loop until \a loop is quit, or the watchdog ends it; returns false on the watchdog.
bool runLoop(QEventLoop& loop, int timeoutMs = WatchdogMs)
{
    bool timedOut = false;
    QTimer watchdog;
    watchdog.setSingleShot(true);
    QObject::connect(&watchdog, &QTimer::timeout, &loop, [&] {
        timedOut = true;
        loop.quit();
    });
    watchdog.start(timeoutMs);
    loop.exec();
    return !timedOut;
}

//! Busy-waits (on purpose: a ready item that keeps the loop's thread working).
void spinFor(std::chrono::microseconds duration)
{
    const auto end = std::chrono::steady_clock::now() + duration;
    while (std::chrono::steady_clock::now() < end) {}
}

//! Counts the events of some kind delivered to some objects, from the moment it is installed.
class EventCounter : public QObject {
public:
    EventCounter(QObject* watched, std::function<bool(QObject*, QEvent*)> counts)
        : m_watched(watched)
        , m_counts(std::move(counts))
    {
        m_watched->installEventFilter(this);
    }
    ~EventCounter() override { m_watched->removeEventFilter(this); }
    int count = 0;

protected:
    bool eventFilter(QObject* object, QEvent* event) override
    {
        if (m_counts(object, event))
            ++count;
        return false;
    }

private:
    QObject* m_watched;
    std::function<bool(QObject*, QEvent*)> m_counts;
};

//! One fired deadline: which, when (monotonic ns), and what it was due at.
struct Fired {
    std::uint64_t token;
    std::int64_t dueNs;
    std::int64_t atNs;
};

//! Collects fired deadlines; quits \a loop once \a expected have fired.
struct DeadlineLog {
    std::vector<std::int64_t> dueByToken;
    std::vector<Fired> fired;
    std::size_t expected = 0;
    QEventLoop* loop = nullptr;

    static void onDue(void* arg, std::uint64_t token)
    {
        auto* log = static_cast<DeadlineLog*>(arg);
        log->fired.push_back({token, log->dueByToken.at(token), Scheduler::nowNs()});
        if (log->fired.size() == log->expected && log->loop)
            log->loop->quit();
    }
    //! Adds a deadline \a inMs from now; its token is its index in dueByToken.
    void add(Scheduler& scheduler, double inMs)
    {
        const std::int64_t due = Scheduler::nowNs() + msToNs(inMs);
        const auto token = std::uint64_t(dueByToken.size());
        dueByToken.push_back(due);
        scheduler.addDeadline(due, &DeadlineLog::onDue, this, token);
    }
};

//! Stores the handle of the coroutine that awaits it, without resuming it.
struct Park {
    std::vector<std::coroutine_handle<>>* handles;
    bool await_ready() const noexcept { return false; }
    void await_suspend(std::coroutine_handle<> h) { handles->push_back(h); }
    void await_resume() const noexcept {}
};

} // namespace

class TestScheduler : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void readyQueueRunsInScheduleOrder()
    {
        Scheduler scheduler;
        TaskRun runs[3];
        QEventLoop loop;
        struct Context {
            Scheduler* scheduler;
            QEventLoop* loop;
            std::vector<int> order;
            std::vector<TaskRun*> current;
        } ctx{&scheduler, &loop, {}, {}};
        struct Item {
            Context* ctx;
            int id;
        };
        std::vector<Item> items;
        items.reserve(200);
        for (int i = 0; i < 200; ++i)
            items.push_back({&ctx, i});

        const auto record = [](void* a, void*) {
            auto* item = static_cast<Item*>(a);
            Context& c = *item->ctx;
            c.order.push_back(item->id);
            c.current.push_back(c.scheduler->current());
        };
        // Items scheduled while the queue drains go behind everything already queued.
        const auto recordAndRequeue = [](void* a, void*) {
            auto* item = static_cast<Item*>(a);
            Context& c = *item->ctx;
            c.order.push_back(item->id);
            c.current.push_back(c.scheduler->current());
            Item* next = item + 100;
            c.scheduler->schedule(
                [](void* a2, void*) {
                    auto* later = static_cast<Item*>(a2);
                    later->ctx->order.push_back(later->id);
                    if (later->id == 190)
                        later->ctx->loop->quit();
                },
                next, nullptr);
        };

        const std::int64_t beatBefore = scheduler.lastBeatNs();
        for (int i = 0; i < 100; ++i) {
            if (i % 10 == 0)
                scheduler.schedule(recordAndRequeue, &items[size_t(i)], &runs[i % 3]);
            else
                scheduler.schedule(record, &items[size_t(i)], &runs[i % 3]);
        }
        QVERIFY2(ctx.order.empty(), "schedule() must not run anything before the loop does");
        QVERIFY(runLoop(loop));

        std::vector<int> expected;
        for (int i = 0; i < 100; ++i)
            expected.push_back(i);
        for (int i = 0; i < 100; i += 10)
            expected.push_back(i + 100);
        QCOMPARE(ctx.order, expected);
        for (int i = 0; i < 100; ++i)
            QCOMPARE(ctx.current[size_t(i)], &runs[i % 3]);
        QCOMPARE(scheduler.current(), nullptr);
        QVERIFY(scheduler.lastBeatNs() > beatBefore);
    }

    void yieldGoesToTheBackOfTheQueue()
    {
        Scheduler scheduler;
        QStringList log;
        QEventLoop loop;
        const auto yielder = [&](QString name) -> QCoro::Task<> {
            log << name + u'1';
            co_await scheduler.yield();
            log << name + u'2';
            co_await scheduler.yield();
            log << name + u'3';
            if (name == u"b")
                loop.quit();
        };
        auto a = yielder(QStringLiteral("a"));
        auto b = yielder(QStringLiteral("b"));
        QCOMPARE(log, QStringList({QStringLiteral("a1"), QStringLiteral("b1")}));
        QVERIFY(runLoop(loop));
        QCOMPARE(log,
                 QStringList({QStringLiteral("a1"), QStringLiteral("b1"), QStringLiteral("a2"),
                              QStringLiteral("b2"), QStringLiteral("a3"), QStringLiteral("b3")}));
    }

    void drainsManyItemsFromFewPostedEvents()
    {
        Scheduler scheduler;
        EventCounter posted(&scheduler, [](QObject*, QEvent* e) { return e->type() >= QEvent::User; });
        constexpr int Items = 10000;
        struct Context {
            int done = 0;
            QEventLoop loop;
        } ctx;
        for (int i = 0; i < Items; ++i) {
            scheduler.schedule(
                [](void* a, void*) {
                    auto* c = static_cast<Context*>(a);
                    if (++c->done == Items)
                        c->loop.quit();
                },
                &ctx, nullptr);
        }
        QVERIFY(runLoop(ctx.loop));
        QCOMPARE(ctx.done, Items);
        // One posted event per batch, not per item; a loaded machine may cut a few more slices.
        QVERIFY2(posted.count >= 1 && posted.count <= 50,
                 qPrintable(QStringLiteral("%1 posted events for %2 items").arg(posted.count).arg(Items)));
    }

    void loopStaysResponsiveWhileItDrains()
    {
        Scheduler scheduler;
        // 15000 items of 20 us each: 300 ms of work queued at once. Drained in slices of a few ms (the
        // clock is read every 32 items), a 5 ms timer keeps ticking all along; drained in one go, it
        // would not tick before the last item. Progress is counted in items, not time, so a loaded
        // machine that preempts the test only stretches it.
        constexpr int Items = 15000;
        struct Context {
            int done = 0;
            QEventLoop loop;
        } ctx;
        std::vector<int> doneAtTick;
        QTimer ticker;
        ticker.setTimerType(Qt::PreciseTimer);
        connect(&ticker, &QTimer::timeout, this, [&] { doneAtTick.push_back(ctx.done); });
        ticker.start(5);
        for (int i = 0; i < Items; ++i) {
            scheduler.schedule(
                [](void* a, void*) {
                    spinFor(std::chrono::microseconds(20));
                    auto* c = static_cast<Context*>(a);
                    if (++c->done == Items)
                        c->loop.quit();
                },
                &ctx, nullptr);
        }
        QVERIFY(runLoop(ctx.loop));
        ticker.stop();
        QCOMPARE(ctx.done, Items);

        const auto during
            = std::count_if(doneAtTick.begin(), doneAtTick.end(), [](int d) { return d < Items; });
        const bool inFirstHalf
            = std::any_of(doneAtTick.begin(), doneAtTick.end(), [](int d) { return d < Items / 2; });
        const bool inSecondHalf = std::any_of(doneAtTick.begin(), doneAtTick.end(),
                                              [](int d) { return d >= Items / 2 && d < Items; });
        QVERIFY2(during >= 5,
                 qPrintable(QStringLiteral("only %1 timer ticks while 300 ms of items drained").arg(during)));
        QVERIFY(inFirstHalf);
        QVERIFY(inSecondHalf);
    }

    void aLongItemEndsTheSlice()
    {
        Scheduler scheduler;
        EventCounter posted(&scheduler, [](QObject*, QEvent* e) { return e->type() >= QEvent::User; });
        // Fewer items than the 32 between two clock reads, each a batch longer than a slice (1 ms).
        // Noted as long, each ends its slice, and the loop gets its turn in between; read every 32
        // items only, all would run in one go (40 ms).
        constexpr int Items = 20;
        struct Context {
            Scheduler* scheduler = nullptr;
            int done = 0;
            QEventLoop loop;
        } ctx;
        ctx.scheduler = &scheduler;
        for (int i = 0; i < Items; ++i) {
            scheduler.schedule(
                [](void* a, void*) {
                    auto* c = static_cast<Context*>(a);
                    spinFor(std::chrono::microseconds(2000));
                    c->scheduler->noteLongItem();
                    if (++c->done == Items)
                        c->loop.quit();
                },
                &ctx, nullptr);
        }
        QVERIFY(runLoop(ctx.loop));
        QCOMPARE(ctx.done, Items);
        QVERIFY2(
            posted.count >= Items,
            qPrintable(QStringLiteral("%1 posted events for %2 long items").arg(posted.count).arg(Items)));
    }

    void postedHandlesResumeOnTheLoopInOrder()
    {
        Scheduler scheduler;
        constexpr int Threads = 4;
        constexpr int PerThread = 250;
        std::vector<std::coroutine_handle<>> handles;
        std::vector<int> order;
        int offLoop = 0;
        QEventLoop loop;
        const Qt::HANDLE loopThread = QThread::currentThreadId();
        const auto parked = [&](int id) -> QCoro::Task<> {
            co_await Park{&handles};
            if (QThread::currentThreadId() != loopThread)
                ++offLoop;
            order.push_back(id);
            if (int(order.size()) == Threads * PerThread)
                loop.quit();
        };
        std::vector<QCoro::Task<>> tasks;
        for (int i = 0; i < Threads * PerThread; ++i)
            tasks.push_back(parked(i));
        QCOMPARE(int(handles.size()), Threads * PerThread);

        EventCounter posted(&scheduler, [](QObject*, QEvent* e) { return e->type() >= QEvent::User; });
        std::vector<std::thread> threads;
        for (int t = 0; t < Threads; ++t) {
            threads.emplace_back([&, t] {
                for (int k = 0; k < PerThread; ++k)
                    scheduler.post(handles[size_t(t * PerThread + k)], nullptr);
            });
        }
        for (auto& thread : threads)
            thread.join();
        QVERIFY2(order.empty(), "post() must resume on the loop, not on the posting thread");
        QVERIFY(runLoop(loop));

        QCOMPARE(offLoop, 0);
        QCOMPARE(int(order.size()), Threads * PerThread);
        // Each thread's posts keep their order.
        for (int t = 0; t < Threads; ++t) {
            std::vector<int> mine;
            std::copy_if(order.begin(), order.end(), std::back_inserter(mine),
                         [t](int id) { return id / PerThread == t; });
            QVERIFY(std::is_sorted(mine.begin(), mine.end()));
        }
        // 1000 posts while the loop was busy: one wake-up (plus a few slices on a loaded machine).
        QVERIFY2(posted.count >= 1 && posted.count <= 20,
                 qPrintable(QStringLiteral("%1 posted events for 1000 posts").arg(posted.count)));
    }

    void deadlinesFireInDueOrderAndNotEarly()
    {
        Scheduler scheduler;
        QEventLoop loop;
        DeadlineLog log;
        log.loop = &loop;
        // Added out of order; 10 ms twice: equal deadlines fire in the order they were added.
        for (double ms : {30.0, 10.0, 50.0, 20.0, 10.0, 40.0, 1.0})
            log.add(scheduler, ms);
        log.expected = log.dueByToken.size();
        QCOMPARE(scheduler.deadlineCount(), log.expected);
        QVERIFY(runLoop(loop));

        QCOMPARE(log.fired.size(), log.expected);
        std::vector<std::uint64_t> tokens;
        for (const Fired& f : log.fired) {
            tokens.push_back(f.token);
            QVERIFY2(f.atNs >= f.dueNs - TimerSlackNs,
                     qPrintable(QStringLiteral("deadline %1 fired %2 us early")
                                    .arg(f.token)
                                    .arg((f.dueNs - f.atNs) / 1000)));
        }
        QCOMPARE(tokens, (std::vector<std::uint64_t>{6, 1, 4, 3, 0, 5, 2}));
        QCOMPARE(scheduler.deadlineCount(), std::size_t(0));
    }

    void purgedDeadlinesNeverFire()
    {
        Scheduler scheduler;
        QEventLoop loop;
        DeadlineLog kept;
        kept.loop = &loop;
        DeadlineLog purged;
        // The earliest deadline is purged too: the timer must re-arm for the next one.
        purged.add(scheduler, 10);
        kept.add(scheduler, 30);
        purged.add(scheduler, 20);
        kept.add(scheduler, 60);
        QCOMPARE(scheduler.deadlineCount(), std::size_t(4));
        scheduler.purgeDeadlines([&](void* arg) { return arg == &purged; });
        QCOMPARE(scheduler.deadlineCount(), std::size_t(2));
        kept.expected = 2;
        QVERIFY(runLoop(loop));

        QCOMPARE(int(kept.fired.size()), 2);
        QCOMPARE(kept.fired[0].token, std::uint64_t(0));
        QCOMPARE(kept.fired[1].token, std::uint64_t(1));
        for (const Fired& f : kept.fired)
            QVERIFY(f.atNs >= f.dueNs - TimerSlackNs);
        // Both purged deadlines were due well before the last kept one fired.
        QVERIFY(kept.fired[1].atNs > purged.dueByToken[1]);
        QVERIFY(purged.fired.empty());
        QCOMPARE(scheduler.deadlineCount(), std::size_t(0));
    }

    void dueDeadlinesYieldToTheLoopAfterASlice()
    {
        Scheduler scheduler;
        // 400 sleeps that end at the same moment, each callback busy for 50 us: 20 ms of work due at
        // once. Fired in slices, a 1 ms timer ticks between them; fired in one go, it would not tick
        // before the last one. Progress is counted in callbacks, so a loaded machine only stretches it.
        constexpr int Sleeps = 400;
        struct Context {
            int fired = 0;
            QEventLoop loop;
        } ctx;
        const std::int64_t due = Scheduler::nowNs() + msToNs(5);
        for (int i = 0; i < Sleeps; ++i) {
            scheduler.addDeadline(
                due,
                [](void* arg, std::uint64_t) {
                    spinFor(std::chrono::microseconds(50));
                    auto* c = static_cast<Context*>(arg);
                    if (++c->fired == Sleeps)
                        c->loop.quit();
                },
                &ctx, 0);
        }
        std::vector<int> firedAtTick;
        QTimer ticker;
        ticker.setTimerType(Qt::PreciseTimer);
        connect(&ticker, &QTimer::timeout, this, [&] { firedAtTick.push_back(ctx.fired); });
        ticker.start(1);
        QVERIFY(runLoop(ctx.loop));
        ticker.stop();
        QCOMPARE(ctx.fired, Sleeps);
        const auto between = std::count_if(firedAtTick.begin(), firedAtTick.end(),
                                           [](int f) { return f > 0 && f < Sleeps; });
        QVERIFY2(
            between >= 2,
            qPrintable(QStringLiteral("%1 timer ticks while 20 ms of due deadlines fired").arg(between)));
        QCOMPARE(scheduler.deadlineCount(), std::size_t(0));
    }

    void manyDeadlinesShareOneTimer()
    {
        Scheduler scheduler;
        QCOMPARE(scheduler.findChildren<QTimer*>().size(), 0);
        const QList<QSocketNotifier*> notifiers = scheduler.findChildren<QSocketNotifier*>();
        QCOMPARE(notifiers.size(), 1);

        // Every timer event anywhere in the application, and every wake-up of the scheduler's timer.
        EventCounter timerEvents(QCoreApplication::instance(),
                                 [](QObject*, QEvent* e) { return e->type() == QEvent::Timer; });
        EventCounter wakeUps(notifiers.first(),
                             [](QObject*, QEvent* e) { return e->type() == QEvent::SockAct; });

        QEventLoop loop;
        DeadlineLog log;
        log.loop = &loop;
        // 10000 sleeps over ten distinct deadlines, 10 ms apart.
        constexpr int Sleeps = 10000;
        log.dueByToken.reserve(Sleeps);
        const std::int64_t start = Scheduler::nowNs();
        for (int i = 0; i < Sleeps; ++i) {
            const std::int64_t due = start + msToNs(10.0 * (1 + i % 10));
            log.dueByToken.push_back(due);
            scheduler.addDeadline(due, &DeadlineLog::onDue, &log, std::uint64_t(i));
        }
        log.expected = Sleeps;
        QCOMPARE(scheduler.deadlineCount(), std::size_t(Sleeps));
        QCOMPARE(scheduler.findChildren<QTimer*>().size(), 0);
        QVERIFY(runLoop(loop));

        QCOMPARE(int(log.fired.size()), Sleeps);
        QVERIFY(std::is_sorted(log.fired.begin(), log.fired.end(),
                               [](const Fired& x, const Fired& y) { return x.dueNs < y.dueNs; }));
        for (const Fired& f : log.fired)
            QVERIFY(f.atNs >= f.dueNs - TimerSlackNs);
        // No timer per sleep: no timer events at all; a wake-up per distinct deadline (two when a
        // compensated wake-up comes early and re-arms, or a slice ends on a loaded machine), not one per
        // sleep.
        QCOMPARE(timerEvents.count, 0);
        QVERIFY2(wakeUps.count >= 1 && wakeUps.count <= 40,
                 qPrintable(QStringLiteral("%1 timer wake-ups for 10 deadlines").arg(wakeUps.count)));
    }
};

QTEST_GUILESS_MAIN(TestScheduler)
#include "tst_scheduler.moc"
