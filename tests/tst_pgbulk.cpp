// PostgreSQL bulk writes (store/pgbulk.h): rows sent by COPY, straight into the table or through a
// staging table for upserts and updates. Texts of any content come back unchanged, rows that are not there
// yet when they are updated are inserted, and a flow whose task runs straddle many batches (so that most are
// written by the UPDATE path) is stored exactly as it ran, on both backends.
#include "flow/taskkind.h"
#include "run/engine.h"
#include "run/flowrun.h"
#include "session/enginelink.h"
#include "store/connectionpool.h"
#include "store/databaseurl.h"
#include "store/pgbulk.h"
#include "store/sqlhelpers.h"
#include "store/store.h"
#include "testutil.h"

#include <QSqlQuery>
#include <QTest>

#include <array>
#include <utility>

using namespace flowdeck;
using namespace flowdeck::test;

namespace {

qint64 scalar(const QString& url, const QString& sql, const QVariantList& binds = {})
{
    return query(url, sql, binds).value(0).value(0).toLongLong();
}

std::unique_ptr<ConnectionPool> openPool(const QString& urlText)
{
    QString error;
    const auto url = DatabaseUrl::parse(urlText, &error);
    if (!url)
        return nullptr;
    return std::make_unique<ConnectionPool>(*url);
}

} // namespace

class TestPgBulk : public QObject {
    Q_OBJECT

private Q_SLOTS:
    //! COPY (plain inserts), an upsert and an update (array literals) each store any text unchanged.
    void textsRoundTrip_data()
    {
        QTest::addColumn<QString>("path");
        QTest::newRow("copy") << QStringLiteral("copy");
        QTest::newRow("upsert") << QStringLiteral("upsert");
        QTest::newRow("update") << QStringLiteral("update");
    }
    void textsRoundTrip()
    {
        QFETCH(QString, path);
        FLOWDECK_FRESH_DATABASE(url, QStringLiteral("postgres"));
        const QStringList texts{QString(),
                                QStringLiteral("plain"),
                                QStringLiteral("NULL"),
                                QStringLiteral("with \"quotes\" and \\backslashes\\"),
                                QStringLiteral("{braces}, commas, 'single quotes'"),
                                QStringLiteral("line\nbreak\ttab\rreturn"),
                                QStringLiteral("\\N"),
                                QStringLiteral(" spaces around "),
                                QStringLiteral("ünïcödé ✓ 漢字"),
                                QStringLiteral("\\\""),
                                QStringLiteral("'); DROP TABLE bulk; --"),
                                QStringLiteral("$$ $q$ E'\\'' ''")};
        auto pool = openPool(url);
        QVERIFY(pool);
        int found = -1;
        runOnPool(*pool, [&texts, &path, &found](QSqlDatabase& db) {
            sql::execDirect(db, QStringLiteral("CREATE TABLE bulk (i BIGINT PRIMARY KEY, t TEXT, n BIGINT)"),
                            QStringLiteral("test"));
            if (path == u"update") {
                // Rows to update: every one there already, with other values.
                sql::execDirect(
                    db,
                    QStringLiteral("INSERT INTO bulk SELECT g, 'old', 7 FROM generate_series(0, %1) g")
                        .arg(texts.size()),
                    QStringLiteral("test"));
            }
            const std::vector<pg::Column> columns{{QStringLiteral("i"), pg::ColumnType::Int},
                                                  {QStringLiteral("t"), pg::ColumnType::Text},
                                                  {QStringLiteral("n"), pg::ColumnType::Int}};
            pg::BulkInsert insert(db, QStringLiteral("bulk"), columns,
                                  path == u"upsert" ? QStringLiteral("ON CONFLICT (i) DO NOTHING")
                                                    : QString());
            if (path == u"update")
                insert.willUpdate();
            for (qsizetype i = 0; i < texts.size(); ++i) {
                insert.int64(i);
                insert.text(texts[i]);
                if (i % 2)
                    insert.null();
                else
                    insert.int64(-i * 1000000000000LL);
                insert.endRow();
            }
            // An explicit NULL is not the text "NULL".
            insert.int64(texts.size());
            insert.null();
            insert.null();
            insert.endRow();
            if (path == u"update")
                found = insert.flushAsUpdate(QStringLiteral("i"),
                                             QStringLiteral("t = excluded.t, n = excluded.n"));
            else
                insert.flush();
        });
        if (path == u"update")
            QCOMPARE(found, int(texts.size() + 1)); // every row was there: none inserted
        const auto rows = query(url, QStringLiteral("SELECT i, t, n FROM bulk ORDER BY i"));
        QCOMPARE(rows.size(), texts.size() + 1);
        for (qsizetype i = 0; i < texts.size(); ++i) {
            QCOMPARE(rows[i].value(0).toLongLong(), qint64(i));
            QCOMPARE(rows[i].value(1).toString(), texts[i].isNull() ? QStringLiteral("") : texts[i]);
            QCOMPARE(rows[i].value(1).isNull(), false);
            if (i % 2)
                QVERIFY(rows[i].value(2).isNull());
            else
                QCOMPARE(rows[i].value(2).toLongLong(), -i * 1000000000000LL);
        }
        QVERIFY(rows.last().value(1).isNull());
        QVERIFY(rows.last().value(2).isNull());
    }

