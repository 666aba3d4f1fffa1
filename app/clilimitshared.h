#pragma once

// What the tag limit (`concurrency-limit`) and global limit (`gcl`) commands share.

#include "cli.h"
#include "clicommon.h"
#include "run/scheduler.h"
#include "store/limitqueries.h"

#include <QCommandLineParser>
#include <QCoro/QCoroTask>
#include <QJsonDocument>
#include <QJsonObject>
#include <QSqlDatabase>
#include <QString>
#include <QStringList>

#include <functional>
#include <optional>
#include <type_traits>
#include <utility>

namespace flowdeck::cli {

//! Indented JSON text without the trailing newline.
QString jsonText(const QJsonDocument& doc);
//! "task[3]", or "(not in the store)".
QString taskLabel(const LimitRunRow& r);
//! Local time to the millisecond and how long ago.
QString sinceText(qint64 us);
//! A limit's holders and waiters, each as a table under its title (\a numbered: a place column first).
void printHoldersAndWaiters(Output& out, const QList<LimitRunRow>& holders, const QString& holdersTitle,
                            const QString& holderColumn, const QList<LimitRunRow>& waiters,
                            const QString& waitersTitle, bool numbered);
//! A statement on one limit (by tag or name): the line to print, or nothing when there is no such limit.
using LimitStatement = std::function<std::optional<QString>(QSqlDatabase&, const QString&)>;
//! Runs \a statement on \a key on a database thread and prints its line; no line: \a printUnknown says
//! there is no such limit (exit 2).
QCoro::Task<int> runStatement(QString command, QString dbValue, QString key, LimitStatement statement,
                              void (*printUnknown)(const QString&, const QString&), Output& out);
//! A holder or waiter as a JSON object.
QJsonObject runJson(const LimitRunRow& r);

/**
 * Opens the database of \a command and runs \a job on its pool. Returns the job's result, or nullopt
 * with \a exitCode set after printing why not (ExitUsage: no database; ExitFailed: the job failed).
 */
template<typename F, typename R = std::invoke_result_t<F, QSqlDatabase&>>
QCoro::Task<std::optional<R>> runOnDatabase(QString command, QString dbValue, F job, int* exitCode)
{
    Scheduler scheduler;
    auto opening = openSession(command, dbValue, scheduler);
    OpenSession storage = co_await opening;
    if (!storage) {
        *exitCode = ExitUsage;
        co_return std::nullopt;
    }
    std::optional<R> result;
    try {
        auto running = storage.pool().run(std::move(job));
        result = co_await running;
    } catch (const std::exception& e) {
        printDatabaseError(command, e);
        *exitCode = ExitFailed;
    }
    co_return result;
}

} // namespace flowdeck::cli
