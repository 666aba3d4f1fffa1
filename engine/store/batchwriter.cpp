#include "store/batchwriter.h"

#include "store/connectionpool.h"
#include "store/pgbulk.h"
#include "store/schema.h"
#include "store/sqlhelpers.h"

#include <QHash>
#include <QSqlDriver>
#include <QSqlError>
#include <QSqlQuery>

#include <algorithm>
#include <array>
#include <deque>
#include <memory>
#include <optional>
#include <sqlite3.h>
#include <unistd.h>
#include <utility>

namespace flowdeck {

namespace {

QVariant nullableId(const RunId& id)
{
    return id.isNull() ? QVariant(QMetaType::fromType<QString>()) : QVariant(id.toString());
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

using pg::ColumnType;

//! A bulk write's columns, named once with the type PostgreSQL reads them as (SQLite ignores it).
using Columns = std::vector<pg::Column>;

/**
 * Inserts rows in bulk, many rows per statement, values bound by type (no QVariant per value). On
 * SQLite it drives prepared statements through the C API: Qt's driver looks up every bound parameter
 * by scanning the parameter list, which made bulk writes five times slower. On PostgreSQL plain inserts
 * go by COPY and the others as array parameters (pg::BulkInsert): Qt's driver costs a round trip per
 * statement of a few rows.
 *
 * Texts are referenced, not copied: what text() and utf8() are given must outlive flush(). Ids are
 * formatted into the inserter's own buffer.
 */
class RowInserter {
public:
    RowInserter(QSqlDatabase& db, const QString& table, const Columns& columns, const QString& suffix = {})
        : m_db(db)
        , m_table(table)
        , m_columns(columns)
        , m_suffix(suffix)
        , m_sqlite(sqliteHandle(db))
    {
        if (!m_sqlite) {
            m_pg.emplace(db, table, columns, suffix);
            m_rowsPerStatement = PgRowsPerStatement;
            return;
        }
        m_rowsPerStatement = std::max<int>(1, SqliteParamsPerStatement / int(columns.size()));
        m_values.resize(size_t(m_rowsPerStatement) * columns.size());
        m_ids.resize(m_values.size() * IdChars);
    }
    ~RowInserter()
    {
        if (m_stmt)
            sqlite3_finalize(m_stmt);
    }
    RowInserter(const RowInserter&) = delete;
    RowInserter& operator=(const RowInserter&) = delete;

    /**
     * On PostgreSQL, the rows are known to be there already: they are changed by an UPDATE on \a key
     * with \a set instead of inserted (see pg::BulkInsert::flushAsUpdate). SQLite inserts them with
     * the constructor's suffix, an upsert.
     */
    void updateExisting(const QString& key, const QString& set)
    {
        m_updateKey = key;
        m_updateSet = set;
        if (m_pg)
            m_pg->willUpdate();
    }

    RowInserter& null()
    {
        if (m_pg)
            m_pg->null();
        else
            put({Value::Null, 0, nullptr});
        return *this;
    }
    RowInserter& int64(qint64 v)
    {
        if (m_pg)
            m_pg->int64(v);
        else
            put({Value::Int, v, nullptr});
        return *this;
    }
    //! NULL for 0 (times not reached yet).
    RowInserter& time(qint64 us) { return us > 0 ? int64(us) : null(); }
    RowInserter& text(const QString& s)
    {
        if (m_pg) {
            m_pg->text(s);
            return *this;
        }
        // Never a null pointer, which SQLite would store as NULL: the empty string is ''.
        const QChar* data = s.constData();
        put({Value::Utf16, s.size(), data ? static_cast<const void*>(data) : u""});
        return *this;
    }
    RowInserter& textOrNull(const QString& s) { return s.isEmpty() ? null() : text(s); }
    //! UTF-8 text that outlives flush() (a literal, or a cached conversion).
    RowInserter& utf8(const QByteArray& s)
    {
        if (m_pg)
            m_pg->utf8(s);
        else
            put({Value::Utf8, s.size(), s.constData()});
        return *this;
    }
    RowInserter& id(const RunId& id)
    {
        if (id.isNull())
            return null();
        char formatted[IdChars];
        char* out = m_pg ? formatted : m_ids.data() + m_next * IdChars;
        formatId(id, out);
        if (m_pg)
            m_pg->utf8(QByteArrayView(out, IdChars));
        else
            put({Value::Utf8, IdChars, out});
        return *this;
    }
    void endRow()
    {
        if (m_pg) {
            m_pg->endRow();
            if (m_pg->rows() == m_rowsPerStatement) {
                if (m_pg->copies())
                    flush();
                else
                    m_statements.append(takeStatement());
            }
            return;
        }
        Q_ASSERT(m_next == (m_rows + 1) * qsizetype(m_columns.size()));
        if (++m_rows == m_rowsPerStatement)
            write();
    }
    //! On PostgreSQL, sends the rows without waiting for the server (plain inserts); flush() ends it.
    void send()
    {
        if (m_pg && m_updateKey.isEmpty())
            m_pg->send();
    }
    void flush()
    {
        if (m_pg && m_pg->copies())
            m_pg->flush();
        else if (m_pg)
            pg::execAll(m_db, takeStatements(), QStringLiteral("writing into %1").arg(m_table));
        else if (m_rows > 0)
            write();
    }
    /**
     * On PostgreSQL, instead of flush(): the statements that write the rows (not plain inserts, which
     * go by COPY), for pg::execAll() to send with others in one round trip.
     */
    QList<pg::Statement> takeStatements()
    {
        Q_ASSERT(m_pg && !m_pg->copies());
        if (m_pg->rows() > 0)
            m_statements.append(takeStatement());
        return std::exchange(m_statements, {});
    }

private:
    static constexpr int IdChars = 36;
    // SQLite binds by index through the C API, so longer statements cost nothing extra.
    static constexpr int SqliteParamsPerStatement = 240;
    // Bounds the COPY data held for PostgreSQL (a few MB).
    static constexpr int PgRowsPerStatement = 20000;
    struct Value {
        enum Kind : quint8 { Null, Int, Utf8, Utf16 } kind;
        qint64 n; //!< the integer, or the text's length in code units
        const void* text;
    };

    pg::Statement takeStatement()
    {
        return m_updateKey.isEmpty() ? m_pg->takeInsert() : m_pg->takeUpdate(m_updateKey, m_updateSet);
    }
    void put(Value v) { m_values[size_t(m_next++)] = v; }
    void write()
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
        m_rows = 0;
        m_next = 0;
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
    QString statement(int rows) const
    {
        QStringList names;
        for (const pg::Column& c : m_columns)
            names << c.name;
        const QString one
            = QStringLiteral("(") + QStringList(names.size(), QStringLiteral("?")).join(u',') + u')';
        return QStringLiteral("INSERT INTO %1 (%2) VALUES %3 %4")
            .arg(m_table, names.join(u','), QStringList(rows, one).join(u','), m_suffix);
    }
    [[noreturn]] void sqliteFail(const QString& what) const
    {
        const QString message = what + QStringLiteral(": ") + QString::fromUtf8(sqlite3_errmsg(m_sqlite));
        if (const QString failure = sql::storageFailure(sqlite3_errcode(m_sqlite)); !failure.isEmpty())
            throw sql::StorageError(QString(failure + QStringLiteral(": ") + message).toStdString());
        throw DatabaseError(message.toStdString());
    }

    QSqlDatabase& m_db;
    QString m_table;
    Columns m_columns;
    QString m_suffix;
    QList<pg::Statement> m_statements; //!< PostgreSQL: full statements not run yet
    QString m_updateKey;
    QString m_updateSet;
    int m_rowsPerStatement = 1;
    sqlite3* m_sqlite;
    sqlite3_stmt* m_stmt = nullptr;
    std::optional<pg::BulkInsert> m_pg;
    std::vector<Value> m_values;
    std::vector<char> m_ids;
    int m_next = 0;
    int m_rows = 0;
};

//! A run's result as JSON text, NULL for none (the batch keeps the text alive through the flush).
void resultColumn(RowInserter& inserter, const QByteArray& result)
{
    if (result.isEmpty())
        inserter.null();
    else
        inserter.utf8(result);
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
 * instead (WalCheckpointer), so that copying never holds up the next batch. The limit stays, far
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

} // namespace

BatchWriter::BatchWriter(QSqlDatabase& db, const Store::Batch& batch, const QString& engineId,
                         const QString& host)
    : m_db(db)
    , m_postgres(sql::isPostgres(db))
    , m_batch(batch)
    , m_engineId(engineId)
    , m_host(host)
{
}

void BatchWriter::write()
{
    const DeferredCheckpoints deferred(m_db);
    if (!m_db.transaction())
        sql::fail(QStringLiteral("starting a transaction"), m_db.lastError());
    try {
        orderRuns();
        if (m_postgres) {
            // Few round trips, and the server busy while the rows are prepared here: the history goes
            // first by COPY (stored while the rest is prepared), then every other statement in one go.
            writeHistory();
            writeFlowRuns();
            writeTaskRuns();
            writeTaskCounts();
            freeSlots();
            finishHistory();
            findRowsByKey();
            pg::execAll(m_db, std::exchange(m_statements, {}), QStringLiteral("writing a batch"));
        } else {
            writeFlowRuns();
            writeTaskRuns();
            writeHistory();
            writeTaskCounts();
            freeSlots();
        }
        writeLogs();
        writeStalls();
        if (!m_db.commit())
            sql::fail(QStringLiteral("committing a batch"), m_db.lastError());
    } catch (...) {
        m_finishHistory = {};
        m_db.rollback();
        throw;
    }
}

void BatchWriter::orderRuns()
{
    QHash<RunId, qsizetype> lastTask;
    lastTask.reserve(qsizetype(m_batch.transitions.size()));
    m_taskOrder.reserve(m_batch.transitions.size());
    for (qsizetype i = 0; i < qsizetype(m_batch.transitions.size()); ++i) {
        const Store::TransitionRow& t = m_batch.transitions[size_t(i)];
        if (t.taskRunId.isNull()) {
            auto it = m_lastFlow.find(t.flowRunId);
            if (it == m_lastFlow.end()) {
                m_lastFlow.insert(t.flowRunId, i);
                m_flowOrder.push_back(i);
            } else {
                *it = i;
            }
        } else {
            qsizetype& last = lastTask[t.taskRunId]; // 0: not seen yet; else the latest index + 1
            if (last == 0) {
                m_taskOrder.push_back(i);
                m_taskIsNew.push_back(t.isNew);
            }
            last = i + 1;
        }
    }
    // Task runs are usually new in the batch that holds their first transition: keep the
    // order of first appearance, but write each one's latest state.
    for (qsizetype& i : m_taskOrder)
        i = lastTask.value(m_batch.transitions[size_t(i)].taskRunId) - 1;
}

/**
 * The batch's UPDATE ... FROM unnest(...) statements join their rows to the table by primary key. For
 * more than a few thousand rows PostgreSQL estimates a hash join over a scan of the whole table as
 * cheaper than as many index lookups, so each batch would read every stored task run: a cost that
 * grows with the table (100k task runs: the scan outweighs the lookups; a million: ten times more).
 * The rows a batch changes are few and recent, their pages cached: for this transaction only, the
 * planner joins by nested loops over the index.
 */
void BatchWriter::findRowsByKey()
{
    const bool anything = std::any_of(m_statements.cbegin(), m_statements.cend(),
                                      [](const pg::Statement& s) { return !s.sql.isEmpty(); });
    if (!anything)
        return; // a batch of log lines only: no round trip for nothing
    m_statements.prepend(pg::Statement{"SET LOCAL enable_mergejoin = off", {}, 0, {}});
    m_statements.prepend(pg::Statement{"SET LOCAL enable_hashjoin = off", {}, 0, {}});
}

void BatchWriter::writeFlowRuns()
{
    QHash<RunId, const Store::FlowRow*> newFlows;
    for (const Store::FlowRow& f : m_batch.flows)
        newFlows.insert(f.id, &f);
    const qint64 pid = ::getpid();
    RowInserter flows(
        m_db, QStringLiteral("flow_runs"),
        {{QStringLiteral("id"), ColumnType::Text},
         {QStringLiteral("flow_name"), ColumnType::Text},
         {QStringLiteral("state"), ColumnType::Text},
         {QStringLiteral("state_name"), ColumnType::Text},
         {QStringLiteral("message"), ColumnType::Text},
         {QStringLiteral("parameters"), ColumnType::Text},
         {QStringLiteral("seed"), ColumnType::Int},
         {QStringLiteral("document"), ColumnType::Text},
         {QStringLiteral("total_task_runs"), ColumnType::Int},
         {QStringLiteral("created_at"), ColumnType::Int},
         {QStringLiteral("started_at"), ColumnType::Int},
         {QStringLiteral("ended_at"), ColumnType::Int},
         {QStringLiteral("host"), ColumnType::Text},
         {QStringLiteral("pid"), ColumnType::Int},
         {QStringLiteral("worker"), ColumnType::Text},
         {QStringLiteral("started_by"), ColumnType::Text},
         {QStringLiteral("parent_flow_run_id"), ColumnType::Text},
         {QStringLiteral("parent_task_run_id"), ColumnType::Text},
         {QStringLiteral("result"), ColumnType::Text}},
        // A run queued by `flowdeck submit` already has its row: the worker that claimed it
        // (flow_runs.worker) fills it in; nobody else may write over it.
        QStringLiteral("ON CONFLICT (id) DO UPDATE SET state = excluded.state, state_name = "
                       "excluded.state_name, message = excluded.message, started_at = "
                       "excluded.started_at, ended_at = excluded.ended_at, result = excluded.result, "
                       "seed = COALESCE(excluded.seed, flow_runs.seed), total_task_runs = CASE WHEN "
                       "excluded.total_task_runs > 0 THEN excluded.total_task_runs ELSE "
                       "flow_runs.total_task_runs END WHERE flow_runs.worker = excluded.worker AND "
                       "flow_runs.state NOT IN ('COMPLETED','FAILED','CANCELLED','CRASHED')"));
    std::deque<QString> json; // outlives the inserter's flush
    for (qsizetype first : m_flowOrder) {
        const Store::TransitionRow& t
            = m_batch.transitions[size_t(m_lastFlow.value(m_batch.transitions[size_t(first)].flowRunId))];
        const Store::FlowRow* f = newFlows.value(t.flowRunId);
        flows.id(t.flowRunId).text(t.task).utf8(utf8Of(t.type)).utf8(utf8Of(t.name)).text(t.message);
        if (f) {
            flows.text(json.emplace_back(sql::jsonText(f->parameters)))
                .int64(qint64(f->seed))
                .text(json.emplace_back(sql::jsonText(f->document)))
                .int64(f->totalTaskRuns);
        } else {
            flows.null().null().null().int64(t.totalTaskRuns); // grown by for_each since it started
        }
        flows.int64(t.createdUs).time(t.startedUs).time(t.endedUs).text(m_host).int64(pid).text(m_engineId);
        flows.textOrNull(f ? f->startedBy : QString());
        flows.id(f ? f->parentFlowRunId : RunId()).id(f ? f->parentTaskRunId : RunId());
        resultColumn(flows, t.result);
        flows.endRow();
    }
    if (m_postgres)
        m_statements << flows.takeStatements();
    else
        flows.flush();
}

//! The columns of the task-run rows a batch writes, and the order writeTaskRuns() gives their values in.
const Columns& taskRunColumns()
{
    static const Columns columns{
        {QStringLiteral("id"), ColumnType::Text},        {QStringLiteral("flow_run_id"), ColumnType::Text},
        {QStringLiteral("task"), ColumnType::Text},      {QStringLiteral("map_index"), ColumnType::Int},
        {QStringLiteral("state"), ColumnType::Text},     {QStringLiteral("state_name"), ColumnType::Text},
        {QStringLiteral("message"), ColumnType::Text},   {QStringLiteral("attempts"), ColumnType::Int},
        {QStringLiteral("tags"), ColumnType::Text},      {QStringLiteral("created_at"), ColumnType::Int},
        {QStringLiteral("started_at"), ColumnType::Int}, {QStringLiteral("ended_at"), ColumnType::Int},
        {QStringLiteral("result"), ColumnType::Text}};
    return columns;
}

//! What a later transition changes in a stored task run (`excluded` is the row written): the
//! upsert's ON CONFLICT and PostgreSQL's UPDATE of existing rows share it.
const QString& taskRunUpdates()
{
    static const QString set = QStringLiteral(
        "state = excluded.state, state_name = excluded.state_name, message = excluded.message, attempts = "
        "excluded.attempts, started_at = excluded.started_at, ended_at = excluded.ended_at, result = "
        "excluded.result, approval = CASE WHEN excluded.state_name = 'AwaitingApproval' THEN NULL ELSE "
        "task_runs.approval END");
    return set;
}

void BatchWriter::writeTaskRuns()
{
    Utf8Cache utf8;
    const QString upsert = QStringLiteral("ON CONFLICT (id) DO UPDATE SET ") + taskRunUpdates();
    // Task runs created in this batch are inserted; on PostgreSQL the others are updated, which costs
    // half as much as an upsert there. SQLite upserts all of them in one go.
    RowInserter created(m_db, QStringLiteral("task_runs"), taskRunColumns(), upsert);
    std::optional<RowInserter> existing;
    if (m_postgres) {
        existing.emplace(m_db, QStringLiteral("task_runs"), taskRunColumns(), upsert);
        existing->updateExisting(QStringLiteral("id"), taskRunUpdates());
    }
    std::deque<QString> tagTexts; // outlives the inserter's flush
    for (size_t i = 0; i < m_taskOrder.size(); ++i) {
        const Store::TransitionRow& t = m_batch.transitions[size_t(m_taskOrder[i])];
        RowInserter& tasks = existing && !m_taskIsNew[i] ? *existing : created;
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
        resultColumn(tasks, t.result);
        tasks.endRow();
    }
    if (m_postgres) {
        m_statements << created.takeStatements() << existing->takeStatements();
        return;
    }
    created.flush();
}

void BatchWriter::writeHistory()
{
    auto history = std::make_shared<RowInserter>(m_db, QStringLiteral("state_history"),
                                                 Columns{{QStringLiteral("flow_run_id"), ColumnType::Text},
                                                         {QStringLiteral("task_run_id"), ColumnType::Text},
                                                         {QStringLiteral("time"), ColumnType::Int},
                                                         {QStringLiteral("state"), ColumnType::Text},
                                                         {QStringLiteral("name"), ColumnType::Text},
                                                         {QStringLiteral("message"), ColumnType::Text}});
    for (const Store::TransitionRow& t : m_batch.transitions) {
        history->id(t.flowRunId).id(t.taskRunId).int64(t.timeUs).utf8(utf8Of(t.type)).utf8(utf8Of(t.name));
        history->textOrNull(t.message);
        history->endRow();
    }
    if (!m_postgres) {
        history->flush();
        return;
    }
    // Sent, not waited for: finishHistory() reads the server's answer before the next statement.
    history->send();
    m_finishHistory = [history] { history->flush(); };
}

void BatchWriter::finishHistory()
{
    if (!m_finishHistory)
        return;
    const auto finish = std::move(m_finishHistory);
    m_finishHistory = {};
    finish();
}

//! Each flow run counts its task runs per state in its own row (schema version 5), changed in the
//! transaction that changes the task runs.
void BatchWriter::writeTaskCounts()
{
    QHash<RunId, std::array<qint64, StateTypeCount>> deltas;
    for (const Store::TransitionRow& t : m_batch.transitions) {
        if (t.taskRunId.isNull())
            continue;
        auto it = deltas.find(t.flowRunId);
        if (it == deltas.end())
            it = deltas.insert(t.flowRunId, {});
        if (!t.isNew)
            --(*it)[std::size_t(t.from)];
        ++(*it)[std::size_t(t.type)];
    }
    if (deltas.isEmpty())
        return;
    if (m_postgres) {
        // One UPDATE for every flow run of the batch, sent with the other statements.
        Columns columns{{QStringLiteral("id"), ColumnType::Text}};
        QStringList set;
        for (int i = 0; i < StateTypeCount; ++i) {
            const QString column = schema::taskCountColumn(StateType(i));
            columns.push_back({column, ColumnType::Int});
            set << QStringLiteral("%1 = flow_runs.%1 + excluded.%1").arg(column);
        }
        pg::BulkInsert counts(m_db, QStringLiteral("flow_runs"), columns);
        counts.willUpdate();
        for (auto it = deltas.cbegin(); it != deltas.cend(); ++it) {
            counts.utf8(it.key().toString().toUtf8());
            for (qint64 delta : it.value())
                counts.int64(delta);
            counts.endRow();
        }
        m_statements << counts.takeUpdateOnly(QStringLiteral("id"), set.join(QStringLiteral(", ")));
        return;
    }
    QSqlQuery counts(m_db);
    counts.prepare(addToTaskCountsSql());
    for (auto it = deltas.cbegin(); it != deltas.cend(); ++it) {
        for (qint64 delta : it.value())
            counts.addBindValue(delta);
        counts.addBindValue(it.key().toString());
        sql::exec(counts, QStringLiteral("counting task runs per state"));
    }
}

//! A run's slots are freed in the same transaction as the transition that ends its RUNNING.
void BatchWriter::freeSlots()
{
    if (m_postgres) {
        freeSlotsInBulk();
        return;
    }
    for (const Store::TransitionRow& t : m_batch.transitions) {
        if (!t.leftRunning)
            continue;
        if (t.taskRunId.isNull()) {
            sql::run(m_db, QStringLiteral("DELETE FROM global_concurrency_slots WHERE task_run_id = ?"),
                     {t.flowRunId.toString()}, QStringLiteral("freeing the slots of a flow run"));
            continue;
        }
        sql::run(m_db, QStringLiteral("DELETE FROM concurrency_slots WHERE task_run_id = ?"),
                 {t.taskRunId.toString()}, QStringLiteral("freeing the slots of a task run"));
        // A rate limit's slots stay: they decay.
        sql::run(m_db,
                 QStringLiteral("DELETE FROM global_concurrency_slots WHERE task_run_id = ? AND decays = 0"),
                 {t.taskRunId.toString()}, QStringLiteral("freeing the slots of a task run"));
    }
}

//! freeSlots() on PostgreSQL: three statements for the whole batch, the ids in arrays, instead of a
//! round trip per statement per run.
void BatchWriter::freeSlotsInBulk()
{
    QByteArray flows;
    QByteArray tasks;
    for (const Store::TransitionRow& t : m_batch.transitions) {
        if (!t.leftRunning)
            continue;
        QByteArray& ids = t.taskRunId.isNull() ? flows : tasks;
        ids.append(ids.isEmpty() ? '{' : ',');
        pg::appendArrayElement(ids, (t.taskRunId.isNull() ? t.flowRunId : t.taskRunId).toString().toUtf8());
    }
    // Sent with the batch's other statements.
    auto remove = [this](const char* statement, QByteArray ids) {
        if (ids.isEmpty())
            return;
        ids.append('}');
        pg::Statement sql{statement, {}, 0, {}};
        pg::appendStringLiteral(sql.sql, ids);
        sql.sql.append("::text[])");
        m_statements << sql;
    };
    remove("DELETE FROM global_concurrency_slots WHERE task_run_id = ANY (", flows);
    remove("DELETE FROM concurrency_slots WHERE task_run_id = ANY (", tasks);
    // A rate limit's slots stay: they decay.
    remove("DELETE FROM global_concurrency_slots WHERE decays = 0 AND task_run_id = ANY (", tasks);
}

void BatchWriter::writeLogs()
{
    if (m_batch.logs.empty() && !m_batch.droppedLogs)
        return;
    RowInserter logs(m_db, QStringLiteral("logs"),
                     {{QStringLiteral("flow_run_id"), ColumnType::Text},
                      {QStringLiteral("task_run_id"), ColumnType::Text},
                      {QStringLiteral("time"), ColumnType::Int},
                      {QStringLiteral("level"), ColumnType::Text},
                      {QStringLiteral("message"), ColumnType::Text}});
    for (const Store::LogRow& l : m_batch.logs) {
        logs.id(l.flowRunId).id(l.taskRunId).int64(l.timeUs).utf8(utf8Of(l.level)).text(l.message);
        logs.endRow();
    }
    logs.flush();
    if (m_batch.droppedLogs)
        qCWarning(lcStore) << m_batch.droppedLogs << "log lines were dropped: the log buffer was full";
}

void BatchWriter::writeStalls()
{
    for (const Store::StallRow& s : m_batch.stalls) {
        sql::run(m_db,
                 QStringLiteral("INSERT INTO stalls (flow_run_id, task_run_id, task, time, duration_us) "
                                "VALUES (?, ?, ?, ?, ?)"),
                 {nullableId(s.stall.flowRunId), nullableId(s.stall.taskRunId),
                  s.stall.task.isEmpty() ? QVariant(QMetaType::fromType<QString>()) : QVariant(s.stall.task),
                  s.stall.startUs, s.stall.durationUs},
                 QStringLiteral("recording a stall"));
        if (!s.stall.taskRunId.isNull()) {
            sql::run(m_db,
                     QStringLiteral("UPDATE task_runs SET stall_count = ?, stall_total_us = ? WHERE id = ?"),
                     {qint64(s.runStallCount), s.runStallTotalUs, s.stall.taskRunId.toString()},
                     QStringLiteral("counting the stalls of a task run"));
        }
        if (!s.stall.flowRunId.isNull()) {
            sql::run(m_db,
                     QStringLiteral("UPDATE flow_runs SET stall_count = stall_count + 1, stall_total_us = "
                                    "stall_total_us + ? WHERE id = ?"),
                     {s.stall.durationUs, s.stall.flowRunId.toString()},
                     QStringLiteral("counting the stalls of a flow run"));
        }
    }
}

} // namespace flowdeck