    //! A COPY larger than one piece is streamed while rows are added: every row arrives; a row the
    //! server refuses fails the write with the server's reason, and the connection goes on working.
    void streamedCopyStoresEveryRowOrFailsWhole()
    {
        FLOWDECK_FRESH_DATABASE(url, QStringLiteral("postgres"));
        auto pool = openPool(url);
        QVERIFY(pool);
        constexpr int Rows = 30000; // about 3 MB of COPY text: many pieces
        QString error;
        runOnPool(*pool, [&error](QSqlDatabase& db) {
            sql::execDirect(db, QStringLiteral("CREATE TABLE bulk (i BIGINT PRIMARY KEY, t TEXT)"),
                            QStringLiteral("test"));
            const QByteArray filler(80, 'x');
            {
                pg::BulkInsert insert(db, QStringLiteral("bulk"),
                                      {{QStringLiteral("i"), pg::ColumnType::Int},
                                       {QStringLiteral("t"), pg::ColumnType::Text}});
                for (int i = 0; i < Rows; ++i) {
                    insert.int64(i);
                    insert.utf8(filler);
                    insert.endRow();
                }
                insert.flush();
            }
            // Again, with a duplicate key in the first piece: nothing of it is stored.
            if (!db.transaction())
                throw DatabaseError("no transaction");
            try {
                pg::BulkInsert insert(db, QStringLiteral("bulk"),
                                      {{QStringLiteral("i"), pg::ColumnType::Int},
                                       {QStringLiteral("t"), pg::ColumnType::Text}});
                for (int i = 0; i < Rows; ++i) {
                    insert.int64(i == 10 ? 5 : Rows + i);
                    insert.utf8(filler);
                    insert.endRow();
                }
                insert.flush();
            } catch (const DatabaseError& e) {
                error = QString::fromUtf8(e.what());
            }
            db.rollback();
            // The connection is usable: an ordinary query after the failed COPY.
            sql::execDirect(db, QStringLiteral("INSERT INTO bulk VALUES (-1, 'after')"),
                            QStringLiteral("test"));
        });
        QVERIFY2(error.contains(QStringLiteral("writing")) && error.contains(QStringLiteral("bulk"))
                     && error.contains(QStringLiteral("duplicate key")),
                 qPrintable(error));
        QCOMPARE(scalar(url, QStringLiteral("SELECT count(*) FROM bulk")), qint64(Rows + 1));
        QCOMPARE(scalar(url, QStringLiteral("SELECT count(*) FROM bulk WHERE i >= 0 AND length(t) = 80")),
                 qint64(Rows));
    }

