#pragma once

#include <QProcess>
#include <QString>
#include <QStringList>

namespace flowdeck::test {

//! What a `flowdeck` child process printed and how it exited.
struct CliResult {
    int exitCode = -1; //!< -1 when it crashed or timed out
    QString out;
    QString err;
    QStringList errLines() const { return err.split(u'\n', Qt::SkipEmptyParts); }
};

//! Starts the flowdeck binary under test with \a args (FLOWDECK_DB removed from its environment).
QProcess* startCli(const QStringList& args, QObject* parent = nullptr);
//! Waits (bounded) for a started child and collects what it printed.
CliResult finish(QProcess& process, int timeoutMs);
//! Runs the flowdeck binary under test to its end.
CliResult runCli(const QStringList& args, int timeoutMs = 60000);
//! "flowdeck ARGS -> exit N", then what it printed: for failure messages.
QString describe(const QStringList& args, const CliResult& r);

} // namespace flowdeck::test
