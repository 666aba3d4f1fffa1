#include "store/approvalqueries.h"

#include "store/sqlhelpers.h"

#include <QSqlQuery>
#include <QVariant>

namespace flowdeck {

using sql::run;

namespace {

// Every query names the state literally: SQLite uses a partial index only then. The index is on
// `awaiting` (schema version 12), which only waiting runs set, not on state_name.
const QString kWaiting = QStringLiteral("awaiting = 'AwaitingApproval'");

QString decisionText(bool approve)
{
    return approve ? QStringLiteral("approved") : QStringLiteral("rejected");
}

//! Why a guarded UPDATE of task run \a id wrote nothing.
DecideOutcome whyNotDecided(QSqlDatabase& db, const QString& id, const QString& what)
{
    DecideOutcome out;
    QSqlQuery q
        = run(db, QStringLiteral("SELECT state_name, approval FROM task_runs WHERE id = ?"), {id}, what);
    if (!q.next())
        return out;
    out.result = DecideResult::NotWaiting;
    out.state = q.value(0).toString();
    if (out.state == u"AwaitingApproval")
        out.decidedAs = q.value(1).toString();
    return out;
}

} // namespace

DecideOutcome decideApproval(QSqlDatabase& db, const QString& flowRunId, const QString& task, int mapIndex,
                             bool approve, const QString& reason, const QString& by)
{
    const QString what
        = QStringLiteral("deciding the approval of task run %1 of flow run %2").arg(task, flowRunId);
    QSqlQuery find = mapIndex >= 0
        ? run(db,
              QStringLiteral("SELECT id FROM task_runs WHERE flow_run_id = ? AND task = ? AND map_index = ?"),
              {flowRunId, task, mapIndex}, what)
        : run(db,
              QStringLiteral(
                  "SELECT id FROM task_runs WHERE flow_run_id = ? AND task = ? AND map_index IS NULL"),
              {flowRunId, task}, what);
    if (!find.next()) {
        DecideOutcome out;
        if (mapIndex < 0) {
            QSqlQuery mapped = run(
                db, QStringLiteral("SELECT 1 FROM task_runs WHERE flow_run_id = ? AND task = ? LIMIT 1"),
                {flowRunId, task}, what);
            out.mapped = mapped.next();
        }
        return out;
    }
    return decideApprovalById(db, find.value(0).toString(), approve, reason, by);
}

DecideOutcome decideApprovalById(QSqlDatabase& db, const QString& taskRunId, bool approve,
                                 const QString& reason, const QString& by)
{
    const QString what = QStringLiteral("deciding the approval of task run %1").arg(taskRunId);
    QSqlQuery q
        = run(db,
              QStringLiteral("UPDATE task_runs SET approval = ?, approval_reason = ?, approval_by = ? "
                             "WHERE id = ? AND ")
                  + kWaiting + QStringLiteral(" AND approval IS NULL"),
              {decisionText(approve), reason.isEmpty() ? QVariant(QMetaType(QMetaType::QString)) : reason, by,
               taskRunId},
              what);
    if (q.numRowsAffected() > 0)
        return {DecideResult::Decided, {}, {}, false};
    return whyNotDecided(db, taskRunId, what);
}

namespace detail {

QString pendingApprovalDecisionsSql()
{
    return QStringLiteral("SELECT id, approval, approval_reason, approval_by FROM task_runs WHERE ")
        + kWaiting + QStringLiteral(" AND created_at >= ? AND approval IS NOT NULL");
}

QString waitingApprovalsSql()
{
    // Not narrowed to one flow run in SQL: SQLite would then prefer the index of all task runs of
    // the flow run (100k for a large one) over the few waiting ones.
    return QStringLiteral(
               "SELECT id, flow_run_id, task, map_index, message, created_at FROM task_runs WHERE ")
        + kWaiting + QStringLiteral(" AND created_at >= 0 AND approval IS NULL ORDER BY created_at, id");
}

} // namespace detail

QList<ApprovalDecisionRow> pendingApprovalDecisions(QSqlDatabase& db, qint64 sinceUs)
{
    QSqlQuery q = run(db, detail::pendingApprovalDecisionsSql(), {sinceUs},
                      QStringLiteral("reading approval decisions"));
    QList<ApprovalDecisionRow> rows;
    while (q.next()) {
        rows.append({q.value(0).toString(), q.value(1).toString() == u"approved", q.value(2).toString(),
                     q.value(3).toString()});
    }
    return rows;
}

QList<WaitingApprovalRow> waitingApprovals(QSqlDatabase& db, const QString& flowRunId)
{
    QSqlQuery q = run(db, detail::waitingApprovalsSql(), {},
                      QStringLiteral("reading the task runs waiting for approval"));
    QList<WaitingApprovalRow> rows;
    while (q.next()) {
        if (!flowRunId.isEmpty() && q.value(1).toString() != flowRunId)
            continue;
        WaitingApprovalRow r;
        r.taskRunId = q.value(0).toString();
        r.flowRunId = q.value(1).toString();
        r.task = q.value(2).toString();
        r.mapIndex = q.value(3).isNull() ? -1 : q.value(3).toInt();
        r.prompt = q.value(4).toString();
        r.sinceUs = q.value(5).toLongLong();
        rows.append(r);
    }
    return rows;
}

} // namespace flowdeck
