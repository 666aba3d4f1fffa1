#pragma once

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

//! Compact JSON text of \a object, as the store keeps documents and parameters.
QString jsonText(const QJsonObject& object);

/**
 * A transaction that reads, then writes. On SQLite it takes the write lock up front (BEGIN
 * IMMEDIATE): a plain BEGIN that reads first fails at once when another process wrote since.
 * Rolled back unless committed.
 */
class WriteTransaction {
public:
    WriteTransaction(QSqlDatabase& db, const QString& what);
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
