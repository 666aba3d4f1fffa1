#pragma once

#include <QSqlDatabase>
#include <QString>
#include <QStringList>

#include <vector>

namespace flowdeck {

//! What opening the store found and repaired.
struct RecoveryReport {
    int crashedFlowRuns = 0;
    int crashedTaskRuns = 0;
    int freedSlots = 0;
    int releasedPausedRuns = 0; //!< PAUSED runs of gone processes, now held by nobody (still PAUSED)
};

/**
 * Crash recovery, in one transaction on a database thread: the unfinished flow runs of engines that
 * are gone (their process is dead on this host, or their heartbeat is older than their lease) end
 * CRASHED, or go back to the queue when their flow has flow-level retries left; the slots and rows
 * of those engines are freed. Workers run it while they run, to take over each other's runs.
 */
class Recovery {
public:
    Recovery(QSqlDatabase& db, const QString& engineId, const QString& host);

    //! Recovers and commits; throws DatabaseError (and writes nothing) when a statement fails.
    RecoveryReport run();
    /**
     * Ends this process's own flow run \a flowRunId and its unfinished task runs CRASHED now, their
     * message "\a reason; stopped while this run was STATE", in one transaction: for a process that
     * cannot go on writing (the disk full) and says why as far as the database still takes it.
     * Throws DatabaseError when it could not.
     */
    void crashNow(const QString& flowRunId, const QString& reason);

private:
    struct Unfinished {
        QString id;
        QString worker;
        int retriesLeft;
        bool paused;
    };
    std::vector<Unfinished> readUnfinished();
    void letGo(const Unfinished& u);
    void readEngines();
    void requeue(const Unfinished& run);
    void crash(const QString& flowRunId, const QString& crashed);
    void freeDeadEngines();

    QSqlDatabase& m_db;
    const QString m_engineId;
    const QString m_host;
    const qint64 m_now;
    QStringList m_alive;
    QStringList m_dead;
    RecoveryReport m_report;
};

} // namespace flowdeck
