#pragma once

#include <QList>
#include <QSqlDatabase>
#include <QString>

// Reads over many stored flow runs at once, for the dashboard's history views. They run on a
// database thread inside ConnectionPool::run jobs and throw DatabaseError naming what failed.
namespace flowdeck {

//! The task runs of one task in one flow run that are in one state type.
struct GridCell {
    QString task;
    QString state;        //!< a state type, "COMPLETED"
    qint64 count = 0;     //!< task runs of the task in that state
    int attempts = 0;     //!< the most attempts one of them took
    qint64 createdUs = 0; //!< the first was created
    qint64 startedUs = 0; //!< the first started; 0 if none did
    qint64 endedUs = 0;   //!< the last ended; 0 if none did
};

//! One flow run of a grid column: its own state and its tasks' cells.
struct GridRun {
    QString id;
    QString state;
    QString name;
    qint64 createdUs = 0;
    qint64 startedUs = 0;
    qint64 endedUs = 0;
    QList<GridCell> cells; //!< by task, then state
};

/**
 * The newest \a runs flow runs of \a flow, oldest first, with their task runs counted per task and
 * state type: one statement (the runs from the (flow_name, created_at) index, their task runs from
 * the (flow_run_id, ...) indexes), so a screenful costs one round trip at any number of stored runs.
 */
QList<GridRun> recentRunGrid(QSqlDatabase& db, const QString& flow, int runs);

//! The statement recentRunGrid() runs, with its two parameters (flow name, number of runs).
QString recentRunGridSql();

} // namespace flowdeck
