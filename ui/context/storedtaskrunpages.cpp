#include "context/storedtaskrunpages.h"

#include "context/appcontext.h"
#include "context/databaseconnection.h"
#include "store/connectionpool.h"

namespace flowdeck {

namespace {

std::vector<StoredTaskRunRow> compact(const QList<TaskRunRow>& rows)
{
    std::vector<StoredTaskRunRow> out;
    out.reserve(size_t(rows.size()));
    QString task;
    QString tags;
    for (const TaskRunRow& r : rows) {
        StoredTaskRunRow row;
        // Neighbouring rows mostly belong to one task: one copy of its id and tags for all of them.
        if (r.task != task)
            task = r.task;
        row.task = task;
        const QString joined = r.tags.join(QStringLiteral(", "));
        if (joined != tags)
            tags = joined;
        row.tags = tags;
        row.message = r.message;
        row.startedUs = r.startedUs;
        row.endedUs = r.endedUs;
        row.stallTotalUs = r.stallTotalUs;
        row.mapIndex = r.mapIndex;
        row.stallCount = quint32(std::max(0, r.stallCount));
        row.attempts = quint16(std::clamp(r.attempts, 0, 0xffff));
        if (!parseStateType(r.state, &row.type))
            row.type = StateType::Pending;
        row.name = parseStateName(r.name, row.type);
        out.push_back(std::move(row));
    }
    return out;
}

} // namespace

StoredTaskRunPages::StoredTaskRunPages(AppContext* context, QObject* parent)
    : QObject(parent)
    , m_context(context)
{
}

StoredTaskRunPages::~StoredTaskRunPages() = default;

quint64 StoredTaskRunPages::request(const TaskRunPageQuery& query, bool supersedes)
{
    if (!m_context->database().store())
        return 0;
    const quint64 serial = ++m_serial;
    if (supersedes)
        m_latest->store(serial);
    auto reading = readTask(this, serial, query, supersedes);
    return serial;
}

QCoro::Task<> StoredTaskRunPages::readTask(QPointer<StoredTaskRunPages> self, quint64 serial,
                                           TaskRunPageQuery query, bool supersedes)
{
    const quint64 generation = self->m_context->database().generation();
    auto reading = self->m_context->database().pool()->run(
        [query, serial, supersedes,
         latest = self->m_latest](QSqlDatabase& db) -> std::optional<std::vector<StoredTaskRunRow>> {
            // Asked for again with other filters while it waited: its answer would be dropped anyway.
            if (supersedes && latest->load() != serial)
                return std::nullopt;
            return compact(taskRunPage(db, query));
        });
    try {
        const std::optional<std::vector<StoredTaskRunRow>> rows = co_await reading;
        if (rows && self && generation == self->m_context->database().generation())
            Q_EMIT self->read(serial, *rows);
    } catch (const std::exception& e) {
        if (self && generation == self->m_context->database().generation())
            Q_EMIT self->failed(serial, QString::fromUtf8(e.what()));
    }
}

quint64 StoredTaskRunPages::requestTallies(const QString& flowRunId)
{
    if (!m_context->database().store())
        return 0;
    const quint64 serial = ++m_serial;
    auto reading = tallyTask(this, serial, flowRunId);
    return serial;
}

QCoro::Task<> StoredTaskRunPages::tallyTask(QPointer<StoredTaskRunPages> self, quint64 serial,
                                            QString flowRunId)
{
    const quint64 generation = self->m_context->database().generation();
    auto reading = self->m_context->database().pool()->run(
        [flowRunId](QSqlDatabase& db) { return taskStateTallies(db, flowRunId); });
    try {
        const QList<TaskStateTally> tallies = co_await reading;
        if (self && generation == self->m_context->database().generation())
            Q_EMIT self->tallied(serial, tallies);
    } catch (const std::exception& e) {
        if (self && generation == self->m_context->database().generation())
            Q_EMIT self->failed(serial, QString::fromUtf8(e.what()));
    }
}

} // namespace flowdeck
