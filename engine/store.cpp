#include "store.h"

#include "connectionpool.h"
#include "engine.h"
#include "runs.h"
#include "scheduler.h"
#include "schema.h"

#include <QCoro/QCoroTimer>
#include <QHash>
#include <QHostInfo>
#include <QJsonDocument>
#include <QLoggingCategory>
#include <QPointer>
#include <QSqlDriver>
#include <QSqlError>
#include <QSqlQuery>
#include <QTimer>

#include <cerrno>
#include <chrono>
#include <csignal>
#include <sqlite3.h>
#include <unistd.h>

Q_LOGGING_CATEGORY(lcStore, "flowdeck.store")

namespace flowdeck {

namespace {

using namespace std::chrono_literals;

constexpr auto HeartbeatInterval = 5s;
constexpr auto CancelPollInterval = 500ms;
//! An engine whose heartbeat is older than this is considered gone (its runs crash, its slots free).
constexpr qint64 EngineLeaseUs = 30'000'000;
// Qt's SQLite driver looks up every bound parameter by scanning the statement's parameter list,
// so a statement's cost grows with the square of its parameters: keep them near this many.
constexpr int ParamsPerStatement = 96;
// Waiters handed to the ready queue per turn of the event loop once their batch committed.
constexpr int ReleaseSlice = 2048;

const QString kTerminalList = QStringLiteral("('COMPLETED','FAILED','CANCELLED','CRASHED')");
// The same condition written so that the (state, created_at) index serves it.
const QString kUnfinishedList = QStringLiteral("('SCHEDULED','PENDING','RUNNING','PAUSED','CANCELLING')");

qint64 wallUs()
{
    return std::chrono::duration_cast<std::chrono::microseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
}

QVariant nullableTime(qint64 us)
{
    return us > 0 ? QVariant(us) : QVariant(QMetaType::fromType<qint64>());
}

QVariant nullableId(const RunId& id)
{
    return id.isNull() ? QVariant(QMetaType::fromType<QString>()) : QVariant(id.toString());
}

[[noreturn]] void fail(const QString& what, const QSqlError& error)
{
    throw DatabaseError(QString(what + QStringLiteral(": ") + error.text()).toStdString());
}

void exec(QSqlQuery& query, const QString& what)
{
    if (!query.exec())
        fail(what, query.lastError());
}

void exec(QSqlDatabase& db, const QString& sql, const QVariantList& values = {})
{
    QSqlQuery query(db);
    if (!query.prepare(sql))
        fail(sql, query.lastError());
    for (const QVariant& v : values)
        query.addBindValue(v);
    exec(query, sql);
}

//! The SQLite connection behind a Qt connection (Qt documents QSqlDriver::handle() for this), or null.
sqlite3* sqliteHandle(QSqlDatabase& db)
{
    const QVariant handle = db.driver()->handle();
    if (handle.isValid() && qstrcmp(handle.typeName(), "sqlite3*") == 0)
        return *static_cast<sqlite3* const*>(handle.constData());
    return nullptr;
}

/**
 * Inserts rows in bulk. On SQLite it drives one prepared single-row statement through the C API:
 * Qt's driver looks up every bound parameter by scanning the parameter list, which made bulk
 * writes five times slower. Elsewhere (PostgreSQL) it sends many rows per statement through Qt.
 */
class RowInserter {
public:
    RowInserter(QSqlDatabase& db, const QString& table, const QStringList& columns,
                const QString& suffix = {})
        : m_db(db)
        , m_table(table)
        , m_columns(columns)
        , m_suffix(suffix)
        , m_rowsPerStatement(std::max<int>(1, ParamsPerStatement / int(columns.size())))
        , m_sqlite(sqliteHandle(db))
    {
        if (m_sqlite) {
            const QString sql = statement(1);
            if (sqlite3_prepare16_v2(m_sqlite, sql.utf16(), int(sql.size() * 2), &m_stmt, nullptr)
                != SQLITE_OK)
                sqliteFail(QStringLiteral("preparing the insert into %1").arg(m_table));
        } else {
            m_values.reserve(columns.size() * m_rowsPerStatement);
        }
    }
    ~RowInserter()
    {
        if (m_stmt)
            sqlite3_finalize(m_stmt);
    }
    RowInserter(const RowInserter&) = delete;
    RowInserter& operator=(const RowInserter&) = delete;

