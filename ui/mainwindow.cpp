#include "mainwindow.h"

#include <QAction>
#include <QCloseEvent>
#include <QIcon>
#include <QKeySequence>
#include <QLabel>
#include <QMenu>
#include <QMenuBar>
#include <QMessageBox>
#include <QSettings>
#include <QStatusBar>

namespace flowdeck {

namespace {

const QString SettingsName = QStringLiteral("Flowdeck");
const QString GeometryKey = QStringLiteral("MainWindow/geometry");
const QString StateKey = QStringLiteral("MainWindow/state");

} // namespace

MainWindow::MainWindow(QWidget* parent)
    : QMainWindow(parent)
{
    setWindowTitle(tr("Flowdeck"));
    setWindowIcon(QIcon(QStringLiteral(":/icons/flowdeck.svg")));
    setObjectName(QStringLiteral("MainWindow"));

    createMenus();

    auto* placeholder = new QLabel(tr("<h2>Welcome to Flowdeck</h2>"
                                      "<p>Flows, their runs and the live health of the engine "
                                      "will appear here.</p>"),
                                   this);
    placeholder->setAlignment(Qt::AlignCenter);
    placeholder->setWordWrap(true);
    placeholder->setMargin(24);
    setCentralWidget(placeholder);

    statusBar()->showMessage(tr("Ready"));

    resize(1024, 680);
    restoreWindowSettings();
}

MainWindow::~MainWindow() = default;

void MainWindow::closeEvent(QCloseEvent* event)
{
    saveWindowSettings();
    QMainWindow::closeEvent(event);
}

void MainWindow::createMenus()
{
    QMenu* fileMenu = menuBar()->addMenu(tr("&File"));
    QAction* quitAction
        = fileMenu->addAction(QIcon::fromTheme(QStringLiteral("application-exit")), tr("&Quit"));
    quitAction->setShortcut(QKeySequence(Qt::CTRL | Qt::Key_Q));
    quitAction->setMenuRole(QAction::QuitRole);
    connect(quitAction, &QAction::triggered, this, &QWidget::close);

    QMenu* helpMenu = menuBar()->addMenu(tr("&Help"));
    QAction* aboutAction = helpMenu->addAction(tr("&About Flowdeck"));
    aboutAction->setMenuRole(QAction::AboutRole);
    connect(aboutAction, &QAction::triggered, this, &MainWindow::showAbout);
}

void MainWindow::showAbout()
{
    QMessageBox::about(this, tr("About Flowdeck"),
                       tr("<h3>Flowdeck %1</h3>"
                          "<p>A native dashboard with an embedded workflow engine: run flows, and watch "
                          "event-loop lag, pools and tag concurrency limits while they run.</p>")
                           .arg(QStringLiteral(FLOWDECK_VERSION)));
}

void MainWindow::restoreWindowSettings()
{
    const QSettings settings(SettingsName, SettingsName);
    restoreGeometry(settings.value(GeometryKey).toByteArray());
    restoreState(settings.value(StateKey).toByteArray());
}

void MainWindow::saveWindowSettings() const
{
    QSettings settings(SettingsName, SettingsName);
    settings.setValue(GeometryKey, saveGeometry());
    settings.setValue(StateKey, saveState());
}

} // namespace flowdeck
