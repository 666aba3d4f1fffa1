#pragma once

#include <QCommandLineOption>
#include <QList>
#include <QStringList>

namespace flowdeck {

//! The pages `--page` opens: the main window's pages and "settings".
QStringList dashboardPageNames();

//! The dashboard's own options (everything but the CLI verbs), for its parser and the man page.
QList<QCommandLineOption> dashboardOptions();

} // namespace flowdeck
