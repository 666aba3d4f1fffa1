#include "store/databasecache.h"

#include "store/cachequeries.h"
#include "store/connectionpool.h"

namespace flowdeck {

QCoro::Task<std::optional<QJsonValue>> DatabaseCache::lookUpCache(const QString& key, qint64 nowUs)
{
    auto looking = m_pool.run([key, nowUs](QSqlDatabase& db) { return lookUpCacheEntry(db, key, nowUs); });
    co_return co_await looking;
}

QCoro::Task<> DatabaseCache::writeCache(const CacheEntry& entry)
{
    auto writing = m_pool.run([entry](QSqlDatabase& db) { writeCacheEntry(db, entry); });
    co_await writing;
}

} // namespace flowdeck
