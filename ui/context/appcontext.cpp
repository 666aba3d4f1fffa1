#include "context/appcontext.h"

#include "context/appsettings.h"
#include "context/dirtyrows.h"
#include "flow/flowparser.h"
#include "flow/taskkind.h"
#include "run/engine.h"
#include "run/flowrun.h"
#include "store/runqueries.h"
#include "store/store.h"
#include "store/workerqueries.h"
#include "style/statestyle.h"

#include <QCoreApplication>
#include <QDeadlineTimer>
#include <QTimer>

#include <algorithm>
#include <climits>
#include <functional>
#include <map>

namespace flowdeck {

namespace {

template<typename T>
void appendUnique(std::vector<T>& list, T value)
{
    if (std::find(list.begin(), list.end(), value) == list.end())
        list.push_back(value);
}

//! Flow runs read from the store at a time (the newest page), on open and on each reload.
constexpr int HistoryPageSize = 200;
constexpr int HistoryReloadMs = 5000;

StateType parseType(const QString& text)
{
    StateType type = StateType::Pending;
    parseStateType(text, &type);
    return type;
}

StateName parseName(const QString& text, StateType type)
{
    for (int i = 0; i < StateNameCount; ++i) {
        if (toString(StateName(i)) == text)
            return StateName(i);
    }
    return defaultName(type);
}

LogLevel parseLevel(const QString& text)
{
    for (LogLevel level : {LogLevel::Debug, LogLevel::Info, LogLevel::Warning, LogLevel::Error}) {
        if (toString(level).compare(text, Qt::CaseInsensitive) == 0)
            return level;
    }
    return LogLevel::Info;
}

QString what(const std::exception& e)
{
    return QString::fromUtf8(e.what());
}

//! A state name as stored: a table lookup (the linear search above allocates a string per name, too
//! slow for the 100k rows of a stored run's details). Read-only once built, so any thread may use it.
StateName parseNameFast(const QString& text, StateType type)
{
    static const QHash<QString, StateName> names = [] {
        QHash<QString, StateName> h;
        for (int i = 0; i < StateNameCount; ++i)
            h.insert(toString(StateName(i)), StateName(i));
        return h;
    }();
    return names.value(text, defaultName(type));
}

StateType parseTypeFast(const QString& text)
{
    // States repeat: most rows carry one of a few, compared before parsing.
    thread_local QString last;
    thread_local StateType lastType = StateType::Pending;
    if (text != last) {
        last = text;
        lastType = parseType(text);
    }
    return lastType;
}

/**
 * What the Run page needs of a stored flow run, built on a database thread (where it is read) so
 * that the GUI thread only moves it into the FlowRun: for a 100k-task run, parsing the rows and
 * freeing them afterwards takes the better part of a second, which must not block the event loop.
 */
struct StoredDetails {
    QList<TaskDef> tasks;
    std::vector<TaskNode> nodes;
    std::vector<int> order;
    std::array<qint64, StateTypeCount> countByType{};
    qint64 total = 0;
    qint64 finished = 0;
    std::deque<LogLine> logs;
};

/**
 * Gives a stored flow run the nodes and task runs the Run page's models walk: one node per task, in
 * the order their first runs were created, its runs by map index. Runs on a database thread: \a run
 * is only pointed at (TaskRun::flowRun), never read or written here.
 */
StoredDetails buildDetails(FlowRun* run, const QList<TaskRunRow>& rows,
                           const QHash<QString, QList<StateRow>>& histories,
                           const QList<flowdeck::LogRow>& logs)
{
    StoredDetails out;
    std::map<QString, std::vector<const TaskRunRow*>> byTask;
    for (const TaskRunRow& row : rows)
        byTask[row.task].push_back(&row);
    std::vector<std::pair<qint64, QString>> order;
    for (auto& [task, taskRows] : byTask) {
        std::sort(taskRows.begin(), taskRows.end(),
                  [](const TaskRunRow* a, const TaskRunRow* b) { return a->mapIndex < b->mapIndex; });
        qint64 first = LLONG_MAX;
        for (const TaskRunRow* row : taskRows)
            first = std::min(first, row->createdUs);
        order.emplace_back(first, task);
    }
    std::sort(order.begin(), order.end());

    for (int i = 0; i < int(order.size()); ++i) {
        const auto& taskRows = byTask[order[size_t(i)].second];
        TaskDef def;
        def.id = order[size_t(i)].second;
        def.index = i;
        def.tags = taskRows.front()->tags;
        if (taskRows.front()->mapIndex >= 0)
            def.map = int(taskRows.size());
        out.tasks.append(def);
    }
    // Moved into the FlowRun as they are: QList and std::vector keep their buffers on a move, so the
    // pointers taken here (TaskNode::def, TaskRun::node) stay valid.
    out.nodes.resize(order.size());
    const TaskDef* defs = out.tasks.constData();
    for (size_t i = 0; i < order.size(); ++i) {
        const auto& taskRows = byTask[order[i].second];
        TaskNode& node = out.nodes[i];
        node.def = defs + i;
        node.index = int(i);
        node.count = int(taskRows.size());
        node.materialized = node.count;
        node.runs = std::make_unique<TaskRun[]>(taskRows.size());
        for (size_t k = 0; k < taskRows.size(); ++k) {
            const TaskRunRow& row = *taskRows[k];
            TaskRun& task = node.runs[k];
            task.id = RunId::fromString(row.id);
            task.flowRun = run;
            task.node = &node;
            task.mapIndex = row.mapIndex;
            task.attempts = quint16(std::clamp(row.attempts, 0, 65535));
            task.type = parseTypeFast(row.state);
            task.name = parseNameFast(row.name, task.type);
            task.started = row.startedUs > 0;
            task.createdUs = row.createdUs;
            task.startedUs = row.startedUs;
            task.endedUs = row.endedUs;
            task.message = row.message;
            task.stallCount = quint32(std::max(0, row.stallCount));
            task.stallTotalUs = row.stallTotalUs;
            const auto history = histories.constFind(row.id);
            if (history != histories.constEnd()) {
                task.history.reserve(size_t(history->size()));
                for (const StateRow& state : *history)
                    task.history.push_back(
                        {state.timeUs, parseNameFast(state.name, parseTypeFast(state.state))});
            }
            ++out.countByType[size_t(task.type)];
            if (task.isTerminal()) {
                ++node.finished;
                ++out.finished;
                if (task.type == StateType::Completed)
                    ++node.completed;
            }
        }
        node.settled = node.finished == node.count;
        out.order.push_back(int(i));
        out.total += node.count;
    }
    for (const flowdeck::LogRow& row : logs) {
        const QString task = row.task.isEmpty() ? QString() : taskRunLabel(row.task, row.mapIndex);
        out.logs.push_back({row.timeUs, parseLevel(row.level), task, row.message});
    }
    return out;
}

//! Moves what buildDetails() made into \a run (but its logs): O(number of tasks), whatever the
//! number of task runs.
void applyDetails(FlowRun& run, StoredDetails&& details)
{
    run.def.tasks = std::move(details.tasks);
    run.nodes = std::move(details.nodes);
    run.order = std::move(details.order);
    run.countByType = details.countByType;
    run.materializedTaskRuns = details.total;
    run.totalTaskRuns = std::max(run.totalTaskRuns, details.total);
    run.finishedTaskRuns = details.finished;
}

} // namespace

//! On the engine's hot path: records, never signals. Everything is applied at the next tick.
class AppContext::Observer final : public EngineObserver {
public:
    explicit Observer(AppContext& context)
        : m_context(context)
    {
    }

