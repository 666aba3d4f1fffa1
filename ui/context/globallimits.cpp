#include "context/globallimits.h"

#include "context/databaseconnection.h"
#include "flow/flow.h"
#include "run/engine.h"

#include <climits>
#include <cmath>

namespace flowdeck {

namespace {

bool sameRow(const GlobalLimitRow& a, const GlobalLimitRow& b)
{
    return a.name == b.name && a.limit == b.limit && a.active == b.active
        && a.slotDecayPerSecond == b.slotDecayPerSecond && a.activeSlots == b.activeSlots
        && a.decayingSlots == b.decayingSlots && a.holderRuns == b.holderRuns
        && a.waitingRuns == b.waitingRuns;
}

} // namespace

GlobalLimits::GlobalLimits(Engine& engine, DatabaseConnection& database, QObject* parent)
    : StoredLimits(engine, database, parent)
{
}

GlobalLimits::~GlobalLimits() = default;

QString GlobalLimits::validate(const QString& name, const QString& limit, const QString& decay,
                               GlobalLimitChange* change)
{
    QString error;
    if (!validLimitName(name, &error))
        return tr("Global limit \"%1\": %2.").arg(name, error);
    qlonglong parsed = 0;
    if (!digitsValue(limit, &parsed) || parsed > INT_MAX)
        return tr("Limit \"%1\" of global limit \"%2\": a limit must be an integer from 0 to %3.")
            .arg(limit, name)
            .arg(INT_MAX);
    double rate = 0;
    if (!decay.trimmed().isEmpty()) {
        bool ok = false;
        rate = decay.trimmed().toDouble(&ok);
        if (!ok || !std::isfinite(rate) || rate < 0 || rate > 1e9)
            return tr("Decay \"%1\" of global limit \"%2\": slots per second must be a number from 0 to 1e9 "
                      "(empty or 0: not a rate limit).")
                .arg(decay, name);
    }
    if (change) {
        change->limit = int(parsed);
        change->slotDecayPerSecond = rate > 0 ? std::optional<double>(rate) : std::nullopt;
    }
    return {};
}

bool GlobalLimits::write(const QString& name, const GlobalLimitChange& change, bool create)
{
    if (!validLimitName(name, nullptr))
        return false;
    if (!m_database.store()) {
        ConcurrencyLimiter& limiter = m_engine.limiter();
        GlobalLimitSpec spec = limiter.globalLimit(name).value_or(GlobalLimitSpec{});
        if (change.limit)
            spec.limit = *change.limit;
        if (change.active)
            spec.active = *change.active;
        if (change.slotDecayPerSecond)
            spec.slotDecayPerSecond = change.slotDecayPerSecond->value_or(0.0);
        limiter.setGlobalLimit(name, spec);
        Q_EMIT changed();
        return true;
    }
    write(name, change, create ? Op::Create : Op::Update);
    return true;
}

bool GlobalLimits::remove(const QString& name)
{
    if (!validLimitName(name, nullptr))
        return false;
    if (!m_database.store()) {
        m_engine.limiter().removeGlobalLimit(name);
        Q_EMIT changed();
        return true;
    }
    write(name, {}, Op::Remove);
    return true;
}

bool GlobalLimits::reset(const QString& name)
{
    if (!validLimitName(name, nullptr) || !m_database.store())
        return false;
    write(name, {}, Op::Reset);
    return true;
}

void GlobalLimits::write(const QString& name, const GlobalLimitChange& change, Op op)
{
    auto task = writeTask(
        this,
        [name, change, op](QSqlDatabase& db) {
            switch (op) {
            case Op::Create:
                return createGlobalLimit(db, name, change) ? 1 : -1;
            case Op::Update:
                return updateGlobalLimit(db, name, change) ? 1 : -1;
            case Op::Remove:
                return deleteGlobalLimit(db, name) ? 1 : -1;
            case Op::Reset:
                return resetGlobalLimit(db, name);
            }
            return -1;
        },
        [this, name, op](int result) {
            if (result < 0)
                Q_EMIT message(op == Op::Create ? tr("Global limit \"%1\" exists already").arg(name)
                                                : tr("There is no global limit \"%1\"").arg(name));
            else if (op == Op::Reset)
                Q_EMIT message(tr("Freed %n slot row(s) of global limit \"%1\"", nullptr, result).arg(name));
        },
        true,
        [name](const QString& where, const QString& what) {
            return tr("Cannot change global limit \"%1\" in %2: %3").arg(name, where, what);
        });
}

void GlobalLimits::read()
{
    auto task = readTask(
        this, [](QSqlDatabase& db) { return listGlobalLimits(db); }, &m_stored, sameRow,
        [](const QString& where, const QString& what) {
            return tr("Cannot read the global concurrency limits of %1: %2").arg(where, what);
        });
}

void GlobalLimits::inspect(const QString& name)
{
    if (!m_database.store())
        return;
    auto task = queryTask(
        this, [name](QSqlDatabase& db) { return inspectGlobalLimit(db, name); },
        [this, name](const std::optional<GlobalLimitRow>& row) {
            GlobalLimitRow empty;
            empty.name = name;
            Q_EMIT inspected(name, row ? *row : empty);
        },
        [name](const QString& where, const QString& what) {
            return tr("Cannot read who holds the slots of global limit \"%1\" in %2: %3")
                .arg(name, where, what);
        });
}

QList<GlobalLimitRow> GlobalLimits::rows() const
{
    QList<GlobalLimitRow> out;
    if (m_database.isOpen()) {
        out = m_stored;
        // This process's waiters are counted live by the limiter; the store's view may lag a poll.
        const QList<GlobalUsage> local = m_engine.limiter().globalUsage();
        for (GlobalLimitRow& row : out) {
            for (const GlobalUsage& usage : local) {
                if (usage.name == row.name)
                    row.waiting = std::max(row.waiting, usage.waiting);
            }
        }
        return out;
    }
    for (const GlobalUsage& usage : m_engine.limiter().globalUsage()) {
        GlobalLimitRow row;
        row.name = usage.name;
        row.limit = usage.spec.limit;
        row.active = usage.spec.active;
        if (usage.spec.slotDecayPerSecond > 0)
            row.slotDecayPerSecond = usage.spec.slotDecayPerSecond;
        row.activeSlots = usage.activeSlots;
        row.decayingSlots = usage.decayingSlots;
        row.waiting = usage.waiting;
        out.append(row);
    }
    return out;
}

} // namespace flowdeck
