#include "context/workerdirectory.h"

#include "context/databaseconnection.h"
#include "store/store.h"
#include "store/workerqueries.h"

#include <stdexcept>

namespace flowdeck {

WorkerDirectory::WorkerDirectory(DatabaseConnection& database)
    : m_database(database)
{
}

bool WorkerDirectory::isAvailable() const
{
    return m_database.store() != nullptr;
}

QString WorkerDirectory::ownEngineId() const
{
    return m_database.store() ? m_database.store()->engineId() : QString();
}

QCoro::Task<QList<workers::WorkerRow>> WorkerDirectory::read() const
{
    ConnectionPool* pool = m_database.pool();
    if (!pool)
        throw std::runtime_error("no database is open");
    auto reading = pool->run([](QSqlDatabase& db) { return workers::listWorkers(db); });
    co_return co_await reading;
}

QStringList WorkerDirectory::onlineNames(const QList<workers::WorkerRow>& rows, qint64 nowUs)
{
    QStringList online;
    for (const workers::WorkerRow& row : rows) {
        if (workers::isOnlineWorker(row, nowUs))
            online << row.name;
    }
    return online;
}

} // namespace flowdeck
