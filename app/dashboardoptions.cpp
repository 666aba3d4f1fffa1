#include "dashboardoptions.h"

#include "mainwindow.h"

namespace flowdeck {

QStringList dashboardPageNames()
{
    return MainWindow::pageNames() << QStringLiteral("settings");
}

QList<QCommandLineOption> dashboardOptions()
{
    return {
        QCommandLineOption(QStringLiteral("screenshot"),
                           QStringLiteral("Save a PNG of the main window and exit."), QStringLiteral("PATH")),
        QCommandLineOption(
            QStringLiteral("after-ms"),
            QStringLiteral("Wait this long before the screenshot, in milliseconds (default 300)."),
            QStringLiteral("N"), QStringLiteral("300")),
        QCommandLineOption(QStringLiteral("run"),
                           QStringLiteral("Start this flow (a file, or the name of a code-defined flow) at "
                                          "launch; repeatable."),
                           QStringLiteral("FLOW")),
        QCommandLineOption(
            QStringLiteral("page"),
            QStringLiteral("Open this page: %1.").arg(dashboardPageNames().join(QStringLiteral(", "))),
            QStringLiteral("NAME")),
        QCommandLineOption(
            QStringLiteral("view"),
            QStringLiteral("What the pages show beside their tables: timeline (default) or graph "
                           "on the Run page; graph (default) or grid (runs × tasks) on the "
                           "Flows page; now (default) or trends on the Health page."),
            QStringLiteral("NAME")),
        QCommandLineOption(
            QStringLiteral("size"),
            QStringLiteral("Window size in logical pixels, e.g. 900x600 (with --scale 2, 960x540 "
                           "fills 1920x1080)."),
            QStringLiteral("WxH")),
        QCommandLineOption(QStringLiteral("scale"),
                           QStringLiteral("Scale factor from 0.5 to 4, as QT_SCALE_FACTOR sets it (a "
                                          "screenshot's pixels are its size times the scale)."),
                           QStringLiteral("N")),
        QCommandLineOption(QStringLiteral("palette"),
                           QStringLiteral("Colours: dark or light (the Fusion style with that palette), or "
                                          "system (default)."),
                           QStringLiteral("NAME"), QStringLiteral("system")),
    };
}

} // namespace flowdeck
