#include "context/runhistory.h"

#include "context/databaseconnection.h"
#include "context/logbuffers.h"
#include "context/runoperations.h"
#include "run/clock.h"
#include "run/engine.h"
#include "store/runqueries.h"
#include "store/storedruns.h"
#include "store/workerqueries.h"
#include "style/statestyle.h"

#include <QTimer>

#include <functional>

namespace flowdeck {

namespace {

QString what(const std::exception& e)
{
    return QString::fromUtf8(e.what());
}

//! Task runs of a resolved flow (a mapped task has as many runs as its map, or as the task it maps over).
qint64 queuedTaskRuns(const FlowDefinition& flow)
{
    std::function<qint64(const TaskDef&, int)> countOf = [&](const TaskDef& t, int depth) -> qint64 {
        const int over = t.mapOver.isEmpty() ? -1 : flow.indexOf(t.mapOver);
        return over < 0 || depth > flow.tasks.size() ? t.map.value_or(1)
                                                     : countOf(flow.tasks.at(over), depth + 1);
    };
    qint64 runs = 0;
    for (const TaskDef& t : flow.tasks)
        runs += countOf(t, 0);
    return runs;
}

} // namespace

RunHistory::RunHistory(Engine& engine, DatabaseConnection& database, LogBuffers& logs, QObject* parent)
    : QObject(parent)
    , m_engine(engine)
    , m_database(database)
    , m_logs(logs)
    , m_timer(new QTimer(this))
    , m_sessionStartUs(wallUs())
{
    // Flow runs of other processes sharing the database appear within a few seconds.
    m_timer->setInterval(ReloadMs);
    connect(m_timer, &QTimer::timeout, this, &RunHistory::reload);
    connect(&database, &DatabaseConnection::aboutToOpen, this, [this] {
        m_timer->stop();
        clear();
    });
    connect(&database, &DatabaseConnection::stateChanged, this, [this](DatabaseState state) {
        if (state != DatabaseState::Open)
            m_timer->stop();
    });
    connect(&database, &DatabaseConnection::opened, this, [this] {
        m_timer->start();
        reload();
        auto task = stallsTask(this, m_database.generation());
    });
}

RunHistory::~RunHistory() = default;

void RunHistory::clear()
{
    // The runs themselves stay alive (pages may point at them); only the list is cleared.
    const bool had = !m_order.empty();
    m_order.clear();
    m_byId.clear();
    if (had)
        Q_EMIT historyChanged();
}

bool RunHistory::needsDetails(const FlowRun* run) const
{
    return run && m_stored.contains(run) && !m_detailed.contains(run);
}

bool RunHistory::isPaged(const FlowRun* run) const
{
    // Decided once its details are read: a run read whole stays so while it grows.
    if (!run || !m_stored.contains(run))
        return false;
    return m_detailed.contains(run) ? m_paged.contains(run) : run->totalTaskRuns > PagedTaskRuns;
}

void RunHistory::loadDetails(FlowRun* run)
{
    if (!needsDetails(run) || m_detailsLoading.contains(run) || !m_database.store())
        return;
    m_detailsLoading.insert(run);
    auto task = detailsTask(this, run, m_database.generation());
}

QCoro::Task<> RunHistory::detailsTask(QPointer<RunHistory> self, FlowRun* run, quint64 generation)
{
    const QString id = run->id.toString();
    const bool paged = self->isPaged(run);
    // Read and built on a database thread: the GUI thread only moves the result in (see StoredDetails).
    // A paged run's task runs stay in the database (StoredTaskRunModel reads them a page at a time).
    auto reading = self->m_database.pool()->run([id, run, paged](QSqlDatabase& db) {
        const QList<TaskRunRow> rows = paged ? QList<TaskRunRow>{} : taskRuns(db, id, {}, 0);
        const QHash<QString, QList<StateRow>> histories
            = paged ? QHash<QString, QList<StateRow>>{} : taskRunHistories(db, id);
        const QList<LogRow> logs = flowdeck::logs(db, id, 0, LogBuffers::MaxLines);
        return std::make_shared<StoredDetails>(buildStoredDetails(run, rows, histories, logs));
    });
    try {
        std::shared_ptr<StoredDetails> details = co_await reading;
        if (!self)
            co_return;
        self->m_detailsLoading.remove(run);
        if (generation != self->m_database.generation())
            co_return;
        // A stored run has no task runs before its details (they are read once): nothing to free.
        // A paged run keeps none, and the counts of its row.
        if (!paged)
            applyStoredDetails(*run, std::move(*details));
        self->m_logs.replace(run, std::move(details->logs));
        self->m_detailed.insert(run);
        if (paged)
            self->m_paged.insert(run);
        Q_EMIT self->detailsLoaded(run);
    } catch (const std::exception& e) {
        if (!self)
            co_return;
        self->m_detailsLoading.remove(run);
        self->m_database.reportError(
            tr("Cannot read flow run %1 from %2: %3").arg(id, self->m_database.description(), what(e)));
    }
}

FlowRun* RunHistory::adopt(const FlowRunRow& row, const QMap<QString, qint64>& counts)
{
    std::unique_ptr<FlowRun> run = storedFlowRun(row, counts, m_database.description());
    FlowRun* raw = run.get();
    // What the Run page tells of it: who started it, and the seed it ran with (when stored: the
    // definition's seed then says it is known).
    raw->startedBy = row.startedBy;
    raw->def.seed = row.seed;
    raw->seed = row.seed.value_or(0);
    noteWorker(raw, row);
    m_owned.push_back(std::move(run));
    m_stored.insert(raw);
    m_byId.insert(row.id, raw);
    return raw;
}

QCoro::Task<> RunHistory::stallsTask(QPointer<RunHistory> self, quint64 generation)
{
    constexpr int Shown = 200;
    const qint64 before = self->m_sessionStartUs;
    auto reading = self->m_database.pool()->run(
        [before](QSqlDatabase& db) { return recentStalls(db, before, Shown); });
    QList<StallRow> rows;
    try {
        rows = co_await reading;
    } catch (const std::exception& e) {
        if (self && generation == self->m_database.generation())
            self->m_database.reportError(
                tr("Cannot read the stalls of %1: %2").arg(self->m_database.description(), what(e)));
        co_return;
    }
    if (!self || generation != self->m_database.generation() || rows.isEmpty())
        co_return;
    QList<StallRecord> stalls;
    for (const StallRow& row : rows) {
        StallRecord stall;
        stall.startUs = row.timeUs;
        stall.durationUs = row.durationUs;
        stall.flowRunId = RunId::fromString(row.flowRunId);
        stall.taskRunId = RunId::fromString(row.taskRunId);
        stall.task = row.task;
        stalls.append(stall);
    }
    Q_EMIT self->earlierStallsRead(stalls);
}

void RunHistory::reload()
{
    if (!m_database.store() || m_loading)
        return;
    m_loading = true;
    auto task = reloadTask(this, m_database.generation());
}

QCoro::Task<> RunHistory::reloadTask(QPointer<RunHistory> self, quint64 generation)
{
    using Page = std::pair<QList<FlowRunRow>, QHash<QString, QMap<QString, qint64>>>;
    auto reading = self->m_database.pool()->run([](QSqlDatabase& db) {
        RunFilter filter;
        filter.limit = PageSize;
        Page page;
        page.first = listFlowRuns(db, filter);
        QStringList ids;
        for (const FlowRunRow& row : page.first)
            ids << row.id;
        page.second = taskRunCountsOf(db, ids);
        return page;
    });
    Page page;
    try {
        page = co_await reading;
    } catch (const std::exception& e) {
        if (self && generation == self->m_database.generation()) {
            self->m_loading = false;
            self->m_database.reportError(
                tr("Cannot read the flow runs of %1: %2").arg(self->m_database.description(), what(e)));
        }
        co_return;
    }
    if (!self || generation != self->m_database.generation())
        co_return;
    self->m_loading = false;
    const bool first = self->m_order.empty();
    QList<FlowRun*> added; // newest first
    QList<FlowRun*> changed;
    for (const FlowRunRow& row : page.first) {
        if (self->m_engine.findFlowRun(RunId::fromString(row.id)))
            continue; // run by this process: the live run is shown
        FlowRun* known = self->m_byId.value(row.id);
        if (!known) {
            added.append(self->adopt(row, page.second.value(row.id)));
            continue;
        }
        // Another process moved it on (or a worker claimed it): refresh what the Runs table shows.
        if (self->refreshKnown(known, row, page.second.value(row.id)) && !changed.contains(known))
            changed.append(known);
    }
    if (first && !added.isEmpty()) {
        self->m_order.assign(added.begin(), added.end());
        Q_EMIT self->historyChanged();
        added.clear();
    } else {
        // Newer runs of other processes: on top of the list, like runs started here.
        self->m_order.insert(self->m_order.begin(), added.begin(), added.end());
    }
    if (!added.isEmpty() || !changed.isEmpty())
        Q_EMIT self->runsUpdated(added, changed);
}

bool RunHistory::refreshKnown(FlowRun* known, const FlowRunRow& row, const QMap<QString, qint64>& counts)
{
    const bool claimed = noteWorker(known, row);
    const bool detailed = m_detailed.contains(known) && !isPaged(known);
    bool moved = refreshStoredFlowRun(*known, row, counts, detailed);
    if (detailed) {
        // Its task runs are a snapshot that the run's counts describe; the row's counts go on.
        const TaskRunCounts rowCounts = taskRunCountsFrom(counts, row.totalTaskRuns);
        const auto it = m_rowCounts.constFind(known);
        if (it == m_rowCounts.constEnd() || *it != rowCounts) {
            m_rowCounts.insert(known, rowCounts);
            moved = true;
        }
    }
    return claimed || moved;
}

void RunHistory::refreshRun(FlowRun* run)
{
    if (!run || !isStored(run) || !m_database.store() || m_refreshing.contains(run))
        return;
    m_refreshing.insert(run);
    auto task = refreshTask(this, run, m_database.generation());
}

QCoro::Task<> RunHistory::refreshTask(QPointer<RunHistory> self, FlowRun* run, quint64 generation)
{
    using Read = std::pair<std::optional<FlowRunRow>, QMap<QString, qint64>>;
    const QString id = run->id.toString();
    auto reading = self->m_database.pool()->run([id](QSqlDatabase& db) {
        Read read;
        read.first = flowRun(db, id);
        if (read.first)
            read.second = taskRunCountsOf(db, {id}).value(id);
        return read;
    });
    Read read;
    try {
        read = co_await reading;
    } catch (const std::exception& e) {
        if (self) {
            self->m_refreshing.remove(run);
            if (generation == self->m_database.generation())
                self->m_database.reportError(tr("Cannot read flow run %1 from %2: %3")
                                                 .arg(id, self->m_database.description(), what(e)));
        }
        co_return;
    }
    if (!self)
        co_return;
    self->m_refreshing.remove(run);
    if (generation != self->m_database.generation() || !read.first)
        co_return;
    if (self->refreshKnown(run, *read.first, read.second))
        Q_EMIT self->runsUpdated({}, {run});
}

const TaskRunCounts* RunHistory::rowCountsOf(const FlowRun* run) const
{
    const auto it = m_rowCounts.constFind(run);
    return it == m_rowCounts.constEnd() ? nullptr : &*it;
}

QString RunHistory::workerNameOf(const FlowRun* run) const
{
    if (!run)
        return {};
    if (!isStored(run))
        return tr("this app");
    return m_workerNames.value(run);
}

bool RunHistory::noteWorker(const FlowRun* run, const FlowRunRow& row)
{
    // A worker by its name; a process that was no worker (this app in an earlier session, or
    // `flowdeck run`) by its host and pid; nothing while queued.
    QString name;
    if (!row.worker.isEmpty() && !row.workerName.isEmpty())
        name = row.workerName;
    else if (!row.worker.isEmpty() && !row.host.isEmpty())
        name = tr("%1 (pid %2)").arg(row.host).arg(row.pid);
    if (!row.workerName.isEmpty())
        m_claimedByWorker.insert(run);
    else
        m_claimedByWorker.remove(run);
    if (m_workerNames.value(run) == name)
        return false;
    if (name.isEmpty())
        m_workerNames.remove(run);
    else
        m_workerNames.insert(run, name);
    return true;
}

bool RunHistory::queueFlowRun(const FlowDefinition& flow, const QString& startedBy)
{
    if (!m_database.store())
        return false;
    auto task = queueTask(this, flow, startedBy.isEmpty() ? RunOperations::identity() : startedBy,
                          m_database.generation());
    return true;
}

QCoro::Task<> RunHistory::queueTask(QPointer<RunHistory> self, FlowDefinition flow, QString startedBy,
                                    quint64 generation)
{
    workers::Submission submission;
    submission.flowName = flow.name;
    submission.document = flow.document;
    submission.parameters = flow.parameters;
    submission.seed = flow.seed;
    submission.totalTaskRuns = queuedTaskRuns(flow);
    submission.retries = flow.document.value(QStringLiteral("retries")).toInt(0);
    submission.startedBy = startedBy;
    auto submitting = self->m_database.pool()->run(
        [submission](QSqlDatabase& db) { return workers::submitFlowRun(db, submission); });
    QString id;
    try {
        id = co_await submitting;
    } catch (const std::exception& e) {
        if (self)
            self->m_database.reportError(tr("Cannot queue a run of %1 in %2: %3")
                                             .arg(flow.name, self->m_database.description(), what(e)));
        co_return;
    }
    if (!self || generation != self->m_database.generation())
        co_return;
    Q_EMIT self->message(tr("Queued %1 (%2) for a worker").arg(flow.name, shortId(id)));
    Q_EMIT self->flowRunQueued(id, flow.name);
    self->reloadAfterWrite();
}

void RunHistory::reloadAfterWrite(int attempts)
{
    if (!m_database.store())
        return;
    if (!m_loading || attempts >= 200) { // 10 s at most; the periodic reload goes on anyway
        reload();
        return;
    }
    // A read in flight may have started before the write: read again once it is done.
    QTimer::singleShot(50, this, [this, attempts] { reloadAfterWrite(attempts + 1); });
}

bool RunHistory::requestCancel(FlowRun* run)
{
    if (!m_database.store() || run->isTerminal() || run->cancelRequested)
        return false;
    run->cancelRequested = true;
    auto task = cancelTask(this, run->id.toString(), m_database.generation());
    return true;
}

QCoro::Task<> RunHistory::cancelTask(QPointer<RunHistory> self, QString id, quint64 generation)
{
    auto requesting
        = self->m_database.pool()->run([id](QSqlDatabase& db) { return flowdeck::requestCancel(db, id); });
    try {
        const CancelResult result = co_await requesting;
        if (!self || generation != self->m_database.generation())
            co_return;
        switch (result) {
        case CancelResult::Requested:
            Q_EMIT self->message(
                tr("Cancel requested for flow run %1; the process running it cancels it within a second")
                    .arg(shortId(id)));
            break;
        case CancelResult::AlreadyFinished:
            Q_EMIT self->message(tr("Flow run %1 had already finished").arg(shortId(id)));
            break;
        case CancelResult::NotFound:
            Q_EMIT self->message(tr("Flow run %1 is no longer in the database").arg(shortId(id)));
            break;
        }
        self->reload();
    } catch (const std::exception& e) {
        if (self)
            self->m_database.reportError(tr("Cannot request the cancellation of flow run %1 in %2: %3")
                                             .arg(id, self->m_database.description(), what(e)));
    }
}

} // namespace flowdeck
