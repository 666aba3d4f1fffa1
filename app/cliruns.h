#pragma once

#include <QCoro/QCoroTask>
#include <QStringList>

class QCommandLineParser;

namespace flowdeck {
class ConnectionPool;
} // namespace flowdeck

namespace flowdeck::cli {

//! Checks that exactly one RUN_ID was given; prints the error otherwise.
bool oneRunId(const QString& command, const QCommandLineParser& parser);
//! The full id for RUN_ID (an id, or a unique prefix or suffix); prints why not, with the candidates
//! when it is ambiguous, and returns an empty string.
QCoro::Task<QString> resolveRunId(ConnectionPool& pool, QString command, QString idOrShort);

//! `flowdeck runs ls|show|logs|cancel ...`: reads the store and writes cancel requests.
int cmdRuns(const QStringList& args);

} // namespace flowdeck::cli