    //! A batch of a few rows finds them by the primary key: the planner knows how many rows come, so a
    //! large table is not scanned whole for each small batch.
    void fewRowsAreFoundByTheKey()
    {
        FLOWDECK_FRESH_DATABASE(url, QStringLiteral("postgres"));
        auto pool = openPool(url);
        QVERIFY(pool);
        const auto scans = runOnPool(*pool, [](QSqlDatabase& db) {
            sql::execDirect(db,
                            QStringLiteral("CREATE TABLE runs (id TEXT PRIMARY KEY, state TEXT, n BIGINT)"),
                            QStringLiteral("test"));
            sql::execDirect(db,
                            QStringLiteral("INSERT INTO runs SELECT 'run-' || g, 'PENDING', g FROM "
                                           "generate_series(1, 50000) g"),
                            QStringLiteral("test"));
            sql::execDirect(db, QStringLiteral("ANALYZE runs"), QStringLiteral("test"));
            if (!db.transaction())
                throw DatabaseError("no transaction");
            // Scans of the table counted by this connection (not yet flushed to the shared statistics).
            auto scans = [&db] {
                QSqlQuery q(db);
                if (!q.exec(QStringLiteral(
                        "SELECT seq_scan, idx_scan FROM pg_stat_xact_user_tables WHERE relname = 'runs'"))
                    || !q.next())
                    throw DatabaseError("no table statistics");
                return std::pair{q.value(0).toLongLong(), q.value(1).toLongLong()};
            };
            const auto before = scans();
            pg::BulkInsert update(db, QStringLiteral("runs"),
                                  {{QStringLiteral("id"), pg::ColumnType::Text},
                                   {QStringLiteral("state"), pg::ColumnType::Text},
                                   {QStringLiteral("n"), pg::ColumnType::Int}});
            update.willUpdate();
            update.utf8("run-4242");
            update.utf8("RUNNING");
            update.int64(1);
            update.endRow();
            const int found = update.flushAsUpdate(QStringLiteral("id"),
                                                   QStringLiteral("state = excluded.state, n = excluded.n"));
            const auto after = scans();
            db.commit();
            return std::array<qint64, 3>{found, after.first - before.first, after.second - before.second};
        });
        QCOMPARE(scans[0], qint64(1));
        QCOMPARE(scans[1], qint64(0)); // no scan of the 50,000 rows
        QVERIFY(scans[2] >= 1);
        QCOMPARE(query(url, QStringLiteral("SELECT state FROM runs WHERE id = 'run-4242'"))
                     .value(0)
                     .value(0)
                     .toString(),
                 QStringLiteral("RUNNING"));
    }

    void updateInsertsWhatIsMissing()
    {
        FLOWDECK_FRESH_DATABASE(url, QStringLiteral("postgres"));
        auto pool = openPool(url);
        QVERIFY(pool);
        const int found = runOnPool(*pool, [](QSqlDatabase& db) {
            sql::execDirect(db,
                            QStringLiteral("CREATE TABLE runs (id TEXT PRIMARY KEY, state TEXT, n BIGINT)"),
                            QStringLiteral("test"));
            sql::execDirect(
                db, QStringLiteral("INSERT INTO runs VALUES ('a', 'PENDING', 1), ('c', 'PENDING', 3)"),
                QStringLiteral("test"));
            pg::BulkInsert update(db, QStringLiteral("runs"),
                                  {{QStringLiteral("id"), pg::ColumnType::Text},
                                   {QStringLiteral("state"), pg::ColumnType::Text},
                                   {QStringLiteral("n"), pg::ColumnType::Int}});
            update.willUpdate();
            for (const char* id : {"a", "b", "c"}) {
                update.utf8(id);
                update.utf8("COMPLETED");
                update.int64(10);
                update.endRow();
            }
            // "b" has no row: the update changes two, and the rows are written again as an upsert.
            return update.flushAsUpdate(QStringLiteral("id"),
                                        QStringLiteral("state = excluded.state, n = excluded.n"));
        });
        QCOMPARE(found, 2);
        const auto rows = query(url, QStringLiteral("SELECT id, state, n FROM runs ORDER BY id"));
        QCOMPARE(rows.size(), 3);
        QCOMPARE(rows[1].value(0).toString(), QStringLiteral("b"));
        for (const auto& row : rows) {
            QCOMPARE(row.value(1).toString(), QStringLiteral("COMPLETED"));
            QCOMPARE(row.value(2).toLongLong(), qint64(10));
        }
    }

