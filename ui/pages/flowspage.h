#pragma once

#include <QCoro/QCoroTask>
#include <QHash>
#include <QPointer>
#include <QWidget>

class QAction;
class QTabWidget;
class QTimer;
class QTableView;
class QToolBar;
class QTextBrowser;

namespace flowdeck {

class AppContext;
class FlowListModel;
class RunGraphWidget;
class RunGrid;
class RunGridWidget;
struct GridRun;
class StartFlowDialog;
struct FlowEntry;
struct FlowRun;

//! The flows one can start, with their descriptions, errors and last run; starts them.
class FlowsPage : public QWidget {
    Q_OBJECT

public:
    //! What the panel beside the description shows.
    enum class View { Graph, Grid };

    explicit FlowsPage(AppContext* context, QWidget* parent = nullptr);
    ~FlowsPage() override;

    FlowListModel* model() const { return m_model; }
    QTableView* view() const { return m_view; }
    //! The selected flow as it would run with its default parameters: its tasks, map counts, tags
    //! and limits.
    RunGraphWidget* graph() const { return m_graph; }
    //! The selected flow's newest stored runs × its tasks.
    RunGridWidget* grid() const { return m_grid; }
    void showView(View view);
    const FlowEntry* currentEntry() const;
    //! Selects the flow with this source (a path, ":/flows/x.json" or "code:NAME"); false if not listed.
    bool selectSource(const QString& source);
    //! Selects the flow that task \a taskId of the flow shown runs as a subflow (what a double click
    //! on its node does); message() says why when that flow is not in the list.
    bool selectSubflow(const QString& taskId);

    QAction* startAction() const { return m_start; }
    QAction* openAction() const { return m_open; }
    QAction* addFolderAction() const { return m_addFolder; }
    QAction* reloadAction() const { return m_reload; }
    //! Adds a schedule for the selected flow (scheduleRequested()).
    QAction* scheduleAction() const { return m_schedule; }
    //! The selected flow's details: its tasks, parameters and schedules.
    QTextBrowser* details() const { return m_details; }

    //! Opens the parameter dialog for the selected flow (non-modal to the event loop: it returns at once).
    StartFlowDialog* startSelected();

Q_SIGNALS:
    void flowStarted(flowdeck::FlowRun* run);
    //! A run of \a flowName was queued for a worker; it shows in the Runs table soon.
    void flowQueued(const QString& flowName);
    //! A grid cell was clicked: show \a run with its task runs of \a task (empty: all).
    void openRunAtTask(flowdeck::FlowRun* run, const QString& task);
    //! The user asked to schedule flow \a flowName.
    void scheduleRequested(const QString& flowName);

private:
    // The constructor's parts: the actions in a toolbar, the table of flows.
    QToolBar* makeToolbar();
    void setUpView();

    void openFlowFile();
    void addFolder();
    void updateDetails();
    void updateGraph(const FlowEntry* entry);
    //! Reads the grid of the selected flow again (soon: requests within a moment are merged).
    void scheduleGridRead();
    void readGrid();
    void openGridCell(const QString& runId, const QString& task);
    //! The schedules of flow \a flowName, for the details.
    QString schedulesHtml(const QString& flowName) const;
    //! Tells \a dialog which workers are online on the app's database (read on a database thread).
    static QCoro::Task<> offerWorkers(QPointer<FlowsPage> self, QPointer<StartFlowDialog> dialog);

    AppContext* m_context;
    FlowListModel* m_model;
    QTableView* m_view;
    QTextBrowser* m_details;
    RunGraphWidget* m_graph;
    RunGridWidget* m_grid;
    QTabWidget* m_views;
    RunGrid* m_gridReader;
    QTimer* m_gridTimer;
    quint64 m_gridSerial = 0;
    QString m_gridFlow;    //!< the flow the grid shows
    QString m_graphFor;    //!< the source and document the graph shows, to lay it out again only on change
    QString m_graphSource; //!< the source of the flow the graph shows
    QHash<QString, QString> m_subflows; //!< of the flow the graph shows: task id -> the flow it runs
    QAction* m_start;
    QAction* m_open;
    QAction* m_addFolder;
    QAction* m_reload;
    QAction* m_schedule = nullptr;
    QString m_pendingSelection; // a file just opened, selected once it has been read
};

} // namespace flowdeck
