#include "cli.h"
#include "clicommon.h"
#include "context/appcontext.h"
#include "context/flowlibrary.h"
#include "dashboardoptions.h"
#include "examples.h"
#include "mainwindow.h"
#include "pages/flowspage.h"
#include "pages/healthpage.h"
#include "pages/runpage.h"
#include "pages/settingsdialog.h"
#include "screenshot.h"
#include "style/palette.h"

#include <QApplication>
#include <QCommandLineParser>
#include <QRegularExpression>
#include <QSize>
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
    QString viewName;  //!< --view: the Run page's timeline or graph; empty: as it was
    QSize size;        //!< --size: the window's size in logical pixels; empty: the default
    QString palette;   //!< --palette: dark, light or system
};

const QString ScaleOption = QStringLiteral("scale");

/**
 * The value of `--scale` in \a argv ("--scale 2" or "--scale=2"), or an empty string. Read before
 * QApplication exists: the scale factor (QT_SCALE_FACTOR) must be set before it starts.
 */
QByteArray scaleArgument(int argc, char* argv[])
{
    const QByteArray option = "--" + ScaleOption.toLatin1();
    for (int i = 1; i < argc; ++i) {
        const QByteArray arg(argv[i]);
        if (arg == option && i + 1 < argc)
            return QByteArray(argv[i + 1]);
        if (arg.startsWith(QByteArray(option + '=')))
            return arg.mid(option.size() + 1);
    }
    return {};
}

//! A scale factor from 0.5 to 4, else nothing.
std::optional<double> parseScale(const QString& text)
{
    bool ok = false;
    const double scale = text.toDouble(&ok);
    if (!ok || !(scale >= 0.5 && scale <= 4))
        return std::nullopt;
    return scale;
}

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
    parser.addOptions(flowdeck::dashboardOptions());
    const QStringList pages = flowdeck::dashboardPageNames();
    const QString screenshot = QStringLiteral("screenshot");
    const QString afterMs = QStringLiteral("after-ms");
    const QString run = QStringLiteral("run");
    const QString page = QStringLiteral("page");
    const QString size = QStringLiteral("size");
    const QString view = QStringLiteral("view");
    const QString palette = QStringLiteral("palette");
    const QString& scale = ScaleOption;
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
    options.viewName = parser.value(view).toLower();
    static const QStringList views{QStringLiteral("timeline"), QStringLiteral("graph"),
                                   QStringLiteral("grid"), QStringLiteral("now"), QStringLiteral("trends")};
    if (parser.isSet(view) && !views.contains(options.viewName)) {
        printUsageError(QStringLiteral("--view: unknown view \"%1\" (expected one of: %2)")
                            .arg(parser.value(view), views.join(QStringLiteral(", "))));
        return std::nullopt;
    }
    if (parser.isSet(size)) {
        static const QRegularExpression sizePattern(QStringLiteral("^(\\d{2,5})x(\\d{2,5})$"));
        const QRegularExpressionMatch match = sizePattern.match(parser.value(size));
        if (!match.hasMatch()) {
            printUsageError(
                QStringLiteral("--size: expected WIDTHxHEIGHT in pixels, e.g. 900x600, found \"%1\"")
                    .arg(parser.value(size)));
            return std::nullopt;
        }
        options.size = QSize(match.captured(1).toInt(), match.captured(2).toInt());
    }
    if (parser.isSet(scale) && !parseScale(parser.value(scale))) {
        printUsageError(QStringLiteral("--scale: expected a number from 0.5 to 4, found \"%1\"")
                            .arg(parser.value(scale)));
        return std::nullopt;
    }
    options.palette = parser.value(palette).toLower();
    if (!QStringList{QStringLiteral("dark"), QStringLiteral("light"), QStringLiteral("system")}.contains(
            options.palette)) {
        printUsageError(
            QStringLiteral("--palette: unknown palette \"%1\" (expected one of: dark, light, system)")
                .arg(parser.value(palette)));
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
    flowdeck::MainWindow::Options windowOptions;
    windowOptions.persistWindowState = !options.screenshot;
    if (options.screenshot)
        windowOptions.tray = flowdeck::MainWindow::Options::Tray::Never;
    flowdeck::MainWindow window(&context, windowOptions);
    if (window.trayIcon()) {
        // Closing the window may leave the app in the tray (Settings); it quits when the window closes
        // for good, not when its last dialog does.
        QApplication::setQuitOnLastWindowClosed(false);
        QObject::connect(&window, &flowdeck::MainWindow::closed, qApp, &QCoreApplication::quit);
    }
    if (const auto shown = flowdeck::MainWindow::pageFromName(options.pageName))
        window.showPage(*shown);
    if (options.viewName == u"timeline" || options.viewName == u"graph")
        window.runPage()->showView(options.viewName == u"graph" ? flowdeck::RunPage::View::Graph
                                                                : flowdeck::RunPage::View::Timeline);
    if (options.viewName == u"graph" || options.viewName == u"grid")
        window.flowsPage()->showView(options.viewName == u"grid" ? flowdeck::FlowsPage::View::Grid
                                                                 : flowdeck::FlowsPage::View::Graph);
    if (options.viewName == u"now" || options.viewName == u"trends")
        window.healthPage()->showView(options.viewName == u"trends" ? flowdeck::HealthPage::View::Trends
                                                                    : flowdeck::HealthPage::View::Now);
    if (!options.size.isEmpty())
        window.resize(options.size);
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

    // The scale factor applies from the start; a bad value is reported by parseGuiOptions() below.
    if (const QByteArray scale = scaleArgument(argc, argv); parseScale(QString::fromLocal8Bit(scale)))
        qputenv("QT_SCALE_FACTOR", scale);

    QApplication app(argc, argv);
    QApplication::setApplicationName(QStringLiteral("flowdeck"));
    QApplication::setApplicationDisplayName(QStringLiteral("Flowdeck"));
    QApplication::setOrganizationName(QStringLiteral("Flowdeck"));
    QApplication::setApplicationVersion(QStringLiteral(FLOWDECK_VERSION));
    QApplication::setDesktopFileName(QStringLiteral("flowdeck"));

    const std::optional<GuiOptions> options = parseGuiOptions(QApplication::arguments());
    if (!options)
        return flowdeck::ExitUsage;
    flowdeck::applyPalette(options->palette);
    return runDashboard(*options);
}
