#include "mainwindow.h"

#include "context/appcontext.h"
#include "context/appsettings.h"
#include "help/helpdialog.h"
#include "models/modelroles.h"
#include "models/taskrunfiltermodel.h"
#include "models/taskrunmodel.h"
#include "pages/concurrencypage.h"
#include "pages/flowspage.h"
#include "pages/healthpage.h"
#include "pages/runpage.h"
#include "pages/runspage.h"
#include "pages/schedulespage.h"
#include "pages/settingsdialog.h"
#include "pages/workerspage.h"
#include "run/flowrun.h"
#include "style/icons.h"
#include "style/statestyle.h"
#include "widgets/healthstrip.h"
#include "widgets/runactions.h"
#include "widgets/rungraphwidget.h"
#include "widgets/trayicon.h"

#include <QAbstractItemView>
#include <QAction>
#include <QActionGroup>
#include <QApplication>
#include <QCloseEvent>
#include <QFile>
#include <QHBoxLayout>
#include <QIcon>
#include <QKeyEvent>
#include <QKeySequence>
#include <QListWidget>
#include <QMenu>
#include <QMenuBar>
#include <QMessageBox>
#include <QPushButton>
#include <QScreen>
#include <QShowEvent>
#include <QStackedWidget>
#include <QStatusBar>
#include <QSystemTrayIcon>
#include <QTableView>
#include <QTimer>
#include <QToolBar>
#include <QToolButton>
#include <QTreeView>
#include <QWindow>

