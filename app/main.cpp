#include "cli.h"
#include "context/appcontext.h"
#include "context/flowlibrary.h"
#include "examples.h"
#include "mainwindow.h"
#include "pages/settingsdialog.h"
#include "screenshot.h"

#include <QApplication>
#include <QCommandLineParser>
#include <QTimer>

#include <cstdio>
#include <optional>
#include <vector>

int main(int argc, char* argv[])
{
    QStringList args;
    for (int i = 1; i < argc; ++i)
        args << QString::fromLocal8Bit(argv[i]);

    flowdeck::registerExamples();

    if (flowdeck::isCliInvocation(args)) {
        QCoreApplication app(argc, argv);
        QCoreApplication::setApplicationName(QStringLiteral("flowdeck"));
        QCoreApplication::setOrganizationName(QStringLiteral("Flowdeck"));
        QCoreApplication::setApplicationVersion(QStringLiteral(FLOWDECK_VERSION));
        return flowdeck::runCli(args);
    }

    QApplication app(argc, argv);
    QApplication::setApplicationName(QStringLiteral("flowdeck"));
    QApplication::setApplicationDisplayName(QStringLiteral("Flowdeck"));
    QApplication::setOrganizationName(QStringLiteral("Flowdeck"));
    QApplication::setApplicationVersion(QStringLiteral(FLOWDECK_VERSION));
    QApplication::setDesktopFileName(QStringLiteral("flowdeck"));

    QCommandLineParser parser;
    parser.setApplicationDescription(QStringLiteral("Flowdeck dashboard"));
    parser.addHelpOption();
    parser.addVersionOption();
    const QCommandLineOption screenshot(QStringLiteral("screenshot"),
                                        QStringLiteral("Save a PNG of the main window and exit."),
                                        QStringLiteral("PATH"));
    const QCommandLineOption afterMs(QStringLiteral("after-ms"),
                                     QStringLiteral("Wait this long before the screenshot."),
                                     QStringLiteral("N"), QStringLiteral("300"));
    const QCommandLineOption run(
        QStringLiteral("run"),
        QStringLiteral("Start this flow (a file, or the name of a code-defined flow) at launch; repeatable."),
        QStringLiteral("FLOW"));
    const QStringList pages = flowdeck::MainWindow::pageNames() << QStringLiteral("settings");
    const QCommandLineOption page(QStringLiteral("page"),
                                  QStringLiteral("Open this page: %1.").arg(pages.join(QStringLiteral(", "))),
                                  QStringLiteral("NAME"));
    parser.addOptions({screenshot, afterMs, run, page});
    if (!parser.parse(QApplication::arguments())) {
        std::fprintf(stderr, "flowdeck: %s (see 'flowdeck --help')\n",
                     parser.errorText().toLocal8Bit().constData());
        return flowdeck::ExitUsage;
    }
    if (parser.isSet(QStringLiteral("help")))
        parser.showHelp(flowdeck::ExitCompleted);
    if (parser.isSet(QStringLiteral("version")))
        parser.showVersion();
    if (!parser.positionalArguments().isEmpty()) {
        std::fprintf(stderr, "flowdeck: unexpected argument \"%s\" (see 'flowdeck --help')\n",
                     parser.positionalArguments().first().toLocal8Bit().constData());
        return flowdeck::ExitUsage;
    }
    const QString pageName = parser.value(page).toLower();
    if (parser.isSet(page) && !pages.contains(pageName)) {
        std::fprintf(stderr, "flowdeck: --page: unknown page \"%s\" (expected one of: %s)\n",
                     parser.value(page).toLocal8Bit().constData(),
                     pages.join(QStringLiteral(", ")).toLocal8Bit().constData());
        return flowdeck::ExitUsage;
    }
    int delay = 0;
    if (parser.isSet(screenshot)) {
        bool ok = false;
        delay = parser.value(afterMs).toInt(&ok);
        if (!ok || delay < 0) {
            std::fprintf(stderr, "flowdeck: --after-ms: expected a non-negative integer\n");
            return flowdeck::ExitUsage;
        }
    }

    flowdeck::AppContext context;
    // The run store ($FLOWDECK_DB, else the location chosen in Settings, else flowdeck.db in the app
    // data folder) opens in the background; flows started meanwhile start once it is open.
    context.database().open();
    std::vector<flowdeck::FlowDefinition> flows;
    for (const QString& what : parser.values(run)) {
        QString error;
        const std::optional<flowdeck::FlowDefinition> flow
            = flowdeck::flowlibrary::loadForRun(context.parser(), what, &error);
        if (!flow) {
            std::fprintf(stderr, "flowdeck: --run: %s\n", error.toLocal8Bit().constData());
            return flowdeck::ExitUsage;
        }
        flows.push_back(*flow);
    }

    // Screenshots leave the user's saved window geometry and last page alone.
    const bool screenshotMode = parser.isSet(screenshot);
    flowdeck::MainWindow window(&context, flowdeck::MainWindow::Options{!screenshotMode});
    if (const auto shown = flowdeck::MainWindow::pageFromName(pageName))
        window.showPage(*shown);
    window.show();
    for (const flowdeck::FlowDefinition& flow : flows)
        context.startFlow(flow);
    flowdeck::SettingsDialog* settings
        = pageName == QStringLiteral("settings") ? window.openSettings() : nullptr;

    if (screenshotMode) {
        int exitCode = flowdeck::ExitCompleted;
        QTimer::singleShot(delay, &window, [&] {
            context.flush(); // the models show what happened up to now, not up to the last tick
            QString error;
            QWidget* target = settings ? static_cast<QWidget*>(settings) : static_cast<QWidget*>(&window);
            if (!flowdeck::saveWidgetScreenshot(target, parser.value(screenshot), &error)) {
                std::fprintf(stderr, "flowdeck: %s\n", error.toLocal8Bit().constData());
                exitCode = flowdeck::ExitFailed;
            }
            QApplication::exit(exitCode);
        });
        QApplication::exec();
        context.cancelAllAndWait(5000); // the engine goes idle before it is destroyed
        context.database().closeAndWait(5000);
        return exitCode;
    }
    const int exitCode = QApplication::exec();
    context.cancelAllAndWait(5000);
    context.database().closeAndWait(5000); // the last transitions are written, this process unregistered
    return exitCode;
}
