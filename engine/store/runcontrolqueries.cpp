#include "store/runcontrolqueries.h"

#include "run/clock.h"
#include "store/schema.h"
#include "store/sqlhelpers.h"

#include <QJsonArray>
#include <QJsonDocument>
#include <QSqlQuery>

#include <cerrno>
#include <csignal>
#include <unistd.h>

namespace flowdeck {

using sql::run;
using sql::WriteTransaction;

namespace {

constexpr qint64 DefaultLeaseUs = 30'000'000;

QJsonObject jsonObject(const QVariant& v)
{
    return v.isNull() ? QJsonObject() : QJsonDocument::fromJson(v.toString().toUtf8()).object();
}

QVariant nullText()
{
    return QVariant(QMetaType::fromType<QString>());
}

struct StoredRun {
    StateType state = StateType::Pending;
    QString stateText;
    QString worker;
    RunToContinue run;
    qint64 startedUs = 0;
};

//! Reads the row of \a flowRunId inside the caller's write transaction (locked on PostgreSQL).
StoredRun readStored(QSqlDatabase& db, const QString& flowRunId, const QString& what)
{
    QSqlQuery q
        = run(db,
              QStringLiteral("SELECT state, worker, flow_name, document, parameters, seed, created_at, "
                             "started_at FROM flow_runs WHERE id = ?%1")
                  .arg(sql::isPostgres(db) ? QStringLiteral(" FOR UPDATE") : QString()),
              {flowRunId}, what);
    if (!q.next())
        throw RefusedError(QStringLiteral("no flow run with id %1").arg(flowRunId));
    StoredRun s;
    s.stateText = q.value(0).toString();
    if (!parseStateType(s.stateText, &s.state))
        throw RefusedError(
            QStringLiteral("flow run %1 has an unknown state \"%2\"").arg(flowRunId, s.stateText));
    s.worker = q.value(1).toString();
    s.run.id = flowRunId;
    s.run.flowName = q.value(2).toString();
    s.run.document = jsonObject(q.value(3));
    s.run.parameters = jsonObject(q.value(4));
    if (!q.value(5).isNull())
        s.run.seed = quint64(q.value(5).toLongLong());
    s.run.createdUs = q.value(6).toLongLong();
    s.startedUs = q.value(7).isNull() ? 0 : q.value(7).toLongLong();
    if (s.run.document.isEmpty()) {
        throw RefusedError(
            QStringLiteral("flow run %1 has no stored flow document (stored by an older Flowdeck)")
                .arg(flowRunId));
    }
    return s;
}

//! Whether engine \a engineId is registered and alive: its heartbeat is within its lease and, on this
//! host, its process exists.
bool engineAlive(QSqlDatabase& db, const QString& engineId, const QString& host, QString* holder)
{
    if (engineId.isEmpty())
        return false;
    QSqlQuery q
        = run(db, QStringLiteral("SELECT host, pid, heartbeat_at, lease_us, name FROM engines WHERE id = ?"),
              {engineId}, QStringLiteral("reading the engine that holds a flow run"));
    if (!q.next())
        return false;
    const qint64 lease = q.value(3).toLongLong() > 0 ? q.value(3).toLongLong() : DefaultLeaseUs;
    if (wallUs() - q.value(2).toLongLong() > lease)
        return false;
    const qint64 pid = q.value(1).toLongLong();
    if (q.value(0).toString() == host && pid > 0 && ::kill(pid_t(pid), 0) != 0 && errno != EPERM)
        return false;
    if (holder) {
        const QString name = q.value(4).toString();
        *holder = (name.isEmpty() ? QString() : QStringLiteral("worker %1, ").arg(name))
            + QStringLiteral("%1 pid %2").arg(q.value(0).toString()).arg(pid);
    }
    return true;
}

} // namespace

std::optional<StoredDocument> storedFlowDocument(QSqlDatabase& db, const QString& flowRunId)
{
    QSqlQuery q
        = run(db, QStringLiteral("SELECT flow_name, document, parameters, seed FROM flow_runs WHERE id = ?"),
              {flowRunId}, QStringLiteral("reading the flow document of run %1").arg(flowRunId));
    if (!q.next())
        return std::nullopt;
    StoredDocument d;
    d.flowName = q.value(0).toString();
    d.document = jsonObject(q.value(1));
    d.parameters = jsonObject(q.value(2));
    if (!q.value(3).isNull())
        d.seed = quint64(q.value(3).toLongLong());
    return d;
}

std::vector<PriorTaskRun> readPriorTaskRuns(QSqlDatabase& db, const QString& flowRunId)
{
    QSqlQuery q(db);
    q.setForwardOnly(true);
    q.prepare(
        QStringLiteral("SELECT id, task, map_index, state, state_name, attempts, created_at, started_at, "
                       "ended_at, message, result FROM task_runs WHERE flow_run_id = ?"));
    q.addBindValue(flowRunId);
    sql::exec(q, QStringLiteral("reading the task runs of flow run %1").arg(flowRunId));
    std::vector<PriorTaskRun> runs;
    while (q.next()) {
        PriorTaskRun p;
        p.id = RunId::fromString(q.value(0).toString());
        p.task = q.value(1).toString();
        p.mapIndex = q.value(2).isNull() ? -1 : q.value(2).toInt();
        if (!parseStateType(q.value(3).toString(), &p.type))
            p.type = StateType::Crashed;
        p.name = parseStateName(q.value(4).toString(), p.type);
        p.attempts = quint16(std::clamp(q.value(5).toInt(), 0, 65535));
        p.createdUs = q.value(6).toLongLong();
        p.startedUs = q.value(7).isNull() ? 0 : q.value(7).toLongLong();
        p.endedUs = q.value(8).isNull() ? 0 : q.value(8).toLongLong();
        p.message = q.value(9).toString();
        if (!q.value(10).isNull()) {
            // Any JSON value: wrapped in an array so that scalars parse too.
            const QByteArray text = "[" + q.value(10).toString().toUtf8() + "]";
            p.result = QJsonDocument::fromJson(text).array().at(0);
        }
        runs.push_back(std::move(p));
    }
    return runs;
}

RunToContinue beginRetry(QSqlDatabase& db, const QString& flowRunId, const Claimant& who, bool queue)
{
    const QString what = QStringLiteral("retrying flow run %1").arg(flowRunId);
    WriteTransaction tx(db, what);
    StoredRun stored = readStored(db, flowRunId, what);
    if (const QString why = whyNotRetry(stored.state); !why.isEmpty())
        throw RefusedError(QStringLiteral("cannot retry flow run %1: %2").arg(flowRunId, why));
    const qint64 now = wallUs();
    const QString message = queue ? QStringLiteral("retry requested by %1; waiting for a worker").arg(who.by)
                                  : QStringLiteral("retry requested by %1").arg(who.by);
    // Guarded on the state read above: SQLite holds the write lock, PostgreSQL the row lock; the guard
    // keeps it exact either way.
    QSqlQuery update = run(
        db,
        QStringLiteral("UPDATE flow_runs SET state = 'SCHEDULED', state_name = 'AwaitingRetry', message = ?, "
                       "ended_at = NULL, worker = ?, worker_name = NULL, host = ?, pid = ?, "
                       "cancel_requested = 0, pause_requested = 0, resume_requested = 0, paused_by = NULL, "
                       "continue_existing = 1, run_count = run_count + 1 WHERE id = ? AND state = ?"),
        {message, queue ? nullText() : QVariant(who.engineId), queue ? nullText() : QVariant(who.host),
         queue ? QVariant(QMetaType::fromType<qint64>()) : QVariant(who.pid), flowRunId, stored.stateText},
        what);
    if (update.numRowsAffected() != 1)
        throw RefusedError(
            QStringLiteral("cannot retry flow run %1: its state changed meanwhile").arg(flowRunId));
    sql::addFlowHistory(db, flowRunId, now, QStringLiteral("SCHEDULED"), QStringLiteral("AwaitingRetry"),
                        message, what);
    RunToContinue result = std::move(stored.run);
    result.continuation.from = StateName::AwaitingRetry;
    result.continuation.startedUs = stored.startedUs;
    result.continuation.reopenMessage
        = QStringLiteral("runs again: the flow run was retried by %1").arg(who.by);
    if (!queue)
        result.continuation.taskRuns = readPriorTaskRuns(db, flowRunId);
    tx.commit(what);
    return result;
}

PauseOutcome requestPause(QSqlDatabase& db, const QString& flowRunId, std::optional<qint64> graceUs,
                          const QString& by)
{
    const QString what = QStringLiteral("pausing flow run %1").arg(flowRunId);
    WriteTransaction tx(db, what);
    const StoredRun stored = readStored(db, flowRunId, what);
    if (const QString why = whyNotPause(stored.state); !why.isEmpty())
        throw RefusedError(QStringLiteral("cannot pause flow run %1: %2").arg(flowRunId, why));
    const QVariant grace = graceUs ? QVariant(*graceUs) : QVariant(QMetaType::fromType<qint64>());
    if (stored.worker.isEmpty()) {
        // Waiting in the queue: nobody runs it, so it is paused here and now; a worker leaves it be.
        const qint64 now = wallUs();
        const QString message = QStringLiteral("paused by %1 before a worker took it").arg(by);
        run(db,
            QStringLiteral("UPDATE flow_runs SET state = 'PAUSED', state_name = 'Paused', message = ?, "
                           "paused_by = ?, pause_requested = 0, resume_requested = 0 WHERE id = ?"),
            {message, by, flowRunId}, what);
        sql::addFlowHistory(db, flowRunId, now, QStringLiteral("PAUSED"), QStringLiteral("Paused"), message,
                            what);
        tx.commit(what);
        return PauseOutcome::Paused;
    }
    run(db,
        QStringLiteral("UPDATE flow_runs SET pause_requested = 1, resume_requested = 0, pause_grace_us = ?, "
                       "paused_by = ? WHERE id = ?"),
        {grace, by, flowRunId}, what);
    tx.commit(what);
    return PauseOutcome::Requested;
}

ResumeOutcome beginResume(QSqlDatabase& db, const QString& flowRunId, const Claimant& who, bool queue)
{
    const QString what = QStringLiteral("resuming flow run %1").arg(flowRunId);
    WriteTransaction tx(db, what);
    StoredRun stored = readStored(db, flowRunId, what);
    if (const QString why = whyNotResume(stored.state); !why.isEmpty())
        throw RefusedError(QStringLiteral("cannot resume flow run %1: %2").arg(flowRunId, why));
    ResumeOutcome outcome;
    if (stored.worker != who.engineId && engineAlive(db, stored.worker, who.host, &outcome.holder)) {
        run(db, QStringLiteral("UPDATE flow_runs SET resume_requested = 1, pause_requested = 0 WHERE id = ?"),
            {flowRunId}, what);
        tx.commit(what);
        outcome.kind = ResumeOutcome::Requested;
        return outcome;
    }
    const qint64 now = wallUs();
    if (queue) {
        const QString message = QStringLiteral("resumed by %1; waiting for a worker").arg(who.by);
        run(db,
            QStringLiteral("UPDATE flow_runs SET state = 'SCHEDULED', state_name = 'Scheduled', message = ?, "
                           "worker = NULL, worker_name = NULL, host = NULL, pid = NULL, pause_requested = 0, "
                           "resume_requested = 0, paused_by = NULL, continue_existing = 1 WHERE id = ?"),
            {message, flowRunId}, what);
        sql::addFlowHistory(db, flowRunId, now, QStringLiteral("SCHEDULED"), QStringLiteral("Scheduled"),
                            message, what);
        tx.commit(what);
        outcome.kind = ResumeOutcome::Queued;
        return outcome;
    }
    run(db,
        QStringLiteral("UPDATE flow_runs SET worker = ?, worker_name = NULL, host = ?, pid = ?, "
                       "pause_requested = 0, resume_requested = 0, continue_existing = 1 WHERE id = ?"),
        {who.engineId, who.host, who.pid, flowRunId}, what);
    outcome.kind = ResumeOutcome::Claimed;
    outcome.run = std::move(stored.run);
    outcome.run.continuation.from = StateName::Paused;
    outcome.run.continuation.startedUs = stored.startedUs;
    outcome.run.continuation.reopenMessage
        = QStringLiteral("runs again: the flow run was resumed by %1").arg(who.by);
    outcome.run.continuation.taskRuns = readPriorTaskRuns(db, flowRunId);
    tx.commit(what);
    return outcome;
}

void setPausedBy(QSqlDatabase& db, const QString& flowRunId, const QString& by)
{
    run(db, QStringLiteral("UPDATE flow_runs SET paused_by = ? WHERE id = ?"), {by, flowRunId},
        QStringLiteral("recording who paused flow run %1").arg(flowRunId));
}

QList<ControlRequest> controlRequests(QSqlDatabase& db, const QString& engineId)
{
    // flow_runs_worker_state_idx (worker, state) narrows this to the engine's own unfinished runs.
    QSqlQuery q
        = run(db,
              QStringLiteral("SELECT id, cancel_requested, pause_requested, resume_requested, "
                             "pause_grace_us, paused_by FROM flow_runs WHERE worker = ? AND state IN %1 "
                             "AND (cancel_requested = 1 OR pause_requested = 1 OR resume_requested = 1)")
                  .arg(schema::unfinishedStatesSql()),
              {engineId}, QStringLiteral("reading cancel, pause and resume requests"));
    QList<ControlRequest> requests;
    while (q.next()) {
        ControlRequest r;
        r.id = q.value(0).toString();
        r.cancel = q.value(1).toLongLong() != 0;
        r.pause = q.value(2).toLongLong() != 0;
        r.resume = q.value(3).toLongLong() != 0;
        if (!q.value(4).isNull())
            r.graceUs = q.value(4).toLongLong();
        r.by = q.value(5).toString();
        requests << r;
    }
    return requests;
}

void clearControlRequests(QSqlDatabase& db, const QString& engineId, const QStringList& ids)
{
    for (const QString& id : ids) {
        run(db,
            QStringLiteral("UPDATE flow_runs SET pause_requested = 0, resume_requested = 0 "
                           "WHERE id = ? AND worker = ?"),
            {id, engineId}, QStringLiteral("marking pause and resume requests applied"));
    }
}

} // namespace flowdeck
