#pragma once

#include "flow/flow.h"
#include "run/slotsink.h"

#include <QHash>
#include <QList>
#include <QSet>
#include <QString>
#include <QStringList>

#include <coroutine>
#include <cstdint>
#include <deque>
#include <optional>
#include <vector>

namespace flowdeck {

class Scheduler;
struct FlowRun;
struct TaskRun;

//! A tag's limit and how it is used right now.
struct TagUsage {
    QString tag;
    int limit = 0;
    int active = 0;  //!< slots held
    int waiting = 0; //!< task runs in its queue
};

//! A named global limit as configured (Prefect's global concurrency limit).
struct GlobalLimitSpec {
    int limit = 0;
    bool active = true; //!< an inactive limit does not throttle
    //! > 0: usable as a rate limit; a taken slot comes back limit / rate seconds after it was taken.
    double slotDecayPerSecond = 0.0;
    bool operator==(const GlobalLimitSpec&) const = default;
};

//! A global limit and how it is used right now in this engine.
struct GlobalUsage {
    QString name;
    GlobalLimitSpec spec;
    int activeSlots = 0;   //!< held plus not yet decayed
    int decayingSlots = 0; //!< taken by rate-limited starts, not yet decayed
    int holders = 0;       //!< task runs holding slots
    int waiting = 0;       //!< task runs in its queue
};

//! Why a task run waits for slots.
struct WaitReason {
    QString tag; //!< the first of its tags or global limits that holds it back
    int limit = 0;
    QList<TaskRun*> holders;  //!< task runs holding that limit's slots
    int position = 0;         //!< 1-based place in that limit's queue
    bool global = false;      //!< a global limit, not a tag
    bool rate = false;        //!< waiting for a rate limit's slots to decay
    int occupy = 1;           //!< slots it asks for
    int used = 0;             //!< slots in use (held and not yet decayed)
    QString describe() const; //!< one line for people
};

/**
 * Concurrency limits inside one engine: tag limits (one slot per limited tag), named global limits
 * (a task run occupies N slots for its attempt) and rate limits (N slots taken at the start and never
 * released: they decay, coming back limit / slot_decay_per_second seconds after they were taken, so
 * no such window ever sees more than `limit` slots taken). A task run takes everything it needs at
 * once or waits (no partial holding, so limits cannot deadlock), first come first served per limit,
 * without polling: a freed slot, a raised limit or a deleted limit hands slots to the next waiters at
 * once, and a decaying slot wakes them through the scheduler's shared deadline queue.
 */
class ConcurrencyLimiter {
public:
    explicit ConcurrencyLimiter(Scheduler& scheduler);
    ~ConcurrencyLimiter();
    ConcurrencyLimiter(const ConcurrencyLimiter&) = delete;
    ConcurrencyLimiter& operator=(const ConcurrencyLimiter&) = delete;

    //! Creates or changes a limit. Raising it wakes waiters; lowering it never preempts holders.
    void setLimit(const QString& tag, int limit);
    //! Deletes a limit: its waiters stop waiting for it.
    void removeLimit(const QString& tag);
    std::optional<int> limit(const QString& tag) const;
    QList<TagUsage> usage() const;
    //! Replaces every limit with \a limits (tag -> limit), as read from the store.
    void syncLimits(const QHash<QString, int>& limits);

    //! Creates or changes a global limit; waiters that now fit (or now can never fit) are woken.
    void setGlobalLimit(const QString& name, const GlobalLimitSpec& spec);
    //! Deletes a global limit: its waiters stop waiting for it.
    void removeGlobalLimit(const QString& name);
    std::optional<GlobalLimitSpec> globalLimit(const QString& name) const;
    QList<GlobalUsage> globalUsage() const;
    //! Replaces every global limit with \a limits, as read from the store.
    void syncGlobalLimits(const QHash<QString, GlobalLimitSpec>& limits);

    //! True when any of the run's tags has a limit, or the run (or its flow) names global limits.
    bool needsSlots(const TaskRun& run) const;

    //! Flow-level limits ("concurrency" at the flow's top level): a flow run takes them when its
    //! first task run is about to start and holds them until it ends (releaseFlow()). True when the
    //! flow run holds them (or needs none); false when \a run must wait() for them, or when they can
    //! never be held (failure()).
    bool tryAcquireFlow(TaskRun& run);
    //! What the flow run of \a run still has to take in the database for its flow-level limits.
    QList<LimitTake> flowTakes(const TaskRun& run) const;
    //! The database holds the flow run's flow-level slots now: later task runs need not take them.
    void flowTakenInDatabase(const TaskRun& run);
    //! The flow run ended: frees its flow-level slots (and forgets its missing-limit warnings).
    void releaseFlow(const FlowRun& flow);
    //! Takes everything the run needs if all is free and nobody waits ahead. False also when the run
    //! can never run (see failure()).
    bool tryAcquire(TaskRun& run);
    //! Why the run can never hold what it asks for (a strict limit that does not exist, more slots
    //! than the limit, a rate limit without decay), or empty. Set by tryAcquire() or while waiting.
    QString failure(const TaskRun& run) const;
    //! Names the run asks for that have no limit (not strict), each reported once per flow run.
    QStringList takeMissingWarnings(const TaskRun& run);
    //! What the run holds in the database's terms: its global and rate limits (tags apart).
    QList<LimitTake> globalTakes(const TaskRun& run) const;
    //! Queues \a run; \a handle is resumed (through the scheduler) once it holds its slots (or, after
    //! tryAcquireFlow() said no, once its flow run holds the flow-level ones).
    void wait(TaskRun& run, std::coroutine_handle<> handle);
    //! Leaves the queues (the run was cancelled while waiting). Returns whether it was waiting.
    bool cancelWait(TaskRun& run);
    bool isWaiting(const TaskRun& run) const;
    bool holdsSlots(const TaskRun& run) const;
    //! Frees the run's slots, if it holds any, and hands them to the next waiters. Rate-limit slots
    //! are not freed: they decay.
    void release(TaskRun& run);

    QList<TaskRun*> holders(const QString& tag) const;
    QList<TaskRun*> waiters(const QString& tag) const;
    QList<TaskRun*> globalHolders(const QString& name) const;
    QList<TaskRun*> globalWaiters(const QString& name) const;
    std::optional<WaitReason> whyWaiting(const TaskRun& run) const;

private:
    struct Pool;
    struct Need;
    struct Ticket;
    Pool* findTag(const QString& tag) const;
    Pool* findGlobal(const QString& name) const;
    Ticket* ticketFor(TaskRun& run);
    void buildNeeds(Ticket& ticket);
    void addGlobalNeed(Ticket& ticket, const LimitUse& use, bool rate);
    int used(const Pool& pool) const;
    bool canGrant(const Ticket& ticket) const;
    void grant(Ticket& ticket);
    void failWaiter(Ticket& ticket, const QString& why);
    void pump(std::vector<Pool*> work);
    void armDecayWake(Pool& pool);
    static void onDecayDue(void* pool, std::uint64_t token);
    void expire(Pool& pool, std::int64_t nowNs);
    void dropIfUnused(Pool* pool);
    void applyGlobal(Pool* pool, const GlobalLimitSpec& spec);

    Scheduler& m_scheduler;
    QHash<QString, Pool*> m_tags;
    QHash<QString, Pool*> m_globals;
    QHash<const TaskRun*, Ticket*> m_tickets;
    QHash<const FlowRun*, Ticket*> m_flowTickets;
    //! "flow run id/name" pairs already warned about a missing limit.
    QSet<QString> m_warned;
};

} // namespace flowdeck
