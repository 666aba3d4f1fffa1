#pragma once

#include <QList>
#include <QString>

namespace flowdeck::cli {

//! A name and what it means: an environment variable, an exit code or a file.
struct ReferenceEntry {
    QString name;
    QString description;
};

//! The environment variables Flowdeck reads; `flowdeck --help` and the man page list these.
QList<ReferenceEntry> environmentVariables();
//! The exit codes of every command.
QList<ReferenceEntry> exitCodes();
//! The files Flowdeck reads and writes.
QList<ReferenceEntry> files();

} // namespace flowdeck::cli
