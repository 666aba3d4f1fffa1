#include "store/pgbulk.h"

#include "store/connectionpool.h"
#include "store/sqlhelpers.h"
#include "store/store.h"

#include <QLoggingCategory>
#include <QSqlDriver>
#include <QStringList>

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
}

QByteArray& BulkInsert::next()
{
    Q_ASSERT(m_column < m_columns.size());
    if (m_column++ > 0)
        m_data.append('\t');
    return m_data;
}

void BulkInsert::null()
{
    next().append("\\N");
}

void BulkInsert::int64(qint64 v)
{
    Q_ASSERT(m_columns[m_column].type == ColumnType::Int);
    next().append(QByteArray::number(v));
}

void BulkInsert::text(QStringView s)
{
    Q_ASSERT(m_columns[m_column].type == ColumnType::Text);
    appendCopyField(next(), s.toUtf8());
}

void BulkInsert::utf8(QByteArrayView s)
{
    Q_ASSERT(m_columns[m_column].type == ColumnType::Text);
    appendCopyField(next(), s);
}

void BulkInsert::endRow()
{
    Q_ASSERT(m_column == m_columns.size());
    m_data.append('\n');
    m_column = 0;
    ++m_rows;
}

void BulkInsert::fail(const QString& what, const QByteArray& sqlState, const QByteArray& message) const
{
    const QString text = what + QStringLiteral(": ") + QString::fromUtf8(message).trimmed();
    if (const QString failure = sql::storageFailure(QString::fromLatin1(sqlState)); !failure.isEmpty())
        throw sql::StorageError(QString(failure + QStringLiteral(": ") + text).toStdString());
    throw DatabaseError(text.toStdString());
}

int BulkInsert::exec(const QString& sql, const QString& what)
{
    const Result r(PQexec(m_conn, sql.toUtf8().constData()));
    const ExecStatusType status = r ? PQresultStatus(r.get()) : PGRES_FATAL_ERROR;
    if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK) {
        fail(what, r ? QByteArray(PQresultErrorField(r.get(), PG_DIAG_SQLSTATE)) : QByteArray(),
             r ? QByteArray(PQresultErrorMessage(r.get())) : QByteArray(PQerrorMessage(m_conn)));
    }
    return QByteArray(PQcmdTuples(r.get())).toInt();
}

QString BulkInsert::staging()
{
    // One per table and column count in this session, emptied at every commit. Without the notice
    // that it exists already.
    const QString name = QStringLiteral("flowdeck_stage_%1_%2").arg(m_table).arg(m_columns.size());
    exec(QStringLiteral("SET LOCAL client_min_messages = warning; CREATE TEMP TABLE IF NOT EXISTS %1 ON "
                        "COMMIT DELETE ROWS AS SELECT %2 FROM %3 "
                        "WITH NO DATA")
             .arg(name, m_columnList, m_table),
         QStringLiteral("preparing to write %1").arg(m_table));
    return name;
}

void BulkInsert::copyInto(const QString& table)
{
    const QString what = QStringLiteral("writing %1 rows into %2").arg(m_rows).arg(m_table);
    {
        const Result r(PQexec(
            m_conn, QStringLiteral("COPY %1 (%2) FROM STDIN").arg(table, m_columnList).toUtf8().constData()));
        if (!r || PQresultStatus(r.get()) != PGRES_COPY_IN)
            fail(what, r ? QByteArray(PQresultErrorField(r.get(), PG_DIAG_SQLSTATE)) : QByteArray(),
                 r ? QByteArray(PQresultErrorMessage(r.get())) : QByteArray(PQerrorMessage(m_conn)));
    }
    const bool sent = PQputCopyData(m_conn, m_data.constData(), int(m_data.size())) == 1;
    PQputCopyEnd(m_conn, sent ? nullptr : "sending the rows failed");
    m_data.clear();
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
    if (!sent && message.isEmpty())
        message = PQerrorMessage(m_conn);
    if (!message.isEmpty())
        fail(what, state, message);
}

//! The staged writes hold their rows until the commit: outside the caller's transaction they take their own.
class BulkInsert::OwnTransaction {
public:
    explicit OwnTransaction(BulkInsert& bulk)
        : m_bulk(bulk)
        , m_own(PQtransactionStatus(bulk.m_conn) == PQTRANS_IDLE)
    {
        if (m_own)
            m_bulk.exec(QStringLiteral("BEGIN"), QStringLiteral("starting a bulk write"));
    }
    ~OwnTransaction()
    {
        if (m_own && !m_done)
            PQclear(PQexec(m_bulk.m_conn, "ROLLBACK"));
    }
    OwnTransaction(const OwnTransaction&) = delete;
    OwnTransaction& operator=(const OwnTransaction&) = delete;
    void commit() const
    {
        if (m_own) {
            m_bulk.exec(QStringLiteral("COMMIT"), QStringLiteral("committing a bulk write"));
            m_done = true;
        }
    }

private:
    BulkInsert& m_bulk;
    const bool m_own;
    mutable bool m_done = false;
};

void BulkInsert::flush()
{
    if (m_rows == 0)
        return;
    if (m_suffix.isEmpty()) {
        copyInto(m_table);
        return;
    }
    const OwnTransaction transaction(*this);
    const QString stage = staging();
    copyInto(stage);
    exec(QStringLiteral("INSERT INTO %1 (%2) SELECT %2 FROM %3 %4")
             .arg(m_table, m_columnList, stage, m_suffix),
         QStringLiteral("writing into %1").arg(m_table));
    exec(QStringLiteral("TRUNCATE %1").arg(stage), QStringLiteral("emptying the staging of %1").arg(m_table));
    transaction.commit();
}

int BulkInsert::flushAsUpdate(const QString& key, const QString& set)
{
    if (m_rows == 0)
        return 0;
    const int rows = m_rows;
    const OwnTransaction transaction(*this);
    const QString stage = staging();
    copyInto(stage);
    const QString what = QStringLiteral("updating %1").arg(m_table);
    const int found = exec(QStringLiteral("UPDATE %1 SET %2 FROM %3 AS excluded WHERE %1.%4 = excluded.%4")
                               .arg(m_table, set, stage, key),
                           what);
    if (found != rows) {
        exec(QStringLiteral("INSERT INTO %1 (%2) SELECT %2 FROM %3 ON CONFLICT (%4) DO UPDATE SET %5")
                 .arg(m_table, m_columnList, stage, key, set),
             what);
    }
    exec(QStringLiteral("TRUNCATE %1").arg(stage), QStringLiteral("emptying the staging of %1").arg(m_table));
    transaction.commit();
    return found;
}

} // namespace flowdeck::pg
