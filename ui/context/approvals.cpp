#include "context/approvals.h"

#include "context/databaseconnection.h"
#include "run/engine.h"
#include "run/flowrun.h"

#include <QSysInfo>

namespace flowdeck {

namespace {

QHash<QString, QList<WaitingApprovalRow>> byFlowRun(const QList<WaitingApprovalRow>& rows)
{
    QHash<QString, QList<WaitingApprovalRow>> out;
    for (const WaitingApprovalRow& r : rows)
        out[r.flowRunId].append(r);
    return out;
}

bool sameRows(const QHash<QString, QList<WaitingApprovalRow>>& a,
              const QHash<QString, QList<WaitingApprovalRow>>& b)
{
    if (a.size() != b.size())
        return false;
    for (auto it = a.cbegin(); it != a.cend(); ++it) {
        const auto other = b.constFind(it.key());
        if (other == b.cend() || other->size() != it->size())
            return false;
        for (qsizetype i = 0; i < it->size(); ++i) {
            if (it->at(i).taskRunId != other->at(i).taskRunId || it->at(i).prompt != other->at(i).prompt)
                return false;
        }
    }
    return true;
}

} // namespace

Approvals::Approvals(Engine& engine, DatabaseConnection& database, QObject* parent)
    : QObject(parent)
    , m_engine(engine)
    , m_database(database)
{
    connect(&database, &DatabaseConnection::aboutToOpen, this, [this] {
        m_stored.clear();
        m_loading = false;
        Q_EMIT changed();
    });
    connect(&database, &DatabaseConnection::opened, this, &Approvals::refresh);
}

Approvals::~Approvals() = default;

QString Approvals::deciderName()
{
    QString user = qEnvironmentVariable("USER");
    if (user.isEmpty())
        user = qEnvironmentVariable("LOGNAME", QStringLiteral("someone"));
    return tr("%1@%2 (dashboard)").arg(user, QSysInfo::machineHostName());
}

bool Approvals::isLocal(const FlowRun* run) const
{
    return run && m_engine.findFlowRun(run->id) == run;
}

QList<PendingApproval> Approvals::waitingFor(const FlowRun* run) const
{
    QList<PendingApproval> out;
    if (!run)
        return out;
    if (isLocal(run)) {
        // This engine knows best: the store may still show a decision made here a moment ago as waiting.
        for (const TaskRun* t : m_engine.awaitingApprovals()) {
            if (t->flowRun == run)
                out.append({t->id.toString(), t->taskId(), t->mapIndex, t->message, true});
        }
        return out;
    }
    for (const WaitingApprovalRow& r : m_stored.value(run->id.toString()))
        out.append({r.taskRunId, r.task, r.mapIndex, r.prompt, false});
    return out;
}

int Approvals::waitingCount(const FlowRun* run) const
{
    if (!run)
        return 0;
    int live = 0;
    for (const TaskRun* t : m_engine.awaitingApprovals())
        live += t->flowRun == run ? 1 : 0;
    if (live > 0 || m_stored.isEmpty())
        return live;
    const auto it = m_stored.constFind(run->id.toString());
    if (it == m_stored.cend() || isLocal(run))
        return 0;
    return int(it->size());
}

void Approvals::decide(const FlowRun* run, const QString& taskRunId, bool approve, const QString& reason)
{
    const QString by = deciderName();
    for (TaskRun* t : m_engine.awaitingApprovals()) {
        if (t->id.toString() != taskRunId)
            continue;
        const QString label = taskRunLabel(*t);
        const bool ok = m_engine.decideApproval(t, approve, reason, by);
        Q_EMIT message(
            ok ? (approve ? tr("Approved task run %1").arg(label) : tr("Rejected task run %1").arg(label))
               : tr("Task run %1 no longer waits for approval").arg(label));
        Q_EMIT decided(taskRunId, ok);
        Q_EMIT changed();
        return;
    }
    QString label = taskRunId;
    if (run) {
        for (const WaitingApprovalRow& r : m_stored.value(run->id.toString())) {
            if (r.taskRunId == taskRunId)
                label = taskRunLabel(r.task, r.mapIndex);
        }
    }
    if (!m_database.pool() || isLocal(run)) {
        Q_EMIT message(tr("Task run %1 no longer waits for approval").arg(label));
        Q_EMIT decided(taskRunId, false);
        return;
    }
    auto task = writeTask(this, taskRunId, label, approve, reason, m_database.generation());
}

QCoro::Task<> Approvals::writeTask(QPointer<Approvals> self, QString taskRunId, QString label, bool approve,
                                   QString reason, quint64 generation)
{
    const QString by = deciderName();
    auto writing = self->m_database.pool()->run([taskRunId, approve, reason, by](QSqlDatabase& db) {
        return decideApprovalById(db, taskRunId, approve, reason, by);
    });
    try {
        const DecideOutcome outcome = co_await writing;
        if (!self || generation != self->m_database.generation())
            co_return;
        const bool ok = outcome.result == DecideResult::Decided;
        if (ok) {
            // Gone from the banner at once; the process running it goes on within a second.
            for (auto it = self->m_stored.begin(); it != self->m_stored.end();) {
                it->removeIf([&](const WaitingApprovalRow& r) { return r.taskRunId == taskRunId; });
                it = it->isEmpty() ? self->m_stored.erase(it) : std::next(it);
            }
        }
        Q_EMIT self->message(
            ok ? (approve
                      ? tr("Approved task run %1; the process running it goes on within a second").arg(label)
                      : tr("Rejected task run %1; the process running it goes on within a second").arg(label))
               : tr("Task run %1 no longer waits for approval (%2)")
                     .arg(label, outcome.decidedAs.isEmpty() ? outcome.state : outcome.decidedAs));
        Q_EMIT self->decided(taskRunId, ok);
        Q_EMIT self->changed();
        self->refresh();
    } catch (const std::exception& e) {
        if (self) {
            self->m_database.reportError(
                tr("Cannot write the decision on task run %1 to %2: %3")
                    .arg(label, self->m_database.description(), QString::fromUtf8(e.what())));
            Q_EMIT self->decided(taskRunId, false);
        }
    }
}

void Approvals::refresh()
{
    if (!m_database.pool() || m_loading)
        return;
    m_loading = true;
    auto task = readTask(this, m_database.generation());
}

QCoro::Task<> Approvals::readTask(QPointer<Approvals> self, quint64 generation)
{
    auto reading = self->m_database.pool()->run([](QSqlDatabase& db) { return waitingApprovals(db); });
    try {
        const QList<WaitingApprovalRow> rows = co_await reading;
        if (!self || generation != self->m_database.generation())
            co_return;
        self->m_loading = false;
        auto stored = byFlowRun(rows);
        if (sameRows(stored, self->m_stored))
            co_return;
        self->m_stored = std::move(stored);
        Q_EMIT self->changed();
    } catch (const std::exception&) {
        // The next pulse reads again; a lasting failure is reported by the history's reads.
        if (self)
            self->m_loading = false;
    }
}

} // namespace flowdeck
