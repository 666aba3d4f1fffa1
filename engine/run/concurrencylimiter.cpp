#include "run/concurrencylimiter.h"

#include "run/flowrun.h"
#include "run/scheduler.h"

#include <algorithm>
#include <cmath>

namespace flowdeck {

//! A tag's or a global limit's slots, holders and queue.
struct ConcurrencyLimiter::Pool {
    ConcurrencyLimiter* owner = nullptr;
    QString name;
    bool global = false;
    int limit = -1; //!< -1: no limit (deleted while still in use)
    bool active = true;
    double decayPerSecond = 0.0;
    int held = 0; //!< slots held by holders (their occupy summed)
    std::vector<TaskRun*> holders;
    std::vector<const FlowRun*> flowHolders; //!< flow runs holding flow-level slots
    //! Slots taken by rate-limited starts, by the monotonic time they come back (ascending).
    std::deque<std::pair<std::int64_t, int>> decaying;
    int decayingSlots = 0;
    std::deque<Ticket*> queue;
    std::int64_t wakeDue = -1; //!< the pending decay wake-up in the scheduler, or -1
    std::uint64_t wakeToken = 0;

    bool throttles() const { return limit >= 0 && active; }
};

struct ConcurrencyLimiter::Need {
    Pool* pool = nullptr;
    int occupy = 1;
    bool rate = false;
};

struct ConcurrencyLimiter::Ticket {
    TaskRun* run = nullptr;        //!< null for a flow run's ticket
    const FlowRun* flow = nullptr; //!< set for a flow run's ticket
    //! A flow run's ticket: its task runs waiting for it, resumed together once it holds its slots.
    std::vector<std::pair<TaskRun*, std::coroutine_handle<>>> flowWaiters;
    bool takenInDatabase = false;
    std::vector<Need> needs; //!< the run's limited tags, global limits and rate limit
    std::coroutine_handle<> handle;
    bool waiting = false;
    bool holding = false;
    QString failure;
};

namespace {

void resumeHandle(void* address, void*)
{
    std::coroutine_handle<>::from_address(address).resume();
}

//! How long a rate limit's slot stays taken, in ns: limit / decay seconds.
std::int64_t decayNs(int limit, double decayPerSecond)
{
    return std::int64_t(std::ceil(double(std::max(limit, 1)) / decayPerSecond * 1e9));
}

} // namespace

QString WaitReason::describe() const
{
    const QString what
        = global ? QStringLiteral("global limit \"%1\"").arg(tag) : QStringLiteral("tag \"%1\"").arg(tag);
    if (limit == 0)
        return QStringLiteral("%1 is paused by a limit of 0").arg(what);
    if (rate) {
        return QStringLiteral("waiting for %1 slot(s) of rate limit \"%2\" to decay (limit %3, %4 taken), "
                              "%5 in line")
            .arg(occupy)
            .arg(tag)
            .arg(limit)
            .arg(used)
            .arg(position);
    }
    if (global) {
        return QStringLiteral("waiting for %1 slot(s) of %2 (limit %3, %4 in use), %5 in line")
            .arg(occupy)
            .arg(what)
            .arg(limit)
            .arg(used)
            .arg(position);
    }
    return QStringLiteral("waiting for a slot of %1 (limit %2, %3 in use), %4 in line")
        .arg(what)
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
    m_scheduler.purgeDeadlines(
        [this](void* arg) { return m_globals.key(static_cast<Pool*>(arg), QString()) != QString(); });
    qDeleteAll(m_tickets);
    qDeleteAll(m_flowTickets);
    qDeleteAll(m_tags);
    qDeleteAll(m_globals);
}

ConcurrencyLimiter::Pool* ConcurrencyLimiter::findTag(const QString& tag) const
{
    return m_tags.value(tag, nullptr);
}

ConcurrencyLimiter::Pool* ConcurrencyLimiter::findGlobal(const QString& name) const
{
    return m_globals.value(name, nullptr);
}

void ConcurrencyLimiter::setLimit(const QString& name, int limit)
{
    Pool* tag = findTag(name);
    if (!tag) {
        tag = new Pool;
        tag->owner = this;
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
    Pool* tag = findTag(name);
    if (!tag || tag->limit < 0)
        return;
    tag->limit = -1;
    // Its waiters stop waiting for it; each may now be free to run, or wait on its other limits.
    std::vector<Ticket*> waiting(tag->queue.begin(), tag->queue.end());
    tag->queue.clear();
    std::vector<Pool*> work;
    for (Ticket* t : waiting) {
        std::erase_if(t->needs, [tag](const Need& n) { return n.pool == tag; });
        if (t->needs.empty() || canGrant(*t))
            grant(*t);
        else
            for (const Need& n : t->needs)
                work.push_back(n.pool);
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
    const Pool* tag = findTag(name);
    if (!tag || tag->limit < 0)
        return std::nullopt;
    return tag->limit;
}

QList<TagUsage> ConcurrencyLimiter::usage() const
{
    QList<TagUsage> out;
    for (const Pool* tag : m_tags) {
        if (tag->limit >= 0)
            out.append({tag->name, tag->limit, int(tag->holders.size()), int(tag->queue.size())});
    }
    std::sort(out.begin(), out.end(), [](const TagUsage& a, const TagUsage& b) { return a.tag < b.tag; });
    return out;
}

void ConcurrencyLimiter::applyGlobal(Pool* pool, const GlobalLimitSpec& spec)
{
    pool->limit = std::max(0, spec.limit);
    pool->active = spec.active;
    pool->decayPerSecond = spec.slotDecayPerSecond > 0 ? spec.slotDecayPerSecond : 0.0;
    // Waiters that can now never fit (occupy above a lowered limit, a rate limit that lost its decay)
    // fail at once rather than wait forever; the rest may fit now.
    std::vector<Ticket*> waiting(pool->queue.begin(), pool->queue.end());
    for (Ticket* t : waiting) {
        for (const Need& n : t->needs) {
            if (n.pool != pool || !pool->active)
                continue;
            if (pool->limit > 0 && n.occupy > pool->limit) {
                failWaiter(*t,
                           QStringLiteral("it occupies %1 slot(s) of global limit \"%2\", whose limit is "
                                          "now %3: it could never run")
                               .arg(n.occupy)
                               .arg(pool->name)
                               .arg(pool->limit));
                break;
            }
            if (n.rate && pool->decayPerSecond <= 0) {
                failWaiter(*t,
                           QStringLiteral("global limit \"%1\" has no slot_decay_per_second, so it cannot "
                                          "be used as a rate limit")
                               .arg(pool->name));
                break;
            }
        }
    }
    pump({pool});
}

void ConcurrencyLimiter::setGlobalLimit(const QString& name, const GlobalLimitSpec& spec)
{
    Pool* pool = findGlobal(name);
    if (!pool) {
        pool = new Pool;
        pool->owner = this;
        pool->name = name;
        pool->global = true;
        m_globals.insert(name, pool);
    }
    applyGlobal(pool, spec);
}

void ConcurrencyLimiter::removeGlobalLimit(const QString& name)
{
    Pool* pool = findGlobal(name);
    if (!pool || pool->limit < 0)
        return;
    pool->limit = -1;
    std::vector<Ticket*> waiting(pool->queue.begin(), pool->queue.end());
    pool->queue.clear();
    std::vector<Pool*> work;
    for (Ticket* t : waiting) {
        std::erase_if(t->needs, [pool](const Need& n) { return n.pool == pool; });
        if (t->needs.empty() || canGrant(*t))
            grant(*t);
        else
            for (const Need& n : t->needs)
                work.push_back(n.pool);
    }
    pump(std::move(work));
    dropIfUnused(pool);
}

std::optional<GlobalLimitSpec> ConcurrencyLimiter::globalLimit(const QString& name) const
{
    const Pool* pool = findGlobal(name);
    if (!pool || pool->limit < 0)
        return std::nullopt;
    return GlobalLimitSpec{pool->limit, pool->active, pool->decayPerSecond};
}

QList<GlobalUsage> ConcurrencyLimiter::globalUsage() const
{
    QList<GlobalUsage> out;
    const std::int64_t now = Scheduler::nowNs();
    for (const Pool* pool : m_globals) {
        if (pool->limit < 0)
            continue;
        int decaying = 0;
        for (const auto& [due, occupy] : pool->decaying) {
            if (due > now)
                decaying += occupy;
        }
        out.append({pool->name,
                    {pool->limit, pool->active, pool->decayPerSecond},
                    pool->held + decaying,
                    decaying,
                    int(pool->holders.size() + pool->flowHolders.size()),
                    int(pool->queue.size())});
    }
    std::sort(out.begin(), out.end(),
              [](const GlobalUsage& a, const GlobalUsage& b) { return a.name < b.name; });
    return out;
}

void ConcurrencyLimiter::syncGlobalLimits(const QHash<QString, GlobalLimitSpec>& limits)
{
    for (auto it = limits.begin(); it != limits.end(); ++it) {
        const std::optional<GlobalLimitSpec> current = globalLimit(it.key());
        if (!current || *current != it.value())
            setGlobalLimit(it.key(), it.value());
    }
    const QStringList known = m_globals.keys();
    for (const QString& name : known) {
        if (!limits.contains(name))
            removeGlobalLimit(name);
    }
}

bool ConcurrencyLimiter::needsSlots(const TaskRun& run) const
{
    const TaskDef& def = *run.node->def;
    if (!def.concurrency.isEmpty() || def.rateLimit || !run.flowRun->def.concurrency.isEmpty())
        return true;
    if (m_tags.isEmpty())
        return false;
    for (const QString& name : def.tags) {
        const Pool* tag = findTag(name);
        if (tag && tag->limit >= 0)
            return true;
    }
    return false;
}

ConcurrencyLimiter::Ticket* ConcurrencyLimiter::ticketFor(TaskRun& run)
{
    auto* ticket = m_tickets.value(&run, nullptr);
    if (!ticket) {
        ticket = new Ticket;
        ticket->run = &run;
        m_tickets.insert(&run, ticket);
    }
    return ticket;
}

void ConcurrencyLimiter::buildNeeds(Ticket& ticket)
{
    const TaskDef& def = *ticket.run->node->def;
    ticket.needs.clear();
    ticket.failure.clear();
    const auto add = [&](Pool* pool, int occupy, bool rate) {
        for (Need& n : ticket.needs) {
            if (n.pool == pool) {
                // The same global limit for the attempt and as its rate limit: both count.
                n.occupy += occupy;
                n.rate = n.rate && rate;
                return;
            }
        }
        ticket.needs.push_back({pool, occupy, rate});
    };
    for (const QString& name : def.tags) {
        Pool* tag = findTag(name);
        if (tag && tag->limit >= 0)
            add(tag, 1, false);
    }
    for (const LimitUse& use : def.concurrency)
        addGlobalNeed(ticket, use, false);
    if (def.rateLimit)
        addGlobalNeed(ticket, *def.rateLimit, true);
}

void ConcurrencyLimiter::addGlobalNeed(Ticket& ticket, const LimitUse& use, bool rate)
{
    Pool* pool = findGlobal(use.name);
    if (!pool || pool->limit < 0) {
        if (use.strict)
            ticket.failure = QStringLiteral("global concurrency limit \"%1\" does not exist (it is "
                                            "required: \"strict\": true)")
                                 .arg(use.name);
        return;
    }
    if (!pool->active)
        return;
    if (pool->limit > 0 && use.occupy > pool->limit) {
        ticket.failure = QStringLiteral("it occupies %1 slot(s) of global limit \"%2\", whose limit is %3: "
                                        "it could never run")
                             .arg(use.occupy)
                             .arg(use.name)
                             .arg(pool->limit);
        return;
    }
    if (rate && pool->decayPerSecond <= 0) {
        ticket.failure = QStringLiteral("global limit \"%1\" has no slot_decay_per_second, so it cannot "
                                        "be used as a rate limit")
                             .arg(use.name);
        return;
    }
    for (Need& n : ticket.needs) {
        if (n.pool == pool) {
            // The same global limit for the attempt and as its rate limit: both count.
            n.occupy += use.occupy;
            n.rate = n.rate && rate;
            return;
        }
    }
    ticket.needs.push_back({pool, use.occupy, rate});
}

bool ConcurrencyLimiter::tryAcquireFlow(TaskRun& run)
{
    const FlowRun* flow = run.flowRun;
    if (flow->def.concurrency.isEmpty())
        return true;
    Ticket* ticket = m_flowTickets.value(flow, nullptr);
    if (!ticket) {
        ticket = new Ticket;
        ticket->flow = flow;
        m_flowTickets.insert(flow, ticket);
        for (const LimitUse& use : flow->def.concurrency)
            addGlobalNeed(*ticket, use, false);
        if (!ticket->failure.isEmpty())
            return false;
        if (canGrant(*ticket)) {
            grant(*ticket);
            return true;
        }
        // Queued now, in the order flow runs asked; its task runs wait on it.
        std::vector<Pool*> pools;
        for (const Need& n : ticket->needs) {
            n.pool->queue.push_back(ticket);
            pools.push_back(n.pool);
        }
        ticket->waiting = true;
        pump(std::move(pools));
    }
    return ticket->holding;
}

QList<LimitTake> ConcurrencyLimiter::flowTakes(const TaskRun& run) const
{
    QList<LimitTake> takes;
    const Ticket* ticket = m_flowTickets.value(run.flowRun, nullptr);
    if (!ticket || !ticket->holding || ticket->takenInDatabase)
        return takes;
    for (const Need& n : ticket->needs) {
        if (n.pool->throttles())
            takes.append({n.pool->name, n.occupy, false, run.flowRun->id.toString()});
    }
    return takes;
}

void ConcurrencyLimiter::flowTakenInDatabase(const TaskRun& run)
{
    if (Ticket* ticket = m_flowTickets.value(run.flowRun, nullptr))
        ticket->takenInDatabase = true;
}

void ConcurrencyLimiter::releaseFlow(const FlowRun& flow)
{
    const QString prefix = flow.id.toString() + u'/';
    if (!m_warned.isEmpty())
        m_warned.removeIf([&](const QString& key) { return key.startsWith(prefix); });
    Ticket* ticket = m_flowTickets.take(&flow);
    if (!ticket)
        return;
    std::vector<Pool*> work;
    for (const Need& n : ticket->needs) {
        std::erase(n.pool->queue, ticket);
        if (ticket->holding) {
            std::erase(n.pool->flowHolders, &flow);
            n.pool->held -= n.occupy;
        }
        work.push_back(n.pool);
    }
    delete ticket;
    pump(work);
    for (Pool* pool : work)
        dropIfUnused(pool);
}

int ConcurrencyLimiter::used(const Pool& pool) const
{
    return pool.held + pool.decayingSlots;
}

void ConcurrencyLimiter::expire(Pool& pool, std::int64_t nowNs)
{
    while (!pool.decaying.empty() && pool.decaying.front().first <= nowNs) {
        pool.decayingSlots -= pool.decaying.front().second;
        pool.decaying.pop_front();
    }
}

bool ConcurrencyLimiter::canGrant(const Ticket& ticket) const
{
    for (const Need& n : ticket.needs) {
        const Pool* pool = n.pool;
        if (!pool->throttles())
            continue;
        if (used(*pool) + n.occupy > pool->limit)
            return false;
        // First come, first served: only the head of the queue may take a freed slot.
        if (!pool->queue.empty() && pool->queue.front() != &ticket)
            return false;
    }
    return true;
}

bool ConcurrencyLimiter::tryAcquire(TaskRun& run)
{
    Ticket* ticket = ticketFor(run);
    if (ticket->holding)
        return true;
    buildNeeds(*ticket);
    if (!ticket->failure.isEmpty())
        return false;
    if (ticket->needs.empty()) {
        // Only names without a limit: nothing to hold.
        m_tickets.remove(&run);
        delete ticket;
        return true;
    }
    std::int64_t now = -1;
    for (const Need& n : ticket->needs) {
        if (!n.pool->decaying.empty()) {
            if (now < 0)
                now = Scheduler::nowNs();
            expire(*n.pool, now);
        }
    }
    if (!canGrant(*ticket))
        return false;
    grant(*ticket);
    return true;
}

QString ConcurrencyLimiter::failure(const TaskRun& run) const
{
    const Ticket* ticket = m_tickets.value(&run, nullptr);
    if (ticket && !ticket->failure.isEmpty())
        return ticket->failure;
    const Ticket* flowTicket = m_flowTickets.value(run.flowRun, nullptr);
    return flowTicket && !flowTicket->failure.isEmpty()
        ? QStringLiteral("its flow run: ") + flowTicket->failure
        : QString();
}

QStringList ConcurrencyLimiter::takeMissingWarnings(const TaskRun& run)
{
    QStringList names;
    const TaskDef& def = *run.node->def;
    const auto check = [&](const LimitUse& use) {
        const Pool* pool = findGlobal(use.name);
        if (use.strict || (pool && pool->limit >= 0))
            return;
        const QString key = run.flowRun->id.toString() + u'/' + use.name;
        if (!m_warned.contains(key)) {
            m_warned.insert(key);
            names << use.name;
        }
    };
    for (const LimitUse& use : def.concurrency)
        check(use);
    if (def.rateLimit)
        check(*def.rateLimit);
    for (const LimitUse& use : run.flowRun->def.concurrency)
        check(use);
    return names;
}

QList<LimitTake> ConcurrencyLimiter::globalTakes(const TaskRun& run) const
{
    QList<LimitTake> takes;
    const Ticket* ticket = m_tickets.value(&run, nullptr);
    if (!ticket)
        return takes;
    for (const Need& n : ticket->needs) {
        if (n.pool->global && n.pool->throttles())
            takes.append({n.pool->name, n.occupy, n.rate, QString()});
    }
    return takes;
}

void ConcurrencyLimiter::wait(TaskRun& run, std::coroutine_handle<> handle)
{
    Ticket* ticket = m_tickets.value(&run, nullptr);
    if (!ticket) {
        // Waiting for its flow run's flow-level slots.
        Ticket* flowTicket = m_flowTickets.value(run.flowRun, nullptr);
        Q_ASSERT(flowTicket && !flowTicket->holding);
        flowTicket->flowWaiters.emplace_back(&run, handle);
        return;
    }
    Q_ASSERT(!ticket->holding);
    ticket->handle = handle;
    ticket->waiting = true;
    std::vector<Pool*> pools;
    for (const Need& n : ticket->needs) {
        n.pool->queue.push_back(ticket);
        pools.push_back(n.pool);
    }
    // Slots may have been freed between tryAcquire() and now.
    pump(std::move(pools));
}

bool ConcurrencyLimiter::cancelWait(TaskRun& run)
{
    Ticket* ticket = m_tickets.value(&run, nullptr);
    if (!ticket) {
        Ticket* flowTicket = m_flowTickets.value(run.flowRun, nullptr);
        if (!flowTicket)
            return false;
        const auto before = flowTicket->flowWaiters.size();
        std::erase_if(flowTicket->flowWaiters, [&](const auto& w) { return w.first == &run; });
        return flowTicket->flowWaiters.size() != before;
    }
    if (!ticket->waiting)
        return false;
    ticket->waiting = false;
    ticket->handle = {};
    std::vector<Pool*> work;
    for (const Need& n : ticket->needs) {
        const bool wasHead = !n.pool->queue.empty() && n.pool->queue.front() == ticket;
        std::erase(n.pool->queue, ticket);
        if (wasHead)
            work.push_back(n.pool);
    }
    pump(std::move(work));
    return true;
}

bool ConcurrencyLimiter::isWaiting(const TaskRun& run) const
{
    const Ticket* ticket = m_tickets.value(&run, nullptr);
    if (ticket)
        return ticket->waiting;
    const Ticket* flowTicket = m_flowTickets.value(run.flowRun, nullptr);
    return flowTicket
        && std::any_of(flowTicket->flowWaiters.begin(), flowTicket->flowWaiters.end(),
                       [&](const auto& w) { return w.first == &run; });
}

bool ConcurrencyLimiter::holdsSlots(const TaskRun& run) const
{
    const Ticket* ticket = m_tickets.value(&run, nullptr);
    return ticket && ticket->holding;
}

void ConcurrencyLimiter::grant(Ticket& ticket)
{
    std::int64_t now = -1;
    for (const Need& n : ticket.needs) {
        Pool* pool = n.pool;
        if (!pool->queue.empty() && pool->queue.front() == &ticket)
            pool->queue.pop_front();
        else
            std::erase(pool->queue, &ticket);
        if (ticket.flow) {
            pool->flowHolders.push_back(ticket.flow);
            pool->held += n.occupy;
        } else if (n.rate) {
            if (pool->throttles() && pool->decayPerSecond > 0) {
                if (now < 0)
                    now = Scheduler::nowNs();
                const std::int64_t due = now + decayNs(pool->limit, pool->decayPerSecond);
                const auto at = std::upper_bound(pool->decaying.begin(), pool->decaying.end(), due,
                                                 [](std::int64_t d, const auto& e) { return d < e.first; });
                pool->decaying.insert(at, {due, n.occupy});
                pool->decayingSlots += n.occupy;
            }
        } else {
            pool->holders.push_back(ticket.run);
            pool->held += n.occupy;
        }
    }
    ticket.waiting = false;
    ticket.holding = true;
    for (const auto& [run, handle] : ticket.flowWaiters)
        m_scheduler.schedule(&resumeHandle, handle.address(), run);
    ticket.flowWaiters.clear();
    if (ticket.handle) {
        const auto h = ticket.handle;
        ticket.handle = {};
        m_scheduler.schedule(&resumeHandle, h.address(), ticket.run);
    }
}

void ConcurrencyLimiter::failWaiter(Ticket& ticket, const QString& why)
{
    ticket.failure = why;
    std::vector<Pool*> work;
    for (const Need& n : ticket.needs) {
        const bool wasHead = !n.pool->queue.empty() && n.pool->queue.front() == &ticket;
        std::erase(n.pool->queue, &ticket);
        if (wasHead)
            work.push_back(n.pool);
    }
    ticket.needs.clear();
    ticket.waiting = false;
    for (const auto& [run, handle] : ticket.flowWaiters)
        m_scheduler.schedule(&resumeHandle, handle.address(), run);
    ticket.flowWaiters.clear();
    if (ticket.handle) {
        const auto h = ticket.handle;
        ticket.handle = {};
        m_scheduler.schedule(&resumeHandle, h.address(), ticket.run);
    }
    pump(std::move(work));
}

void ConcurrencyLimiter::pump(std::vector<Pool*> work)
{
    std::int64_t now = -1;
    while (!work.empty()) {
        Pool* pool = work.back();
        work.pop_back();
        if (!pool->decaying.empty()) {
            if (now < 0)
                now = Scheduler::nowNs();
            expire(*pool, now);
        }
        while (!pool->queue.empty()) {
            Ticket* head = pool->queue.front();
            for (const Need& n : head->needs) {
                if (n.pool != pool && !n.pool->decaying.empty()) {
                    if (now < 0)
                        now = Scheduler::nowNs();
                    expire(*n.pool, now);
                }
            }
            if (!canGrant(*head))
                break;
            grant(*head);
            // The head of its other queues changed too.
            for (const Need& n : head->needs) {
                if (n.pool != pool)
                    work.push_back(n.pool);
            }
        }
        armDecayWake(*pool);
    }
}

void ConcurrencyLimiter::armDecayWake(Pool& pool)
{
    // A head held back only by slots that decay wakes when the next of them comes back: one entry
    // per limit in the shared deadline queue, never a timer per task run.
    if (pool.queue.empty() || pool.decaying.empty() || !pool.throttles())
        return;
    const std::int64_t due = pool.decaying.front().first;
    if (pool.wakeDue >= 0 && pool.wakeDue <= due)
        return;
    pool.wakeDue = due;
    m_scheduler.addDeadline(due, &ConcurrencyLimiter::onDecayDue, &pool, ++pool.wakeToken);
}

void ConcurrencyLimiter::onDecayDue(void* arg, std::uint64_t token)
{
    auto* pool = static_cast<Pool*>(arg);
    if (token != pool->wakeToken)
        return; // superseded by an earlier wake-up, which re-armed it
    pool->wakeDue = -1;
    pool->owner->pump({pool});
}

void ConcurrencyLimiter::release(TaskRun& run)
{
    Ticket* ticket = m_tickets.value(&run, nullptr);
    if (!ticket)
        return;
    if (ticket->waiting)
        cancelWait(run);
    m_tickets.remove(&run);
    std::vector<Pool*> work;
    if (ticket->holding) {
        for (const Need& n : ticket->needs) {
            if (!n.rate) {
                std::erase(n.pool->holders, &run);
                n.pool->held -= n.occupy;
                work.push_back(n.pool);
            }
        }
    }
    delete ticket;
    pump(work);
    for (Pool* pool : work)
        dropIfUnused(pool);
}

void ConcurrencyLimiter::dropIfUnused(Pool* pool)
{
    if (pool->limit < 0 && pool->holders.empty() && pool->flowHolders.empty() && pool->queue.empty()) {
        (pool->global ? m_globals : m_tags).remove(pool->name);
        for (Ticket* t : m_tickets)
            std::erase_if(t->needs, [pool](const Need& n) { return n.pool == pool; });
        for (Ticket* t : m_flowTickets)
            std::erase_if(t->needs, [pool](const Need& n) { return n.pool == pool; });
        if (pool->wakeDue >= 0)
            m_scheduler.purgeDeadlines([pool](void* arg) { return arg == pool; });
        delete pool;
    }
}

QList<TaskRun*> ConcurrencyLimiter::holders(const QString& name) const
{
    const Pool* tag = findTag(name);
    return tag ? QList<TaskRun*>(tag->holders.begin(), tag->holders.end()) : QList<TaskRun*>{};
}

QList<TaskRun*> ConcurrencyLimiter::waiters(const QString& name) const
{
    QList<TaskRun*> out;
    if (const Pool* tag = findTag(name)) {
        for (const Ticket* t : tag->queue)
            out.append(t->run);
    }
    return out;
}

QList<TaskRun*> ConcurrencyLimiter::globalHolders(const QString& name) const
{
    const Pool* pool = findGlobal(name);
    return pool ? QList<TaskRun*>(pool->holders.begin(), pool->holders.end()) : QList<TaskRun*>{};
}

QList<TaskRun*> ConcurrencyLimiter::globalWaiters(const QString& name) const
{
    QList<TaskRun*> out;
    if (const Pool* pool = findGlobal(name)) {
        for (const Ticket* t : pool->queue)
            out.append(t->run);
    }
    return out;
}

std::optional<WaitReason> ConcurrencyLimiter::whyWaiting(const TaskRun& run) const
{
    const Ticket* ticket = m_tickets.value(&run, nullptr);
    if (!ticket)
        ticket = m_flowTickets.value(run.flowRun, nullptr);
    if (!ticket || ticket->holding)
        return std::nullopt;
    for (const Need& n : ticket->needs) {
        const Pool* pool = n.pool;
        if (!pool->throttles())
            continue;
        const auto it = std::find(pool->queue.begin(), pool->queue.end(), ticket);
        const int position
            = it == pool->queue.end() ? int(pool->queue.size()) + 1 : int(it - pool->queue.begin()) + 1;
        if (used(*pool) + n.occupy > pool->limit || position > 1) {
            WaitReason why{
                pool->name, pool->limit,  QList<TaskRun*>(pool->holders.begin(), pool->holders.end()),
                position,   pool->global, n.rate && pool->decayingSlots > 0,
                n.occupy,   used(*pool)};
            return why;
        }
    }
    return std::nullopt;
}

} // namespace flowdeck
