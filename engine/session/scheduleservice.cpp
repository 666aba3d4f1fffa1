#include "session/scheduleservice.h"

#include "flow/storedflow.h"
#include "run/clock.h"
#include "run/engine.h"
#include "run/flowrun.h"
#include "session/session.h"
#include "store/connectionpool.h"
#include "store/schedulequeries.h"
#include "store/store.h"
#include "store/workerqueries.h"

#include <QHostInfo>
#include <QTimer>

#include <limits>
#include <unistd.h>

namespace flowdeck {

ScheduleService::ScheduleService(Engine& engine, Session& session, ScheduleServiceOptions options,
                                 QObject* parent)
    : QObject(parent)
    , m_engine(engine)
    , m_session(session)
    , m_options(std::move(options))
    , m_host(QHostInfo::localHostName())
    , m_now([] { return wallUs(); })
    , m_timer(new QTimer(this))
{
    if (m_options.workerName.isEmpty())
        m_options.workerName = QStringLiteral("%1-%2").arg(m_host).arg(::getpid());
    m_timer->setSingleShot(true);
    m_timer->setTimerType(Qt::PreciseTimer);
    connect(m_timer, &QTimer::timeout, this, &ScheduleService::onTimer);
    m_starter = [this](const workers::ClaimedRun& run) { startDefault(run); };
    // A run that ends may let one waiting for its limit of active runs go: look at the due runs again.
    // Only runs this service started (others' limits are looked at on the next plan, within planSeconds).
    connect(&m_engine, &Engine::flowRunFinished, this, [this](FlowRun* run) {
        if (m_fired.remove(run->id.toString()))
            onTimer();
    });
}

ScheduleService::~ScheduleService() = default;

void ScheduleService::setStarter(std::function<void(const workers::ClaimedRun&)> starter)
{
    m_starter = std::move(starter);
}

void ScheduleService::setClock(std::function<qint64()> nowUs)
{
    m_now = std::move(nowUs);
}

void ScheduleService::start()
{
    if (m_running)
        return;
    m_running = true;
    wake();
}

void ScheduleService::stop()
{
    m_running = false;
    m_timer->stop();
}

void ScheduleService::setCapacity(std::function<int()> room)
{
    m_capacity = std::move(room);
}

void ScheduleService::capacityFreed()
{
    if (m_blocked)
        onTimer();
}

void ScheduleService::wake()
{
    if (!m_running)
        return;
    m_planAgain = true;
    onTimer();
}

void ScheduleService::onTimer()
{
    if (!m_running)
        return;
    if (m_busy) {
        m_again = true;
        return;
    }
    m_busy = true;
    const bool plan
        = std::exchange(m_planAgain, false) || m_now() - m_lastPlanUs >= qint64(m_options.planSeconds * 1e6);
    auto task = cycle(this, plan);
}

void ScheduleService::arm(qint64 nextFireUs)
{
    if (!m_running)
        return;
    m_nextFireUs = nextFireUs;
    const qint64 now = m_now();
    qint64 wakeUs = m_lastPlanUs + qint64(m_options.planSeconds * 1e6);
    if (nextFireUs > 0)
        wakeUs = std::min(wakeUs, nextFireUs);
    // Rounded up to the millisecond, so the timer never fires just before a fire time.
    const qint64 waitMs = std::max<qint64>(0, (wakeUs - now + 999) / 1000);
    m_timer->start(int(std::min<qint64>(waitMs, 60'000)));
}

QCoro::Task<> ScheduleService::cycle(QPointer<ScheduleService> self, bool plan)
{
    Store* store = self->m_session.store();
    if (!store) {
        self->m_busy = false;
        co_return;
    }
    ConnectionPool& pool = store->pool();
    const QString engineId = store->engineId();
    const QString name = self->m_options.workerName;
    const QString host = self->m_host;
    const qint64 pid = ::getpid();
    // No room (a worker at its maxFlowRuns): no claim now; capacityFreed() looks again.
    const int max = std::min(std::max(1, self->m_options.maxClaim),
                             self->m_capacity ? self->m_capacity() : std::numeric_limits<int>::max());
    self->m_blocked = max <= 0;
    const qint64 now = self->m_now();
    qint64 next = 0;
    try {
        // Claims first: a due run starts as close to its fire time as possible.
        auto claiming = pool.run([engineId, name, host, pid, now, max](QSqlDatabase& db) {
            return schedules::claimDueScheduledRuns(db, engineId, name, host, pid, now, max);
        });
        const workers::ClaimResult claimed = co_await claiming;
        if (!self)
            co_return;
        if (max <= 0) {
            // Up but full: the due runs are held (Late), never counted as missed by the catch-up.
            auto holding = pool.run(
                [now, name](QSqlDatabase& db) { return schedules::holdDueScheduledRuns(db, now, name); });
            co_await holding;
            if (!self)
                co_return;
        }
        for (const QString& id : claimed.cancelled)
            Q_EMIT self->skipped(id);
        for (const workers::ClaimedRun& run : claimed.claimed) {
            self->m_fired.insert(run.id);
            self->m_starter(run);
            if (!self)
                co_return;
            Q_EMIT self->fired(run.id, run.flowName, run.scheduledForUs, self->m_now() - run.scheduledForUs);
        }
        if (max > 0 && claimed.claimed.size() >= max)
            self->m_again = true;
        if (plan || !claimed.claimed.isEmpty()) {
            auto planning = pool.run([now](QSqlDatabase& db) { return schedules::planSchedules(db, now); });
            const schedules::PlanReport report = co_await planning;
            if (!self)
                co_return;
            self->m_lastPlanUs = now;
            next = report.nextFireUs;
            if (report.due > 0)
                self->m_again = true; // missed fire times kept by the catch-up: claim them now
            Q_EMIT self->planned(next);
        } else {
            auto reading = pool.run([](QSqlDatabase& db) { return schedules::nextPlannedFireUs(db); });
            next = co_await reading;
            if (!self)
                co_return;
        }
    } catch (const std::exception& e) {
        if (!self)
            co_return;
        // A passing failure (locked, a lost connection): tried again at the next plan.
        self->m_lastPlanUs = now;
        Q_EMIT self->problem(QStringLiteral("schedules: %1").arg(QString::fromUtf8(e.what())));
    }
    self->m_busy = false;
    if (self->m_blocked)
        next = 0; // due runs wait for room, not for the timer
    if (std::exchange(self->m_again, false) && !self->m_blocked) {
        QMetaObject::invokeMethod(self.data(), &ScheduleService::onTimer, Qt::QueuedConnection);
        co_return;
    }
    self->arm(next);
}

void ScheduleService::startDefault(const workers::ClaimedRun& claimed)
{
    QString error;
    std::optional<FlowDefinition> flow = resolveStoredFlow(
        claimed.document, QStringLiteral("schedule:") + claimed.id, claimed.parameters, claimed.seed, &error);
    QString failure;
    if (!flow) {
        failure = QStringLiteral("the scheduled flow is invalid here: %1").arg(error);
    } else {
        try {
            FlowRun* run = claimed.continuation
                ? m_engine.continueRun(*flow, RunId::fromString(claimed.id), claimed.createdUs,
                                       *claimed.continuation)
                : m_engine.start(*flow, RunId::fromString(claimed.id), claimed.createdUs);
            // The run says who started it as the store does ("schedule nightly"), not this process's name.
            if (run && !claimed.startedBy.isEmpty())
                run->startedBy = claimed.startedBy;
            return;
        } catch (const std::exception& e) {
            failure = QStringLiteral("the flow run cannot start: %1").arg(QString::fromUtf8(e.what()));
        }
    }
    Store* store = m_session.store();
    if (!store)
        return;
    auto failing = [](QPointer<ScheduleService> self, ConnectionPool& pool, QString runId, QString engineId,
                      QString message) -> QCoro::Task<> {
        try {
            auto writing = pool.run([runId, engineId, message](QSqlDatabase& db) {
                workers::failClaimedRun(db, runId, engineId, message);
            });
            co_await writing;
        } catch (const std::exception& e) {
            if (self)
                Q_EMIT self->problem(QString::fromUtf8(e.what()));
        }
    };
    auto task = failing(this, store->pool(), claimed.id, store->engineId(), failure);
}

} // namespace flowdeck
