#pragma once

#include "run/runid.h"

#include <QMainWindow>
#include <QMessageBox>
#include <QPointer>

#include <optional>

class QAction;
class QActionGroup;
class QCloseEvent;
class QListWidget;
class QStackedWidget;
class QSystemTrayIcon;

namespace flowdeck {

class AppContext;
class ConcurrencyPage;
class FlowsPage;
class HealthPage;
class HealthStrip;
class RunPage;
class RunsPage;
class SettingsDialog;
class WorkersPage;
struct FlowRun;
struct UpdateBatch;

//! The dashboard's top-level window: a page list on the left, the pages, menus, and the health strip.
class MainWindow : public QMainWindow {
    Q_OBJECT

public:
    enum class Page { Flows, Runs, Run, Health, Concurrency, Workers };
    static constexpr int PageCount = 6;

    struct Options {
        //! Restore and save geometry and the last page (QSettings); off for screenshots and tests.
        bool persistWindowState = true;
    };

    explicit MainWindow(AppContext* context, QWidget* parent = nullptr);
    MainWindow(AppContext* context, Options options, QWidget* parent = nullptr);
    ~MainWindow() override;

    //! Lower-case page names, as `--page` takes them ("flows", "runs", "run", "health", "concurrency",
    //! "workers").
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
    //! The message box that says the database could not be opened, while it is shown.
    QMessageBox* databaseErrorBox() const { return m_databaseError; }
    QAction* startAction() const;
    QAction* cancelAction() const { return m_cancel; }
    QAction* settingsAction() const { return m_settings; }
    QAction* pageAction(Page page) const;

protected:
    void closeEvent(QCloseEvent* event) override;

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
    void showAbout();
    void onDatabaseState();
    void restoreWindowSettings();
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
    HealthStrip* m_strip;
    QAction* m_cancel;
    QAction* m_settings = nullptr;
    QActionGroup* m_pageActions = nullptr;
    QSystemTrayIcon* m_tray = nullptr;
    QPointer<QMessageBox> m_databaseError;
};

} // namespace flowdeck
