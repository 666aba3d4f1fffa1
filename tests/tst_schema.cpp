// Schema and migrations: every table of the store, the upgrade path from each version, idempotence
// and concurrent migration; on SQLite and on the PostgreSQL server in FLOWDECK_TEST_PG.
#include "store/approvalqueries.h"
#include "store/connectionpool.h"
#include "store/limitqueries.h"
#include "store/runqueries.h"
#include "store/schema.h"
#include "testutil.h"

#include <QSqlError>
#include <QSqlQuery>
#include <QSqlRecord>
#include <QTest>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <memory>
#include <thread>
#include <vector>

using namespace flowdeck;
using namespace flowdeck::test;
using namespace std::chrono_literals;

namespace {

const QStringList StoreTables = {
    QStringLiteral("flows"),
    QStringLiteral("flow_runs"),
    QStringLiteral("task_runs"),
    QStringLiteral("state_history"),
    QStringLiteral("logs"),
    QStringLiteral("stalls"),
    QStringLiteral("concurrency_limits"),
    QStringLiteral("concurrency_slots"),
    QStringLiteral("settings"),
    QStringLiteral("engines"),
    QStringLiteral("schema_version"),
};

const QStringList Version1Indexes = {
    QStringLiteral("flow_runs_created_idx"),
    QStringLiteral("flow_runs_state_created_idx"),
    QStringLiteral("flow_runs_flow_created_idx"),
    QStringLiteral("task_runs_flow_task_idx"),
    QStringLiteral("task_runs_flow_state_idx"),
    QStringLiteral("state_history_task_time_idx"),
    QStringLiteral("state_history_flow_id_idx"),
    QStringLiteral("logs_flow_id_idx"),
    QStringLiteral("stalls_flow_idx"),
};

const QString Version2Index = QStringLiteral("logs_task_id_idx");

// Version 4 replaced version 1's index over every state_history row by one over flow runs' own rows.
constexpr int StateHistoryVersion = 4;
const QString Version1HistoryIndex = QStringLiteral("state_history_flow_id_idx");
const QString Version4HistoryIndex = QStringLiteral("state_history_flow_only_idx");
const QString Version1StateIndex = QStringLiteral("task_runs_flow_state_idx");
constexpr int TaskCountsVersion = 5;
constexpr int WaitingIndexVersion = 6;
const QString Version6WaitingIndex = QStringLiteral("task_runs_waiting_idx");
// Version 11: the trends' index-only range over flow runs, and their cached hours.
const QString Version11TrendsIndex = QStringLiteral("flow_runs_created_state_end_idx");
const QStringList Version11TrendTables = {QStringLiteral("trend_hours"), QStringLiteral("trend_rollups")};
// Version 12: the indexes of waiting task runs on `awaiting` (so that transitions are HOT updates on
// PostgreSQL), and task-run pages filled to half there.
constexpr int HotUpdatesVersion = 12;
const QString Version7ApprovalIndex = QStringLiteral("task_runs_approval_idx");

// One row for every table (times in microseconds since the epoch).
const QStringList OneRowEach = {
    QStringLiteral("INSERT INTO flows (name, description, source, document, updated_at) "
                   "VALUES ('etl', 'nightly', 'etl.json', '{}', 1700000000000000)"),
    QStringLiteral("INSERT INTO flow_runs (id, flow_name, state, state_name, parameters, seed, created_at, "
                   "started_at, host, pid) VALUES ('run-1', 'etl', 'RUNNING', 'Running', '{}', 42, "
                   "1700000000000000, 1700000000000001, 'box', 4242)"),
    QStringLiteral(
        "INSERT INTO task_runs (id, flow_run_id, task, map_index, state, state_name, tags, created_at) "
        "VALUES ('task-1', 'run-1', 'extract', 0, 'PENDING', 'Pending', '[\"db\"]', 1700000000000002)"),
    QStringLiteral("INSERT INTO state_history (flow_run_id, task_run_id, time, state, name, message) "
                   "VALUES ('run-1', 'task-1', 1700000000000002, 'PENDING', 'Pending', NULL)"),
    QStringLiteral("INSERT INTO logs (flow_run_id, task_run_id, time, level, message) "
                   "VALUES ('run-1', 'task-1', 1700000000000003, 'INFO', 'hello')"),
    QStringLiteral("INSERT INTO stalls (flow_run_id, task_run_id, task, time, duration_us) "
                   "VALUES ('run-1', 'task-1', 'extract', 1700000000000004, 1000000)"),
    QStringLiteral("INSERT INTO concurrency_limits (tag, slot_limit, updated_at) VALUES ('db', 10, 1)"),
    QStringLiteral("INSERT INTO concurrency_slots (tag, task_run_id, holder, lease_expires_at) "
                   "VALUES ('db', 'task-1', 'engine-1', 1700000000300000)"),
    QStringLiteral("INSERT INTO settings (key, value) VALUES ('theme', 'dark')"),
    QStringLiteral("INSERT INTO engines (id, host, pid, started_at, heartbeat_at) "
                   "VALUES ('engine-1', 'box', 4242, 1, 2)"),
};

QVariant scalarValue(QSqlDatabase& db, const QString& sql)
{
    QSqlQuery query(db);
    if (!query.exec(sql) || !query.next())
        throw DatabaseError(QString(sql + QStringLiteral(": ") + query.lastError().text()).toStdString());
    return query.value(0);
}

qint64 count(QSqlDatabase& db, const QString& table)
{
    return scalarValue(db, QStringLiteral("SELECT count(*) FROM ") + table).toLongLong();
}

bool isPostgres(const QSqlDatabase& db)
{
    return db.driverName() == QLatin1String("QPSQL");
}

//! Every row of every table, in its columns of before the upgrade \a columns (read them with \a columns
//! empty), ordered by all of them: what an upgrade must keep.
QMap<QString, QList<QVariantList>> allRows(QSqlDatabase& db, QMap<QString, QStringList>& columns)
{
    QMap<QString, QList<QVariantList>> rows;
    const bool read = columns.isEmpty();
    for (const QString& table : db.tables()) {
        if (table == u"schema_version")
            continue;
        if (read) {
            const QSqlRecord record = db.record(table);
            for (int i = 0; i < record.count(); ++i)
                columns[table] << record.fieldName(i);
        }
        const QStringList names = columns.value(table);
        QStringList order;
        for (qsizetype i = 1; i <= names.size(); ++i)
            order << QString::number(i);
        QSqlQuery q(db);
        const QString sql
            = QStringLiteral("SELECT %1 FROM %2 ORDER BY %3").arg(names.join(u','), table, order.join(u','));
        if (!q.exec(sql))
            throw DatabaseError(QString(sql + QStringLiteral(": ") + q.lastError().text()).toStdString());
        while (q.next()) {
            QVariantList row;
            for (qsizetype i = 0; i < names.size(); ++i)
                row << q.value(int(i));
            rows[table] << row;
        }
    }
    return rows;
}

QStringList indexes(QSqlDatabase& db)
{
    const QString sql = isPostgres(db)
        ? QStringLiteral("SELECT indexname FROM pg_indexes WHERE schemaname = current_schema()")
        : QStringLiteral("SELECT name FROM sqlite_master WHERE type = 'index'");
    QSqlQuery query(db);
    if (!query.exec(sql))
        throw DatabaseError(query.lastError().text().toStdString());
    QStringList names;
    while (query.next())
        names << query.value(0).toString();
    return names;
}

bool hasColumn(QSqlDatabase& db, const QString& table, const QString& column)
{
    return db.record(table).contains(column);
}

//! Each caller arrives and waits (bounded) until \a n have arrived.
bool rendezvous(std::atomic<int>& arrived, int n)
{
    ++arrived;
    const auto end = std::chrono::steady_clock::now() + 5s;
    while (arrived.load() < n) {
        if (std::chrono::steady_clock::now() > end)
            return false;
        std::this_thread::sleep_for(1ms);
    }
    return true;
}

//! The message of the DatabaseError \a f throws, or an empty string.
template<typename F>
QString databaseErrorOf(F f)
{
    try {
        f();
    } catch (const DatabaseError& e) {
        return QString::fromStdString(e.what());
    }
    return {};
}

std::unique_ptr<ConnectionPool> makePool(const QString& url, int size = 1)
{
    return std::make_unique<ConnectionPool>(*DatabaseUrl::parse(url, nullptr),
                                            PoolOptions{size, 0, 30.0, 3600});
}

} // namespace

