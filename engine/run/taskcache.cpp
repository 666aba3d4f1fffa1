#include "run/taskcache.h"

#include "flow/substitution.h"
#include "run/clock.h"
#include "run/engine.h"

#include <QCryptographicHash>
#include <QJsonDocument>

namespace flowdeck {

QString cacheKey(const TaskDef& def, const QJsonObject& config, int mapIndex)
{
    Q_ASSERT(def.cache);
    if (def.cache->inputs) {
        // QJsonObject keeps its keys sorted, so equal configurations give equal text.
        QCryptographicHash hash(QCryptographicHash::Sha256);
        hash.addData(def.kind.toUtf8());
        hash.addData(QByteArrayView("\n"));
        hash.addData(QJsonDocument(config).toJson(QJsonDocument::Compact));
        return QStringLiteral("inputs:") + QString::fromLatin1(hash.result().toHex());
    }
    if (mapIndex < 0 || !detail::containsMapIndex(def.cache->keyTemplate))
        return def.cache->keyTemplate;
    const QJsonValue key
        = substituteMapIndex(QJsonObject{{QStringLiteral("key"), def.cache->keyTemplate}}, mapIndex)
              .value(QStringLiteral("key"));
    return key.isString() ? key.toString() : QString::number(key.toInteger());
}

QCoro::Task<bool> Engine::takeFromCache(TaskRun* runPtr, TaskContext* ctxPtr)
{
    TaskRun& run = *runPtr;
    TaskContext& ctx = *ctxPtr;
    FlowRun& flow = *run.flowRun;
    if (!m_cacheSink || flow.refreshCache)
        co_return false;
    const QString key = cacheKey(*run.node->def, ctx.config(), run.mapIndex);
    std::optional<QJsonValue> hit;
    try {
        auto looking = m_cacheSink->lookUpCache(key, wallUs());
        hit = co_await looking;
    } catch (const std::exception& e) {
        log(&flow, &run, LogLevel::Warning,
            QStringLiteral("reading the cache failed: %1; running the task")
                .arg(QString::fromUtf8(e.what())));
        co_return false;
    }
    // Cancelled or paused meanwhile: the run takes its usual way, which handles both.
    if (!hit || ctx.isInterrupted() || flow.pauseRequested || flow.type != StateType::Running
        || run.isTerminal())
        co_return false;
    // The one way to COMPLETED without running (a named exception in the states table): the result
    // was made by an earlier run.
    run.result = *hit;
    if (transition(run, StateName::Cached, QStringLiteral("result taken from the cache (key %1)").arg(key)))
        co_return true;
    run.result = QJsonValue();
    co_return false;
}

QCoro::Task<> Engine::putInCache(TaskRun* runPtr, TaskContext* ctxPtr)
{
    TaskRun& run = *runPtr;
    FlowRun& flow = *run.flowRun;
    if (!m_cacheSink || run.name != StateName::Completed)
        co_return; // a failed, cancelled or cached run writes nothing
    const TaskDef& def = *run.node->def;
    CacheEntry entry;
    entry.key = cacheKey(def, ctxPtr->config(), run.mapIndex);
    entry.flowName = flow.def.name;
    entry.task = def.id;
    entry.result = run.result;
    entry.flowRunId = flow.id.toString();
    entry.taskRunId = run.id.toString();
    entry.createdUs = wallUs();
    if (def.cache->expirationSeconds > 0)
        entry.expiresUs = entry.createdUs + qint64(def.cache->expirationSeconds * 1e6);
    try {
        auto writing = m_cacheSink->writeCache(entry);
        co_await writing;
    } catch (const std::exception& e) {
        log(&flow, &run, LogLevel::Warning,
            QStringLiteral("writing the cache entry %1 failed: %2")
                .arg(entry.key, QString::fromUtf8(e.what())));
    }
}

} // namespace flowdeck
