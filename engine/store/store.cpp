#include "store/store.h"

#include "run/flowrun.h"
#include "run/scheduler.h"
#include "store/batchwriter.h"
#include "store/connectionpool.h"
#include "store/recovery.h"
#include "store/schema.h"
#include "store/slotqueries.h"
#include "store/sqlhelpers.h"
#include "store/walcheckpointer.h"
#include "store/workerqueries.h"

#include <QCoro/QCoroTimer>
#include <QHostInfo>
#include <QPointer>

#include <chrono>

Q_LOGGING_CATEGORY(lcStore, "flowdeck.store")

namespace flowdeck {

namespace {

// Waiters handed to the ready queue per turn of the event loop once their batch committed.
constexpr int ReleaseSlice = 2048;

} // namespace

Store::Store(ConnectionPool& pool, Scheduler& scheduler, QObject* parent)
    : QObject(parent)
    , m_pool(pool)
    , m_scheduler(scheduler)
    , m_engineId(RunId::generate().toString())
{
}

Store::~Store()
{
    m_stopping = true;
    if (m_writerIdle) {
        auto h = m_writerIdle;
        m_writerIdle = {};
        h.resume(); // lets the writer coroutine return
    }
    if (!m_buffer.empty() || !m_full.empty() || !m_waiters.empty())
        qCWarning(lcStore) << "store closed with" << metrics().pendingTransitions
                           << "transitions not yet written";
}

QCoro::Task<RecoveryReport> Store::open(bool registerEngine)
{
    if (m_pool.options().readOnly) {
        // Reading needs no write: no migration, registration or recovery, no writer.
        auto checking = m_pool.run([](QSqlDatabase& db) { schema::checkReadable(db); });
        co_await checking;
        co_return RecoveryReport{};
    }
    // Tasks are named before they are awaited: GCC 12 destroys temporaries of a co_await
    // expression (such as a lambda's captures) twice.
    auto migrating = m_pool.run([](QSqlDatabase& db) { schema::migrate(db); });
    co_await migrating;
    const QString id = m_engineId;
    const QString host = QHostInfo::localHostName();
    if (registerEngine) {
        auto registering
            = m_pool.run([id, host](QSqlDatabase& db) { workers::registerEngine(db, id, host); });
        co_await registering;
        m_registered = true;
    }
    auto recovering = m_pool.run([id, host](QSqlDatabase& db) { return Recovery(db, id, host).run(); });
    const RecoveryReport report = co_await recovering;
    if (m_pool.url().isSqlite() && !m_checkpointer)
        m_checkpointer = std::make_shared<WalCheckpointer>(m_pool.url().path);
    if (!m_writerRunning)
        m_writer = writeLoop();
    co_return report;
}

QCoro::Task<RecoveryReport> Store::recoverNow()
{
    const QString id = m_engineId;
    const QString host = QHostInfo::localHostName();
    auto recovering = m_pool.run([id, host](QSqlDatabase& db) { return Recovery(db, id, host).run(); });
    const RecoveryReport report = co_await recovering;
    co_return report;
}

StoreMetrics Store::metrics() const
{
    StoreMetrics m = m_metrics;
    m.pendingTransitions = m_buffer.transitions.size();
    for (const Batch& b : m_full)
        m.pendingTransitions += b.transitions.size();
    if (m_checkpointer)
        m.walCheckpoints = m_checkpointer->checkpoints();
    return m;
}

void Store::onTransition(const TransitionEvent& e)
{
    if (e.persisted)
        return; // written with the run's slots (acquireSlots)
    TransitionRow row;
    ++m_sequence; // the row's sequence: batches know their last
    if (!m_failure.isEmpty())
        return; // the writes stopped for good: never committed, so nothing waiting on it moves on
    row.timeUs = e.timeUs;
    row.flowRunId = e.flowRun->id;
    row.isNew = e.isNew;
    row.from = e.from;
    row.type = e.type;
    row.name = e.name;
    row.message = e.message;
    if (e.taskRun) {
        const TaskRun& r = *e.taskRun;
        row.taskRunId = r.id;
        row.task = r.taskId();
        row.mapIndex = r.mapIndex;
        row.attempts = r.attempts;
        row.createdUs = r.createdUs;
        row.startedUs = r.startedUs;
        row.endedUs = r.endedUs;
        if (e.isNew)
            row.tags = r.node->def->tags;
        row.result = e.result;
        const TaskDef& def = *r.node->def;
        if (!e.isNew && (!def.tags.isEmpty() || !def.concurrency.isEmpty()) && e.type != StateType::Cancelling
            && (e.from == StateType::Running || e.from == StateType::Cancelling)) {
            row.leftRunning = true;
        }
    } else {
        const FlowRun& f = *e.flowRun;
        row.task = f.def.name;
        row.mapIndex = -1;
        row.attempts = 0;
        row.createdUs = f.createdUs;
        row.startedUs = f.startedUs;
        row.endedUs = f.endedUs;
        // A flow run holds its flow-level limits until it ends: they are freed with its last row.
        row.leftRunning = !f.def.concurrency.isEmpty() && isTerminal(e.type);
        row.result = e.result;
        row.totalTaskRuns = f.totalTaskRuns;
        if (e.isNew) {
            m_buffer.flows.push_back({f.id, f.def.name, f.def.parameters, f.def.document, f.seed,
                                      f.totalTaskRuns, f.createdUs, f.startedBy, f.parentFlowRunId,
                                      f.parentTaskRunId});
        }
    }
    m_buffer.transitions.push_back(std::move(row));
    if (qsizetype(m_buffer.transitions.size()) >= m_maxBatch) {
        // Sealed as it is: the writer takes it whole, so that the GUI thread never splits a buffer.
        m_buffer.lastSequence = m_sequence;
        m_fullLogs += qsizetype(m_buffer.logs.size());
        m_full.push_back(std::move(m_buffer));
        m_buffer = Batch{};
    }
    wakeWriter();
}

void Store::onLog(const LogEvent& e)
{
    if (!m_failure.isEmpty())
        return;
    if (m_fullLogs + qsizetype(m_buffer.logs.size()) >= m_logLimit) {
        ++m_buffer.droppedLogs;
        ++m_metrics.logsDropped;
        wakeWriter();
        return;
    }
    m_buffer.logs.push_back({e.timeUs, e.flowRun ? e.flowRun->id : RunId{},
                             e.taskRun ? e.taskRun->id : RunId{}, e.level, e.message});
    wakeWriter();
}

void Store::onStall(const StallRecord& stall)
{
    if (!m_failure.isEmpty())
        return;
    m_buffer.stalls.push_back({stall, stall.taskRun ? stall.taskRun->stallCount : 0u,
                               stall.taskRun ? stall.taskRun->stallTotalUs : 0});
    wakeWriter();
}

void Store::whenCommitted(quint64 sequence, void (*callback)(void*, void*), void* a, void* b)
{
    if (sequence <= m_committed) {
        m_scheduler.schedule(callback, a, static_cast<TaskRun*>(b));
        return;
    }
    m_waiters.push_back({sequence, callback, a, b});
}

void Store::noteLoopStep(std::chrono::steady_clock::time_point started)
{
    const double ms
        = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - started).count();
    m_metrics.maxLoopStepMs = std::max(m_metrics.maxLoopStepMs, ms);
}

