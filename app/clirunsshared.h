#pragma once

#include "clicommon.h"
#include "clilimitshared.h" // jsonText
#include "run/scheduler.h"
#include "store/runqueries.h"

#include <QCoro/QCoroTask>
#include <QJsonDocument>
#include <QJsonObject>
#include <QJsonValue>
#include <QString>

#include <memory>

// What the `runs` subcommands share: formatting of runs for tables and JSON, and opening one run.
namespace flowdeck::cli {

//! Results longer than this (as JSON) are left out of lists; `runs show --task` prints them whole.
inline constexpr qsizetype ListedResultBytes = 1024;
//! Characters of a result shown in the task-run table and the run's header.
inline constexpr qsizetype ResultPreviewChars = 40;

//! ISO time, or null when unset (0).
QJsonValue jsonTime(qint64 us);
//! Local date and time to the second, for tables.
QString localTime(qint64 us);
//! How long a run ran (until now while it runs), or "-" when it never started.
QString runDuration(qint64 startedUs, qint64 endedUs);
//! "FAILED", or "FAILED (TimedOut)" when the name says more than the type.
QString stateLabel(const QString& state, const QString& name);
bool isTerminalState(const QString& state);
//! The state types, for error messages.
QString stateTypeList();
//! A stored result (JSON text) as a value; null for none.
QJsonValue storedResult(const QString& text);
//! One line of a stored result, cut at \a chars with "…".
QString resultPreview(const QString& text, qsizetype chars);
QJsonObject flowRunJson(const FlowRunRow& r);
QJsonObject taskRunJson(const TaskRunRow& r);
//! taskRunJson() with its result when short, else its size (see ListedResultBytes).
QJsonObject listedTaskRunJson(const TaskRunRow& r);
//! Parses --state: a state type in any case. Prints the error and returns false when unknown.
bool parseStateOption(const QString& command, const QString& value, QString* state);

//! The open database of a command about one flow run, and that run's full id.
struct OpenRun {
    std::unique_ptr<Scheduler> scheduler; //!< the store's, outlives it
    OpenSession storage;
    QString id; //!< empty when the database or the run could not be found (the reason is printed)
};

//! Opens the database of \a command (\a readOnly: for a command that only reads) and resolves
//! RUN_ID (\a idOrPrefix) in it.
QCoro::Task<OpenRun> openRun(QString command, QString dbValue, QString idOrPrefix, bool readOnly);

//! `flowdeck runs show`: a flow run, a summary of its task runs and a page of them (clirunsshow.cpp).
QCoro::Task<int> showCommand(QStringList args, Output& out);

} // namespace flowdeck::cli
