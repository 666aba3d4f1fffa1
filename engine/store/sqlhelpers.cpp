#include "store/sqlhelpers.h"

#include "store/connectionpool.h"

#include <QJsonDocument>
#include <QJsonObject>
#include <QSqlDriver>
#include <QSqlError>

namespace flowdeck::sql {

bool isPostgres(const QSqlDatabase& db)
{
    return db.driver() && db.driver()->dbmsType() == QSqlDriver::PostgreSQL;
}

void fail(const QString& what, const QSqlError& error, const QString& statement)
{
    const QString text = error.databaseText().isEmpty() ? error.text() : error.databaseText();
    QString message = what + QStringLiteral(": ") + text.simplified();
    if (!statement.isEmpty())
        message += QStringLiteral(" (in \"") + statement.simplified().left(120) + QStringLiteral("\")");
    throw DatabaseError(message.toStdString());
}

QSqlQuery run(QSqlDatabase& db, const QString& sql, const QVariantList& values, const QString& what)
{
    QSqlQuery query(db);
    query.setForwardOnly(true);
    if (!query.prepare(sql))
        fail(what, query.lastError());
    for (const QVariant& v : values)
        query.addBindValue(v);
    exec(query, what);
    return query;
}

void exec(QSqlQuery& query, const QString& what)
{
    if (!query.exec())
        fail(what, query.lastError());
}

void execDirect(QSqlDatabase& db, const QString& sql, const QString& what, Quote quote)
{
    QSqlQuery query(db);
    if (!query.exec(sql))
        fail(what, query.lastError(), quote == Quote::Statement ? sql : QString());
}

QString jsonText(const QJsonObject& object)
{
    return QString::fromUtf8(QJsonDocument(object).toJson(QJsonDocument::Compact));
}

WriteTransaction::WriteTransaction(QSqlDatabase& db, const QString& what)
    : m_db(db)
{
    execDirect(db, isPostgres(db) ? QStringLiteral("BEGIN") : QStringLiteral("BEGIN IMMEDIATE"), what);
}

WriteTransaction::~WriteTransaction()
{
    rollback();
}

void WriteTransaction::commit(const QString& what)
{
    execDirect(m_db, QStringLiteral("COMMIT"), what);
    m_done = true;
}

void WriteTransaction::rollback()
{
    if (m_done)
        return;
    m_done = true;
    QSqlQuery rollback(m_db);
    rollback.exec(QStringLiteral("ROLLBACK"));
}

} // namespace flowdeck::sql
