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
    Q_ASSERT(m_column < m_columns.size() && !m_closed);
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

QString BulkInsert::statement(const QString& suffix) const
{
    QStringList names;
    QStringList arrays;
    for (const Column& c : m_columns) {
        names << c.name;
        arrays << (c.type == ColumnType::Int ? QStringLiteral("?::bigint[]") : QStringLiteral("?::text[]"));
    }
    return QStringLiteral("INSERT INTO %1 (%2) SELECT * FROM unnest(%3) %4")
        .arg(m_table, names.join(u','), arrays.join(u','), suffix);
}

QString BulkInsert::updateStatement(const QString& key, const QString& set) const
{
    QStringList names;
    QStringList arrays;
    for (const Column& c : m_columns) {
        names << c.name;
        arrays << (c.type == ColumnType::Int ? QStringLiteral("?::bigint[]") : QStringLiteral("?::text[]"));
    }
    return QStringLiteral("UPDATE %1 SET %2 FROM unnest(%3) AS excluded (%4) WHERE %1.%5 = excluded.%5")
        .arg(m_table, set, arrays.join(u','), names.join(u','), key);
}

void BulkInsert::finishArrays()
{
    if (m_closed)
        return;
    for (QByteArray& array : m_arrays)
        array.append('}');
    m_closed = true;
}

void BulkInsert::clear()
{
    for (QByteArray& array : m_arrays)
        array.clear();
    m_rows = 0;
    m_closed = false;
}

int BulkInsert::exec(const QString& sql)
{
    finishArrays();
    QSqlQuery query(m_db);
    if (!query.prepare(sql))
        sql::fail(QStringLiteral("preparing a bulk write into %1").arg(m_table), query.lastError());
    for (size_t i = 0; i < m_arrays.size(); ++i)
        query.bindValue(int(i), QString::fromUtf8(m_arrays[i]));
    sql::exec(query, QStringLiteral("writing %1 rows into %2").arg(m_rows).arg(m_table));
    return query.numRowsAffected();
}

void BulkInsert::flush()
{
    if (m_rows == 0)
        return;
    exec(statement());
    clear();
}

int BulkInsert::flushAsUpdate(const QString& key, const QString& set)
{
    if (m_rows == 0)
        return 0;
    const int found = exec(updateStatement(key, set));
    if (found != m_rows)
        exec(statement(QStringLiteral("ON CONFLICT (%1) DO UPDATE SET %2").arg(key, set)));
    clear();
    return found;
}

} // namespace flowdeck::pg
