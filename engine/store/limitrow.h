#pragma once

#include <QList>
#include <QString>
#include <QStringList>

#include <optional>

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

//! One named global limit (or rate limit) and its use across every process sharing the database.
struct GlobalLimitRow {
    QString name;
    int limit = 0;
    bool active = true;
    std::optional<double> slotDecayPerSecond; //!< none: not a rate limit
    int activeSlots = 0;        //!< occupied now: held with a live lease, or taken and not yet decayed
    int decayingSlots = 0;      //!< of activeSlots, those taken by rate-limited starts
    int waiting = 0;            //!< task runs in AwaitingConcurrencySlot that ask for it
    QStringList holderRuns;     //!< task (or flow) run ids holding slots, longest held first
    QStringList waitingRuns;    //!< task run ids, longest waiting first
    QList<LimitRunRow> holders; //!< details of holderRuns, filled by inspectGlobalLimit() only
    QList<LimitRunRow> waiters; //!< details of waitingRuns, filled by inspectGlobalLimit() only
};

} // namespace flowdeck