void Store::abandonWaiters()
{
    if (m_failure.isEmpty())
        return;
    std::deque<Waiter> waiters;
    std::swap(waiters, m_waiters);
    for (const Waiter& w : waiters)
        m_scheduler.schedule(w.callback, w.a, static_cast<TaskRun*>(w.b));
}

void Store::releaseWaiters()
{
    // A batch may release 100k task runs: hand them to the ready queue in slices, so that this never
    // holds the GUI thread for long; the rest follow in the next turn of the event loop.
    int released = 0;
    while (!m_waiters.empty() && m_waiters.front().sequence <= m_committed) {
        if (++released > ReleaseSlice) {
            if (!m_releasePosted) {
                m_releasePosted = true;
                QMetaObject::invokeMethod(
                    this,
                    [this] {
                        m_releasePosted = false;
                        releaseWaiters();
                    },
                    Qt::QueuedConnection);
            }
            return;
        }
        const Waiter w = m_waiters.front();
        m_waiters.pop_front();
        m_scheduler.schedule(w.callback, w.a, static_cast<TaskRun*>(w.b));
    }
}

void Store::wakeWriter()
{
    if (!m_writerIdle || m_wakePosted)
        return;
    // Resumed after the current batch of ready work, so that one transaction carries all of it.
    m_wakePosted = true;
    QMetaObject::invokeMethod(
        this,
        [this] {
            m_wakePosted = false;
            if (m_writerIdle) {
                auto h = m_writerIdle;
                m_writerIdle = {};
                h.resume();
            }
        },
        Qt::QueuedConnection);
}

