#include "worker/worker.h"

#include "flow/flowparser.h"
#include "flow/storedflow.h"
#include "flow/taskkind.h"
#include "run/engine.h"
#include "run/taskcontext.h"
#include "session/scheduleservice.h"
#include "session/session.h"
#include "store/connectionpool.h"
#include "store/recovery.h"
#include "store/sqlhelpers.h"
#include "store/store.h"
#include "store/workerqueries.h"

#include <QCoro/QCoroSignal>
#include <QCoro/QCoroTimer>
#include <QHostInfo>
#include <QLoggingCategory>
#include <QTimer>

#include <unistd.h>

Q_LOGGING_CATEGORY(lcWorker, "flowdeck.worker")

namespace flowdeck {

namespace {

//! How often a worker looks for engines that went away (a cheap read; recovery only when needed).
constexpr int ReapIntervalMs = 1000;
//! After a write failure, how long the cancelled task bodies may take to end (a shell task's
//! default grace between SIGTERM and SIGKILL is 5 s).
constexpr qint64 BodiesEndMs = 10'000;

//! Whether a task body of \a flow still runs (a child process, a request): it ends soon after a cancel.
bool anyAttemptRunning(const FlowRun& flow)
{
    for (const TaskNode& node : flow.nodes) {
        for (int i = 0; i < node.materialized; ++i) {
            const TaskRun* run = node.runs.find(size_t(i)); // null: finished and released
            if (run && run->active && run->active->inAttempt())
                return true;
        }
    }
    return false;
}

} // namespace

Worker::Worker(Engine& engine, Session& session, WorkerOptions options, QObject* parent)
    : QObject(parent)
    , m_engine(engine)
    , m_store(*session.store())
    , m_options(std::move(options))
    , m_host(QHostInfo::localHostName())
    , m_claimTimer(new QTimer(this))
    , m_beatTimer(new QTimer(this))
{
    if (m_options.name.isEmpty())
        m_options.name = QStringLiteral("%1-%2").arg(m_host).arg(::getpid());
    m_options.maxFlowRuns = std::max(1, m_options.maxFlowRuns);
    m_claimTimer->setInterval(std::max(10, int(m_options.pollSeconds * 1000)));
    // Several heartbeats per lease, so that one late beat never makes a live worker look gone.
    m_beatTimer->setInterval(std::clamp(int(m_options.leaseSeconds * 1000 / 4), 50, 1000));
    connect(m_claimTimer, &QTimer::timeout, this, &Worker::tryClaim);
    connect(m_beatTimer, &QTimer::timeout, this, &Worker::beat);
    connect(&m_engine, &Engine::flowRunFinished, this, &Worker::onFlowRunFinished);
    // Queued: the worker stops from the event loop, never inside the store's writer.
    connect(&m_store, &Store::writeFailed, this, &Worker::fail, Qt::QueuedConnection);
    if (m_options.runSchedules) {
        ScheduleServiceOptions scheduleOptions;
        scheduleOptions.workerName = m_options.name;
        m_schedules = new ScheduleService(engine, session, scheduleOptions, this);
        m_schedules->setStarter([this](const workers::ClaimedRun& run) { startClaimed(run); });
        // Scheduled runs count towards maxFlowRuns like queued ones.
        m_schedules->setCapacity([this] { return m_options.maxFlowRuns - running(); });
        connect(m_schedules, &ScheduleService::problem, this, &Worker::problem);
    }
}

Worker::~Worker()
{
    if (!m_runs.isEmpty())
        qCWarning(lcWorker) << "worker destroyed with" << m_runs.size() << "flow runs still running";
}

QCoro::Task<> Worker::start()
{
    const QString id = m_store.engineId();
    const QString name = m_options.name;
    const int max = m_options.maxFlowRuns;
    const qint64 leaseUs = qint64(m_options.leaseSeconds * 1e6);
    auto registering = m_store.pool().run(
        [id, name, max, leaseUs](QSqlDatabase& db) { workers::registerWorker(db, id, name, max, leaseUs); });
    co_await registering;
    m_started = true;
    m_reapClock.start();
    m_beatTimer->start();
    m_claimTimer->start();
    if (m_schedules)
        m_schedules->start();
    tryClaim();
}

void Worker::requestStop(const QString& reason)
{
    if (m_stopping)
        return;
    m_stopping = true;
    m_claimTimer->stop();
    if (m_schedules)
        m_schedules->stop();
    Q_EMIT stopRequested(reason);
}

int Worker::cancelAll(const QString& reason)
{
    int n = 0;
    const auto runs = m_runs.keys();
    for (FlowRun* run : runs) {
        if (isPausedIdle(*run))
            continue; // stays PAUSED for whoever resumes it
        if (m_engine.cancelFlowRun(run, reason))
            ++n;
    }
    return n;
}

bool Worker::isPausedIdle(const FlowRun& run)
{
    return run.type == StateType::Paused && run.activeDrivers == 0;
}

int Worker::running() const
{
    const auto runs = m_runs.keys();
    return int(
        std::count_if(runs.begin(), runs.end(), [](const FlowRun* run) { return !isPausedIdle(*run); }));
}

QCoro::Task<bool> Worker::waitIdle(std::chrono::milliseconds timeout)
{
    QElapsedTimer clock;
    clock.start();
    QPointer<Worker> self(this);
    // A paused run with nothing running holds the worker no longer (it may stay paused for days); a run
    // can become one without a signal, so the wait also looks again every 200 ms.
    while (self && self->running() > 0) {
        const auto left = timeout - std::chrono::milliseconds(clock.elapsed());
        if (left.count() <= 0)
            co_return false;
        auto waiting = qCoro(self.data(), &Worker::idle,
                             std::min<std::chrono::milliseconds>(left, std::chrono::milliseconds(200)));
        co_await waiting;
    }
    co_return true;
}

void Worker::noteFailure(const QString& what, const std::exception& e)
{
    const QString message = QString::fromUtf8(e.what());
    if (dynamic_cast<const sql::StorageError*>(&e)) {
        fail(QStringLiteral("%1: %2").arg(what, message));
        return;
    }
    if (!m_failingSince.isValid())
        m_failingSince.start();
    const double failingS = m_failingSince.elapsed() / 1000.0;
    if (m_options.retryLimitSeconds > 0 && failingS >= m_options.retryLimitSeconds) {
        fail(QStringLiteral("%1: %2 (still failing after %3 s of retries)")
                 .arg(what, message)
                 .arg(failingS, 0, 'f', 1));
        return;
    }
    Q_EMIT problem(QStringLiteral("%1 (retrying): %2").arg(what, message));
}

void Worker::fail(const QString& message)
{
    if (!m_failure.isEmpty())
        return;
    m_failure = message;
    m_claimTimer->stop();
    m_beatTimer->stop();
    if (m_schedules)
        m_schedules->stop();
    qCCritical(lcWorker).noquote() << "cannot write to the database, stopping:" << message;
    Q_EMIT failed(message);
    requestStop(QStringLiteral("cannot write to the database"));
}

QCoro::Task<int> Worker::crashRunning(QString reason)
{
    const QList<FlowRun*> runs = m_runs.keys();
    QStringList ids;
    for (FlowRun* run : runs)
        ids << run->id.toString();
    const QString engineId = m_store.engineId();
    const QString host = m_host;
    QPointer<Worker> self(this);
    int marked = 0;
    try {
        auto crashing = m_store.pool().run([ids, engineId, host, reason](QSqlDatabase& db) {
            int n = 0;
            for (const QString& id : ids) {
                Recovery(db, engineId, host).crashNow(id, reason);
                ++n;
            }
            return n;
        });
        marked = co_await crashing;
    } catch (const std::exception& e) {
        if (self)
            Q_EMIT self->problem(QStringLiteral("marking the running flow runs CRASHED failed: %1")
                                     .arg(QString::fromUtf8(e.what())));
    }
    if (!self)
        co_return marked;
    // Their task runs stop (child processes are killed); their transitions are no longer written, so
    // they never finish in the store's sense: no longer tracked as running.
    for (FlowRun* run : runs) {
        if (!self->m_runs.contains(run))
            continue;
        if (!run->isTerminal())
            self->m_engine.cancelFlowRun(run, reason);
        const QString flowName = self->m_runs.take(run);
        Q_EMIT self->ended(run->id.toString(), flowName,
                           marked > 0 ? QStringLiteral("CRASHED") : QStringLiteral("stopped"), reason);
    }
    // The cancelled bodies end promptly (a child process gets SIGTERM, then SIGKILL after its grace):
    // wait for them, so that none is still running when the engine goes away. Bounded: shutdown only.
    QElapsedTimer clock;
    clock.start();
    const auto bodiesRunning = [&runs, &self] {
        return self
            && std::any_of(runs.begin(), runs.end(), [](FlowRun* run) { return anyAttemptRunning(*run); });
    };
    while (bodiesRunning() && clock.elapsed() < BodiesEndMs) {
        auto pause = QCoro::sleepFor(std::chrono::milliseconds(20));
        co_await pause;
    }
    if (!self)
        co_return marked;
    if (self->m_runs.isEmpty())
        Q_EMIT self->idle();
    co_return marked;
}

void Worker::tryClaim()
{
    if (!m_started || m_stopping || m_offline || !m_failure.isEmpty())
        return;
    if (m_claiming) {
        m_claimAgain = true; // a run ended while the claim was in flight: look again right after
        return;
    }
    if (running() >= m_options.maxFlowRuns)
        return;
    m_claiming = true;
    auto task = claimOnce(this);
}

QCoro::Task<> Worker::claimOnce(QPointer<Worker> self)
{
    const int wanted = self->m_options.maxFlowRuns - self->running();
    const QString id = self->m_store.engineId();
    const QString name = self->m_options.name;
    const QString host = self->m_host;
    const qint64 pid = ::getpid();
    bool full = false;
    try {
        auto claiming = self->m_store.pool().run([id, name, host, pid, wanted](QSqlDatabase& db) {
            return workers::claimFlowRuns(db, id, name, host, pid, wanted);
        });
        const workers::ClaimResult result = co_await claiming;
        if (!self)
            co_return;
        self->noteSuccess();
        for (const QString& cancelled : result.cancelled)
            Q_EMIT self->ended(cancelled, QString(), QStringLiteral("CANCELLED"),
                               QStringLiteral("cancelled before a worker started it"));
        for (const workers::ClaimedRun& run : result.claimed)
            self->startClaimed(run);
        // As many as asked for: there may be more waiting, so look again without waiting for the timer.
        full = result.claimed.size() + result.cancelled.size() >= wanted;
    } catch (const std::exception& e) {
        if (!self)
            co_return;
        self->noteFailure(QStringLiteral("claiming flow runs failed"), e);
    }
    self->m_claiming = false;
    if (std::exchange(self->m_claimAgain, false) || full)
        QMetaObject::invokeMethod(self.data(), &Worker::tryClaim, Qt::QueuedConnection);
}

void Worker::startClaimed(const workers::ClaimedRun& claimed)
{
    QString error;
    std::optional<FlowDefinition> flow = resolveStoredFlow(
        claimed.document, QStringLiteral("queue:") + claimed.id, claimed.parameters, claimed.seed, &error);
    if (!flow) {
        failClaimed(claimed.id, claimed.flowName,
                    QStringLiteral("the queued flow is invalid here: %1").arg(error));
        return;
    }
    FlowRun* run = nullptr;
    try {
        if (claimed.continuation)
            run = m_engine.continueRun(*flow, RunId::fromString(claimed.id), claimed.createdUs,
                                       *claimed.continuation);
        else
            run = m_engine.start(*flow, RunId::fromString(claimed.id), claimed.createdUs);
    } catch (const std::exception& e) {
        // This run alone cannot start (too many task runs, out of memory): it fails with the reason,
        // and the other runs of the same claim start normally.
        failClaimed(claimed.id, claimed.flowName,
                    QStringLiteral("the flow run cannot start: %1").arg(QString::fromUtf8(e.what())));
        return;
    }
    m_runs.insert(run, flow->name);
    m_engine.log(run, nullptr, LogLevel::Info,
                 QStringLiteral("claimed by worker %1 on %2 (pid %3), attempt %4 of %5")
                     .arg(m_options.name, m_host)
                     .arg(::getpid())
                     .arg(claimed.runCount)
                     .arg(claimed.retries + 1));
    Q_EMIT this->claimed(claimed.id, flow->name, claimed.runCount);
}

void Worker::failClaimed(const QString& runId, const QString& flowName, const QString& message)
{
    auto failing = [](QPointer<Worker> self, ConnectionPool& pool, QString runId, QString engineId,
                      QString message, QString flowName) -> QCoro::Task<> {
        try {
            auto writing = pool.run([runId, engineId, message](QSqlDatabase& db) {
                workers::failClaimedRun(db, runId, engineId, message);
            });
            co_await writing;
        } catch (const std::exception& e) {
            if (self)
                Q_EMIT self->problem(QString::fromUtf8(e.what()));
        }
        if (self) {
            ++self->m_finishedCount;
            Q_EMIT self->ended(runId, flowName, QStringLiteral("FAILED"), message);
        }
    };
    auto task = failing(this, m_store.pool(), runId, m_store.engineId(), message, flowName);
}

void Worker::onFlowRunFinished(FlowRun* run)
{
    auto it = m_runs.find(run);
    if (it == m_runs.end())
        return;
    const QString flowName = it.value();
    m_runs.erase(it);
    ++m_finishedCount;
    Q_EMIT ended(run->id.toString(), flowName, toString(run->type), run->message);
    // Freed once its drivers have unwound (not from inside the engine's signal).
    m_toRelease.push_back(run);
    QMetaObject::invokeMethod(this, &Worker::releaseFinished, Qt::QueuedConnection);
    tryClaim();
    if (m_schedules)
        m_schedules->capacityFreed();
    if (m_runs.isEmpty())
        Q_EMIT idle();
}

void Worker::releaseFinished()
{
    std::erase_if(m_toRelease, [this](FlowRun* run) { return m_engine.release(run); });
    if (!m_toRelease.empty())
        QTimer::singleShot(50, this, &Worker::releaseFinished);
}

void Worker::beat()
{
    if (m_beating || !m_started || !m_failure.isEmpty())
        return;
    m_beating = true;
    auto task = beatOnce(this);
}

QCoro::Task<> Worker::beatOnce(QPointer<Worker> self)
{
    const QString id = self->m_store.engineId();
    const QString host = self->m_host;
    workers::WorkerFigures figures;
    figures.flowRunsRunning = self->running();
    const BlockingPoolStats pool = self->m_engine.blockingPool().stats();
    figures.blockingBusy = pool.busy;
    figures.blockingMax = pool.maxThreads;
    figures.loopLagUs = qint64(self->m_engine.loopMonitor().lagStats().p99 * 1000.0);
    try {
        auto beating = self->m_store.pool().run(
            [id, figures](QSqlDatabase& db) { return workers::heartbeat(db, id, figures); });
        const bool registered = co_await beating;
        if (!self)
            co_return;
        self->noteSuccess();
        if (!registered && !self->m_offline) {
            self->m_offline = true;
            Q_EMIT self->problem(
                QStringLiteral(
                    "this worker was declared offline by another process (its heartbeat was late for more "
                    "than its lease of %1 s); its flow runs were taken over")
                    .arg(self->m_options.leaseSeconds));
            self->requestStop(QStringLiteral("declared offline"));
        }
        if (!self->m_offline && self->m_reapClock.hasExpired(ReapIntervalMs)) {
            self->m_reapClock.restart();
            auto looking = self->m_store.pool().run(
                [id, host](QSqlDatabase& db) { return workers::anyEngineGone(db, id, host); });
            const bool someoneGone = co_await looking;
            if (!self)
                co_return;
            if (someoneGone) {
                auto recovering = self->m_store.recoverNow();
                const RecoveryReport report = co_await recovering;
                if (!self)
                    co_return;
                if (report.crashedFlowRuns > 0 || report.freedSlots > 0) {
                    Q_EMIT self->tookOver(report.crashedFlowRuns, report.freedSlots);
                    self->tryClaim(); // requeued runs may be waiting
                }
            }
        }
    } catch (const std::exception& e) {
        if (self)
            self->noteFailure(QStringLiteral("heartbeat failed"), e);
    }
    if (self)
        self->m_beating = false;
}

} // namespace flowdeck
