#include "session/enginelink.h"

#include "run/engine.h"
#include "run/flowrun.h"
#include "store/approvalqueries.h"
#include "store/connectionpool.h"
#include "store/databasecache.h"
#include "store/limitqueries.h"
#include "store/runcontrolqueries.h"
#include "store/runqueries.h"
#include "store/slotqueries.h"
#include "store/store.h"
#include "store/workerqueries.h"

#include <QLoggingCategory>
#include <QTimer>

#include <algorithm>
#include <chrono>
#include <limits>

Q_LOGGING_CATEGORY(lcSession, "flowdeck.session")

namespace flowdeck {

namespace {

using namespace std::chrono_literals;

constexpr auto HeartbeatInterval = 5s;
constexpr auto PollInterval = 500ms;

} // namespace

EngineLink::EngineLink(Store& store, Engine& engine, QObject* parent)
    : QObject(parent)
    , m_store(store)
    , m_engine(engine)
    , m_pollTimer(new QTimer(this))
{
    engine.addObserver(&store);
    engine.setDurabilitySink(&store);
    engine.setSlotSink(&store);
    m_cache = std::make_unique<DatabaseCache>(store.pool());
    engine.setCacheSink(m_cache.get());
    m_pollTimer->setInterval(PollInterval);
    connect(m_pollTimer, &QTimer::timeout, this, &EngineLink::poll);
    m_beatClock.start();
    m_leaseClock.start();
    m_pollTimer->start();
}

EngineLink::~EngineLink()
{
    m_engine.removeObserver(&m_store);
    if (m_engine.durabilitySink() == &m_store)
        m_engine.setDurabilitySink(nullptr);
    if (m_engine.slotSink() == &m_store)
        m_engine.setSlotSink(nullptr);
    if (m_engine.cacheSink() == m_cache.get())
        m_engine.setCacheSink(nullptr);
}

QCoro::Task<> EngineLink::refreshLimits()
{
    QPointer<EngineLink> self(this);
    auto reading = m_store.pool().run(
        [](QSqlDatabase& db) { return std::make_pair(limitsByTag(db), globalLimitsByName(db)); });
    const auto [limits, globals] = co_await reading;
    if (self) {
        self->m_engine.limiter().syncLimits(limits);
        self->m_engine.limiter().syncGlobalLimits(globals);
    }
}

void EngineLink::poll()
{
    if (m_polling)
        return; // the previous poll is still waiting for the database
    m_polling = true;
    auto task = pollOnce(this);
}

QCoro::Task<> EngineLink::pollOnce(QPointer<EngineLink> self)
{
    // Every resumption re-checks self: the link may be gone while the database answers.
    const QString id = self->m_store.engineId();
    try {
        if (self->m_beatClock.hasExpired(std::chrono::milliseconds(HeartbeatInterval).count())) {
            self->m_beatClock.restart();
            auto beating = self->m_store.pool().run([id](QSqlDatabase& db) { workers::beatEngine(db, id); });
            co_await beating;
            if (!self)
                co_return;
        }
        const qint64 lease = self->m_store.slotLeaseUs();
        if (self->m_leaseClock.hasExpired(lease / 3000)) {
            self->m_leaseClock.restart();
            auto renewing
                = self->m_store.pool().run([id, lease](QSqlDatabase& db) { renewSlotLeases(db, id, lease); });
            co_await renewing;
            if (!self)
                co_return;
        }
        // Limits live in the store: changes made by the CLI or another process apply within a poll.
        auto refreshing = self->refreshLimits();
        co_await refreshing;
        if (!self)
            co_return;
        if (self->m_engine.activeFlowRuns() > 0) {
            auto requests = controlRequested(self);
            co_await requests;
        }
        // Only while an approval waits here: a poll that reads nothing otherwise.
        if (self && !self->m_engine.awaitingApprovals().empty()) {
            auto deciding = approvalsDecided(self);
            co_await deciding;
        }
    } catch (const PoolClosed&) {
        co_return; // the session went while this poll waited for the database
    } catch (const std::exception& e) {
        qCWarning(lcSession) << "heartbeat / cancel poll failed:" << e.what();
    }
    if (self)
        self->m_polling = false;
}

QCoro::Task<> EngineLink::controlRequested(QPointer<EngineLink> self)
{
    const QString id = self->m_store.engineId();
    auto reading = self->m_store.pool().run([id](QSqlDatabase& db) { return controlRequests(db, id); });
    const QList<ControlRequest> requests = co_await reading;
    QStringList applied;
    for (const ControlRequest& r : requests) {
        if (!self)
            co_return;
        FlowRun* run = self->m_engine.findFlowRun(RunId::fromString(r.id));
        if (r.pause || r.resume)
            applied << r.id;
        if (!run)
            continue;
        if (r.cancel) {
            self->m_engine.cancelFlowRun(run, QStringLiteral("cancel requested from another process"));
        } else if (r.pause) {
            std::optional<double> grace;
            if (r.graceUs)
                grace = double(*r.graceUs) / 1e6;
            self->m_engine.pauseFlowRun(run, r.by.isEmpty() ? QStringLiteral("another process") : r.by,
                                        grace);
        } else if (r.resume) {
            self->m_engine.resumeFlowRun(run, QStringLiteral("another process"));
        }
    }
    if (applied.isEmpty() || !self)
        co_return;
    auto clearing = self->m_store.pool().run(
        [id, applied](QSqlDatabase& db) { clearControlRequests(db, id, applied); });
    co_await clearing;
}

QCoro::Task<> EngineLink::approvalsDecided(QPointer<EngineLink> self)
{
    qint64 since = std::numeric_limits<qint64>::max();
    for (const TaskRun* run : self->m_engine.awaitingApprovals())
        since = std::min(since, run->createdUs);
    auto reading
        = self->m_store.pool().run([since](QSqlDatabase& db) { return pendingApprovalDecisions(db, since); });
    const QList<ApprovalDecisionRow> decided = co_await reading;
    for (const ApprovalDecisionRow& d : decided) {
        if (!self)
            break;
        const RunId id = RunId::fromString(d.taskRunId);
        // Copied: deciding changes the list (the run leaves it once it resumes).
        const std::vector<TaskRun*> waiting = self->m_engine.awaitingApprovals();
        for (TaskRun* run : waiting) {
            if (run->id == id) {
                self->m_engine.decideApproval(run, d.approved, d.reason, d.by);
                break;
            }
        }
    }
}

} // namespace flowdeck
