#include "context/trends.h"

#include "context/databaseconnection.h"
#include "run/clock.h"
#include "store/connectionpool.h"

namespace flowdeck {

Trends::Trends(DatabaseConnection& database, QObject* parent)
    : QObject(parent)
    , m_database(database)
{
}

Trends::~Trends() = default;

quint64 Trends::refresh(qint64 windowUs, qint64 bucketUs)
{
    if (!m_database.pool() || !m_database.isOpen() || bucketUs <= 0)
        return 0;
    // Buckets on whole multiples of their length, so that an hour is a clock hour and moves on with it.
    const qint64 now = wallUs();
    const int buckets = int(std::max<qint64>(1, windowUs / bucketUs));
    const qint64 since = (now / bucketUs + 1 - buckets) * bucketUs;
    const quint64 serial = ++m_serial;
    auto task = readTask(this, since, bucketUs, buckets, serial, m_database.generation());
    return serial;
}

quint64 Trends::requestDurations(const QString& flow, const QString& task, int runs)
{
    if (!m_database.pool() || !m_database.isOpen())
        return 0;
    const quint64 serial = ++m_durationsSerial;
    auto reading = durationsTask(this, flow, task, runs, serial, m_database.generation());
    return serial;
}

QCoro::Task<> Trends::readTask(QPointer<Trends> self, qint64 sinceUs, qint64 bucketUs, int buckets,
                               quint64 serial, quint64 generation)
{
    auto reading = self->m_database.pool()->run([sinceUs, bucketUs, buckets](QSqlDatabase& db) {
        return readTrends(db, sinceUs, bucketUs, buckets);
    });
    try {
        TrendsData data = co_await reading;
        if (!self || serial != self->m_serial || generation != self->m_database.generation())
            co_return;
        Q_EMIT self->loaded(serial, data);
    } catch (const std::exception& e) {
        if (self)
            Q_EMIT self->failed(QString::fromUtf8(e.what()));
    }
}

QCoro::Task<> Trends::durationsTask(QPointer<Trends> self, QString flow, QString task, int runs,
                                    quint64 serial, quint64 generation)
{
    auto reading = self->m_database.pool()->run(
        [flow, task, runs](QSqlDatabase& db) { return taskDurations(db, flow, task, runs); });
    try {
        QList<TaskDuration> durations = co_await reading;
        if (!self || serial != self->m_durationsSerial || generation != self->m_database.generation())
            co_return;
        Q_EMIT self->durationsLoaded(serial, flow, task, durations);
    } catch (const std::exception& e) {
        if (self)
            Q_EMIT self->failed(QString::fromUtf8(e.what()));
    }
}

} // namespace flowdeck
