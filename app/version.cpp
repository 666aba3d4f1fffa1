#include "version.h"

#include "gitcommit.h"

#include <QtGlobal>

#include <sqlite3.h>

namespace flowdeck {

QString versionText()
{
    // Qt and SQLite are shared libraries: the versions loaded now, and Qt's at build time if it differs.
    QString qt = QString::fromLatin1(qVersion());
    if (qt != QLatin1String(QT_VERSION_STR))
        qt += QStringLiteral(" (built with %1)").arg(QLatin1String(QT_VERSION_STR));
    return QStringLiteral("flowdeck %1\ncommit %2\nQt %3\nSQLite %4\n")
        .arg(QLatin1String(FLOWDECK_VERSION), QLatin1String(FLOWDECK_GIT_COMMIT), qt,
             QLatin1String(sqlite3_libversion()));
}

} // namespace flowdeck
