#include "context/storedlimits.h"

#include <climits>

namespace flowdeck {

StoredLimits::StoredLimits(Engine& engine, DatabaseConnection& database, QObject* parent)
    : QObject(parent)
    , m_engine(engine)
    , m_database(database)
{
    connect(&database, &DatabaseConnection::aboutToOpen, this, [this] { forget(); });
    connect(&database, &DatabaseConnection::opened, this, &StoredLimits::refresh);
}

StoredLimits::~StoredLimits() = default;

void StoredLimits::refresh()
{
    if (!m_database.store() || m_loading)
        return;
    m_loading = true;
    read();
}

bool StoredLimits::digitsValue(const QString& text, qlonglong* value)
{
    const QString digits = text.trimmed();
    if (digits.isEmpty()
        || !std::all_of(digits.begin(), digits.end(), [](QChar c) { return c >= u'0' && c <= u'9'; }))
        return false;
    bool ok = false;
    const qlonglong parsed = digits.toLongLong(&ok);
    *value = ok ? parsed : LLONG_MAX;
    return true;
}

} // namespace flowdeck
