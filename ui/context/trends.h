#pragma once

#include "store/historyqueries.h"

#include <QCoro/QCoroTask>
#include <QObject>
#include <QPointer>

namespace flowdeck {

class DatabaseConnection;

/**
 * Outcome and duration trends read from the run store on a database thread: flow runs per bucket of
 * time by state, each flow's and each task's runs, failures and durations over a window (one job,
 * readTrends(): past hours from the store's cache of hourly figures, checked by one index-only range),
 * and one task's durations over its flow's newest runs. Only the newest request's answer of each kind is
 * delivered; the answer is a few rows per flow and task, whatever the number of stored runs.
 */
class Trends : public QObject {
    Q_OBJECT

public:
    explicit Trends(DatabaseConnection& database, QObject* parent = nullptr);
    ~Trends() override;

    //! Reads the window of \a windowUs before now in buckets of \a bucketUs; 0 when the store is
    //! not open.
    quint64 refresh(qint64 windowUs, qint64 bucketUs);
    //! Reads \a task's durations over the newest \a runs runs of \a flow.
    quint64 requestDurations(const QString& flow, const QString& task, int runs);

Q_SIGNALS:
    void loaded(quint64 serial, const flowdeck::TrendsData& data);
    void durationsLoaded(quint64 serial, const QString& flow, const QString& task,
                         const QList<flowdeck::TaskDuration>& durations);
    void failed(const QString& error);

private:
    static QCoro::Task<> readTask(QPointer<Trends> self, qint64 sinceUs, qint64 bucketUs, int buckets,
                                  quint64 serial, quint64 generation);
    static QCoro::Task<> durationsTask(QPointer<Trends> self, QString flow, QString task, int runs,
                                       quint64 serial, quint64 generation);

    DatabaseConnection& m_database;
    quint64 m_serial = 0;
    quint64 m_durationsSerial = 0;
};

} // namespace flowdeck
