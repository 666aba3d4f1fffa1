#pragma once

#include <QHash>
#include <QList>
#include <QSqlDatabase>
#include <QString>
#include <QStringList>

#include <optional>

// Tag concurrency limits as stored: functions that run on a database thread, inside
// ConnectionPool::run jobs. Every function throws DatabaseError naming what failed.
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

//! Creates the limit of \a tag or changes it (one statement: INSERT ... ON CONFLICT DO UPDATE).
void upsertLimit(QSqlDatabase& db, const QString& tag, int limit);

//! Deletes the limit of \a tag and its slot rows; false (and nothing written) when there is none.
bool deleteLimit(QSqlDatabase& db, const QString& tag);

//! The limit of every tag (for the engine's limiter; cheap enough to read every poll).
QHash<QString, int> limitsByTag(QSqlDatabase& db);

//! Every limit, by tag, with its counts and the ids of its holders and waiters.
QList<LimitRow> listLimits(QSqlDatabase& db);

//! One limit with the details of its holders and waiters, or nullopt when \a tag has no limit.
std::optional<LimitRow> inspectLimit(QSqlDatabase& db, const QString& tag);

/**
 * Prefect's manual remedy: frees the slots of \a tag held by task runs that are not running (or not
 * in the store) and those whose lease has expired. Returns how many were freed, or -1 (and nothing
 * written) when \a tag has no limit.
 */
int resetLimit(QSqlDatabase& db, const QString& tag);

} // namespace flowdeck
