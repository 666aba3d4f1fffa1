#pragma once

#include "run/flowrun.h"

#include <QCoro/QCoroTask>
#include <QHash>
#include <QObject>
#include <QPointer>
#include <QString>

#include <coroutine>
#include <functional>
#include <memory>
#include <optional>

class QTimer;

namespace flowdeck {

class Engine;
class Session;
struct FlowDefinition;

//! How a start through the gate ended.
struct GateOutcome {
    enum Kind {
        Started,   //!< run is running in the engine
        Skipped,   //!< over the limit with on_limit skip: stored CANCELLED, message says why
        Cancelled, //!< cancelled while it waited (or the gate closed): stored CANCELLED
        Failed,    //!< it could not be stored or started: message says why
    };
    Kind kind = Failed;
    FlowRun* run = nullptr;
    QString id;      //!< the flow run's id, also when it never started
    QString message; //!< why it was skipped, cancelled or failed
};

/**
 * Holds a flow's "max_active_runs" for the flow runs this process starts itself (`flowdeck run`,
 * `runs rerun` and `runs retry` here, the dashboard's Start and Run Again), as the claims of queued
 * and scheduled runs do: counted across every process on the database, race-free (the count and the
 * row that takes the place are one transaction under the claims' lock). A run over its limit is stored
 * SCHEDULED AwaitingConcurrencySlot with the reason ("on_limit": "enqueue") and starts once a place
 * is free, or ends CANCELLED with the reason ("skip"). Waiting runs are tried again together, at
 * once when a run of this engine ends and every half second while any waits (one timer for all); a
 * cancellation requested from elsewhere (`runs cancel`, the dashboard) ends the wait CANCELLED. A
 * flow without max_active_runs, or an engine without a store, starts at once as before.
 */
class RunLimitGate : public QObject {
    Q_OBJECT
public:
    //! \a session is open and attached to \a engine.
    RunLimitGate(Engine& engine, Session& session, QObject* parent = nullptr);
    //! Runs still waiting are resumed as Cancelled (their rows are left to cancelAll() or recovery).
    ~RunLimitGate() override;

    //! Whether a start of \a flow goes through the database first (it sets max_active_runs).
    bool limits(const FlowDefinition& flow) const;

    //! Starts \a flow as a new flow run once its limit allows; \a startedBy as Engine::setStartedBy.
    QCoro::Task<GateOutcome> start(FlowDefinition flow, QString startedBy);
    /**
     * Goes on with the stored run \a id that this engine holds already (a retry here) once its limit
     * allows: \a continueHere starts it in the engine (and may throw as Engine::continueRun does).
     */
    QCoro::Task<GateOutcome> continueStored(FlowDefinition flow, QString id, qint64 createdUs,
                                            std::function<FlowRun*()> continueHere);

    //! Ids of the runs waiting here.
    QStringList waitingIds() const { return m_waiting.keys(); }
    //! Ends every wait here CANCELLED with \a reason, in the database first.
    QCoro::Task<> cancelAll(QString reason);

Q_SIGNALS:
    //! \a flowRunId waits for its limit: stored SCHEDULED with \a message.
    void waiting(const QString& flowRunId, const QString& flowName, const QString& message);
    void problem(const QString& message);

private:
    struct Waiter;
    struct WaitAwaiter;
    QCoro::Task<GateOutcome> pass(QString flowName, QJsonObject document, QJsonObject parameters,
                                  std::optional<quint64> seed, qint64 totalTaskRuns, QString id,
                                  qint64 createdUs, QString startedBy, bool stored,
                                  std::function<FlowRun*()> startHere);
    void tryAgain();
    static QCoro::Task<> tryWaiting(QPointer<RunLimitGate> self);
    void finish(const QString& id, GateOutcome::Kind kind, const QString& message);

    Engine& m_engine;
    Session& m_session;
    QTimer* m_timer;
    QHash<QString, std::shared_ptr<Waiter>> m_waiting;
    QList<QString> m_order; //!< waiting ids, oldest first
    bool m_trying = false;
    bool m_again = false;
    bool m_closing = false;
};

} // namespace flowdeck
