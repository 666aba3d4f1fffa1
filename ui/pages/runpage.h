#pragma once

#include "run/states.h"

#include <QHash>
#include <QList>
#include <QWidget>

#include <vector>

class QAction;
class QComboBox;
class QHBoxLayout;
class QLabel;
class QLineEdit;
class QMessageBox;
class QProgressBar;
class QPushButton;
class QShortcut;
class QTabWidget;
class QTableView;
class QTimer;
class QToolButton;

namespace flowdeck {

class AppContext;
class ElidedLabel;
class RunActions;
class LogModel;
class ProgressWidget;
class RunGraphWidget;
class TaskRunDetailPanel;
class TaskRunDetails;
class TaskRunFilterModel;
class TaskRunModel;
class StoredTaskRunModel;
class TimelineWidget;
struct FlowRun;
struct TaskRun;
struct TaskStateTally;
struct TaskRunDetailView;
struct UpdateBatch;

//! One flow run in detail: its task runs (filterable), their timeline, and its logs, all live.
class RunPage : public QWidget {
    Q_OBJECT

public:
    //! What the panel under the task table shows.
    enum class View { Timeline, Graph };

    RunPage(AppContext* context, QAction* cancelAction, QWidget* parent = nullptr);
    ~RunPage() override;

    //! Shows \a run. With \a followNewest the page moves on to each flow run started later.
    void setFlowRun(FlowRun* run, bool followNewest = false);
    FlowRun* flowRun() const;

    TaskRunModel* taskModel() const { return m_model; }
    TaskRunFilterModel* filterModel() const { return m_filter; }
    //! The table's model for a paged stored run (RunHistory::isPaged()): its task runs a page at a time.
    StoredTaskRunModel* pagedModel() const { return m_paged; }
    LogModel* logModel() const { return m_logs; }
    QTableView* view() const { return m_table; }
    TimelineWidget* timeline() const { return m_timeline; }
    //! The flow run's tasks as a graph, coloured by their task runs' states.
    RunGraphWidget* graph() const { return m_graph; }
    void showView(View view);
    View currentView() const;
    //! Shows only the task runs of \a taskId in the task table (empty: all tasks), as a click on its
    //! node in the graph does.
    void filterToTask(const QString& taskId);
    //! Opens the detail of one of \a taskId's task runs: the first that failed, else the first
    //! running, else the first (a double click on its node).
    void openTaskDetail(const QString& taskId);
    //! Opens the detail of task run \a mapIndex of \a taskId (a double click on it in an expanded node).
    void openTaskRunDetailAt(const QString& taskId, int mapIndex);
    //! Shows the subflow run that one of \a taskId's task runs started, chosen as openTaskDetail chooses.
    void openSubflowOf(const QString& taskId);
    QList<TaskRun*> selectedTaskRuns() const;
    //! The selected task run's detail (opened by a click or Enter, closed by Escape).
    TaskRunDetailPanel* detailPanel() const { return m_detailPanel; }
    //! The task run the detail panel shows; null when it is closed.
    TaskRun* detailTaskRun() const { return m_detailRun; }
    //! Copies the flow run's full id (Ctrl+Shift+C).
    QAction* copyIdAction() const { return m_copyId; }
    //! Retry, Run Again, Pause/Resume and Flow Document over the run shown.
    RunActions* runActions() const { return m_runActions; }
    //! Who started the run, its seed and its parameters, in a line (all of it in its tooltip).
    ElidedLabel* runInfo() const { return m_info; }
    //! Links to the flow run that started this one as a subflow, and to this one's subflow runs.
    QLabel* subflowLinks() const { return m_subflows; }
    //! Shown while a paged run's filters or order are read from the database (the old rows stay).
    QProgressBar* queryBusy() const { return m_queryBusy; }
    //! Reads the rows in view and the counts of a paged stored run again while it runs.
    QTimer* pagedRefreshTimer() const { return m_pagedRefresh; }
    //! How long the search waits for typing to pause before it asks the database (paged run).
    static constexpr int SearchDelayMs = 250;
    //! How often a running paged stored run's rows in view and counts are read again.
    static constexpr int PagedRefreshMs = 1000;

