#include "store/store.h"

#include "run/clock.h"
#include "run/engine.h"
#include "run/flowrun.h"
#include "run/scheduler.h"
#include "store/connectionpool.h"
#include "store/schema.h"

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

#include <array>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <csignal>
#include <mutex>
#include <pthread.h>
#include <sched.h>
#include <sqlite3.h>
#include <thread>
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

//! Canonical UUID text of \a id (36 ASCII characters, as RunId::toString()) into \a out.
void formatId(const RunId& id, char* out)
{
    static constexpr char digits[] = "0123456789abcdef";
    int pos = 0;
    auto put = [&](std::uint64_t v) {
        for (int i = 15; i >= 0; --i) {
            if (pos == 8 || pos == 13 || pos == 18 || pos == 23)
                out[pos++] = '-';
            out[pos++] = digits[(v >> (i * 4)) & 0xF];
        }
    };
    put(id.hi);
    put(id.lo);
}

/**
 * Inserts rows in bulk, many rows per statement, values bound by type (no QVariant per value). On
 * SQLite it drives prepared statements through the C API: Qt's driver looks up every bound parameter
 * by scanning the parameter list, which made bulk writes five times slower. Elsewhere (PostgreSQL) it
 * sends many rows per statement through Qt.
 *
 * Texts are referenced, not copied: what text() and utf8() are given must outlive flush(). Ids are
 * formatted into the inserter's own buffer.
 */
class RowInserter {
public:
    RowInserter(QSqlDatabase& db, const QString& table, const QStringList& columns,
                const QString& suffix = {})
        : m_db(db)
        , m_table(table)
        , m_columns(columns)
        , m_suffix(suffix)
        , m_sqlite(sqliteHandle(db))
    {
        const int perStatement = m_sqlite ? SqliteParamsPerStatement : ParamsPerStatement;
        m_rowsPerStatement = std::max<int>(1, perStatement / int(columns.size()));
        m_values.resize(size_t(m_rowsPerStatement) * size_t(columns.size()));
        m_ids.resize(m_values.size() * IdChars);
    }
    ~RowInserter()
    {
        if (m_stmt)
            sqlite3_finalize(m_stmt);
    }
    RowInserter(const RowInserter&) = delete;
    RowInserter& operator=(const RowInserter&) = delete;

    RowInserter& null() { return put({Value::Null, 0, nullptr}); }
    RowInserter& int64(qint64 v) { return put({Value::Int, v, nullptr}); }
    //! NULL for 0 (times not reached yet).
    RowInserter& time(qint64 us) { return us > 0 ? int64(us) : null(); }
    RowInserter& text(const QString& s)
    {
        // Never a null pointer, which SQLite would store as NULL: the empty string is ''.
        const QChar* data = s.constData();
        return put({Value::Utf16, s.size(), data ? static_cast<const void*>(data) : u""});
    }
    RowInserter& textOrNull(const QString& s) { return s.isEmpty() ? null() : text(s); }
    //! UTF-8 text that outlives flush() (a literal, or a cached conversion).
    RowInserter& utf8(const QByteArray& s) { return put({Value::Utf8, s.size(), s.constData()}); }
    RowInserter& id(const RunId& id)
    {
        if (id.isNull())
            return null();
        char* out = m_ids.data() + m_next * IdChars;
        formatId(id, out);
        return put({Value::Utf8, IdChars, out});
    }
    void endRow()
    {
        Q_ASSERT(m_next == (m_rows + 1) * m_columns.size());
        if (++m_rows == m_rowsPerStatement)
            write();
    }
    void flush()
    {
        if (m_rows > 0)
            write();
    }

private:
    static constexpr int IdChars = 36;
    // SQLite binds by index through the C API, so longer statements cost nothing extra.
    static constexpr int SqliteParamsPerStatement = 240;
    struct Value {
        enum Kind : quint8 { Null, Int, Utf8, Utf16 } kind;
        qint64 n; //!< the integer, or the text's length in code units
        const void* text;
    };

