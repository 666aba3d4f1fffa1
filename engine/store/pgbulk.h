#pragma once

#include <QByteArray>
#include <QByteArrayView>
#include <QSqlDatabase>
#include <QString>
#include <QStringView>

#include <vector>

namespace flowdeck::pg {

//! What a bulk column holds: PostgreSQL needs the type of the array it unnests.
enum class ColumnType { Text, Int };

struct Column {
    QString name;
    ColumnType type;
};

/**
 * Inserts many rows in one PostgreSQL statement and one round trip: every column is sent as one
 * array literal parameter and the statement reads the rows back with unnest(). Qt's PostgreSQL
 * driver has no COPY and sends a statement per round trip, so rows per statement is what counts:
 * a statement of 8 rows with 96 parameters cost about as much as one of 8,000 rows.
 *
 * Values are appended column by column, row by row; flush() sends what was added.
 */
class BulkInsert {
public:
    //! \a suffix follows the SELECT (ON CONFLICT ...); it may refer to the new row as `excluded`.
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

    //! The statement that inserts the arrays, followed by \a suffix (the constructor's by default).
    QString statement() const { return statement(m_suffix); }
    QString statement(const QString& suffix) const;
    //! The statement that updates rows from the arrays (see flushAsUpdate).
    QString updateStatement(const QString& key, const QString& set) const;

private:
    QByteArray& next();
    //! Runs \a sql with the arrays bound; the number of rows it changed.
    int exec(const QString& sql);
    void finishArrays();
    void clear();

    QSqlDatabase& m_db;
    QString m_table;
    std::vector<Column> m_columns;
    QString m_suffix;
    std::vector<QByteArray> m_arrays; //!< one array literal per column, without its closing brace
    size_t m_column = 0;
    int m_rows = 0;
    bool m_closed = false; //!< the arrays have their closing braces
};

//! Appends \a s to \a array as one quoted element of a PostgreSQL array literal.
void appendArrayElement(QByteArray& array, QByteArrayView s);

} // namespace flowdeck::pg
