#include "run/concurrencylimiter.h"

#include "run/flowrun.h"
#include "run/scheduler.h"

#include <algorithm>

namespace flowdeck {

struct ConcurrencyLimiter::Tag {
    QString name;
    int limit = -1; //!< -1: no limit (deleted while still in use)
    std::vector<TaskRun*> holders;
    std::deque<Ticket*> queue;
};

struct ConcurrencyLimiter::Ticket {
    TaskRun* run = nullptr;
    std::vector<Tag*> tags; //!< the run's limited tags
    std::coroutine_handle<> handle;
    bool waiting = false;
    bool holding = false;
};

namespace {

void resumeHandle(void* address, void*)
{
    std::coroutine_handle<>::from_address(address).resume();
}

} // namespace

QString WaitReason::describe() const
{
    if (limit == 0)
        return QStringLiteral("tag \"%1\" is paused by a limit of 0").arg(tag);
    return QStringLiteral("waiting for a slot of tag \"%1\" (limit %2, %3 in use), %4 in line")
        .arg(tag)
        .arg(limit)
        .arg(holders.size())
        .arg(position);
}

ConcurrencyLimiter::ConcurrencyLimiter(Scheduler& scheduler)
    : m_scheduler(scheduler)
{
}

ConcurrencyLimiter::~ConcurrencyLimiter()
{
    qDeleteAll(m_tickets);
    qDeleteAll(m_tags);
}

ConcurrencyLimiter::Tag* ConcurrencyLimiter::findTag(const QString& tag) const
{
    return m_tags.value(tag, nullptr);
}

void ConcurrencyLimiter::setLimit(const QString& name, int limit)
{
    Tag* tag = findTag(name);
    if (!tag) {
        tag = new Tag;
        tag->name = name;
        m_tags.insert(name, tag);
    }
    const bool raised = tag->limit < 0 || limit > tag->limit;
    tag->limit = std::max(0, limit);
    if (raised)
        pump({tag});
}

void ConcurrencyLimiter::removeLimit(const QString& name)
{
    Tag* tag = findTag(name);
    if (!tag || tag->limit < 0)
        return;
    tag->limit = -1;
    // Its waiters stop waiting for it; each may now be free to run, or wait on its other tags.
    std::vector<Ticket*> waiting(tag->queue.begin(), tag->queue.end());
    tag->queue.clear();
    std::vector<Tag*> work;
    for (Ticket* t : waiting) {
        std::erase(t->tags, tag);
        if (t->tags.empty() || canGrant(*t))
            grant(*t);
        else
            work.insert(work.end(), t->tags.begin(), t->tags.end());
    }
    pump(std::move(work));
    dropIfUnused(tag);
}

void ConcurrencyLimiter::syncLimits(const QHash<QString, int>& limits)
{
    for (auto it = limits.begin(); it != limits.end(); ++it) {
        const std::optional<int> current = limit(it.key());
        if (!current || *current != it.value())
            setLimit(it.key(), it.value());
    }
    const QStringList known = m_tags.keys();
    for (const QString& name : known) {
        if (!limits.contains(name))
            removeLimit(name);
    }
}

std::optional<int> ConcurrencyLimiter::limit(const QString& name) const
{
    const Tag* tag = findTag(name);
    if (!tag || tag->limit < 0)
        return std::nullopt;
    return tag->limit;
}

QList<TagUsage> ConcurrencyLimiter::usage() const
{
    QList<TagUsage> out;
    for (const Tag* tag : m_tags) {
        if (tag->limit >= 0)
            out.append({tag->name, tag->limit, int(tag->holders.size()), int(tag->queue.size())});
    }
    std::sort(out.begin(), out.end(), [](const TagUsage& a, const TagUsage& b) { return a.tag < b.tag; });
    return out;
}

bool ConcurrencyLimiter::needsSlots(const TaskRun& run) const
{
    if (m_tags.isEmpty())
        return false;
    for (const QString& name : run.node->def->tags) {
        const Tag* tag = findTag(name);
        if (tag && tag->limit >= 0)
            return true;
    }
    return false;
}

bool ConcurrencyLimiter::canGrant(const Ticket& ticket) const
{
    for (const Tag* tag : ticket.tags) {
        if (tag->limit < 0)
            continue;
        if (int(tag->holders.size()) >= tag->limit)
            return false;
        // First come, first served: only the head of the queue may take a freed slot.
        if (!tag->queue.empty() && tag->queue.front() != &ticket)
            return false;
    }
    return true;
}

bool ConcurrencyLimiter::tryAcquire(TaskRun& run)
{
    auto* ticket = m_tickets.value(&run, nullptr);
    if (!ticket) {
        ticket = new Ticket;
        ticket->run = &run;
        m_tickets.insert(&run, ticket);
    }
    if (ticket->holding)
        return true;
    ticket->tags.clear();
    for (const QString& name : run.node->def->tags) {
        Tag* tag = findTag(name);
        if (tag && tag->limit >= 0
            && std::find(ticket->tags.begin(), ticket->tags.end(), tag) == ticket->tags.end())
            ticket->tags.push_back(tag);
    }
    if (!canGrant(*ticket))
        return false;
    for (Tag* tag : ticket->tags)
        tag->holders.push_back(&run);
    ticket->holding = true;
    return true;
}

void ConcurrencyLimiter::wait(TaskRun& run, std::coroutine_handle<> handle)
{
    Ticket* ticket = m_tickets.value(&run, nullptr);
    Q_ASSERT(ticket && !ticket->holding);
    ticket->handle = handle;
    ticket->waiting = true;
    for (Tag* tag : ticket->tags)
        tag->queue.push_back(ticket);
    // Slots may have been freed between tryAcquire() and now.
    pump(ticket->tags);
}

bool ConcurrencyLimiter::cancelWait(TaskRun& run)
{
    Ticket* ticket = m_tickets.value(&run, nullptr);
    if (!ticket || !ticket->waiting)
        return false;
    ticket->waiting = false;
    ticket->handle = {};
    std::vector<Tag*> work;
    for (Tag* tag : ticket->tags) {
        const bool wasHead = !tag->queue.empty() && tag->queue.front() == ticket;
        std::erase(tag->queue, ticket);
        if (wasHead)
            work.push_back(tag);
    }
    pump(std::move(work));
    return true;
}

bool ConcurrencyLimiter::isWaiting(const TaskRun& run) const
{
    const Ticket* ticket = m_tickets.value(&run, nullptr);
    return ticket && ticket->waiting;
}

bool ConcurrencyLimiter::holdsSlots(const TaskRun& run) const
{
    const Ticket* ticket = m_tickets.value(&run, nullptr);
    return ticket && ticket->holding;
}

void ConcurrencyLimiter::grant(Ticket& ticket)
{
    for (Tag* tag : ticket.tags) {
        if (!tag->queue.empty() && tag->queue.front() == &ticket)
            tag->queue.pop_front();
        else
            std::erase(tag->queue, &ticket);
        tag->holders.push_back(ticket.run);
    }
    ticket.waiting = false;
    ticket.holding = true;
    if (ticket.handle) {
        const auto h = ticket.handle;
        ticket.handle = {};
        m_scheduler.schedule(&resumeHandle, h.address(), ticket.run);
    }
}

void ConcurrencyLimiter::pump(std::vector<Tag*> work)
{
    while (!work.empty()) {
        Tag* tag = work.back();
        work.pop_back();
        while (!tag->queue.empty()) {
            Ticket* head = tag->queue.front();
            if (!canGrant(*head))
                break;
            grant(*head);
            // The head of its other queues changed too.
            for (Tag* other : head->tags) {
                if (other != tag)
                    work.push_back(other);
            }
        }
    }
}

void ConcurrencyLimiter::release(TaskRun& run)
{
    Ticket* ticket = m_tickets.value(&run, nullptr);
    if (!ticket)
        return;
    if (ticket->waiting)
        cancelWait(run);
    m_tickets.remove(&run);
    std::vector<Tag*> work;
    if (ticket->holding) {
        for (Tag* tag : ticket->tags) {
            std::erase(tag->holders, &run);
            work.push_back(tag);
        }
    }
    delete ticket;
    pump(work);
    for (Tag* tag : work)
        dropIfUnused(tag);
}

void ConcurrencyLimiter::dropIfUnused(Tag* tag)
{
    if (tag->limit < 0 && tag->holders.empty() && tag->queue.empty()) {
        m_tags.remove(tag->name);
        for (Ticket* t : m_tickets)
            std::erase(t->tags, tag);
        delete tag;
    }
}

QList<TaskRun*> ConcurrencyLimiter::holders(const QString& name) const
{
    const Tag* tag = findTag(name);
    return tag ? QList<TaskRun*>(tag->holders.begin(), tag->holders.end()) : QList<TaskRun*>{};
}

QList<TaskRun*> ConcurrencyLimiter::waiters(const QString& name) const
{
    QList<TaskRun*> out;
    if (const Tag* tag = findTag(name)) {
        for (const Ticket* t : tag->queue)
            out.append(t->run);
    }
    return out;
}

std::optional<WaitReason> ConcurrencyLimiter::whyWaiting(const TaskRun& run) const
{
    const Ticket* ticket = m_tickets.value(&run, nullptr);
    if (!ticket || ticket->holding)
        return std::nullopt;
    for (const Tag* tag : ticket->tags) {
        if (tag->limit < 0)
            continue;
        const auto it = std::find(tag->queue.begin(), tag->queue.end(), ticket);
        const int position
            = it == tag->queue.end() ? int(tag->queue.size()) + 1 : int(it - tag->queue.begin()) + 1;
        if (int(tag->holders.size()) >= tag->limit || position > 1) {
            return WaitReason{tag->name, tag->limit,
                              QList<TaskRun*>(tag->holders.begin(), tag->holders.end()), position};
        }
    }
    return std::nullopt;
}

} // namespace flowdeck
