#pragma once

#include <QByteArray>
#include <QByteArrayView>
#include <QSqlDatabase>
#include <QString>
#include <QStringView>

#include <vector>

typedef struct pg_conn PGconn;

namespace flowdeck::pg {

//! What a bulk column holds (the staging table takes the target's types; this checks the values).
enum class ColumnType { Text, Int };

struct Column {
    QString name;
    ColumnType type;
};

/**
 * Writes many rows to PostgreSQL with COPY, on the connection Qt opened (through libpq: Qt's driver
 * has no COPY, and sends one statement per round trip). Plain inserts COPY straight into the table;
 * an insert with a suffix (ON CONFLICT ...) or an update COPYs into a temporary staging table of the
 * same columns, then runs one INSERT ... SELECT or UPDATE ... FROM it. COPY's text input costs a
 * fraction of a statement's parameters, and the rows of a whole batch take a few round trips.
 *
 * Values are appended column by column, row by row; flush() sends what was added. Runs inside the
 * caller's transaction.
 */
class BulkInsert {
public:
    //! \a suffix follows the INSERT ... SELECT (ON CONFLICT ...), which names the new row `excluded`.
    BulkInsert(QSqlDatabase& db, const QString& table, std::vector<Column> columns,
               const QString& suffix = {});

    void null();
    void int64(qint64 v);
    void text(QStringView s);
    void utf8(QByteArrayView s);
    void endRow();
    //! Rows added since the last flush.
    int rows() const { return m_rows; }
    //! Inserts the rows added so far (nothing when there are none); throws DatabaseError on failure.
    void flush();
    /**
     * Instead of inserting: updates the rows whose \a key matches one added, with \a set (assignments
     * that name the added row `excluded`, as ON CONFLICT does). An UPDATE skips the speculative
     * insert and its conflict check, about half the cost per row. Should some row not be there, all
     * of them are written again with INSERT ... ON CONFLICT (key) DO UPDATE SET \a set: nothing is lost.
     * Returns how many rows the UPDATE found.
     */
    int flushAsUpdate(const QString& key, const QString& set);

private:
    class OwnTransaction;
    QByteArray& next();
    //! The staging table for this table and these columns, created on first use in this session.
    QString staging();
    void copyInto(const QString& table);
    //! Runs \a sql; the number of rows it changed.
    int exec(const QString& sql, const QString& what);
    [[noreturn]] void fail(const QString& what, const QByteArray& sqlState, const QByteArray& message) const;

    QSqlDatabase& m_db;
    PGconn* m_conn;
    QString m_table;
    std::vector<Column> m_columns;
    QString m_columnList;
    QString m_suffix;
    QByteArray m_data; //!< COPY text: a line per row, tab-separated, \N for NULL
    size_t m_column = 0;
    int m_rows = 0;
};

//! Appends \a s to \a out escaped as one field of COPY's text format.
void appendCopyField(QByteArray& out, QByteArrayView s);
//! Appends \a s to \a array as one quoted element of a PostgreSQL array literal.
void appendArrayElement(QByteArray& array, QByteArrayView s);

} // namespace flowdeck::pg
