#include "context/rungrid.h"

#include "context/databaseconnection.h"
#include "store/connectionpool.h"

namespace flowdeck {

RunGrid::RunGrid(DatabaseConnection& database, QObject* parent)
    : QObject(parent)
    , m_database(database)
{
}

RunGrid::~RunGrid() = default;

quint64 RunGrid::request(const QString& flow, int runs)
{
    if (!m_database.pool() || !m_database.isOpen())
        return 0;
    const quint64 serial = ++m_serial;
    auto task = readTask(this, flow, runs, serial, m_database.generation());
    return serial;
}

QCoro::Task<> RunGrid::readTask(QPointer<RunGrid> self, QString flow, int runs, quint64 serial,
                                quint64 generation)
{
    auto reading = self->m_database.pool()->run(
        [flow, runs](QSqlDatabase& db) { return recentRunGrid(db, flow, runs); });
    try {
        QList<GridRun> rows = co_await reading;
        if (!self || serial != self->m_serial || generation != self->m_database.generation())
            co_return;
        Q_EMIT self->loaded(serial, rows);
    } catch (const std::exception& e) {
        if (self && serial == self->m_serial)
            Q_EMIT self->failed(serial, QString::fromUtf8(e.what()));
    }
}

} // namespace flowdeck
