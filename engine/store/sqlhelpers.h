#pragma once

#include <QSqlDatabase>
#include <QSqlQuery>
#include <QString>
#include <QVariantList>

class QSqlError;

//! Small helpers shared by the query modules (storequeries, limitqueries, workerqueries): they run on a
//! database thread, inside ConnectionPool::run(), and report failures as DatabaseError.
namespace flowdeck::sql {

bool isPostgres(const QSqlDatabase& db);

//! Throws DatabaseError "what: the driver's message".
[[noreturn]] void fail(const QString& what, const QSqlError& error);

//! A forward-only query prepared with \a sql and bound to \a values, executed; throws on failure.
QSqlQuery run(QSqlDatabase& db, const QString& sql, const QVariantList& values, const QString& what);

//! Executes \a sql without parameters (statements such as BEGIN); throws on failure.
void execDirect(QSqlDatabase& db, const QString& sql, const QString& what);

} // namespace flowdeck::sql
