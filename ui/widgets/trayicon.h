#pragma once

#include "context/notifier.h"

#include <QIcon>
#include <QObject>

class QAction;
class QMenu;
class QSystemTrayIcon;

namespace flowdeck {

/**
 * The tray adapter: a QSystemTrayIcon that shows what the Notifier decides (its icon marks runs
 * active or a failure; notifications through showMessage()), with a menu to open the window, pause
 * or resume all schedules, and quit. Made only where the desktop has a tray.
 */
class TrayIcon : public QObject, public NotificationSink {
    Q_OBJECT

public:
    explicit TrayIcon(const QIcon& appIcon, QObject* parent = nullptr);
    ~TrayIcon() override;

    void showNotification(const Notification& notification) override;
    void showTrayState(const TrayState& state) override;

    QSystemTrayIcon* systemTrayIcon() const { return m_icon; }
    QAction* openAction() const { return m_open; }
    QAction* pauseSchedulesAction() const { return m_pause; }
    QAction* quitAction() const { return m_quit; }
    //! Whether the pause action pauses (some schedule is active) or resumes all schedules; disabled
    //! without schedules.
    void setSchedules(int total, int active);
    const TrayState& state() const { return m_state; }
    //! The notifications shown so far, and the last one.
    int shownCount() const { return m_shown; }
    const Notification& lastNotification() const { return m_last; }

Q_SIGNALS:
    void openRequested();
    //! \a pause: pause every schedule; else resume them all.
    void pauseSchedulesRequested(bool pause);
    void quitRequested();
    //! A notification was clicked.
    void notificationClicked();

private:
    QIcon iconFor(TrayState::Status status) const;

    QIcon m_appIcon;
    QSystemTrayIcon* m_icon;
    QMenu* m_menu;
    QAction* m_open;
    QAction* m_pause;
    QAction* m_quit;
    bool m_pauseMeansPause = true;
    TrayState m_state;
    Notification m_last;
    int m_shown = 0;
};

} // namespace flowdeck
