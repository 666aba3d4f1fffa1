// The threads that work beside the GUI thread run below it: database threads (batch writer and the
// pages' queries), blocking task bodies and WAL checkpoints have a higher nice value than the
// thread that starts them, and SCHED_BATCH, so that a busy machine gives the GUI thread the core first.
#include "run/blockingpool.h"
#include "run/threadpriority.h"
#include "store/connectionpool.h"
#include "store/databaseurl.h"
#include "testutil.h"

#include <QTest>

#include <atomic>
#include <sched.h>
#include <sys/resource.h>
#include <sys/syscall.h>
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
};

QTEST_GUILESS_MAIN(TestThreadPriority)
#include "tst_threadpriority.moc"
