#include "store/pgbulk.h"

#include "store/connectionpool.h"
#include "store/sqlhelpers.h"
#include "store/store.h"

#include <QLoggingCategory>
#include <QSqlDriver>
#include <QStringList>

#include <cstdio>
#include <libpq-fe.h>
#include <memory>

namespace flowdeck::pg {

namespace {

//! The libpq connection behind a Qt connection (Qt documents QSqlDriver::handle() for this), or null.
PGconn* pgHandle(QSqlDatabase& db)
{
    // The driver declares the pointer as an opaque metatype whose name varies ("PGconn*", "pg_conn*").
    const QVariant handle = db.driver()->handle();
    const QByteArray type = handle.typeName();
    if (db.driverName() == QLatin1String("QPSQL") && (type == "PGconn*" || type == "pg_conn*"))
        return *static_cast<PGconn* const*>(handle.constData());
    qCWarning(lcStore) << "no libpq connection behind the driver's handle of type" << type;
    return nullptr;
}

struct ResultDeleter {
    void operator()(PGresult* r) const { PQclear(r); }
};
using Result = std::unique_ptr<PGresult, ResultDeleter>;

[[noreturn]] void failWithState(const QString& what, const QByteArray& sqlState, const QByteArray& message)
{
    const QString text = what + QStringLiteral(": ") + QString::fromUtf8(message).trimmed();
    if (const QString failure = sql::storageFailure(QString::fromLatin1(sqlState)); !failure.isEmpty())
        throw sql::StorageError(QString(failure + QStringLiteral(": ") + text).toStdString());
    throw DatabaseError(text.toStdString());
}

//! Throws for \a result's error, or the connection's when there is no result.
[[noreturn]] void failOn(PGconn* conn, const QString& what, PGresult* result)
{
    failWithState(what, result ? QByteArray(PQresultErrorField(result, PG_DIAG_SQLSTATE)) : QByteArray(),
                  result ? QByteArray(PQresultErrorMessage(result)) : QByteArray(PQerrorMessage(conn)));
}

} // namespace

void appendCopyField(QByteArray& out, QByteArrayView s)
{
    qsizetype start = 0;
    for (qsizetype i = 0; i < s.size(); ++i) {
        const char c = s[i];
        const char* escaped = c == '\\' ? "\\\\"
            : c == '\t'                 ? "\\t"
            : c == '\n'                 ? "\\n"
            : c == '\r'                 ? "\\r"
                                        : nullptr;
        if (!escaped)
            continue;
        out.append(s.sliced(start, i - start));
        out.append(escaped);
        start = i + 1;
    }
    out.append(s.sliced(start));
}

void appendArrayElement(QByteArray& array, QByteArrayView s)
{
    array.append('"');
    qsizetype start = 0;
    for (qsizetype i = 0; i < s.size(); ++i) {
        const char c = s[i];
        if (c == '"' || c == '\\') {
            array.append(s.sliced(start, i - start));
            array.append('\\');
            start = i;
        }
    }
    array.append(s.sliced(start));
    array.append('"');
}

BulkInsert::BulkInsert(QSqlDatabase& db, const QString& table, std::vector<Column> columns,
                       const QString& suffix)
    : m_db(db)
    , m_conn(pgHandle(db))
    , m_table(table)
    , m_columns(std::move(columns))
    , m_suffix(suffix)
{
    if (!m_conn)
        throw DatabaseError("bulk writes need a PostgreSQL connection");
    QStringList names;
    for (const Column& c : m_columns)
        names << c.name;
    m_columnList = names.join(u',');
    m_arrays.resize(m_columns.size());
}

BulkInsert::~BulkInsert()
{
    // Left by an exception: the server drops the rows and the connection is usable again.
    if (m_copying)
        PQputCopyEnd(m_conn, "abandoned");
    if (m_copying || m_ended) {
        while (PGresult* r = PQgetResult(m_conn))
            PQclear(r);
    }
}

void BulkInsert::willUpdate()
{
    Q_ASSERT(m_rows == 0 && m_column == 0);
    m_arrayMode = true;
}

void BulkInsert::append(QByteArrayView value, bool quoted)
{
    Q_ASSERT(m_column < m_columns.size());
    Q_ASSERT(!m_ended); // flush() comes between send() and more rows
    if (copies()) {
        if (m_column > 0)
            m_data.append('\t');
        if (quoted)
            appendCopyField(m_data, value);
        else
            m_data.append(value);
    } else {
        QByteArray& array = m_arrays[m_column];
        array.append(array.isEmpty() ? '{' : ',');
        if (quoted)
            appendArrayElement(array, value);
        else
            array.append(value);
    }
    ++m_column;
}

void BulkInsert::null()
{
    append(copies() ? QByteArrayView("\\N") : QByteArrayView("NULL"), false);
}

void BulkInsert::int64(qint64 v)
{
    Q_ASSERT(m_columns[m_column].type == ColumnType::Int);
    char digits[24];
    const int n = std::snprintf(digits, sizeof digits, "%lld", static_cast<long long>(v));
    append(QByteArrayView(digits, n), false);
}

void BulkInsert::text(QStringView s)
{
    Q_ASSERT(m_columns[m_column].type == ColumnType::Text);
    append(s.toUtf8(), true);
}

void BulkInsert::utf8(QByteArrayView s)
{
    Q_ASSERT(m_columns[m_column].type == ColumnType::Text);
    append(s, true);
}

void BulkInsert::endRow()
{
    Q_ASSERT(m_column == m_columns.size());
    m_column = 0;
    ++m_rows;
    if (copies()) {
        m_data.append('\n');
        if (m_data.size() >= CopyChunkBytes)
            sendCopyData();
    }
}

void BulkInsert::failWith(const QString& what, PGresult* result) const
{
    failOn(m_conn, what, result);
}

void BulkInsert::fail(const QString& what, const QByteArray& sqlState, const QByteArray& message) const
{
    failWithState(what, sqlState, message);
}

int BulkInsert::exec(const QString& sql, const QString& what)
{
    const Result r(PQexec(m_conn, sql.toUtf8().constData()));
    const ExecStatusType status = r ? PQresultStatus(r.get()) : PGRES_FATAL_ERROR;
    if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK)
        failWith(what, r.get());
    return QByteArray(PQcmdTuples(r.get())).toInt();
}

