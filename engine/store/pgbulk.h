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

    //! The statement that inserts the arrays (for tests and failure messages).
    QString statement() const;

private:
    QByteArray& next();

    QSqlDatabase& m_db;
    QString m_table;
    std::vector<Column> m_columns;
    QString m_suffix;
    std::vector<QByteArray> m_arrays; //!< one array literal per column, without its closing brace
    size_t m_column = 0;
    int m_rows = 0;
};

//! Appends \a s to \a array as one quoted element of a PostgreSQL array literal.
void appendArrayElement(QByteArray& array, QByteArrayView s);

} // namespace flowdeck::pg
