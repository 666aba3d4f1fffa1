#pragma once

#include "run/states.h"
#include "store/historyqueries.h"
#include "store/runqueries.h"

#include <QCoro/QCoroTask>
#include <QObject>
#include <QPointer>
#include <QString>

#include <atomic>
#include <memory>
#include <optional>
#include <vector>

namespace flowdeck {

class AppContext;

//! One stored task run as a paged table keeps it: what its columns show, and no more.
struct StoredTaskRunRow {
    QString task; //!< shared with the rows of the same task of the page
    QString tags; //!< as stored, shared likewise
    QString message;
    qint64 startedUs = 0;
    qint64 endedUs = 0;
    qint64 stallTotalUs = 0;
    qint32 mapIndex = -1;
    quint32 stallCount = 0;
    quint16 attempts = 0;
    StateType type = StateType::Pending;
    StateName name = StateName::Pending;
};

/**
 * Reads pages of a stored flow run's task runs on the pool's database threads, filtered and ordered
 * by the database (TaskRunPageQuery), and converts them there to StoredTaskRunRow: the GUI thread
 * only appends a page. For flow runs too large to read whole (a million task runs).
 */
class StoredTaskRunPages : public QObject {
    Q_OBJECT

public:
    explicit StoredTaskRunPages(AppContext* context, QObject* parent = nullptr);
    ~StoredTaskRunPages() override;

    //! Reads the page \a query asks for; read() or failed() follows with the returned serial.
    //! Returns 0 without an open database.
    //! With \a supersedes, the read replaces every earlier superseding one: a read that waits for a
    //! database thread when a newer one is asked for is never run (nothing follows for it), so typing
    //! on in a search queues no query per key on a run of a million task runs.
    quint64 request(const TaskRunPageQuery& query, bool supersedes = false);
    //! Counts \a flowRunId's task runs per task and state type in the database (taskStateTallies());
    //! tallied() or failed() follows with the returned serial. Returns 0 without an open database.
    quint64 requestTallies(const QString& flowRunId);

Q_SIGNALS:
    void read(quint64 serial, const std::vector<flowdeck::StoredTaskRunRow>& rows);
    void failed(quint64 serial, const QString& error);
    void tallied(quint64 serial, const QList<flowdeck::TaskStateTally>& tallies);

private:
    static QCoro::Task<> readTask(QPointer<StoredTaskRunPages> self, quint64 serial, TaskRunPageQuery query,
                                  bool supersedes);
    static QCoro::Task<> tallyTask(QPointer<StoredTaskRunPages> self, quint64 serial, QString flowRunId);

    AppContext* m_context;
    quint64 m_serial = 0;
    //! The newest superseding read, read by the database threads when a read starts.
    std::shared_ptr<std::atomic<quint64>> m_latest = std::make_shared<std::atomic<quint64>>(0);
};

} // namespace flowdeck
