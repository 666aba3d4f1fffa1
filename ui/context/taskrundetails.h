#pragma once

#include "flow/flow.h"
#include "store/runqueries.h"

#include <QCoro/QCoroTask>
#include <QJsonObject>
#include <QObject>
#include <QPointer>

namespace flowdeck {

class AppContext;
struct TaskRun;

//! What the task run detail panel shows: the stored or live detail and the configuration it ran with.
struct TaskRunDetailView {
    TaskRunDetail detail;
    std::optional<QJsonObject> config;
    QString configError; //!< why config is unknown
    QString kind;        //!< the task's kind, "shell"
    bool live = false;   //!< built from the engine's task run (history messages: the current one only)
    //! The global limits the task occupies ("concurrency"), its rate limit, and those its flow run
    //! holds; its limited tags are detail.run.tags. Unknown (empty) when the document does not resolve.
    QList<LimitUse> concurrency;
    std::optional<LimitUse> rateLimit;
    QList<LimitUse> flowConcurrency;
};

/**
 * The detail of one task run for the Run page. A run of this process is read from its TaskRun (with
 * its log lines and stalls from the context); a stored run is read from the database on the pool's
 * threads, and loaded() follows.
 */
class TaskRunDetails : public QObject {
    Q_OBJECT

public:
    explicit TaskRunDetails(AppContext* context, QObject* parent = nullptr);
    ~TaskRunDetails() override;

    //! The detail of a task run of this process, now.
    TaskRunDetailView live(const TaskRun& run) const;
    //! Reads the detail of task \a task (\a mapIndex) of the stored flow run \a flowRunId; loaded()
    //! or failed() follows with the returned serial. Returns 0 without an open database.
    quint64 request(const QString& flowRunId, const QString& task, int mapIndex);

Q_SIGNALS:
    void loaded(quint64 serial, const flowdeck::TaskRunDetailView& view);
    void failed(quint64 serial, const QString& error);

private:
    static QCoro::Task<> readTask(QPointer<TaskRunDetails> self, quint64 serial, QString flowRunId,
                                  QString task, int mapIndex);

    AppContext* m_context;
    quint64 m_serial = 0;
};

} // namespace flowdeck
