#pragma once

#include "session/runcontrol.h"
#include "session/runlimitgate.h"

#include <QCoro/QCoroTask>
#include <QList>
#include <QObject>
#include <QPointer>
#include <QSet>
#include <QString>

namespace flowdeck {

class DatabaseConnection;
class Engine;
class RunHistory;
struct FlowRun;

/**
 * Retry, run again, pause and resume of flow runs from the dashboard, through RunControl on the open
 * database: its SQL runs on the pool's threads, so nothing here blocks the GUI thread. Says why an
 * operation is not available for a run (the tooltip of a disabled action), and reports refusals and
 * database errors as messages (failed(), message()), never as exceptions.
 */
class RunOperations : public QObject {
    Q_OBJECT

public:
    enum class Operation { Retry, RunAgain, Pause, Resume };

    RunOperations(Engine& engine, DatabaseConnection& database, RunHistory& history,
                  QObject* parent = nullptr);
    ~RunOperations() override;

    //! The gate that holds a retried run while its flow has max_active_runs active in any process.
    void setRunLimits(RunLimitGate* gate) { m_gate = gate; }
    //! Who this dashboard is, for people: "Flowdeck dashboard (alice@host, pid 42)".
    static QString identity();
    //! Why \a operation cannot be done on \a run now, in a line; empty when it can.
    QString whyNot(Operation operation, const FlowRun* run) const;
    //! The tooltip of a disabled action: "Retry is not available: <why>".
    static QString notAvailable(Operation operation, const QString& why);
    //! True while an operation on \a run is under way (its actions wait for it).
    bool isBusy(const FlowRun* run) const;

    //! Retries each run of \a runs that can be retried, in this process; returns how many.
    //! retried() or failed() follows for each.
    int retry(const QList<FlowRun*>& runs);
    //! Pauses \a run (here, or by a request to the process running it); paused() or failed() follows.
    bool pause(FlowRun* run);
    //! Resumes a paused \a run; resumed() or failed() follows.
    bool resume(FlowRun* run);
    /**
     * Reads what a new run of \a run starts from: its flow document and parameter values (from memory
     * for a run of this process, else from the database). Returns a serial that rerunSourceRead() or
     * failed() carries, 0 when refused.
     */
    quint64 readRerunSource(FlowRun* run);

Q_SIGNALS:
    //! \a run (same id) runs again in this process.
    void retried(const QString& id, flowdeck::FlowRun* run);
    void paused(const QString& id);
    //! \a run continues in this process; null when another process continues it.
    void resumed(const QString& id, flowdeck::FlowRun* run);
    void rerunSourceRead(quint64 serial, const QString& id, const flowdeck::RerunSource& source);
    //! An operation was refused or failed; \a serial is readRerunSource()'s, else 0.
    void failed(quint64 serial, const QString& message);
    //! Something worth a line in the status bar (successes and failures alike).
    void message(const QString& text);
    //! An operation started or ended: the actions over runs look again.
    void busyChanged();

private:
    void begin(const QString& id);
    void end(const QString& id);
    void fail(quint64 serial, const QString& text);
    // Hold a QPointer and the database generation: a result for a database since replaced is dropped.
    static QCoro::Task<> retryTask(QPointer<RunOperations> self, QString id, QString label,
                                   quint64 generation);
    static QCoro::Task<> pauseTask(QPointer<RunOperations> self, QString id, QString label,
                                   quint64 generation);
    static QCoro::Task<> resumeTask(QPointer<RunOperations> self, QString id, QString label,
                                    quint64 generation);
    static QCoro::Task<> rerunTask(QPointer<RunOperations> self, QString id, QString label, quint64 serial,
                                   quint64 generation);

    Engine& m_engine;
    DatabaseConnection& m_database;
    RunHistory& m_history;
    QPointer<RunLimitGate> m_gate;
    QSet<QString> m_busy; //!< ids of runs with an operation under way
    quint64 m_serial = 0;
};

} // namespace flowdeck

Q_DECLARE_METATYPE(flowdeck::RerunSource)