    void add(std::initializer_list<QVariant> row)
    {
        Q_ASSERT(qsizetype(row.size()) == m_columns.size());
        if (m_stmt) {
            int i = 1;
            for (const QVariant& v : row)
                bind(i++, v);
            if (sqlite3_step(m_stmt) != SQLITE_DONE)
                sqliteFail(QStringLiteral("inserting into %1").arg(m_table));
            sqlite3_reset(m_stmt);
            return;
        }
        for (const QVariant& v : row)
            m_values.append(v);
        if (++m_rows == m_rowsPerStatement)
            flush();
    }
    void flush()
    {
        if (m_stmt || m_rows == 0)
            return;
        if (m_rows != m_preparedRows) {
            m_query = QSqlQuery(m_db);
            if (!m_query.prepare(statement(m_rows)))
                fail(QStringLiteral("preparing the insert into %1").arg(m_table), m_query.lastError());
            m_preparedRows = m_rows;
        }
        for (int i = 0; i < m_values.size(); ++i)
            m_query.bindValue(i, m_values.at(i));
        exec(m_query, QStringLiteral("inserting into %1").arg(m_table));
        m_values.clear();
        m_rows = 0;
    }

private:
    QString statement(int rows) const
    {
        const QString one
            = QStringLiteral("(") + QStringList(m_columns.size(), QStringLiteral("?")).join(u',') + u')';
        return QStringLiteral("INSERT INTO %1 (%2) VALUES %3 %4")
            .arg(m_table, m_columns.join(u','), QStringList(rows, one).join(u','), m_suffix);
    }
    void bind(int index, const QVariant& v)
    {
        int rc = SQLITE_OK;
        if (v.isNull()) {
            rc = sqlite3_bind_null(m_stmt, index);
        } else if (v.metaType().id() == QMetaType::QString) {
            const QString& text = *static_cast<const QString*>(v.constData());
            // The row's values outlive the step, so SQLite may read the text in place.
            rc = sqlite3_bind_text16(m_stmt, index, text.utf16(), int(text.size() * 2), SQLITE_STATIC);
        } else if (v.metaType().id() == QMetaType::Double) {
            rc = sqlite3_bind_double(m_stmt, index, v.toDouble());
        } else {
            rc = sqlite3_bind_int64(m_stmt, index, v.toLongLong());
        }
        if (rc != SQLITE_OK)
            sqliteFail(QStringLiteral("binding a value for %1").arg(m_table));
    }
    [[noreturn]] void sqliteFail(const QString& what) const
    {
        throw DatabaseError(
            QString(what + QStringLiteral(": ") + QString::fromUtf8(sqlite3_errmsg(m_sqlite))).toStdString());
    }

