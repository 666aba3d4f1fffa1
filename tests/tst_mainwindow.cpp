// The main window: pages from the View menu, `flowdeck --screenshot`, a bad database reported.
#include "context/appsettings.h"
#include "help/helpdialog.h"
#include "pages/settingsdialog.h"
#include "uitestutil.h"
#include "widgets/healthstrip.h"

#include <QAbstractButton>
#include <QImage>
#include <QJsonDocument>
#include <QLabel>
#include <QLayout>
#include <QLineEdit>
#include <QProcess>
#include <QScreen>
#include <QSettings>
#include <QStatusBar>
#include <QTemporaryDir>
#include <QTest>

using namespace flowdeck;
using namespace flowdeck::uitest;

class TestMainWindow : public QObject, public Dashboard {
    Q_OBJECT

private Q_SLOTS:
    void initTestCase() { writeFlows(); }
    void init() { makeWindow(); }
    void cleanup() { tearDown(); }

    void pagesFromViewMenuAndScreenshotCli();
    void badDatabaseIsReportedAndAppKeepsWorking();
    void screenshotSizeScaleAndPalette();
    void fitsSmallAndScaledScreens();
    void oversizedGeometryIsFittedOnRestore();
    void statusMessagesHaveRoomOnANarrowWindow();
};

void TestMainWindow::pagesFromViewMenuAndScreenshotCli()
{
    for (int i = 0; i < MainWindow::PageCount; ++i) {
        m_window->pageAction(MainWindow::Page(i))->trigger();
        QCOMPARE(int(m_window->currentPage()), i);
    }
    QTest::keySequence(m_window.get(), QKeySequence(Qt::CTRL | Qt::Key_2));
    QCOMPARE(m_window->currentPage(), MainWindow::Page::Runs);

    const QString binary = qEnvironmentVariable("FLOWDECK_BINARY");
    QVERIFY2(!binary.isEmpty(), "FLOWDECK_BINARY is not set (CTest sets it)");
    QProcess bad;
    bad.start(binary,
              {QStringLiteral("--screenshot"), QStringLiteral("/tmp/never.png"), QStringLiteral("--page"),
               QStringLiteral("nope")});
    QVERIFY(bad.waitForFinished(20000));
    QCOMPARE(bad.exitCode(), 2);
    const QList<QByteArray> lines = bad.readAllStandardError().trimmed().split('\n');
    QVERIFY(std::any_of(lines.begin(), lines.end(),
                        [](const QByteArray& l) { return l.contains("unknown page \"nope\""); }));

    QTemporaryDir dir;
    const QString png = dir.filePath(QStringLiteral("health.png"));
    QProcess shot;
    shot.start(binary,
               {QStringLiteral("--screenshot"), png, QStringLiteral("--page"), QStringLiteral("health"),
                QStringLiteral("--after-ms"), QStringLiteral("100")});
    QVERIFY(shot.waitForFinished(20000));
    QCOMPARE(shot.exitCode(), 0);
    QImage image(png);
    QVERIFY(!image.isNull());
    QVERIFY(image.width() >= 800);

    // At once, while a new database is still being created: the window closes with the open in flight,
    // and the process exits cleanly (it crashed freeing the connection pool twice).
    for (int i = 0; i < 3; ++i) {
        QProcess early;
        QProcessEnvironment env = QProcessEnvironment::systemEnvironment();
        env.insert(QStringLiteral("FLOWDECK_DB"), dir.filePath(QStringLiteral("new%1.db").arg(i)));
        early.setProcessEnvironment(env);
        early.start(binary,
                    {QStringLiteral("--screenshot"), dir.filePath(QStringLiteral("early.png")),
                     QStringLiteral("--after-ms"), QStringLiteral("0")});
        QVERIFY(early.waitForFinished(20000));
        QCOMPARE(early.exitStatus(), QProcess::NormalExit);
        QCOMPARE(early.exitCode(), 0);
    }
}