class TestSchema : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void freshMigrationCreatesEveryTable_data() { addBackendRows(); }
    void freshMigrationCreatesEveryTable();
    void constraintsHold_data() { addBackendRows(); }
    void constraintsHold();
    void upgradeFromVersion1KeepsRows_data() { addBackendRows(); }
    void upgradeFromVersion1KeepsRows();
    void upgradeToVersion4KeepsHistoryQueryable_data() { addBackendRows(); }
    void upgradeToVersion4KeepsHistoryQueryable();
    void upgradeToVersion5CountsTaskRuns_data() { addBackendRows(); }
    void upgradeToVersion5CountsTaskRuns();
    void upgradeToVersion6IndexesWaitingRuns_data() { addBackendRows(); }
    void upgradeToVersion6IndexesWaitingRuns();
    void upgradeToVersion12KeepsRowsAndWaitingRuns_data() { addBackendRows(); }
    void upgradeToVersion12KeepsRowsAndWaitingRuns();
    void waitingRunsAreReadThroughTheirIndexes_data() { addBackendRows(); }
    void waitingRunsAreReadThroughTheirIndexes();
    void migratingTwiceIsANoOp_data() { addBackendRows(); }
    void migratingTwiceIsANoOp();
    void failedStepRollsBack_data() { addBackendRows(); }
    void failedStepRollsBack();
    void concurrentMigrationsSucceed_data() { addBackendRows(); }
    void concurrentMigrationsSucceed();
    void newerDatabaseIsRefused_data() { addBackendRows(); }
    void newerDatabaseIsRefused();
    void unknownTargetVersionIsRefused();
};

