#pragma once

#include "context/notifier.h"
#include "store/connectionpool.h"

#include <QDateTime>
#include <QSettings>
#include <QString>
#include <QStringList>

namespace flowdeck {

//! The dashboard's preferences in QSettings, in one place (key names and defaults).
namespace appsettings {

//! The settings store of the app ("Flowdeck/Flowdeck" under the user's config folder).
QSettings open();

int blockingThreads();
void setBlockingThreads(int threads);
//! The largest result a task run may end with when its task sets no "max_result_bytes".
qint64 maxResultBytes();
void setMaxResultBytes(qint64 bytes);
int loopLagThresholdMs();
void setLoopLagThresholdMs(int ms);

//! Flow folders added with File → Add flow folder, and single files opened with File → Open flow.
QStringList flowFolders();
void setFlowFolders(const QStringList& folders);
QStringList flowFiles();
void setFlowFiles(const QStringList& files);

inline const QString GeometryKey = QStringLiteral("MainWindow/geometry");
inline const QString StateKey = QStringLiteral("MainWindow/state");
inline const QString PageKey = QStringLiteral("MainWindow/page");

//! The database chosen in Settings (a SQLite path or a postgresql:// URL); empty: the default file.
QString databaseLocation();
void setDatabaseLocation(const QString& location);
//! The connection pool's size, overflow and timeout (SQLAlchemy's defaults when unset).
PoolOptions poolOptions();
void setPoolOptions(const PoolOptions& options);

//! The Runs page's filters, kept across restarts.
struct RunsFilter {
    QStringList states; //!< state type names (toString(StateType)); empty: every state
    QString flow;       //!< empty: every flow
    QString range;      //!< "hour", "day", "week", "custom"; empty: any time
    QDateTime from;     //!< the custom range's ends
    QDateTime to;
    QString search;
};
RunsFilter runsFilter();
void setRunsFilter(const RunsFilter& filter);

//! Which flow runs and approvals notify (Settings → Tray and notifications).
NotifyOptions notifyOptions();
void setNotifyOptions(const NotifyOptions& options);
//! Whether closing the window leaves the app running in the tray: as set, else on when schedules exist.
bool keepInTray(bool schedulesExist);
//! Whether the user chose (stored) a value for keepInTray().
bool keepInTrayIsSet();
void setKeepInTray(bool keep);

// Concurrency limits live in the store, not in QSettings.

} // namespace appsettings

} // namespace flowdeck
