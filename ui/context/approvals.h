#pragma once

#include "store/approvalqueries.h"

#include <QCoro/QCoroTask>
#include <QHash>
#include <QList>
#include <QObject>
#include <QPointer>
#include <QString>

namespace flowdeck {

class DatabaseConnection;
class Engine;
struct FlowRun;

//! An approval task run that waits for a decision, as the dashboard shows it.
struct PendingApproval {
    QString taskRunId;
    QString task;
    int mapIndex = -1;
    QString prompt;
    bool local = false; //!< it waits in this app's engine (decided there); else in another process
};

/**
 * The approval task runs waiting for a decision: this engine's (live) and, when the store is open,
 * every process's (read on refresh() through the database threads, the partial index of waiting task
 * runs). Decides in this engine when the task run waits here, otherwise writes the decision to the
 * store, where the process running it picks it up within a second.
 */
class Approvals : public QObject {
    Q_OBJECT

public:
    Approvals(Engine& engine, DatabaseConnection& database, QObject* parent = nullptr);
    ~Approvals() override;

    //! The task runs of \a run waiting for a decision, in the order they began to wait.
    QList<PendingApproval> waitingFor(const FlowRun* run) const;
    //! How many task runs of \a run wait for a decision (cheap: for every row of the runs list).
    int waitingCount(const FlowRun* run) const;
    /**
     * Approves or rejects task run \a taskRunId of \a run. Returns at once: decided() follows when
     * it was written to the store (a task run of another process), message() says what happened.
     */
    void decide(const FlowRun* run, const QString& taskRunId, bool approve, const QString& reason);
    //! Reads the store's waiting approvals again (on the context's pulse); changed() follows if they moved.
    void refresh();

    //! Who decides from this app, for people: "alice@host (dashboard)".
    static QString deciderName();

Q_SIGNALS:
    //! The stored waiting approvals changed, or a decision was made here.
    void changed();
    //! A decision was applied (\a ok) or refused because the task run no longer waited.
    void decided(const QString& taskRunId, bool ok);
    //! Something worth a line in the status bar.
    void message(const QString& text);

private:
    static QCoro::Task<> readTask(QPointer<Approvals> self, quint64 generation);
    static QCoro::Task<> writeTask(QPointer<Approvals> self, QString taskRunId, QString label, bool approve,
                                   QString reason, quint64 generation);
    bool isLocal(const FlowRun* run) const;

    Engine& m_engine;
    DatabaseConnection& m_database;
    bool m_loading = false;
    //! Stored waiting approvals by flow run id.
    QHash<QString, QList<WaitingApprovalRow>> m_stored;
};

} // namespace flowdeck
