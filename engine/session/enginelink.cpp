#include "session/enginelink.h"

#include "run/engine.h"
#include "run/flowrun.h"
#include "store/connectionpool.h"
#include "store/limitqueries.h"
#include "store/runcontrolqueries.h"
#include "store/runqueries.h"
#include "store/slotqueries.h"
#include "store/store.h"
#include "store/workerqueries.h"

#include <QLoggingCategory>
#include <QTimer>

#include <chrono>

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
}

QCoro::Task<> EngineLink::refreshLimits()
{
    QPointer<EngineLink> self(this);
    auto reading = m_store.pool().run([](QSqlDatabase& db) { return limitsByTag(db); });
    const QHash<QString, int> limits = co_await reading;
    if (self)
        self->m_engine.limiter().syncLimits(limits);
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

} // namespace flowdeck
