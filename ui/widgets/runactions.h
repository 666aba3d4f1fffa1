#pragma once

#include "context/runoperations.h"

#include <QHash>
#include <QList>
#include <QObject>
#include <QPointer>

class QAction;
class QWidget;

namespace flowdeck {

class AppContext;
class FlowDocumentDialog;
class StartFlowDialog;
struct FlowRun;

/**
 * Retry, Run Again, Pause/Resume and Flow Document over the flow runs a page selects, for the Runs
 * and Run pages alike. Each action is disabled, with a tooltip that says why, while the selection's
 * state refuses it; the work goes through RunOperations (never blocking the GUI thread), whose errors
 * reach the status bar. The shortcuts are the page's (Ctrl+T, Ctrl+Shift+R, Ctrl+P).
 */
class RunActions : public QObject {
    Q_OBJECT

public:
    //! \a page takes the actions' shortcuts and parents their dialogs.
    RunActions(AppContext* context, QWidget* page);
    ~RunActions() override;

    //! Retries every selected run that can be retried.
    QAction* retryAction() const { return m_retry; }
    //! Opens the start dialog filled with the first selected run's document and parameter values.
    QAction* runAgainAction() const { return m_runAgain; }
    //! "Pause" or, when a selected run is paused, "Resume".
    QAction* pauseResumeAction() const { return m_pauseResume; }
    //! Shows the first selected run's flow document.
    QAction* documentAction() const { return m_document; }

    //! The runs the actions apply to (the page's selection, or the run it shows).
    void setRuns(const QList<FlowRun*>& runs);
    const QList<FlowRun*>& runs() const { return m_runs; }
    //! Sets each action's enabled state, text and tooltip for the runs as they are now.
    void update();

    void retry();
    //! Reads the first run's document and parameters, then opens the start dialog (dialogOpened()).
    void runAgain();
    void pauseOrResume();
    //! Opens the first run's flow document (read from the database for a stored run).
    FlowDocumentDialog* showDocument();

Q_SIGNALS:
    //! Run Again opened the start dialog (window-modal).
    void dialogOpened(flowdeck::StartFlowDialog* dialog);
    //! Run Again started \a run in this app.
    void flowRunStarted(flowdeck::FlowRun* run);
    //! Run Again queued a run of \a flowName for a worker.
    void flowRunQueued(const QString& flowName);

private:
    //! Why \a operation applies to none of the runs (empty when it applies to one at least).
    QString whyNone(RunOperations::Operation operation) const;
    void setState(QAction* action, const QString& why, const QString& tip);
    void openStartDialog(FlowRun* run, const RerunSource& source);
    //! Offers "Queue for a worker" in \a dialog when workers are online (read off the GUI thread).
    static QCoro::Task<> offerWorkers(QPointer<RunActions> self, QPointer<StartFlowDialog> dialog);

    AppContext* m_context;
    QWidget* m_page;
    QAction* m_retry;
    QAction* m_runAgain;
    QAction* m_pauseResume;
    QAction* m_document;
    QList<FlowRun*> m_runs;
    quint64 m_rerunSerial = 0; //!< the Run Again read in flight
    FlowRun* m_rerunRun = nullptr;
    QHash<quint64, QPointer<FlowDocumentDialog>> m_documentReads;
};

} // namespace flowdeck
