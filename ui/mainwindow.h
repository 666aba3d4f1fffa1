#pragma once

#include "run/runid.h"

#include <QList>
#include <QMainWindow>
#include <QMessageBox>
#include <QPointer>

#include <optional>

class QAction;
class QActionGroup;
class QCloseEvent;
class QListWidget;
class QStackedWidget;

namespace flowdeck {

class AppContext;
class HelpDialog;
class ConcurrencyPage;
class FlowsPage;
class HealthPage;
class HealthStrip;
class RunPage;
class RunsPage;
class SchedulesPage;
class SettingsDialog;
class TrayIcon;
class WorkersPage;
struct FlowRun;
struct UpdateBatch;
struct HelpShortcut;

//! The dashboard's top-level window: a page list on the left, the pages, menus, and the health strip.
class MainWindow : public QMainWindow {
    Q_OBJECT

public:
    enum class Page { Flows, Runs, Run, Health, Concurrency, Workers, Schedules };
    static constexpr int PageCount = 7;

    struct Options {
        //! Restore and save geometry and the last page (QSettings), and fit the window to its screen;
        //! off for screenshots and tests.
        bool persistWindowState = true;
        //! The tray icon: where the desktop has a tray (Auto), or made regardless (tests), or never.
        enum class Tray { Auto, Always, Never } tray = Tray::Auto;
    };

    explicit MainWindow(AppContext* context, QWidget* parent = nullptr);
    MainWindow(AppContext* context, Options options, QWidget* parent = nullptr);
    ~MainWindow() override;

    //! Lower-case page names, as `--page` takes them ("flows", "runs", "run", "health", "concurrency",
    //! "workers", "schedules").
    static QStringList pageNames();
    static std::optional<Page> pageFromName(const QString& name);

    void showPage(Page page);
    Page currentPage() const;
    //! Opens the Run page on \a run.
    void showRun(FlowRun* run);
    //! Shows \a run with its task run \a taskRunId selected (once read, for a stored run).
    void showTaskRun(FlowRun* run, RunId taskRunId);
    //! Opens the Settings dialog (window-modal; returns at once).
    SettingsDialog* openSettings();

    FlowsPage* flowsPage() const { return m_flows; }
    RunsPage* runsPage() const { return m_runs; }
    RunPage* runPage() const { return m_run; }
    HealthPage* healthPage() const { return m_health; }
    HealthStrip* healthStrip() const { return m_strip; }
    ConcurrencyPage* concurrencyPage() const { return m_concurrency; }
    WorkersPage* workersPage() const { return m_workers; }
    SchedulesPage* schedulesPage() const { return m_schedules; }
    //! The tray icon, or null where the desktop has no tray.
    TrayIcon* trayIcon() const { return m_tray; }
    //! Quits: closes the window even when closing would leave the app in the tray (asks first when
    //! flow runs are active). Returns false when the user chose to stay.
    bool quit();
    //! Shows, raises and activates the window (from the tray).
    void bringToFront();
    //! The message box that says the database could not be opened, while it is shown.
    QMessageBox* databaseErrorBox() const { return m_databaseError; }
    QAction* startAction() const;
    QAction* cancelAction() const { return m_cancel; }
    QAction* settingsAction() const { return m_settings; }
    QAction* pageAction(Page page) const;
    QAction* helpAction() const { return m_help; }
    QAction* cancelFlowRunAction() const { return m_cancelFlowRun; }
    //! True while the page list shows icons only (in a narrow window).
    bool isPageListCompact() const { return m_pageListCompact; }
    //! Opens the in-app help (not modal; the one already open is raised).
    HelpDialog* openHelp();

    //! The window's width below which the page list shows icons only.
    static constexpr int CompactPageListBelow = 1000;

Q_SIGNALS:
    //! The window closed for good (not into the tray): the app quits.
    void closed();

protected:
    void changeEvent(QEvent* event) override;
    void closeEvent(QCloseEvent* event) override;
    void resizeEvent(QResizeEvent* event) override;
    void showEvent(QShowEvent* event) override;
    bool eventFilter(QObject* watched, QEvent* event) override;

private:
    //! The pages, in the order of Page; then the list that switches between them.
    void createPages();
    void createPageList();
    void createMenus();
    void apply(const UpdateBatch& batch);
    void onPulse();
    void updateTitle();
    void updateCancelAction();
    void cancelCurrent();
    void notifyFailure(const FlowRun& run);
    void createTray();
    //! Whether closing the window leaves the app running in the tray (Settings).
    bool keepsRunningInTray() const;
    void showAbout();
    void onDatabaseState();
    void restoreWindowSettings();
    //! Shrinks and moves the window into its screen's available area (a geometry saved on a larger
    //! screen or at another scale factor would hang off it).
    void fitToScreen();
    void setPageListCompact(bool compact);
    //! Keyboard reach: Tab leaves tables, toolbar buttons take Tab focus.
    void setUpKeyboard();
    //! Gives the keyboard focus to the shown page's table (after Ctrl+1 … Ctrl+7).
    void focusPage();
    //! Shrinks a dialog this window opens to the screen, down to its minimum size.
    void fitDialogToScreen(QWidget* dialog) const;
    QList<HelpShortcut> shortcuts() const;
    void saveWindowSettings() const;

    AppContext* m_context;
    Options m_options;
    QListWidget* m_pageList;
    QStackedWidget* m_stack;
    FlowsPage* m_flows;
    RunsPage* m_runs;
    RunPage* m_run;
    HealthPage* m_health;
    ConcurrencyPage* m_concurrency;
    WorkersPage* m_workers;
    SchedulesPage* m_schedules;
    HealthStrip* m_strip;
    QAction* m_cancel;
    QAction* m_settings = nullptr;
    QAction* m_help = nullptr;
    QAction* m_cancelFlowRun = nullptr;
    bool m_pageListCompact = false;
    bool m_fittedOnShow = false;
    QActionGroup* m_pageActions = nullptr;
    TrayIcon* m_tray = nullptr;
    bool m_quitting = false;
    bool m_toldInTray = false;
    QPointer<QMessageBox> m_databaseError;
};

} // namespace flowdeck
