#include "store/sqlhelpers.h"

#include "store/connectionpool.h"

#include <QJsonDocument>
#include <QJsonObject>
#include <QSqlDriver>
#include <QSqlError>

#include <algorithm>
#include <chrono>
#include <thread>
#include <utility>

namespace flowdeck::sql {

bool isPostgres(const QSqlDatabase& db)
{
    return db.driver() && db.driver()->dbmsType() == QSqlDriver::PostgreSQL;
}

QString storageFailure(int sqliteCode)
{
    switch (sqliteCode & 0xff) { // the primary code of an extended one
    case 13:                     // SQLITE_FULL
        return QStringLiteral("disk full");
    case 10: // SQLITE_IOERR: also what a write past the file size limit (EFBIG) gives
        return QStringLiteral("disk I/O error (disk full or failing)");
    case 8: // SQLITE_READONLY
        return QStringLiteral("the database file cannot be written");
    case 11: // SQLITE_CORRUPT
    case 26: // SQLITE_NOTADB
        return QStringLiteral("the database file is damaged");
    default:
        return {};
    }
}

QString storageFailure(const QString& sqlState)
{
    if (sqlState == QLatin1String("53100"))
        return QStringLiteral("disk full");
    if (sqlState == QLatin1String("58030"))
        return QStringLiteral("disk I/O error");
    if (sqlState == QLatin1String("25006")) // read_only_sql_transaction
        return QStringLiteral("the database cannot be written");
    return {};
}

namespace {

QString failureOf(const QSqlError& error)
{
    const QString code = error.nativeErrorCode();
    bool numeric = false;
    const int sqliteCode = code.toInt(&numeric);
    // QSQLITE reports SQLite's result code, QPSQL the five-character SQLSTATE.
    if (numeric && code.size() < 5)
        return storageFailure(sqliteCode);
    if (!code.isEmpty())
        return storageFailure(code);
    // Qt's commit() and transaction() keep the driver's text but not its code: SQLite's fixed texts
    // for its result codes, and the operating system's for a full disk under PostgreSQL.
    const QString text = error.databaseText();
    static const std::pair<const char*, int> texts[] = {{"database or disk is full", 13},
                                                        {"No space left on device", 13},
                                                        {"disk I/O error", 10},
                                                        {"attempt to write a readonly database", 8},
                                                        {"database disk image is malformed", 11},
                                                        {"file is not a database", 26}};
    for (const auto& [known, sqlite] : texts) {
        if (text.contains(QLatin1String(known)))
            return storageFailure(sqlite);
    }
    return {};
}

} // namespace

void throwFor(const QSqlError& error, const QString& message)
{
    const QString failure = failureOf(error);
    if (!failure.isEmpty())
        throw StorageError(QString(failure + QStringLiteral(": ") + message).toStdString());
    throw DatabaseError(message.toStdString());
}

void fail(const QString& what, const QSqlError& error, const QString& statement)
{
    const QString text = error.databaseText().isEmpty() ? error.text() : error.databaseText();
    QString message = what + QStringLiteral(": ") + text.simplified();
    if (!statement.isEmpty())
        message += QStringLiteral(" (in \"") + statement.simplified().left(120) + QStringLiteral("\")");
    throwFor(error, message);
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

void addFlowHistory(QSqlDatabase& db, const QString& flowRunId, qint64 timeUs, const QString& state,
                    const QString& name, const QString& message, const QString& what)
{
    run(db,
        QStringLiteral("INSERT INTO state_history (flow_run_id, task_run_id, time, state, name, message) "
                       "VALUES (?, NULL, ?, ?, ?, ?)"),
        {flowRunId, timeUs, state, name, message}, what);
}

QString jsonText(const QJsonObject& object)
{
    return QString::fromUtf8(QJsonDocument(object).toJson(QJsonDocument::Compact));
}

void beginWrite(QSqlDatabase& db, const QString& what, int waitSeconds)
{
    if (isPostgres(db)) {
        execDirect(db, QStringLiteral("BEGIN"), what);
        return;
    }
    const QString begin = QStringLiteral("BEGIN IMMEDIATE");
    const auto started = std::chrono::steady_clock::now();
    const auto deadline = started + std::chrono::seconds(waitSeconds);
    for (int attempt = 0;; ++attempt) {
        QSqlQuery query(db);
        if (query.exec(begin))
            return;
        const QSqlError error = query.lastError();
        // SQLITE_BUSY, SQLITE_LOCKED: another connection writes, or switches a new file to WAL (which
        // fails at once, without SQLite's busy handler).
        const bool busy
            = error.nativeErrorCode() == QLatin1String("5") || error.nativeErrorCode() == QLatin1String("6");
        if (!busy)
            fail(what, error, begin);
        if (const auto now = std::chrono::steady_clock::now(); now >= deadline) {
            fail(QStringLiteral("%1: the database stayed locked by another process (waited %2 s)")
                     .arg(what)
                     .arg(std::chrono::duration<double>(now - started).count(), 0, 'f', 0),
                 error, begin);
        }
        // On a database thread, never the GUI thread: a short back-off before trying again.
        std::this_thread::sleep_for(std::chrono::milliseconds(std::min(200, 5 << std::min(attempt, 6))));
    }
}

WriteTransaction::WriteTransaction(QSqlDatabase& db, const QString& what, int waitSeconds)
    : m_db(db)
{
    beginWrite(db, what, waitSeconds);
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
