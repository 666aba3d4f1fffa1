#pragma once

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

// Issue 3 adds the database location and pool size / overflow / timeout here; concurrency
// limits (issue 4) live in the store, not in QSettings.

} // namespace appsettings

} // namespace flowdeck
