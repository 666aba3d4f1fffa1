#include "store/runqueries.h"

#include "store/connectionpool.h"
#include "store/schema.h"
#include "store/sqlhelpers.h"

#include <QJsonDocument>
#include <QRegularExpression>
#include <QSqlDriver>
#include <QSqlError>
#include <QSqlQuery>
#include <QVariant>

#include <algorithm>
#include <limits>

namespace flowdeck {

using sql::fail;
using sql::run;

namespace {

const QString kFlowRunColumns = QStringLiteral("id, flow_name, state, state_name, message, created_at, "
                                               "started_at, ended_at, total_task_runs, stall_count, "
                                               "stall_total_us, worker, cancel_requested, parameters, "
                                               "worker_name, host, pid, seed, started_by, paused_by, "
                                               "pause_requested, resume_requested, parent_flow_run_id, "
                                               "parent_task_run_id, result");

const QString kTaskRunColumns = QStringLiteral("id, flow_run_id, task, map_index, state, state_name, "
                                               "message, attempts, tags, created_at, started_at, ended_at, "
                                               "stall_count, stall_total_us, result");

qint64 timeOf(const QVariant& v)
{
    return v.isNull() ? 0 : v.toLongLong();
}

FlowRunRow readFlowRun(const QSqlQuery& q)
{
    FlowRunRow r;
    r.id = q.value(0).toString();
    r.flow = q.value(1).toString();
    r.state = q.value(2).toString();
    r.name = q.value(3).toString();
    r.message = q.value(4).toString();
    r.createdUs = timeOf(q.value(5));
    r.startedUs = timeOf(q.value(6));
    r.endedUs = timeOf(q.value(7));
    r.totalTaskRuns = q.value(8).toLongLong();
    r.stallCount = q.value(9).toInt();
    r.stallTotalUs = q.value(10).toLongLong();
    r.worker = q.value(11).toString();
    r.cancelRequested = q.value(12).toLongLong() != 0;
    const QString parameters = q.value(13).toString();
    if (!parameters.isEmpty())
        r.parameters = QJsonDocument::fromJson(parameters.toUtf8()).object();
    r.workerName = q.value(14).toString();
    r.host = q.value(15).toString();
    r.pid = q.value(16).toLongLong();
    r.seed
        = q.value(17).isNull() ? std::optional<quint64>() : std::optional<quint64>(q.value(17).toULongLong());
    r.startedBy = q.value(18).toString();
    r.pausedBy = q.value(19).toString();
    r.pauseRequested = q.value(20).toLongLong() != 0;
    r.resumeRequested = q.value(21).toLongLong() != 0;
    r.parentFlowRunId = q.value(22).toString();
    r.parentTaskRunId = q.value(23).toString();
    r.result = q.value(24).toString();
    return r;
}

TaskRunRow readTaskRun(const QSqlQuery& q)
{
    TaskRunRow r;
    r.id = q.value(0).toString();
    r.flowRunId = q.value(1).toString();
    r.task = q.value(2).toString();
    r.mapIndex = q.value(3).isNull() ? -1 : q.value(3).toInt();
    r.state = q.value(4).toString();
    r.name = q.value(5).toString();
    r.message = q.value(6).toString();
    r.attempts = q.value(7).toInt();
    const QString tags = q.value(8).toString();
    if (!tags.isEmpty())
        r.tags = tags.split(u',');
    r.createdUs = timeOf(q.value(9));
    r.startedUs = timeOf(q.value(10));
    r.endedUs = timeOf(q.value(11));
    r.stallCount = q.value(12).toInt();
    r.stallTotalUs = q.value(13).toLongLong();
    r.result = q.value(14).toString();
    return r;
}

bool flowRunExists(QSqlDatabase& db, const QString& id, const QString& what)
{
    QSqlQuery q = run(db, QStringLiteral("SELECT 1 FROM flow_runs WHERE id = ?"), {id}, what);
    return q.next();
}

} // namespace

QList<FlowRunRow> listFlowRuns(QSqlDatabase& db, const RunFilter& filter)
{
    QStringList where;
    QVariantList values;
    if (!filter.state.isEmpty()) {
        where << QStringLiteral("state = ?");
        values << filter.state.toUpper();
    }
    if (!filter.flow.isEmpty()) {
        where << QStringLiteral("flow_name = ?");
        values << filter.flow;
    }
    if (!filter.parent.isEmpty()) {
        where << QStringLiteral("parent_flow_run_id = ?");
        values << filter.parent;
    }
    if (filter.beforeCreatedUs > 0) {
        // (created_at, id) < (?, ?), spelled so that the first term bounds an index range on both
        // SQLite and PostgreSQL.
        where << QStringLiteral("created_at <= ? AND (created_at < ? OR id < ?)");
        values << filter.beforeCreatedUs << filter.beforeCreatedUs << filter.beforeId;
    }
    QString sql = QStringLiteral("SELECT ") + kFlowRunColumns + QStringLiteral(" FROM flow_runs");
    if (!where.isEmpty())
        sql += QStringLiteral(" WHERE ") + where.join(QStringLiteral(" AND "));
    sql += QStringLiteral(" ORDER BY created_at DESC, id DESC LIMIT ?");
    values << std::max(0, filter.limit);
    QSqlQuery q = run(db, sql, values, QStringLiteral("listing flow runs"));
    QList<FlowRunRow> rows;
    rows.reserve(std::max(0, filter.limit));
    while (q.next())
        rows.append(readFlowRun(q));
    return rows;
}

std::optional<FlowRunRow> flowRun(QSqlDatabase& db, const QString& id)
{
    QSqlQuery q = run(
        db, QStringLiteral("SELECT ") + kFlowRunColumns + QStringLiteral(" FROM flow_runs WHERE id = ?"),
        {id}, QStringLiteral("reading flow run %1").arg(id));
    if (!q.next())
        return std::nullopt;
    return readFlowRun(q);
}

QList<TaskRunRow> taskRuns(QSqlDatabase& db, const QString& flowRunId, const QString& state, int limit,
                           int offset)
{
    QString sql = QStringLiteral("SELECT ") + kTaskRunColumns
        + QStringLiteral(" FROM task_runs WHERE flow_run_id = ?");
    QVariantList values{flowRunId};
    if (!state.isEmpty()) {
        sql += QStringLiteral(" AND state = ?");
        values << state.toUpper();
    }
    // SQLite wants a LIMIT before an OFFSET and PostgreSQL has no "LIMIT -1": "all" is the largest bigint.
    sql += QStringLiteral(" ORDER BY task, map_index LIMIT ? OFFSET ?");
    values << (limit > 0 ? qint64(limit) : std::numeric_limits<qint64>::max()) << std::max(0, offset);
    QSqlQuery q = run(db, sql, values, QStringLiteral("reading the task runs of flow run %1").arg(flowRunId));
    QList<TaskRunRow> rows;
    while (q.next())
        rows.append(readTaskRun(q));
    return rows;
}

QList<TaskRunRow> taskRunsAfter(QSqlDatabase& db, const QString& flowRunId, const QString& state,
                                const std::optional<TaskRunCursor>& after, int limit)
{
    QString sql = QStringLiteral("SELECT ") + kTaskRunColumns
        + QStringLiteral(" FROM task_runs WHERE flow_run_id = ?");
    QVariantList values{flowRunId};
    if (!state.isEmpty()) {
        sql += QStringLiteral(" AND state = ?");
        values << state.toUpper();
    }
    // A task has one run with no map index or runs that all have one, so the cursor of an unmapped
    // task moves to the next task; a row value compares (task, map_index) on both backends and lets
    // SQLite walk the (flow_run_id, task, map_index) index from the cursor.
    if (after && after->mapIndex < 0) {
        sql += QStringLiteral(" AND task > ?");
        values << after->task;
    } else if (after) {
        sql += QStringLiteral(" AND (task, map_index) > (?, ?)");
        values << after->task << after->mapIndex;
    }
    sql += QStringLiteral(" ORDER BY task, map_index LIMIT ?");
    values << qint64(std::max(1, limit));
    QSqlQuery q = run(db, sql, values, QStringLiteral("reading the task runs of flow run %1").arg(flowRunId));
    QList<TaskRunRow> rows;
    while (q.next())
        rows.append(readTaskRun(q));
    return rows;
}

namespace {

//! ORDER BY of a page: the column, then task and map index (the same direction, so that one index
//! walk serves the default order both ways).
QString orderBy(TaskRunOrder order, bool descending)
{
    QStringList keys;
    switch (order) {
    case TaskRunOrder::Task:
        break;
    case TaskRunOrder::MapIndex:
        keys << QStringLiteral("map_index");
        break;
    case TaskRunOrder::State:
        keys << QStringLiteral("state") << QStringLiteral("state_name");
        break;
    case TaskRunOrder::Tags:
        keys << QStringLiteral("tags");
        break;
    case TaskRunOrder::Attempts:
        keys << QStringLiteral("attempts");
        break;
    case TaskRunOrder::Started:
        keys << QStringLiteral("started_at");
        break;
    case TaskRunOrder::Duration:
        keys << QStringLiteral("(ended_at - started_at)");
        break;
    case TaskRunOrder::Stalls:
        keys << QStringLiteral("stall_total_us");
        break;
    case TaskRunOrder::Message:
        keys << QStringLiteral("message");
        break;
    }
    keys << QStringLiteral("task") << QStringLiteral("map_index");
    if (descending) {
        for (QString& key : keys)
            key += QStringLiteral(" DESC");
    }
    return QStringLiteral(" ORDER BY ") + keys.join(QStringLiteral(", "));
}

//! \a text as a LIKE pattern that matches it anywhere, its wildcards escaped with '!'.
QString containsPattern(const QString& text)
{
    QString escaped = text.toLower();
    escaped.replace(u'!', QStringLiteral("!!"))
        .replace(u'%', QStringLiteral("!%"))
        .replace(u'_', QStringLiteral("!_"));
    return u'%' + escaped + u'%';
}

} // namespace

QList<TaskRunRow> taskRunPage(QSqlDatabase& db, const TaskRunPageQuery& query)
{
    QString sql = QStringLiteral("SELECT ") + kTaskRunColumns
        + QStringLiteral(" FROM task_runs WHERE flow_run_id = ?");
    QVariantList values{query.flowRunId};
    if (!query.state.isEmpty()) {
        sql += QStringLiteral(" AND state = ?");
        values << query.state.toUpper();
    }
    if (!query.task.isEmpty()) {
        sql += QStringLiteral(" AND task = ?");
        values << query.task;
    }
    if (!query.search.isEmpty()) {
        const QString pattern = containsPattern(query.search);
        sql += QStringLiteral(" AND (lower(task) LIKE ? ESCAPE '!' OR lower(message) LIKE ? ESCAPE '!' "
                              "OR lower(tags) LIKE ? ESCAPE '!'");
        values << pattern << pattern << pattern;
        bool isIndex = false;
        const int index = query.search.trimmed().toInt(&isIndex);
        if (isIndex && index >= 0) {
            sql += QStringLiteral(" OR map_index = ?");
            values << index;
        }
        sql += u')';
    }
    const bool keyset = query.order == TaskRunOrder::Task && !query.descending && query.after;
    if (keyset && query.after->mapIndex < 0) {
        sql += QStringLiteral(" AND task > ?");
        values << query.after->task;
    } else if (keyset) {
        sql += QStringLiteral(" AND (task, map_index) > (?, ?)");
        values << query.after->task << query.after->mapIndex;
    }
    sql += orderBy(query.order, query.descending) + QStringLiteral(" LIMIT ? OFFSET ?");
    values << qint64(std::max(1, query.limit)) << (keyset ? qint64(0) : std::max<qint64>(0, query.offset));
    QSqlQuery q = run(db, sql, values,
                      QStringLiteral("reading a page of the task runs of flow run %1").arg(query.flowRunId));
    QList<TaskRunRow> rows;
    while (q.next())
        rows.append(readTaskRun(q));
    return rows;
}

QList<TaskRunDurations> taskRunDurations(QSqlDatabase& db, const QString& flowRunId)
{
    QSqlQuery q
        = run(db,
              QStringLiteral("SELECT state, count(*), min(ended_at - started_at), "
                             "avg(ended_at - started_at), max(ended_at - started_at) FROM task_runs "
                             "WHERE flow_run_id = ? AND started_at IS NOT NULL AND ended_at IS NOT NULL "
                             "GROUP BY state ORDER BY state"),
              {flowRunId}, QStringLiteral("timing the task runs of flow run %1").arg(flowRunId));
    QList<TaskRunDurations> rows;
    while (q.next()) {
        rows.append({q.value(0).toString(), q.value(1).toLongLong(), q.value(2).toLongLong(),
                     qint64(q.value(3).toDouble()), q.value(4).toLongLong()});
    }
    return rows;
}

namespace {

//! "id, tr_scheduled, tr_pending, ..." : a flow run's task-run counts per state (schema version 5).
const QString& countColumns()
{
    static const QString columns = []() -> QString {
        QStringList names{QStringLiteral("id")};
        for (int i = 0; i < StateTypeCount; ++i)
            names << schema::taskCountColumn(StateType(i));
        return names.join(QStringLiteral(", "));
    }();
    return columns;
}

//! The non-zero counts of a row selected with countColumns(), by state type ("COMPLETED").
QMap<QString, qint64> readCounts(const QSqlQuery& q)
{
    QMap<QString, qint64> counts;
    for (int i = 0; i < StateTypeCount; ++i) {
        if (const qint64 n = q.value(1 + i).toLongLong())
            counts.insert(toString(StateType(i)), n);
    }
    return counts;
}

} // namespace

QMap<QString, qint64> taskRunCounts(QSqlDatabase& db, const QString& flowRunId)
{
    // Kept in the flow run's row by the writers: no scan of its task runs.
    QSqlQuery q = run(db, QStringLiteral("SELECT %1 FROM flow_runs WHERE id = ?").arg(countColumns()),
                      {flowRunId}, QStringLiteral("counting the task runs of flow run %1").arg(flowRunId));
    return q.next() ? readCounts(q) : QMap<QString, qint64>{};
}

QList<StateRow> history(QSqlDatabase& db, const QString& taskRunIdOrFlowRunId)
{
    const QString what = QStringLiteral("reading the state history of %1").arg(taskRunIdOrFlowRunId);
    // Rows are inserted in the order the engine reported them, so the id breaks ties in time.
    const QString sql = flowRunExists(db, taskRunIdOrFlowRunId, what)
        ? QStringLiteral("SELECT time, state, name, message FROM state_history "
                         "WHERE flow_run_id = ? AND task_run_id IS NULL ORDER BY id")
        : QStringLiteral(
            "SELECT time, state, name, message FROM state_history WHERE task_run_id = ? ORDER BY time, id");
    QSqlQuery q = run(db, sql, {taskRunIdOrFlowRunId}, what);
    QList<StateRow> rows;
    while (q.next())
        rows.append(
            {q.value(0).toLongLong(), q.value(1).toString(), q.value(2).toString(), q.value(3).toString()});
    return rows;
}

std::optional<TaskRunDetail> taskRunDetail(QSqlDatabase& db, const QString& flowRunId, const QString& task,
                                           int mapIndex, QString* error)
{
    auto failWith = [error](const QString& text) -> std::optional<TaskRunDetail> {
        if (error)
            *error = text;
        return std::nullopt;
    };
    const QString label = mapIndex >= 0 ? QStringLiteral("%1[%2]").arg(task).arg(mapIndex) : task;
    const QString what = QStringLiteral("reading task run %1 of flow run %2").arg(label, flowRunId);
    QString sql = QStringLiteral("SELECT ") + kTaskRunColumns
        + QStringLiteral(" FROM task_runs WHERE flow_run_id = ? AND task = ? AND ");
    QVariantList values{flowRunId, task};
    if (mapIndex >= 0) {
        sql += QStringLiteral("map_index = ?");
        values << mapIndex;
    } else {
        sql += QStringLiteral("map_index IS NULL");
    }
    QSqlQuery q = run(db, sql, values, what);
    if (!q.next()) {
        // Say what exists instead: the task's runs, or the run's tasks.
        QSqlQuery runs = run(db,
                             QStringLiteral("SELECT count(*), min(map_index), max(map_index) FROM task_runs "
                                            "WHERE flow_run_id = ? AND task = ?"),
                             {flowRunId, task}, what);
        const qint64 count = runs.next() ? runs.value(0).toLongLong() : 0;
        if (count > 0) {
            if (runs.value(1).isNull())
                return failWith(
                    QStringLiteral("task \"%1\" is not mapped: give it without an index").arg(task));
            const QString range = QStringLiteral("%1[%2] to %1[%3]")
                                      .arg(task)
                                      .arg(runs.value(1).toLongLong())
                                      .arg(runs.value(2).toLongLong());
            return failWith(mapIndex < 0
                                ? QStringLiteral("task \"%1\" is mapped: give an index, %2").arg(task, range)
                                : QStringLiteral("task \"%1\" has no task run [%2]: it has %3")
                                      .arg(task)
                                      .arg(mapIndex)
                                      .arg(range));
        }
        QSqlQuery tasks
            = run(db,
                  QStringLiteral(
                      "SELECT DISTINCT task FROM task_runs WHERE flow_run_id = ? ORDER BY task LIMIT 21"),
                  {flowRunId}, what);
        QStringList names;
        while (tasks.next())
            names << tasks.value(0).toString();
        const QString known = names.isEmpty()
            ? QStringLiteral("it has no task runs")
            : QStringLiteral("its tasks are %1%2")
                  .arg(names.mid(0, 20).join(QStringLiteral(", ")),
                       names.size() > 20 ? QStringLiteral(", ...") : QString());
        return failWith(QStringLiteral("flow run %1 has no task \"%2\" (%3)").arg(flowRunId, task, known));
    }
    TaskRunDetail d;
    d.run = readTaskRun(q);
    d.history = history(db, d.run.id);
    QSqlQuery stalls = run(db,
                           QStringLiteral("SELECT time, duration_us FROM stalls WHERE flow_run_id = ? AND "
                                          "task_run_id = ? ORDER BY time"),
                           {flowRunId, d.run.id}, what);
    while (stalls.next()) {
        StallRow s;
        s.flowRunId = flowRunId;
        s.taskRunId = d.run.id;
        s.task = label;
        s.timeUs = stalls.value(0).toLongLong();
        s.durationUs = stalls.value(1).toLongLong();
        d.stalls.append(s);
    }
    QSqlQuery count
        = run(db, QStringLiteral("SELECT count(*) FROM logs WHERE task_run_id = ?"), {d.run.id}, what);
    d.logCount = count.next() ? count.value(0).toLongLong() : 0;
    // The newest lines (by the task run's own index), then put back in order.
    QSqlQuery lines = run(db,
                          QStringLiteral("SELECT id, time, level, message FROM logs WHERE task_run_id = ? "
                                         "ORDER BY id DESC LIMIT ?"),
                          {d.run.id, TaskRunDetailLogLimit}, what);
    while (lines.next()) {
        LogRow r;
        r.id = lines.value(0).toLongLong();
        r.timeUs = lines.value(1).toLongLong();
        r.taskRunId = d.run.id;
        r.task = task;
        r.mapIndex = mapIndex;
        r.level = lines.value(2).toString();
        r.message = lines.value(3).toString();
        d.logs.prepend(std::move(r));
    }
    QSqlQuery doc = run(db, QStringLiteral("SELECT document, parameters FROM flow_runs WHERE id = ?"),
                        {flowRunId}, what);
    if (doc.next()) {
        d.document = QJsonDocument::fromJson(doc.value(0).toString().toUtf8()).object();
        d.parameters = QJsonDocument::fromJson(doc.value(1).toString().toUtf8()).object();
    }
    return d;
}

QList<LogRow> logs(QSqlDatabase& db, const QString& flowRunId, qint64 afterId, int limit)
{
    QString sql
        = QStringLiteral("SELECT l.id, l.time, l.task_run_id, t.task, t.map_index, l.level, l.message "
                         "FROM logs l LEFT JOIN task_runs t ON t.id = l.task_run_id "
                         "WHERE l.flow_run_id = ? AND l.id > ? ORDER BY l.id");
    QVariantList values{flowRunId, afterId};
    if (limit > 0) {
        sql += QStringLiteral(" LIMIT ?");
        values << limit;
    }
    QSqlQuery q = run(db, sql, values, QStringLiteral("reading the logs of flow run %1").arg(flowRunId));
    QList<LogRow> rows;
    while (q.next()) {
        LogRow r;
        r.id = q.value(0).toLongLong();
        r.timeUs = q.value(1).toLongLong();
        r.taskRunId = q.value(2).toString();
        r.task = q.value(3).toString();
        r.mapIndex = q.value(4).isNull() ? -1 : q.value(4).toInt();
        r.level = q.value(5).toString();
        r.message = q.value(6).toString();
        rows.append(std::move(r));
    }
    return rows;
}

CancelResult requestCancel(QSqlDatabase& db, const QString& flowRunId)
{
    const QString what = QStringLiteral("requesting the cancellation of flow run %1").arg(flowRunId);
    QSqlQuery q
        = run(db,
              QStringLiteral("UPDATE flow_runs SET cancel_requested = 1 WHERE id = ? AND state NOT IN ")
                  + schema::terminalStatesSql(),
              {flowRunId}, what);
    if (q.numRowsAffected() > 0)
        return CancelResult::Requested;
    return flowRunExists(db, flowRunId, what) ? CancelResult::AlreadyFinished : CancelResult::NotFound;
}

namespace {

//! \a digits (hex, no dashes) laid out as the start of a canonical 8-4-4-4-12 id.
QString dashedPrefix(const QString& digits)
{
    QString out;
    for (qsizetype i = 0; i < digits.size(); ++i) {
        if (i == 8 || i == 12 || i == 16 || i == 20)
            out += u'-';
        out += digits.at(i);
    }
    return out;
}

//! \a digits (hex, no dashes) laid out as the end of a canonical 8-4-4-4-12 id.
QString dashedSuffix(const QString& digits)
{
    QString out;
    const qsizetype n = digits.size();
    for (qsizetype i = 0; i < n; ++i) {
        const qsizetype fromEnd = n - i; // digits from here to the end
        out += digits.at(i);
        if (fromEnd - 1 == 12 || fromEnd - 1 == 16 || fromEnd - 1 == 20 || fromEnd - 1 == 24)
            out += u'-';
    }
    return out;
}

} // namespace

RunIdResolution resolveFlowRunId(QSqlDatabase& db, const QString& idOrShort)
{
    RunIdResolution result;
    const QString text = idOrShort.trimmed().toLower();
    static const QRegularExpression idChars(QStringLiteral("^[0-9a-f-]+$"));
    if (text.isEmpty() || !idChars.match(text).hasMatch()) {
        result.error = QStringLiteral("no flow run with id \"%1\" (a run id has hex digits and dashes only)")
                           .arg(idOrShort);
        return result;
    }
    QString digits = text;
    digits.remove(u'-');
    if (digits.size() < MinRunIdDigits) {
        result.error = QStringLiteral(
                           "\"%1\" is too short for a flow run id (give at least %2 hex digits of its start "
                           "or end)")
                           .arg(idOrShort)
                           .arg(MinRunIdDigits);
        return result;
    }
    if (digits.size() > 32) {
        result.error = QStringLiteral("no flow run with id %1 (a run id has 32 hex digits)").arg(text);
        return result;
    }
    const QString what = QStringLiteral("looking up flow run %1").arg(text);
    const QString columns
        = QStringLiteral("SELECT id, flow_name, state, state_name, started_at FROM flow_runs ");
    // Every stored id is canonical, so the digits map to one dashed prefix and one dashed suffix.
    // The text holds only hex digits and '-': no LIKE wildcards. A prefix reads the primary key index
    // on SQLite (bytewise order: every id starting with it sorts below prefix + '~'); a PostgreSQL
    // collation may not sort that way, so there LIKE decides. A suffix has no index: one pass.
    QList<std::pair<QString, QVariantList>> queries;
    const bool sqlite = db.driver() && db.driver()->dbmsType() == QSqlDriver::SQLite;
    if (digits.size() == 32) {
        queries.append({columns + QStringLiteral("WHERE id = ?"), {dashedPrefix(digits)}});
    } else {
        const QString prefix = dashedPrefix(digits);
        if (sqlite)
            queries.append({columns + QStringLiteral("WHERE id >= ? AND id < ? ORDER BY id LIMIT 6"),
                            {prefix, QVariant(prefix + u'~')}});
        else
            queries.append(
                {columns + QStringLiteral("WHERE id LIKE ? ORDER BY id LIMIT 6"), {QVariant(prefix + u'%')}});
        queries.append({columns + QStringLiteral("WHERE id LIKE ? ORDER BY id LIMIT 6"),
                        {QVariant(u'%' + dashedSuffix(digits))}});
    }
    bool more = false; // a query stopped at its limit: there may be more matches
    for (const auto& [sql, binds] : std::as_const(queries)) {
        QSqlQuery q = run(db, sql, binds, what);
        int rows = 0;
        while (q.next()) {
            more = more || ++rows == 6;
            const QString id = q.value(0).toString();
            if (std::any_of(result.candidates.cbegin(), result.candidates.cend(),
                            [&id](const FlowRunRow& r) { return r.id == id; }))
                continue;
            FlowRunRow row;
            row.id = id;
            row.flow = q.value(1).toString();
            row.state = q.value(2).toString();
            row.name = q.value(3).toString();
            row.startedUs = q.value(4).toLongLong();
            result.candidates.append(row);
        }
    }
    if (result.candidates.isEmpty())
        result.error = QStringLiteral("no flow run with id %1").arg(text);
    else if (result.candidates.size() > 1)
        result.error
            = QStringLiteral("the short id %1 is ambiguous: it matches %2 flow runs (give more digits)")
                  .arg(text,
                       (more ? QStringLiteral("at least ") : QString())
                           + QString::number(result.candidates.size()));
    else
        result.id = result.candidates.first().id;
    return result;
}

std::optional<QString> resolveFlowRunId(QSqlDatabase& db, const QString& idOrShort, QString* error)
{
    RunIdResolution resolved = resolveFlowRunId(db, idOrShort);
    if (error)
        *error = resolved.error;
    return resolved.id.isEmpty() ? std::nullopt : std::optional<QString>(resolved.id);
}

QList<StallRow> recentStalls(QSqlDatabase& db, qint64 beforeUs, int limit)
{
    // Newest by the primary key (stalls are inserted as they end): no scan of the table.
    QSqlQuery q = run(db,
                      QStringLiteral("SELECT flow_run_id, task_run_id, task, time, duration_us FROM stalls "
                                     "WHERE time < ? ORDER BY id DESC LIMIT ?"),
                      {beforeUs, limit}, QStringLiteral("reading the recent stalls"));
    QList<StallRow> rows;
    while (q.next())
        rows.append({q.value(0).toString(), q.value(1).toString(), q.value(2).toString(),
                     q.value(3).toLongLong(), q.value(4).toLongLong()});
    return rows;
}

QHash<QString, QMap<QString, qint64>> taskRunCountsOf(QSqlDatabase& db, const QStringList& flowRunIds)
{
    QHash<QString, QMap<QString, qint64>> counts;
    // In chunks: SQLite allows a limited number of bound parameters per statement.
    constexpr qsizetype Chunk = 200;
    for (qsizetype first = 0; first < flowRunIds.size(); first += Chunk) {
        const QStringList ids = flowRunIds.mid(first, Chunk);
        QStringList marks;
        QVariantList values;
        for (const QString& id : ids) {
            marks << QStringLiteral("?");
            values << id;
        }
        QSqlQuery q = run(
            db,
            QStringLiteral("SELECT %1 FROM flow_runs WHERE id IN (%2)").arg(countColumns(), marks.join(u',')),
            values, QStringLiteral("counting the task runs of %1 flow runs").arg(ids.size()));
        while (q.next()) {
            QMap<QString, qint64> one = readCounts(q);
            if (!one.isEmpty())
                counts.insert(q.value(0).toString(), std::move(one));
        }
    }
    return counts;
}

QHash<QString, QList<StateRow>> taskRunHistories(QSqlDatabase& db, const QString& flowRunId)
{
    QSqlQuery q = run(db,
                      // Through task_runs: state_history is indexed by task run (and by flow run only
                      // for the flow run's own rows), which keeps every transition's write cheap.
                      QStringLiteral("SELECT h.task_run_id, h.time, h.state, h.name, h.message "
                                     "FROM task_runs t JOIN state_history h ON h.task_run_id = t.id "
                                     "WHERE t.flow_run_id = ? ORDER BY h.id"),
                      {flowRunId}, QStringLiteral("reading the state history of flow run %1").arg(flowRunId));
    QHash<QString, QList<StateRow>> histories;
    while (q.next())
        histories[q.value(0).toString()].append(
            {q.value(1).toLongLong(), q.value(2).toString(), q.value(3).toString(), q.value(4).toString()});
    return histories;
}

QStringList cancelRequests(QSqlDatabase& db, const QString& engineId)
{
    QSqlQuery q = run(
        db,
        QStringLiteral("SELECT id FROM flow_runs WHERE worker = ? AND cancel_requested = 1 AND state IN %1")
            .arg(schema::unfinishedStatesSql()),
        {engineId}, QStringLiteral("reading cancel requests"));
    QStringList ids;
    while (q.next())
        ids << q.value(0).toString();
    return ids;
}

} // namespace flowdeck
