#pragma once

#include <QByteArray>
#include <QByteArrayView>
#include <QList>
#include <QSqlDatabase>
#include <QString>
#include <QStringView>

#include <vector>

typedef struct pg_conn PGconn;
typedef struct pg_result PGresult;

namespace flowdeck::pg {

//! A statement's parameter, sent in PostgreSQL's binary format.
struct Parameter {
    unsigned int type; //!< PostgreSQL's type OID
    QByteArray value;
};

/**
 * One statement of a bulk write, for execAll(). An update names the statement that writes the rows it
 * did not find: execAll() runs it when the update changed fewer rows than it carries.
 */
struct Statement {
    QByteArray sql;
    std::vector<Parameter> parameters;
    int rows = 0;
    QByteArray insertMissing; //!< with the same parameters
};

//! What a bulk column holds: text, or a 64-bit integer (the target column may be narrower).
enum class ColumnType { Text, Int };

struct Column {
    QString name;
    ColumnType type;
};

/**
 * Writes many rows to PostgreSQL on the connection Qt opened (through libpq: Qt's driver has no COPY
 * and no array parameters, and sends one statement per round trip).
 *
 * Plain inserts go by COPY straight into the table, streamed while the rows are added: the server
 * stores the first rows while the caller builds the rest. An insert with a suffix (ON CONFLICT ...)
 * and an update send each column as one binary array parameter of one statement, INSERT ... SELECT
 * or UPDATE ... FROM unnest(...): no staging table to create, fill and empty, and the planner knows
 * how many rows come (a few rows are found by the primary key instead of by scanning the whole
 * table). execAll() sends the statements of a whole batch in one round trip (pipeline mode).
 *
 * Values are appended column by column, row by row; flush() sends what was added. Runs inside the
 * caller's transaction.
 */
class BulkInsert {
public:
    //! \a suffix follows the INSERT ... SELECT (ON CONFLICT ...), which names the new row `excluded`.
    BulkInsert(QSqlDatabase& db, const QString& table, std::vector<Column> columns,
               const QString& suffix = {});
    //! Ends a COPY left open by an exception, so that the connection can roll back.
    ~BulkInsert();
    BulkInsert(const BulkInsert&) = delete;
    BulkInsert& operator=(const BulkInsert&) = delete;

    //! The rows to be added are for flushAsUpdate() or flushAsUpdateOnly(); call before adding any.
    void willUpdate();

    void null();
    void int64(qint64 v);
    void text(QStringView s);
    void utf8(QByteArrayView s);
    void endRow();
    //! Rows added since the last flush.
    int rows() const { return m_rows; }
    /**
     * Sends the rows added so far without waiting for the server to store them (plain inserts; the
     * others send at flush()): the caller may prepare its next rows meanwhile, then must call flush()
     * before anything else uses the connection.
     */
    void send();
    //! Inserts the rows added so far (nothing when there are none); throws DatabaseError on failure.
    void flush();
    /**
     * Instead of inserting: updates the rows whose \a key matches one added, with \a set (assignments
     * that name the added row `excluded`, as ON CONFLICT does). An UPDATE skips the speculative
     * insert and its conflict check, about half the cost per row. Should some row not be there, all
     * of them are written again with INSERT ... ON CONFLICT (key) DO UPDATE SET \a set: nothing is lost.
     * Returns how many rows the UPDATE found. Needs willUpdate() before the rows.
     */
    int flushAsUpdate(const QString& key, const QString& set);
    /**
     * Updates the rows whose \a key matches one added, with \a set, and nothing else: a row that is
     * not there is not written. Returns how many rows the UPDATE found.
     */
    int flushAsUpdateOnly(const QString& key, const QString& set);

    /**
     * The statements flush(), flushAsUpdate() and flushAsUpdateOnly() would run, for execAll() to send
     * with others in one round trip; empty when there are no rows. The rows are taken.
     */
    Statement takeInsert();
    Statement takeUpdate(const QString& key, const QString& set);
    Statement takeUpdateOnly(const QString& key, const QString& set);

    //! Plain inserts go by COPY (streamed); the others as statements with array parameters.
    bool copies() const { return m_suffix.isEmpty() && !m_arrayMode; }

private:
    //! COPY text sent to the server in pieces of about this size while rows are added.
    static constexpr qsizetype CopyChunkBytes = 256 * 1024;
    void append(QByteArrayView value, bool quoted);
    //! Starts the COPY on first use and sends the rows added so far.
    void sendCopyData();
    //! Reads the server's answer to a COPY that send() ended.
    void readCopyResult();
    //! `unnest($1::text[], $2::bigint[], ...) AS excluded (columns)`
    QString unnestRows() const;
    //! The rows added, as one array parameter per column.
    std::vector<Parameter> takeParameters();
    //! Adds a value to the current column's array (\a size -1: NULL).
    void element(const char* data, qsizetype size);
    void clearRows();
    [[noreturn]] void failWith(const QString& what, PGresult* result) const;
    [[noreturn]] void fail(const QString& what, const QByteArray& sqlState, const QByteArray& message) const;

    QSqlDatabase& m_db;
    PGconn* m_conn;
    QString m_table;
    std::vector<Column> m_columns;
    QString m_columnList;
    QString m_suffix;
    bool m_arrayMode = false;         //!< willUpdate() was called: rows are kept as arrays, not COPY text
    QByteArray m_data;                //!< COPY text: a line per row, tab-separated, \N for NULL
    bool m_copying = false;           //!< a COPY is open on the connection
    bool m_ended = false;             //!< a COPY was ended and its result is not read yet
    std::vector<QByteArray> m_arrays; //!< per column, the elements of a binary array
    size_t m_column = 0;
    int m_rows = 0;
};

/**
 * Runs \a statements in one round trip, in order, and reads every result; throws DatabaseError (or
 * sql::StorageError) for the first that fails. An update that changed fewer rows than it carries is
 * followed by its insertMissing (a second round trip, only then). Returns the number of rows each
 * statement changed.
 */
QList<int> execAll(QSqlDatabase& db, const QList<Statement>& statements, const QString& what);

//! Appends \a s to \a out escaped as one field of COPY's text format.
void appendCopyField(QByteArray& out, QByteArrayView s);
//! Appends \a s to \a out as an SQL string literal (E'...').
void appendStringLiteral(QByteArray& out, QByteArrayView s);
//! Appends \a s to \a array as one quoted element of a PostgreSQL array literal.
void appendArrayElement(QByteArray& array, QByteArrayView s);

} // namespace flowdeck::pg
