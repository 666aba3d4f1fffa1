#pragma once

#include "run/taskcache.h"

namespace flowdeck {

class ConnectionPool;

//! The engine's cache of task results in the database: every lookup and write runs on the pool's
//! database threads (cachequeries.h), never on the caller's.
class DatabaseCache : public CacheSink {
public:
    explicit DatabaseCache(ConnectionPool& pool)
        : m_pool(pool)
    {
    }

    QCoro::Task<std::optional<QJsonValue>> lookUpCache(const QString& key, qint64 nowUs) override;
    QCoro::Task<> writeCache(const CacheEntry& entry) override;

private:
    ConnectionPool& m_pool;
};

} // namespace flowdeck
