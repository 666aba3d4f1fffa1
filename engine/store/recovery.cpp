#include "store/recovery.h"

#include "run/clock.h"
#include "store/schema.h"
#include "store/sqlhelpers.h"

#include <QSqlQuery>

#include <cerrno>
#include <csignal>
#include <unistd.h>

namespace flowdeck {

namespace {

//! An engine whose heartbeat is older than this is considered gone (its runs crash, its slots free).
constexpr qint64 EngineLeaseUs = 30'000'000;

bool processAlive(qint64 pid)
{
    return pid > 0 && (::kill(pid_t(pid), 0) == 0 || errno == EPERM);
}

} // namespace

Recovery::Recovery(QSqlDatabase& db, const QString& engineId, const QString& host)
    : m_db(db)
    , m_engineId(engineId)
    , m_host(host)
    , m_now(wallUs())
    , m_alive{engineId}
{
}

RecoveryReport Recovery::run()
{
    sql::WriteTransaction transaction(m_db, QStringLiteral("starting recovery"));
    // Workers recover each other while they run; one at a time (SQLite: BEGIN IMMEDIATE already
    // serialises). Unfinished runs are read before the engines: a run claimed after this read belongs
    // to an engine that registered before it, so is seen alive below.
    if (sql::isPostgres(m_db))
        sql::execDirect(m_db, QStringLiteral("SELECT pg_advisory_xact_lock(7380396447929557868)"),
                        QStringLiteral("locking for recovery"));
    const std::vector<Unfinished> unfinished = readUnfinished();
    readEngines();
    QStringList orphans;
    for (const Unfinished& u : unfinished) {
        if (m_alive.contains(u.worker))
            continue;
        if (u.paused)
            letGo(u);
        else if (u.retriesLeft > 0)
            requeue(u);
        else
            orphans << u.id;
    }
    for (const QString& flowId : orphans)
        crash(flowId, QStringLiteral("the engine process exited while this run was "));
    freeDeadEngines();
    transaction.commit();
    return m_report;
}

std::vector<Recovery::Unfinished> Recovery::readUnfinished()
{
    // A submitted run waiting in the queue (no worker yet) is nobody's orphan.
    QSqlQuery q
        = sql::run(m_db,
                   QStringLiteral("SELECT id, worker, CASE WHEN run_count = 0 OR cancel_requested = 1 "
                                  "OR state = 'CANCELLING' THEN 0 ELSE retries - run_count + 1 END, state "
                                  "FROM flow_runs WHERE state IN %1 AND worker IS NOT NULL")
                       .arg(schema::unfinishedStatesSql()),
                   {}, QStringLiteral("reading unfinished flow runs"));
    std::vector<Unfinished> unfinished;
    while (q.next())
        unfinished.push_back({q.value(0).toString(), q.value(1).toString(), q.value(2).toInt(),
                              q.value(3).toString() == QLatin1String("PAUSED")});
    return unfinished;
}

void Recovery::readEngines()
{
    QSqlQuery q = sql::run(m_db, QStringLiteral("SELECT id, host, pid, heartbeat_at, lease_us FROM engines"),
                           {}, QStringLiteral("reading engines"));
    while (q.next()) {
        const QString id = q.value(0).toString();
        if (id == m_engineId)
            continue;
        const bool sameHost = q.value(1).toString() == m_host;
        const qint64 lease = q.value(4).toLongLong() > 0 ? q.value(4).toLongLong() : EngineLeaseUs;
        const bool gone
            = (sameHost && !processAlive(q.value(2).toLongLong())) || m_now - q.value(3).toLongLong() > lease;
        if (gone)
            m_dead << id;
        else
            m_alive << id;
    }
}

//! A flow with "retries": N goes back to the queue; its task runs of this attempt end CRASHED, the
//! next attempt makes new ones.
void Recovery::requeue(const Unfinished& u)
{
    const QString what = QStringLiteral("requeueing a flow run");
    const QString message
        = QStringLiteral("the worker running it stopped; requeued (%1 flow-level retr%2 left)")
              .arg(u.retriesLeft - 1)
              .arg(u.retriesLeft == 2 ? QStringLiteral("y") : QStringLiteral("ies"));
    const QString stopped = QStringLiteral("the worker running it stopped while this run was ");
    sql::run(
        m_db,
        QStringLiteral("INSERT INTO state_history (flow_run_id, task_run_id, time, state, name, message) "
                       "SELECT flow_run_id, id, ?, 'CRASHED', 'Crashed', ? || state FROM task_runs "
                       "WHERE flow_run_id = ? AND state NOT IN %1")
            .arg(schema::terminalStatesSql()),
        {m_now, stopped, u.id}, what);
    sql::run(m_db,
             QStringLiteral("UPDATE task_runs SET message = ? || state, state_name = 'Crashed', "
                            "state = 'CRASHED', ended_at = ? WHERE flow_run_id = ? AND state NOT IN %1")
                 .arg(schema::terminalStatesSql()),
             {stopped, m_now, u.id}, what);
    sql::run(m_db, schema::recountTaskRunsSql(), {u.id}, what);
    sql::run(
        m_db,
        QStringLiteral("INSERT INTO state_history (flow_run_id, task_run_id, time, state, name, message) "
                       "VALUES (?, NULL, ?, 'SCHEDULED', 'AwaitingRetry', ?)"),
        {u.id, m_now, message}, what);
    sql::run(m_db,
             QStringLiteral("UPDATE flow_runs SET state = 'SCHEDULED', state_name = 'AwaitingRetry', "
                            "message = ?, worker = NULL, worker_name = NULL, cancel_requested = 0 "
                            "WHERE id = ?"),
             {message, u.id}, what);
    ++m_report.crashedFlowRuns;
}

//! A PAUSED run stays PAUSED when its process is gone: any process may resume it. Its task runs that
//! were still running (a pause lets them finish) end CRASHED and run again on resume.
void Recovery::letGo(const Unfinished& u)
{
    const QString what = QStringLiteral("releasing a paused flow run");
    const QString stopped
        = QStringLiteral("the process holding its paused flow run exited while this run was ");
    const QString active = QStringLiteral("('RUNNING','CANCELLING')");
    sql::run(
        m_db,
        QStringLiteral("INSERT INTO state_history (flow_run_id, task_run_id, time, state, name, message) "
                       "SELECT flow_run_id, id, ?, 'CRASHED', 'Crashed', ? || state FROM task_runs "
                       "WHERE flow_run_id = ? AND state IN %1")
            .arg(active),
        {m_now, stopped, u.id}, what);
    const QSqlQuery update
        = sql::run(m_db,
                   QStringLiteral("UPDATE task_runs SET message = ? || state, state_name = 'Crashed', "
                                  "state = 'CRASHED', ended_at = ? WHERE flow_run_id = ? AND state IN %1")
                       .arg(active),
                   {stopped, m_now, u.id}, what);
    if (update.numRowsAffected() > 0)
        sql::run(m_db, schema::recountTaskRunsSql(), {u.id}, what);
    sql::run(m_db,
             QStringLiteral("UPDATE flow_runs SET worker = NULL, worker_name = NULL, pause_requested = 0, "
                            "resume_requested = 0 WHERE id = ?"),
             {u.id}, what);
    ++m_report.releasedPausedRuns;
}

void Recovery::crashNow(const QString& flowRunId, const QString& reason)
{
    // No long wait for a busy database: the process is stopping (SQLite's busy timeout only).
    sql::WriteTransaction transaction(m_db, QStringLiteral("starting to mark a flow run crashed"), 0);
    crash(flowRunId, reason + QStringLiteral("; stopped while this run was "));
    transaction.commit(QStringLiteral("marking a flow run crashed"));
}

//! Ends a flow run and its unfinished task runs CRASHED (CANCELLED when they were CANCELLING), their
//! message \a crashed followed by the state they were in.
void Recovery::crash(const QString& flowId, const QString& crashed)
{
    const QString what = QStringLiteral("marking a flow run crashed");
    const QString endState
        = QStringLiteral("CASE WHEN state = 'CANCELLING' THEN 'CANCELLED' ELSE 'CRASHED' END");
    const QString endName
        = QStringLiteral("CASE WHEN state = 'CANCELLING' THEN 'Cancelled' ELSE 'Crashed' END");
    // History first (it records the state each run was left in), then the runs themselves.
    sql::run(
        m_db,
        QStringLiteral("INSERT INTO state_history (flow_run_id, task_run_id, time, state, name, message) "
                       "SELECT flow_run_id, id, ?, %2, %3, ? || state "
                       "FROM task_runs WHERE flow_run_id = ? AND state NOT IN %1")
            .arg(schema::terminalStatesSql(), endState, endName),
        {m_now, crashed, flowId}, what);
    const QSqlQuery update
        = sql::run(m_db,
                   QStringLiteral("UPDATE task_runs SET message = ? || state, state_name = %3, state = %2, "
                                  "ended_at = ? WHERE flow_run_id = ? AND state NOT IN %1")
                       .arg(schema::terminalStatesSql(), endState, endName),
                   {crashed, m_now, flowId}, QStringLiteral("marking task runs crashed"));
    m_report.crashedTaskRuns += update.numRowsAffected();
    sql::run(m_db, schema::recountTaskRunsSql(), {flowId}, what);
    sql::run(
        m_db,
        QStringLiteral("INSERT INTO state_history (flow_run_id, task_run_id, time, state, name, message) "
                       "SELECT id, NULL, ?, %1, %2, ? || state FROM flow_runs WHERE id = ?")
            .arg(endState, endName),
        {m_now, crashed, flowId}, what);
    sql::run(m_db,
             QStringLiteral("UPDATE flow_runs SET message = ? || state, state_name = %2, state = %1, "
                            "ended_at = ? WHERE id = ?")
                 .arg(endState, endName),
             {crashed, m_now, flowId}, what);
    ++m_report.crashedFlowRuns;
}

void Recovery::freeDeadEngines()
{
    for (const QString& id : m_dead) {
        const QSqlQuery freed
            = sql::run(m_db, QStringLiteral("DELETE FROM concurrency_slots WHERE holder = ?"), {id},
                       QStringLiteral("freeing slots of a dead engine"));
        m_report.freedSlots += freed.numRowsAffected();
        const QSqlQuery freedGlobal = sql::run(
            m_db, QStringLiteral("DELETE FROM global_concurrency_slots WHERE holder = ? AND decays = 0"),
            {id}, QStringLiteral("freeing slots of a dead engine"));
        m_report.freedSlots += freedGlobal.numRowsAffected();
        sql::run(m_db, QStringLiteral("DELETE FROM engines WHERE id = ?"), {id},
                 QStringLiteral("removing a dead engine"));
    }
}

} // namespace flowdeck
