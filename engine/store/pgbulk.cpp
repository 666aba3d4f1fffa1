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
    Q_ASSERT(copies());
    if (m_column > 0)
        m_data.append('\t');
    if (quoted)
        appendCopyField(m_data, value);
    else
        m_data.append(value);
    ++m_column;
}

namespace {

void appendInt32(QByteArray& out, qint32 v)
{
    const quint32 u = quint32(v);
    const char bytes[4] = {char(u >> 24), char(u >> 16), char(u >> 8), char(u)};
    out.append(bytes, 4);
}

} // namespace

void BulkInsert::element(const char* data, qsizetype size)
{
    // PostgreSQL's binary array format: each element its length (-1: NULL), then its bytes.
    Q_ASSERT(m_column < m_columns.size());
    QByteArray& array = m_arrays[m_column++];
    appendInt32(array, size < 0 ? -1 : qint32(size));
    if (size > 0)
        array.append(data, size);
}

void BulkInsert::null()
{
    if (copies())
        append(QByteArrayView("\\N"), false);
    else
        element(nullptr, -1);
}

void BulkInsert::int64(qint64 v)
{
    Q_ASSERT(m_columns[m_column].type == ColumnType::Int);
    if (!copies()) {
        const quint64 u = quint64(v);
        char bytes[8];
        for (int i = 0; i < 8; ++i)
            bytes[i] = char(u >> (56 - 8 * i));
        element(bytes, 8);
        return;
    }
    char digits[24];
    const int n = std::snprintf(digits, sizeof digits, "%lld", static_cast<long long>(v));
    append(QByteArrayView(digits, n), false);
}

void BulkInsert::text(QStringView s)
{
    utf8(s.toUtf8());
}

