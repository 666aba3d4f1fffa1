// The SQLite file a connection pool opens: private to its user, in WAL mode with the settings the
// store relies on, and with a write-ahead log that does not stay at the size of its largest burst.
#include "store/connectionpool.h"
#include "testutil.h"

#include <QFile>
#include <QFileInfo>
#include <QSqlError>
#include <QSqlQuery>
#include <QTest>

#include <sys/stat.h>

using namespace flowdeck;
using namespace flowdeck::test;

namespace {

} // namespace

class TestSqliteFile : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void sqliteFileIsPrivateAndConfigured();
    void walShrinksBackAfterABurst();
};

void TestSqliteFile::sqliteFileIsPrivateAndConfigured()
{
    const QString path = freshSqlitePath();
    const mode_t previous = ::umask(022); // the usual umask would give SQLite's own files 0644
    ConnectionPool pool(*DatabaseUrl::parse(path, nullptr));
    struct Pragmas {
        QString journal;
        qint64 synchronous, foreignKeys, busyTimeout;
    };
    const Pragmas p = runOnPool(pool, [](QSqlDatabase& db) {
        QSqlQuery query(db);
        query.exec(QStringLiteral("PRAGMA journal_mode"));
        query.next();
        Pragmas out{query.value(0).toString(), 0, 0, 0};
        out.synchronous = scalar(db, QStringLiteral("PRAGMA synchronous"));
        out.foreignKeys = scalar(db, QStringLiteral("PRAGMA foreign_keys"));
        out.busyTimeout = scalar(db, QStringLiteral("PRAGMA busy_timeout"));
        execOrThrow(db, QStringLiteral("CREATE TABLE t (n INTEGER)"));
        return out;
    });
    ::umask(previous);
    QCOMPARE(p.journal, QStringLiteral("wal"));
    QCOMPARE(p.synchronous, qint64(1)); // NORMAL
    QCOMPARE(p.foreignKeys, qint64(1));
    QCOMPARE(p.busyTimeout, qint64(5000));

    struct stat st {};
    QCOMPARE(::stat(QFile::encodeName(path).constData(), &st), 0);
    QCOMPARE(st.st_mode & 0777, mode_t(0600));
    QVERIFY2(QFile::exists(path + QStringLiteral("-wal")), "write-ahead log in use");
    QCOMPARE(::stat(QFile::encodeName(path + QStringLiteral("-wal")).constData(), &st), 0);
    QCOMPARE(st.st_mode & 0777, mode_t(0600));
}

void TestSqliteFile::walShrinksBackAfterABurst()
{
    // One transaction writes more than the limit into the log; once a checkpoint has copied it all,
    // the next write starts the log again from its beginning and cuts the file back.
    const QString path = freshSqlitePath();
    ConnectionPool pool(*DatabaseUrl::parse(path, nullptr));
    const qint64 burst = ConnectionPool::WalSizeLimitBytes + 16 * 1024 * 1024;
    runOnPool(pool, [burst](QSqlDatabase& db) {
        execOrThrow(db, QStringLiteral("CREATE TABLE t (b BLOB)"));
        execOrThrow(db, QStringLiteral("BEGIN"));
        QSqlQuery insert(db);
        insert.prepare(QStringLiteral("INSERT INTO t (b) VALUES (?)"));
        const QByteArray blob(64 * 1024, 'x');
        for (qint64 written = 0; written < burst; written += blob.size()) {
            insert.addBindValue(blob);
            if (!insert.exec())
                throw DatabaseError(insert.lastError().text().toStdString());
        }
        insert.finish();
        execOrThrow(db, QStringLiteral("COMMIT"));
    });
    const QString wal = path + QStringLiteral("-wal");
    QVERIFY2(QFileInfo(wal).size() > burst, "the burst went through the log");
    runOnPool(pool, [](QSqlDatabase& db) {
        execOrThrow(db, QStringLiteral("PRAGMA wal_checkpoint(PASSIVE)"));
        execOrThrow(db, QStringLiteral("INSERT INTO t (b) VALUES (NULL)"));
    });
    QVERIFY2(QFileInfo(wal).size() <= ConnectionPool::WalSizeLimitBytes,
             qPrintable(QStringLiteral("the log stayed at %1 bytes").arg(QFileInfo(wal).size())));
}

QTEST_GUILESS_MAIN(TestSqliteFile)
#include "tst_sqlitefile.moc"
