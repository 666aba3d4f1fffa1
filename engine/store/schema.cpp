#include "store/schema.h"

#include "store/connectionpool.h"
#include "store/historyqueries.h"
#include "store/sqlhelpers.h"

#include <QDateTime>
#include <QSqlDriver>
#include <QSqlError>
#include <QSqlQuery>
#include <QStringList>

#include <vector>

namespace flowdeck::schema {

namespace {

enum class Dialect { Sqlite, Postgres };

//! "tr_x = (SELECT count(*) ...)" for every count column, for the flow run of the row being updated.
QString recountAssignments()
{
    QStringList parts;
    for (int i = 0; i < StateTypeCount; ++i) {
        parts << QStringLiteral("%1 = (SELECT count(*) FROM task_runs t WHERE t.flow_run_id = flow_runs.id "
                                "AND t.state = '%2')")
                     .arg(taskCountColumn(StateType(i)), toString(StateType(i)));
    }
    return parts.join(QStringLiteral(", "));
}

// The version that added the trends' cached hours, filled for the runs already stored.
constexpr int TrendRollupsVersion = 11;

/**
 * The trends' figures of the past hours the Health page shows (its longest window is 7 days; a day more
 * for slack), in the migration's transaction and under its lock: the upgrade's cost follows the recent
 * runs, not every run ever stored. Older hours are filled when a query first asks for them.
 */
void backfillTrendHours(QSqlDatabase& db, const QString& what)
{
    constexpr qint64 BackfillUs = 8 * 24 * 3'600'000'000LL;
    try {
        writeTrendHours(db, {}, QDateTime::currentMSecsSinceEpoch() * 1000 - BackfillUs);
    } catch (const DatabaseError& e) {
        throw DatabaseError(QString(what + QStringLiteral(": ") + QString::fromUtf8(e.what())).toStdString());
    }
}

// "flowdeck" in ASCII: the advisory lock every Flowdeck process takes to migrate.
constexpr qint64 MigrationLockKey = 7380396447929557867;

QStringList version5()
{
    QStringList statements;
    for (int i = 0; i < StateTypeCount; ++i) {
        statements << QStringLiteral("ALTER TABLE flow_runs ADD COLUMN %1 BIGINT NOT NULL DEFAULT 0")
                          .arg(taskCountColumn(StateType(i)));
    }
    statements << QStringLiteral("UPDATE flow_runs SET ") + recountAssignments();
    statements << QStringLiteral("DROP INDEX task_runs_flow_state_idx");
    return statements;
}

// Statements per version step; %AUTOID% becomes the dialect's auto-increment primary key, %GENERATED%
// how a computed column is kept (PostgreSQL indexes only stored ones; SQLite adds only virtual ones to
// a table), and a statement starting with %POSTGRES% runs on PostgreSQL only. Times are microseconds
// since the epoch, ids are UUID text, JSON is stored as text.
const std::vector<QStringList>& steps()
{
    static const std::vector<QStringList> all = {
        // Version 1: the store.
        {
            QStringLiteral("CREATE TABLE flows ("
                           "name TEXT PRIMARY KEY, description TEXT, source TEXT, document TEXT NOT NULL, "
                           "updated_at BIGINT NOT NULL)"),
            QStringLiteral(
                "CREATE TABLE flow_runs ("
                "id TEXT PRIMARY KEY, flow_name TEXT NOT NULL, state TEXT NOT NULL, "
                "state_name TEXT NOT NULL, message TEXT, parameters TEXT, seed BIGINT, document TEXT, "
                "total_task_runs INTEGER NOT NULL DEFAULT 0, created_at BIGINT NOT NULL, "
                "started_at BIGINT, ended_at BIGINT, host TEXT, pid INTEGER, "
                "cancel_requested INTEGER NOT NULL DEFAULT 0, worker TEXT, "
                "stall_count INTEGER NOT NULL DEFAULT 0, stall_total_us BIGINT NOT NULL DEFAULT 0)"),
            QStringLiteral("CREATE INDEX flow_runs_created_idx ON flow_runs (created_at)"),
            QStringLiteral("CREATE INDEX flow_runs_state_created_idx ON flow_runs (state, created_at)"),
            QStringLiteral("CREATE INDEX flow_runs_flow_created_idx ON flow_runs (flow_name, created_at)"),
            QStringLiteral(
                "CREATE TABLE task_runs ("
                "id TEXT PRIMARY KEY, "
                "flow_run_id TEXT NOT NULL REFERENCES flow_runs (id) ON DELETE CASCADE, "
                "task TEXT NOT NULL, map_index INTEGER, state TEXT NOT NULL, state_name TEXT NOT NULL, "
                "message TEXT, attempts INTEGER NOT NULL DEFAULT 0, tags TEXT, "
                "created_at BIGINT NOT NULL, started_at BIGINT, ended_at BIGINT, "
                "stall_count INTEGER NOT NULL DEFAULT 0, stall_total_us BIGINT NOT NULL DEFAULT 0)"),
            QStringLiteral(
                "CREATE INDEX task_runs_flow_task_idx ON task_runs (flow_run_id, task, map_index)"),
            QStringLiteral("CREATE INDEX task_runs_flow_state_idx ON task_runs (flow_run_id, state)"),
            // No foreign keys: written in bulk by group commit.
            QStringLiteral("CREATE TABLE state_history ("
                           "id %AUTOID%, flow_run_id TEXT NOT NULL, task_run_id TEXT, time BIGINT NOT NULL, "
                           "state TEXT NOT NULL, name TEXT NOT NULL, message TEXT)"),
            QStringLiteral("CREATE INDEX state_history_task_time_idx ON state_history (task_run_id, time)"),
            QStringLiteral("CREATE INDEX state_history_flow_id_idx ON state_history (flow_run_id, id)"),
            QStringLiteral("CREATE TABLE logs ("
                           "id %AUTOID%, flow_run_id TEXT NOT NULL, task_run_id TEXT, time BIGINT NOT NULL, "
                           "level TEXT NOT NULL, message TEXT NOT NULL)"),
            QStringLiteral("CREATE INDEX logs_flow_id_idx ON logs (flow_run_id, id)"),
            QStringLiteral(
                "CREATE TABLE stalls ("
                "id %AUTOID%, flow_run_id TEXT, task_run_id TEXT, task TEXT, time BIGINT NOT NULL, "
                "duration_us BIGINT NOT NULL)"),
            QStringLiteral("CREATE INDEX stalls_flow_idx ON stalls (flow_run_id)"),
            QStringLiteral("CREATE TABLE concurrency_limits ("
                           "tag TEXT PRIMARY KEY, slot_limit INTEGER NOT NULL, updated_at BIGINT NOT NULL)"),
            QStringLiteral("CREATE TABLE concurrency_slots ("
                           "tag TEXT NOT NULL, task_run_id TEXT NOT NULL, holder TEXT NOT NULL, "
                           "lease_expires_at BIGINT NOT NULL, PRIMARY KEY (tag, task_run_id))"),
            QStringLiteral("CREATE TABLE settings (key TEXT PRIMARY KEY, value TEXT NOT NULL)"),
            QStringLiteral("CREATE TABLE engines ("
                           "id TEXT PRIMARY KEY, host TEXT NOT NULL, pid INTEGER NOT NULL, "
                           "started_at BIGINT NOT NULL, heartbeat_at BIGINT NOT NULL)"),
        },
        // Version 2: task results, and a task run's log tail without scanning its flow run's logs.
        {
            QStringLiteral("ALTER TABLE task_runs ADD COLUMN result TEXT"),
            QStringLiteral("CREATE INDEX logs_task_id_idx ON logs (task_run_id, id)"),
        },
        // Version 3: worker processes sharing one database. A worker is an engine row
        // with kind 'worker' and the figures it reports; flow_runs.worker (since version 1) names the
        // engine that runs a flow run, and is NULL while a submitted run waits in the queue. Each
        // engine says how long its heartbeat may be stale before others declare it gone.
        {
            QStringLiteral("ALTER TABLE engines ADD COLUMN name TEXT"),
            QStringLiteral("ALTER TABLE engines ADD COLUMN kind TEXT NOT NULL DEFAULT 'engine'"),
            QStringLiteral("ALTER TABLE engines ADD COLUMN lease_us BIGINT NOT NULL DEFAULT 30000000"),
            QStringLiteral("ALTER TABLE engines ADD COLUMN max_flow_runs INTEGER NOT NULL DEFAULT 0"),
            QStringLiteral("ALTER TABLE engines ADD COLUMN flow_runs_running INTEGER NOT NULL DEFAULT 0"),
            QStringLiteral("ALTER TABLE engines ADD COLUMN blocking_busy INTEGER NOT NULL DEFAULT 0"),
            QStringLiteral("ALTER TABLE engines ADD COLUMN blocking_max INTEGER NOT NULL DEFAULT 0"),
            QStringLiteral("ALTER TABLE engines ADD COLUMN loop_lag_us BIGINT NOT NULL DEFAULT 0"),
            QStringLiteral("ALTER TABLE flow_runs ADD COLUMN worker_name TEXT"),
            QStringLiteral("ALTER TABLE flow_runs ADD COLUMN retries INTEGER NOT NULL DEFAULT 0"),
            QStringLiteral("ALTER TABLE flow_runs ADD COLUMN run_count INTEGER NOT NULL DEFAULT 0"),
            // The queue: the oldest submitted runs that nobody has claimed yet.
            QStringLiteral("CREATE INDEX flow_runs_queue_idx ON flow_runs (created_at) "
                           "WHERE state = 'SCHEDULED' AND worker IS NULL"),
            QStringLiteral("CREATE INDEX flow_runs_worker_state_idx ON flow_runs (worker, state)"),
        },
        // Version 4: a cheaper state history to write (every transition adds a row). The index on
        // (flow_run_id, id) over every row is replaced by one over the flow runs' own rows only; a
        // flow run's task-run history is reached through task_runs and (task_run_id, time).
        {
            QStringLiteral("DROP INDEX state_history_flow_id_idx"),
            QStringLiteral("CREATE INDEX state_history_flow_only_idx ON state_history (flow_run_id, id) "
                           "WHERE task_run_id IS NULL"),
        },
        // Version 5: a flow run's task runs counted per state in the flow run's own row, kept current by
        // the writers, instead of an index on task_runs (flow_run_id, state) that every state change had
        // to rewrite (bench_store, 100k durable no-op task runs: 10.9-11.2 -> 9.2-9.4 us per task).
        version5(),
        // Version 6: the task runs waiting for a concurrency slot, without scanning every task run
        // (the dashboard reads them twice a second). Only waiting rows are in it, so runs that never
        // wait never touch it. Queries must name the state literally for SQLite to use it.
        {
            QStringLiteral("CREATE INDEX task_runs_waiting_idx ON task_runs (created_at) "
                           "WHERE state_name = 'AwaitingConcurrencySlot'"),
        },
        // Version 7: operating runs. Who started a flow run; a retried or resumed run goes on with the
        // task runs it has (continue_existing) instead of new ones; pause and resume requests from
        // other processes, as cancel_requested; an approval task run's decision, written by whoever
        // decides and read by the process that runs it.
        {
            QStringLiteral("ALTER TABLE flow_runs ADD COLUMN started_by TEXT"),
            QStringLiteral("ALTER TABLE flow_runs ADD COLUMN continue_existing INTEGER NOT NULL DEFAULT 0"),
            QStringLiteral("ALTER TABLE flow_runs ADD COLUMN pause_requested INTEGER NOT NULL DEFAULT 0"),
            QStringLiteral("ALTER TABLE flow_runs ADD COLUMN pause_grace_us BIGINT"),
            QStringLiteral("ALTER TABLE flow_runs ADD COLUMN paused_by TEXT"),
            QStringLiteral("ALTER TABLE flow_runs ADD COLUMN resume_requested INTEGER NOT NULL DEFAULT 0"),
            QStringLiteral("ALTER TABLE task_runs ADD COLUMN approval TEXT"),
            QStringLiteral("ALTER TABLE task_runs ADD COLUMN approval_reason TEXT"),
            QStringLiteral("ALTER TABLE task_runs ADD COLUMN approval_by TEXT"),
            QStringLiteral("CREATE INDEX task_runs_approval_idx ON task_runs (created_at) "
                           "WHERE state_name = 'AwaitingApproval'"),
        },
        // Version 8: named global concurrency limits and rate limits. A slot row is held by a task run
        // (or a flow run) under its holder's lease like a tag slot, or, for a rate limit (decays = 1),
        // taken for good and counted until lease_expires_at, when it has decayed.
        {
            QStringLiteral("CREATE TABLE global_concurrency_limits (name TEXT PRIMARY KEY, "
                           "slot_limit INTEGER NOT NULL, active INTEGER NOT NULL DEFAULT 1, "
                           "slot_decay_per_second DOUBLE PRECISION, updated_at BIGINT NOT NULL)"),
            QStringLiteral("CREATE TABLE global_concurrency_slots (id %AUTOID%, name TEXT NOT NULL, "
                           "task_run_id TEXT NOT NULL, occupy INTEGER NOT NULL, holder TEXT NOT NULL, "
                           "decays INTEGER NOT NULL DEFAULT 0, lease_expires_at BIGINT NOT NULL)"),
            QStringLiteral("CREATE INDEX global_concurrency_slots_name_idx ON global_concurrency_slots "
                           "(name, lease_expires_at)"),
            QStringLiteral("CREATE INDEX global_concurrency_slots_run_idx ON global_concurrency_slots "
                           "(task_run_id)"),
            QStringLiteral("CREATE INDEX global_concurrency_slots_holder_idx ON global_concurrency_slots "
                           "(holder)"),
        },
        // Version 9: data between tasks. A flow run's own result; a subflow's flow run names the task
        // run (and its flow run) that started it; cached task results shared by every process on the
        // database, found by key before a task run executes.
        {
            QStringLiteral("ALTER TABLE flow_runs ADD COLUMN result TEXT"),
            QStringLiteral("ALTER TABLE flow_runs ADD COLUMN parent_flow_run_id TEXT"),
            QStringLiteral("ALTER TABLE flow_runs ADD COLUMN parent_task_run_id TEXT"),
            QStringLiteral("CREATE INDEX flow_runs_parent_idx ON flow_runs (parent_flow_run_id, created_at) "
                           "WHERE parent_flow_run_id IS NOT NULL"),
            QStringLiteral("CREATE TABLE task_cache (cache_key TEXT PRIMARY KEY, flow_name TEXT NOT NULL, "
                           "task TEXT NOT NULL, result TEXT, flow_run_id TEXT, task_run_id TEXT, "
                           "created_at BIGINT NOT NULL, expires_at BIGINT)"),
            QStringLiteral("CREATE INDEX task_cache_flow_idx ON task_cache (flow_name)"),
        },
        // Version 10: schedules. A schedule keeps the flow document it runs; each fire time becomes one
        // flow run, made unique across processes by (schedule_id, scheduled_for).
        {
            QStringLiteral("CREATE TABLE schedules (id TEXT PRIMARY KEY, name TEXT NOT NULL UNIQUE, "
                           "flow_name TEXT NOT NULL, source TEXT, document TEXT NOT NULL, parameters TEXT, "
                           "cron TEXT, timezone TEXT, interval_us BIGINT, anchor_at BIGINT, "
                           "active INTEGER NOT NULL DEFAULT 1, catchup TEXT NOT NULL DEFAULT 'latest', "
                           "max_active_runs INTEGER NOT NULL DEFAULT 0, "
                           "on_limit TEXT NOT NULL DEFAULT 'enqueue', version INTEGER NOT NULL DEFAULT 1, "
                           "created_at BIGINT NOT NULL, updated_at BIGINT NOT NULL, planned_until BIGINT)"),
            QStringLiteral("ALTER TABLE flow_runs ADD COLUMN schedule_id TEXT"),
            QStringLiteral("ALTER TABLE flow_runs ADD COLUMN scheduled_for BIGINT"),
            QStringLiteral("CREATE UNIQUE INDEX flow_runs_schedule_fire_idx ON flow_runs "
                           "(schedule_id, scheduled_for) WHERE schedule_id IS NOT NULL"),
            // A cap on active flow runs ("max_active_runs" of a flow document or a schedule): the runs
            // sharing limit_key ("flow:NAME", "schedule:ID") count against it when they are claimed.
            QStringLiteral("ALTER TABLE flow_runs ADD COLUMN limit_key TEXT"),
            QStringLiteral("ALTER TABLE flow_runs ADD COLUMN max_active_runs INTEGER NOT NULL DEFAULT 0"),
            QStringLiteral("ALTER TABLE flow_runs ADD COLUMN on_limit TEXT"),
            QStringLiteral("CREATE INDEX flow_runs_limit_idx ON flow_runs (limit_key, state) "
                           "WHERE limit_key IS NOT NULL"),
            // The queue of submitted runs no longer holds planned ones (a schedule's future fire times):
            // those wait in their own index by fire time, and nobody claims one before it is due.
            QStringLiteral("DROP INDEX flow_runs_queue_idx"),
            QStringLiteral("CREATE INDEX flow_runs_queue_idx ON flow_runs (created_at) "
                           "WHERE state = 'SCHEDULED' AND worker IS NULL AND scheduled_for IS NULL"),
            QStringLiteral("CREATE INDEX flow_runs_due_idx ON flow_runs (scheduled_for) "
                           "WHERE state = 'SCHEDULED' AND worker IS NULL AND scheduled_for IS NOT NULL"),
        },
        // Version 11: trends over many stored runs. Flow runs per hour and state from an index-only
        // range; each past hour's figures per flow, task and state cached (trend_rollups; the flow
        // runs' own under the task ''), with the hour's fingerprint (trend_hours: how many runs, the
        // sum of their ends modulo a prime) that tells when a run of the hour was added, retried or
        // deleted since. Filled by the queries that read them (historyqueries), and here for the
        // last 8 days' hours already stored.
        {
            QStringLiteral("CREATE INDEX flow_runs_created_state_end_idx ON flow_runs (created_at, state, "
                           "ended_at)"),
            QStringLiteral("CREATE TABLE trend_hours (hour BIGINT PRIMARY KEY, flow_runs BIGINT NOT NULL, "
                           "ended_sum BIGINT NOT NULL, filled_at BIGINT NOT NULL)"),
            QStringLiteral("CREATE TABLE trend_rollups (hour BIGINT NOT NULL, flow_name TEXT NOT NULL, "
                           "task TEXT NOT NULL, state TEXT NOT NULL, runs BIGINT NOT NULL, "
                           "finished BIGINT NOT NULL, duration_sum BIGINT NOT NULL, "
                           "duration_max BIGINT NOT NULL, PRIMARY KEY (hour, flow_name, task, state))"),
        },
        // Version 12: task-run transitions as PostgreSQL's HOT updates (the new row version on the old
        // one's page, no index entries written). An update is HOT only when no indexed column changes,
        // and a partial index's predicate columns count: the indexes of waiting runs (versions 6 and 7)
        // named state_name, which every transition changes. They now name `awaiting`, which holds the
        // state name only while a run waits for a slot or an approval (computed, so that every writer
        // keeps it right) and stays NULL for runs that never wait. On PostgreSQL new task-run pages
        // are filled to half, leaving room for the next version of every row: a batch updates the runs
        // the previous batches inserted, whole pages of them (bench_store postgres, 50k no-op task
        // runs, HOT updates: fill 100% 6%, 80% 32%, 60% 67%, 50% 95%; the indexes 12 MB -> 6.7 MB).
        // The rows already stored, mostly finished, stay packed: the fill is set after the ALTER that
        // adds the column has rewritten the table. SQLite computes the column when it is read.
        {
            QStringLiteral("DROP INDEX task_runs_waiting_idx"),
            QStringLiteral("DROP INDEX task_runs_approval_idx"),
            QStringLiteral(
                "ALTER TABLE task_runs ADD COLUMN awaiting TEXT GENERATED ALWAYS AS (CASE WHEN "
                "state_name IN ('AwaitingConcurrencySlot', 'AwaitingApproval') THEN state_name END) "
                "%GENERATED%"),
            QStringLiteral("CREATE INDEX task_runs_waiting_idx ON task_runs (created_at) "
                           "WHERE awaiting = 'AwaitingConcurrencySlot'"),
            QStringLiteral("CREATE INDEX task_runs_approval_idx ON task_runs (created_at) "
                           "WHERE awaiting = 'AwaitingApproval'"),
            QStringLiteral("%POSTGRES% ALTER TABLE task_runs SET (fillfactor = 50)"),
        },
    };
    return all;
}

Dialect dialectOf(const QSqlDatabase& db)
{
    return sql::isPostgres(db) ? Dialect::Postgres : Dialect::Sqlite;
}

//! \a sql in \a dialect's words; empty when the statement is not for \a dialect.
QString inDialect(QString sql, Dialect dialect)
{
    const bool postgres = dialect == Dialect::Postgres;
    static const QString postgresOnly = QStringLiteral("%POSTGRES% ");
    if (sql.startsWith(postgresOnly)) {
        if (!postgres)
            return {};
        sql.remove(0, postgresOnly.size());
    }
    return sql
        .replace(QStringLiteral("%AUTOID%"),
                 postgres ? QStringLiteral("BIGSERIAL PRIMARY KEY")
                          : QStringLiteral("INTEGER PRIMARY KEY AUTOINCREMENT"))
        .replace(QStringLiteral("%GENERATED%"),
                 postgres ? QStringLiteral("STORED") : QStringLiteral("VIRTUAL"));
}

//! Executes \a sql; a failure names \a what and quotes the statement.
void exec(QSqlDatabase& db, const QString& sql, const QString& what)
{
    sql::execDirect(db, sql, what, sql::Quote::Statement);
}

bool versionTableExists(QSqlDatabase& db, Dialect dialect)
{
    const QString sql = dialect == Dialect::Postgres
        ? QStringLiteral("SELECT to_regclass('schema_version') IS NOT NULL")
        : QStringLiteral(
            "SELECT count(*) > 0 FROM sqlite_master WHERE type = 'table' AND name = 'schema_version'");
    QSqlQuery query(db);
    if (!query.exec(sql) || !query.next())
        sql::fail(QStringLiteral("cannot read the schema version"), query.lastError(), sql);
    return query.value(0).toBool();
}

//! The recorded version, or -1 when the table has no row.
int readVersion(QSqlDatabase& db)
{
    const QString sql = QStringLiteral("SELECT version FROM schema_version");
    QSqlQuery query(db);
    if (!query.exec(sql))
        sql::fail(QStringLiteral("cannot read the schema version"), query.lastError(), sql);
    return query.next() ? query.value(0).toInt() : -1;
}

} // namespace

QStringList foreignTables(QSqlDatabase& db)
{
    const Dialect dialect = dialectOf(db);
    const QString sql = dialect == Dialect::Postgres
        ? QStringLiteral("SELECT table_name FROM information_schema.tables "
                         "WHERE table_schema = current_schema() ORDER BY table_name")
        : QStringLiteral("SELECT name FROM sqlite_master WHERE type IN ('table', 'view') "
                         "AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' ORDER BY name");
    QSqlQuery query(db);
    if (!query.exec(sql))
        sql::fail(QStringLiteral("cannot read the tables of the database"), query.lastError(), sql);
    QStringList tables;
    while (query.next())
        tables << query.value(0).toString();
    if (tables.contains(QLatin1String("schema_version")))
        return {};
    return tables;
}

QString foreignTablesMessage(const QStringList& tables)
{
    QStringList shown = tables.mid(0, 5);
    if (tables.size() > shown.size())
        shown << QStringLiteral("and %1 more").arg(tables.size() - shown.size());
    return QStringLiteral("not a Flowdeck database: it holds tables of another application (%1) and no "
                          "Flowdeck schema; left unchanged (give Flowdeck a new file or an empty database)")
        .arg(shown.join(QStringLiteral(", ")));
}

void checkReadable(QSqlDatabase& db)
{
    const QStringList foreign = foreignTables(db);
    if (!foreign.isEmpty())
        throw DatabaseError(foreignTablesMessage(foreign).toStdString());
    const int version = currentVersion(db);
    if (version == 0)
        throw DatabaseError("no Flowdeck schema yet: nothing has been stored in it");
    if (version > latestVersion())
        throw DatabaseError(QStringLiteral("the database has schema version %1, newer than this build of "
                                           "Flowdeck understands (%2)")
                                .arg(version)
                                .arg(latestVersion())
                                .toStdString());
    if (version < latestVersion())
        throw DatabaseError(QStringLiteral("the database has schema version %1, older than this build's "
                                           "(%2): a command that writes (run, worker) upgrades it first")
                                .arg(version)
                                .arg(latestVersion())
                                .toStdString());
}

int latestVersion()
{
    return int(steps().size());
}

int currentVersion(QSqlDatabase& db)
{
    const Dialect dialect = dialectOf(db);
    if (!versionTableExists(db, dialect))
        return 0;
    return std::max(0, readVersion(db));
}

void migrate(QSqlDatabase& db)
{
    migrateTo(db, latestVersion());
}

void migrateTo(QSqlDatabase& db, int version)
{
    if (version < 0 || version > latestVersion())
        throw DatabaseError(QStringLiteral("no schema version %1 (this build knows 0 to %2)")
                                .arg(version)
                                .arg(latestVersion())
                                .toStdString());
    const Dialect dialect = dialectOf(db);
    for (;;) {
        // The lock is taken before the version is read, so a second process waits and then sees
        // the first one's work.
        sql::beginWrite(db, QStringLiteral("cannot start a schema migration"));
        try {
            if (dialect == Dialect::Postgres)
                exec(db, QStringLiteral("SELECT pg_advisory_xact_lock(%1)").arg(MigrationLockKey),
                     QStringLiteral("cannot lock the schema for migration"));
            if (!versionTableExists(db, dialect)) {
                // Another application's database is left exactly as it is.
                if (const QStringList foreign = foreignTables(db); !foreign.isEmpty())
                    throw DatabaseError(foreignTablesMessage(foreign).toStdString());
                exec(db, QStringLiteral("CREATE TABLE schema_version (version INTEGER NOT NULL)"),
                     QStringLiteral("cannot create the schema_version table"));
            }
            int current = readVersion(db);
            if (current < 0) {
                exec(db, QStringLiteral("INSERT INTO schema_version (version) VALUES (0)"),
                     QStringLiteral("cannot initialise the schema version"));
                current = 0;
            }
            if (current > latestVersion())
                throw DatabaseError(QStringLiteral("the database has schema version %1, newer than this "
                                                   "build of Flowdeck understands (%2)")
                                        .arg(current)
                                        .arg(latestVersion())
                                        .toStdString());
            if (current >= version) {
                exec(db, QStringLiteral("COMMIT"), QStringLiteral("cannot finish the schema check"));
                return;
            }
            const int next = current + 1;
            const QString what = QStringLiteral("schema migration to version %1 failed").arg(next);
            for (const QString& statement : steps()[std::size_t(current)]) {
                if (const QString sql = inDialect(statement, dialect); !sql.isEmpty())
                    exec(db, sql, what);
            }
            if (next == TrendRollupsVersion)
                backfillTrendHours(db, what);
            exec(db, QStringLiteral("UPDATE schema_version SET version = %1").arg(next), what);
            exec(db, QStringLiteral("COMMIT"), what);
        } catch (...) {
            QSqlQuery rollback(db);
            rollback.exec(QStringLiteral("ROLLBACK"));
            throw;
        }
    }
}

QString taskCountColumn(StateType type)
{
    return QStringLiteral("tr_") + toString(type).toLower();
}

QString recountTaskRunsSql()
{
    return QStringLiteral("UPDATE flow_runs SET ") + recountAssignments() + QStringLiteral(" WHERE id = ?");
}

const QString& terminalStatesSql()
{
    static const QString list = QStringLiteral("('COMPLETED','FAILED','CANCELLED','CRASHED')");
    return list;
}

const QString& unfinishedStatesSql()
{
    static const QString list = QStringLiteral("('SCHEDULED','PENDING','RUNNING','PAUSED','CANCELLING')");
    return list;
}

} // namespace flowdeck::schema
