#pragma once

#include <QMainWindow>

class QCloseEvent;

namespace flowdeck {

//! The dashboard's top-level window. A placeholder for now: menus, status bar and a welcome label.
class MainWindow : public QMainWindow {
    Q_OBJECT

public:
    explicit MainWindow(QWidget* parent = nullptr);
    ~MainWindow() override;

protected:
    void closeEvent(QCloseEvent* event) override;

private:
    void createMenus();
    void showAbout();
    void restoreWindowSettings();
    void saveWindowSettings() const;
};

} // namespace flowdeck
