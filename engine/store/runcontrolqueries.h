#pragma once

#include "run/flowrun.h"

#include <QJsonObject>
#include <QList>
#include <QSqlDatabase>
#include <QString>

#include <optional>
#include <stdexcept>
#include <vector>

// The SQL of retrying, pausing and resuming stored flow runs. Every function runs on a database
// thread inside a ConnectionPool::run job; database failures throw DatabaseError naming what failed.
namespace flowdeck {

//! The run's state refuses the operation (or there is no such run): nothing was written.
class RefusedError : public std::runtime_error {
public:
    explicit RefusedError(const QString& message)
        : std::runtime_error(message.toStdString())
    {
    }
    QString message() const { return QString::fromUtf8(what()); }
};

//! The process that takes a stored run over.
struct Claimant {
    QString engineId;
    QString host;
    qint64 pid = 0;
    QString by; //!< who asked, for people: "alice@host (flowdeck runs retry)"
};

//! A stored flow run that this process goes on with (Engine::continueRun).
struct RunToContinue {
    QString id;
    QString flowName;
    QJsonObject document;
    QJsonObject parameters;
    std::optional<quint64> seed;
    qint64 createdUs = 0;
    Continuation continuation;
};

//! What a new run of a stored flow run starts from.
struct StoredDocument {
    QString flowName;
    QJsonObject document; //!< empty for runs stored before documents were kept
    QJsonObject parameters;
    std::optional<quint64> seed;
};
//! The document, parameters and seed of \a flowRunId; nullopt when there is no such run.
std::optional<StoredDocument> storedFlowDocument(QSqlDatabase& db, const QString& flowRunId);

//! The task runs of a stored flow run, as a continuation needs them (results included).
std::vector<PriorTaskRun> readPriorTaskRuns(QSqlDatabase& db, const QString& flowRunId);

/**
 * Retries the FAILED, CRASHED or CANCELLED flow run \a flowRunId: in one transaction, checks its
 * state, moves it to SCHEDULED "AwaitingRetry" and either claims it for \a who (returns it with its
 * task runs, to continue here) or, with \a queue, leaves it to the first worker (the result has no
 * task runs then). Throws RefusedError when it is unknown or its state refuses.
 */
RunToContinue beginRetry(QSqlDatabase& db, const QString& flowRunId, const Claimant& who, bool queue);

enum class PauseOutcome {
    Requested, //!< the process running it pauses it within a poll
    Paused,    //!< queued, not claimed by anyone: now PAUSED in the database
};
//! Asks the process running \a flowRunId to pause it. Throws RefusedError.
PauseOutcome requestPause(QSqlDatabase& db, const QString& flowRunId, std::optional<qint64> graceUs,
                          const QString& by);

struct ResumeOutcome {
    enum Kind {
        Requested, //!< the live process that holds it resumes it within a poll
        Claimed,   //!< nobody holds it: claimed for the caller, which continues \a run
        Queued,    //!< nobody holds it: in the queue for a worker
    } kind
        = Requested;
    QString holder; //!< the holding process, for Requested ("host pid 42")
    RunToContinue run;
};
//! Resumes the PAUSED flow run \a flowRunId (see ResumeOutcome). Throws RefusedError.
ResumeOutcome beginResume(QSqlDatabase& db, const QString& flowRunId, const Claimant& who, bool queue);

//! Writes who paused a flow run that its own process paused.
void setPausedBy(QSqlDatabase& db, const QString& flowRunId, const QString& by);

//! A request from another process for one of this engine's flow runs.
struct ControlRequest {
    QString id;
    bool cancel = false;
    bool pause = false;
    bool resume = false;
    std::optional<qint64> graceUs;
    QString by;
};
//! The unfinished flow runs of engine \a engineId with a cancel, pause or resume request.
QList<ControlRequest> controlRequests(QSqlDatabase& db, const QString& engineId);
//! Marks the pause and resume requests of \a ids as applied.
void clearControlRequests(QSqlDatabase& db, const QString& engineId, const QStringList& ids);

} // namespace flowdeck