namespace flowdeck {

namespace {

constexpr int StatusMessageMs = 15000;

} // namespace

MainWindow::MainWindow(AppContext* context, QWidget* parent)
    : MainWindow(context, Options{}, parent)
{
}

MainWindow::MainWindow(AppContext* context, Options options, QWidget* parent)
    : QMainWindow(parent)
    , m_context(context)
    , m_options(options)
    , m_pageList(new QListWidget(this))
    , m_stack(new QStackedWidget(this))
{
    setObjectName(QStringLiteral("MainWindow"));
    // The icon embedded in the app; an installed one from the icon theme when the resources are not linked.
    const QString icon = QStringLiteral(":/icons/flowdeck.svg");
    setWindowIcon(QFile::exists(icon) ? QIcon(icon) : QIcon::fromTheme(QStringLiteral("flowdeck")));

    m_cancel = new QAction(themedIcon(QStringLiteral("process-stop"), QStyle::SP_BrowserStop), tr("&Cancel…"),
                           this);
    m_cancel->setObjectName(QStringLiteral("cancelAction"));
    m_cancel->setShortcut(QKeySequence::Delete);
    connect(m_cancel, &QAction::triggered, this, &MainWindow::cancelCurrent);
    m_cancelFlowRun = new QAction(themedIcon(QStringLiteral("process-stop"), QStyle::SP_BrowserStop),
                                  tr("Cancel &Flow Run…"), this);
    m_cancelFlowRun->setObjectName(QStringLiteral("cancelFlowRunAction"));
    m_cancelFlowRun->setShortcut(QKeySequence(Qt::SHIFT | Qt::Key_Delete));
    m_cancelFlowRun->setToolTip(tr("Cancel the flow run the Run page shows (Shift+Del)"));
    connect(m_cancelFlowRun, &QAction::triggered, this, [this] {
        if (currentPage() == Page::Run)
            m_run->cancelFlowRun();
    });

    createPages();
    createPageList();

    auto* central = new QWidget(this);
    auto* layout = new QHBoxLayout(central);
    layout->setContentsMargins(0, 0, 0, 0);
    layout->setSpacing(0);
    layout->addWidget(m_pageList);
    auto* line = new QFrame(central);
    line->setFrameShape(QFrame::VLine);
    line->setFrameShadow(QFrame::Sunken);
    layout->addWidget(line);
    layout->addWidget(m_stack, 1);
    setCentralWidget(central);

    // Building and first painting this window is launch work, not a stall: watched once shown.
    context->watchLoopFromFirstFrame(this);
    m_strip = new HealthStrip(context, this);
    statusBar()->addPermanentWidget(m_strip);
    connect(m_strip, &HealthStrip::activated, this, [this] { showPage(Page::Health); });
    connect(m_strip, &HealthStrip::failuresActivated, this, [this] {
        m_runs->showFailed();
        showPage(Page::Runs);
    });

    createMenus();
    setUpKeyboard();

    connect(m_pageList, &QListWidget::currentRowChanged, this, [this](int row) {
        if (row < 0)
            return;
        m_stack->setCurrentIndex(row);
        // Only the page shown sets the window's minimum size, not the widest of them all.
        for (int i = 0; i < m_stack->count(); ++i) {
            const auto policy = i == row ? QSizePolicy::Preferred : QSizePolicy::Ignored;
            m_stack->widget(i)->setSizePolicy(policy, policy);
        }
        // A hidden page's new policy does not reach the cached sizes of the layouts above it.
        m_stack->layout()->invalidate();
        m_stack->updateGeometry();
        if (QAction* action = pageAction(Page(row)))
            action->setChecked(true);
        updateCancelAction();
    });
    connect(m_flows, &FlowsPage::flowStarted, this, [this](FlowRun* run) {
        statusBar()->showMessage(tr("Started %1").arg(run->def.name), StatusMessageMs);
        showRun(run);
    });
    connect(m_flows, &FlowsPage::flowQueued, this, [this] { showPage(Page::Runs); });
    // A cell of the Flows page's runs × tasks grid: that run, its task runs of that task.
    connect(m_flows, &FlowsPage::openRunAtTask, this, [this](FlowRun* run, const QString& task) {
        showRun(run);
        m_run->filterToTask(task);
    });
    connect(m_flows, &FlowsPage::scheduleRequested, this, [this](const QString& flowName) {
        showPage(Page::Schedules);
        m_schedules->addSchedule(flowName);
    });
    // Run Again starts a new run as Start does, from the Runs page or the Run page.
    for (RunActions* actions : {m_runs->runActions(), m_run->runActions()}) {
        connect(actions, &RunActions::flowRunStarted, this, [this](FlowRun* run) {
            statusBar()->showMessage(tr("Started %1 again").arg(run->def.name), StatusMessageMs);
            showRun(run);
        });
        connect(actions, &RunActions::flowRunQueued, this, [this] { showPage(Page::Runs); });
    }
    connect(m_health, &HealthPage::openTaskRun, this, &MainWindow::showTaskRun);
    connect(m_runs, &RunsPage::openRun, this, &MainWindow::showRun);
    // Enter on a row does what a double-click does: open the run, start the flow.
    m_runs->view()->installEventFilter(this);
    m_flows->view()->installEventFilter(this);
    connect(m_runs, &RunsPage::selectionChanged, this, &MainWindow::updateCancelAction);
    connect(m_run, &RunPage::selectionChanged, this, &MainWindow::updateCancelAction);
    connect(context, &AppContext::updated, this, &MainWindow::apply);
    connect(context, &AppContext::pulse, this, &MainWindow::onPulse);
    connect(context, &AppContext::message, this,
            [this](const QString& text) { statusBar()->showMessage(text, StatusMessageMs); });
    connect(&context->database(), &DatabaseConnection::error, this,
            [this](const QString& text) { statusBar()->showMessage(text, StatusMessageMs); });
    connect(&context->database(), &DatabaseConnection::stateChanged, this, &MainWindow::onDatabaseState);

    createTray();

    statusBar()->showMessage(tr("Ready"), StatusMessageMs);
    resize(1200, 760);
    m_pageList->setCurrentRow(0);
    if (m_options.persistWindowState) {
        restoreWindowSettings();
        fitToScreen();
    }
    setPageListCompact(width() < CompactPageListBelow);
    updateTitle();
    updateCancelAction();
}

void MainWindow::createPages()
{
    m_flows = new FlowsPage(m_context, m_stack);
    m_runs = new RunsPage(m_context, m_cancel, m_stack);
    m_run = new RunPage(m_context, m_cancel, m_stack);
    m_health = new HealthPage(m_context, m_stack);
    m_concurrency = new ConcurrencyPage(m_context, m_stack);
    m_workers = new WorkersPage(m_context, m_stack);
    m_schedules = new SchedulesPage(m_context, m_flows->model(), m_stack);
    for (QWidget* page :
         {static_cast<QWidget*>(m_flows), static_cast<QWidget*>(m_runs), static_cast<QWidget*>(m_run),
          static_cast<QWidget*>(m_health), static_cast<QWidget*>(m_concurrency),
          static_cast<QWidget*>(m_workers), static_cast<QWidget*>(m_schedules)})
        m_stack->addWidget(page);
}

void MainWindow::createPageList()
{
    m_pageList->setObjectName(QStringLiteral("pageList"));
    m_pageList->setIconSize(QSize(22, 22));
    m_pageList->setFrameShape(QFrame::NoFrame);
    m_pageList->setSpacing(2);
    m_pageList->setFixedWidth(150);
    m_pageList->setHorizontalScrollBarPolicy(Qt::ScrollBarAlwaysOff);
    m_pageList->setBackgroundRole(QPalette::Window);
    const struct {
        QString text;
        QString icon;
        QStyle::StandardPixmap fallback;
    } pages[PageCount] = {
        {tr("Flows"), QStringLiteral("view-list-details"), QStyle::SP_FileDialogListView},
        {tr("Runs"), QStringLiteral("view-media-playlist"), QStyle::SP_FileDialogDetailedView},
        {tr("Run"), QStringLiteral("view-process-tree"), QStyle::SP_FileDialogContentsView},
        {tr("Health"), QStringLiteral("utilities-system-monitor"), QStyle::SP_ComputerIcon},
        {tr("Concurrency"), QStringLiteral("view-statistics"), QStyle::SP_DriveNetIcon},
        {tr("Workers"), QStringLiteral("network-server"), QStyle::SP_DesktopIcon},
        {tr("Schedules"), QStringLiteral("view-calendar"), QStyle::SP_FileDialogInfoView},
    };
    for (const auto& page : pages) {
        auto* item = new QListWidgetItem(themedIcon(page.icon, page.fallback), page.text, m_pageList);
        item->setSizeHint(QSize(0, std::max(30, fontMetrics().height() + 14)));
        item->setData(Qt::UserRole, page.text);
    }
}

MainWindow::~MainWindow()
{
    if (m_tray)
        m_context->notifier().setSink(nullptr);
}

void MainWindow::createTray()
{
    // Without a tray (a bare X server, offscreen) nothing of it exists: no icon, no notifications, and
    // closing the window quits as it always did.
    const bool wanted = m_options.tray == Options::Tray::Always
        || (m_options.tray == Options::Tray::Auto && QSystemTrayIcon::isSystemTrayAvailable());
    if (!wanted)
        return;
    m_tray = new TrayIcon(windowIcon(), this);
    Notifier& notifier = m_context->notifier();
    notifier.setSink(m_tray);
    connect(m_tray, &TrayIcon::openRequested, this, &MainWindow::bringToFront);
    connect(m_tray, &TrayIcon::quitRequested, this, &MainWindow::quit);
    connect(m_tray, &TrayIcon::pauseSchedulesRequested, this,
            [this](bool pause) { m_context->scheduleList().setAllActive(!pause); });
    const auto updateSchedules = [this] {
        m_tray->setSchedules(m_context->scheduleList().count(), m_context->scheduleList().activeCount());
    };
    connect(&m_context->scheduleList(), &Schedules::changed, this, updateSchedules);
    updateSchedules();
    connect(m_tray, &TrayIcon::notificationClicked, this, [this] {
        bringToFront();
        m_context->notifier().activate();
    });
    connect(&notifier, &Notifier::openRun, this, &MainWindow::showRun);
    connect(&notifier, &Notifier::openFailedRuns, this, [this] {
        m_runs->showFailed();
        showPage(Page::Runs);
    });
}

bool MainWindow::keepsRunningInTray() const
{
    return m_tray && appsettings::keepInTray(m_context->scheduleList().count() > 0);
}

void MainWindow::bringToFront()
{
    if (isMinimized())
        showNormal();
    else
        show();
    raise();
    activateWindow();
    m_context->notifier().acknowledge();
}

bool MainWindow::quit()
{
    m_quitting = true;
    const bool closed = close();
    m_quitting = false;
    return closed;
}

QStringList MainWindow::pageNames()
{
    return {QStringLiteral("flows"),    QStringLiteral("runs"),        QStringLiteral("run"),
            QStringLiteral("health"),   QStringLiteral("concurrency"), QStringLiteral("workers"),
            QStringLiteral("schedules")};
}

std::optional<MainWindow::Page> MainWindow::pageFromName(const QString& name)
{
    const int index = int(pageNames().indexOf(name.toLower()));
    if (index < 0)
        return std::nullopt;
    return Page(index);
}

void MainWindow::showPage(Page page)
{
    m_pageList->setCurrentRow(int(page));
}

MainWindow::Page MainWindow::currentPage() const
{
    return Page(m_stack->currentIndex());
}

void MainWindow::showRun(FlowRun* run)
{
    m_run->setFlowRun(run);
    m_runs->select(run);
    showPage(Page::Run);
}

void MainWindow::showTaskRun(FlowRun* run, RunId taskRunId)
{
    showRun(run);
    auto select = [this, run, taskRunId] {
        if (m_run->flowRun() != run)
            return true;
        TaskRunModel* model = m_run->taskModel();
        for (int r = 0; r < model->rowCount(); ++r) {
            if (model->taskRunAt(r)->id != taskRunId)
                continue;
            QModelIndex index = model->index(r, 0);
            if (m_run->view()->model() == m_run->filterModel())
                index = m_run->filterModel()->mapFromSource(index);
            if (index.isValid()) {
                m_run->view()->selectionModel()->select(
                    index, QItemSelectionModel::ClearAndSelect | QItemSelectionModel::Rows);
                m_run->view()->setCurrentIndex(index);
                m_run->view()->scrollTo(index);
            }
            return true;
        }
        return false;
    };
    if (taskRunId.isNull() || select())
        return;
    // A stored run's task runs are read first.
    connect(
        &m_context->history(), &RunHistory::detailsLoaded, this,
        [run, select](FlowRun* loaded) {
            if (loaded == run)
                select();
        },
        Qt::SingleShotConnection);
}

QAction* MainWindow::startAction() const
{
    return m_flows->startAction();
}

QAction* MainWindow::pageAction(Page page) const
{
    if (!m_pageActions)
        return nullptr;
    return m_pageActions->actions().value(int(page));
}

SettingsDialog* MainWindow::openSettings()
{
    if (auto* open = findChild<SettingsDialog*>(); open && open->isVisible())
        return open;
    auto* dialog = new SettingsDialog(m_context, this);
    dialog->setAttribute(Qt::WA_DeleteOnClose);
    connect(dialog, &QDialog::accepted, this, [this] {
        statusBar()->showMessage(tr("Settings applied"), StatusMessageMs);
        m_strip->refresh();
    });
    // Sized before it is shown, so that it is placed on the screen at the size it has.
    fitDialogToScreen(dialog);
    dialog->open();
    return dialog;
}

void MainWindow::fitDialogToScreen(QWidget* dialog) const
{
    // Its preferred size may be wider than a small screen (900x600, or 1920x1080 at scale 2).
    const QScreen* screen = this->screen();
    if (!screen)
        return;
    const QSize room = screen->availableGeometry().size() - QSize(16, 48); // its frame and title bar
    const QSize size = dialog->size().boundedTo(room).expandedTo(dialog->minimumSizeHint());
    if (size != dialog->size())
        dialog->resize(size);
}

void MainWindow::changeEvent(QEvent* event)
{
    QMainWindow::changeEvent(event);
    // The user looks at the window: the tray drops its failure mark.
    if (event->type() == QEvent::ActivationChange && isActiveWindow())
        m_context->notifier().acknowledge();
}

void MainWindow::closeEvent(QCloseEvent* event)
{
    if (!m_quitting && keepsRunningInTray()) {
        // Schedules keep firing with the window closed; the tray's menu quits.
        if (m_options.persistWindowState)
            saveWindowSettings();
        hide();
        event->ignore();
        if (!m_toldInTray) {
            m_toldInTray = true;
            m_tray->systemTrayIcon()->showMessage(
                tr("Flowdeck is still running"),
                tr("Schedules keep firing in the background. Quit from the tray icon's menu."),
                QSystemTrayIcon::Information);
        }
        return;
    }
    const int active = m_context->activeFlowRuns();
    if (active > 0) {
        const QString text = active == 1 ? tr("A flow run is still running.")
                                         : tr("%1 flow runs are still running.").arg(active);
        const auto answer = QMessageBox::question(this, tr("Quit Flowdeck"),
                                                  text + QLatin1Char(' ') + tr("Quit and cancel them?"),
                                                  QMessageBox::Yes | QMessageBox::No, QMessageBox::No);
        if (answer != QMessageBox::Yes) {
            event->ignore();
            return;
        }
    }
    if (m_options.persistWindowState)
        saveWindowSettings();
    QMainWindow::closeEvent(event);
    // Deferred: a slot connected here may end the event loop; the close itself finishes first.
    QTimer::singleShot(0, this, &MainWindow::closed);
}

void MainWindow::createMenus()
{
    QMenu* fileMenu = menuBar()->addMenu(tr("&File"));
    fileMenu->addAction(m_flows->openAction());
    fileMenu->addAction(m_flows->addFolderAction());
    fileMenu->addAction(m_flows->reloadAction());
    fileMenu->addSeparator();
    m_settings = fileMenu->addAction(
        themedIcon(QStringLiteral("configure"), QStyle::SP_FileDialogDetailedView), tr("&Settings…"));
    m_settings->setObjectName(QStringLiteral("settingsAction"));
    m_settings->setShortcut(QKeySequence(Qt::CTRL | Qt::Key_Comma));
    m_settings->setMenuRole(QAction::PreferencesRole);
    connect(m_settings, &QAction::triggered, this, &MainWindow::openSettings);
    fileMenu->addSeparator();
    QAction* quit = fileMenu->addAction(
        themedIcon(QStringLiteral("application-exit"), QStyle::SP_DialogCloseButton), tr("&Quit"));
    quit->setShortcut(QKeySequence(Qt::CTRL | Qt::Key_Q));
    quit->setMenuRole(QAction::QuitRole);
    connect(quit, &QAction::triggered, this, &MainWindow::quit);

    QMenu* runMenu = menuBar()->addMenu(tr("&Run"));
    runMenu->addAction(m_flows->startAction());
    runMenu->addAction(m_cancel);
    runMenu->addAction(m_cancelFlowRun);

    QMenu* viewMenu = menuBar()->addMenu(tr("&View"));
    m_pageActions = new QActionGroup(this);
    m_pageActions->setExclusive(true);
    for (int i = 0; i < PageCount; ++i) {
        QAction* action = viewMenu->addAction(m_pageList->item(i)->icon(), m_pageList->item(i)->text());
        action->setCheckable(true);
        action->setShortcut(QKeySequence(Qt::CTRL | Qt::Key(Qt::Key_1 + i)));
        action->setObjectName(QStringLiteral("page_") + pageNames().at(i));
        m_pageActions->addAction(action);
        connect(action, &QAction::triggered, this, [this, i] {
            showPage(Page(i));
            focusPage();
        });
    }

    QMenu* helpMenu = menuBar()->addMenu(tr("&Help"));
    m_help = helpMenu->addAction(themedIcon(QStringLiteral("help-contents"), QStyle::SP_DialogHelpButton),
                                 tr("Flowdeck &Help"));
    m_help->setObjectName(QStringLiteral("helpAction"));
    m_help->setShortcut(QKeySequence::HelpContents);
    connect(m_help, &QAction::triggered, this, &MainWindow::openHelp);
    helpMenu->addSeparator();
    QAction* about = helpMenu->addAction(windowIcon(), tr("&About Flowdeck"));
    about->setMenuRole(QAction::AboutRole);
    connect(about, &QAction::triggered, this, &MainWindow::showAbout);
}

void MainWindow::apply(const UpdateBatch& batch)
{
    for (const FlowRun* run : batch.finishedFlowRuns) {
        if (run->type == StateType::Failed || run->type == StateType::Crashed)
            notifyFailure(*run);
    }
    if (!batch.changedFlowRuns.empty()) {
        updateTitle();
        updateCancelAction();
    }
}

void MainWindow::onPulse()
{
    m_strip->refresh();
    updateTitle();
}

void MainWindow::updateTitle()
{
    // Completed work, as the Runs table's progress counts it: failed or cancelled task runs are not done.
    qint64 completed = 0;
    qint64 total = 0;
    int running = 0;
    for (const auto& run : m_context->flowRuns()) {
        if (run->isTerminal())
            continue;
        ++running;
        completed += run->count(StateType::Completed);
        total += run->totalTaskRuns;
    }
    if (running == 0) {
        setWindowTitle(tr("Flowdeck"));
        return;
    }
    const int percent = total > 0 ? int(completed * 100 / total) : 0;
    // The platform adds the application's name after the title ("1 running, 40% — Flowdeck").
    setWindowTitle(tr("%n running, %1%", nullptr, running).arg(percent));
}

void MainWindow::updateCancelAction()
{
    switch (currentPage()) {
    case Page::Runs: {
        m_cancel->setText(tr("&Cancel Flow Runs…"));
        const QList<FlowRun*> runs = m_runs->selectedFlowRuns();
        m_cancel->setEnabled(
            std::any_of(runs.begin(), runs.end(), [](const FlowRun* r) { return !r->isTerminal(); }));
        break;
    }
    case Page::Run: {
        m_cancel->setText(tr("&Cancel Task Runs…"));
        const QList<TaskRun*> runs = m_run->selectedTaskRuns();
        m_cancel->setEnabled(
            std::any_of(runs.begin(), runs.end(), [](const TaskRun* r) { return !r->isTerminal(); }));
        break;
    }
    default:
        m_cancel->setText(tr("&Cancel…"));
        m_cancel->setEnabled(false);
        break;
    }
    const FlowRun* shown = m_run->flowRun();
    m_cancelFlowRun->setEnabled(currentPage() == Page::Run && shown && !shown->isTerminal());
}

void MainWindow::cancelCurrent()
{
    if (currentPage() == Page::Runs)
        m_runs->cancelSelected();
    else if (currentPage() == Page::Run)
        m_run->cancelSelected();
}

void MainWindow::notifyFailure(const FlowRun& run)
{
    // The first failure says more than the summary, in the little room of a status bar.
    const QString text = tr("%1 (%2) failed: %3")
                             .arg(run.def.name, shortId(run.id.toString()),
                                  run.firstFailure.isEmpty() ? run.message : run.firstFailure);
    statusBar()->showMessage(text, StatusMessageMs);
    // The desktop notification (with a tray) is the notifier's: rate-limited, runs of workers too.
    QApplication::alert(this);
}

void MainWindow::onDatabaseState()
{
    m_strip->refresh();
    if (m_context->database().state() != DatabaseState::Failed) {
        if (m_databaseError)
            m_databaseError->close();
        return;
    }
    if (!m_databaseError) {
        // Window-modal and opened, not exec()'d: the app keeps running while it is shown.
        m_databaseError = new QMessageBox(QMessageBox::Warning, tr("Database Not Available"), QString(),
                                          QMessageBox::NoButton, this);
        m_databaseError->setObjectName(QStringLiteral("databaseErrorBox"));
        m_databaseError->setAttribute(Qt::WA_DeleteOnClose);
        QPushButton* choose
            = m_databaseError->addButton(tr("Choose Another Database…"), QMessageBox::ActionRole);
        m_databaseError->addButton(tr("Continue Without Saving"), QMessageBox::RejectRole);
        connect(m_databaseError, &QMessageBox::buttonClicked, this, [this, choose](QAbstractButton* button) {
            if (button == choose)
                openSettings();
        });
    }
    m_databaseError->setText(m_context->database().errorText());
    m_databaseError->setInformativeText(
        tr("Flowdeck keeps working, but flow runs are not saved and limits apply to this process only. "
           "Choose another database location in Settings, or fix the problem and restart."));
    m_databaseError->open();
}

void MainWindow::showAbout()
{
    QMessageBox::about(this, tr("About Flowdeck"),
                       tr("<h3>Flowdeck %1</h3>"
                          "<p>A native dashboard with an embedded workflow engine: run flows, and watch "
                          "event-loop lag, pools and tag concurrency limits while they run.</p>")
                           .arg(QStringLiteral(FLOWDECK_VERSION)));
}

void MainWindow::showEvent(QShowEvent* event)
{
    QMainWindow::showEvent(event);
    if (m_options.persistWindowState && !event->spontaneous() && !m_fittedOnShow) {
        m_fittedOnShow = true;
        fitToScreen(); // the frame is known now, on most platforms
    }
}

void MainWindow::resizeEvent(QResizeEvent* event)
{
    QMainWindow::resizeEvent(event);
    setPageListCompact(width() < CompactPageListBelow);
    // Status messages ("Started etl-demo", a failure) take the status bar's room left of the strip.
    const int messageRoom = fontMetrics().averageCharWidth() * 36;
    m_strip->setCompact(width() - m_strip->fullWidthHint() < messageRoom);
}

bool MainWindow::eventFilter(QObject* watched, QEvent* event)
{
    if (event->type() == QEvent::KeyPress) {
        const auto* key = static_cast<QKeyEvent*>(event);
        const bool enter = (key->key() == Qt::Key_Return || key->key() == Qt::Key_Enter)
            && (key->modifiers() & ~Qt::KeypadModifier) == Qt::NoModifier;
        if (enter && watched == m_runs->view()) {
            const QModelIndex index = m_runs->view()->currentIndex();
            if (auto* run = reinterpret_cast<FlowRun*>(index.data(RunPointerRole).value<quintptr>())) {
                showRun(run);
                return true;
            }
        } else if (enter && watched == m_flows->view() && m_flows->view()->currentIndex().isValid()) {
            startAction()->trigger();
            return true;
        }
    }
    return QMainWindow::eventFilter(watched, event);
}

void MainWindow::setPageListCompact(bool compact)
{
    if (compact == m_pageListCompact && m_pageList->count() > 0
        && m_pageList->item(0)->text().isEmpty() == compact)
        return;
    m_pageListCompact = compact;
    for (int i = 0; i < m_pageList->count(); ++i) {
        QListWidgetItem* item = m_pageList->item(i);
        const QString name = item->data(Qt::UserRole).toString();
        item->setText(compact ? QString() : name);
        item->setToolTip(compact ? name : QString());
    }
    const int iconOnly = m_pageList->iconSize().width() + 2 * m_pageList->spacing() + 16;
    m_pageList->setFixedWidth(compact ? iconOnly : 150);
}

void MainWindow::focusPage()
{
    // The page's first table, where the arrows and Enter act; else its first control.
    QWidget* page = m_stack->currentWidget();
    for (QAbstractItemView* view : page->findChildren<QAbstractItemView*>()) {
        if (view->isVisible() && view->focusPolicy() != Qt::NoFocus) {
            view->setFocus(Qt::ShortcutFocusReason);
            return;
        }
    }
    for (QWidget* child : page->findChildren<QWidget*>()) {
        if (child->isVisible() && child->isEnabled() && (child->focusPolicy() & Qt::TabFocus)) {
            child->setFocus(Qt::ShortcutFocusReason);
            return;
        }
    }
}

void MainWindow::setUpKeyboard()
{
    // Tab leaves a table for the next control (arrows move inside it); toolbar buttons, which a
    // toolbar makes mouse-only, join the Tab order.
    for (QAbstractItemView* view : findChildren<QAbstractItemView*>())
        view->setTabKeyNavigation(false);
    for (QToolBar* bar : findChildren<QToolBar*>()) {
        for (QToolButton* button : bar->findChildren<QToolButton*>()) {
            if (button->objectName() != QLatin1String("qt_toolbar_ext_button"))
                button->setFocusPolicy(Qt::TabFocus);
        }
    }
    m_pageList->setFocusPolicy(Qt::StrongFocus);
    m_flows->view()->setFocus(); // the window opens with the flows to start under the arrows
}

QList<HelpShortcut> MainWindow::shortcuts() const
{
    QList<HelpShortcut> list;
    for (QAction* menu : menuBar()->actions()) {
        if (!menu->menu())
            continue;
        for (QAction* action : menu->menu()->actions()) {
            // The Cancel action's text follows the page; it is listed once below.
            if (action->shortcut().isEmpty() || action == m_cancel)
                continue;
            list.push_back({action->text().remove(QLatin1Char('&')).remove(QStringLiteral("…")),
                            action->shortcut().toString(QKeySequence::NativeText)});
        }
    }
    list.push_back({tr("Cancel the selected runs (Runs and Run pages)"),
                    QKeySequence(QKeySequence::Delete).toString(QKeySequence::NativeText)});
    list.push_back({tr("Retry the selected failed, crashed or cancelled runs (Runs and Run pages)"),
                    QKeySequence(Qt::CTRL | Qt::Key_T).toString(QKeySequence::NativeText)});
    list.push_back(
        {tr("Run the selected run again, with its parameters to change first (Runs and Run pages)"),
         QKeySequence(Qt::CTRL | Qt::SHIFT | Qt::Key_R).toString(QKeySequence::NativeText)});
    list.push_back({tr("Pause the selected run, or resume a paused one (Runs and Run pages)"),
                    QKeySequence(Qt::CTRL | Qt::Key_P).toString(QKeySequence::NativeText)});
    list.push_back({tr("Open the selected run, start the selected flow"), tr("Enter")});
    list.push_back({tr("Copy the run's full id (Runs and Run pages)"),
                    QKeySequence(Qt::CTRL | Qt::SHIFT | Qt::Key_C).toString(QKeySequence::NativeText)});
    list.push_back({tr("Show the selected task run's story (Run page); Escape closes it"), tr("Enter")});
    list.push_back(
        {tr("Graph (Run and Flows pages): move between tasks, and the task runs of an expanded one"),
         tr("Arrows")});
    list.push_back(
        {tr("Graph: show the focused task's runs in the table (on a task run: open it)"), tr("Enter")});
    list.push_back({tr("Graph: open one of the focused task's runs, or a subflow's run"), tr("Shift+Enter")});
    list.push_back({tr("Graph: expand or collapse a mapped task of at most %1 task runs")
                        .arg(RunGraphWidget::ExpandLimit),
                    tr("Space")});
    list.push_back({tr("Graph: zoom in, out, fit; pan"), tr("+, -, 0; Ctrl+Arrows")});
    list.push_back({tr("Add a schedule (Schedules page)"),
                    QKeySequence(QKeySequence::New).toString(QKeySequence::NativeText)});
    list.push_back({tr("Edit the selected schedule (Schedules page)"), tr("Enter")});
    list.push_back({tr("Pause or resume the selected schedule (Schedules page)"), tr("Space")});
    list.push_back({tr("Delete the selected schedule, after asking (Schedules page)"),
                    QKeySequence(QKeySequence::Delete).toString(QKeySequence::NativeText)});
    return list;
}

HelpDialog* MainWindow::openHelp()
{
    if (auto* open = findChild<HelpDialog*>(); open && open->isVisible()) {
        open->raise();
        open->activateWindow();
        return open;
    }
    auto* dialog = new HelpDialog(shortcuts(), this);
    dialog->setAttribute(Qt::WA_DeleteOnClose);
    fitDialogToScreen(dialog);
    dialog->show();
    return dialog;
}

void MainWindow::fitToScreen()
{
    const QScreen* screen = this->screen();
    if (!screen)
        return;
    const QRect available = screen->availableGeometry();
    // Before the window manager frames the window its frame is unknown: leave room for a title bar.
    QMargins frame = windowHandle() ? windowHandle()->frameMargins() : QMargins();
    if (frame.isNull() && QGuiApplication::platformName() != QLatin1String("offscreen"))
        frame = QMargins(4, 32, 4, 4);
    const QRect room = available.marginsRemoved(frame);
    if (isMaximized() || isFullScreen())
        return;
    const QSize size = this->size().boundedTo(room.size());
    // pos() is the frame's top-left corner.
    const int right = available.right() + 1 - size.width() - frame.left() - frame.right();
    const int bottom = available.bottom() + 1 - size.height() - frame.top() - frame.bottom();
    const QPoint topLeft(std::clamp(pos().x(), available.left(), std::max(available.left(), right)),
                         std::clamp(pos().y(), available.top(), std::max(available.top(), bottom)));
    setPageListCompact(size.width() < CompactPageListBelow); // before resize(): it lowers the minimum
    if (size != this->size())
        resize(size);
    if (topLeft != pos())
        move(topLeft);
}

void MainWindow::restoreWindowSettings()
{
    const QSettings settings = appsettings::open();
    restoreGeometry(settings.value(appsettings::GeometryKey).toByteArray());
    restoreState(settings.value(appsettings::StateKey).toByteArray());
    const int page = settings.value(appsettings::PageKey, 0).toInt();
    if (page >= 0 && page < PageCount)
        showPage(Page(page));
}

void MainWindow::saveWindowSettings() const
{
    QSettings settings = appsettings::open();
    settings.setValue(appsettings::GeometryKey, saveGeometry());
    settings.setValue(appsettings::StateKey, saveState());
    settings.setValue(appsettings::PageKey, int(currentPage()));
}

} // namespace flowdeck