void TestMainWindow::badDatabaseIsReportedAndAppKeepsWorking()
{
    // A folder cannot be opened as a SQLite file.
    QTemporaryDir dir;
    QVERIFY(m_context->database().open(dir.path()));
    QTRY_COMPARE_WITH_TIMEOUT(int(m_context->database().state()), int(DatabaseState::Failed), 20000);
    QTRY_VERIFY(m_window->databaseErrorBox() && m_window->databaseErrorBox()->isVisible());
    QVERIFY2(m_window->databaseErrorBox()->text().contains(dir.path()),
             qPrintable(m_window->databaseErrorBox()->text()));
    QVERIFY(m_window->healthStrip()->text().contains(QStringLiteral("No database")));

    // The app goes on without persistence.
    FlowRun* run = m_context->startFlow(QJsonDocument::fromJson(R"({"name": "memory", "tasks": [
        {"id": "a", "kind": "noop"}]})")
                                            .object(),
                                        QStringLiteral("test"), {}, nullptr);
    QVERIFY(run);
    QTRY_COMPARE(toString(run->type), toString(StateType::Completed));

    // "Choose Another Database…" opens Settings, where another location can be picked.
    QAbstractButton* choose = nullptr;
    for (QAbstractButton* button : m_window->databaseErrorBox()->buttons()) {
        if (button->text().contains(QStringLiteral("Another")))
            choose = button;
    }
    QVERIFY(choose);
    QTest::mouseClick(choose, Qt::LeftButton);
    auto* dialog = openDialog<SettingsDialog>(m_window.get());
    QVERIFY(dialog);
    dialog->databaseLocationEditor()->setText(QStringLiteral("postgresql://@/"));
    QVERIFY(!dialog->apply());
    QVERIFY(dialog->databaseNote()->isVisible());
    QVERIFY(dialog->databaseNote()->text().contains(QStringLiteral("refused")));
    QVERIFY(appsettings::databaseLocation().isEmpty());
    // A refused location never shows its password, and SQLite's in-memory name is refused.
    dialog->databaseLocationEditor()->setText(QStringLiteral("postgresql://u:S3cr3t/Pa55@h/db"));
    QVERIFY(!dialog->apply());
    QVERIFY2(!dialog->databaseNote()->text().contains(QStringLiteral("S3cr3t")),
             qPrintable(dialog->databaseNote()->text()));
    dialog->databaseLocationEditor()->setText(QStringLiteral(":memory:"));
    QVERIFY(!dialog->apply());
    QVERIFY(dialog->databaseNote()->text().contains(QStringLiteral("in-memory")));
    QVERIFY(appsettings::databaseLocation().isEmpty());
    const QString good = dir.filePath(QStringLiteral("good.db"));
    dialog->databaseLocationEditor()->setText(good);
    QVERIFY(dialog->apply());
    QTRY_COMPARE_WITH_TIMEOUT(int(m_context->database().state()), int(DatabaseState::Open), 20000);
    QCOMPARE(appsettings::databaseLocation(), good);
    appsettings::setDatabaseLocation({});
    dialog->reject();
}

void TestMainWindow::screenshotSizeScaleAndPalette()
{
    const QString binary = qEnvironmentVariable("FLOWDECK_BINARY");
    QVERIFY2(!binary.isEmpty(), "FLOWDECK_BINARY is not set (CTest sets it)");
    QTemporaryDir dir;
    auto shoot = [&](const QStringList& options, QByteArray* errors = nullptr) {
        QProcess shot;
        shot.start(binary,
                   QStringList{QStringLiteral("--screenshot"), dir.filePath(QStringLiteral("shot.png")),
                               QStringLiteral("--after-ms"), QStringLiteral("50")}
                       + options);
        if (!shot.waitForFinished(30000))
            return -1;
        if (errors)
            *errors = shot.readAllStandardError();
        return shot.exitCode();
    };
    QCOMPARE(shoot({QStringLiteral("--size"), QStringLiteral("900x600"), QStringLiteral("--scale"),
                    QStringLiteral("2"), QStringLiteral("--palette"), QStringLiteral("dark")}),
             0);
    const QImage image(dir.filePath(QStringLiteral("shot.png")));
    QCOMPARE(image.size(), QSize(1800, 1200)); // logical size times the scale
    // The window's background (a corner of the status bar) is dark.
    const QColor corner = image.pixelColor(image.width() / 2, image.height() - 4);
    QVERIFY2(corner.lightnessF() < 0.35, qPrintable(corner.name()));

    QByteArray errors;
    QCOMPARE(shoot({QStringLiteral("--size"), QStringLiteral("big")}, &errors), 2);
    QVERIFY2(errors.contains("--size: expected WIDTHxHEIGHT"), errors.constData());
    QCOMPARE(shoot({QStringLiteral("--scale"), QStringLiteral("0")}, &errors), 2);
    QVERIFY2(errors.contains("--scale: expected a number from 0.5 to 4"), errors.constData());
    QCOMPARE(shoot({QStringLiteral("--palette"), QStringLiteral("pink")}, &errors), 2);
    QVERIFY2(errors.contains("unknown palette \"pink\""), errors.constData());
}