    //! Asks to confirm, then cancels the selected task runs that have not finished (window-modal;
    //! returns at once). Null when nothing can be cancelled.
    QMessageBox* cancelSelected();
    //! Asks to confirm, then cancels the whole flow run.
    QMessageBox* cancelFlowRun();

Q_SIGNALS:
    void selectionChanged();

protected:
    void showEvent(QShowEvent* event) override;

private:
    // The constructor's parts, top to bottom.
    QHBoxLayout* makeHeader();
    //! Below the header: who started the run, seed and parameters; the operations on it.
    QHBoxLayout* makeOperations();
    QHBoxLayout* makeFilters(QAction* cancelAction);
    void setUpTaskTable(QAction* cancelAction);
    QWidget* makeTimelinePanel();
    QWidget* makeGraphPanel();
    void setUpLogView();

    void apply(const UpdateBatch& batch);
    void onPulse();
    //! Points the task table, timeline and log at the current run once its task runs are known.
    void showDetails();
    void updateHeader();
    void updateInfo();
    //! The flow runs read from the store and those of this session.
    std::vector<FlowRun*> knownRuns() const;
    void updateSubflowLinks();
    void openLinkedRun(const QString& link);
    void applyFilters();
    void selectRow(int row);
    //! Opens the detail panel on the task run at \a index of the table's model.
    void openDetail(const QModelIndex& index);
    void openTaskRunDetail(TaskRun* run);
    //! The detail of row \a row of the paged table, read from the store.
    void openPagedDetail(int row);
    //! True while the table shows a paged stored run.
    bool showsPaged() const;
    //! Reads the rows in view and the run's counts again (the paged refresh timer's tick).
    void refreshPaged();
    //! Asks the database for a paged run's task runs per task and state, for the graph.
    void readTallies();
    //! The graph of a large run of this process, from the counts its engine keeps per task.
    void showLiveCounts();
    void applyTallies(quint64 serial, const QList<TaskStateTally>& tallies);
    void closeDetail();
    //! Shows the live task run's detail again when it moved on since last shown.
    void refreshLiveDetail();
    void showLiveDetail();

    AppContext* m_context;
    FlowRun* m_current = nullptr; // may be a stored run whose details are still being read
    TaskRunModel* m_model;
    TaskRunFilterModel* m_filter;
    StoredTaskRunModel* m_paged;
    LogModel* m_logs;
    bool m_followNewest = true;

    QLabel* m_title;
    ProgressWidget* m_progress;
    QPushButton* m_cancelFlow;
    ElidedLabel* m_info;
    QLabel* m_subflows;
    RunActions* m_runActions;
    QComboBox* m_stateFilter;
    QLineEdit* m_search;
    QProgressBar* m_queryBusy;
    QTimer* m_searchDelay;
    QTimer* m_pagedRefresh;
    quint64 m_tallySerial = 0; //!< the graph's counts being read for a paged run
    int m_tallyTicks = 0;      //!< refresh ticks while the graph showed
    int m_pagedTail = 0;       //!< refresh ticks since a large run of this process ended
    //! A large run of this process ends before its last rows are committed: reads after its end.
    static constexpr int LiveTailTicks = 3;
    static constexpr int TallyEveryTicks = 5;
    QString m_tallyFor; //!< the flow run they are read for
    QTableView* m_table;
    TimelineWidget* m_timeline;
    RunGraphWidget* m_graph;
    QTabWidget* m_views;
    QToolButton* m_taskFilterChip; //!< "Task: X ✕" while the table shows one task's runs
    QTableView* m_logView;
    QAction* m_copyId;
    TaskRunDetails* m_details;
    TaskRunDetailPanel* m_detailPanel;
    QShortcut* m_closeDetail; //!< Escape, enabled only while the panel shows
    TaskRun* m_detailRun = nullptr;
    QString m_pagedDetail;      //!< "task[3]" of the paged stored run's task run whose detail is open
    quint64 m_detailSerial = 0; //!< the read in flight for a stored task run
    //! What the live detail showed: state changes and log lines, to refresh only when they move on.
    std::pair<std::size_t, quint64> m_detailShown{0, 0};
    //! Live: messages of the task run's earlier transitions ("time/name"), read from the store.
    QHash<QString, QString> m_detailMessages;
    std::size_t m_detailMessagesFor = 0; //!< the transitions there were when they were last asked for
    //! A completed live run's result as the store has it (the engine drops results nobody reads).
    QString m_detailResult;
    bool m_detailResultFinal = false; //!< the stored row was COMPLETED: its result is the final one
    bool m_logAtBottom = true;
    StateType m_headerType = StateType::Scheduled; // the flow run's state the header shows
};

} // namespace flowdeck
