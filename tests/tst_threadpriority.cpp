// The threads that work beside the GUI thread run below it: database threads (batch writer and the
// pages' queries), blocking task bodies and WAL checkpoints have a higher nice value than the
// thread that starts them, and SCHED_BATCH (checkpoints SCHED_IDLE), so that a busy machine gives the
// GUI thread the core first; the thread that runs the event loop asks for short time slices, so that it
// preempts them (and other processes) as soon as it wakes.
#include "run/blockingpool.h"
#include "run/scheduler.h"
#include "run/threadpriority.h"
#include "store/connectionpool.h"
#include "store/databaseurl.h"
#include "store/walcheckpointer.h"
#include "testutil.h"

#include <QDir>
#include <QFile>
#include <QTest>
#include <QThread>

#include <atomic>
#include <memory>
#include <sched.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <thread>
#include <unistd.h>

using namespace flowdeck;
using namespace flowdeck::test;

namespace {

struct Priority {
    int nice = 0;
    int policy = 0;
};

Priority currentThreadPriority()
{
    return {getpriority(PRIO_PROCESS, id_t(::syscall(SYS_gettid))), sched_getscheduler(0)};
}

//! The scheduling policy of this process's thread named \a name, or -1 while there is none.
int policyOfThreadNamed(const QByteArray& name)
{
    QDir tasks(QStringLiteral("/proc/self/task"));
    for (const QString& tid : tasks.entryList(QDir::Dirs | QDir::NoDotAndDotDot)) {
        QFile comm(tasks.filePath(tid + QStringLiteral("/comm")));
        if (comm.open(QIODevice::ReadOnly) && comm.readAll().trimmed() == name)
            return sched_getscheduler(pid_t(tid.toInt()));
    }
    return -1;
}

} // namespace

class TestThreadPriority : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void databaseThreadsRunBelowTheGuiThread()
    {
        const Priority gui = currentThreadPriority();
        QString error;
        const auto url = DatabaseUrl::parse(freshSqlitePath(), &error);
        QVERIFY2(url, qPrintable(error));
        ConnectionPool pool(*url);
        const Priority db = runOnPool(pool, [](QSqlDatabase&) { return currentThreadPriority(); });
        QCOMPARE(db.nice, gui.nice + int(BackgroundLevel::Database));
        QCOMPARE(db.policy, SCHED_BATCH);
        // The GUI thread itself is left as it was.
        QCOMPARE(currentThreadPriority().nice, gui.nice);
        QCOMPARE(currentThreadPriority().policy, gui.policy);
    }

    void blockingBodiesRunBelowTheGuiThread()
    {
        const Priority gui = currentThreadPriority();
        BlockingPool pool(2);
        std::atomic<int> nice{-100};
        std::atomic<int> policy{-1};
        pool.submit([&] {
            const Priority p = currentThreadPriority();
            policy = p.policy;
            nice = p.nice;
        });
        QTRY_VERIFY_WITH_TIMEOUT(nice.load() != -100, 10000);
        QCOMPARE(nice.load(), gui.nice + int(BackgroundLevel::Blocking));
        QCOMPARE(policy.load(), SCHED_BATCH);
    }

    void maintenanceRunsOnlyOnAnIdleCore()
    {
        std::atomic<int> policy{-1};
        std::thread([&] {
            lowerCurrentThreadPriority(BackgroundLevel::Maintenance);
            policy = sched_getscheduler(0);
        }).join();
        QCOMPARE(policy.load(), SCHED_IDLE);
    }

    void checkpointThreadIsIdle()
    {
        // The checkpointer starts its thread at once and lowers it first thing.
        WalCheckpointer checkpointer(freshSqlitePath());
        QTRY_COMPARE_WITH_TIMEOUT(policyOfThreadNamed("flowdeck-ckpt"), SCHED_IDLE, 10000);
    }

    void loopThreadAsksForShortSlices()
    {
        // On a fresh thread, as the GUI thread of the app: the scheduler is made on the loop's thread.
        std::int64_t before = 0;
        std::int64_t after = 0;
        int policy = -1;
        int nice = 0;
        int niceBefore = 0;
        std::unique_ptr<QThread> thread(QThread::create([&] {
            niceBefore = currentThreadPriority().nice;
            before = currentThreadSliceNs();
            {
                Scheduler scheduler;
                after = currentThreadSliceNs();
            }
            policy = sched_getscheduler(0);
            nice = currentThreadPriority().nice;
        }));
        thread->start();
        QVERIFY(thread->wait(10000));
        if (before == 0) {
            // Linux before 6.12 has no custom slices and reports none: the request must change nothing.
            qInfo("this kernel reports no time slice: checking that the request left the thread as it was");
            QCOMPARE(after, std::int64_t(0));
        } else {
            QVERIFY2(before != LoopSliceNs,
                     "the default slice is already the loop's: the test proves nothing");
            QCOMPARE(after, LoopSliceNs);
        }
        // Policy and nice value stay as they were: a short slice is no larger share of the CPU.
        QCOMPARE(policy, SCHED_OTHER);
        QCOMPARE(nice, niceBefore);
    }
};

QTEST_GUILESS_MAIN(TestThreadPriority)
#include "tst_threadpriority.moc"
