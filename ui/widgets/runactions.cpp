#include "widgets/runactions.h"

#include "context/appcontext.h"
#include "run/clock.h"
#include "run/flowrun.h"
#include "style/icons.h"
#include "style/statestyle.h"
#include "widgets/flowdocumentdialog.h"
#include "widgets/startflowdialog.h"

#include <QAction>
#include <QKeySequence>
#include <QWidget>

#include <algorithm>

namespace flowdeck {

using Operation = RunOperations::Operation;

RunActions::RunActions(AppContext* context, QWidget* page)
    : QObject(page)
    , m_context(context)
    , m_page(page)
    , m_retry(new QAction(themedIcon(QStringLiteral("view-refresh"), QStyle::SP_BrowserReload), tr("Re&try"),
                          page))
    , m_runAgain(new QAction(themedIcon(QStringLiteral("media-playlist-repeat"), QStyle::SP_MediaSeekForward),
                             tr("Run &Again…"), page))
    , m_pauseResume(new QAction(themedIcon(QStringLiteral("media-playback-pause"), QStyle::SP_MediaPause),
                                tr("&Pause"), page))
    , m_document(new QAction(themedIcon(QStringLiteral("text-x-generic"), QStyle::SP_FileDialogContentsView),
                             tr("&Document…"), page))
{
    m_retry->setObjectName(QStringLiteral("retryAction"));
    m_runAgain->setObjectName(QStringLiteral("runAgainAction"));
    m_pauseResume->setObjectName(QStringLiteral("pauseResumeAction"));
    m_document->setObjectName(QStringLiteral("flowDocumentAction"));
    // Start is Ctrl+R: Run Again is its shifted twin; Retry "tries" the same run again.
    m_retry->setShortcut(QKeySequence(Qt::CTRL | Qt::Key_T));
    m_runAgain->setShortcut(QKeySequence(Qt::CTRL | Qt::SHIFT | Qt::Key_R));
    m_pauseResume->setShortcut(QKeySequence(Qt::CTRL | Qt::Key_P));
    for (QAction* action : {m_retry, m_runAgain, m_pauseResume, m_document}) {
        action->setShortcutContext(Qt::WidgetWithChildrenShortcut);
        page->addAction(action);
    }
    connect(m_retry, &QAction::triggered, this, &RunActions::retry);
    connect(m_runAgain, &QAction::triggered, this, &RunActions::runAgain);
    connect(m_pauseResume, &QAction::triggered, this, &RunActions::pauseOrResume);
    connect(m_document, &QAction::triggered, this, &RunActions::showDocument);

    RunOperations& operations = context->operations();
    connect(&operations, &RunOperations::busyChanged, this, &RunActions::update);
    connect(context, &AppContext::updated, this, &RunActions::update);
    connect(&context->database(), &DatabaseConnection::stateChanged, this, &RunActions::update);
    connect(&context->history(), &RunHistory::runsUpdated, this, &RunActions::update);
    connect(&operations, &RunOperations::rerunSourceRead, this,
            [this](quint64 serial, const QString&, const RerunSource& source) {
                if (const QPointer<FlowDocumentDialog> dialog = m_documentReads.take(serial)) {
                    dialog->setDocument(source.document);
                    return;
                }
                if (serial == m_rerunSerial && m_rerunRun) {
                    m_rerunSerial = 0;
                    openStartDialog(m_rerunRun, source);
                }
            });
    connect(&operations, &RunOperations::failed, this, [this](quint64 serial, const QString& message) {
        if (serial == 0)
            return;
        if (const QPointer<FlowDocumentDialog> dialog = m_documentReads.take(serial))
            dialog->setError(message);
        if (serial == m_rerunSerial)
            m_rerunSerial = 0; // the status bar says why
    });
    update();
}

RunActions::~RunActions() = default;

void RunActions::setRuns(const QList<FlowRun*>& runs)
{
    m_runs = runs;
    update();
}

QString RunActions::whyNone(Operation operation) const
{
    if (m_runs.isEmpty())
        return tr("no flow run is selected");
    QString first;
    for (const FlowRun* run : m_runs) {
        const QString why = m_context->operations().whyNot(operation, run);
        if (why.isEmpty())
            return {};
        if (first.isEmpty())
            first = why;
    }
    if (m_runs.size() == 1)
        return first;
    return tr("not for any of the %n selected runs (the first: %1)", nullptr, int(m_runs.size())).arg(first);
}

void RunActions::setState(QAction* action, const QString& why, const QString& tip)
{
    action->setEnabled(why.isEmpty());
    const QString shortcut = action->shortcut().toString(QKeySequence::NativeText);
    const QString text = why.isEmpty() ? (shortcut.isEmpty() ? tip : tr("%1 (%2)").arg(tip, shortcut)) : why;
    if (action->toolTip() != text)
        action->setToolTip(text);
}

void RunActions::update()
{
    QString why = whyNone(Operation::Retry);
    setState(m_retry, why.isEmpty() ? why : RunOperations::notAvailable(Operation::Retry, why),
             m_runs.size() > 1
                 ? tr("Retry each selected run that ended failed, crashed or cancelled: what did "
                      "not complete runs again in the same flow run")
                 : tr("Run what did not complete again, in the same flow run (its completed "
                      "task runs are kept)"));

    FlowRun* first = m_runs.value(0);
    why = first ? m_context->operations().whyNot(Operation::RunAgain, first) : tr("no flow run is selected");
    setState(m_runAgain, why.isEmpty() ? why : RunOperations::notAvailable(Operation::RunAgain, why),
             tr("Start a new run of this flow with its document and parameter values, which you may "
                "change first"));

    // One button for both: a paused run in the selection makes it Resume.
    const bool resume = std::any_of(m_runs.begin(), m_runs.end(),
                                    [](const FlowRun* run) { return run->type == StateType::Paused; });
    const Operation pauseOrResume = resume ? Operation::Resume : Operation::Pause;
    const QString text = resume ? tr("Res&ume") : tr("&Pause");
    if (m_pauseResume->text() != text) {
        m_pauseResume->setText(text);
        m_pauseResume->setIcon(
            resume ? themedIcon(QStringLiteral("media-playback-start"), QStyle::SP_MediaPlay)
                   : themedIcon(QStringLiteral("media-playback-pause"), QStyle::SP_MediaPause));
    }
    why = whyNone(pauseOrResume);
    setState(m_pauseResume, why.isEmpty() ? why : RunOperations::notAvailable(pauseOrResume, why),
             resume ? tr("Resume the paused flow run where it stopped")
                    : tr("Pause the flow run: no task run starts until it is resumed; running ones finish"));

    m_document->setEnabled(first != nullptr);
    m_document->setToolTip(first ? tr("Show the flow document this run ran, to read or copy")
                                 : tr("No flow run is selected"));
}

void RunActions::retry()
{
    update();
    if (m_retry->isEnabled())
        m_context->operations().retry(m_runs);
}

void RunActions::pauseOrResume()
{
    update();
    if (!m_pauseResume->isEnabled())
        return;
    const bool resume = std::any_of(m_runs.begin(), m_runs.end(),
                                    [](const FlowRun* run) { return run->type == StateType::Paused; });
    for (FlowRun* run : std::as_const(m_runs)) {
        if (resume)
            m_context->operations().resume(run);
        else
            m_context->operations().pause(run);
    }
}

void RunActions::runAgain()
{
    update();
    FlowRun* run = m_runs.value(0);
    if (!m_runAgain->isEnabled() || !run)
        return;
    m_rerunRun = run;
    m_rerunSerial = m_context->operations().readRerunSource(run);
}

void RunActions::openStartDialog(FlowRun* run, const RerunSource& source)
{
    const QString id = shortId(run->id.toString());
    // A run of this app came from a file (or code) that the new run names too; a stored one from the store.
    const QString origin = m_context->history().isStored(run) ? tr("flow run %1").arg(id) : run->def.source;
    auto* dialog = new StartFlowDialog(source, id, origin, m_context->parser(), m_page);
    dialog->setAttribute(Qt::WA_DeleteOnClose);
    // Who started the new run says which run it repeats, as `flowdeck runs rerun` does.
    const QString startedBy = tr("%1, again as %2").arg(RunOperations::identity(), run->id.toString());
    connect(dialog, &QDialog::accepted, this, [this, dialog, startedBy] {
        if (dialog->target() == StartFlowDialog::Target::Worker) {
            if (m_context->history().queueFlowRun(*dialog->flow(), startedBy))
                Q_EMIT flowRunQueued(dialog->flow()->name);
            return;
        }
        if (FlowRun* started = m_context->startFlow(*dialog->flow(), startedBy))
            Q_EMIT flowRunStarted(started);
    });
    if (m_context->workers().isAvailable())
        auto task = offerWorkers(this, dialog);
    dialog->open();
    Q_EMIT dialogOpened(dialog);
}

QCoro::Task<> RunActions::offerWorkers(QPointer<RunActions> self, QPointer<StartFlowDialog> dialog)
{
    QList<workers::WorkerRow> rows;
    try {
        auto reading = self->m_context->workers().read();
        rows = co_await reading;
    } catch (const std::exception&) {
        co_return; // the dialog then offers this app only
    }
    if (!self || !dialog)
        co_return;
    dialog->setWorkersOnline(WorkerDirectory::onlineNames(rows, wallUs()));
}

FlowDocumentDialog* RunActions::showDocument()
{
    FlowRun* run = m_runs.value(0);
    if (!run)
        return nullptr;
    auto* dialog = new FlowDocumentDialog(run->def.name, shortId(run->id.toString()), m_page);
    dialog->setAttribute(Qt::WA_DeleteOnClose);
    if (!m_context->history().isStored(run)) {
        dialog->setDocument(run->def.document);
    } else if (const quint64 serial = m_context->operations().readRerunSource(run)) {
        m_documentReads.insert(serial, dialog);
    } else {
        dialog->setError(tr("The document cannot be read: %1")
                             .arg(m_context->operations().whyNot(Operation::RunAgain, run)));
    }
    dialog->show();
    return dialog;
}

} // namespace flowdeck
