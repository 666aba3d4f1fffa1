#pragma once

#include "run/flowrun.h"

#include <QCoro/QCoroTask>
#include <QElapsedTimer>
#include <QHash>
#include <QObject>
#include <QPointer>
#include <QString>

#include <chrono>

class QTimer;

namespace flowdeck {

class Engine;
class ScheduleService;
class Session;
class Store;

namespace workers {
struct ClaimedRun;
} // namespace workers

struct WorkerOptions {
    static constexpr int DefaultMaxFlowRuns = 4;
    static constexpr double DefaultLeaseSeconds = 30;

    QString name;                              //!< shown on the dashboard; default "HOST-PID"
    int maxFlowRuns = DefaultMaxFlowRuns;      //!< flow runs at once
    double leaseSeconds = DefaultLeaseSeconds; //!< heartbeat older than this: others declare it gone
    double pollSeconds = 0.5;                  //!< looks at the queue this often when idle
    //! Claims and heartbeats failing this long for a passing reason (locked, connection lost): the
    //! worker gives up (failed()); 0: never. A storage failure (disk full) gives up at once.
    double retryLimitSeconds = 0;
    //! Fires the schedules due (a ScheduleService whose runs count as this worker's).
    bool runSchedules = true;
};

/**
 * A worker process's loop. It registers the store's engine row as a worker, renews
 * its heartbeat with figures for the dashboard, claims queued flow runs (at most maxFlowRuns running
 * at once; again as soon as one ends, otherwise every pollSeconds) and runs them with the engine
 * under their queued id. It also watches the other engines: when one stops heartbeating for its
 * lease (or its process is gone), the store's recovery crashes or requeues that engine's runs and
 * frees its slots. Cancel requests reach the runs through the session's poll (EngineLink).
 */
class Worker : public QObject {
    Q_OBJECT
public:
    //! \a session is open and attached to \a engine.
    Worker(Engine& engine, Session& session, WorkerOptions options, QObject* parent = nullptr);
    ~Worker() override;

    //! Registers the worker and starts claiming.
    QCoro::Task<> start();
    //! No more claims; running flow runs go on. Emits stopRequested(reason) once.
    void requestStop(const QString& reason);
    bool stopping() const { return m_stopping; }
    //! The others declared this worker offline (its heartbeat row is gone) and took its runs over.
    bool declaredOffline() const { return m_offline; }

    /**
     * Why the worker cannot go on (failed()): the database cannot be written (disk full, a storage
     * error, or passing errors beyond retryLimitSeconds, in claims, heartbeats or the store's
     * writes); empty while it works.
     */
    const QString& failure() const { return m_failure; }
    /**
     * After failed(): ends every running flow run CRASHED with \a reason as far as the database
     * still takes it (one transaction each; the others stay as last written until another process
     * recovers them) and cancels them in the engine. Their last transitions are not written, so they
     * are no longer tracked. Returns how many were marked CRASHED.
     */
    QCoro::Task<int> crashRunning(QString reason);

    //! Flow runs this worker is running now.
    //! Flow runs it runs now; a PAUSED one with nothing running does not count (it takes no capacity).
    int running() const;
    //! Cancels every running flow run with \a reason; returns how many.
    int cancelAll(const QString& reason);
    //! A PAUSED flow run none of whose task runs runs now.
    static bool isPausedIdle(const FlowRun& run);
    //! Resolves with true once no flow run is running, or false after \a timeout.
    QCoro::Task<bool> waitIdle(std::chrono::milliseconds timeout);

    const WorkerOptions& options() const { return m_options; }
    //! The worker's schedule service (null with runSchedules off).
    ScheduleService* schedules() const { return m_schedules; }
    //! Flow runs finished so far.
    int finishedCount() const { return m_finishedCount; }

Q_SIGNALS:
    void claimed(const QString& flowRunId, const QString& flow, int attempt);
    void ended(const QString& flowRunId, const QString& flow, const QString& state, const QString& message);
    //! Runs of engines that went away were crashed or requeued by this worker.
    void tookOver(int flowRuns, int freedSlots);
    void problem(const QString& message);
    void stopRequested(const QString& reason);
    void idle();
    //! The worker stopped claiming because the database cannot be written (see failure()); emitted
    //! once, before stopRequested.
    void failed(const QString& message);

private:
    void tryClaim();
    static QCoro::Task<> claimOnce(QPointer<Worker> self);
    void startClaimed(const workers::ClaimedRun& run);
    //! Marks a claimed run FAILED in the store with message, and reports it as ended.
    void failClaimed(const QString& runId, const QString& flowName, const QString& message);
    void onFlowRunFinished(FlowRun* run);
    void releaseFinished();
    void beat();
    static QCoro::Task<> beatOnce(QPointer<Worker> self);
    //! A claim or heartbeat failed with \a e: gives up on a storage failure or once passing
    //! failures outlast the retry limit, else reports it (\a what, "retrying").
    void noteFailure(const QString& what, const std::exception& e);
    void noteSuccess() { m_failingSince.invalidate(); }
    void fail(const QString& message);

    Engine& m_engine;
    Store& m_store;
    WorkerOptions m_options;
    QString m_host;
    QHash<FlowRun*, QString> m_runs; //!< running flow runs, with their flow's name
    std::vector<FlowRun*> m_toRelease;
    QTimer* m_claimTimer;
    QTimer* m_beatTimer;
    ScheduleService* m_schedules = nullptr;
    QElapsedTimer m_reapClock;
    QElapsedTimer m_failingSince; //!< since the first of the claims/heartbeats failing in a row
    QString m_failure;
    bool m_started = false;
    bool m_claiming = false;
    bool m_claimAgain = false;
    bool m_beating = false;
    bool m_stopping = false;
    bool m_offline = false;
    int m_finishedCount = 0;
};

} // namespace flowdeck
