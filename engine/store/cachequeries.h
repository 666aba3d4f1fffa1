#pragma once

#include "run/taskcache.h"

#include <QJsonValue>
#include <QList>
#include <QSqlDatabase>
#include <QString>

#include <optional>

// Cached task results (table task_cache), shared by every process on the database. Functions run on
// a database thread inside ConnectionPool::run jobs and throw DatabaseError naming what failed.
namespace flowdeck {

//! The result under \a key unless it expired at \a nowUs.
std::optional<QJsonValue> lookUpCacheEntry(QSqlDatabase& db, const QString& key, qint64 nowUs);
//! Writes \a entry, replacing what was under its key.
void writeCacheEntry(QSqlDatabase& db, const CacheEntry& entry);
//! Every entry, expired ones included, newest first.
QList<CacheEntry> listCacheEntries(QSqlDatabase& db);

//! Which entries `cache clear` removes.
struct CacheClear {
    enum class By { Key, Flow, All };
    By by = By::All;
    QString value; //!< the key or the flow's name
};
//! Removes the entries \a what names; returns how many there were.
int clearCacheEntries(QSqlDatabase& db, const CacheClear& what);

} // namespace flowdeck
