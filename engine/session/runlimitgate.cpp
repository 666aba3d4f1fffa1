#include "session/runlimitgate.h"

#include "flow/flow.h"
#include "run/clock.h"
#include "run/engine.h"
#include "session/session.h"
#include "store/connectionpool.h"
#include "store/runlimitqueries.h"
#include "store/store.h"
#include "store/workerqueries.h"

#include <QHostInfo>
#include <QTimer>

#include <unistd.h>

namespace flowdeck {

namespace {

//! While runs wait, they are tried again this often (a place freed by another process).
constexpr int RetryIntervalMs = 500;

qint64 countTaskRuns(const FlowDefinition& flow)
{
    qint64 total = 0;
    for (const TaskDef& task : flow.tasks) {
        int count = task.map.value_or(1);
        for (QString over = task.mapOver; !over.isEmpty();) {
            const int index = flow.indexOf(over);
            if (index < 0)
                break;
            count = flow.tasks.at(index).map.value_or(1);
            over = flow.tasks.at(index).mapOver;
        }
        total += count;
    }
    return total;
}

} // namespace

struct RunLimitGate::Waiter {
    runlimits::LocalRun run;
    std::coroutine_handle<> handle;
    std::optional<GateOutcome::Kind> kind;
    QString message;
};

struct RunLimitGate::WaitAwaiter {
    std::shared_ptr<Waiter> waiter;
    bool await_ready() const noexcept { return waiter->kind.has_value(); }
    void await_suspend(std::coroutine_handle<> handle) noexcept { waiter->handle = handle; }
    void await_resume() const noexcept {}
};

RunLimitGate::RunLimitGate(Engine& engine, Session& session, QObject* parent)
    : QObject(parent)
    , m_engine(engine)
    , m_session(session)
    , m_timer(new QTimer(this))
{
    m_timer->setInterval(RetryIntervalMs);
    connect(m_timer, &QTimer::timeout, this, &RunLimitGate::tryAgain);
    // A run of this engine ended: a place of its limit may be free now, not only at the next try.
    connect(&m_engine, &Engine::flowRunFinished, this, [this] {
        if (!m_waiting.isEmpty())
            tryAgain();
    });
}

RunLimitGate::~RunLimitGate()
{
    m_closing = true;
    const QList<QString> ids = m_order;
    for (const QString& id : ids)
        finish(id, GateOutcome::Cancelled, QStringLiteral("the process stopped while the run waited"));
}

bool RunLimitGate::limits(const FlowDefinition& flow) const
{
    return flow.maxActiveRuns > 0 && m_session.store();
}

QCoro::Task<GateOutcome> RunLimitGate::start(FlowDefinition flow, QString startedBy)
{
    const QString id = RunId::generate().toString();
    const qint64 createdUs = wallUs();
    auto startHere = [this, flow, id, createdUs, startedBy]() -> FlowRun* {
        FlowRun* run = m_engine.start(flow, RunId::fromString(id), createdUs);
        if (run && !startedBy.isEmpty())
            run->startedBy = startedBy;
        return run;
    };
    if (!limits(flow)) {
        GateOutcome out;
        out.id = id;
        try {
            out.run = startHere();
            out.kind = GateOutcome::Started;
        } catch (const std::exception& e) {
            out.message = QStringLiteral("cannot start the flow run: ") + QString::fromLocal8Bit(e.what());
        }
        co_return out;
    }
    auto passing
        = pass(flow.name, flow.document, flow.parameters, flow.seed, countTaskRuns(flow), id, createdUs,
               startedBy.isEmpty() ? m_engine.startedBy() : startedBy, false, std::move(startHere));
    co_return co_await passing;
}

QCoro::Task<GateOutcome> RunLimitGate::continueStored(FlowDefinition flow, QString id, qint64 createdUs,
                                                      std::function<FlowRun*()> continueHere)
{
    if (!limits(flow)) {
        GateOutcome out;
        out.id = id;
        out.run = continueHere(); // throws as Engine::continueRun does, for the caller
        out.kind = GateOutcome::Started;
        co_return out;
    }
    auto passing = pass(flow.name, flow.document, flow.parameters, flow.seed, countTaskRuns(flow), id,
                        createdUs, QString(), true, std::move(continueHere));
    co_return co_await passing;
}

QCoro::Task<GateOutcome> RunLimitGate::pass(QString flowName, QJsonObject document, QJsonObject parameters,
                                            std::optional<quint64> seed, qint64 totalTaskRuns, QString id,
                                            qint64 createdUs, QString startedBy, bool stored,
                                            std::function<FlowRun*()> startHere)
{
    QPointer<RunLimitGate> self(this);
    GateOutcome out;
    out.id = id;
    Store* store = m_session.store();
    runlimits::LocalRun r;
    r.id = id;
    r.flowName = flowName;
    r.document = document;
    r.parameters = parameters;
    r.seed = seed;
    r.totalTaskRuns = totalTaskRuns;
    r.createdUs = createdUs;
    r.startedBy = startedBy;
    r.limit = workers::documentRunLimit(flowName, document);
    r.stored = stored;
    const runlimits::Holder holder{store->engineId(), QHostInfo::localHostName(), qint64(::getpid())};
    ConnectionPool& pool = store->pool();
    runlimits::AdmissionResult first;
    try {
        auto admitting = pool.run([holder, r](QSqlDatabase& db) { return runlimits::admit(db, holder, r); });
        first = co_await admitting;
    } catch (const std::exception& e) {
        out.message = QStringLiteral("cannot store the flow run under its max_active_runs: ")
            + QString::fromUtf8(e.what());
        co_return out;
    }
    if (!self || self->m_closing) {
        out.kind = GateOutcome::Cancelled;
        out.message = QStringLiteral("the process stopped before the run started");
        co_return out;
    }
    switch (first.outcome) {
    case runlimits::Admission::Admitted:
        break;
    case runlimits::Admission::Skipped:
        out.kind = GateOutcome::Skipped;
        out.message = first.message;
        co_return out;
    case runlimits::Admission::Cancelled:
    case runlimits::Admission::Gone:
        out.kind = GateOutcome::Cancelled;
        out.message = first.message.isEmpty() ? QStringLiteral("the flow run was taken by another process")
                                              : first.message;
        co_return out;
    case runlimits::Admission::Waiting: {
        auto waiter = std::make_shared<Waiter>();
        waiter->run = r;
        self->m_waiting.insert(id, waiter);
        self->m_order.append(id);
        if (!self->m_timer->isActive())
            self->m_timer->start();
        Q_EMIT self->waiting(id, flowName, first.message);
        co_await WaitAwaiter{waiter};
        if (!self || self->m_closing || *waiter->kind != GateOutcome::Started) {
            out.kind = waiter->kind.value_or(GateOutcome::Cancelled);
            out.message = waiter->message;
            co_return out;
        }
        break;
    }
    }
    try {
        out.run = startHere();
        out.kind = GateOutcome::Started;
        co_return out;
    } catch (const std::exception& e) {
        out.message = QStringLiteral("cannot start the flow run: ") + QString::fromLocal8Bit(e.what());
    }
    // Stored and admitted, but not running: ended FAILED, so that it does not hold a place.
    const QString engineId = holder.engineId;
    const QString message = out.message;
    try {
        auto failing = pool.run([id, engineId, message](QSqlDatabase& db) {
            workers::failClaimedRun(db, id, engineId, message);
        });
        co_await failing;
    } catch (const std::exception& e) {
        if (self)
            Q_EMIT self->problem(QString::fromUtf8(e.what()));
    }
    co_return out;
}

void RunLimitGate::tryAgain()
{
    if (m_waiting.isEmpty()) {
        m_timer->stop();
        return;
    }
    if (m_trying) {
        m_again = true;
        return;
    }
    m_trying = true;
    auto task = tryWaiting(this);
}

QCoro::Task<> RunLimitGate::tryWaiting(QPointer<RunLimitGate> self)
{
    Store* store = self->m_session.store();
    if (!store) {
        self->m_trying = false;
        co_return;
    }
    QList<runlimits::LocalRun> runs;
    for (const QString& id : std::as_const(self->m_order))
        runs << self->m_waiting.value(id)->run;
    const runlimits::Holder holder{store->engineId(), QHostInfo::localHostName(), qint64(::getpid())};
    QList<runlimits::AdmissionResult> results;
    try {
        auto trying = store->pool().run(
            [holder, runs](QSqlDatabase& db) { return runlimits::admitWaiting(db, holder, runs); });
        results = co_await trying;
    } catch (const std::exception& e) {
        if (self) {
            self->m_trying = false;
            Q_EMIT self->problem(QStringLiteral("runs waiting for their max_active_runs: ")
                                 + QString::fromUtf8(e.what()));
        }
        co_return;
    }
    if (!self)
        co_return;
    self->m_trying = false;
    for (const runlimits::AdmissionResult& r : std::as_const(results)) {
        switch (r.outcome) {
        case runlimits::Admission::Waiting:
            break;
        case runlimits::Admission::Admitted:
            self->finish(r.id, GateOutcome::Started, r.message);
            break;
        case runlimits::Admission::Skipped:
            self->finish(r.id, GateOutcome::Skipped, r.message);
            break;
        case runlimits::Admission::Cancelled:
        case runlimits::Admission::Gone:
            self->finish(r.id, GateOutcome::Cancelled, r.message);
            break;
        }
        if (!self)
            co_return;
    }
    if (self->m_waiting.isEmpty())
        self->m_timer->stop();
    else if (std::exchange(self->m_again, false))
        self->tryAgain();
}

void RunLimitGate::finish(const QString& id, GateOutcome::Kind kind, const QString& message)
{
    const std::shared_ptr<Waiter> waiter = m_waiting.take(id);
    if (!waiter)
        return;
    m_order.removeOne(id);
    waiter->kind = kind;
    waiter->message = message;
    if (waiter->handle)
        std::exchange(waiter->handle, {}).resume();
}

QCoro::Task<> RunLimitGate::cancelAll(QString reason)
{
    QPointer<RunLimitGate> self(this);
    const QStringList ids = m_order;
    Store* store = m_session.store();
    if (ids.isEmpty() || !store)
        co_return;
    const QString engineId = store->engineId();
    QStringList ended;
    try {
        auto cancelling = store->pool().run([engineId, ids, reason](QSqlDatabase& db) {
            return runlimits::cancelWaiting(db, engineId, ids, reason);
        });
        ended = co_await cancelling;
    } catch (const std::exception& e) {
        if (self)
            Q_EMIT self->problem(QString::fromUtf8(e.what()));
    }
    if (!self)
        co_return;
    // The others were admitted (or ended) meanwhile: the try under way, or the next, says which.
    for (const QString& id : std::as_const(ended))
        self->finish(id, GateOutcome::Cancelled, reason);
}

} // namespace flowdeck