void appendStringLiteral(QByteArray& out, QByteArrayView s)
{
    // E'' means the same whatever standard_conforming_strings says: only ' and \ need escaping.
    out.append("E'");
    qsizetype start = 0;
    for (qsizetype i = 0; i < s.size(); ++i) {
        const char c = s[i];
        if (c == '\'' || c == '\\') {
            out.append(s.sliced(start, i - start));
            out.append(c);
            start = i; // the character itself follows: doubled
        }
    }
    out.append(s.sliced(start));
    out.append('\'');
}

QByteArray BulkInsert::unnestRows() const
{
    QByteArray out("unnest(");
    for (size_t i = 0; i < m_columns.size(); ++i) {
        if (i > 0)
            out.append(',');
        appendStringLiteral(out, QByteArray(m_arrays[i] + '}'));
        out.append(m_columns[i].type == ColumnType::Int ? "::bigint[]" : "::text[]");
    }
    out.append(") AS excluded (");
    out.append(m_columnList.toUtf8());
    out.append(')');
    return out;
}

void BulkInsert::clearRows()
{
    for (QByteArray& array : m_arrays)
        array.clear();
    m_data.clear();
    m_rows = 0;
}

Statement BulkInsert::takeInsert()
{
    if (m_rows == 0)
        return {};
    Q_ASSERT(!copies());
    Statement out{QStringLiteral("INSERT INTO %1 (%2) SELECT %2 FROM ").arg(m_table, m_columnList).toUtf8(),
                  m_rows,
                  {}};
    out.sql.append(unnestRows());
    out.sql.append(' ');
    out.sql.append(m_suffix.toUtf8());
    clearRows();
    return out;
}

Statement BulkInsert::takeUpdate(const QString& key, const QString& set)
{
    if (m_rows == 0)
        return {};
    if (copies())
        throw DatabaseError("an update needs BulkInsert::willUpdate() before its rows");
    const QByteArray rows = unnestRows();
    Statement out{QStringLiteral("UPDATE %1 SET %2 FROM ").arg(m_table, set).toUtf8(), m_rows, {}};
    out.sql.append(rows);
    out.sql.append(QStringLiteral(" WHERE %1.%2 = excluded.%2").arg(m_table, key).toUtf8());
    out.insertMissing
        = QStringLiteral("INSERT INTO %1 (%2) SELECT %2 FROM ").arg(m_table, m_columnList).toUtf8();
    out.insertMissing.append(rows);
    out.insertMissing.append(QStringLiteral(" ON CONFLICT (%1) DO UPDATE SET %2").arg(key, set).toUtf8());
    clearRows();
    return out;
}

Statement BulkInsert::takeUpdateOnly(const QString& key, const QString& set)
{
    Statement out = takeUpdate(key, set);
    out.insertMissing.clear();
    return out;
}

