#include "store/workerqueries.h"

#include "run/clock.h"
#include "run/runid.h"
#include "store/connectionpool.h"
#include "store/runcontrolqueries.h"
#include "store/runlimitqueries.h"
#include "store/sqlhelpers.h"

#include <QHash>
#include <QJsonDocument>
#include <QSqlDriver>
#include <QSqlError>
#include <QSqlQuery>
#include <QVariant>

#include <cerrno>
#include <chrono>
#include <csignal>
#include <unistd.h>

namespace flowdeck::workers {

using sql::execDirect;
using sql::fail;
using sql::jsonText;
using sql::run;
using sql::WriteTransaction;

namespace {

//! An engine whose row has no lease of its own (written before schema version 3) gets this one.
constexpr qint64 DefaultLeaseUs = 30'000'000;

bool isSqlite(const QSqlDatabase& db)
{
    return !sql::isPostgres(db);
}

QJsonObject jsonObject(const QVariant& v)
{
    return v.isNull() ? QJsonObject() : QJsonDocument::fromJson(v.toString().toUtf8()).object();
}

} // namespace

void registerEngine(QSqlDatabase& db, const QString& engineId, const QString& host)
{
    const qint64 now = wallUs();
    run(db,
        QStringLiteral(
            "INSERT INTO engines (id, host, pid, started_at, heartbeat_at) VALUES (?, ?, ?, ?, ?)"),
        {engineId, host, qint64(::getpid()), now, now}, QStringLiteral("registering the engine"));
}

void unregisterEngine(QSqlDatabase& db, const QString& engineId)
{
    run(db, QStringLiteral("DELETE FROM engines WHERE id = ?"), {engineId},
        QStringLiteral("unregistering the engine"));
}

void beatEngine(QSqlDatabase& db, const QString& engineId)
{
    run(db, QStringLiteral("UPDATE engines SET heartbeat_at = ? WHERE id = ?"), {wallUs(), engineId},
        QStringLiteral("renewing the heartbeat"));
}

QString submitFlowRun(QSqlDatabase& db, const Submission& s)
{
    const QString what = QStringLiteral("queueing a run of flow \"%1\"").arg(s.flowName);
    const QString id = RunId::generate().toString();
    const qint64 now = wallUs();
    const QString message = QStringLiteral("submitted; waiting for a worker");
    const RunLimit limit = documentRunLimit(s.flowName, s.document);
    WriteTransaction tx(db, what);
    run(db,
        QStringLiteral("INSERT INTO flow_runs (id, flow_name, state, state_name, message, parameters, seed, "
                       "document, total_task_runs, created_at, retries, run_count, started_by, limit_key, "
                       "max_active_runs, on_limit) "
                       "VALUES (?, ?, 'SCHEDULED', 'Scheduled', ?, ?, ?, ?, ?, ?, ?, 0, ?, ?, ?, ?)"),
        {id, s.flowName, message, jsonText(s.parameters),
         s.seed ? QVariant(qint64(*s.seed)) : QVariant(QMetaType::fromType<qint64>()), jsonText(s.document),
         s.totalTaskRuns, now, s.retries,
         s.startedBy.isEmpty() ? QVariant(QMetaType::fromType<QString>()) : QVariant(s.startedBy),
         limit.max > 0 ? QVariant(limit.key) : QVariant(QMetaType::fromType<QString>()), limit.max,
         limit.max > 0 ? QVariant(limit.skip ? QStringLiteral("skip") : QStringLiteral("enqueue"))
                       : QVariant(QMetaType::fromType<QString>())},
        what);
    sql::addFlowHistory(db, id, now, QStringLiteral("SCHEDULED"), QStringLiteral("Scheduled"), message, what);
    tx.commit(what);
    return id;
}

void registerWorker(QSqlDatabase& db, const QString& engineId, const QString& name, int maxFlowRuns,
                    qint64 leaseUs)
{
    run(db,
        QStringLiteral("UPDATE engines SET name = ?, kind = 'worker', max_flow_runs = ?, lease_us = ?, "
                       "heartbeat_at = ? WHERE id = ?"),
        {name, maxFlowRuns, leaseUs, wallUs(), engineId}, QStringLiteral("registering worker %1").arg(name));
}

bool heartbeat(QSqlDatabase& db, const QString& engineId, const WorkerFigures& f)
{
    QSqlQuery q = run(db,
                      QStringLiteral("UPDATE engines SET heartbeat_at = ?, flow_runs_running = ?, "
                                     "blocking_busy = ?, blocking_max = ?, loop_lag_us = ? WHERE id = ?"),
                      {wallUs(), f.flowRunsRunning, f.blockingBusy, f.blockingMax, f.loopLagUs, engineId},
                      QStringLiteral("renewing the worker's heartbeat"));
    return q.numRowsAffected() > 0;
}

ClaimResult claimFlowRuns(QSqlDatabase& db, const QString& engineId, const QString& workerName,
                          const QString& host, qint64 pid, int max)
{
    ClaimResult result;
    if (max <= 0)
        return result;
    const QString what = QStringLiteral("claiming queued flow runs");
    const bool sqlite = isSqlite(db);
    WriteTransaction tx(db, what);
    // The partial index flow_runs_queue_idx serves exactly this condition. Runs waiting for their
    // limit of active runs stay in the queue, so more are looked at than are wanted.
    QSqlQuery pick
        = run(db,
              QStringLiteral("SELECT id, cancel_requested, limit_key, max_active_runs, on_limit "
                             "FROM flow_runs "
                             "WHERE state = 'SCHEDULED' AND worker IS NULL AND scheduled_for IS NULL "
                             "ORDER BY created_at LIMIT %1%2")
                  .arg(max * 4 + 16)
                  .arg(sqlite ? QString() : QStringLiteral(" FOR UPDATE SKIP LOCKED")),
              {}, what);
    const QList<Candidate> candidates = readCandidates(pick);
    takeCandidates(db, candidates, engineId, workerName, host, pid, max,
                   QStringLiteral("claimed by worker %1 on %2").arg(workerName, host), &result, what);
    tx.commit(what);
    return result;
}

QList<Candidate> readCandidates(QSqlQuery& pick)
{
    QList<Candidate> out;
    while (pick.next()) {
        Candidate c;
        c.id = pick.value(0).toString();
        c.cancelRequested = pick.value(1).toLongLong() != 0;
        c.limit.key = pick.value(2).toString();
        c.limit.max = pick.value(3).toInt();
        c.limit.skip = pick.value(4).toString() == u"skip";
        out << c;
    }
    pick.finish();
    return out;
}

RunLimit documentRunLimit(const QString& flowName, const QJsonObject& document)
{
    RunLimit limit;
    limit.max = std::max(0, document.value(QStringLiteral("max_active_runs")).toInt());
    limit.skip = document.value(QStringLiteral("on_limit")).toString() == u"skip";
    if (limit.max > 0)
        limit.key = QStringLiteral("flow:") + flowName;
    return limit;
}

void takeCandidates(QSqlDatabase& db, const QList<Candidate>& candidates, const QString& engineId,
                    const QString& workerName, const QString& host, qint64 pid, int max,
                    const QString& claimMessage, ClaimResult* result, const QString& what)
{
    const qint64 now = wallUs();
    const auto endCancelled = [&](const QString& id, const QString& message) {
        QSqlQuery q
            = run(db,
                  QStringLiteral("UPDATE flow_runs SET state = 'CANCELLED', state_name = 'Cancelled', "
                                 "message = ?, ended_at = ? "
                                 "WHERE id = ? AND state = 'SCHEDULED' AND worker IS NULL"),
                  {message, now, id}, what);
        if (q.numRowsAffected() > 0) {
            sql::addFlowHistory(db, id, now, QStringLiteral("CANCELLED"), QStringLiteral("Cancelled"),
                                message, what);
            result->cancelled << id;
        }
    };
    QHash<QString, int> activeByKey; // counted once per transaction, then kept up to date here
    QStringList claimed;
    for (const Candidate& c : candidates) {
        if (claimed.size() >= max)
            break;
        if (c.cancelRequested) {
            endCancelled(c.id, QStringLiteral("cancelled before a worker started it"));
            continue;
        }
        if (c.limit.max > 0 && !c.limit.key.isEmpty()) {
            auto it = activeByKey.find(c.limit.key);
            if (it == activeByKey.end()) {
                runlimits::lockKey(db, c.limit.key,
                                   what); // claims and admissions of one key wait for each other
                it = activeByKey.insert(c.limit.key, runlimits::activeRuns(db, c.limit.key, c.id, what));
            }
            if (it.value() >= c.limit.max) {
                const QString why = runlimits::limitReason(it.value(), c.limit);
                if (c.limit.skip) {
                    endCancelled(c.id, QStringLiteral("skipped: %1 (on_limit skip)").arg(why));
                } else {
                    const QString message = QStringLiteral("waiting: %1 (on_limit enqueue)").arg(why);
                    QSqlQuery q
                        = run(db,
                              QStringLiteral("UPDATE flow_runs SET state_name = 'AwaitingConcurrencySlot', "
                                             "message = ? WHERE id = ? AND state_name <> "
                                             "'AwaitingConcurrencySlot'"),
                              {message, c.id}, what);
                    if (q.numRowsAffected() > 0)
                        sql::addFlowHistory(db, c.id, now, QStringLiteral("SCHEDULED"),
                                            QStringLiteral("AwaitingConcurrencySlot"), message, what);
                }
                continue;
            }
        }
        // The guard matters on SQLite only (PostgreSQL holds the row locks), and costs nothing there.
        QSqlQuery q = run(
            db,
            QStringLiteral("UPDATE flow_runs SET worker = ?, worker_name = ?, host = ?, pid = ?, "
                           "run_count = run_count + 1, message = ?, state_name = CASE WHEN state_name = "
                           "'AwaitingConcurrencySlot' THEN 'Scheduled' ELSE state_name END "
                           "WHERE id = ? AND state = 'SCHEDULED' AND worker IS NULL"),
            {engineId, workerName, host, pid, claimMessage, c.id}, what);
        if (q.numRowsAffected() > 0) {
            claimed << c.id;
            if (c.limit.max > 0 && !c.limit.key.isEmpty())
                ++activeByKey[c.limit.key];
        }
    }
    for (const QString& id : claimed) {
        QSqlQuery q = run(
            db,
            QStringLiteral("SELECT flow_name, document, parameters, seed, created_at, run_count, "
                           "retries, continue_existing, state_name, started_at, scheduled_for, started_by "
                           "FROM flow_runs WHERE id = ?"),
            {id}, what);
        if (!q.next())
            continue;
        ClaimedRun c;
        c.id = id;
        c.flowName = q.value(0).toString();
        c.document = jsonObject(q.value(1));
        c.parameters = jsonObject(q.value(2));
        if (!q.value(3).isNull())
            c.seed = quint64(q.value(3).toLongLong());
        c.createdUs = q.value(4).toLongLong();
        c.runCount = q.value(5).toInt();
        c.retries = q.value(6).toInt();
        c.scheduledForUs = q.value(10).isNull() ? 0 : q.value(10).toLongLong();
        c.startedBy = q.value(11).toString();
        if (q.value(7).toLongLong() != 0) {
            Continuation& cont = c.continuation.emplace();
            cont.from = parseStateName(q.value(8).toString(), StateType::Scheduled);
            cont.startedUs = q.value(9).isNull() ? 0 : q.value(9).toLongLong();
            cont.reopenMessage = QStringLiteral("runs again: worker %1 took the retried or resumed flow run")
                                     .arg(workerName);
            q.finish();
            cont.taskRuns = readPriorTaskRuns(db, id);
        }
        result->claimed << c;
    }
}

void failClaimedRun(QSqlDatabase& db, const QString& flowRunId, const QString& engineId,
                    const QString& message)
{
    const QString what = QStringLiteral("failing flow run %1").arg(flowRunId);
    const qint64 now = wallUs();
    WriteTransaction tx(db, what);
    QSqlQuery q
        = run(db,
              QStringLiteral("UPDATE flow_runs SET state = 'FAILED', state_name = 'Failed', message = ?, "
                             "ended_at = ? WHERE id = ? AND worker = ?"),
              {message, now, flowRunId, engineId}, what);
    if (q.numRowsAffected() > 0)
        sql::addFlowHistory(db, flowRunId, now, QStringLiteral("FAILED"), QStringLiteral("Failed"), message,
                            what);
    tx.commit(what);
}

bool anyEngineGone(QSqlDatabase& db, const QString& engineId, const QString& host)
{
    QSqlQuery q = run(db, QStringLiteral("SELECT id, host, pid, heartbeat_at, lease_us FROM engines"), {},
                      QStringLiteral("reading engines"));
    const qint64 now = wallUs();
    while (q.next()) {
        if (q.value(0).toString() == engineId)
            continue;
        const qint64 lease = q.value(4).toLongLong() > 0 ? q.value(4).toLongLong() : DefaultLeaseUs;
        if (now - q.value(3).toLongLong() > lease)
            return true;
        const qint64 pid = q.value(2).toLongLong();
        if (q.value(1).toString() == host && pid > 0 && ::kill(pid_t(pid), 0) != 0 && errno != EPERM)
            return true;
    }
    return false;
}

int queuedFlowRuns(QSqlDatabase& db)
{
    QSqlQuery q = run(
        db, QStringLiteral("SELECT count(*) FROM flow_runs WHERE state = 'SCHEDULED' AND worker IS NULL"), {},
        QStringLiteral("counting queued flow runs"));
    return q.next() ? q.value(0).toInt() : 0;
}

bool isOnlineWorker(const WorkerRow& row, qint64 nowUs)
{
    return row.kind == QLatin1String("worker")
        && nowUs - row.heartbeatUs <= (row.leaseUs > 0 ? row.leaseUs : DefaultLeaseUs);
}

QList<WorkerRow> listWorkers(QSqlDatabase& db)
{
    const int queued = queuedFlowRuns(db);
    QSqlQuery q
        = run(db,
              QStringLiteral("SELECT id, name, kind, host, pid, started_at, heartbeat_at, lease_us, "
                             "max_flow_runs, flow_runs_running, blocking_busy, blocking_max, "
                             "loop_lag_us FROM engines "
                             "ORDER BY CASE WHEN kind = 'worker' THEN 0 ELSE 1 END, name, started_at"),
              {}, QStringLiteral("listing workers"));
    QList<WorkerRow> rows;
    while (q.next()) {
        WorkerRow r;
        r.id = q.value(0).toString();
        r.name = q.value(1).toString();
        r.kind = q.value(2).toString();
        r.host = q.value(3).toString();
        r.pid = q.value(4).toLongLong();
        r.startedUs = q.value(5).toLongLong();
        r.heartbeatUs = q.value(6).toLongLong();
        r.leaseUs = q.value(7).toLongLong();
        r.maxFlowRuns = q.value(8).toInt();
        r.flowRunsRunning = q.value(9).toInt();
        r.blockingBusy = q.value(10).toInt();
        r.blockingMax = q.value(11).toInt();
        r.loopLagUs = q.value(12).toLongLong();
        r.queued = queued;
        rows << r;
    }
    return rows;
}

} // namespace flowdeck::workers
