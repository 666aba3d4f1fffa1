#include "widgets/trayicon.h"

#include "style/icons.h"
#include "style/statestyle.h"

#include <QAction>
#include <QMenu>
#include <QPainter>
#include <QPixmap>
#include <QSystemTrayIcon>

namespace flowdeck {

TrayIcon::TrayIcon(const QIcon& appIcon, QObject* parent)
    : QObject(parent)
    // A tray icon needs a picture: the style's where the app's own is not installed.
    , m_appIcon(appIcon.isNull() ? themedIcon(QStringLiteral("flowdeck"), QStyle::SP_ComputerIcon) : appIcon)
    , m_icon(new QSystemTrayIcon(this))
    , m_menu(new QMenu)
{
    m_open = m_menu->addAction(tr("&Open Flowdeck"));
    m_open->setObjectName(QStringLiteral("trayOpenAction"));
    m_pause = m_menu->addAction(themedIcon(QStringLiteral("media-playback-pause"), QStyle::SP_MediaPause),
                                tr("&Pause All Schedules"));
    m_pause->setObjectName(QStringLiteral("trayPauseSchedulesAction"));
    m_menu->addSeparator();
    m_quit = m_menu->addAction(themedIcon(QStringLiteral("application-exit"), QStyle::SP_DialogCloseButton),
                               tr("&Quit"));
    m_quit->setObjectName(QStringLiteral("trayQuitAction"));
    connect(m_open, &QAction::triggered, this, &TrayIcon::openRequested);
    connect(m_pause, &QAction::triggered, this,
            [this] { Q_EMIT pauseSchedulesRequested(m_pauseMeansPause); });
    connect(m_quit, &QAction::triggered, this, &TrayIcon::quitRequested);
    setSchedules(0, 0);

    m_icon->setContextMenu(m_menu);
    connect(m_icon, &QSystemTrayIcon::activated, this, [this](QSystemTrayIcon::ActivationReason reason) {
        if (reason == QSystemTrayIcon::Trigger || reason == QSystemTrayIcon::DoubleClick)
            Q_EMIT openRequested();
    });
    connect(m_icon, &QSystemTrayIcon::messageClicked, this, &TrayIcon::notificationClicked);
    showTrayState({});
    m_icon->show();
}

TrayIcon::~TrayIcon()
{
    m_icon->setContextMenu(nullptr);
    delete m_menu; // a QMenu has no QObject parent here: it is a top-level widget
}

void TrayIcon::setSchedules(int total, int active)
{
    m_pauseMeansPause = active > 0 || total == 0;
    m_pause->setText(m_pauseMeansPause ? tr("&Pause All Schedules") : tr("&Resume All Schedules"));
    m_pause->setIcon(m_pauseMeansPause
                         ? themedIcon(QStringLiteral("media-playback-pause"), QStyle::SP_MediaPause)
                         : themedIcon(QStringLiteral("media-playback-start"), QStyle::SP_MediaPlay));
    m_pause->setEnabled(total > 0);
}

void TrayIcon::showNotification(const Notification& notification)
{
    const auto icon = notification.kind == Notification::Kind::Failed
            || (notification.kind == Notification::Kind::Summary && notification.failures > 0)
        ? QSystemTrayIcon::Warning
        : QSystemTrayIcon::Information;
    m_last = notification;
    ++m_shown;
    m_icon->showMessage(notification.title, notification.text, icon);
}

void TrayIcon::showTrayState(const TrayState& state)
{
    m_state = state;
    m_icon->setIcon(iconFor(state.status));
    m_icon->setToolTip(state.toolTip.isEmpty() ? tr("Flowdeck") : state.toolTip);
}

QIcon TrayIcon::iconFor(TrayState::Status status) const
{
    if (status == TrayState::Status::Idle)
        return m_appIcon;
    // The app's icon with a dot in the corner: the Running colour, or the Failed one.
    const QColor color
        = stateColor(status == TrayState::Status::Failed ? StateType::Failed : StateType::Running);
    QIcon icon;
    for (const int side : {16, 22, 24, 32, 48, 64}) {
        QPixmap pixmap = m_appIcon.pixmap(side, side);
        if (pixmap.isNull()) {
            pixmap = QPixmap(side, side);
            pixmap.fill(Qt::transparent);
        }
        QPainter painter(&pixmap);
        painter.setRenderHint(QPainter::Antialiasing);
        const qreal dot = side * 0.5;
        const QRectF corner(side - dot, side - dot, dot, dot);
        painter.setPen(QPen(Qt::white, std::max(1.0, side / 16.0)));
        painter.setBrush(color);
        painter.drawEllipse(corner.adjusted(0.5, 0.5, -0.5, -0.5));
        icon.addPixmap(pixmap);
    }
    return icon;
}

} // namespace flowdeck
