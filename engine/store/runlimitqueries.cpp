#include "store/runlimitqueries.h"

#include "run/clock.h"
#include "store/sqlhelpers.h"

#include <QHash>
#include <QSqlQuery>
#include <QVariant>

namespace flowdeck::runlimits {

using sql::jsonText;
using sql::run;
using sql::WriteTransaction;

namespace {

QVariant nullableText(const QString& s)
{
    return s.isEmpty() ? QVariant(QMetaType::fromType<QString>()) : QVariant(s);
}

QString onLimitText(const workers::RunLimit& limit)
{
    return limit.skip ? QStringLiteral("skip") : QStringLiteral("enqueue");
}

QString waitingMessage(int active, const workers::RunLimit& limit)
{
    return QStringLiteral("waiting: %1 (on_limit enqueue)").arg(limitReason(active, limit));
}

QString admittedMessage(int active, const workers::RunLimit& limit)
{
    return QStringLiteral("starting: %1").arg(limitReason(active, limit));
}

//! The states a run that ends before it started is left in, with its history row.
void endCancelled(QSqlDatabase& db, const QString& id, const QString& message, qint64 nowUs,
                  const QString& what)
{
    run(db,
        QStringLiteral("UPDATE flow_runs SET state = 'CANCELLED', state_name = 'Cancelled', message = ?, "
                       "ended_at = ? WHERE id = ?"),
        {message, nowUs, id}, what);
    sql::addFlowHistory(db, id, nowUs, QStringLiteral("CANCELLED"), QStringLiteral("Cancelled"), message,
                        what);
}

} // namespace

void lockKey(QSqlDatabase& db, const QString& key, const QString& what)
{
    if (sql::isPostgres(db))
        run(db, QStringLiteral("SELECT pg_advisory_xact_lock(hashtext(?))"), {key}, what);
}

int activeRuns(QSqlDatabase& db, const QString& key, const QString& exceptId, const QString& what)
{
    // A SCHEDULED run held by a process counts (it starts any moment) unless it is one waiting for
    // this very limit (AwaitingConcurrencySlot): claims and admissions set another name when they take it.
    // A PAUSED run keeps its place: it is under way, and its resume passes no gate.
    QSqlQuery q = run(db,
                      QStringLiteral("SELECT count(*) FROM flow_runs WHERE limit_key = ? AND id <> ? AND "
                                     "(state IN ('PENDING','RUNNING','CANCELLING','PAUSED') OR "
                                     "(state = 'SCHEDULED' AND worker IS NOT NULL AND "
                                     "state_name <> 'AwaitingConcurrencySlot'))"),
                      {key, exceptId}, what);
    return q.next() ? q.value(0).toInt() : 0;
}

QString limitReason(int active, const workers::RunLimit& limit)
{
    const QString owner = limit.key.startsWith(u"flow:") ? QStringLiteral("flow %1").arg(limit.key.mid(5))
                                                         : QStringLiteral("its schedule");
    return QStringLiteral("%1 of max_active_runs %2 of %3 active").arg(active).arg(limit.max).arg(owner);
}

AdmissionResult admit(QSqlDatabase& db, const Holder& holder, const LocalRun& r)
{
    const QString what
        = QStringLiteral("starting a run of flow \"%1\" under its max_active_runs").arg(r.flowName);
    const qint64 now = wallUs();
    WriteTransaction tx(db, what);
    lockKey(db, r.limit.key, what);
    const int active = activeRuns(db, r.limit.key, r.id, what);
    AdmissionResult result;
    result.id = r.id;
    QString state = QStringLiteral("SCHEDULED");
    QString stateName = QStringLiteral("Scheduled");
    if (active < r.limit.max) {
        result.outcome = Admission::Admitted;
        result.message = admittedMessage(active, r.limit);
    } else if (r.limit.skip) {
        result.outcome = Admission::Skipped;
        result.message = QStringLiteral("skipped: %1 (on_limit skip)").arg(limitReason(active, r.limit));
        state = QStringLiteral("CANCELLED");
        stateName = QStringLiteral("Cancelled");
    } else {
        result.outcome = Admission::Waiting;
        result.message = waitingMessage(active, r.limit);
        stateName = QStringLiteral("AwaitingConcurrencySlot");
    }
    const QVariant endedAt
        = result.outcome == Admission::Skipped ? QVariant(now) : QVariant(QMetaType::fromType<qint64>());
    if (r.stored) {
        // Held here already (the retry took it): guarded on that, so a run taken meanwhile is left alone.
        QSqlQuery q = run(db,
                          QStringLiteral("UPDATE flow_runs SET state = ?, state_name = ?, message = ?, "
                                         "ended_at = ?, limit_key = ?, max_active_runs = ?, on_limit = ? "
                                         "WHERE id = ? AND worker = ? AND state = 'SCHEDULED'"),
                          {state, stateName, result.message, endedAt, r.limit.key, r.limit.max,
                           onLimitText(r.limit), r.id, holder.engineId},
                          what);
        if (q.numRowsAffected() <= 0) {
            result.outcome = Admission::Gone;
            return result;
        }
    } else {
        run(db,
            QStringLiteral(
                "INSERT INTO flow_runs (id, flow_name, state, state_name, message, parameters, seed, "
                "document, total_task_runs, created_at, ended_at, host, pid, worker, started_by, "
                "limit_key, max_active_runs, on_limit) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"),
            {r.id, r.flowName, state, stateName, result.message, jsonText(r.parameters),
             r.seed ? QVariant(qint64(*r.seed)) : QVariant(QMetaType::fromType<qint64>()),
             jsonText(r.document), r.totalTaskRuns, r.createdUs, endedAt, holder.host, holder.pid,
             holder.engineId, nullableText(r.startedBy), r.limit.key, r.limit.max, onLimitText(r.limit)},
            what);
    }
    sql::addFlowHistory(db, r.id, now, state, stateName, result.message, what);
    tx.commit(what);
    return result;
}

QList<AdmissionResult> admitWaiting(QSqlDatabase& db, const Holder& holder, const QList<LocalRun>& runs)
{
    QList<AdmissionResult> results;
    if (runs.isEmpty())
        return results;
    const QString what = QStringLiteral("starting waiting flow runs under their max_active_runs");
    const qint64 now = wallUs();
    WriteTransaction tx(db, what);
    QHash<QString, int> activeByKey; // counted once per key, then kept up to date here
    for (const LocalRun& r : runs) {
        AdmissionResult result;
        result.id = r.id;
        QSqlQuery row = run(db,
                            QStringLiteral("SELECT state, state_name, worker, cancel_requested, message "
                                           "FROM flow_runs WHERE id = ?"),
                            {r.id}, what);
        if (!row.next()) {
            results << result; // deleted: Gone
            continue;
        }
        const bool held = row.value(0).toString() == u"SCHEDULED"
            && row.value(1).toString() == u"AwaitingConcurrencySlot"
            && row.value(2).toString() == holder.engineId;
        const bool cancelRequested = row.value(3).toLongLong() != 0;
        result.message = row.value(4).toString();
        row.finish();
        if (!held) {
            results << result; // ended or taken elsewhere: Gone, with what the row says
            continue;
        }
        if (cancelRequested) {
            result.outcome = Admission::Cancelled;
            result.message = QStringLiteral("cancelled while waiting for its max_active_runs");
            endCancelled(db, r.id, result.message, now, what);
            results << result;
            continue;
        }
        auto it = activeByKey.find(r.limit.key);
        if (it == activeByKey.end()) {
            lockKey(db, r.limit.key, what);
            it = activeByKey.insert(r.limit.key, activeRuns(db, r.limit.key, r.id, what));
        }
        if (it.value() >= r.limit.max) {
            result.outcome = Admission::Waiting;
            results << result;
            continue;
        }
        result.outcome = Admission::Admitted;
        result.message = admittedMessage(it.value(), r.limit);
        run(db,
            QStringLiteral("UPDATE flow_runs SET state_name = 'Scheduled', message = ? WHERE id = ? AND "
                           "worker = ? AND state = 'SCHEDULED'"),
            {result.message, r.id, holder.engineId}, what);
        sql::addFlowHistory(db, r.id, now, QStringLiteral("SCHEDULED"), QStringLiteral("Scheduled"),
                            result.message, what);
        ++it.value();
        results << result;
    }
    tx.commit(what);
    return results;
}

QStringList cancelWaiting(QSqlDatabase& db, const QString& engineId, const QStringList& ids,
                          const QString& message)
{
    QStringList ended;
    if (ids.isEmpty())
        return ended;
    const QString what = QStringLiteral("cancelling flow runs waiting for their max_active_runs");
    const qint64 now = wallUs();
    WriteTransaction tx(db, what);
    for (const QString& id : ids) {
        QSqlQuery q
            = run(db,
                  QStringLiteral("UPDATE flow_runs SET state = 'CANCELLED', state_name = 'Cancelled', "
                                 "message = ?, ended_at = ? WHERE id = ? AND worker = ? AND "
                                 "state = 'SCHEDULED' AND state_name = 'AwaitingConcurrencySlot'"),
                  {message, now, id, engineId}, what);
        if (q.numRowsAffected() > 0) {
            sql::addFlowHistory(db, id, now, QStringLiteral("CANCELLED"), QStringLiteral("Cancelled"),
                                message, what);
            ended << id;
        }
    }
    tx.commit(what);
    return ended;
}

} // namespace flowdeck::runlimits