    QSqlDatabase& m_db;
    QString m_table;
    QStringList m_columns;
    QString m_suffix;
    int m_rowsPerStatement;
    sqlite3* m_sqlite;
    sqlite3_stmt* m_stmt = nullptr;
    QVariantList m_values;
    int m_rows = 0;
    int m_preparedRows = -1;
    QSqlQuery m_query;
};

QString jsonText(const QJsonObject& object)
{
    return QString::fromUtf8(QJsonDocument(object).toJson(QJsonDocument::Compact));
}

//! Writes one batch in one transaction, on a database thread.
void writeBatch(QSqlDatabase& db, const Store::Batch& batch, const QString& engineId, const QString& host)
{
    if (!db.transaction())
        fail(QStringLiteral("starting a transaction"), db.lastError());
    try {
        // Flow runs first (task runs reference them), then the last state of every run touched.
        QHash<RunId, qsizetype> lastFlow;
        QHash<RunId, qsizetype> lastTask;
        std::vector<qsizetype> flowOrder;
        std::vector<qsizetype> taskOrder;
        for (qsizetype i = 0; i < qsizetype(batch.transitions.size()); ++i) {
            const Store::TransitionRow& t = batch.transitions[size_t(i)];
            if (t.taskRunId.isNull()) {
                auto it = lastFlow.find(t.flowRunId);
                if (it == lastFlow.end()) {
                    lastFlow.insert(t.flowRunId, i);
                    flowOrder.push_back(i);
                } else {
                    *it = i;
                }
            } else {
                auto it = lastTask.find(t.taskRunId);
                if (it == lastTask.end()) {
                    lastTask.insert(t.taskRunId, i);
                    taskOrder.push_back(i);
                } else {
                    *it = i;
                }
            }
        }
        QHash<RunId, const Store::FlowRow*> newFlows;
        for (const Store::FlowRow& f : batch.flows)
            newFlows.insert(f.id, &f);

        {
            RowInserter flows(
                db, QStringLiteral("flow_runs"),
                {QStringLiteral("id"), QStringLiteral("flow_name"), QStringLiteral("state"),
                 QStringLiteral("state_name"), QStringLiteral("message"), QStringLiteral("parameters"),
                 QStringLiteral("seed"), QStringLiteral("document"), QStringLiteral("total_task_runs"),
                 QStringLiteral("created_at"), QStringLiteral("started_at"), QStringLiteral("ended_at"),
                 QStringLiteral("host"), QStringLiteral("pid"), QStringLiteral("worker")},
                QStringLiteral("ON CONFLICT (id) DO UPDATE SET state = excluded.state, state_name = "
                               "excluded.state_name, message = excluded.message, started_at = "
                               "excluded.started_at, ended_at = excluded.ended_at"));
            for (qsizetype first : flowOrder) {
                const Store::TransitionRow& t
                    = batch.transitions[size_t(lastFlow.value(batch.transitions[size_t(first)].flowRunId))];
                const Store::FlowRow* f = newFlows.value(t.flowRunId);
                flows.add({t.flowRunId.toString(), t.task, toString(t.type), toString(t.name), t.message,
                           f ? QVariant(jsonText(f->parameters)) : QVariant(QMetaType::fromType<QString>()),
                           f ? QVariant(qint64(f->seed)) : QVariant(QMetaType::fromType<qint64>()),
                           f ? QVariant(jsonText(f->document)) : QVariant(QMetaType::fromType<QString>()),
                           f ? f->totalTaskRuns : 0, t.createdUs, nullableTime(t.startedUs),
                           nullableTime(t.endedUs), host, qint64(::getpid()), engineId});
            }
            flows.flush();
        }
        {
            RowInserter tasks(
                db, QStringLiteral("task_runs"),
                {QStringLiteral("id"), QStringLiteral("flow_run_id"), QStringLiteral("task"),
                 QStringLiteral("map_index"), QStringLiteral("state"), QStringLiteral("state_name"),
                 QStringLiteral("message"), QStringLiteral("attempts"), QStringLiteral("tags"),
                 QStringLiteral("created_at"), QStringLiteral("started_at"), QStringLiteral("ended_at")},
                QStringLiteral("ON CONFLICT (id) DO UPDATE SET state = excluded.state, state_name = "
                               "excluded.state_name, message = excluded.message, attempts = "
                               "excluded.attempts, started_at = excluded.started_at, ended_at = "
                               "excluded.ended_at"));
            for (qsizetype first : taskOrder) {
                const Store::TransitionRow& t
                    = batch.transitions[size_t(lastTask.value(batch.transitions[size_t(first)].taskRunId))];
                tasks.add({t.taskRunId.toString(), t.flowRunId.toString(), t.task,
                           t.mapIndex >= 0 ? QVariant(t.mapIndex) : QVariant(QMetaType::fromType<int>()),
                           toString(t.type), toString(t.name), t.message, int(t.attempts),
                           t.tags.isEmpty() ? QVariant(QMetaType::fromType<QString>())
                                            : QVariant(t.tags.join(u',')),
                           t.createdUs, nullableTime(t.startedUs), nullableTime(t.endedUs)});
            }
            tasks.flush();
        }
        {
            RowInserter history(db, QStringLiteral("state_history"),
                                {QStringLiteral("flow_run_id"), QStringLiteral("task_run_id"),
                                 QStringLiteral("time"), QStringLiteral("state"), QStringLiteral("name"),
                                 QStringLiteral("message")});
            // Ids repeat across a run's transitions: format each once.
            QHash<RunId, QString> ids;
            auto idText = [&ids](const RunId& id) -> QVariant {
                if (id.isNull())
                    return QVariant(QMetaType::fromType<QString>());
                auto it = ids.find(id);
                if (it == ids.end())
                    it = ids.insert(id, id.toString());
                return *it;
            };
            for (const Store::TransitionRow& t : batch.transitions) {
                history.add(
                    {idText(t.flowRunId), idText(t.taskRunId), t.timeUs, toString(t.type), toString(t.name),
                     t.message.isEmpty() ? QVariant(QMetaType::fromType<QString>()) : QVariant(t.message)});
            }
            history.flush();
        }
        // A run's slots are freed in the same transaction as the transition that ends its RUNNING.
        for (const Store::TransitionRow& t : batch.transitions) {
            if (t.leftRunning)
                exec(db, QStringLiteral("DELETE FROM concurrency_slots WHERE task_run_id = ?"),
                     {t.taskRunId.toString()});
        }
        if (!batch.logs.empty() || batch.droppedLogs) {
            RowInserter logs(db, QStringLiteral("logs"),
                             {QStringLiteral("flow_run_id"), QStringLiteral("task_run_id"),
                              QStringLiteral("time"), QStringLiteral("level"), QStringLiteral("message")});
            for (const Store::LogRow& l : batch.logs) {
                logs.add({l.flowRunId.toString(), nullableId(l.taskRunId), l.timeUs, toString(l.level),
                          l.message});
            }
            logs.flush();
            if (batch.droppedLogs) {
                qCWarning(lcStore) << batch.droppedLogs << "log lines were dropped: the log buffer was full";
            }
        }
        for (const Store::StallRow& s : batch.stalls) {
            exec(db,
                 QStringLiteral("INSERT INTO stalls (flow_run_id, task_run_id, task, time, duration_us) "
                                "VALUES (?, ?, ?, ?, ?)"),
                 {nullableId(s.stall.flowRunId), nullableId(s.stall.taskRunId),
                  s.stall.task.isEmpty() ? QVariant(QMetaType::fromType<QString>()) : QVariant(s.stall.task),
                  s.stall.startUs, s.stall.durationUs});
            if (!s.stall.taskRunId.isNull()) {
                exec(db,
                     QStringLiteral("UPDATE task_runs SET stall_count = ?, stall_total_us = ? WHERE id = ?"),
                     {qint64(s.runStallCount), s.runStallTotalUs, s.stall.taskRunId.toString()});
            }
            if (!s.stall.flowRunId.isNull()) {
                exec(db,
                     QStringLiteral("UPDATE flow_runs SET stall_count = stall_count + 1, stall_total_us = "
                                    "stall_total_us + ? "
                                    "WHERE id = ?"),
                     {s.stall.durationUs, s.stall.flowRunId.toString()});
            }
        }
        if (!db.commit())
            fail(QStringLiteral("committing a batch"), db.lastError());
    } catch (...) {
        db.rollback();
        throw;
    }
}

bool processAlive(qint64 pid)
{
    return pid > 0 && (::kill(pid_t(pid), 0) == 0 || errno == EPERM);
}

//! Starts a transaction that reads, then writes. On SQLite it takes the write lock up front
//! (BEGIN IMMEDIATE): a plain BEGIN that reads first fails at once when another process wrote since.
void beginWriting(QSqlDatabase& db, const QString& what)
{
    QSqlQuery begin(db);
    if (!begin.exec(db.driverName() == u"QSQLITE" ? QStringLiteral("BEGIN IMMEDIATE")
                                                  : QStringLiteral("BEGIN")))
        fail(what, begin.lastError());
}

void endWriting(QSqlDatabase& db, bool commit)
{
    QSqlQuery end(db);
    if (!end.exec(commit ? QStringLiteral("COMMIT") : QStringLiteral("ROLLBACK")) && commit)
        fail(QStringLiteral("committing"), end.lastError());
}

RecoveryReport recover(QSqlDatabase& db, const QString& myId, const QString& myHost)
{
    RecoveryReport report;
    beginWriting(db, QStringLiteral("starting recovery"));
    try {
        const qint64 now = wallUs();
        QSet<QString> alive{myId};
        QStringList dead;
        {
            QSqlQuery q(db);
            if (!q.exec(QStringLiteral("SELECT id, host, pid, heartbeat_at FROM engines")))
                fail(QStringLiteral("reading engines"), q.lastError());
            while (q.next()) {
                const QString id = q.value(0).toString();
                if (id == myId)
                    continue;
                const bool sameHost = q.value(1).toString() == myHost;
                const bool gone = (sameHost && !processAlive(q.value(2).toLongLong()))
                    || now - q.value(3).toLongLong() > EngineLeaseUs;
                if (gone)
                    dead << id;
                else
                    alive.insert(id);
            }
        }
        QStringList orphans;
        {
            QSqlQuery q(db);
            if (!q.exec(QStringLiteral("SELECT id, worker FROM flow_runs WHERE state IN %1")
                            .arg(kUnfinishedList)))
                fail(QStringLiteral("reading unfinished flow runs"), q.lastError());
            while (q.next()) {
                if (!alive.contains(q.value(1).toString()))
                    orphans << q.value(0).toString();
            }
        }
        const QString crashed = QStringLiteral("the engine process exited while this run was ");
        for (const QString& flowId : orphans) {
            // History first (it records the state each run was left in), then the runs themselves.
            exec(db,
                 QStringLiteral(
                     "INSERT INTO state_history (flow_run_id, task_run_id, time, state, name, message) "
                     "SELECT flow_run_id, id, ?, CASE WHEN state = 'CANCELLING' THEN 'CANCELLED' ELSE "
                     "'CRASHED' END, "
                     "CASE WHEN state = 'CANCELLING' THEN 'Cancelled' ELSE 'Crashed' END, ? || state "
                     "FROM task_runs WHERE flow_run_id = ? AND state NOT IN %1")
                     .arg(kTerminalList),
                 {now, crashed, flowId});
            QSqlQuery update(db);
            update.prepare(
                QStringLiteral(
                    "UPDATE task_runs SET message = ? || state, "
                    "state_name = CASE WHEN state = 'CANCELLING' THEN 'Cancelled' ELSE 'Crashed' END, "
                    "state = CASE WHEN state = 'CANCELLING' THEN 'CANCELLED' ELSE 'CRASHED' END, "
                    "ended_at = ? WHERE flow_run_id = ? AND state NOT IN %1")
                    .arg(kTerminalList));
            update.addBindValue(crashed);
            update.addBindValue(now);
            update.addBindValue(flowId);
            exec(update, QStringLiteral("marking task runs crashed"));
            report.crashedTaskRuns += update.numRowsAffected();
            exec(
                db,
                QStringLiteral(
                    "INSERT INTO state_history (flow_run_id, task_run_id, time, state, name, message) "
                    "SELECT id, NULL, ?, CASE WHEN state = 'CANCELLING' THEN 'CANCELLED' ELSE 'CRASHED' END, "
                    "CASE WHEN state = 'CANCELLING' THEN 'Cancelled' ELSE 'Crashed' END, ? || state "
                    "FROM flow_runs WHERE id = ?"),
                {now, crashed, flowId});
            exec(db,
                 QStringLiteral(
                     "UPDATE flow_runs SET message = ? || state, "
                     "state_name = CASE WHEN state = 'CANCELLING' THEN 'Cancelled' ELSE 'Crashed' END, "
                     "state = CASE WHEN state = 'CANCELLING' THEN 'CANCELLED' ELSE 'CRASHED' END, "
                     "ended_at = ? WHERE id = ?"),
                 {crashed, now, flowId});
            ++report.crashedFlowRuns;
        }
        for (const QString& id : dead) {
            QSqlQuery q(db);
            q.prepare(QStringLiteral("DELETE FROM concurrency_slots WHERE holder = ?"));
            q.addBindValue(id);
            exec(q, QStringLiteral("freeing slots of a dead engine"));
            report.freedSlots += q.numRowsAffected();
            exec(db, QStringLiteral("DELETE FROM engines WHERE id = ?"), {id});
        }
        endWriting(db, true);
    } catch (...) {
        endWriting(db, false);
        throw;
    }
    return report;
}

} // namespace

Store::Store(ConnectionPool& pool, Scheduler& scheduler, QObject* parent)
    : QObject(parent)
    , m_pool(pool)
    , m_scheduler(scheduler)
    , m_engineId(RunId::generate().toString())
    , m_pollTimer(new QTimer(this))
{
    m_pollTimer->setInterval(CancelPollInterval);
    connect(m_pollTimer, &QTimer::timeout, this, &Store::poll);
}

Store::~Store()
{
    detach();
    m_stopping = true;
    if (m_writerIdle) {
        auto h = m_writerIdle;
        m_writerIdle = {};
        h.resume(); // lets the writer coroutine return
    }
    if (!m_buffer.empty() || !m_waiters.empty())
        qCWarning(lcStore) << "store closed with" << m_buffer.transitions.size()
                           << "transitions not yet written";
}

QCoro::Task<RecoveryReport> Store::open(bool registerEngine)
{
    // Tasks are named before they are awaited: GCC 12 destroys temporaries of a co_await
    // expression (such as a lambda's captures) twice.
    auto migrating = m_pool.run([](QSqlDatabase& db) { schema::migrate(db); });
    co_await migrating;
    const QString id = m_engineId;
    const QString host = QHostInfo::localHostName();
    if (registerEngine) {
        auto registering = m_pool.run([id, host](QSqlDatabase& db) {
            const qint64 now = wallUs();
            exec(db,
                 QStringLiteral(
                     "INSERT INTO engines (id, host, pid, started_at, heartbeat_at) VALUES (?, ?, ?, ?, ?)"),
                 {id, host, qint64(::getpid()), now, now});
        });
        co_await registering;
        m_registered = true;
    }
    auto recovering = m_pool.run([id, host](QSqlDatabase& db) { return recover(db, id, host); });
    const RecoveryReport report = co_await recovering;
    if (!m_writerRunning)
        m_writer = writeLoop();
    m_beatClock.start();
    m_leaseClock.start();
    m_pollTimer->start();
    co_return report;
}

void Store::attach(Engine& engine)
{
    detach();
    m_engine = &engine;
    engine.addObserver(this);
    engine.setDurabilitySink(this);
    engine.setSlotSink(this);
}

void Store::detach()
{
    if (!m_engine)
        return;
    m_engine->removeObserver(this);
    if (m_engine->durabilitySink() == this)
        m_engine->setDurabilitySink(nullptr);
    if (m_engine->slotSink() == this)
        m_engine->setSlotSink(nullptr);
    m_engine = nullptr;
}

StoreMetrics Store::metrics() const
{
    StoreMetrics m = m_metrics;
    m.pendingTransitions = m_buffer.transitions.size();
    return m;
}

void Store::onTransition(const TransitionEvent& e)
{
    TransitionRow row;
    row.sequence = ++m_sequence;
    row.timeUs = e.timeUs;
    row.flowRunId = e.flowRun->id;
    row.isNew = e.isNew;
    row.type = e.type;
    row.name = e.name;
    row.message = e.message;
    if (e.taskRun) {
        const TaskRun& r = *e.taskRun;
        row.taskRunId = r.id;
        row.task = r.taskId();
        row.mapIndex = r.mapIndex;
        row.attempts = r.attempts;
        row.createdUs = r.createdUs;
        row.startedUs = r.startedUs;
        row.endedUs = r.endedUs;
        if (e.isNew)
            row.tags = r.node->def->tags;
        if (!e.isNew && !r.node->def->tags.isEmpty() && e.type != StateType::Cancelling
            && (e.from == StateType::Running || e.from == StateType::Cancelling)) {
            row.leftRunning = true;
        }
    } else {
        const FlowRun& f = *e.flowRun;
        row.task = f.def.name;
        row.mapIndex = -1;
        row.attempts = 0;
        row.createdUs = f.createdUs;
        row.startedUs = f.startedUs;
        row.endedUs = f.endedUs;
        if (e.isNew) {
            m_buffer.flows.push_back(
                {f.id, f.def.name, f.def.parameters, f.def.document, f.seed, f.totalTaskRuns, f.createdUs});
        }
    }
    m_buffer.transitions.push_back(std::move(row));
    wakeWriter();
}

void Store::onLog(const LogEvent& e)
{
    if (qsizetype(m_buffer.logs.size()) >= m_logLimit) {
        ++m_buffer.droppedLogs;
        ++m_metrics.logsDropped;
        wakeWriter();
        return;
    }
    m_buffer.logs.push_back({e.timeUs, e.flowRun ? e.flowRun->id : RunId{},
                             e.taskRun ? e.taskRun->id : RunId{}, e.level, e.message});
    wakeWriter();
}

void Store::onStall(const StallRecord& stall)
{
    m_buffer.stalls.push_back({stall, stall.taskRun ? stall.taskRun->stallCount : 0u,
                               stall.taskRun ? stall.taskRun->stallTotalUs : 0});
    wakeWriter();
}

void Store::whenCommitted(quint64 sequence, void (*callback)(void*, void*), void* a, void* b)
{
    if (sequence <= m_committed) {
        m_scheduler.schedule(callback, a, static_cast<TaskRun*>(b));
        return;
    }
    m_waiters.push_back({sequence, callback, a, b});
}

void Store::noteLoopStep(std::chrono::steady_clock::time_point started)
{
    const double ms
        = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - started).count();
    m_metrics.maxLoopStepMs = std::max(m_metrics.maxLoopStepMs, ms);
}

