#pragma once

#include "run/states.h"

#include <QCoro/QCoroTask>
#include <QJsonObject>
#include <QString>

#include <optional>
#include <stdexcept>

namespace flowdeck {

class Engine;
class RunLimitGate;
class Session;
struct Claimant;
struct FlowRun;
struct RunToContinue;

//! An operation on a stored flow run was refused; what() says why, in one line, for people
//! ("flow run 1a2b3c4d is COMPLETED: only a FAILED, CRASHED or CANCELLED run can be retried").
class RunControlError : public std::runtime_error {
public:
    explicit RunControlError(const QString& message)
        : std::runtime_error(message.toStdString())
    {
    }
    QString message() const { return QString::fromUtf8(what()); }
};

//! A retry the run limit gate did not start: skipped by the flow's max_active_runs ("on_limit": "skip")
//! or cancelled while it waited; the stored run says so too.
class RunNotStarted : public RunControlError {
public:
    RunNotStarted(const QString& message, bool skipped)
        : RunControlError(message)
        , m_skipped(skipped)
    {
    }
    bool skipped() const { return m_skipped; }

private:
    bool m_skipped;
};

// whyNotRetry / whyNotPause / whyNotResume (run/states.h) say why a state refuses an operation.

//! What a new run of a stored flow run starts from: its document and parameters as stored.
struct RerunSource {
    QString flowName;
    QJsonObject document;   //!< as written, before substitution
    QJsonObject parameters; //!< the values the stored run had
    std::optional<quint64> seed;
};

/**
 * Retry, run again, pause and resume of flow runs stored in a session's database, for the CLI and
 * the dashboard alike. A retry or resume "in this process" continues the stored flow run in \a engine
 * (same id; completed task runs keep their state and are not run again). Every method throws
 * RunControlError when the run is unknown or its state refuses the operation (nothing is written
 * then), and DatabaseError / PoolTimeout / PoolClosed when the database fails.
 */
class RunControl {
public:
    RunControl(Session& session, Engine& engine);

    /**
     * Retries a FAILED, CRASHED or CANCELLED run here; returns the running flow run. With a gate, a flow
     * with max_active_runs waits for its place first, and throws RunNotStarted when it gets none.
     */
    QCoro::Task<FlowRun*> retry(QString flowRunId, QString by);
    //! Puts the retry in the queue for a worker instead; returns the full flow run id.
    QCoro::Task<QString> queueRetry(QString flowRunId, QString by);
    //! The stored document and parameters of a run, to start it again (the start dialog, `runs rerun`).
    QCoro::Task<RerunSource> rerunSource(QString flowRunId);
    /**
     * Pauses a run: in this engine at once when it runs here, otherwise by a request that the process
     * running it applies within a second. Task runs already running finish; with \a graceSeconds they
     * are stopped after that long and run again on resume.
     */
    QCoro::Task<> pause(QString flowRunId, std::optional<double> graceSeconds, QString by);
    /**
     * Resumes a PAUSED run: in the process that holds it (this one, or another one alive, by request),
     * else here. Returns the flow run when it now continues in this engine, null when another process
     * continues it.
     */
    QCoro::Task<FlowRun*> resume(QString flowRunId, QString by);
    //! Puts a PAUSED run that no live process holds in the queue for a worker; returns its full id.
    QCoro::Task<QString> queueResume(QString flowRunId, QString by);

    Engine& engine() const { return m_engine; }
    //! Starts and retries here pass \a gate (the flow's max_active_runs); null: they start at once.
    void setGate(RunLimitGate* gate) { m_gate = gate; }
    RunLimitGate* gate() const { return m_gate; }

    //! After resume() returned null or queueResume(): the live process that holds the run and was asked
    //! to resume it ("worker w1, host pid 42"); empty when it went to the queue.
    const QString& lastHolder() const { return m_lastHolder; }

private:
    Claimant claimant(const QString& by) const;
    //! The full id of \a idOrShort (a unique prefix or suffix too); throws RunControlError.
    QCoro::Task<QString> resolve(QString idOrShort);
    FlowRun* continueHere(RunToContinue stored);

    Session& m_session;
    Engine& m_engine;
    RunLimitGate* m_gate = nullptr;
    QString m_lastHolder;
};

} // namespace flowdeck
