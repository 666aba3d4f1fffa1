#pragma once

#include "store/historyqueries.h"

#include <QCoro/QCoroTask>
#include <QList>
#include <QObject>
#include <QPointer>

namespace flowdeck {

class DatabaseConnection;

/**
 * The runs × tasks grid of a flow, read from the run store on a database thread: the newest N flow
 * runs with their task runs per task and state (recentRunGrid, one statement a screenful). Each
 * request gets a serial; only the newest request's answer is delivered, so a burst of requests
 * (a resize, a run that ended) never shows an older screenful after a newer one.
 */
class RunGrid : public QObject {
    Q_OBJECT

public:
    explicit RunGrid(DatabaseConnection& database, QObject* parent = nullptr);
    ~RunGrid() override;

    //! Asks for the newest \a runs runs of \a flow; returns the request's serial, 0 when the store is
    //! not open (nothing is delivered then).
    quint64 request(const QString& flow, int runs);

Q_SIGNALS:
    void loaded(quint64 serial, const QList<flowdeck::GridRun>& runs);
    void failed(quint64 serial, const QString& error);

private:
    static QCoro::Task<> readTask(QPointer<RunGrid> self, QString flow, int runs, quint64 serial,
                                  quint64 generation);

    DatabaseConnection& m_database;
    quint64 m_serial = 0;
};

} // namespace flowdeck
