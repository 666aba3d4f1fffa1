#include "context/schedules.h"

#include "context/databaseconnection.h"

namespace flowdeck {

Schedules::Schedules(DatabaseConnection& database, QObject* parent)
    : QObject(parent)
    , m_database(database)
{
}

Schedules::~Schedules() = default;

void Schedules::setAllActive(bool active)
{
    Q_UNUSED(active);
}

} // namespace flowdeck