void TestSchema::freshMigrationCreatesEveryTable()
{
    QFETCH(QString, backend);
    FLOWDECK_FRESH_DATABASE(url, backend);
    auto pool = makePool(url);

    QCOMPARE(runOnPool(*pool, [](QSqlDatabase& db) { return schema::currentVersion(db); }), 0);
    runOnPool(*pool, [](QSqlDatabase& db) { schema::migrate(db); });
    QCOMPARE(runOnPool(*pool, [](QSqlDatabase& db) { return schema::currentVersion(db); }),
             schema::latestVersion());
    QVERIFY(schema::latestVersion() >= StateHistoryVersion);

    const QStringList tables = runOnPool(*pool, [](QSqlDatabase& db) { return db.tables(); });
    for (const QString& table : StoreTables)
        QVERIFY2(tables.contains(table),
                 qPrintable(table + QStringLiteral(" missing from ") + tables.join(u',')));
    const QStringList indexNames = runOnPool(*pool, [](QSqlDatabase& db) { return indexes(db); });
    for (const QString& table : Version11TrendTables)
        QVERIFY2(tables.contains(table), qPrintable(table));
    QStringList expected
        = Version1Indexes + QStringList{Version2Index, Version4HistoryIndex, Version11TrendsIndex};
    expected.removeOne(Version1HistoryIndex);
    expected.removeOne(Version1StateIndex);
    for (const QString& index : expected)
        QVERIFY2(indexNames.contains(index), qPrintable(index));
    QVERIFY(!indexNames.contains(Version1HistoryIndex));
    QVERIFY(!indexNames.contains(Version1StateIndex));

    // Every table takes a row; defaults and auto-increment ids are filled in.
    runOnPool(*pool, [](QSqlDatabase& db) {
        for (const QString& sql : OneRowEach)
            execOrThrow(db, sql);
        execOrThrow(db,
                    QStringLiteral("INSERT INTO state_history (flow_run_id, task_run_id, time, state, name) "
                                   "VALUES ('run-1', 'task-1', 1700000000000009, 'RUNNING', 'Running')"));
    });
    for (const QString& table : StoreTables) {
        const qint64 rows = runOnPool(*pool, [table](QSqlDatabase& db) { return count(db, table); });
        QVERIFY2(rows >= 1, qPrintable(table));
    }
    const QList<qint64> ids = runOnPool(*pool, [](QSqlDatabase& db) {
        QSqlQuery query(db);
        query.exec(QStringLiteral("SELECT id FROM state_history ORDER BY id"));
        QList<qint64> out;
        while (query.next())
            out << query.value(0).toLongLong();
        return out;
    });
    QCOMPARE(ids.size(), 2);
    QVERIFY(ids[0] >= 1 && ids[1] > ids[0]);
    const QVariantList defaults = runOnPool(*pool, [](QSqlDatabase& db) {
        QSqlQuery query(db);
        query.exec(QStringLiteral(
            "SELECT total_task_runs, cancel_requested, stall_count, stall_total_us, created_at "
            "FROM flow_runs WHERE id = 'run-1'"));
        query.next();
        return QVariantList{query.value(0), query.value(1), query.value(2), query.value(3), query.value(4)};
    });
    QCOMPARE(defaults.value(0).toInt(), 0);
    QCOMPARE(defaults.value(1).toInt(), 0);
    QCOMPARE(defaults.value(2).toInt(), 0);
    QCOMPARE(defaults.value(3).toLongLong(), qint64(0));
    QCOMPARE(defaults.value(4).toLongLong(), qint64(1700000000000000)); // 64-bit microseconds survive
}

void TestSchema::constraintsHold()
{
    QFETCH(QString, backend);
    FLOWDECK_FRESH_DATABASE(url, backend);
    auto pool = makePool(url);
    runOnPool(*pool, [](QSqlDatabase& db) {
        schema::migrate(db);
        for (const QString& sql : OneRowEach)
            execOrThrow(db, sql);
    });

    // A task run needs its flow run; deleting the flow run deletes its task runs.
    const QString orphan = runOnPool(*pool, [](QSqlDatabase& db) {
        return databaseErrorOf([&db] {
            execOrThrow(db,
                        QStringLiteral("INSERT INTO task_runs (id, flow_run_id, task, state, state_name, "
                                       "created_at) VALUES ('task-x', 'no-such-run', 't', 'PENDING', "
                                       "'Pending', 1)"));
        });
    });
    QVERIFY2(!orphan.isEmpty(), "foreign key enforced");
    const QString duplicate = runOnPool(*pool, [](QSqlDatabase& db) {
        return databaseErrorOf([&db] {
            execOrThrow(
                db,
                QStringLiteral("INSERT INTO concurrency_slots (tag, task_run_id, holder, lease_expires_at) "
                               "VALUES ('db', 'task-1', 'engine-2', 1)"));
        });
    });
    QVERIFY2(!duplicate.isEmpty(), "one slot per tag and task run");
    const qint64 left = runOnPool(*pool, [](QSqlDatabase& db) {
        execOrThrow(db, QStringLiteral("DELETE FROM flow_runs WHERE id = 'run-1'"));
        return count(db, QStringLiteral("task_runs"));
    });
    QCOMPARE(left, qint64(0));
}

