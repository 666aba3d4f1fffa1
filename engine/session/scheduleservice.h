#pragma once

#include <QCoro/QCoroTask>
#include <QObject>
#include <QPointer>
#include <QSet>
#include <QString>

#include <functional>

class QTimer;

namespace flowdeck {

class Engine;
class Session;

namespace workers {
struct ClaimedRun;
} // namespace workers

struct ScheduleServiceOptions {
    QString workerName; //!< shown as the claimer of the runs it starts; default "HOST-PID"
    //! Plans again at least this often (other processes may have added or changed schedules).
    double planSeconds = 5.0;
    //! At most this many due runs claimed at once.
    int maxClaim = 16;
};

/**
 * Fires schedules in one process: the dashboard (AppContext) and every `flowdeck worker` run one. It
 * plans the next fire times of every active schedule as SCHEDULED flow runs (store/schedulequeries),
 * keeps one timer for the earliest of them (not one per schedule), and at a fire time claims the due
 * runs and starts them in the engine. All SQL runs on the pool's database threads; the calling
 * thread never waits. Several processes on one database fire each fire time once.
 */
class ScheduleService : public QObject {
    Q_OBJECT
public:
    //! \a session is open and attached to \a engine.
    ScheduleService(Engine& engine, Session& session, ScheduleServiceOptions options = {},
                    QObject* parent = nullptr);
    ~ScheduleService() override;

    //! Starts a claimed run; by default it is started in the engine. A worker hands its own, so the
    //! runs count towards its capacity and shutdown.
    void setStarter(std::function<void(const workers::ClaimedRun&)> starter);
    //! How many more runs may be started now (a worker: maxFlowRuns minus those running); default: no cap.
    void setCapacity(std::function<int()> room);
    //! A run ended somewhere in this process: due runs held back for lack of room are looked at again.
    void capacityFreed();
    //! The clock, microseconds since the epoch (tests move it); default wallUs().
    void setClock(std::function<qint64()> nowUs);

    //! Plans and starts the timer.
    void start();
    //! No more planning or claims; runs already started go on.
    void stop();
    bool running() const { return m_running; }
    //! Plans again now: a schedule was added, changed, paused or resumed here.
    void wake();

Q_SIGNALS:
    //! A due run was claimed and handed to the starter: \a lateUs is the start minus the fire time.
    void fired(const QString& flowRunId, const QString& flowName, qint64 fireUs, qint64 lateUs);
    //! Runs ended CANCELLED by their limit ("skip") or by the catch-up, in a claim or a plan.
    void skipped(const QString& flowRunId);
    //! A plan finished; \a nextFireUs is the earliest planned fire time (0: none).
    void planned(qint64 nextFireUs);
    void problem(const QString& message);

private:
    void onTimer();
    void arm(qint64 nextFireUs);
    static QCoro::Task<> cycle(QPointer<ScheduleService> self, bool plan);
    void startDefault(const workers::ClaimedRun& run);

    Engine& m_engine;
    Session& m_session;
    ScheduleServiceOptions m_options;
    QString m_host;
    std::function<void(const workers::ClaimedRun&)> m_starter;
    std::function<qint64()> m_now;
    std::function<int()> m_capacity;
    bool m_blocked = false; //!< the last cycle had no room to claim
    QTimer* m_timer;
    QSet<QString> m_fired; //!< ids of the runs it started that have not finished yet
    qint64 m_nextFireUs = 0;
    qint64 m_lastPlanUs = 0;
    bool m_running = false;
    bool m_busy = false;
    bool m_again = false;
    bool m_planAgain = false;
};

} // namespace flowdeck
