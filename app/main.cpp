#include "cli.h"
#include "examples.h"
#include "mainwindow.h"
#include "screenshot.h"

#include <QApplication>
#include <QCommandLineParser>
#include <QTimer>

#include <cstdio>

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
    const QCommandLineOption screenshot(QStringLiteral("screenshot"), QStringLiteral("Save a PNG of the main window and exit."),
                                        QStringLiteral("PATH"));
    const QCommandLineOption afterMs(QStringLiteral("after-ms"), QStringLiteral("Wait this long before the screenshot."),
                                     QStringLiteral("N"), QStringLiteral("300"));
    parser.addOptions({screenshot, afterMs});
    if (!parser.parse(QApplication::arguments())) {
        std::fprintf(stderr, "flowdeck: %s (see 'flowdeck --help')\n", parser.errorText().toLocal8Bit().constData());
        return flowdeck::ExitUsage;
    }
    if (!parser.positionalArguments().isEmpty()) {
        std::fprintf(stderr, "flowdeck: unexpected argument \"%s\" (see 'flowdeck --help')\n",
                     parser.positionalArguments().first().toLocal8Bit().constData());
        return flowdeck::ExitUsage;
    }

    flowdeck::MainWindow window;
    window.show();
    if (parser.isSet(screenshot)) {
        bool ok = false;
        const int delay = parser.value(afterMs).toInt(&ok);
        if (!ok || delay < 0) {
            std::fprintf(stderr, "flowdeck: --after-ms: expected a non-negative integer\n");
            return flowdeck::ExitUsage;
        }
        int exitCode = 0;
        QTimer::singleShot(delay, &window, [&] {
            QString error;
            if (!flowdeck::saveWidgetScreenshot(&window, parser.value(screenshot), &error)) {
                std::fprintf(stderr, "flowdeck: %s\n", error.toLocal8Bit().constData());
                exitCode = 1;
            }
            QApplication::exit(exitCode);
        });
        QApplication::exec();
        return exitCode;
    }
    return QApplication::exec();
}
