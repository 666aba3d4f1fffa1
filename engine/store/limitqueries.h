#pragma once

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

} // namespace flowdeck