    RowInserter& put(Value v)
    {
        m_values[size_t(m_next++)] = v;
        return *this;
    }
    void write()
    {
        if (m_sqlite)
            writeSqlite();
        else
            writeQt();
        m_rows = 0;
        m_next = 0;
    }
    void writeSqlite()
    {
        sqlite3_stmt* stmt = nullptr;
        if (m_rows == m_rowsPerStatement) {
            if (!m_stmt)
                m_stmt = prepareSqlite(m_rows);
            stmt = m_stmt;
        } else {
            stmt = prepareSqlite(m_rows); // the last, shorter statement of this inserter
        }
        for (int i = 0; i < m_next; ++i) {
            const Value& v = m_values[size_t(i)];
            int rc = SQLITE_OK;
            switch (v.kind) {
            case Value::Null:
                rc = sqlite3_bind_null(stmt, i + 1);
                break;
            case Value::Int:
                rc = sqlite3_bind_int64(stmt, i + 1, v.n);
                break;
            case Value::Utf8:
                rc = sqlite3_bind_text(stmt, i + 1, static_cast<const char*>(v.text), int(v.n),
                                       SQLITE_STATIC);
                break;
            case Value::Utf16:
                rc = sqlite3_bind_text16(stmt, i + 1, v.text, int(v.n * 2), SQLITE_STATIC);
                break;
            }
            if (rc != SQLITE_OK)
                sqliteFail(QStringLiteral("binding a value for %1").arg(m_table));
        }
        const int rc = sqlite3_step(stmt);
        sqlite3_reset(stmt);
        if (stmt != m_stmt)
            sqlite3_finalize(stmt);
        if (rc != SQLITE_DONE)
            sqliteFail(QStringLiteral("inserting into %1").arg(m_table));
    }
    sqlite3_stmt* prepareSqlite(int rows)
    {
        const QByteArray sql = statement(rows).toUtf8();
        sqlite3_stmt* stmt = nullptr;
        if (sqlite3_prepare_v2(m_sqlite, sql.constData(), int(sql.size()), &stmt, nullptr) != SQLITE_OK)
            sqliteFail(QStringLiteral("preparing the insert into %1").arg(m_table));
        return stmt;
    }
    void writeQt()
    {
        if (m_rows != m_preparedRows) {
            m_query = QSqlQuery(m_db);
            if (!m_query.prepare(statement(m_rows)))
                fail(QStringLiteral("preparing the insert into %1").arg(m_table), m_query.lastError());
            m_preparedRows = m_rows;
        }
        for (int i = 0; i < m_next; ++i) {
            const Value& v = m_values[size_t(i)];
            switch (v.kind) {
            case Value::Null:
                m_query.bindValue(i, QVariant(QMetaType::fromType<QString>()));
                break;
            case Value::Int:
                m_query.bindValue(i, v.n);
                break;
            case Value::Utf8:
                m_query.bindValue(i, QString::fromUtf8(static_cast<const char*>(v.text), v.n));
                break;
            case Value::Utf16:
                m_query.bindValue(i, QString(reinterpret_cast<const QChar*>(v.text), v.n));
                break;
            }
        }
        exec(m_query, QStringLiteral("inserting into %1").arg(m_table));
    }
    QString statement(int rows) const
    {
        const QString one
            = QStringLiteral("(") + QStringList(m_columns.size(), QStringLiteral("?")).join(u',') + u')';
        return QStringLiteral("INSERT INTO %1 (%2) VALUES %3 %4")
            .arg(m_table, m_columns.join(u','), QStringList(rows, one).join(u','), m_suffix);
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
    int m_rowsPerStatement = 1;
    sqlite3* m_sqlite;
    sqlite3_stmt* m_stmt = nullptr;
    std::vector<Value> m_values;
    std::vector<char> m_ids;
    int m_next = 0;
    int m_rows = 0;
    int m_preparedRows = -1;
    QSqlQuery m_query;
};

QString jsonText(const QJsonObject& object)
{
    return QString::fromUtf8(QJsonDocument(object).toJson(QJsonDocument::Compact));
}

//! UTF-8 texts of the enums the store writes, made once.
template<typename Enum, int Count>
const QByteArray& utf8Name(Enum value)
{
    static const std::array<QByteArray, Count> names = [] {
        std::array<QByteArray, Count> out;
        for (int i = 0; i < Count; ++i)
            out[size_t(i)] = toString(static_cast<Enum>(i)).toUtf8();
        return out;
    }();
    return names[size_t(value)];
}
const QByteArray& utf8Of(StateType t)
{
    return utf8Name<StateType, StateTypeCount>(t);
}
const QByteArray& utf8Of(StateName n)
{
    return utf8Name<StateName, StateNameCount>(n);
}
const QByteArray& utf8Of(LogLevel l)
{
    return utf8Name<LogLevel, 4>(l);
}

//! UTF-8 of the strings a batch repeats (task names: one shared QString for all runs of a task).
class Utf8Cache {
public:
    const QByteArray& operator()(const QString& s)
    {
        auto it = m_texts.find(s.constData());
        if (it == m_texts.end())
            it = m_texts.insert(s.constData(), s.toUtf8());
        return *it;
    }

private:
    QHash<const QChar*, QByteArray> m_texts; // the batch keeps every string alive while it is written
};

/**
 * While a batch is written on SQLite, its commit does not checkpoint the WAL (copy it into the
 * database file) at the default 1000 pages: the store runs passive checkpoints on another connection
 * instead (Store::checkpoint()), so that copying never holds up the next batch. The limit stays, far
 * higher, so that the WAL stays bounded even without them.
 */
class DeferredCheckpoints {
public:
    explicit DeferredCheckpoints(QSqlDatabase& db)
        : m_sqlite(sqliteHandle(db))
    {
        if (m_sqlite)
            sqlite3_wal_autocheckpoint(m_sqlite, WriterCheckpointPages);
    }
    ~DeferredCheckpoints()
    {
        if (m_sqlite)
            sqlite3_wal_autocheckpoint(m_sqlite, DefaultCheckpointPages); // for the connection's other users
    }
    DeferredCheckpoints(const DeferredCheckpoints&) = delete;
    DeferredCheckpoints& operator=(const DeferredCheckpoints&) = delete;

private:
    static constexpr int WriterCheckpointPages = 32768; // 128 MB of 4 KB pages
    static constexpr int DefaultCheckpointPages = 1000; // SQLite's default
    sqlite3* m_sqlite;
};

} // namespace