void Store::releaseWaiters()
{
    // A batch may release 100k task runs: hand them to the ready queue in slices, so that this never
    // holds the GUI thread for long; the rest follow in the next turn of the event loop.
    int released = 0;
    while (!m_waiters.empty() && m_waiters.front().sequence <= m_committed) {
        if (++released > ReleaseSlice) {
            if (!m_releasePosted) {
                m_releasePosted = true;
                QMetaObject::invokeMethod(
                    this,
                    [this] {
                        m_releasePosted = false;
                        releaseWaiters();
                    },
                    Qt::QueuedConnection);
            }
            return;
        }
        const Waiter w = m_waiters.front();
        m_waiters.pop_front();
        m_scheduler.schedule(w.callback, w.a, static_cast<TaskRun*>(w.b));
    }
}

void Store::wakeWriter()
{
    if (!m_writerIdle || m_wakePosted)
        return;
    // Resumed after the current batch of ready work, so that one transaction carries all of it.
    m_wakePosted = true;
    QMetaObject::invokeMethod(
        this,
        [this] {
            m_wakePosted = false;
            if (m_writerIdle) {
                auto h = m_writerIdle;
                m_writerIdle = {};
                h.resume();
            }
        },
        Qt::QueuedConnection);
}

QCoro::Task<> Store::writeLoop()
{
    struct Idle {
        Store* store;
        bool await_ready() const noexcept { return false; }
        void await_suspend(std::coroutine_handle<> h) { store->m_writerIdle = h; }
        void await_resume() const noexcept {}
    };
    m_writerRunning = true;
    const QString engineId = m_engineId;
    const QString host = QHostInfo::localHostName();
    QPointer<Store> self(this);
    while (!m_stopping) {
        if (m_buffer.empty()) {
            co_await Idle{this};
            continue;
        }
        auto stepStart = std::chrono::steady_clock::now();
        Batch batch;
        if (qsizetype(m_buffer.transitions.size()) <= m_maxBatch) {
            std::swap(batch, m_buffer);
            batch.lastSequence = m_sequence;
        } else {
            // A bounded batch: the first transitions, and the flow runs and logs they may refer to.
            batch.flows.swap(m_buffer.flows);
            batch.logs.swap(m_buffer.logs);
            batch.stalls.swap(m_buffer.stalls);
            batch.droppedLogs = std::exchange(m_buffer.droppedLogs, 0);
            const auto end = m_buffer.transitions.begin() + m_maxBatch;
            batch.transitions.assign(std::make_move_iterator(m_buffer.transitions.begin()),
                                     std::make_move_iterator(end));
            m_buffer.transitions.erase(m_buffer.transitions.begin(), end);
            batch.lastSequence = batch.transitions.back().sequence;
        }
        const quint64 batchTransitions = batch.transitions.size();
        const quint64 lastSequence = batch.lastSequence;
        const quint64 batchLogs = batch.logs.size();
        noteLoopStep(stepStart);
        for (int attempt = 0;; ++attempt) {
            const auto started = std::chrono::steady_clock::now();
            QString problem;
            try {
                auto writing = m_pool.run([&batch, engineId, host](QSqlDatabase& db) {
                    writeBatch(db, batch, engineId, host);
                    batch = Batch{}; // freed here, on the database thread, not on the GUI thread
                });
                co_await writing;
                if (!self)
                    co_return; // the store was destroyed while this batch was written
                stepStart = std::chrono::steady_clock::now();
                const double ms
                    = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - started)
                          .count();
                m_metrics.lastCommitMs = ms;
                m_metrics.maxCommitMs = std::max(m_metrics.maxCommitMs, ms);
                break;
            } catch (const PoolTimeout& e) {
                ++m_metrics.poolTimeouts;
                problem = QString::fromUtf8(e.what());
            } catch (const std::exception& e) {
                problem = QString::fromUtf8(e.what());
            }
            // Nothing is dropped: the same batch is written again after a back-off.
            ++m_metrics.retries;
            m_metrics.lastError = problem;
            qCWarning(lcStore).noquote() << "writing a batch failed, retrying:" << problem;
            Q_EMIT writeProblem(problem);
            auto backOff
                = QCoro::sleepFor(std::chrono::milliseconds(std::min(2000, 25 << std::min(attempt, 6))));
            co_await backOff;
            if (!self)
                co_return;
        }
        ++m_metrics.batches;
        m_metrics.transitionsWritten += batchTransitions;
        m_metrics.logsWritten += batchLogs;
        m_metrics.lastBatchRows = int(batchTransitions + batchLogs);
        m_committed = std::max(m_committed, lastSequence);
        releaseWaiters();
        noteLoopStep(stepStart);
        Q_EMIT committed(m_committed);
    }
    m_writerRunning = false;
}

