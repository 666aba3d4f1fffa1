#include "context/schedules.h"

#include "context/databaseconnection.h"
#include "run/clock.h"
#include "store/schedulequeries.h"

#include <QTimer>

namespace flowdeck {

namespace {

QString what(const std::exception& e)
{
    return QString::fromUtf8(e.what());
}

bool sameRows(const QList<schedules::ScheduleRow>& a, const QList<schedules::ScheduleRow>& b)
{
    if (a.size() != b.size())
        return false;
    for (qsizetype i = 0; i < a.size(); ++i) {
        const schedules::ScheduleRow& x = a.at(i);
        const schedules::ScheduleRow& y = b.at(i);
        if (x.id != y.id || x.version != y.version || x.updatedUs != y.updatedUs || x.active() != y.active()
            || x.nextFireUs != y.nextFireUs || x.lastRunId != y.lastRunId || x.lastRunState != y.lastRunState
            || x.activeRuns != y.activeRuns)
            return false;
    }
    return true;
}

} // namespace

Schedules::Schedules(DatabaseConnection& database, QObject* parent)
    : QObject(parent)
    , m_database(database)
    , m_timer(new QTimer(this))
{
    // Schedules of other processes (the CLI, another dashboard) and their next fire times move on.
    m_timer->setInterval(ReloadMs);
    connect(m_timer, &QTimer::timeout, this, &Schedules::reload);
    connect(&database, &DatabaseConnection::aboutToOpen, this, [this] {
        m_timer->stop();
        m_loaded = false;
        if (!m_rows.isEmpty()) {
            m_rows.clear();
            Q_EMIT changed();
        }
    });
    connect(&database, &DatabaseConnection::stateChanged, this, [this](DatabaseState state) {
        if (state != DatabaseState::Open)
            m_timer->stop();
    });
    connect(&database, &DatabaseConnection::opened, this, [this] {
        m_timer->start();
        reload();
    });
}

Schedules::~Schedules() = default;

const schedules::ScheduleRow* Schedules::find(const QString& name) const
{
    for (const schedules::ScheduleRow& row : m_rows) {
        if (row.name() == name)
            return &row;
    }
    return nullptr;
}

QList<schedules::ScheduleRow> Schedules::ofFlow(const QString& flowName) const
{
    QList<schedules::ScheduleRow> out;
    for (const schedules::ScheduleRow& row : m_rows) {
        if (row.draft.flowName == flowName)
            out.append(row);
    }
    return out;
}

int Schedules::activeCount() const
{
    return int(std::count_if(m_rows.begin(), m_rows.end(), [](const auto& row) { return row.active(); }));
}

bool Schedules::canWrite() const
{
    return m_database.pool() && m_database.state() == DatabaseState::Open;
}

void Schedules::reload()
{
    if (!canWrite())
        return;
    if (m_loading) {
        m_readAgain = true; // a read that started before a write may miss it
        return;
    }
    m_loading = true;
    auto task = readTask(this, m_database.generation());
}

QCoro::Task<> Schedules::readTask(QPointer<Schedules> self, quint64 generation)
{
    auto reading = self->m_database.pool()->run(
        [](QSqlDatabase& db) { return schedules::listSchedules(db, wallUs(), NextCount); });
    QList<schedules::ScheduleRow> rows;
    try {
        rows = co_await reading;
    } catch (const std::exception& e) {
        if (!self)
            co_return;
        self->m_loading = false;
        if (generation == self->m_database.generation())
            self->m_database.reportError(
                tr("Cannot read the schedules of %1: %2").arg(self->m_database.description(), what(e)));
        co_return;
    }
    if (!self)
        co_return;
    self->m_loading = false;
    if (generation != self->m_database.generation())
        co_return;
    const bool first = !self->m_loaded;
    self->m_loaded = true;
    if (first || !sameRows(rows, self->m_rows)) {
        self->m_rows = std::move(rows);
        Q_EMIT self->changed();
    }
    if (self->m_readAgain) {
        self->m_readAgain = false;
        self->reload();
    }
}

bool Schedules::save(const QString& name, const schedules::ScheduleDraft& draft)
{
    return write(Op::Save, name, draft, false);
}

bool Schedules::setActive(const QString& name, bool active)
{
    return write(active ? Op::Activate : Op::Pause, name, {}, active);
}

bool Schedules::remove(const QString& name)
{
    return write(Op::Delete, name, {}, false);
}

bool Schedules::setAllActive(bool active)
{
    return write(Op::All, {}, {}, active);
}

bool Schedules::write(Op op, const QString& name, const schedules::ScheduleDraft& draft, bool flag)
{
    if (!canWrite())
        return false;
    auto task = writeTask(this, op, name, draft, flag, m_database.generation());
    return true;
}

QCoro::Task<> Schedules::writeTask(QPointer<Schedules> self, Op op, QString name,
                                   schedules::ScheduleDraft draft, bool flag, quint64 generation)
{
    // The result: an empty string when done, else why not.
    auto writing = self->m_database.pool()->run([op, name, draft, flag](QSqlDatabase& db) -> QString {
        const qint64 now = wallUs();
        switch (op) {
        case Op::Save:
            if (name.isEmpty()) {
                schedules::addSchedule(db, draft, now);
                return {};
            }
            return schedules::updateSchedule(db, name, draft, now)
                ? QString()
                : tr("there is no schedule \"%1\"").arg(name);
        case Op::Activate:
        case Op::Pause:
            return schedules::setScheduleActive(db, name, flag, now)
                ? QString()
                : tr("there is no schedule \"%1\"").arg(name);
        case Op::Delete:
            return schedules::deleteSchedule(db, name, now) ? QString()
                                                            : tr("there is no schedule \"%1\"").arg(name);
        case Op::All:
            if (!flag) {
                schedules::pauseAllSchedules(db, now);
                return {};
            }
            // Resuming all: each paused one, in this one job.
            for (const schedules::ScheduleRow& row : schedules::listSchedules(db, now, 0)) {
                if (!row.active())
                    schedules::setScheduleActive(db, row.name(), true, now);
            }
            return {};
        }
        return {};
    });
    const QString shown = op == Op::Save && !draft.name.isEmpty() ? draft.name : name;
    QString error;
    try {
        error = co_await writing;
    } catch (const std::exception& e) {
        error = what(e);
    }
    if (!self || generation != self->m_database.generation())
        co_return;
    if (!error.isEmpty()) {
        Q_EMIT self->writeFailed(shown, error);
        Q_EMIT self->message(shown.isEmpty() ? tr("Cannot change the schedules: %1").arg(error)
                                             : tr("Cannot change schedule \"%1\": %2").arg(shown, error));
        co_return;
    }
    Q_EMIT self->written(shown);
    self->reload();
}

} // namespace flowdeck
