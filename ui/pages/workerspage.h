#pragma once

#include <QCoro/QCoroTask>
#include <QPointer>
#include <QWidget>

class QLabel;
class QTableView;
class QTimer;

namespace flowdeck {

class AppContext;
class WorkerModel;

/**
 * The worker processes sharing this database (`flowdeck worker`), as they report
 * themselves in their heartbeats, and the queue of submitted flow runs. Read every second while the
 * page is shown, on a database thread of the pool; never SQL on the GUI thread.
 */
class WorkersPage : public QWidget {
    Q_OBJECT
public:
    explicit WorkersPage(AppContext* context, QWidget* parent = nullptr);
    ~WorkersPage() override;

    WorkerModel* model() const { return m_model; }
    QTableView* view() const { return m_view; }
    //! The empty state: how to start a worker on this database; shown while no worker is registered.
    QLabel* emptyState() const { return m_empty; }
    QLabel* summary() const { return m_summary; }
    //! Reads the workers again (at most one read in flight).
    void refresh();

protected:
    void showEvent(QShowEvent* event) override;
    void hideEvent(QHideEvent* event) override;

private:
    static QCoro::Task<> load(QPointer<WorkersPage> self);
    void showEmptyState();

    AppContext* m_context;
    WorkerModel* m_model;
    QTableView* m_view;
    QLabel* m_summary;
    QLabel* m_empty;
    QTimer* m_timer;
    bool m_loading = false;
};

} // namespace flowdeck