    void onTransition(const TransitionEvent& e) override
    {
        AppContext& c = m_context;
        if (e.flowRun != c.m_lastChanged) {
            c.m_lastChanged = e.flowRun;
            appendUnique(c.m_pending.changedFlowRuns, e.flowRun);
        }
        if (e.taskRun) {
            if (e.isNew && !e.taskRun->node->def->tags.isEmpty())
                c.m_localTagged.insert(e.taskRun->id);
            for (DirtyRows* rows : c.m_dirtyRows) {
                if (rows->flowRun() == e.flowRun)
                    rows->mark(*e.taskRun);
            }
        } else {
            if (e.isNew)
                c.m_pending.startedFlowRuns.push_back(e.flowRun);
            if (isTerminal(e.type))
                c.m_pending.finishedFlowRuns.push_back(e.flowRun);
        }
        c.scheduleTick();
    }

    void onLog(const LogEvent& e) override
    {
        AppContext& c = m_context;
        if (!e.flowRun)
            return;
        LogBuffer& buffer = c.m_logs[e.flowRun];
        buffer.lines.push_back(
            {e.timeUs, e.level, e.taskRun ? taskRunLabel(*e.taskRun) : QString(), e.message});
        if (buffer.lines.size() > size_t(MaxLogLines)) {
            buffer.lines.pop_front();
            ++buffer.firstSeq;
        }
        appendUnique(c.m_pending.flowRunsWithLogs, e.flowRun);
        c.scheduleTick();
    }

