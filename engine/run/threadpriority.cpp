#include "run/threadpriority.h"

#include <cerrno>
#include <cstring>
#include <pthread.h>
#include <sched.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

namespace flowdeck {

namespace {

//! The kernel's struct sched_attr (include/uapi/linux/sched/types.h), for sched_setattr(2), which
//! glibc before 2.41 does not wrap.
struct SchedAttr {
    std::uint32_t size;
    std::uint32_t policy;
    std::uint64_t flags;
    std::int32_t nice;
    std::uint32_t priority;
    std::uint64_t runtime; //!< for SCHED_OTHER/SCHED_BATCH: the requested slice (Linux 6.12+)
    std::uint64_t deadline;
    std::uint64_t period;
    std::uint32_t utilMin;
    std::uint32_t utilMax;
};

bool getAttr(SchedAttr& attr)
{
    std::memset(&attr, 0, sizeof attr);
    return ::syscall(SYS_sched_getattr, 0, &attr, unsigned(sizeof attr), 0u) == 0;
}

} // namespace

void lowerCurrentThreadPriority(BackgroundLevel level)
{
    sched_param param{};
    pthread_setschedparam(pthread_self(), level == BackgroundLevel::Maintenance ? SCHED_IDLE : SCHED_BATCH,
                          &param);
    // PRIO_PROCESS with a thread id sets that thread's nice value alone (Linux).
    const auto tid = id_t(::syscall(SYS_gettid));
    errno = 0;
    const int current = getpriority(PRIO_PROCESS, tid);
    if (errno == 0)
        setpriority(PRIO_PROCESS, tid, current + int(level));
}

bool requestShortSlices(std::int64_t sliceNs)
{
    SchedAttr attr;
    if (!getAttr(attr))
        return false;
    // Only the fair policies have slices; an administrator's real-time policy is left alone.
    if (attr.policy != SCHED_OTHER && attr.policy != SCHED_BATCH)
        return false;
    attr.size = sizeof attr;
    attr.flags = 0;
    attr.runtime = std::uint64_t(sliceNs); // the nice value read above is given back unchanged
    return ::syscall(SYS_sched_setattr, 0, &attr, 0u) == 0;
}

std::int64_t currentThreadSliceNs()
{
    SchedAttr attr;
    return getAttr(attr) ? std::int64_t(attr.runtime) : 0;
}

} // namespace flowdeck