void TestSchema::upgradeFromVersion1KeepsRows()
{
    QFETCH(QString, backend);
    FLOWDECK_FRESH_DATABASE(url, backend);
    auto pool = makePool(url);

    runOnPool(*pool, [](QSqlDatabase& db) {
        schema::migrateTo(db, 1);
        for (const QString& sql : OneRowEach)
            execOrThrow(db, sql);
    });
    QCOMPARE(runOnPool(*pool, [](QSqlDatabase& db) { return schema::currentVersion(db); }), 1);
    QVERIFY(!runOnPool(*pool, [](QSqlDatabase& db) {
        return hasColumn(db, QStringLiteral("task_runs"), QStringLiteral("result"));
    }));
    QVERIFY(!runOnPool(*pool, [](QSqlDatabase& db) { return indexes(db); }).contains(Version2Index));

    runOnPool(*pool, [](QSqlDatabase& db) { schema::migrate(db); });
    QCOMPARE(runOnPool(*pool, [](QSqlDatabase& db) { return schema::currentVersion(db); }),
             schema::latestVersion());
    QVERIFY(runOnPool(*pool, [](QSqlDatabase& db) {
        return hasColumn(db, QStringLiteral("task_runs"), QStringLiteral("result"));
    }));
    QVERIFY(runOnPool(*pool, [](QSqlDatabase& db) { return indexes(db); }).contains(Version2Index));

    // The version 1 rows are all there, and the new column works on them.
    for (const QString& table : StoreTables)
        QCOMPARE(runOnPool(*pool, [table](QSqlDatabase& db) { return count(db, table); }), qint64(1));
    const QVariantList task = runOnPool(*pool, [](QSqlDatabase& db) {
        QSqlQuery query(db);
        query.exec(QStringLiteral("SELECT task, state_name, result FROM task_runs WHERE id = 'task-1'"));
        query.next();
        QVariantList before{query.value(0), query.value(1), query.value(2)};
        query.finish();
        execOrThrow(db, QStringLiteral("UPDATE task_runs SET result = '{\"rows\": 3}' WHERE id = 'task-1'"));
        before << scalarValue(db, QStringLiteral("SELECT result FROM task_runs WHERE id = 'task-1'"));
        return before;
    });
    QCOMPARE(task.value(0).toString(), QStringLiteral("extract"));
    QCOMPARE(task.value(1).toString(), QStringLiteral("Pending"));
    QVERIFY(task.value(2).isNull());
    QCOMPARE(task.value(3).toString(), QStringLiteral("{\"rows\": 3}"));
}

void TestSchema::upgradeToVersion6IndexesWaitingRuns()
{
    QFETCH(QString, backend);
    FLOWDECK_FRESH_DATABASE(url, backend);
    auto pool = makePool(url);
    runOnPool(*pool, [](QSqlDatabase& db) {
        schema::migrateTo(db, WaitingIndexVersion - 1);
        for (const QString& sql : OneRowEach)
            execOrThrow(db, sql);
        execOrThrow(db,
                    QStringLiteral("INSERT INTO concurrency_limits (tag, slot_limit, updated_at) "
                                   "VALUES ('x', 1, 1)"));
        execOrThrow(
            db,
            QStringLiteral(
                "INSERT INTO task_runs (id, flow_run_id, task, state, state_name, tags, created_at) VALUES "
                "('wait-2', 'run-1', 'a', 'SCHEDULED', 'AwaitingConcurrencySlot', 'x', 20), "
                "('wait-1', 'run-1', 'a', 'SCHEDULED', 'AwaitingConcurrencySlot', 'y,x', 10), "
                "('retry', 'run-1', 'a', 'SCHEDULED', 'AwaitingRetry', 'x', 5), "
                "('other', 'run-1', 'a', 'SCHEDULED', 'AwaitingConcurrencySlot', 'xy', 1)"));
    });
    QVERIFY(!runOnPool(*pool, [](QSqlDatabase& db) { return indexes(db); }).contains(Version6WaitingIndex));
    runOnPool(*pool, [](QSqlDatabase& db) { schema::migrateTo(db, WaitingIndexVersion); });
    QVERIFY(runOnPool(*pool, [](QSqlDatabase& db) { return indexes(db); }).contains(Version6WaitingIndex));
    if (backend == u"sqlite") {
        // Read through the index of waiting runs, not a scan of every task run.
        const QString plan = runOnPool(*pool, [](QSqlDatabase& db) {
            QSqlQuery q(db);
            if (!q.exec(QStringLiteral("EXPLAIN QUERY PLAN SELECT t.id FROM task_runs t WHERE "
                                       "t.state_name = 'AwaitingConcurrencySlot' ORDER BY t.created_at")))
                throw DatabaseError(q.lastError().text().toStdString());
            QString out;
            while (q.next())
                out += q.value(3).toString() + u'\n';
            return out;
        });
        QVERIFY2(plan.contains(Version6WaitingIndex), qPrintable(plan));
    }
    // The waiting runs of tag x, in queue order, as the dashboard and `concurrency-limit inspect` read them
    // (with this build's queries, which need its schema).
    runOnPool(*pool, [](QSqlDatabase& db) { schema::migrate(db); });
    const QStringList expected{QStringLiteral("wait-1"), QStringLiteral("wait-2")};
    const auto limits = runOnPool(*pool, [](QSqlDatabase& db) { return listLimits(db); });
    const auto x = std::find_if(limits.begin(), limits.end(),
                                [](const LimitRow& row) { return row.tag == QLatin1String("x"); });
    QVERIFY(x != limits.end());
    QCOMPARE(x->waitingRuns, expected);
    const auto inspected
        = runOnPool(*pool, [](QSqlDatabase& db) { return inspectLimit(db, QStringLiteral("x")); });
    QVERIFY(inspected);
    QCOMPARE(inspected->waitingRuns, expected);
}

