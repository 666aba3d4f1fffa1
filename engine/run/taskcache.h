#pragma once

#include "flow/flow.h"

#include <QCoro/QCoroTask>
#include <QJsonObject>
#include <QJsonValue>
#include <QString>

#include <optional>

namespace flowdeck {

//! A cached task result as kept in the store ("cache" on a task).
struct CacheEntry {
    QString key;
    QString flowName;
    QString task;
    QJsonValue result;
    QString flowRunId; //!< the run that wrote it
    QString taskRunId;
    qint64 createdUs = 0;
    qint64 expiresUs = 0; //!< 0: never
};

/**
 * Where cached task results live (the store, shared by every process on the database). The engine
 * asks it only for tasks with "cache", so flows without it pay nothing.
 */
class CacheSink {
public:
    virtual ~CacheSink() = default;
    //! The result stored under \a key if it has not expired at \a nowUs. Throws on database errors.
    virtual QCoro::Task<std::optional<QJsonValue>> lookUpCache(const QString& key, qint64 nowUs) = 0;
    //! Writes \a entry, replacing any under its key. Throws on database errors.
    virtual QCoro::Task<> writeCache(const CacheEntry& entry) = 0;
};

/**
 * The cache key of a run of \a def whose kind gets \a config (after substitution, exactly as the kind
 * sees it): for "cache": "inputs", "inputs:" and a SHA-256 of the kind's name and \a config (every
 * value it holds, references resolved into it included); otherwise the key as written with
 * "{{map_index}}" replaced by \a mapIndex.
 */
QString cacheKey(const TaskDef& def, const QJsonObject& config, int mapIndex);

} // namespace flowdeck
