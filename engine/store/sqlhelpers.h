#pragma once

#include "store/connectionpool.h"

#include <QSqlDatabase>
#include <QSqlQuery>
#include <QString>
#include <QVariantList>

class QJsonObject;
class QSqlError;

//! Small helpers shared by the store's SQL (batch writer, recovery, schema, the query modules): they
//! run on a database thread, inside ConnectionPool::run(), and report failures as DatabaseError.
namespace flowdeck::sql {

bool isPostgres(const QSqlDatabase& db);

/**
 * A database error that retrying does not cure: the disk is full, the storage cannot be written or
 * read back, the file is not a database. A writer stops at once instead of retrying; what() starts
 * with what happened in plain words ("disk full: ...").
 */
class StorageError : public DatabaseError {
public:
    using DatabaseError::DatabaseError;
};

//! For a failure of a SQLite call (\a sqliteCode, the primary result code) or a PostgreSQL
//! statement (\a sqlState): a plain prefix such as "disk full" when it is a StorageError, else empty.
QString storageFailure(int sqliteCode);
QString storageFailure(const QString& sqlState);

//! Throws StorageError when \a error is a storage failure (see storageFailure), else DatabaseError,
//! with \a message.
[[noreturn]] void throwFor(const QSqlError& error, const QString& message);

//! Throws DatabaseError "what: the driver's message", followed by the statement when one is given.
[[noreturn]] void fail(const QString& what, const QSqlError& error, const QString& statement = {});

//! A forward-only query prepared with \a sql and bound to \a values, executed; throws on failure.
QSqlQuery run(QSqlDatabase& db, const QString& sql, const QVariantList& values, const QString& what);

//! Executes the prepared \a query; throws on failure.
void exec(QSqlQuery& query, const QString& what);

//! Whether a failure message quotes the statement that failed.
enum class Quote { None, Statement };

//! Executes \a sql without parameters (statements such as BEGIN); throws on failure.
void execDirect(QSqlDatabase& db, const QString& sql, const QString& what, Quote quote = Quote::None);

//! Adds a flow run's own state change (no task run) to state_history; \a what names it in errors.
void addFlowHistory(QSqlDatabase& db, const QString& flowRunId, qint64 timeUs, const QString& state,
                    const QString& name, const QString& message, const QString& what);

//! Compact JSON text of \a object, as the store keeps documents and parameters.
QString jsonText(const QJsonObject& object);

//! How long opening a busy SQLite database waits for another process's write lock (migration,
//! recovery, WriteTransaction) before it gives up with a message saying so.
constexpr int BusyWaitSeconds = 30;

/**
 * Starts a write transaction: SQLite BEGIN IMMEDIATE, waiting while another connection holds the
 * write lock (beyond SQLite's own busy timeout, which some lock states skip) for up to
 * \a waitSeconds (0: SQLite's busy timeout only); PostgreSQL BEGIN. Throws DatabaseError naming \a what.
 */
void beginWrite(QSqlDatabase& db, const QString& what, int waitSeconds = BusyWaitSeconds);

/**
 * A transaction that reads, then writes. On SQLite it takes the write lock up front (BEGIN
 * IMMEDIATE, see beginWrite): a plain BEGIN that reads first fails at once when another process
 * wrote since. Rolled back unless committed.
 */
class WriteTransaction {
public:
    WriteTransaction(QSqlDatabase& db, const QString& what, int waitSeconds = BusyWaitSeconds);
    ~WriteTransaction();
    WriteTransaction(const WriteTransaction&) = delete;
    WriteTransaction& operator=(const WriteTransaction&) = delete;

    void commit(const QString& what = QStringLiteral("committing"));
    //! Ends the transaction without writing anything (also done by the destructor).
    void rollback();

private:
    QSqlDatabase& m_db;
    bool m_done = false;
};

} // namespace flowdeck::sql