void TestSchema::upgradeToVersion12KeepsRowsAndWaitingRuns()
{
    QFETCH(QString, backend);
    FLOWDECK_FRESH_DATABASE(url, backend);
    auto pool = makePool(url);
    runOnPool(*pool, [](QSqlDatabase& db) {
        schema::migrateTo(db, HotUpdatesVersion - 1);
        for (const QString& sql : OneRowEach)
            execOrThrow(db, sql);
        execOrThrow(db,
                    QStringLiteral("INSERT INTO concurrency_limits (tag, slot_limit, updated_at) "
                                   "VALUES ('x', 1, 1)"));
        execOrThrow(
            db,
            QStringLiteral(
                "INSERT INTO task_runs (id, flow_run_id, task, map_index, state, state_name, message, "
                "tags, created_at, approval) VALUES "
                "('wait-2', 'run-1', 'a', 0, 'SCHEDULED', 'AwaitingConcurrencySlot', NULL, 'x', 20, NULL), "
                "('wait-1', 'run-1', 'a', 1, 'SCHEDULED', 'AwaitingConcurrencySlot', NULL, 'y,x', 10, NULL), "
                "('ask-1', 'run-1', 'b', NULL, 'SCHEDULED', 'AwaitingApproval', 'Deploy?', NULL, 30, NULL), "
                "('ask-2', 'run-1', 'c', NULL, 'SCHEDULED', 'AwaitingApproval', 'Now?', NULL, 40, "
                "'approved'), "
                "('done', 'run-1', 'd', NULL, 'COMPLETED', 'Completed', 'ok', 'x', 5, NULL)"));
    });
    QMap<QString, QStringList> columns;
    const auto before = runOnPool(*pool, [&columns](QSqlDatabase& db) { return allRows(db, columns); });
    QCOMPARE(before.value(QStringLiteral("task_runs")).size(), 6);
    runOnPool(*pool, [](QSqlDatabase& db) { schema::migrateTo(db, HotUpdatesVersion); });

    // Every row of every table is still there, unchanged.
    const auto after = runOnPool(*pool, [&columns](QSqlDatabase& db) { return allRows(db, columns); });
    QCOMPARE(after.keys(), before.keys());
    for (auto it = before.cbegin(); it != before.cend(); ++it)
        QVERIFY2(after.value(it.key()) == it.value(), qPrintable(it.key()));
    const QStringList indexNames = runOnPool(*pool, [](QSqlDatabase& db) { return indexes(db); });
    QVERIFY(indexNames.contains(Version6WaitingIndex));
    QVERIFY(indexNames.contains(Version7ApprovalIndex));
    if (backend == u"postgres") {
        const QString options = runOnPool(*pool, [](QSqlDatabase& db) {
            return scalarValue(db,
                               QStringLiteral("SELECT array_to_string(reloptions, ',') FROM pg_class WHERE "
                                              "oid = 'task_runs'::regclass"))
                .toString();
        });
        QCOMPARE(options, QStringLiteral("fillfactor=50"));
    }

    // The waiting runs are found as before: for a slot, in queue order; for an approval, undecided.
    const auto waitingOf = [&pool](const QString& tag) {
        const auto row = runOnPool(*pool, [tag](QSqlDatabase& db) { return inspectLimit(db, tag); });
        return row ? row->waitingRuns : QStringList{QStringLiteral("(no limit)")};
    };
    QCOMPARE(waitingOf(QStringLiteral("x")),
             (QStringList{QStringLiteral("wait-1"), QStringLiteral("wait-2")}));
    const auto approvals = runOnPool(*pool, [](QSqlDatabase& db) { return waitingApprovals(db, {}); });
    QCOMPARE(approvals.size(), 1);
    QCOMPARE(approvals.value(0).taskRunId, QStringLiteral("ask-1"));
    const auto decisions = runOnPool(*pool, [](QSqlDatabase& db) { return pendingApprovalDecisions(db, 0); });
    QCOMPARE(decisions.size(), 1);
    QCOMPARE(decisions.value(0).taskRunId, QStringLiteral("ask-2"));

    // Whoever writes a run's state keeps `awaiting` right: a run that stops waiting leaves the index,
    // one that starts waiting enters it.
    runOnPool(*pool, [](QSqlDatabase& db) {
        execOrThrow(db,
                    QStringLiteral("UPDATE task_runs SET state = 'RUNNING', state_name = 'Running' "
                                   "WHERE id = 'wait-1'"));
        execOrThrow(db,
                    QStringLiteral("UPDATE task_runs SET state = 'SCHEDULED', state_name = "
                                   "'AwaitingConcurrencySlot' WHERE id = 'done'"));
    });
    QCOMPARE(waitingOf(QStringLiteral("x")), (QStringList{QStringLiteral("done"), QStringLiteral("wait-2")}));
}

