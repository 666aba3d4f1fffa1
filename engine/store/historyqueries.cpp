#include "store/historyqueries.h"

#include "store/sqlhelpers.h"

#include <QSqlQuery>
#include <QVariant>

namespace flowdeck {

QString recentRunGridSql()
{
    // The LEFT JOIN keeps a run that has no task runs yet (queued) as an empty column.
    return QStringLiteral(
        "WITH recent AS (SELECT id, state, state_name, created_at, started_at, ended_at FROM flow_runs "
        "WHERE flow_name = ? ORDER BY created_at DESC, id DESC LIMIT ?) "
        "SELECT r.id, r.state, r.state_name, r.created_at, r.started_at, r.ended_at, t.task, t.state, "
        "count(t.id), max(t.attempts), min(t.created_at), min(t.started_at), max(t.ended_at) "
        "FROM recent r LEFT JOIN task_runs t ON t.flow_run_id = r.id "
        "GROUP BY r.id, r.state, r.state_name, r.created_at, r.started_at, r.ended_at, t.task, t.state "
        "ORDER BY r.created_at, r.id, min(t.created_at), t.task, t.state");
}

QList<GridRun> recentRunGrid(QSqlDatabase& db, const QString& flow, int runs)
{
    QSqlQuery q = sql::run(db, recentRunGridSql(), {flow, std::max(0, runs)},
                           QStringLiteral("reading the recent runs of flow %1").arg(flow));
    QList<GridRun> out;
    while (q.next()) {
        const QString id = q.value(0).toString();
        if (out.isEmpty() || out.last().id != id) {
            GridRun run;
            run.id = id;
            run.state = q.value(1).toString();
            run.name = q.value(2).toString();
            run.createdUs = q.value(3).toLongLong();
            run.startedUs = q.value(4).toLongLong();
            run.endedUs = q.value(5).toLongLong();
            out.append(run);
        }
        if (q.value(6).isNull())
            continue; // no task runs
        GridCell cell;
        cell.task = q.value(6).toString();
        cell.state = q.value(7).toString();
        cell.count = q.value(8).toLongLong();
        cell.attempts = q.value(9).toInt();
        cell.createdUs = q.value(10).toLongLong();
        cell.startedUs = q.value(11).toLongLong();
        cell.endedUs = q.value(12).toLongLong();
        out.last().cells.append(cell);
    }
    return out;
}

} // namespace flowdeck
