#include "run/threadpriority.h"

#include <cerrno>
#include <pthread.h>
#include <sched.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

namespace flowdeck {

void lowerCurrentThreadPriority(BackgroundLevel level)
{
    sched_param param{};
    pthread_setschedparam(pthread_self(), SCHED_BATCH, &param);
    // PRIO_PROCESS with a thread id sets that thread's nice value alone (Linux).
    const auto tid = id_t(::syscall(SYS_gettid));
    errno = 0;
    const int current = getpriority(PRIO_PROCESS, tid);
    if (errno == 0)
        setpriority(PRIO_PROCESS, tid, current + int(level));
}

} // namespace flowdeck
