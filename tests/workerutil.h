#pragma once

// What the scale-out tests share: `flowdeck worker` child processes, flow runs queued straight
// through the queue's SQL, and waiting on the database.

#include "store/connectionpool.h"

#include <QByteArray>
#include <QProcess>
#include <QString>
#include <QStringList>
#include <QTemporaryDir>

#include <functional>
#include <memory>

namespace flowdeck::test {

//! A `flowdeck worker` child; its output goes to files (read after it ended).
struct WorkerProcess {
    std::unique_ptr<QProcess> process = std::make_unique<QProcess>();
    QString name;
    QString outPath;
    QString errPath;

    QString out() const;
    QString err() const;
    //! The text of the file at \a path, or an empty string.
    static QString readAll(const QString& path);
    //! Ids of the flow runs this worker says it claimed.
    QStringList claimed() const;
    void signal(int sig) const;
    //! For a failed check of its exit: how it ended, and its stderr and where its files are kept.
    QString exitReport() const;
};

//! Starts `flowdeck worker --db URL --name NAME EXTRA...` with its output in files under \a dir.
std::unique_ptr<WorkerProcess> startWorker(const QString& url, const QString& name, const QString& dir,
                                           const QStringList& extra = {});

//! Runs the event loop until \a condition holds or \a timeoutMs passes; returns whether it held.
bool waitFor(const std::function<bool()>& condition, int timeoutMs);

//! Writes \a content to \a name in \a dir; returns the file's path.
QString writeFile(const QTemporaryDir& dir, const QString& name, const QByteArray& content);

std::unique_ptr<ConnectionPool> makePool(const QString& url, int size = 2);

//! Queues \a n runs of \a json straight through the queue's SQL (the CLI is tested on its own).
QStringList submitMany(ConnectionPool& pool, const QByteArray& json, int n, qint64 taskRuns);

} // namespace flowdeck::test
