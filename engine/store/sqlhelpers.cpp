#include "store/sqlhelpers.h"

#include "store/connectionpool.h"

#include <QSqlDriver>
#include <QSqlError>

#include <chrono>

namespace flowdeck::sql {

bool isPostgres(const QSqlDatabase& db)
{
    return db.driver() && db.driver()->dbmsType() == QSqlDriver::PostgreSQL;
}

void fail(const QString& what, const QSqlError& error)
{
    const QString text = error.databaseText().isEmpty() ? error.text() : error.databaseText();
    throw DatabaseError(QString(what + QStringLiteral(": ") + text.simplified()).toStdString());
}

QSqlQuery run(QSqlDatabase& db, const QString& sql, const QVariantList& values, const QString& what)
{
    QSqlQuery query(db);
    query.setForwardOnly(true);
    if (!query.prepare(sql))
        fail(what, query.lastError());
    for (const QVariant& v : values)
        query.addBindValue(v);
    if (!query.exec())
        fail(what, query.lastError());
    return query;
}

void execDirect(QSqlDatabase& db, const QString& sql, const QString& what)
{
    QSqlQuery query(db);
    if (!query.exec(sql))
        fail(what, query.lastError());
}

} // namespace flowdeck::sql
