#include "context/globallimits.h"

#include "context/databaseconnection.h"
#include "flow/flow.h"
#include "run/engine.h"

#include <climits>
#include <cmath>

namespace flowdeck {

namespace {

QString what(const std::exception& e)
{
    return QString::fromUtf8(e.what());
}

bool sameRow(const GlobalLimitRow& a, const GlobalLimitRow& b)
{
    return a.name == b.name && a.limit == b.limit && a.active == b.active
        && a.slotDecayPerSecond == b.slotDecayPerSecond && a.activeSlots == b.activeSlots
        && a.decayingSlots == b.decayingSlots && a.holderRuns == b.holderRuns
        && a.waitingRuns == b.waitingRuns;
}

} // namespace

GlobalLimits::GlobalLimits(Engine& engine, DatabaseConnection& database, QObject* parent)
    : QObject(parent)
    , m_engine(engine)
    , m_database(database)
{
    connect(&database, &DatabaseConnection::aboutToOpen, this, [this] { m_stored.clear(); });
    connect(&database, &DatabaseConnection::opened, this, &GlobalLimits::refresh);
}

GlobalLimits::~GlobalLimits() = default;

QString GlobalLimits::validate(const QString& name, const QString& limit, const QString& decay,
                               GlobalLimitChange* change)
{
    QString error;
    if (!validLimitName(name, &error))
        return tr("Global limit \"%1\": %2.").arg(name, error);
    const QString digits = limit.trimmed();
    const bool allDigits = !digits.isEmpty()
        && std::all_of(digits.begin(), digits.end(), [](QChar c) { return c >= u'0' && c <= u'9'; });
    bool ok = false;
    const qlonglong parsed = allDigits ? digits.toLongLong(&ok) : -1;
    if (!allDigits || !ok || parsed > INT_MAX)
        return tr("Limit \"%1\" of global limit \"%2\": a limit must be an integer from 0 to %3.")
            .arg(limit, name)
            .arg(INT_MAX);
    double rate = 0;
    if (!decay.trimmed().isEmpty()) {
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
    auto task = writeTask(this, name, change, create ? Op::Create : Op::Update, m_database.generation());
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
    auto task = writeTask(this, name, {}, Op::Remove, m_database.generation());
    return true;
}

bool GlobalLimits::reset(const QString& name)
{
    if (!validLimitName(name, nullptr) || !m_database.store())
        return false;
    auto task = writeTask(this, name, {}, Op::Reset, m_database.generation());
    return true;
}

QCoro::Task<> GlobalLimits::writeTask(QPointer<GlobalLimits> self, QString name, GlobalLimitChange change,
                                      Op op, quint64 generation)
{
    auto writing = self->m_database.pool()->run([name, change, op](QSqlDatabase& db) {
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
    });
    try {
        const int result = co_await writing;
        if (!self || generation != self->m_database.generation() || !self->m_database.store())
            co_return;
        if (result < 0)
            Q_EMIT self->message(op == Op::Create ? tr("Global limit \"%1\" exists already").arg(name)
                                                  : tr("There is no global limit \"%1\"").arg(name));
        else if (op == Op::Reset)
            Q_EMIT self->message(
                tr("Freed %n slot row(s) of global limit \"%1\"", nullptr, result).arg(name));
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
            self->m_database.reportError(tr("Cannot change global limit \"%1\" in %2: %3")
                                             .arg(name, self->m_database.description(), what(e)));
    }
}

void GlobalLimits::refresh()
{
    if (!m_database.store() || m_loading)
        return;
    m_loading = true;
    auto task = readTask(this, m_database.generation());
}

QCoro::Task<> GlobalLimits::readTask(QPointer<GlobalLimits> self, quint64 generation)
{
    auto reading = self->m_database.pool()->run([](QSqlDatabase& db) { return listGlobalLimits(db); });
    try {
        QList<GlobalLimitRow> rows = co_await reading;
        if (!self || generation != self->m_database.generation())
            co_return;
        self->m_loading = false;
        if (rows.size() == self->m_stored.size()
            && std::equal(rows.begin(), rows.end(), self->m_stored.begin(), sameRow))
            co_return;
        self->m_stored = std::move(rows);
        Q_EMIT self->changed();
    } catch (const std::exception& e) {
        if (self && generation == self->m_database.generation()) {
            self->m_loading = false;
            self->m_database.reportError(tr("Cannot read the global concurrency limits of %1: %2")
                                             .arg(self->m_database.description(), what(e)));
        }
    }
}

void GlobalLimits::inspect(const QString& name)
{
    if (!m_database.store())
        return;
    auto task = inspectTask(this, name, m_database.generation());
}

QCoro::Task<> GlobalLimits::inspectTask(QPointer<GlobalLimits> self, QString name, quint64 generation)
{
    auto reading
        = self->m_database.pool()->run([name](QSqlDatabase& db) { return inspectGlobalLimit(db, name); });
    try {
        const std::optional<GlobalLimitRow> row = co_await reading;
        if (!self || generation != self->m_database.generation())
            co_return;
        GlobalLimitRow empty;
        empty.name = name;
        Q_EMIT self->inspected(name, row ? *row : empty);
    } catch (const std::exception& e) {
        if (self && generation == self->m_database.generation())
            self->m_database.reportError(
                tr("Cannot read who holds the slots of global limit \"%1\" in %2: %3")
                    .arg(name, self->m_database.description(), what(e)));
    }
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