    void onStall(const StallRecord& stall) override
    {
        m_context.m_pending.stalls.push_back(stall);
        m_context.scheduleTick();
    }

private:
    AppContext& m_context;
};

AppContext::AppContext(QObject* parent)
    : QObject(parent)
    , m_engine(std::make_unique<Engine>())
    , m_parser(std::make_unique<FlowParser>(TaskKindRegistry::instance()))
    , m_observer(std::make_unique<Observer>(*this))
    , m_tickTimer(new QTimer(this))
    , m_pulseTimer(new QTimer(this))
    , m_historyTimer(new QTimer(this))
{
    qRegisterMetaType<flowdeck::UpdateBatch>();
    m_engine->blockingPool().setMaxThreads(appsettings::blockingThreads());
    m_engine->loopMonitor().setThresholdMs(appsettings::loopLagThresholdMs());
    m_engine->addObserver(m_observer.get());

    m_tickTimer->setSingleShot(true);
    m_tickTimer->setInterval(TickIntervalMs);
    connect(m_tickTimer, &QTimer::timeout, this, &AppContext::tick);
    m_pulseTimer->setInterval(PulseIntervalMs);
    connect(m_pulseTimer, &QTimer::timeout, this, &AppContext::pulse);
    m_pulseTimer->start();
    // The store's view of limits (other processes' slots and waiters) is read on the pulse.
    connect(m_pulseTimer, &QTimer::timeout, this, &AppContext::refreshStoreLimits);
    // Flow runs of other processes sharing the database appear within a few seconds.
    m_historyTimer->setInterval(HistoryReloadMs);
    connect(m_historyTimer, &QTimer::timeout, this, &AppContext::reloadHistory);
}

AppContext::~AppContext()
{
    // The engine cancels what still runs when it goes; nothing of that should reach the pages.
    m_engine->removeObserver(m_observer.get());
    if (m_store)
        m_store->detach();
    m_engine.reset();
    // Coroutines still waiting on the database are guarded by the store and the pool: they are
    // dropped, not resumed.
    m_store.reset();
    m_pool.reset();
}

FlowRun* AppContext::startFlow(const QJsonObject& document, const QString& source,
                               const QJsonObject& overrides, ValidationErrors* errors)
{
    ValidationErrors found;
    const std::optional<FlowDefinition> flow = m_parser->resolve(document, source, found, overrides);
    if (errors)
        *errors = found;
    if (!flow)
        return nullptr;
    return startFlow(*flow);
}

FlowRun* AppContext::startFlow(const FlowDefinition& flow)
{
    if (m_dbState == DatabaseState::Opening) {
        // Runs are durable from their first transition: they start once the store is attached.
        m_deferred.push_back(flow);
        Q_EMIT message(tr("%1 starts once the database is open").arg(flow.name));
        return nullptr;
    }
    return m_engine->start(flow);
}

void AppContext::startDeferred()
{
    std::vector<FlowDefinition> flows;
    std::swap(flows, m_deferred);
    for (const FlowDefinition& flow : flows) {
        m_engine->start(flow);
        Q_EMIT message(tr("Started %1").arg(flow.name)); // replaces "starts once the database is open"
    }
}

bool AppContext::cancelFlowRun(FlowRun* run)
{
    if (!isStored(run))
        return m_engine->cancelFlowRun(run, tr("cancelled from the dashboard"));
    // Another process runs it (or ran it): ask that process through the store, as
    // `flowdeck runs cancel` does.
    if (!store() || run->isTerminal() || run->cancelRequested)
        return false;
    run->cancelRequested = true;
    auto task = cancelTask(this, run->id.toString(), m_dbGeneration);
    return true;
}

QCoro::Task<> AppContext::cancelTask(QPointer<AppContext> self, QString id, quint64 generation)
{
    auto requesting = self->m_pool->run([id](QSqlDatabase& db) { return requestCancel(db, id); });
    try {
        const CancelResult result = co_await requesting;
        if (!self || generation != self->m_dbGeneration)
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
        self->reloadHistory();
    } catch (const std::exception& e) {
        if (self)
            Q_EMIT self->databaseError(tr("Cannot request the cancellation of flow run %1 in %2: %3")
                                           .arg(id, self->m_dbDescription, what(e)));
    }
}

bool AppContext::cancelTaskRun(TaskRun* run)
{
    return m_engine->cancelTaskRun(run, tr("cancelled from the dashboard"));
}

const std::vector<std::unique_ptr<FlowRun>>& AppContext::flowRuns() const
{
    return m_engine->flowRuns();
}

FlowRun* AppContext::newestFlowRun() const
{
    const auto& runs = m_engine->flowRuns();
    if (!runs.empty())
        return runs.back().get();
    return m_historyOrder.empty() ? nullptr : m_historyOrder.front();
}

bool AppContext::needsDetails(const FlowRun* run) const
{
    return run && m_stored.contains(run) && !m_detailed.contains(run);
}

void AppContext::loadDetails(FlowRun* run)
{
    if (!needsDetails(run) || m_detailsLoading.contains(run) || !store())
        return;
    m_detailsLoading.insert(run);
    auto task = detailsTask(this, run, m_dbGeneration);
}

QCoro::Task<> AppContext::detailsTask(QPointer<AppContext> self, FlowRun* run, quint64 generation)
{
    const QString id = run->id.toString();
    // Read and built on a database thread: the GUI thread only moves the result in (see StoredDetails).
    auto reading = self->m_pool->run([id, run](QSqlDatabase& db) {
        const QList<TaskRunRow> rows = taskRuns(db, id, {}, 0);
        const QHash<QString, QList<StateRow>> histories = taskRunHistories(db, id);
        const QList<flowdeck::LogRow> logs = flowdeck::logs(db, id, 0, MaxLogLines);
        return std::make_shared<StoredDetails>(buildDetails(run, rows, histories, logs));
    });
    try {
        std::shared_ptr<StoredDetails> details = co_await reading;
        if (!self)
            co_return;
        self->m_detailsLoading.remove(run);
        if (generation != self->m_dbGeneration)
            co_return;
        // A stored run has no task runs before its details (they are read once): nothing to free.
        applyDetails(*run, std::move(*details));
        LogBuffer& buffer = self->m_logs[run];
        std::swap(buffer.lines, details->logs);
        buffer.firstSeq = 0;
        self->m_detailed.insert(run);
        Q_EMIT self->flowRunDetailsLoaded(run);
    } catch (const std::exception& e) {
        if (!self)
            co_return;
        self->m_detailsLoading.remove(run);
        Q_EMIT self->databaseError(
            tr("Cannot read flow run %1 from %2: %3").arg(id, self->m_dbDescription, what(e)));
    }
}

int AppContext::activeFlowRuns() const
{
    return m_engine->activeFlowRuns();
}

BlockingPoolStats AppContext::blockingPoolStats() const
{
    return m_engine->blockingPool().stats();
}

LagStats AppContext::lagStats() const
{
    return m_engine->loopMonitor().lagStats();
}

std::vector<double> AppContext::lagPerSecond() const
{
    return m_engine->loopMonitor().lagPerSecond();
}

const std::deque<StallRecord>& AppContext::recentStalls() const
{
    return m_engine->loopMonitor().recentStalls();
}

int AppContext::loopLagThresholdMs() const
{
    return m_engine->loopMonitor().thresholdMs();
}

std::array<qint64, StateTypeCount> AppContext::activeTaskRunCounts() const
{
    std::array<qint64, StateTypeCount> counts{};
    for (const auto& run : m_engine->flowRuns()) {
        if (run->isTerminal())
            continue;
        for (int i = 0; i < StateTypeCount; ++i)
            counts[size_t(i)] += run->countByType[size_t(i)];
    }
    return counts;
}

const LogBuffer* AppContext::logs(const FlowRun* run) const
{
    const auto it = m_logs.find(run);
    return it == m_logs.end() ? nullptr : &it->second;
}

void AppContext::setBlockingThreads(int threads)
{
    m_engine->blockingPool().setMaxThreads(threads);
    appsettings::setBlockingThreads(m_engine->blockingPool().maxThreads());
}

void AppContext::setLoopLagThresholdMs(int ms)
{
    m_engine->loopMonitor().setThresholdMs(std::max(1, ms));
    appsettings::setLoopLagThresholdMs(m_engine->loopMonitor().thresholdMs());
}

QString AppContext::defaultDatabaseLocation(QString* source)
{
    const QString env = qEnvironmentVariable("FLOWDECK_DB");
    if (!env.isEmpty()) {
        if (source)
            *source = QStringLiteral("$FLOWDECK_DB");
        return env;
    }
    const QString chosen = appsettings::databaseLocation();
    if (!chosen.isEmpty()) {
        if (source)
            *source = tr("Settings");
        return chosen;
    }
    if (source)
        *source = tr("default");
    return DatabaseUrl::defaultSqlite().path;
}

bool AppContext::openDatabase(const QString& location)
{
    if (m_dbState == DatabaseState::Opening || (m_store && m_engine->activeFlowRuns() > 0))
        return false;
    retireDatabase();
    clearHistory();
    m_storeLimits.clear();
    ++m_dbGeneration;
    const QString where = location.trimmed().isEmpty() ? defaultDatabaseLocation() : location.trimmed();
    m_dbDescription = where;
    setDatabaseState(DatabaseState::Opening);
    auto task = openTask(this, where, m_dbGeneration);
    return true;
}

QCoro::Task<> AppContext::openTask(QPointer<AppContext> self, QString location, quint64 generation)
{
    QString error;
    const std::optional<DatabaseUrl> url = DatabaseUrl::parse(location, &error);
    if (!url) {
        self->setDatabaseState(DatabaseState::Failed,
                               tr("The database location \"%1\" is not valid: %2").arg(location, error));
        co_return;
    }
    self->m_dbDescription = url->redacted();
    // Owned by the context from the start: if it goes while the database answers, they go with it
    // and the waiting coroutines are dropped, not resumed.
    self->m_pool = std::make_unique<ConnectionPool>(*url, appsettings::poolOptions());
    self->m_store = std::make_unique<Store>(*self->m_pool, self->m_engine->scheduler());
    bool leaseOk = false;
    const double lease = qEnvironmentVariable("FLOWDECK_SLOT_LEASE_S").toDouble(&leaseOk);
    if (leaseOk && lease > 0)
        self->m_store->setSlotLeaseSeconds(lease);
    Store* store = self->m_store.get();
    try {
        auto opening = store->open(true);
        const RecoveryReport report = co_await opening;
        if (!self || generation != self->m_dbGeneration)
            co_return;
        store->attach(*self->m_engine);
        auto limiting = store->refreshLimits();
        co_await limiting;
        if (!self || generation != self->m_dbGeneration)
            co_return;
        if (report.crashedFlowRuns > 0)
            Q_EMIT self->message(tr("%n flow run(s) left by processes that exited were marked Crashed",
                                    nullptr, report.crashedFlowRuns));
    } catch (const std::exception& e) {
        if (!self || generation != self->m_dbGeneration)
            co_return;
        self->setDatabaseState(DatabaseState::Failed,
                               tr("Cannot open the database %1: %2").arg(self->m_dbDescription, what(e)));
        co_return;
    }
    self->setDatabaseState(DatabaseState::Open);
    self->m_historyTimer->start();
    self->reloadHistory();
    self->refreshStoreLimits();
}

void AppContext::setDatabaseState(DatabaseState state, const QString& error)
{
    m_dbState = state;
    m_dbError = error;
    if (state == DatabaseState::Failed) {
        // Nothing was attached; the pool and store go once the coroutine that failed has returned.
        retireDatabase();
        m_dbState = DatabaseState::Failed;
    }
    if (state != DatabaseState::Open)
        m_historyTimer->stop();
    if (state != DatabaseState::Opening)
        startDeferred();
    if (state == DatabaseState::Failed)
        Q_EMIT databaseError(error);
    Q_EMIT databaseStateChanged(state);
}

void AppContext::retireDatabase()
{
    if (!m_store && !m_pool)
        return;
    std::shared_ptr<Store> store(std::move(m_store));
    std::shared_ptr<ConnectionPool> pool(std::move(m_pool));
    const bool open = m_dbState == DatabaseState::Open;
    if (store)
        store->detach();
    m_dbState = DatabaseState::None;
    m_historyTimer->stop();
    auto done = std::make_shared<bool>(false);
    if (open && store) {
        auto task = closeTask(store, pool, done, true);
        return;
    }
    // Not open: nothing to write. Destroyed from the event loop, never inside a pool callback.
    QTimer::singleShot(0, this, [store, pool]() mutable {
        store.reset();
        pool.reset();
    });
}

QCoro::Task<> AppContext::closeTask(std::shared_ptr<Store> store, std::shared_ptr<ConnectionPool> pool,
                                    std::shared_ptr<bool> done, bool releaseLater)
{
    try {
        auto closing = store->close();
        co_await closing;
    } catch (const std::exception& e) {
        qWarning("flowdeck: closing the database %s: %s", qPrintable(pool->url().redacted()), e.what());
    }
    *done = true;
    if (releaseLater) {
        // This runs inside a pool callback: the pool must outlive it.
        QTimer::singleShot(0, QCoreApplication::instance(), [store, pool]() mutable {
            store.reset();
            pool.reset();
        });
    }
}

bool AppContext::closeDatabaseAndWait(int timeoutMs)
{
    m_historyTimer->stop();
    if (!m_store) {
        m_pool.reset();
        return true;
    }
    std::shared_ptr<Store> store(std::move(m_store));
    std::shared_ptr<ConnectionPool> pool(std::move(m_pool));
    store->detach();
    const bool open = m_dbState == DatabaseState::Open;
    m_dbState = DatabaseState::None;
    ++m_dbGeneration;
    bool closed = true;
    if (open) {
        auto done = std::make_shared<bool>(false);
        auto closing = closeTask(store, pool, done, false);
        // At exit only (main() after QApplication::exec() returned, and test teardown): no event loop
        // is running any more, so this pumps events while the last batch commits; nothing waits on SQL.
        QDeadlineTimer deadline(timeoutMs);
        while (!*done && !deadline.hasExpired())
            QCoreApplication::processEvents(QEventLoop::WaitForMoreEvents, 20);
        closed = *done;
    }
    store.reset();
    pool.reset();
    Q_EMIT databaseStateChanged(m_dbState);
    return closed;
}

PoolMetrics AppContext::databasePoolMetrics() const
{
    return m_pool ? m_pool->metrics() : PoolMetrics{};
}

PoolOptions AppContext::databasePoolOptions() const
{
    return m_pool ? m_pool->options() : appsettings::poolOptions();
}

void AppContext::setDatabasePoolOptions(const PoolOptions& options)
{
    PoolOptions applied = options;
    applied.poolSize = std::max(1, applied.poolSize);
    applied.maxOverflow = std::max(0, applied.maxOverflow);
    if (m_pool) {
        applied.recycleS = m_pool->options().recycleS;
        m_pool->setOptions(applied);
    }
    appsettings::setPoolOptions(applied);
}

void AppContext::clearHistory()
{
    // The runs themselves stay alive (pages may point at them); only the list is cleared.
    const bool had = !m_historyOrder.empty();
    m_historyOrder.clear();
    m_storedById.clear();
    if (had)
        Q_EMIT historyChanged();
}

FlowRun* AppContext::adoptStored(const FlowRunRow& row, const QMap<QString, qint64>& counts)
{
    auto run = std::make_unique<FlowRun>();
    run->id = RunId::fromString(row.id);
    run->def.name = row.flow;
    run->def.parameters = row.parameters;
    run->def.source = m_dbDescription;
    run->type = parseType(row.state);
    run->name = parseName(row.name, run->type);
    run->message = row.message;
    run->createdUs = row.createdUs;
    run->startedUs = row.startedUs;
    run->endedUs = row.endedUs;
    run->materializing = false;
    run->cancelRequested = row.cancelRequested;
    qint64 sum = 0;
    qint64 finished = 0;
    for (auto it = counts.begin(); it != counts.end(); ++it) {
        StateType type = StateType::Pending;
        if (!parseStateType(it.key(), &type))
            continue;
        run->countByType[size_t(type)] += it.value();
        sum += it.value();
        if (isTerminal(type))
            finished += it.value();
    }
    run->materializedTaskRuns = sum;
    run->totalTaskRuns = std::max(row.totalTaskRuns, sum);
    run->finishedTaskRuns = finished;
    FlowRun* raw = run.get();
    noteWorker(raw, row); // scale-out (#7)
    m_storedRuns.push_back(std::move(run));
    m_stored.insert(raw);
    m_storedById.insert(row.id, raw);
    return raw;
}

void AppContext::reloadHistory()
{
    if (!store() || m_historyLoading)
        return;
    m_historyLoading = true;
    auto task = historyTask(this, m_dbGeneration);
}

QCoro::Task<> AppContext::historyTask(QPointer<AppContext> self, quint64 generation)
{
    using Page = std::pair<QList<FlowRunRow>, QHash<QString, QMap<QString, qint64>>>;
    auto reading = self->m_pool->run([](QSqlDatabase& db) {
        RunFilter filter;
        filter.limit = HistoryPageSize;
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
        if (self && generation == self->m_dbGeneration) {
            self->m_historyLoading = false;
            Q_EMIT self->databaseError(
                tr("Cannot read the flow runs of %1: %2").arg(self->m_dbDescription, what(e)));
        }
        co_return;
    }
    if (!self)
        co_return;
    if (generation != self->m_dbGeneration)
        co_return;
    self->m_historyLoading = false;
    const bool first = self->m_historyOrder.empty();
    std::vector<FlowRun*> added; // newest first
    for (const FlowRunRow& row : page.first) {
        if (self->m_engine->findFlowRun(RunId::fromString(row.id)))
            continue; // run by this process: the live run is shown
        if (FlowRun* known = self->m_storedById.value(row.id)) {
            if (self->noteWorker(known, row)) { // scale-out (#7): claimed by a worker
                appendUnique(self->m_pending.changedFlowRuns, known);
                self->scheduleTick();
            }
            // Another process moved it on: refresh what the Runs table shows.
            if (known->type != parseType(row.state) || known->endedUs != row.endedUs) {
                known->type = parseType(row.state);
                known->name = parseName(row.name, known->type);
                known->message = row.message;
                known->startedUs = row.startedUs;
                known->endedUs = row.endedUs;
                if (!self->m_detailed.contains(known)) {
                    known->countByType = {};
                    known->finishedTaskRuns = 0;
                    for (auto it = page.second[row.id].begin(); it != page.second[row.id].end(); ++it) {
                        StateType type = StateType::Pending;
                        if (parseStateType(it.key(), &type)) {
                            known->countByType[size_t(type)] += it.value();
                            if (isTerminal(type))
                                known->finishedTaskRuns += it.value();
                        }
                    }
                }
                appendUnique(self->m_pending.changedFlowRuns, known);
                self->scheduleTick();
            }
            continue;
        }
        added.push_back(self->adoptStored(row, page.second.value(row.id)));
    }
    if (added.empty())
        co_return;
    if (first) {
        self->m_historyOrder = added;
        Q_EMIT self->historyChanged();
        co_return;
    }
    // Newer runs of other processes: on top of the list, like runs started here.
    self->m_historyOrder.insert(self->m_historyOrder.begin(), added.begin(), added.end());
    for (auto it = added.rbegin(); it != added.rend(); ++it) {
        self->m_pending.startedFlowRuns.push_back(*it);
        appendUnique(self->m_pending.changedFlowRuns, *it);
    }
    self->scheduleTick();
}

QString AppContext::validateLimit(const QString& tag, const QString& limit, int* value)
{
    QString error;
    if (!validTag(tag, &error))
        return tr("Tag \"%1\": %2.").arg(tag, error);
    bool ok = false;
    const qlonglong parsed = limit.trimmed().toLongLong(&ok);
    if (!ok || parsed < 0 || parsed > INT_MAX)
        return tr("Limit \"%1\" of tag \"%2\": a limit must be a non-negative integer.").arg(limit, tag);
    if (value)
        *value = int(parsed);
    return {};
}

bool AppContext::setConcurrencyLimit(const QString& tag, int limit)
{
    if (!validTag(tag, nullptr) || limit < 0)
        return false;
    if (!store()) {
        m_engine->limiter().setLimit(tag, limit);
        Q_EMIT limitsChanged();
        return true;
    }
    auto task = limitTask(this, tag, limit, false, m_dbGeneration);
    return true;
}

bool AppContext::removeConcurrencyLimit(const QString& tag)
{
    if (!validTag(tag, nullptr))
        return false;
    if (!store()) {
        m_engine->limiter().removeLimit(tag);
        Q_EMIT limitsChanged();
        return true;
    }
    auto task = limitTask(this, tag, 0, true, m_dbGeneration);
    return true;
}

QCoro::Task<> AppContext::limitTask(QPointer<AppContext> self, QString tag, int limit, bool remove,
                                    quint64 generation)
{
    auto writing = self->m_pool->run([tag, limit, remove](QSqlDatabase& db) {
        if (remove)
            return deleteLimit(db, tag);
        upsertLimit(db, tag, limit);
        return true;
    });
    try {
        const bool written = co_await writing;
        if (!self || generation != self->m_dbGeneration || !self->store())
            co_return;
        if (!written)
            Q_EMIT self->message(tr("Tag \"%1\" has no limit").arg(tag));
        // Applied to this engine's limiter at once; other processes pick it up within a second.
        auto refreshing = self->store()->refreshLimits();
        co_await refreshing;
        if (!self || generation != self->m_dbGeneration)
            co_return;
        Q_EMIT self->limitsChanged();
        self->m_limitsLoading = false;
        self->refreshStoreLimits();
    } catch (const std::exception& e) {
        if (self)
            Q_EMIT self->databaseError(
                tr("Cannot %1 the limit of tag \"%2\" in %3: %4")
                    .arg(remove ? tr("delete") : tr("write"), tag, self->m_dbDescription, what(e)));
    }
}

void AppContext::refreshStoreLimits()
{
    if (!store() || m_limitsLoading)
        return;
    m_limitsLoading = true;
    auto task = limitsTask(this, m_dbGeneration);
}

QCoro::Task<> AppContext::limitsTask(QPointer<AppContext> self, quint64 generation)
{
    auto reading = self->m_pool->run([](QSqlDatabase& db) { return listLimits(db); });
    try {
        QList<LimitRow> rows = co_await reading;
        if (!self || generation != self->m_dbGeneration)
            co_return;
        self->m_limitsLoading = false;
        if (rows.size() == self->m_storeLimits.size()
            && std::equal(rows.begin(), rows.end(), self->m_storeLimits.begin(),
                          [](const LimitRow& a, const LimitRow& b) {
                              return a.tag == b.tag && a.limit == b.limit && a.activeSlots == b.activeSlots
                                  && a.waitingRuns == b.waitingRuns;
                          }))
            co_return;
        self->m_storeLimits = std::move(rows);
        Q_EMIT self->limitsChanged();
    } catch (const std::exception& e) {
        if (self && generation == self->m_dbGeneration) {
            self->m_limitsLoading = false;
            Q_EMIT self->databaseError(
                tr("Cannot read the concurrency limits of %1: %2").arg(self->m_dbDescription, what(e)));
        }
    }
}

QList<TagRow> AppContext::tagRows() const
{
    std::map<QString, TagRow> rows;
    const ConcurrencyLimiter& limiter = m_engine->limiter();
    for (const TagUsage& usage : limiter.usage())
        rows[usage.tag] = TagRow{usage.tag, usage.limit, usage.active, usage.waiting, 0, 0};
    if (m_dbState == DatabaseState::Open) {
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

void AppContext::inspectTag(const QString& tag)
{
    if (!store())
        return;
    auto task = inspectTask(this, tag, m_dbGeneration);
}

QCoro::Task<> AppContext::inspectTask(QPointer<AppContext> self, QString tag, quint64 generation)
{
    auto reading = self->m_pool->run([tag](QSqlDatabase& db) { return inspectLimit(db, tag); });
    try {
        const std::optional<LimitRow> row = co_await reading;
        if (!self || generation != self->m_dbGeneration)
            co_return;
        LimitRow empty;
        empty.tag = tag;
        Q_EMIT self->tagInspected(tag, row ? *row : empty);
    } catch (const std::exception& e) {
        if (self && generation == self->m_dbGeneration)
            Q_EMIT self->databaseError(tr("Cannot read who holds the slots of tag \"%1\" in %2: %3")
                                           .arg(tag, self->m_dbDescription, what(e)));
    }
}

void AppContext::addDirtyRows(DirtyRows* rows)
{
    appendUnique(m_dirtyRows, rows);
}

void AppContext::removeDirtyRows(DirtyRows* rows)
{
    std::erase(m_dirtyRows, rows);
}

bool AppContext::cancelAllAndWait(int timeoutMs)
{
    for (const auto& run : m_engine->flowRuns()) {
        if (!run->isTerminal())
            m_engine->cancelFlowRun(run.get(), tr("the dashboard is closing"));
    }
    // At exit only (main() after QApplication::exec() returned, and test teardown): this pumps events
    // while the cancelled runs wind down; their coroutines must finish before the engine goes.
    QDeadlineTimer deadline(timeoutMs);
    while (m_engine->activeFlowRuns() > 0 && !deadline.hasExpired())
        QCoreApplication::processEvents(QEventLoop::WaitForMoreEvents, 20);
    return m_engine->activeFlowRuns() == 0;
}

void AppContext::flush()
{
    if (m_tickPending) {
        m_tickTimer->stop();
        tick();
    }
    Q_EMIT pulse();
}

void AppContext::scheduleTick()
{
    if (m_tickPending)
        return;
    m_tickPending = true;
    m_tickTimer->start();
}

void AppContext::tick()
{
    m_tickPending = false;
    m_lastChanged = nullptr;
    UpdateBatch batch;
    std::swap(batch, m_pending);
    Q_EMIT updated(batch);
}

// scale-out (#7): which worker runs what, and queueing a run for a worker.

namespace {

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

QString AppContext::workerNameOf(const FlowRun* run) const
{
    if (!run)
        return {};
    if (!isStored(run))
        return tr("this app");
    return m_workerNames.value(run);
}

bool AppContext::noteWorker(const FlowRun* run, const FlowRunRow& row)
{
    const QString name = row.worker.isEmpty() ? QString() : row.workerName;
    if (m_workerNames.value(run) == name)
        return false;
    if (name.isEmpty())
        m_workerNames.remove(run);
    else
        m_workerNames.insert(run, name);
    return true;
}

bool AppContext::queueFlowRun(const FlowDefinition& flow)
{
    if (!store())
        return false;
    auto task = queueTask(this, flow, m_dbGeneration);
    return true;
}

QCoro::Task<> AppContext::queueTask(QPointer<AppContext> self, FlowDefinition flow, quint64 generation)
{
    workers::Submission submission;
    submission.flowName = flow.name;
    submission.document = flow.document;
    submission.parameters = flow.parameters;
    submission.seed = flow.seed;
    submission.totalTaskRuns = queuedTaskRuns(flow);
    submission.retries = flow.document.value(QStringLiteral("retries")).toInt(0);
    auto submitting = self->m_pool->run(
        [submission](QSqlDatabase& db) { return workers::submitFlowRun(db, submission); });
    QString id;
    try {
        id = co_await submitting;
    } catch (const std::exception& e) {
        if (self)
            Q_EMIT self->databaseError(
                tr("Cannot queue a run of %1 in %2: %3").arg(flow.name, self->m_dbDescription, what(e)));
        co_return;
    }
    if (!self || generation != self->m_dbGeneration)
        co_return;
    Q_EMIT self->message(tr("Queued %1 (%2) for a worker").arg(flow.name, shortId(id)));
    Q_EMIT self->flowRunQueued(id, flow.name);
    self->reloadHistoryAfterWrite();
}

void AppContext::reloadHistoryAfterWrite(int attempts)
{
    if (!store())
        return;
    if (!m_historyLoading || attempts >= 200) { // 10 s at most; the periodic reload goes on anyway
        reloadHistory();
        return;
    }
    // A read in flight may have started before the write: read again once it is done.
    QTimer::singleShot(50, this, [this, attempts] { reloadHistoryAfterWrite(attempts + 1); });
}

} // namespace flowdeck
