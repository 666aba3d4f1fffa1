#include "context/taglimits.h"

#include "context/databaseconnection.h"
#include "flow/flow.h"
#include "run/engine.h"
#include "store/limitqueries.h"
#include "store/store.h"

#include <algorithm>
#include <climits>
#include <map>

namespace flowdeck {

namespace {

QString what(const std::exception& e)
{
    return QString::fromUtf8(e.what());
}

bool sameUse(const LimitRow& a, const LimitRow& b)
{
    return a.tag == b.tag && a.limit == b.limit && a.activeSlots == b.activeSlots
        && a.waitingRuns == b.waitingRuns;
}

} // namespace

TagLimits::TagLimits(Engine& engine, DatabaseConnection& database, QObject* parent)
    : QObject(parent)
    , m_engine(engine)
    , m_database(database)
{
    connect(&database, &DatabaseConnection::aboutToOpen, this, [this] { m_storeLimits.clear(); });
    connect(&database, &DatabaseConnection::opened, this, &TagLimits::refresh);
}

TagLimits::~TagLimits() = default;

QString TagLimits::validateLimit(const QString& tag, const QString& limit, int* value)
{
    QString error;
    if (!validTag(tag, &error))
        return tr("Tag \"%1\": %2.").arg(tag, error);
    // Digits only: no sign, exponent, separator or fraction that a number parser would bend into
    // another value.
    const QString digits = limit.trimmed();
    const bool allDigits = !digits.isEmpty()
        && std::all_of(digits.begin(), digits.end(), [](QChar c) { return c >= u'0' && c <= u'9'; });
    if (!allDigits)
        return tr("Limit \"%1\" of tag \"%2\": a limit must be a non-negative integer (0 to %3).")
            .arg(limit, tag)
            .arg(MaxLimit);
    bool ok = false;
    const qlonglong parsed = digits.toLongLong(&ok);
    if (!ok || parsed > MaxLimit)
        return tr("Limit \"%1\" of tag \"%2\" is too large: the maximum is %3.")
            .arg(limit, tag)
            .arg(MaxLimit);
    if (value)
        *value = int(parsed);
    return {};
}

bool TagLimits::setLimit(const QString& tag, int limit)
{
    if (!validTag(tag, nullptr) || limit < 0)
        return false;
    if (!m_database.store()) {
        m_engine.limiter().setLimit(tag, limit);
        Q_EMIT changed();
        return true;
    }
    auto task = writeTask(this, tag, limit, false, m_database.generation());
    return true;
}

bool TagLimits::removeLimit(const QString& tag)
{
    if (!validTag(tag, nullptr))
        return false;
    if (!m_database.store()) {
        m_engine.limiter().removeLimit(tag);
        Q_EMIT changed();
        return true;
    }
    auto task = writeTask(this, tag, 0, true, m_database.generation());
    return true;
}

QCoro::Task<> TagLimits::writeTask(QPointer<TagLimits> self, QString tag, int limit, bool remove,
                                   quint64 generation)
{
    auto writing = self->m_database.pool()->run([tag, limit, remove](QSqlDatabase& db) {
        if (remove)
            return deleteLimit(db, tag);
        upsertLimit(db, tag, limit);
        return true;
    });
    try {
        const bool written = co_await writing;
        if (!self || generation != self->m_database.generation() || !self->m_database.store())
            co_return;
        if (!written)
            Q_EMIT self->message(tr("Tag \"%1\" has no limit").arg(tag));
        // Applied to this engine's limiter at once; other processes pick it up within a second.
        auto refreshing = self->m_database.refreshLimits();
        co_await refreshing;
        if (!self || generation != self->m_database.generation())
            co_return;
        Q_EMIT self->changed();
        self->m_loading = false;
        self->refresh();
    } catch (const std::exception& e) {
        if (self)
            self->m_database.reportError(
                tr("Cannot %1 the limit of tag \"%2\" in %3: %4")
                    .arg(remove ? tr("delete") : tr("write"), tag, self->m_database.description(), what(e)));
    }
}

bool TagLimits::reset(const QString& tag)
{
    if (!validTag(tag, nullptr) || !m_database.store())
        return false;
    auto task = resetTask(this, tag, m_database.generation());
    return true;
}

QCoro::Task<> TagLimits::resetTask(QPointer<TagLimits> self, QString tag, quint64 generation)
{
    auto resetting = self->m_database.pool()->run([tag](QSqlDatabase& db) { return resetLimit(db, tag); });
    try {
        const int freed = co_await resetting;
        if (!self || generation != self->m_database.generation() || !self->m_database.store())
            co_return;
        Q_EMIT self->message(freed < 0 ? tr("Tag \"%1\" has no limit").arg(tag)
                                       : tr("Freed %n slot row(s) of tag \"%1\"", nullptr, freed).arg(tag));
        Q_EMIT self->wasReset(tag, freed);
        // The freed slots let this engine's waiters in at once, other processes' within a second.
        auto refreshing = self->m_database.refreshLimits();
        co_await refreshing;
        if (!self || generation != self->m_database.generation())
            co_return;
        self->m_loading = false;
        self->refresh();
    } catch (const std::exception& e) {
        if (self)
            self->m_database.reportError(tr("Cannot reset the limit of tag \"%1\" in %2: %3")
                                             .arg(tag, self->m_database.description(), what(e)));
    }
}

void TagLimits::refresh()
{
    if (!m_database.store() || m_loading)
        return;
    m_loading = true;
    auto task = readTask(this, m_database.generation());
}

QCoro::Task<> TagLimits::readTask(QPointer<TagLimits> self, quint64 generation)
{
    auto reading = self->m_database.pool()->run([](QSqlDatabase& db) { return listLimits(db); });
    try {
        QList<LimitRow> rows = co_await reading;
        if (!self || generation != self->m_database.generation())
            co_return;
        self->m_loading = false;
        if (rows.size() == self->m_storeLimits.size()
            && std::equal(rows.begin(), rows.end(), self->m_storeLimits.begin(), sameUse))
            co_return;
        self->m_storeLimits = std::move(rows);
        Q_EMIT self->changed();
    } catch (const std::exception& e) {
        if (self && generation == self->m_database.generation()) {
            self->m_loading = false;
            self->m_database.reportError(tr("Cannot read the concurrency limits of %1: %2")
                                             .arg(self->m_database.description(), what(e)));
        }
    }
}

QList<TagRow> TagLimits::rows() const
{
    std::map<QString, TagRow> rows;
    for (const TagUsage& usage : m_engine.limiter().usage())
        rows[usage.tag] = TagRow{usage.tag, usage.limit, usage.active, usage.waiting, 0, 0};
    if (m_database.isOpen()) {
        for (const LimitRow& stored : m_storeLimits) {
            auto it = rows.find(stored.tag);
            if (it == rows.end())
                it = rows.emplace(stored.tag, TagRow{stored.tag, stored.limit, 0, 0, 0, 0}).first;
            // Slots and waiters of this process are counted live by the limiter; the store adds
            // those of other processes (its view may lag this process's by a poll).
            TagRow& row = it->second;
            row.remoteActive = 0;
            row.remoteWaiting = 0;
            for (const QString& id : stored.activeSlots)
                row.remoteActive += m_localTagged.contains(RunId::fromString(id)) ? 0 : 1;
            for (const QString& id : stored.waitingRuns)
                row.remoteWaiting += m_localTagged.contains(RunId::fromString(id)) ? 0 : 1;
            row.active += row.remoteActive;
            row.waiting += row.remoteWaiting;
        }
    }
    QList<TagRow> out;
    for (auto& [tag, row] : rows)
        out.append(row);
    return out;
}

void TagLimits::inspect(const QString& tag)
{
    if (!m_database.store())
        return;
    auto task = inspectTask(this, tag, m_database.generation());
}

QCoro::Task<> TagLimits::inspectTask(QPointer<TagLimits> self, QString tag, quint64 generation)
{
    auto reading = self->m_database.pool()->run([tag](QSqlDatabase& db) { return inspectLimit(db, tag); });
    try {
        const std::optional<LimitRow> row = co_await reading;
        if (!self || generation != self->m_database.generation())
            co_return;
        LimitRow empty;
        empty.tag = tag;
        Q_EMIT self->inspected(tag, row ? *row : empty);
    } catch (const std::exception& e) {
        if (self && generation == self->m_database.generation())
            self->m_database.reportError(tr("Cannot read who holds the slots of tag \"%1\" in %2: %3")
                                             .arg(tag, self->m_database.description(), what(e)));
    }
}

} // namespace flowdeck