/**
 * Copies SQLite's WAL into the database file (passive checkpoints) on its own thread and connection,
 * so that the copying runs beside the next batch instead of inside a commit (see DeferredCheckpoints).
 * The thread is SCHED_BATCH: waking it never preempts the GUI thread.
 */
class WalCheckpointer {
public:
    explicit WalCheckpointer(const QString& path)
        : m_path(path.toUtf8())
        , m_thread([this] { run(); })
    {
    }
    ~WalCheckpointer()
    {
        {
            std::lock_guard lock(m_mutex);
            m_stop = true;
        }
        m_wake.notify_one();
        m_thread.join();
    }
    WalCheckpointer(const WalCheckpointer&) = delete;
    WalCheckpointer& operator=(const WalCheckpointer&) = delete;

    //! Checkpoints that copied the WAL (fully or in part) so far.
    quint64 checkpoints() const { return m_done.load(std::memory_order_relaxed); }

    //! \a rows were committed (called on a database thread): checkpoints once enough were.
    void wrote(quint64 rows)
    {
        constexpr quint64 CheckpointEveryRows = 8192;
        bool wake = false;
        {
            std::lock_guard lock(m_mutex);
            m_rows += rows;
            if (m_rows >= CheckpointEveryRows && !m_requested) {
                m_rows = 0;
                m_requested = wake = true;
            }
        }
        if (wake)
            m_wake.notify_one();
    }

private:
    void run()
    {
        pthread_setname_np(pthread_self(), "flowdeck-ckpt");
        sched_param param{};
        pthread_setschedparam(pthread_self(), SCHED_BATCH, &param); // best effort
        sqlite3* db = nullptr;
        std::unique_lock lock(m_mutex);
        for (;;) {
            m_wake.wait(lock, [this] { return m_stop || m_requested; });
            if (m_stop)
                break;
            lock.unlock();
            if (!db && !m_failed) {
                // The file exists and is in WAL mode: a batch was committed to it.
                // A read makes the new connection see the WAL: until then it checkpoints nothing.
                if (sqlite3_open_v2(m_path.constData(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX,
                                    nullptr)
                        != SQLITE_OK
                    || sqlite3_exec(db, "SELECT count(*) FROM sqlite_master", nullptr, nullptr, nullptr)
                        != SQLITE_OK) {
                    qCWarning(lcStore) << "cannot open the database for checkpoints:"
                                       << (db ? sqlite3_errmsg(db) : "out of memory");
                    sqlite3_close(db);
                    db = nullptr;
                    m_failed = true; // the writer's own checkpoints (at a higher limit) remain
                }
            }
            if (db) {
                // PASSIVE: copies what no reader still needs, without waiting for or blocking anyone.
                int logFrames = 0;
                int copiedFrames = 0;
                const int rc = sqlite3_wal_checkpoint_v2(db, nullptr, SQLITE_CHECKPOINT_PASSIVE, &logFrames,
                                                         &copiedFrames);
                if (rc == SQLITE_OK && copiedFrames > 0)
                    m_done.fetch_add(1, std::memory_order_relaxed);
                else if (rc != SQLITE_BUSY)
                    qCWarning(lcStore) << "checkpointing the WAL failed:" << sqlite3_errmsg(db);
            }
            lock.lock();
            m_requested = false;
        }
        lock.unlock();
        sqlite3_close(db);
    }

    const QByteArray m_path;
    std::mutex m_mutex;
    std::condition_variable m_wake;
    quint64 m_rows = 0;
    bool m_requested = false;
    bool m_stop = false;
    bool m_failed = false;
    std::atomic<quint64> m_done{0};
    std::thread m_thread; // last: started once everything above is initialised
};

namespace {

//! Writes one batch in one transaction, on a database thread.
//! Adds one bound value per state type to the flow run's task-run counts; the id is bound last.
const QString& addToTaskCountsSql()
{
    static const QString sql = []() -> QString { // QString, not a QStringBuilder over temporaries
        QStringList parts;
        for (int i = 0; i < StateTypeCount; ++i) {
            const QString column = schema::taskCountColumn(StateType(i));
            parts << column + QStringLiteral(" = ") + column + QStringLiteral(" + ?");
        }
        return QStringLiteral("UPDATE flow_runs SET ") + parts.join(QStringLiteral(", "))
            + QStringLiteral(" WHERE id = ?");
    }();
    return sql;
}

void writeBatch(QSqlDatabase& db, const Store::Batch& batch, const QString& engineId, const QString& host)
{
    const DeferredCheckpoints deferred(db);
    if (!db.transaction())
        fail(QStringLiteral("starting a transaction"), db.lastError());
    try {
        // Flow runs first (task runs reference them), then the last state of every run touched.
        QHash<RunId, qsizetype> lastFlow;
        QHash<RunId, qsizetype> lastTask;
        lastTask.reserve(qsizetype(batch.transitions.size()));
        std::vector<qsizetype> flowOrder;
        std::vector<qsizetype> taskOrder;
        taskOrder.reserve(batch.transitions.size());
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
                qsizetype& last = lastTask[t.taskRunId]; // 0: not seen yet; else the latest index + 1
                if (last == 0)
                    taskOrder.push_back(i);
                last = i + 1;
            }
        }
        // Task runs are usually new in the batch that holds their first transition: keep the
        // order of first appearance, but write each one's latest state.
        for (qsizetype& i : taskOrder)
            i = lastTask.value(batch.transitions[size_t(i)].taskRunId) - 1;
        QHash<RunId, const Store::FlowRow*> newFlows;
        for (const Store::FlowRow& f : batch.flows)
            newFlows.insert(f.id, &f);
        Utf8Cache utf8;
        const qint64 pid = ::getpid();
        {
            RowInserter flows(
                db, QStringLiteral("flow_runs"),
                {QStringLiteral("id"), QStringLiteral("flow_name"), QStringLiteral("state"),
                 QStringLiteral("state_name"), QStringLiteral("message"), QStringLiteral("parameters"),
                 QStringLiteral("seed"), QStringLiteral("document"), QStringLiteral("total_task_runs"),
                 QStringLiteral("created_at"), QStringLiteral("started_at"), QStringLiteral("ended_at"),
                 QStringLiteral("host"), QStringLiteral("pid"), QStringLiteral("worker")},
                // scale-out (#7): a run queued by `flowdeck submit` already has its row: the worker that
                // claimed it (flow_runs.worker) fills it in; nobody else may write over it.
                QStringLiteral("ON CONFLICT (id) DO UPDATE SET state = excluded.state, state_name = "
                               "excluded.state_name, message = excluded.message, started_at = "
                               "excluded.started_at, ended_at = excluded.ended_at, "
                               "seed = COALESCE(excluded.seed, flow_runs.seed), total_task_runs = CASE WHEN "
                               "excluded.total_task_runs > 0 THEN excluded.total_task_runs ELSE "
                               "flow_runs.total_task_runs END WHERE flow_runs.worker = excluded.worker AND "
                               "flow_runs.state NOT IN ('COMPLETED','FAILED','CANCELLED','CRASHED')"));
            std::deque<QString> json; // outlives the inserter's flush
            for (qsizetype first : flowOrder) {
                const Store::TransitionRow& t
                    = batch.transitions[size_t(lastFlow.value(batch.transitions[size_t(first)].flowRunId))];
                const Store::FlowRow* f = newFlows.value(t.flowRunId);
                flows.id(t.flowRunId).text(t.task).utf8(utf8Of(t.type)).utf8(utf8Of(t.name)).text(t.message);
                if (f) {
                    flows.text(json.emplace_back(jsonText(f->parameters)))
                        .int64(qint64(f->seed))
                        .text(json.emplace_back(jsonText(f->document)))
                        .int64(f->totalTaskRuns);
                } else {
                    flows.null().null().null().int64(0);
                }
                flows.int64(t.createdUs)
                    .time(t.startedUs)
                    .time(t.endedUs)
                    .text(host)
                    .int64(pid)
                    .text(engineId);
                flows.endRow();
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
            std::deque<QString> tagTexts; // outlives the inserter's flush
            for (qsizetype last : taskOrder) {
                const Store::TransitionRow& t = batch.transitions[size_t(last)];
                tasks.id(t.taskRunId).id(t.flowRunId).utf8(utf8(t.task));
                if (t.mapIndex >= 0)
                    tasks.int64(t.mapIndex);
                else
                    tasks.null();
                tasks.utf8(utf8Of(t.type)).utf8(utf8Of(t.name)).text(t.message).int64(t.attempts);
                if (t.tags.isEmpty())
                    tasks.null();
                else
                    tasks.text(tagTexts.emplace_back(t.tags.join(u',')));
                tasks.int64(t.createdUs).time(t.startedUs).time(t.endedUs);
                tasks.endRow();
            }
            tasks.flush();
        }
        {
            RowInserter history(db, QStringLiteral("state_history"),
                                {QStringLiteral("flow_run_id"), QStringLiteral("task_run_id"),
                                 QStringLiteral("time"), QStringLiteral("state"), QStringLiteral("name"),
                                 QStringLiteral("message")});
            for (const Store::TransitionRow& t : batch.transitions) {
                history.id(t.flowRunId)
                    .id(t.taskRunId)
                    .int64(t.timeUs)
                    .utf8(utf8Of(t.type))
                    .utf8(utf8Of(t.name));
                history.textOrNull(t.message);
                history.endRow();
            }
            history.flush();
        }
        // Each flow run counts its task runs per state in its own row (schema version 5), changed in
        // the transaction that changes the task runs.
        {
            QHash<RunId, std::array<qint64, StateTypeCount>> deltas;
            for (const Store::TransitionRow& t : batch.transitions) {
                if (t.taskRunId.isNull())
                    continue;
                auto it = deltas.find(t.flowRunId);
                if (it == deltas.end())
                    it = deltas.insert(t.flowRunId, {});
                if (!t.isNew)
                    --(*it)[std::size_t(t.from)];
                ++(*it)[std::size_t(t.type)];
            }
            if (!deltas.isEmpty()) {
                QSqlQuery counts(db);
                counts.prepare(addToTaskCountsSql());
                for (auto it = deltas.cbegin(); it != deltas.cend(); ++it) {
                    for (qint64 delta : it.value())
                        counts.addBindValue(delta);
                    counts.addBindValue(it.key().toString());
                    exec(counts, QStringLiteral("counting task runs per state"));
                }
            }
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
                logs.id(l.flowRunId).id(l.taskRunId).int64(l.timeUs).utf8(utf8Of(l.level)).text(l.message);
                logs.endRow();
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
        // scale-out (#7): workers recover each other while they run; one at a time (SQLite: BEGIN
        // IMMEDIATE already serialises). Unfinished runs are read before the engines: a run claimed
        // after this read belongs to an engine that registered before it, so is seen alive below.
        if (db.driverName() != u"QSQLITE")
            exec(db, QStringLiteral("SELECT pg_advisory_xact_lock(7380396447929557868)"));
        struct Unfinished {
            QString id;
            QString worker;
            int retriesLeft;
        };
        std::vector<Unfinished> unfinished;
        {
            // A submitted run waiting in the queue (no worker yet) is nobody's orphan.
            QSqlQuery q(db);
            if (!q.exec(QStringLiteral(
                            "SELECT id, worker, CASE WHEN run_count = 0 OR cancel_requested = 1 OR state = "
                            "'CANCELLING' THEN 0 ELSE retries - run_count + 1 END FROM flow_runs "
                            "WHERE state IN %1 AND worker IS NOT NULL")
                            .arg(kUnfinishedList)))
                fail(QStringLiteral("reading unfinished flow runs"), q.lastError());
            while (q.next())
                unfinished.push_back({q.value(0).toString(), q.value(1).toString(), q.value(2).toInt()});
        }
        const qint64 now = wallUs();
        QSet<QString> alive{myId};
        QStringList dead;
        {
            QSqlQuery q(db);
            if (!q.exec(QStringLiteral("SELECT id, host, pid, heartbeat_at, lease_us FROM engines")))
                fail(QStringLiteral("reading engines"), q.lastError());
            while (q.next()) {
                const QString id = q.value(0).toString();
                if (id == myId)
                    continue;
                const bool sameHost = q.value(1).toString() == myHost;
                const qint64 lease = q.value(4).toLongLong() > 0 ? q.value(4).toLongLong() : EngineLeaseUs;
                const bool gone = (sameHost && !processAlive(q.value(2).toLongLong()))
                    || now - q.value(3).toLongLong() > lease;
                if (gone)
                    dead << id;
                else
                    alive.insert(id);
            }
        }
        QStringList orphans;
        for (const Unfinished& u : unfinished) {
            if (alive.contains(u.worker))
                continue;
            if (u.retriesLeft > 0) {
                // scale-out (#7): a flow with "retries": N goes back to the queue; its task runs of
                // this attempt end CRASHED below, the next attempt makes new ones.
                const QString message
                    = QStringLiteral("the worker running it stopped; requeued (%1 flow-level retr%2 left)")
                          .arg(u.retriesLeft - 1)
                          .arg(u.retriesLeft == 2 ? QStringLiteral("y") : QStringLiteral("ies"));
                exec(db,
                     QStringLiteral(
                         "INSERT INTO state_history (flow_run_id, task_run_id, time, state, name, message) "
                         "SELECT flow_run_id, id, ?, 'CRASHED', 'Crashed', ? || state FROM task_runs "
                         "WHERE flow_run_id = ? AND state NOT IN %1")
                         .arg(kTerminalList),
                     {now, QStringLiteral("the worker running it stopped while this run was "), u.id});
                exec(db,
                     QStringLiteral(
                         "UPDATE task_runs SET message = ? || state, state_name = 'Crashed', "
                         "state = 'CRASHED', ended_at = ? WHERE flow_run_id = ? AND state NOT IN %1")
                         .arg(kTerminalList),
                     {QStringLiteral("the worker running it stopped while this run was "), now, u.id});
                exec(db, schema::recountTaskRunsSql(), {u.id});
                exec(db,
                     QStringLiteral(
                         "INSERT INTO state_history (flow_run_id, task_run_id, time, state, name, message) "
                         "VALUES (?, NULL, ?, 'SCHEDULED', 'AwaitingRetry', ?)"),
                     {u.id, now, message});
                exec(db,
                     QStringLiteral("UPDATE flow_runs SET state = 'SCHEDULED', state_name = 'AwaitingRetry', "
                                    "message = ?, worker = NULL, worker_name = NULL, cancel_requested = 0 "
                                    "WHERE id = ?"),
                     {message, u.id});
                ++report.crashedFlowRuns;
                continue;
            }
            orphans << u.id;
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
            exec(db, schema::recountTaskRunsSql(), {flowId});
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
    if (!m_buffer.empty() || !m_full.empty() || !m_waiters.empty())
        qCWarning(lcStore) << "store closed with" << metrics().pendingTransitions
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
    if (m_pool.url().isSqlite() && !m_checkpointer)
        m_checkpointer = std::make_shared<WalCheckpointer>(m_pool.url().path);
    if (!m_writerRunning)
        m_writer = writeLoop();
    m_beatClock.start();
    m_leaseClock.start();
    m_pollTimer->start();
    co_return report;
}

// scale-out (#7)
QCoro::Task<RecoveryReport> Store::recoverNow()
{
    const QString id = m_engineId;
    const QString host = QHostInfo::localHostName();
    auto recovering = m_pool.run([id, host](QSqlDatabase& db) { return recover(db, id, host); });
    const RecoveryReport report = co_await recovering;
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
    for (const Batch& b : m_full)
        m.pendingTransitions += b.transitions.size();
    if (m_checkpointer)
        m.walCheckpoints = m_checkpointer->checkpoints();
    return m;
}

void Store::onTransition(const TransitionEvent& e)
{
    if (e.persisted)
        return; // written with the run's slots (acquireSlots)
    TransitionRow row;
    ++m_sequence; // the row's sequence: batches know their last
    row.timeUs = e.timeUs;
    row.flowRunId = e.flowRun->id;
    row.isNew = e.isNew;
    row.from = e.from;
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
    if (qsizetype(m_buffer.transitions.size()) >= m_maxBatch) {
        // Sealed as it is: the writer takes it whole, so that the GUI thread never splits a buffer.
        m_buffer.lastSequence = m_sequence;
        m_fullLogs += qsizetype(m_buffer.logs.size());
        m_full.push_back(std::move(m_buffer));
        m_buffer = Batch{};
    }
    wakeWriter();
}

void Store::onLog(const LogEvent& e)
{
    if (m_fullLogs + qsizetype(m_buffer.logs.size()) >= m_logLimit) {
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
        if (m_full.empty() && m_buffer.empty()) {
            co_await Idle{this};
            continue;
        }
        auto stepStart = std::chrono::steady_clock::now();
        Batch batch;
        if (!m_full.empty()) {
            // The oldest sealed batch: its transitions, and the flow runs and logs buffered with them.
            batch = std::move(m_full.front());
            m_full.pop_front();
            m_fullLogs -= qsizetype(batch.logs.size());
        } else {
            std::swap(batch, m_buffer);
            batch.lastSequence = m_sequence;
        }
        const quint64 batchTransitions = batch.transitions.size();
        const quint64 lastSequence = batch.lastSequence;
        const quint64 batchLogs = batch.logs.size();
        noteLoopStep(stepStart);
        for (int attempt = 0;; ++attempt) {
            const auto started = std::chrono::steady_clock::now();
            QString problem;
            try {
                auto writing
                    = m_pool.run([&batch, engineId, host, checkpointer = m_checkpointer](QSqlDatabase& db) {
                          writeBatch(db, batch, engineId, host);
                          if (checkpointer)
                              checkpointer->wrote(batch.transitions.size() + batch.logs.size());
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
//! What the slot transaction records of the run's start (the RUNNING or Retrying transition).
struct StartRow {
    QString flowRunId;
    QString taskRunId;
    StateName name;
    int attempts;
    StateType from;
};

//! The start's time when the slots were taken, or 0 when they are not free.
qint64 acquire(QSqlDatabase& db, bool postgres, const StartRow& start, const QString& holder,
               const QStringList& tags, qint64 leaseUs)
{
    const QString& runId = start.taskRunId;
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
                return 0;
            }
            exec(db,
                 QStringLiteral("INSERT INTO concurrency_slots (tag, task_run_id, holder, lease_expires_at) "
                                "VALUES (?, ?, ?, ?) "
                                "ON CONFLICT (tag, task_run_id) DO UPDATE SET holder = excluded.holder, "
                                "lease_expires_at = excluded.lease_expires_at"),
                 {tag, runId, holder, now + leaseUs});
        }
        // The start, in the same transaction: a slot is held in the database exactly while the run
        // is RUNNING there (the transition that ends RUNNING deletes its slots, see write()). Its time
        // is taken now, after the locks and the count: never before the release that made room.
        const qint64 startedUs = std::max(wallUs(), now);
        const QString type = toString(typeOf(start.name));
        exec(db,
             QStringLiteral("UPDATE task_runs SET state = ?, state_name = ?, message = NULL, attempts = ?, "
                            "started_at = COALESCE(started_at, ?) WHERE id = ?"),
             {type, toString(start.name), start.attempts, startedUs, runId});
        exec(
            db,
            QStringLiteral("INSERT INTO state_history (flow_run_id, task_run_id, time, state, name, message) "
                           "VALUES (?, ?, ?, ?, ?, NULL)"),
            {start.flowRunId, runId, startedUs, type, toString(start.name)});
        const QString from = schema::taskCountColumn(start.from);
        const QString to = schema::taskCountColumn(typeOf(start.name));
        exec(db, QStringLiteral("UPDATE flow_runs SET %1 = %1 - 1, %2 = %2 + 1 WHERE id = ?").arg(from, to),
             {start.flowRunId});
        endWriting(db, true);
        return startedUs;
    } catch (...) {
        endWriting(db, false);
        throw;
    }
}

} // namespace

QCoro::Task<qint64> Store::acquireSlots(const TaskRun& run, const QStringList& tags, const Start& start)
{
    const StartRow row{run.flowRun->id.toString(), run.id.toString(), start.name, start.attempts, start.from};
    const QString holder = m_engineId;
    const qint64 lease = m_slotLeaseUs;
    const bool postgres = !m_pool.url().isSqlite();
    auto acquiring = m_pool.run([row, holder, tags, lease, postgres](QSqlDatabase& db) {
        return acquire(db, postgres, row, holder, tags, lease);
    });
    const qint64 startedUs = co_await acquiring;
    co_return startedUs;
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
