#pragma once

#include "store/pgbulk.h"
#include "store/store.h"

#include <QByteArray>
#include <QHash>
#include <QList>
#include <QSqlDatabase>
#include <QString>

#include <functional>
#include <vector>

namespace flowdeck {

/**
 * Writes one Store::Batch in one transaction, on a database thread: the flow runs it touched, the
 * latest state of every task run, the history of every transition, the flow runs' counts per state,
 * freed slots, log lines and stalls. Rows go in bulk (many rows per statement, see RowInserter).
 */
class BatchWriter {
public:
    BatchWriter(QSqlDatabase& db, const Store::Batch& batch, const QString& engineId, const QString& host);

    //! Writes and commits the batch; rolls back and throws DatabaseError when a statement fails.
    void write();

private:
    void orderRuns();
    void findRowsByKey();
    void writeFlowRuns();
    void writeTaskRuns();
    void writeHistory();
    //! Waits for the history rows that writeHistory() sent without waiting (PostgreSQL).
    void finishHistory();
    void writeTaskCounts();
    void freeSlots();
    void freeSlotsInBulk();
    void writeLogs();
    void writeStalls();

    QSqlDatabase& m_db;
    const bool m_postgres;
    const Store::Batch& m_batch;
    const QString& m_engineId;
    const QString& m_host;
    // Flow runs first (task runs reference them), then the last state of every run touched.
    QHash<RunId, qsizetype> m_lastFlow;    //!< flow run -> index of its latest transition
    std::vector<qsizetype> m_flowOrder;    //!< first transition of each flow run, in order
    std::vector<qsizetype> m_taskOrder;    //!< latest transition of each task run, in order of first
    QList<pg::Statement> m_statements;     //!< PostgreSQL: the batch's statements, sent together
    std::function<void()> m_finishHistory; //!< set while the history's COPY is on its way
    std::vector<bool> m_taskIsNew; //!< per m_taskOrder: the run was created in this batch (no row yet)
};

} // namespace flowdeck