void BulkInsert::utf8(QByteArrayView s)
{
    Q_ASSERT(m_columns[m_column].type == ColumnType::Text);
    if (copies())
        append(s, true);
    else
        element(s.data(), s.size()); // never NULL: the empty text has length 0
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

namespace {

constexpr Oid TextArrayOid = 1009;
constexpr Oid Int8ArrayOid = 1016;
constexpr Oid TextOid = 25;
constexpr Oid Int8Oid = 20;

} // namespace

QString BulkInsert::unnestRows() const
{
    QStringList arrays;
    for (size_t i = 0; i < m_columns.size(); ++i) {
        arrays << QStringLiteral("$%1::%2[]")
                      .arg(i + 1)
                      .arg(m_columns[i].type == ColumnType::Int ? QStringLiteral("bigint")
                                                                : QStringLiteral("text"));
    }
    return QStringLiteral("unnest(%1) AS excluded (%2)").arg(arrays.join(u','), m_columnList);
}

std::vector<Parameter> BulkInsert::takeParameters()
{
    std::vector<Parameter> out;
    out.reserve(m_columns.size());
    for (size_t i = 0; i < m_columns.size(); ++i) {
        const bool isInt = m_columns[i].type == ColumnType::Int;
        QByteArray array;
        array.reserve(20 + m_arrays[i].size());
        appendInt32(array, 1); // dimensions
        appendInt32(array, 0); // flags (PostgreSQL finds the NULLs itself)
        appendInt32(array, qint32(isInt ? Int8Oid : TextOid));
        appendInt32(array, m_rows); // length
        appendInt32(array, 1);      // lower bound
        array.append(m_arrays[i]);
        out.push_back({isInt ? Int8ArrayOid : TextArrayOid, std::move(array)});
    }
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
    Statement out{QStringLiteral("INSERT INTO %1 (%2) SELECT %2 FROM %3 %4")
                      .arg(m_table, m_columnList, unnestRows(), m_suffix)
                      .toUtf8(),
                  takeParameters(),
                  m_rows,
                  {}};
    clearRows();
    return out;
}

Statement BulkInsert::takeUpdate(const QString& key, const QString& set)
{
    if (m_rows == 0)
        return {};
    if (copies())
        throw DatabaseError("an update needs BulkInsert::willUpdate() before its rows");
    Statement out{QStringLiteral("UPDATE %1 SET %2 FROM %3 WHERE %1.%4 = excluded.%4")
                      .arg(m_table, set, unnestRows(), key)
                      .toUtf8(),
                  takeParameters(), m_rows,
                  QStringLiteral("INSERT INTO %1 (%2) SELECT %2 FROM %3 ON CONFLICT (%4) DO UPDATE SET %5")
                      .arg(m_table, m_columnList, unnestRows(), key, set)
                      .toUtf8()};
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

//! One statement to send: its text and its parameters (binary).
struct Outgoing {
    const QByteArray* sql;
    const std::vector<Parameter>* parameters;
};

/**
 * Sends \a statements in pipeline mode (one round trip: the server runs them one after the other while
 * they arrive) and reads every result: the rows each changed.
 */
QList<int> execTogether(PGconn* conn, const QList<Outgoing>& statements, const QString& what)
{
    QList<int> changed;
    if (statements.isEmpty())
        return changed;
    if (PQenterPipelineMode(conn) != 1)
        failOn(conn, what, nullptr);
    bool sent = true;
    for (const Outgoing& s : statements) {
        std::vector<Oid> types;
        std::vector<const char*> values;
        std::vector<int> lengths;
        std::vector<int> formats;
        for (const Parameter& p : *s.parameters) {
            types.push_back(p.type);
            values.push_back(p.value.constData());
            lengths.push_back(int(p.value.size()));
            formats.push_back(1);
        }
        if (PQsendQueryParams(conn, s.sql->constData(), int(values.size()), types.data(), values.data(),
                              lengths.data(), formats.data(), 0)
            != 1) {
            sent = false;
            break;
        }
    }
    const QByteArray sendError = sent ? QByteArray() : QByteArray(PQerrorMessage(conn));
    const bool synced = PQpipelineSync(conn) == 1;
    // Every result is read, so that the connection is ready for the next statement; the first error counts.
    Result error;
    for (;;) {
        PGresult* raw = PQgetResult(conn);
        if (!raw) {
            if (PQstatus(conn) != CONNECTION_OK || !synced)
                break;
            continue; // the end of one statement's results
        }
        Result r(raw);
        const ExecStatusType status = PQresultStatus(raw);
        if (status == PGRES_PIPELINE_SYNC)
            break;
        if (status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK)
            changed << QByteArray(PQcmdTuples(raw)).toInt();
        else if (!error && status != PGRES_PIPELINE_ABORTED)
            error = std::move(r);
    }
    PQexitPipelineMode(conn);
    if (error || PQstatus(conn) != CONNECTION_OK)
        failOn(conn, what, error.get());
    if (!sent || !synced)
        failWithState(what, {}, sent ? QByteArray(PQerrorMessage(conn)) : sendError);
    return changed;
}

} // namespace

QList<int> execAll(QSqlDatabase& db, const QList<Statement>& statements, const QString& what)
{
    PGconn* conn = pgHandle(db);
    if (!conn)
        throw DatabaseError("bulk writes need a PostgreSQL connection");
    QList<Outgoing> outgoing;
    for (const Statement& s : statements) {
        if (!s.sql.isEmpty())
            outgoing << Outgoing{&s.sql, &s.parameters};
    }
    const QList<int> changed = execTogether(conn, outgoing, what);
    QList<Outgoing> missing;
    qsizetype i = 0;
    for (const Statement& s : statements) {
        if (s.sql.isEmpty())
            continue;
        if (!s.insertMissing.isEmpty() && changed.value(i) != s.rows)
            missing << Outgoing{&s.insertMissing, &s.parameters};
        ++i;
    }
    execTogether(conn, missing, what);
    return changed;
}

} // namespace flowdeck::pg
