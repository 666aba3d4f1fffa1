#pragma once

#include <QList>
#include <QString>
#include <QStringList>

// Tag concurrency limits as read from the store: plain rows, for the dashboard and the CLI. The
// queries that fill them are in store/limitqueries.h.
namespace flowdeck {

//! A task run that holds or waits for a slot of a tag, as `concurrency-limit inspect` shows it.
struct LimitRunRow {
    QString taskRunId;
    QString flowRunId;
    QString task;
    int mapIndex = -1;  //!< -1 when the task is not mapped
    qint64 sinceUs = 0; //!< when it took its slot (last RUNNING) or began to wait; 0 when unknown
    QString state;      //!< state type of the task run, empty when it is not in the store
    QString message;
};

//! One tag's limit and its use across every process sharing the database.
struct LimitRow {
    QString tag;
    int limit = 0;
    int active = 0;             //!< slot rows with a live lease
    int waiting = 0;            //!< task runs in AwaitingConcurrencySlot carrying the tag
    QStringList activeSlots;    //!< task run ids holding slots (live leases), longest held first
    QStringList waitingRuns;    //!< task run ids in queue order
    QList<LimitRunRow> holders; //!< details of activeSlots, filled by inspectLimit() only
    QList<LimitRunRow> waiters; //!< details of waitingRuns, filled by inspectLimit() only
};

} // namespace flowdeck