    void taskRunsAcrossBatchesMatchTheRun_data() { addBackendRows(); }
    void taskRunsAcrossBatchesMatchTheRun()
    {
        QFETCH(QString, backend);
        FLOWDECK_FRESH_DATABASE(url, backend);
        QString error;
        const auto parsed = DatabaseUrl::parse(url, &error);
        QVERIFY2(parsed, qPrintable(error));
        Engine engine;
        ConnectionPool pool(*parsed);
        Store store(pool, engine.scheduler());
        auto opening = store.open();
        finish(opening);
        EngineLink link(store, engine);
        // Small batches: most task runs are created in one batch and end in a later one.
        store.setMaxBatchTransitions(97);
        // The failure message holds what COPY and array literals escape: quotes, a backslash, braces.
        const auto flow = parseFlow("{\"name\": \"straddle\", \"tasks\": ["
                                    "{\"id\": \"a\", \"kind\": \"noop\", \"map\": 3000},"
                                    "{\"id\": \"b\", \"kind\": \"fail\", \"message\": \"it is \\\"broken\\\" "
                                    "\\\\ {really}\", \"depends_on\": [\"a\"]}]}");
        QVERIFY(flow);
        FlowRun* run = engine.start(*flow);
        QVERIFY(waitForFlow(engine, run, 60000));
        auto flushing = store.flush();
        finish(flushing);
        const QString id = run->id.toString();
        QCOMPARE(
            scalar(url,
                   QStringLiteral("SELECT count(*) FROM task_runs WHERE flow_run_id = ? AND task = 'a' "
                                  "AND state = 'COMPLETED' AND started_at > 0 AND ended_at >= started_at"),
                   {id}),
            qint64(3000));
        // Pending, Running and Completed of every run of a.
        QCOMPARE(scalar(url,
                        QStringLiteral(
                            "SELECT count(*) FROM state_history h JOIN task_runs t ON t.id = h.task_run_id "
                            "WHERE t.flow_run_id = ? AND t.task = 'a'"),
                        {id}),
                 qint64(3000 * 3));
        QCOMPARE(scalar(url,
                        QStringLiteral(
                            "SELECT count(*) FROM task_runs t WHERE flow_run_id = ? AND state <> (SELECT "
                            "h.state FROM state_history h WHERE h.task_run_id = t.id ORDER BY h.time DESC, "
                            "h.id DESC LIMIT 1)"),
                        {id}),
                 qint64(0));
        const auto b = query(
            url, QStringLiteral("SELECT state, message FROM task_runs WHERE flow_run_id = ? AND task = 'b'"),
            {id});
        QCOMPARE(b.value(0).value(0).toString(), QStringLiteral("FAILED"));
        QVERIFY2(b.value(0).value(1).toString().contains(QStringLiteral("it is \"broken\" \\ {really}")),
                 qPrintable(b.value(0).value(1).toString()));
        const StoreMetrics m = store.metrics();
        QVERIFY2(m.batches > 50, qPrintable(QString::number(m.batches)));
    }
};

QTEST_GUILESS_MAIN(TestPgBulk)
#include "tst_pgbulk.moc"