void TestSchema::waitingRunsAreReadThroughTheirIndexes()
{
    QFETCH(QString, backend);
    FLOWDECK_FRESH_DATABASE(url, backend);
    auto pool = makePool(url);
    const bool postgres = backend == u"postgres";
    const QStringList plans = runOnPool(*pool, [postgres](QSqlDatabase& db) {
        schema::migrate(db);
        for (const QString& sql : OneRowEach)
            execOrThrow(db, sql);
        // Many task runs that do not wait and a few that do; PostgreSQL plans by the statistics.
        execOrThrow(
            db,
            QStringLiteral("WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 5000) "
                           "INSERT INTO task_runs (id, flow_run_id, task, map_index, state, state_name, "
                           "tags, created_at) SELECT 'r-' || i, 'run-1', 'a', i, 'COMPLETED', "
                           "'Completed', 'x', i FROM n"));
        execOrThrow(db,
                    QStringLiteral("INSERT INTO task_runs (id, flow_run_id, task, state, state_name, tags, "
                                   "created_at) VALUES ('w', 'run-1', 'w', 'SCHEDULED', "
                                   "'AwaitingConcurrencySlot', 'x', 1), ('q', 'run-1', 'q', 'SCHEDULED', "
                                   "'AwaitingApproval', NULL, 1)"));
        execOrThrow(db, postgres ? QStringLiteral("ANALYZE task_runs") : QStringLiteral("ANALYZE"));
        QStringList out;
        QStringList statements = detail::waitingRunsSql();
        statements << detail::pendingApprovalDecisionsSql() << detail::waitingApprovalsSql();
        for (QString sql : statements) {
            sql.replace(QStringLiteral("LIKE ?"), QStringLiteral("LIKE '%,x,%'")).replace(u'?', u'0');
            QSqlQuery q(db);
            if (!q.exec((postgres ? QStringLiteral("EXPLAIN ") : QStringLiteral("EXPLAIN QUERY PLAN "))
                        + sql))
                throw DatabaseError(q.lastError().text().toStdString());
            QString plan = sql + u'\n';
            while (q.next())
                plan += q.value(postgres ? 0 : 3).toString() + u'\n';
            out << plan;
        }
        return out;
    });
    QCOMPARE(plans.size(), 5);
    for (qsizetype i = 0; i < plans.size(); ++i) {
        const QString& index = i < 3 ? Version6WaitingIndex : Version7ApprovalIndex;
        QVERIFY2(plans[i].contains(index), qPrintable(plans[i]));
        // Task runs are read through the index alone (SQLite may read that small index whole).
        for (const QString& line : plans[i].split(u'\n')) {
            const bool readsTaskRuns = line.contains(QStringLiteral("Seq Scan on task_runs"))
                || line.startsWith(QStringLiteral("SCAN t ")) || line == u"SCAN t"
                || line.startsWith(QStringLiteral("SCAN task_runs"));
            QVERIFY2(!readsTaskRuns || line.contains(index), qPrintable(plans[i]));
        }
    }
}

void TestSchema::upgradeToVersion5CountsTaskRuns()
{
    QFETCH(QString, backend);
    FLOWDECK_FRESH_DATABASE(url, backend);
    auto pool = makePool(url);
    // Two flow runs with task runs in several states, written before version 5.
    runOnPool(*pool, [](QSqlDatabase& db) {
        schema::migrateTo(db, TaskCountsVersion - 1);
        for (const QString& sql : OneRowEach)
            execOrThrow(db, sql); // run-1 with task-1 PENDING
        execOrThrow(db,
                    QStringLiteral("INSERT INTO flow_runs (id, flow_name, state, state_name, created_at) "
                                   "VALUES ('run-2', 'other', 'RUNNING', 'Running', 1700000000000010)"));
        execOrThrow(db,
                    QStringLiteral(
                        "INSERT INTO task_runs (id, flow_run_id, task, state, state_name, created_at) VALUES "
                        "('task-2', 'run-1', 'a', 'COMPLETED', 'Completed', 1), "
                        "('task-3', 'run-1', 'a', 'COMPLETED', 'Completed', 2), "
                        "('task-4', 'run-2', 'b', 'RUNNING', 'Running', 3), "
                        "('task-5', 'run-2', 'b', 'FAILED', 'Failed', 4)"));
    });
    QVERIFY(runOnPool(*pool, [](QSqlDatabase& db) { return indexes(db); }).contains(Version1StateIndex));
    runOnPool(*pool, [](QSqlDatabase& db) { schema::migrateTo(db, TaskCountsVersion); });
    QVERIFY(!runOnPool(*pool, [](QSqlDatabase& db) { return indexes(db); }).contains(Version1StateIndex));
    // The counts were filled in from the task runs, and are read without scanning them.
    using Counts = QMap<QString, qint64>;
    QCOMPARE(runOnPool(*pool, [](QSqlDatabase& db) { return taskRunCounts(db, QStringLiteral("run-1")); }),
             (Counts{{QStringLiteral("PENDING"), 1}, {QStringLiteral("COMPLETED"), 2}}));
    const auto page = runOnPool(*pool, [](QSqlDatabase& db) {
        return taskRunCountsOf(db, {QStringLiteral("run-1"), QStringLiteral("run-2")});
    });
    QCOMPARE(page.value(QStringLiteral("run-2")),
             (Counts{{QStringLiteral("RUNNING"), 1}, {QStringLiteral("FAILED"), 1}}));
    // After a bulk change (crash recovery does this), one statement recounts a flow run.
    runOnPool(*pool, [](QSqlDatabase& db) {
        execOrThrow(db, QStringLiteral("UPDATE task_runs SET state = 'CRASHED' WHERE id = 'task-4'"));
        QSqlQuery q(db);
        q.prepare(schema::recountTaskRunsSql());
        q.addBindValue(QStringLiteral("run-2"));
        if (!q.exec())
            throw std::runtime_error(q.lastError().text().toStdString());
    });
    QCOMPARE(runOnPool(*pool, [](QSqlDatabase& db) { return taskRunCounts(db, QStringLiteral("run-2")); }),
             (Counts{{QStringLiteral("CRASHED"), 1}, {QStringLiteral("FAILED"), 1}}));
}

