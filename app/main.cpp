#include "cli.h"
#include "clicommon.h"
#include "context/appcontext.h"
#include "context/flowlibrary.h"
#include "examples.h"
#include "mainwindow.h"
#include "pages/settingsdialog.h"
#include "screenshot.h"

#include <QApplication>
#include <QCommandLineParser>
#include <QTimer>

#include <csignal>
#include <cstdio>
#include <optional>
#include <vector>

namespace {

//! The dashboard's own options (everything but the CLI verbs).
struct GuiOptions {
    bool screenshot = false;
    QString screenshotPath;
    int delayMs = 0;
    QStringList flows; //!< --run, in order
    QString pageName;  //!< lower case; empty: the last page shown
};

void printUsageError(const QString& text)
{
    std::fprintf(stderr, "flowdeck: %s\n", text.toLocal8Bit().constData());
}

//! Parses the dashboard's arguments; prints why and returns nothing when they are not valid. --help
//! and --version print and exit.
std::optional<GuiOptions> parseGuiOptions(const QStringList& arguments)
{
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
    if (!parser.parse(arguments)) {
        printUsageError(parser.errorText() + QStringLiteral(" (see 'flowdeck --help')"));
        return std::nullopt;
    }
    if (const QString option = flowdeck::cli::optionWithoutValue(parser, arguments); !option.isEmpty()) {
        printUsageError(QStringLiteral("missing value after \"%1\" (see 'flowdeck --help')").arg(option));
        return std::nullopt;
    }
    if (parser.isSet(QStringLiteral("help")))
        parser.showHelp(flowdeck::ExitCompleted);
    if (parser.isSet(QStringLiteral("version")))
        parser.showVersion();
    if (!parser.positionalArguments().isEmpty()) {
        printUsageError(QStringLiteral("unexpected argument \"%1\" (see 'flowdeck --help')")
                            .arg(parser.positionalArguments().first()));
        return std::nullopt;
    }
    GuiOptions options;
    options.pageName = parser.value(page).toLower();
    if (parser.isSet(page) && !pages.contains(options.pageName)) {
        printUsageError(QStringLiteral("--page: unknown page \"%1\" (expected one of: %2)")
                            .arg(parser.value(page), pages.join(QStringLiteral(", "))));
        return std::nullopt;
    }
    options.screenshot = parser.isSet(screenshot);
    if (options.screenshot) {
        bool ok = false;
        options.screenshotPath = parser.value(screenshot);
        options.delayMs = parser.value(afterMs).toInt(&ok);
        if (!ok || options.delayMs < 0) {
            printUsageError(QStringLiteral("--after-ms: expected a non-negative integer"));
            return std::nullopt;
        }
    }
    options.flows = parser.values(run);
    return options;
}

//! Opens the window (and the run store, in the background) and runs until it closes.
int runDashboard(const GuiOptions& options)
{
    flowdeck::AppContext context;
    // The run store ($FLOWDECK_DB, else the location chosen in Settings, else flowdeck.db in the app
    // data folder) opens in the background; flows started meanwhile start once it is open.
    context.database().open();
    std::vector<flowdeck::FlowDefinition> flows;
    for (const QString& what : options.flows) {
        QString error;
        const std::optional<flowdeck::FlowDefinition> flow
            = flowdeck::flowlibrary::loadForRun(context.parser(), what, &error);
        if (!flow) {
            printUsageError(QStringLiteral("--run: ") + error);
            return flowdeck::ExitUsage;
        }
        flows.push_back(*flow);
    }

    // Screenshots leave the user's saved window geometry and last page alone.
    flowdeck::MainWindow window(&context, flowdeck::MainWindow::Options{!options.screenshot});
    if (const auto shown = flowdeck::MainWindow::pageFromName(options.pageName))
        window.showPage(*shown);
    window.show();
    for (const flowdeck::FlowDefinition& flow : flows)
        context.startFlow(flow);
    flowdeck::SettingsDialog* settings
        = options.pageName == QStringLiteral("settings") ? window.openSettings() : nullptr;

    int exitCode = flowdeck::ExitCompleted;
    if (options.screenshot) {
        QTimer::singleShot(options.delayMs, &window, [&] {
            context.flush(); // the models show what happened up to now, not up to the last tick
            QString error;
            QWidget* target = settings ? static_cast<QWidget*>(settings) : static_cast<QWidget*>(&window);
            if (!flowdeck::saveWidgetScreenshot(target, options.screenshotPath, &error)) {
                printUsageError(error);
                exitCode = flowdeck::ExitFailed;
            }
            QApplication::exit(exitCode);
        });
        QApplication::exec();
    } else {
        exitCode = QApplication::exec();
    }
    context.cancelAllAndWait(5000);        // the engine goes idle before it is destroyed
    context.database().closeAndWait(5000); // the last transitions are written, this process unregistered
    return exitCode;
}

} // namespace

int main(int argc, char* argv[])
{
    QStringList args;
    for (int i = 1; i < argc; ++i)
        args << QString::fromLocal8Bit(argv[i]);

    flowdeck::registerExamples();
    // A write beyond the file size limit (ulimit -f) fails with EFBIG, reported as a storage error,
    // instead of killing the process without a word.
    std::signal(SIGXFSZ, SIG_IGN);

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

    const std::optional<GuiOptions> options = parseGuiOptions(QApplication::arguments());
    if (!options)
        return flowdeck::ExitUsage;
    return runDashboard(*options);
}
