#pragma once

#include "store/workerrow.h"

#include <QCoro/QCoroTask>
#include <QList>
#include <QStringList>

namespace flowdeck {

class DatabaseConnection;

//! The processes registered in the open database (workers, and apps like this one), for the pages
//! that list them or offer to queue runs for them: read on the connection's pool, never here.
class WorkerDirectory {
public:
    explicit WorkerDirectory(DatabaseConnection& database);

    //! True while a database is open: there is something to read.
    bool isAvailable() const;
    //! This process's id among the rows (its own row is marked), or empty without a database.
    QString ownEngineId() const;
    //! Reads every registered process, on a database thread. Throws std::exception when the read
    //! fails or no database is open.
    QCoro::Task<QList<workers::WorkerRow>> read() const;
    //! The names of the workers in \a rows that are online at \a nowUs.
    static QStringList onlineNames(const QList<workers::WorkerRow>& rows, qint64 nowUs);

private:
    DatabaseConnection& m_database;
};

} // namespace flowdeck
