#pragma once

#include "run/concurrencylimiter.h"
#include "store/limitrow.h"

#include <QHash>
#include <QList>
#include <QSqlDatabase>
#include <QString>
#include <QStringList>

#include <optional>

// Tag concurrency limits as stored: functions that run on a database thread, inside
// ConnectionPool::run jobs. Every function throws DatabaseError naming what failed.
namespace flowdeck {

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

//! A change to a global limit: only the fields set change.
struct GlobalLimitChange {
    std::optional<int> limit;
    std::optional<bool> active;
    //! Set to nullopt-in-optional ("none") to remove the decay; > 0 to set it.
    std::optional<std::optional<double>> slotDecayPerSecond;
    //! Occupied slots to set: slots taken by rate-limited starts and earlier such settings are
    //! replaced by unowned ones so that the limit counts this many (held slots of running task runs
    //! stay, they are never pre-empted).
    std::optional<int> activeSlots;
};

//! Creates global limit \a name; false (and nothing written) when it exists.
bool createGlobalLimit(QSqlDatabase& db, const QString& name, const GlobalLimitChange& values);

//! Changes global limit \a name; false (and nothing written) when there is none.
bool updateGlobalLimit(QSqlDatabase& db, const QString& name, const GlobalLimitChange& change);

//! Deletes global limit \a name and its slot rows; false (and nothing written) when there is none.
bool deleteGlobalLimit(QSqlDatabase& db, const QString& name);

//! Every global limit by name (for the engine's limiter; cheap enough to read every poll).
QHash<QString, GlobalLimitSpec> globalLimitsByName(QSqlDatabase& db);

//! Every global limit with its occupied slots, holders and waiters.
QList<GlobalLimitRow> listGlobalLimits(QSqlDatabase& db);

//! One global limit with the details of its holders and waiters, or nullopt when there is none.
std::optional<GlobalLimitRow> inspectGlobalLimit(QSqlDatabase& db, const QString& name);

/**
 * Frees the held slots of global limit \a name whose task run is not running (or not in the store),
 * those whose lease expired, and unowned ones (set with active slots). Slots of rate-limited starts
 * are left to decay. Returns how many were freed, or -1 (nothing written) when there is no such limit.
 */
int resetGlobalLimit(QSqlDatabase& db, const QString& name);

namespace detail {
//! The reads of waiting task runs above (every tag's, one tag's, the global limits'), for tests that
//! check they use the partial index; one tag's takes a LIKE pattern as its parameter.
QStringList waitingRunsSql();
} // namespace detail

} // namespace flowdeck