void TestMainWindow::fitsSmallAndScaledScreens()
{
    // 900x600, and 1920x1080 at QT_SCALE_FACTOR=2 (960x540 logical pixels, less a title bar and panel).
    for (int i = 0; i < MainWindow::PageCount; ++i) {
        m_window->showPage(MainWindow::Page(i));
        // The sizes the layouts cached for the page shown before are recomputed, as when shown.
        m_window->centralWidget()->layout()->invalidate();
        const QSize minimum = m_window->minimumSizeHint().expandedTo(m_window->minimumSize());
        QVERIFY2(minimum.width() <= 900 && minimum.height() <= 500,
                 qPrintable(QStringLiteral("page %1 needs at least %2x%3")
                                .arg(MainWindow::pageNames().at(i))
                                .arg(minimum.width())
                                .arg(minimum.height())));
    }
    // Help fits the screen too (offscreen: 800 pixels wide).
    const QSize screen = m_window->screen()->availableGeometry().size();
    QWidget* help = m_window->openHelp();
    QVERIFY(help->width() <= screen.width() && help->height() <= screen.height());
    help->close();

    m_window->resize(900, 500);
    QTRY_COMPARE(m_window->size(), QSize(900, 500));
    // Narrow, the page list shows its icons only and gives the room to the pages.
    QTRY_VERIFY(m_window->isPageListCompact());
    m_window->resize(1400, 800);
    QTRY_VERIFY(!m_window->isPageListCompact());
}

void TestMainWindow::oversizedGeometryIsFittedOnRestore()
{
    // A geometry saved on a larger screen (or at a smaller scale factor) than the one the app opens on.
    const QRect available = m_window->screen()->availableGeometry();
    {
        MainWindow big(m_context.get(), MainWindow::Options{false});
        big.setGeometry(available.left() + 50, available.top() + 50, available.width() * 3,
                        available.height() * 3);
        QSettings settings = appsettings::open();
        settings.setValue(appsettings::GeometryKey, big.saveGeometry());
    }
    MainWindow restored(m_context.get(), MainWindow::Options{true});
    restored.show();
    QVERIFY(QTest::qWaitForWindowExposed(&restored));
    QTRY_VERIFY2(available.contains(restored.frameGeometry()),
                 qPrintable(QStringLiteral("window at %1,%2 %3x%4 on a screen of %5x%6")
                                .arg(restored.frameGeometry().x())
                                .arg(restored.frameGeometry().y())
                                .arg(restored.frameGeometry().width())
                                .arg(restored.frameGeometry().height())
                                .arg(available.width())
                                .arg(available.height())));
    QSettings settings = appsettings::open();
    settings.remove(appsettings::GeometryKey);
    settings.remove(appsettings::StateKey);
    settings.remove(appsettings::PageKey);
}

void TestMainWindow::statusMessagesHaveRoomOnANarrowWindow()
{
    // At 900 px the health strip leaves out the blocking pool, so a status message is read in full.
    const QString message = QStringLiteral("Started tagged-fanout-x");
    HealthStrip* strip = m_window->healthStrip();
    m_window->resize(900, 600);
    m_window->statusBar()->showMessage(message);
    QTRY_VERIFY(strip->isCompact());
    QTRY_VERIFY2(strip->x() >= m_window->statusBar()->fontMetrics().horizontalAdvance(message) + 8,
                 qPrintable(QStringLiteral("the strip starts at %1").arg(strip->x())));
    QVERIFY(strip->text().contains(QStringLiteral("failed in the last hour")));
    // Wide, every figure shows.
    m_window->resize(1800, 800);
    QTRY_VERIFY(!strip->isCompact());
}

FLOWDECK_GUI_TEST_MAIN(TestMainWindow, "tst_mainwindow")

#include "tst_mainwindow.moc"