void TestSchema::upgradeToVersion4KeepsHistoryQueryable()
{
    QFETCH(QString, backend);
    FLOWDECK_FRESH_DATABASE(url, backend);
    auto pool = makePool(url);

    // A flow run's own transitions, and two task runs' transitions, written before version 4.
    runOnPool(*pool, [](QSqlDatabase& db) {
        schema::migrateTo(db, StateHistoryVersion - 1);
        for (const QString& sql : OneRowEach)
            execOrThrow(db, sql); // task-1 PENDING at ...002
        execOrThrow(
            db,
            QStringLiteral("INSERT INTO task_runs (id, flow_run_id, task, state, state_name, created_at) "
                           "VALUES ('task-2', 'run-1', 'load', 'COMPLETED', 'Completed', 1700000000000005)"));
        execOrThrow(
            db,
            QStringLiteral(
                "INSERT INTO state_history (flow_run_id, task_run_id, time, state, name, message) VALUES "
                "('run-1', NULL, 1700000000000000, 'PENDING', 'Pending', NULL), "
                "('run-1', NULL, 1700000000000001, 'RUNNING', 'Running', 'go'), "
                "('run-1', 'task-2', 1700000000000005, 'COMPLETED', 'Completed', 'done'), "
                "('run-1', 'task-1', 1700000000000006, 'RUNNING', 'Running', NULL)"));
    });
    QVERIFY(runOnPool(*pool, [](QSqlDatabase& db) { return indexes(db); }).contains(Version1HistoryIndex));

    runOnPool(*pool, [](QSqlDatabase& db) { schema::migrateTo(db, StateHistoryVersion); });
    QCOMPARE(runOnPool(*pool, [](QSqlDatabase& db) { return schema::currentVersion(db); }),
             StateHistoryVersion);
    const QStringList after = runOnPool(*pool, [](QSqlDatabase& db) { return indexes(db); });
    QVERIFY(!after.contains(Version1HistoryIndex));
    QVERIFY(after.contains(Version4HistoryIndex));
    QCOMPARE(runOnPool(*pool, [](QSqlDatabase& db) { return count(db, QStringLiteral("state_history")); }),
             qint64(5));

    // The queries read the same rows as before: the flow run's own history, a task run's, and every
    // task run's history of a flow run.
    const QList<StateRow> flow
        = runOnPool(*pool, [](QSqlDatabase& db) { return history(db, QStringLiteral("run-1")); });
    QCOMPARE(flow.size(), 2);
    QCOMPARE(flow[0].state, QStringLiteral("PENDING"));
    QCOMPARE(flow[1].name, QStringLiteral("Running"));
    QCOMPARE(flow[1].message, QStringLiteral("go"));
    const QList<StateRow> task1
        = runOnPool(*pool, [](QSqlDatabase& db) { return history(db, QStringLiteral("task-1")); });
    QCOMPARE(task1.size(), 2);
    QCOMPARE(task1[0].state, QStringLiteral("PENDING"));
    QCOMPARE(task1[1].state, QStringLiteral("RUNNING"));
    const auto all
        = runOnPool(*pool, [](QSqlDatabase& db) { return taskRunHistories(db, QStringLiteral("run-1")); });
    QCOMPARE(all.size(), 2);
    QCOMPARE(all.value(QStringLiteral("task-1")).size(), 2);
    QCOMPARE(all.value(QStringLiteral("task-1")).at(1).state, QStringLiteral("RUNNING"));
    QCOMPARE(all.value(QStringLiteral("task-2")).size(), 1);
    QCOMPARE(all.value(QStringLiteral("task-2")).at(0).message, QStringLiteral("done"));

    if (backend == u"sqlite") {
        // Both flow-level reads use an index, not a scan of every transition ever written.
        const QString plans = runOnPool(*pool, [](QSqlDatabase& db) {
            QString out;
            for (const QString& sql :
                 {QStringLiteral("SELECT time FROM state_history WHERE flow_run_id = 'run-1' AND "
                                 "task_run_id IS NULL ORDER BY id"),
                  QStringLiteral(
                      "SELECT h.time FROM task_runs t JOIN state_history h ON h.task_run_id = t.id "
                      "WHERE t.flow_run_id = 'run-1' ORDER BY h.id")}) {
                QSqlQuery q(db);
                if (!q.exec(QStringLiteral("EXPLAIN QUERY PLAN ") + sql))
                    throw DatabaseError(q.lastError().text().toStdString());
                while (q.next())
                    out += q.value(3).toString() + u'\n';
            }
            return out;
        });
        QVERIFY2(plans.contains(Version4HistoryIndex), qPrintable(plans));
        QVERIFY2(plans.contains(QStringLiteral("state_history_task_time_idx")), qPrintable(plans));
        QVERIFY2(!plans.contains(QStringLiteral("SCAN h"))
                     && !plans.contains(QStringLiteral("SCAN state_history")),
                 qPrintable(plans));
    }
}

void TestSchema::migratingTwiceIsANoOp()
{
    QFETCH(QString, backend);
    FLOWDECK_FRESH_DATABASE(url, backend);
    auto pool = makePool(url);
    runOnPool(*pool, [](QSqlDatabase& db) {
        schema::migrate(db);
        execOrThrow(db, OneRowEach.value(8)); // a setting
    });
    const QStringList tablesBefore = runOnPool(*pool, [](QSqlDatabase& db) { return db.tables(); });
    runOnPool(*pool, [](QSqlDatabase& db) { schema::migrate(db); });
    runOnPool(*pool, [](QSqlDatabase& db) { schema::migrateTo(db, 1); }); // never downgrades
    QCOMPARE(runOnPool(*pool, [](QSqlDatabase& db) { return schema::currentVersion(db); }),
             schema::latestVersion());
    QCOMPARE(runOnPool(*pool, [](QSqlDatabase& db) { return count(db, QStringLiteral("schema_version")); }),
             qint64(1));
    QCOMPARE(runOnPool(*pool, [](QSqlDatabase& db) { return count(db, QStringLiteral("settings")); }),
             qint64(1));
    QStringList tablesAfter = runOnPool(*pool, [](QSqlDatabase& db) { return db.tables(); });
    QStringList sortedBefore = tablesBefore;
    std::sort(sortedBefore.begin(), sortedBefore.end());
    std::sort(tablesAfter.begin(), tablesAfter.end());
    QCOMPARE(tablesAfter, sortedBefore);
}

