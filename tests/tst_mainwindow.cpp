// The main window: pages from the View menu, `flowdeck --screenshot`, a bad database reported.
#include "context/appsettings.h"
#include "pages/settingsdialog.h"
#include "uitestutil.h"
#include "widgets/healthstrip.h"

#include <QAbstractButton>
#include <QImage>
#include <QJsonDocument>
#include <QLabel>
#include <QLineEdit>
#include <QProcess>
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

FLOWDECK_GUI_TEST_MAIN(TestMainWindow, "tst_mainwindow")

#include "tst_mainwindow.moc"