QCoro::Task<> Store::close()
{
    auto flushing = flush();
    co_await flushing;
    m_pollTimer->stop();
    if (!m_registered)
        co_return;
    const QString id = m_engineId;
    auto leaving = m_pool.run(
        [id](QSqlDatabase& db) { exec(db, QStringLiteral("DELETE FROM engines WHERE id = ?"), {id}); });
    co_await leaving;
    m_registered = false;
}

QCoro::Task<> Store::flush()
{
    struct Flushed {
        Store* store;
        quint64 sequence;
        bool await_ready() const noexcept { return store->isCommitted(sequence); }
        void await_suspend(std::coroutine_handle<> h)
        {
            store->whenCommitted(
                sequence, [](void* a, void*) { std::coroutine_handle<>::from_address(a).resume(); },
                h.address(), nullptr);
        }
        void await_resume() const noexcept {}
    };
    co_await Flushed{this, m_sequence};
}

namespace {

//! Takes a slot of every tag for a run, all or none, guarded against every process's slots.
bool acquire(QSqlDatabase& db, bool postgres, const QString& runId, const QString& holder,
             const QStringList& tags, qint64 leaseUs)
{
    // SQLite: BEGIN IMMEDIATE serialises writers; PostgreSQL: the limit's row lock does (below).
    beginWriting(db, QStringLiteral("starting a slot transaction"));
    try {
        const qint64 now = wallUs();
        for (const QString& tag : tags) {
            QSqlQuery limit(db);
            limit.prepare(
                postgres
                    ? QStringLiteral("SELECT slot_limit FROM concurrency_limits WHERE tag = ? FOR UPDATE")
                    : QStringLiteral("SELECT slot_limit FROM concurrency_limits WHERE tag = ?"));
            limit.addBindValue(tag);
            exec(limit, QStringLiteral("reading the limit of a tag"));
            if (!limit.next())
                continue; // the limit was deleted: nothing to take
            const qint64 allowed = limit.value(0).toLongLong();
            QSqlQuery used(db);
            used.prepare(QStringLiteral(
                "SELECT count(*) FROM concurrency_slots WHERE tag = ? AND lease_expires_at > ? "
                "AND task_run_id <> ?"));
            used.addBindValue(tag);
            used.addBindValue(now);
            used.addBindValue(runId);
            exec(used, QStringLiteral("counting the slots of a tag"));
            used.next();
            if (used.value(0).toLongLong() >= allowed) {
                endWriting(db, false);
                return false;
            }
            exec(db,
                 QStringLiteral("INSERT INTO concurrency_slots (tag, task_run_id, holder, lease_expires_at) "
                                "VALUES (?, ?, ?, ?) "
                                "ON CONFLICT (tag, task_run_id) DO UPDATE SET holder = excluded.holder, "
                                "lease_expires_at = excluded.lease_expires_at"),
                 {tag, runId, holder, now + leaseUs});
        }
        endWriting(db, true);
        return true;
    } catch (...) {
        endWriting(db, false);
        throw;
    }
}

} // namespace