void TestSchema::failedStepRollsBack()
{
    QFETCH(QString, backend);
    FLOWDECK_FRESH_DATABASE(url, backend);
    auto pool = makePool(url);
    // An object in the way of version 2's index makes that step fail after it added its column.
    runOnPool(*pool, [](QSqlDatabase& db) {
        schema::migrateTo(db, 1);
        execOrThrow(db, QStringLiteral("CREATE INDEX logs_task_id_idx ON logs (level)"));
    });
    const QString error
        = runOnPool(*pool, [](QSqlDatabase& db) { return databaseErrorOf([&db] { schema::migrate(db); }); });
    QVERIFY2(error.startsWith(QLatin1String("schema migration to version 2 failed: ")), qPrintable(error));
    QVERIFY(!error.contains(u'\n'));
    QCOMPARE(runOnPool(*pool, [](QSqlDatabase& db) { return schema::currentVersion(db); }), 1);
    QVERIFY2(!runOnPool(*pool,
                        [](QSqlDatabase& db) {
                            return hasColumn(db, QStringLiteral("task_runs"), QStringLiteral("result"));
                        }),
             "the step's earlier statements were rolled back with it");

    runOnPool(*pool, [](QSqlDatabase& db) {
        execOrThrow(db, QStringLiteral("DROP INDEX logs_task_id_idx"));
        schema::migrate(db);
    });
    QCOMPARE(runOnPool(*pool, [](QSqlDatabase& db) { return schema::currentVersion(db); }),
             schema::latestVersion());
}

void TestSchema::concurrentMigrationsSucceed()
{
    QFETCH(QString, backend);
    constexpr int Connections = 4;
    for (int round = 0; round < 3; ++round) {
        FLOWDECK_FRESH_DATABASE(url, backend);
        std::atomic<int> arrived{0}, together{0}; // outlives the pool, whose jobs use it
        auto pool = makePool(url, Connections);
        std::vector<QCoro::Task<QString>> tasks;
        for (int i = 0; i < Connections; ++i) {
            tasks.push_back(pool->run([&](QSqlDatabase& db) {
                if (rendezvous(arrived, Connections))
                    ++together;
                return databaseErrorOf([&db] { schema::migrate(db); });
            }));
        }
        QTRY_VERIFY_WITH_TIMEOUT(
            std::all_of(tasks.begin(), tasks.end(), [](const auto& t) { return t.isReady(); }), 20000);
        QCOMPARE(together.load(), Connections); // all started at once, on their own connections
        for (auto& task : tasks) {
            const QString error = QCoro::waitFor(task);
            QVERIFY2(error.isEmpty(), qPrintable(error));
        }
        QCOMPARE(runOnPool(*pool, [](QSqlDatabase& db) { return schema::currentVersion(db); }),
                 schema::latestVersion());
        QCOMPARE(
            runOnPool(*pool, [](QSqlDatabase& db) { return count(db, QStringLiteral("schema_version")); }),
            qint64(1));
    }
}

void TestSchema::newerDatabaseIsRefused()
{
    QFETCH(QString, backend);
    FLOWDECK_FRESH_DATABASE(url, backend);
    auto pool = makePool(url);
    runOnPool(*pool, [](QSqlDatabase& db) {
        schema::migrate(db);
        execOrThrow(db, QStringLiteral("UPDATE schema_version SET version = 99"));
    });
    QCOMPARE(runOnPool(*pool, [](QSqlDatabase& db) { return schema::currentVersion(db); }), 99);
    const QString error
        = runOnPool(*pool, [](QSqlDatabase& db) { return databaseErrorOf([&db] { schema::migrate(db); }); });
    QCOMPARE(error,
             QStringLiteral("the database has schema version 99, newer than this build of Flowdeck "
                            "understands (%1)")
                 .arg(schema::latestVersion()));
    // The refusal left no transaction open.
    runOnPool(*pool, [](QSqlDatabase& db) { execOrThrow(db, OneRowEach.value(8)); });
}

void TestSchema::unknownTargetVersionIsRefused()
{
    auto pool = makePool(freshSqlitePath());
    const QString error = runOnPool(*pool, [](QSqlDatabase& db) {
        return databaseErrorOf([&db] { schema::migrateTo(db, schema::latestVersion() + 1); });
    });
    QCOMPARE(error,
             QStringLiteral("no schema version %1 (this build knows 0 to %2)")
                 .arg(schema::latestVersion() + 1)
                 .arg(schema::latestVersion()));
    QCOMPARE(runOnPool(*pool, [](QSqlDatabase& db) { return schema::currentVersion(db); }), 0);
}

QTEST_GUILESS_MAIN(TestSchema)
#include "tst_schema.moc"
