#include "store/cachequeries.h"

#include "store/sqlhelpers.h"

#include <QJsonArray>
#include <QJsonDocument>
#include <QSqlQuery>
#include <QVariant>

namespace flowdeck {

using sql::run;

namespace {

// A result may be any JSON value, scalars and null included: it is kept as a one-element array.
QString resultText(const QJsonValue& result)
{
    return QString::fromUtf8(QJsonDocument(QJsonArray{result}).toJson(QJsonDocument::Compact));
}

QJsonValue resultValue(const QVariant& text)
{
    const QJsonDocument doc = QJsonDocument::fromJson(text.toString().toUtf8());
    return doc.isArray() && !doc.array().isEmpty() ? doc.array().at(0) : QJsonValue();
}

QVariant nullableUs(qint64 us)
{
    return us > 0 ? QVariant(us) : QVariant(QMetaType(QMetaType::LongLong));
}

} // namespace

std::optional<QJsonValue> lookUpCacheEntry(QSqlDatabase& db, const QString& key, qint64 nowUs)
{
    QSqlQuery q
        = run(db,
              QStringLiteral("SELECT result FROM task_cache WHERE cache_key = ? AND (expires_at IS NULL "
                             "OR expires_at > ?)"),
              {key, nowUs}, QStringLiteral("looking up cache entry %1").arg(key));
    if (!q.next())
        return std::nullopt;
    return resultValue(q.value(0));
}

void writeCacheEntry(QSqlDatabase& db, const CacheEntry& entry)
{
    run(db,
        QStringLiteral(
            "INSERT INTO task_cache (cache_key, flow_name, task, result, flow_run_id, task_run_id, "
            "created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (cache_key) DO "
            "UPDATE SET flow_name = excluded.flow_name, task = excluded.task, result = "
            "excluded.result, flow_run_id = excluded.flow_run_id, task_run_id = "
            "excluded.task_run_id, created_at = excluded.created_at, expires_at = excluded.expires_at"),
        {entry.key, entry.flowName, entry.task, resultText(entry.result), entry.flowRunId, entry.taskRunId,
         entry.createdUs, nullableUs(entry.expiresUs)},
        QStringLiteral("writing cache entry %1").arg(entry.key));
}

QList<CacheEntry> listCacheEntries(QSqlDatabase& db)
{
    QSqlQuery q
        = run(db,
              QStringLiteral("SELECT cache_key, flow_name, task, result, flow_run_id, task_run_id, "
                             "created_at, expires_at FROM task_cache ORDER BY created_at DESC, cache_key"),
              {}, QStringLiteral("listing the cache"));
    QList<CacheEntry> entries;
    while (q.next()) {
        CacheEntry e;
        e.key = q.value(0).toString();
        e.flowName = q.value(1).toString();
        e.task = q.value(2).toString();
        e.result = resultValue(q.value(3));
        e.flowRunId = q.value(4).toString();
        e.taskRunId = q.value(5).toString();
        e.createdUs = q.value(6).toLongLong();
        e.expiresUs = q.value(7).isNull() ? 0 : q.value(7).toLongLong();
        entries.append(e);
    }
    return entries;
}

int clearCacheEntries(QSqlDatabase& db, const CacheClear& what)
{
    const QString statement = what.by == CacheClear::By::Key
        ? QStringLiteral("DELETE FROM task_cache WHERE cache_key = ?")
        : what.by == CacheClear::By::Flow ? QStringLiteral("DELETE FROM task_cache WHERE flow_name = ?")
                                          : QStringLiteral("DELETE FROM task_cache");
    QVariantList values;
    if (what.by != CacheClear::By::All)
        values << what.value;
    QSqlQuery q = run(db, statement, values, QStringLiteral("clearing the cache"));
    return q.numRowsAffected();
}

} // namespace flowdeck
