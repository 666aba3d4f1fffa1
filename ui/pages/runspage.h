#pragma once

#include <QList>
#include <QWidget>

class QAction;
class QComboBox;
class QMessageBox;
class QTableView;
class QToolBar;

namespace flowdeck {

class AppContext;
class FlowRunFilterModel;
class FlowRunModel;
struct FlowRun;
struct UpdateBatch;

//! The live table of this session's flow runs: filter, open, cancel.
class RunsPage : public QWidget {
    Q_OBJECT

public:
    RunsPage(AppContext* context, QAction* cancelAction, QWidget* parent = nullptr);
    ~RunsPage() override;

    FlowRunModel* model() const { return m_model; }
    FlowRunFilterModel* filterModel() const { return m_filter; }
    QTableView* view() const { return m_view; }
    //! Opens the selected flow run; enabled while one is selected.
    QAction* openAction() const { return m_open; }
    QList<FlowRun*> selectedFlowRuns() const;
    //! Copies the full ids of the selected flow runs (Ctrl+Shift+C).
    QAction* copyIdAction() const { return m_copyId; }
    //! Filters the table to the failed and crashed flow runs of every flow.
    void showFailed();
    //! Selects \a run's row (when the filters show it).
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
    void setUpView(QAction* cancelAction);

    void apply(const UpdateBatch& batch);
    void applyFilters();

    AppContext* m_context;
    FlowRunModel* m_model;
    FlowRunFilterModel* m_filter;
    QTableView* m_view;
    QComboBox* m_stateFilter;
    QComboBox* m_flowFilter;
    QAction* m_open;
    QAction* m_copyId;
};

} // namespace flowdeck
