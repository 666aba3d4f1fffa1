#include "store/pgbulk.h"

#include "store/sqlhelpers.h"

#include <QSqlError>
#include <QSqlQuery>
#include <QStringList>

namespace flowdeck::pg {

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
    , m_table(table)
    , m_columns(std::move(columns))
    , m_suffix(suffix)
    , m_arrays(m_columns.size())
{
}

QByteArray& BulkInsert::next()
{
    Q_ASSERT(m_column < m_columns.size());
    QByteArray& array = m_arrays[m_column++];
    array.append(m_rows == 0 ? '{' : ',');
    return array;
}

void BulkInsert::null()
{
    next().append("NULL");
}

void BulkInsert::int64(qint64 v)
{
    Q_ASSERT(m_columns[m_column].type == ColumnType::Int);
    next().append(QByteArray::number(v));
}

void BulkInsert::text(QStringView s)
{
    Q_ASSERT(m_columns[m_column].type == ColumnType::Text);
    appendArrayElement(next(), s.toUtf8());
}

void BulkInsert::utf8(QByteArrayView s)
{
    Q_ASSERT(m_columns[m_column].type == ColumnType::Text);
    appendArrayElement(next(), s);
}

void BulkInsert::endRow()
{
    Q_ASSERT(m_column == m_columns.size());
    m_column = 0;
    ++m_rows;
}

QString BulkInsert::statement() const
{
    QStringList names;
    QStringList arrays;
    for (const Column& c : m_columns) {
        names << c.name;
        arrays << (c.type == ColumnType::Int ? QStringLiteral("?::bigint[]") : QStringLiteral("?::text[]"));
    }
    return QStringLiteral("INSERT INTO %1 (%2) SELECT * FROM unnest(%3) %4")
        .arg(m_table, names.join(u','), arrays.join(u','), m_suffix);
}

void BulkInsert::flush()
{
    if (m_rows == 0)
        return;
    QSqlQuery query(m_db);
    if (!query.prepare(statement()))
        sql::fail(QStringLiteral("preparing the insert into %1").arg(m_table), query.lastError());
    for (size_t i = 0; i < m_arrays.size(); ++i) {
        m_arrays[i].append('}');
        query.bindValue(int(i), QString::fromUtf8(m_arrays[i]));
        m_arrays[i].clear();
    }
    m_rows = 0;
    sql::exec(query, QStringLiteral("inserting into %1").arg(m_table));
}

} // namespace flowdeck::pg
