#include "session/runcontrol.h"

#include "flow/flowparser.h"
#include "flow/storedflow.h"
#include "flow/taskkind.h"
#include "run/engine.h"
#include "run/flowrun.h"
#include "session/runlimitgate.h"
#include "session/session.h"
#include "store/connectionpool.h"
#include "store/runcontrolqueries.h"
#include "store/runqueries.h"
#include "store/store.h"

#include <QHostInfo>

#include <unistd.h>

namespace flowdeck {

namespace {

//! The stored document resolved with the stored parameters, as a worker does with a queued run.
FlowDefinition resolveStored(const RunToContinue& stored)
{
    QString error;
    std::optional<FlowDefinition> flow = resolveStoredFlow(
        stored.document, QStringLiteral("stored:") + stored.id, stored.parameters, stored.seed, &error);
    if (!flow)
        throw RunControlError(
            QStringLiteral("the stored flow of run %1 no longer validates: %2").arg(stored.id, error));
    return *flow;
}

} // namespace

RunControl::RunControl(Session& session, Engine& engine)
    : m_session(session)
    , m_engine(engine)
{
}

Claimant RunControl::claimant(const QString& by) const
{
    return {m_session.store()->engineId(), QHostInfo::localHostName(), qint64(::getpid()), by};
}

QCoro::Task<QString> RunControl::resolve(QString idOrShort)
{
    auto resolving = m_session.pool()->run([idOrShort](QSqlDatabase& db) {
        QString error;
        const std::optional<QString> id = resolveFlowRunId(db, idOrShort, &error);
        return std::make_pair(id.value_or(QString()), error);
    });
    const auto [id, error] = co_await resolving;
    if (id.isEmpty())
        throw RunControlError(error);
    co_return id;
}

FlowRun* RunControl::continueHere(RunToContinue stored)
{
    const FlowDefinition flow = resolveStored(stored);
    try {
        return m_engine.continueRun(flow, RunId::fromString(stored.id), stored.createdUs,
                                    std::move(stored.continuation));
    } catch (const std::bad_alloc&) {
        throw RunControlError(
            QStringLiteral("out of memory allocating the task runs of flow run %1").arg(stored.id));
    } catch (const std::length_error& e) {
        throw RunControlError(QString::fromUtf8(e.what()));
    }
}

QCoro::Task<FlowRun*> RunControl::retry(QString flowRunId, QString by)
{
    auto resolving = resolve(flowRunId);
    const QString id = co_await resolving;
    if (FlowRun* here = m_engine.findFlowRun(RunId::fromString(id)); here && !here->isTerminal()) {
        throw RunControlError(
            QStringLiteral("cannot retry flow run %1: %2").arg(id, whyNotRetry(here->type)));
    }
    const Claimant who = claimant(by);
    auto claiming = m_session.pool()->run([id, who](QSqlDatabase& db) {
        try {
            return beginRetry(db, id, who, false);
        } catch (const RefusedError& e) {
            throw RunControlError(e.message());
        }
    });
    RunToContinue stored = co_await claiming;
    if (!m_gate)
        co_return continueHere(std::move(stored));
    const FlowDefinition flow = resolveStored(stored);
    const qint64 createdUs = stored.createdUs;
    auto kept = std::make_shared<RunToContinue>(std::move(stored));
    auto passing = m_gate->continueStored(flow, id, createdUs, [this, kept] { return continueHere(*kept); });
    const GateOutcome out = co_await passing;
    if (out.kind == GateOutcome::Started)
        co_return out.run;
    if (out.kind == GateOutcome::Failed)
        throw RunControlError(QStringLiteral("cannot retry flow run %1: %2").arg(id, out.message));
    throw RunNotStarted(QStringLiteral("flow run %1 %2: %3")
                            .arg(id,
                                 out.kind == GateOutcome::Skipped
                                     ? QStringLiteral("skipped")
                                     : QStringLiteral("cancelled while it waited"),
                                 out.message),
                        out.kind == GateOutcome::Skipped);
}

QCoro::Task<QString> RunControl::queueRetry(QString flowRunId, QString by)
{
    auto resolving = resolve(flowRunId);
    const QString id = co_await resolving;
    const Claimant who = claimant(by);
    auto queueing = m_session.pool()->run([id, who](QSqlDatabase& db) {
        try {
            beginRetry(db, id, who, true);
        } catch (const RefusedError& e) {
            throw RunControlError(e.message());
        }
    });
    co_await queueing;
    co_return id;
}

QCoro::Task<RerunSource> RunControl::rerunSource(QString flowRunId)
{
    auto resolving = resolve(flowRunId);
    const QString id = co_await resolving;
    auto reading = m_session.pool()->run([id](QSqlDatabase& db) { return storedFlowDocument(db, id); });
    const std::optional<StoredDocument> stored = co_await reading;
    if (!stored)
        throw RunControlError(QStringLiteral("no flow run with id %1").arg(id));
    if (stored->document.isEmpty())
        throw RunControlError(
            QStringLiteral("flow run %1 has no stored flow document (stored by an older Flowdeck)").arg(id));
    co_return RerunSource{stored->flowName, stored->document, stored->parameters, stored->seed};
}

QCoro::Task<> RunControl::pause(QString flowRunId, std::optional<double> graceSeconds, QString by)
{
    auto resolving = resolve(flowRunId);
    const QString id = co_await resolving;
    if (graceSeconds && !(*graceSeconds >= 0 && *graceSeconds <= 86400 * 365))
        throw RunControlError(QStringLiteral("the grace must be from 0 to 31536000 seconds"));
    if (FlowRun* here = m_engine.findFlowRun(RunId::fromString(id)); here && !here->isTerminal()) {
        if (!m_engine.pauseFlowRun(here, by, graceSeconds)) {
            throw RunControlError(QStringLiteral("cannot pause flow run %1: %2")
                                      .arg(id,
                                           here->cancelRequested ? QStringLiteral("it is being cancelled")
                                                                 : whyNotPause(here->type)));
        }
        auto recording = m_session.pool()->run([id, by](QSqlDatabase& db) { setPausedBy(db, id, by); });
        co_await recording;
        co_return;
    }
    std::optional<qint64> graceUs;
    if (graceSeconds)
        graceUs = qint64(*graceSeconds * 1e6);
    auto requesting = m_session.pool()->run([id, graceUs, by](QSqlDatabase& db) {
        try {
            return requestPause(db, id, graceUs, by);
        } catch (const RefusedError& e) {
            throw RunControlError(e.message());
        }
    });
    co_await requesting;
}

QCoro::Task<FlowRun*> RunControl::resume(QString flowRunId, QString by)
{
    auto resolving = resolve(flowRunId);
    const QString id = co_await resolving;
    if (FlowRun* here = m_engine.findFlowRun(RunId::fromString(id)); here && !here->isTerminal()) {
        if (!m_engine.resumeFlowRun(here, by))
            throw RunControlError(
                QStringLiteral("cannot resume flow run %1: %2").arg(id, whyNotResume(here->type)));
        co_return here;
    }
    const Claimant who = claimant(by);
    auto claiming = m_session.pool()->run([id, who](QSqlDatabase& db) {
        try {
            return beginResume(db, id, who, false);
        } catch (const RefusedError& e) {
            throw RunControlError(e.message());
        }
    });
    ResumeOutcome outcome = co_await claiming;
    if (outcome.kind != ResumeOutcome::Claimed) {
        m_lastHolder = outcome.holder;
        co_return nullptr;
    }
    co_return continueHere(std::move(outcome.run));
}

QCoro::Task<QString> RunControl::queueResume(QString flowRunId, QString by)
{
    auto resolving = resolve(flowRunId);
    const QString id = co_await resolving;
    const Claimant who = claimant(by);
    auto queueing = m_session.pool()->run([id, who](QSqlDatabase& db) {
        try {
            return beginResume(db, id, who, true);
        } catch (const RefusedError& e) {
            throw RunControlError(e.message());
        }
    });
    const ResumeOutcome outcome = co_await queueing;
    m_lastHolder = outcome.holder;
    co_return id;
}

} // namespace flowdeck
