#pragma once

#include <QList>
#include <QModelIndex>
#include <QWidget>

class QAction;
class QComboBox;
class QDateTimeEdit;
class QLineEdit;
class QMessageBox;
class QTimer;
class QToolBar;
class QToolButton;
class QTreeView;

namespace flowdeck {

class AppContext;
class FlowRunFilterModel;
class FlowRunModel;
class FlowRunTreeModel;
class RunActions;
struct FlowRun;
struct UpdateBatch;

/**
 * The live table of flow runs, subflow runs under the run that started them (expandable): filter (by
 * several states, flow, start time and a text search, kept across restarts), open, cancel, retry, run
 * again, pause and resume.
 */
class RunsPage : public QWidget {
    Q_OBJECT

public:
    RunsPage(AppContext* context, QAction* cancelAction, QWidget* parent = nullptr);
    ~RunsPage() override;

    //! Every flow run, flat (newest first).
    FlowRunModel* model() const { return m_model; }
    //! The same runs as a tree: subflow runs under their parent.
    FlowRunTreeModel* treeModel() const { return m_tree; }
    //! Filters and sorts treeModel(); the view shows it.
    FlowRunFilterModel* filterModel() const { return m_filter; }
    QTreeView* view() const { return m_view; }
    //! \a run's row in view() (first column), or invalid when the filters hide it.
    QModelIndex viewIndexOf(const FlowRun* run) const;
    //! Opens the selected flow run; enabled while one is selected.
    QAction* openAction() const { return m_open; }
    QList<FlowRun*> selectedFlowRuns() const;
    //! Copies the full ids of the selected flow runs (Ctrl+Shift+C).
    QAction* copyIdAction() const { return m_copyId; }
    //! Retry, Run Again, Pause/Resume and Flow Document over the selected runs.
    RunActions* runActions() const { return m_runActions; }
    //! Clears every filter; shown only while one is set.
    QAction* clearFiltersAction() const { return m_clearFilters; }
    //! Filters the table to the failed and crashed flow runs of every flow, at any time.
    void showFailed();
    //! Selects \a run's row (when the filters show it), expanding its parent's rows.
    void select(const FlowRun* run);

    /**
     * Asks to confirm, then cancels the selected flow runs that have not finished. The question is
     * window-modal and this returns at once; returns the message box, or null when nothing can be
     * cancelled.
     */
    QMessageBox* cancelSelected();

Q_SIGNALS:
    void openRun(flowdeck::FlowRun* run);
    void selectionChanged();

private:
    // The constructor's parts: state and flow filters in a toolbar, the table.
    QToolBar* makeToolbar(QAction* cancelAction);
    QWidget* makeFilterBar();
    void setUpView(QAction* cancelAction);

    void apply(const UpdateBatch& batch);
    //! Checks exactly the state types in \a mask (bit 1 << StateType; 0: every state).
    void checkStates(quint32 mask);
    void restoreFilters();
    void applyFilters();
    void clearFilters();
    //! Expands the rows shown only because a subflow run under them matches the filters.
    void expandContextRows(const QModelIndex& parent = {});

    AppContext* m_context;
    FlowRunModel* m_model;
    FlowRunTreeModel* m_tree;
    FlowRunFilterModel* m_filter;
    QTreeView* m_view;
    QToolButton* m_stateFilter;
    QList<QAction*> m_stateActions; // checkable, one per state type (its int in data())
    QComboBox* m_flowFilter;
    QComboBox* m_timeFilter;
    QDateTimeEdit* m_from;
    QDateTimeEdit* m_to;
    QLineEdit* m_search;
    QTimer* m_rangeTick; // moves a relative time range ("last hour") along with the clock
    QAction* m_open;
    QAction* m_copyId;
    QAction* m_clearFilters;
    RunActions* m_runActions;
    bool m_restoring = false; // filters being set from the settings: not saved back
};

} // namespace flowdeck
