#pragma once

#include "run/states.h"

#include <QSqlDatabase>
#include <QStringList>

namespace flowdeck::schema {

//! The schema version this build creates and understands.
int latestVersion();

//! The version recorded in the database's schema_version table; 0 for an empty database.
int currentVersion(QSqlDatabase& db);

/**
 * Brings the database to latestVersion(). Each step runs in its own transaction under a lock that
 * serialises concurrent migrations (PostgreSQL: an advisory transaction lock; SQLite: BEGIN IMMEDIATE,
 * waiting up to sql::BusyWaitSeconds for a busy file), so processes starting at once are safe.
 * Throws DatabaseError, also for a database newer than this build, and (changing nothing) for one
 * with another application's tables (foreignTables()).
 */
void migrate(QSqlDatabase& db);

/**
 * The tables of another application: those of a database that has tables (or views) but no
 * Flowdeck schema (no schema_version table; PostgreSQL: in the current schema). Empty for a
 * Flowdeck database of any version and for an empty one. Throws DatabaseError.
 */
QStringList foreignTables(QSqlDatabase& db);
//! "not a Flowdeck database: it holds tables of another application (a, b, ...) ...", for the
//! refusal to migrate a database with foreignTables().
QString foreignTablesMessage(const QStringList& tables);

/**
 * For read-only use: throws DatabaseError with a clear message unless the database holds the
 * Flowdeck schema at latestVersion() (no schema yet, another application's, older, newer).
 */
void checkReadable(QSqlDatabase& db);

//! Migrates up to \a version (never down); for tests of the upgrade steps.
void migrateTo(QSqlDatabase& db, int version);

//! The flow_runs column (since version 5) that counts the flow run's task runs in state \a type,
//! e.g. "tr_completed". Writers keep it current in the transaction that changes task_runs.
QString taskCountColumn(StateType type);
//! SQL that recomputes every count column of the flow run bound as its only parameter from task_runs
//! (after bulk changes such as crash recovery).
QString recountTaskRunsSql();

//! "('COMPLETED','FAILED','CANCELLED','CRASHED')": the terminal state types, for `state IN ...`.
const QString& terminalStatesSql();
//! The other state types, written so that the (state, created_at) index serves `state IN ...`.
const QString& unfinishedStatesSql();

} // namespace flowdeck::schema
