#include "context/taglimits.h"

#include "context/databaseconnection.h"
#include "flow/flow.h"
#include "run/engine.h"
#include "store/limitqueries.h"
#include "store/store.h"

#include <map>
#include <optional>

namespace flowdeck {

namespace {

bool sameUse(const LimitRow& a, const LimitRow& b)
{
    return a.tag == b.tag && a.limit == b.limit && a.activeSlots == b.activeSlots
        && a.waitingRuns == b.waitingRuns;
}

} // namespace

TagLimits::TagLimits(Engine& engine, DatabaseConnection& database, QObject* parent)
    : StoredLimits(engine, database, parent)
{
}

TagLimits::~TagLimits() = default;

QString TagLimits::validateLimit(const QString& tag, const QString& limit, int* value)
{
    QString error;
    if (!validTag(tag, &error))
        return tr("Tag \"%1\": %2.").arg(tag, error);
    qlonglong parsed = 0;
    if (!digitsValue(limit, &parsed))
        return tr("Limit \"%1\" of tag \"%2\": a limit must be a non-negative integer (0 to %3).")
            .arg(limit, tag)
            .arg(MaxLimit);
    if (parsed > MaxLimit)
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
    write(tag, limit, false);
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
    write(tag, 0, true);
    return true;
}

void TagLimits::write(const QString& tag, int limit, bool remove)
{
    auto task = writeTask(
        this,
        [tag, limit, remove](QSqlDatabase& db) {
            if (remove)
                return deleteLimit(db, tag);
            upsertLimit(db, tag, limit);
            return true;
        },
        [this, tag](bool written) {
            if (!written)
                Q_EMIT message(tr("Tag \"%1\" has no limit").arg(tag));
        },
        true,
        [tag, remove](const QString& where, const QString& what) {
            return tr("Cannot %1 the limit of tag \"%2\" in %3: %4")
                .arg(remove ? tr("delete") : tr("write"), tag, where, what);
        });
}

bool TagLimits::reset(const QString& tag)
{
    if (!validTag(tag, nullptr) || !m_database.store())
        return false;
    // The freed slots let this engine's waiters in at once, other processes' within a second.
    auto task = writeTask(
        this, [tag](QSqlDatabase& db) { return resetLimit(db, tag); },
        [this, tag](int freed) {
            Q_EMIT message(freed < 0 ? tr("Tag \"%1\" has no limit").arg(tag)
                                     : tr("Freed %n slot row(s) of tag \"%1\"", nullptr, freed).arg(tag));
            Q_EMIT wasReset(tag, freed);
        },
        false,
        [tag](const QString& where, const QString& what) {
            return tr("Cannot reset the limit of tag \"%1\" in %2: %3").arg(tag, where, what);
        });
    return true;
}

void TagLimits::read()
{
    auto task = readTask(
        this, [](QSqlDatabase& db) { return listLimits(db); }, &m_storeLimits, sameUse,
        [](const QString& where, const QString& what) {
            return tr("Cannot read the concurrency limits of %1: %2").arg(where, what);
        });
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
    auto task = queryTask(
        this, [tag](QSqlDatabase& db) { return inspectLimit(db, tag); },
        [this, tag](const std::optional<LimitRow>& row) {
            LimitRow empty;
            empty.tag = tag;
            Q_EMIT inspected(tag, row ? *row : empty);
        },
        [tag](const QString& where, const QString& what) {
            return tr("Cannot read who holds the slots of tag \"%1\" in %2: %3").arg(tag, where, what);
        });
}

} // namespace flowdeck