QCoro::Task<bool> Store::acquireSlots(const TaskRun& run, const QStringList& tags)
{
    const QString runId = run.id.toString();
    const QString holder = m_engineId;
    const qint64 lease = m_slotLeaseUs;
    const bool postgres = !m_pool.url().isSqlite();
    auto acquiring = m_pool.run([runId, holder, tags, lease, postgres](QSqlDatabase& db) {
        return acquire(db, postgres, runId, holder, tags, lease);
    });
    const bool acquired = co_await acquiring;
    co_return acquired;
}

void Store::releaseSlots(const TaskRun& run)
{
    const QString runId = run.id.toString();
    auto releasing = [](ConnectionPool& pool, QString id) -> QCoro::Task<> {
        try {
            auto deleting = pool.run([id](QSqlDatabase& db) {
                exec(db, QStringLiteral("DELETE FROM concurrency_slots WHERE task_run_id = ?"), {id});
            });
            co_await deleting;
        } catch (const std::exception& e) {
            qCWarning(lcStore) << "freeing the slots of a run that did not start failed:" << e.what();
        }
    };
    auto task = releasing(m_pool, runId);
}

QCoro::Task<> Store::refreshLimits()
{
    QPointer<Store> self(this);
    auto reading = m_pool.run([](QSqlDatabase& db) {
        QSqlQuery q(db);
        if (!q.exec(QStringLiteral("SELECT tag, slot_limit FROM concurrency_limits")))
            fail(QStringLiteral("reading concurrency limits"), q.lastError());
        QHash<QString, int> limits;
        while (q.next())
            limits.insert(q.value(0).toString(), q.value(1).toInt());
        return limits;
    });
    const QHash<QString, int> limits = co_await reading;
    if (self && self->m_engine)
        self->m_engine->limiter().syncLimits(limits);
}