QCoro::Task<> Store::writeLoop()
{
    struct Idle {
        Store* store;
        bool await_ready() const noexcept { return false; }
        void await_suspend(std::coroutine_handle<> h) { store->m_writerIdle = h; }
        void await_resume() const noexcept {}
    };
    m_writerRunning = true;
    const QString engineId = m_engineId;
    const QString host = QHostInfo::localHostName();
    QPointer<Store> self(this);
    while (!m_stopping) {
        if (m_full.empty() && m_buffer.empty()) {
            co_await Idle{this};
            continue;
        }
        auto stepStart = std::chrono::steady_clock::now();
        Batch batch = takeBatch();
        const quint64 batchTransitions = batch.transitions.size();
        const quint64 lastSequence = batch.lastSequence;
        const quint64 batchLogs = batch.logs.size();
        noteLoopStep(stepStart);
        const auto firstAttempt = std::chrono::steady_clock::now();
        for (int attempt = 0;; ++attempt) {
            const auto started = std::chrono::steady_clock::now();
            QString problem;
            QString fatal;
            try {
                auto writing
                    = m_pool.run([&batch, engineId, host, checkpointer = m_checkpointer](QSqlDatabase& db) {
                          BatchWriter(db, batch, engineId, host).write();
                          if (checkpointer)
                              checkpointer->wrote(batch.transitions.size() + batch.logs.size());
                          batch = Batch{}; // freed here, on the database thread, not on the GUI thread
                      });
                co_await writing;
                if (!self)
                    co_return; // the store was destroyed while this batch was written
                stepStart = std::chrono::steady_clock::now();
                const double ms
                    = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - started)
                          .count();
                m_metrics.lastCommitMs = ms;
                m_metrics.maxCommitMs = std::max(m_metrics.maxCommitMs, ms);
                break;
            } catch (const PoolTimeout& e) {
                ++m_metrics.poolTimeouts;
                problem = QString::fromUtf8(e.what());
            } catch (const sql::StorageError& e) {
                fatal = QString::fromUtf8(e.what());
            } catch (const std::exception& e) {
                problem = QString::fromUtf8(e.what());
            }
            if (!self)
                co_return; // the store went while this batch was written (its pool is closing)
            const double failingS
                = std::chrono::duration<double>(std::chrono::steady_clock::now() - firstAttempt).count();
            if (fatal.isEmpty() && m_retryLimitS > 0 && failingS >= m_retryLimitS) {
                fatal = QStringLiteral("%1 (still failing after %2 s of retries)")
                            .arg(problem)
                            .arg(failingS, 0, 'f', 1);
            }
            if (!fatal.isEmpty()) {
                // Retrying cannot help: what is committed stays as it is, the rest is not written.
                m_writerRunning = false;
                giveUp(fatal);
                co_return;
            }
            // Nothing is dropped: the same batch is written again after a back-off.
            noteProblem(problem);
            auto backOff
                = QCoro::sleepFor(std::chrono::milliseconds(std::min(2000, 25 << std::min(attempt, 6))));
            co_await backOff;
            if (!self)
                co_return;
        }
        noteWritten(batchTransitions, batchLogs, lastSequence);
        noteLoopStep(stepStart);
        Q_EMIT committed(m_committed);
    }
    m_writerRunning = false;
}

Store::Batch Store::takeBatch()
{
    Batch batch;
    if (!m_full.empty()) {
        // The oldest sealed batch: its transitions, and the flow runs and logs buffered with them.
        batch = std::move(m_full.front());
        m_full.pop_front();
        m_fullLogs -= qsizetype(batch.logs.size());
    } else {
        std::swap(batch, m_buffer);
        batch.lastSequence = m_sequence;
    }
    return batch;
}

void Store::noteWritten(quint64 transitions, quint64 logs, quint64 lastSequence)
{
    ++m_metrics.batches;
    m_metrics.transitionsWritten += transitions;
    m_metrics.logsWritten += logs;
    m_metrics.lastBatchRows = int(transitions + logs);
    m_committed = std::max(m_committed, lastSequence);
    releaseWaiters();
}

void Store::noteProblem(const QString& problem)
{
    ++m_metrics.retries;
    m_metrics.lastError = problem;
    qCWarning(lcStore).noquote() << "writing a batch failed, retrying:" << problem;
    Q_EMIT writeProblem(problem);
}

void Store::giveUp(const QString& message)
{
    m_failure = message;
    m_metrics.lastError = message;
    qCCritical(lcStore).noquote() << "writing a batch failed, giving up:" << message;
    Q_EMIT writeFailed(message);
}

QCoro::Task<> Store::close()
{
    auto flushing = flush();
    co_await flushing;
    if (!m_registered)
        co_return;
    const QString id = m_engineId;
    auto leaving = m_pool.run([id](QSqlDatabase& db) { workers::unregisterEngine(db, id); });
    co_await leaving;
    m_registered = false;
}

QCoro::Task<> Store::flush()
{
    struct Flushed {
        Store* store;
        quint64 sequence;
        bool await_ready() const noexcept
        {
            return store->isCommitted(sequence) || !store->m_failure.isEmpty();
        }
        void await_suspend(std::coroutine_handle<> h)
        {
            store->whenCommitted(
                sequence, [](void* a, void*) { std::coroutine_handle<>::from_address(a).resume(); },
                h.address(), nullptr);
        }
        void await_resume() const noexcept {}
    };
    const quint64 sequence = m_sequence;
    co_await Flushed{this, sequence};
    if (!isCommitted(sequence))
        throw DatabaseError(m_failure.toStdString());
}

QCoro::Task<qint64> Store::acquireSlots(const TaskRun& run, const QStringList& tags, const Start& start,
                                        const QList<LimitTake>& limits)
{
    const SlotStart row{run.flowRun->id.toString(), run.id.toString(), start.name, start.attempts,
                        start.from};
    const QString holder = m_engineId;
    const qint64 lease = m_slotLeaseUs;
    auto acquiring = m_pool.run([row, holder, tags, lease, limits](QSqlDatabase& db) {
        return flowdeck::acquireSlots(db, row, holder, tags, lease, limits);
    });
    const qint64 startedUs = co_await acquiring;
    co_return startedUs;
}

} // namespace flowdeck
