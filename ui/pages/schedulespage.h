#pragma once

#include <QPointer>
#include <QWidget>

class QAction;
class QLabel;
class QMessageBox;
class QTableView;

namespace flowdeck {

class AppContext;
class FlowListModel;
class ScheduleDialog;
class ScheduleModel;

/**
 * The schedules in the run store: name, flow, expression, zone, the Active check box (Space toggles
 * it), next fire times and the last run's state; add, edit and delete (asked first). Every read and
 * write goes through the context's Schedules, on the database threads.
 */
class SchedulesPage : public QWidget {
    Q_OBJECT

public:
    //! \a flows: the Flows page's list, the flows a new schedule can run.
    SchedulesPage(AppContext* context, FlowListModel* flows, QWidget* parent = nullptr);
    ~SchedulesPage() override;

    ScheduleModel* model() const { return m_model; }
    QTableView* view() const { return m_view; }
    QLabel* emptyState() const { return m_empty; }
    QAction* addScheduleAction() const { return m_add; }
    QAction* editAction() const { return m_edit; }
    QAction* pauseResumeAction() const { return m_pauseResume; }
    QAction* deleteAction() const { return m_delete; }

    //! Opens the dialog to add a schedule (for \a flowName when given); returns at once.
    ScheduleDialog* addSchedule(const QString& flowName = {});
    //! Opens the dialog to edit the selected schedule, or returns null.
    ScheduleDialog* editSelected();
    //! Asks to delete the selected schedule (window-modal), or returns null.
    QMessageBox* deleteSelected();
    void toggleSelected();

protected:
    bool eventFilter(QObject* watched, QEvent* event) override;

private:
    void updateActions();
    void updateEmptyState();
    QString selectedName() const;

    AppContext* m_context;
    FlowListModel* m_flows;
    ScheduleModel* m_model;
    QTableView* m_view;
    QLabel* m_empty;
    QAction* m_add;
    QAction* m_edit;
    QAction* m_pauseResume;
    QAction* m_delete;
};

} // namespace flowdeck