void Store::poll()
{
    if (m_polling)
        return; // the previous poll is still waiting for the database
    m_polling = true;
    auto task = pollOnce(this);
}

QCoro::Task<> Store::pollOnce(QPointer<Store> self)
{
    // Every resumption re-checks self: the store may be gone while the database answers.
    const QString id = self->m_engineId;
    try {
        if (self->m_beatClock.hasExpired(std::chrono::milliseconds(HeartbeatInterval).count())) {
            self->m_beatClock.restart();
            auto beating = self->m_pool.run([id](QSqlDatabase& db) {
                exec(db, QStringLiteral("UPDATE engines SET heartbeat_at = ? WHERE id = ?"), {wallUs(), id});
            });
            co_await beating;
            if (!self)
                co_return;
        }
        if (self->m_leaseClock.hasExpired(self->m_slotLeaseUs / 3000)) {
            self->m_leaseClock.restart();
            const qint64 lease = self->m_slotLeaseUs;
            auto renewing = self->m_pool.run([id, lease](QSqlDatabase& db) {
                exec(db, QStringLiteral("UPDATE concurrency_slots SET lease_expires_at = ? WHERE holder = ?"),
                     {wallUs() + lease, id});
            });
            co_await renewing;
            if (!self)
                co_return;
        }
        if (self->m_engine) {
            // Limits live in the store: changes made by the CLI or another process apply within a poll.
            auto refreshing = self->refreshLimits();
            co_await refreshing;
            if (!self)
                co_return;
        }
        if (self->m_engine && self->m_engine->activeFlowRuns() > 0) {
            auto polling = self->m_pool.run([id](QSqlDatabase& db) {
                QSqlQuery q(db);
                q.prepare(
                    QStringLiteral(
                        "SELECT id FROM flow_runs WHERE worker = ? AND cancel_requested = 1 AND state IN %1")
                        .arg(kUnfinishedList));
                q.addBindValue(id);
                exec(q, QStringLiteral("reading cancel requests"));
                QStringList ids;
                while (q.next())
                    ids << q.value(0).toString();
                return ids;
            });
            const QStringList requested = co_await polling;
            if (!self)
                co_return;
            for (const QString& text : requested) {
                if (!self->m_engine)
                    break;
                if (FlowRun* run = self->m_engine->findFlowRun(RunId::fromString(text)))
                    self->m_engine->cancelFlowRun(run,
                                                  QStringLiteral("cancel requested from another process"));
            }
        }
    } catch (const std::exception& e) {
        qCWarning(lcStore) << "heartbeat / cancel poll failed:" << e.what();
    }
    if (self)
        self->m_polling = false;
}

} // namespace flowdeck
