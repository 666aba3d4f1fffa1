#pragma once

#include <QHash>
#include <QList>
#include <QString>
#include <QStringList>

#include <coroutine>
#include <deque>
#include <optional>
#include <vector>

namespace flowdeck {

class Scheduler;
struct TaskRun;

//! A tag's limit and how it is used right now.
struct TagUsage {
    QString tag;
    int limit = 0;
    int active = 0;  //!< slots held
    int waiting = 0; //!< task runs in its queue
};

//! Why a task run waits for slots.
struct WaitReason {
    QString tag; //!< the first of its tags that holds it back
    int limit = 0;
    QList<TaskRun*> holders;  //!< task runs holding that tag's slots
    int position = 0;         //!< 1-based place in that tag's queue
    QString describe() const; //!< one line for people
};

/**
 * Tag concurrency limits inside one engine: a task run with limited tags runs only while it holds
 * one slot of every such tag. It takes them all at once or waits (no partial holding, so two tags
 * cannot deadlock), first come first served per tag, without polling: a freed slot, a raised limit
 * or a deleted limit hands slots to the next waiters at once.
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

    //! True when any of the run's tags has a limit.
    bool needsSlots(const TaskRun& run) const;
    //! Takes a slot of every limited tag of \a run if all are free and nobody waits ahead.
    bool tryAcquire(TaskRun& run);
    //! Queues \a run; \a handle is resumed (through the scheduler) once it holds its slots.
    void wait(TaskRun& run, std::coroutine_handle<> handle);
    //! Leaves the queues (the run was cancelled while waiting). Returns whether it was waiting.
    bool cancelWait(TaskRun& run);
    bool isWaiting(const TaskRun& run) const;
    bool holdsSlots(const TaskRun& run) const;
    //! Frees the run's slots, if it holds any, and hands them to the next waiters.
    void release(TaskRun& run);

    QList<TaskRun*> holders(const QString& tag) const;
    QList<TaskRun*> waiters(const QString& tag) const;
    std::optional<WaitReason> whyWaiting(const TaskRun& run) const;

private:
    struct Tag;
    struct Ticket;
    Tag* findTag(const QString& tag) const;
    bool canGrant(const Ticket& ticket) const;
    void grant(Ticket& ticket);
    void pump(std::vector<Tag*> work);
    void dropIfUnused(Tag* tag);

    Scheduler& m_scheduler;
    QHash<QString, Tag*> m_tags;
    QHash<const TaskRun*, Ticket*> m_tickets;
    quint64 m_sequence = 0;
};

} // namespace flowdeck