void BulkInsert::sendCopyData()
{
    const QString what = QStringLiteral("writing %1 rows into %2").arg(m_rows).arg(m_table);
    if (!m_copying) {
        const Result r(PQexec(
            m_conn,
            QStringLiteral("COPY %1 (%2) FROM STDIN").arg(m_table, m_columnList).toUtf8().constData()));
        if (!r || PQresultStatus(r.get()) != PGRES_COPY_IN)
            failWith(what, r.get());
        m_copying = true;
    }
    if (m_data.isEmpty())
        return;
    if (PQputCopyData(m_conn, m_data.constData(), int(m_data.size())) != 1) {
        const QByteArray message = PQerrorMessage(m_conn);
        m_copying = false;
        m_ended = true;
        readCopyResult(); // the server's reason, if it gave one
        fail(what, {}, message);
    }
    m_data.clear();
}

void BulkInsert::send()
{
    if (!copies() || (m_rows == 0 && !m_copying) || m_ended)
        return;
    sendCopyData();
    m_copying = false;
    m_ended = true;
    if (PQputCopyEnd(m_conn, nullptr) != 1)
        readCopyResult(); // reports why
}

void BulkInsert::readCopyResult()
{
    if (!m_ended)
        return;
    m_ended = false;
    const QString what = QStringLiteral("writing %1 rows into %2").arg(m_rows).arg(m_table);
    m_rows = 0;
    // Every result of the COPY is read, so that the connection is ready for the next statement.
    QByteArray state;
    QByteArray message;
    while (PGresult* raw = PQgetResult(m_conn)) {
        const Result r(raw);
        if (PQresultStatus(raw) != PGRES_COMMAND_OK && message.isEmpty()) {
            state = PQresultErrorField(raw, PG_DIAG_SQLSTATE);
            message = PQresultErrorMessage(raw);
        }
    }
    if (message.isEmpty() && PQstatus(m_conn) != CONNECTION_OK)
        message = PQerrorMessage(m_conn);
    if (!message.isEmpty())
        fail(what, state, message);
}

void BulkInsert::flush()
{
    if (copies()) {
        send();
        readCopyResult();
        return;
    }
    const int rows = m_rows;
    if (Statement insert = takeInsert(); !insert.sql.isEmpty())
        execAll(m_db, {insert}, QStringLiteral("writing %1 rows into %2").arg(rows).arg(m_table));
}

int BulkInsert::flushAsUpdateOnly(const QString& key, const QString& set)
{
    const int rows = m_rows;
    const Statement update = takeUpdateOnly(key, set);
    if (update.sql.isEmpty())
        return 0;
    return execAll(m_db, {update}, QStringLiteral("updating %1 rows of %2").arg(rows).arg(m_table)).value(0);
}

int BulkInsert::flushAsUpdate(const QString& key, const QString& set)
{
    const int rows = m_rows;
    const Statement update = takeUpdate(key, set);
    if (update.sql.isEmpty())
        return 0;
    return execAll(m_db, {update}, QStringLiteral("updating %1 rows of %2").arg(rows).arg(m_table)).value(0);
}

namespace {

//! Sends \a statements as one query and reads every result: the rows each changed.
QList<int> execTogether(PGconn* conn, const QList<const QByteArray*>& statements, const QString& what)
{
    QByteArray sql;
    for (const QByteArray* statement : statements) {
        if (!sql.isEmpty())
            sql.append(";\n");
        sql.append(*statement);
    }
    QList<int> changed;
    if (sql.isEmpty())
        return changed;
    if (PQsendQuery(conn, sql.constData()) != 1)
        failOn(conn, what, nullptr);
    // Every result is read, so that the connection is ready for the next statement; the first error counts.
    Result error;
    while (PGresult* raw = PQgetResult(conn)) {
        Result r(raw);
        const ExecStatusType status = PQresultStatus(raw);
        if (status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK)
            changed << QByteArray(PQcmdTuples(raw)).toInt();
        else if (!error)
            error = std::move(r);
    }
    if (error || PQstatus(conn) != CONNECTION_OK)
        failOn(conn, what, error.get());
    return changed;
}

} // namespace

QList<int> execAll(QSqlDatabase& db, const QList<Statement>& statements, const QString& what)
{
    PGconn* conn = pgHandle(db);
    if (!conn)
        throw DatabaseError("bulk writes need a PostgreSQL connection");
    QList<const QByteArray*> texts;
    for (const Statement& s : statements) {
        if (!s.sql.isEmpty())
            texts << &s.sql;
    }
    const QList<int> changed = execTogether(conn, texts, what);
    QList<const QByteArray*> missing;
    qsizetype i = 0;
    for (const Statement& s : statements) {
        if (s.sql.isEmpty())
            continue;
        if (!s.insertMissing.isEmpty() && changed.value(i) != s.rows)
            missing << &s.insertMissing;
        ++i;
    }
    execTogether(conn, missing, what);
    return changed;
}

} // namespace flowdeck::pg
