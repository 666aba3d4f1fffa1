// The Schedules page: the list (next fire times, last state, Active toggle), the add and edit dialog
// that checks the expression as it is typed and shows the next fire times, delete after asking, the
// Flows page's schedules of a flow, and `--screenshot --page schedules`. Over SQLite and PostgreSQL.
#include "context/schedules.h"
#include "models/flowlistmodel.h"
#include "models/schedulemodel.h"
#include "pages/flowspage.h"
#include "pages/schedulespage.h"
#include "run/clock.h"
#include "store/connectionpool.h"
#include "store/databaseurl.h"
#include "store/schedulequeries.h"
#include "store/schema.h"
#include "testutil.h"
#include "uitestutil.h"
#include "widgets/scheduledialog.h"

#include <QAction>
#include <QComboBox>
#include <QImage>
#include <QJsonDocument>
#include <QLabel>
#include <QLineEdit>
#include <QMessageBox>
#include <QPointer>
#include <QProcess>
#include <QPushButton>
#include <QTableView>
#include <QTemporaryDir>
#include <QTest>
#include <QTextBrowser>

using namespace flowdeck;
using namespace flowdeck::uitest;
using namespace flowdeck::test;

namespace {

constexpr int WaitMs = 20000;

const char kQuickDoc[] = R"({"name": "quick", "description": "A short flow.",
    "tasks": [{"id": "nap", "kind": "sleep", "seconds": 0.1}, {"id": "done", "kind": "noop", "depends_on": ["nap"]}]})";

std::unique_ptr<ConnectionPool> poolFor(const QString& url)
{
    QString error;
    const auto parsed = DatabaseUrl::parse(url, &error);
    if (!parsed)
        qFatal("%s", qPrintable(error));
    return std::make_unique<ConnectionPool>(*parsed);
}

schedules::ScheduleDraft draftOf(const QString& name, const QString& cron, const QString& zone = {})
{
    schedules::ScheduleDraft d;
    d.name = name;
    d.flowName = QStringLiteral("quick");
    d.document = QJsonDocument::fromJson(kQuickDoc).object();
    d.cron = cron;
    d.timezone = zone;
    return d;
}

} // namespace

class TestSchedulesPage : public QObject, public Dashboard {
    Q_OBJECT

private Q_SLOTS:
    void initTestCase() { writeFlows(); }
    void init() { makeWindow(); }
    void cleanup() { tearDown(); }

    //! A schedule stored by another process (the CLI) is listed with its zone, next fire times and
    //! Active box; the Flows page lists it under its flow.
    void listsSchedulesOfTheStore_data() { addBackendRows(); }
    void listsSchedulesOfTheStore()
    {
        QFETCH(QString, backend);
        FLOWDECK_FRESH_DATABASE(url, backend);
        QVERIFY(openDatabase(url));
        auto pool = poolFor(url);
        runOnPool(*pool, [](QSqlDatabase& db) {
            schedules::addSchedule(db,
                                   draftOf(QStringLiteral("nightly"), QStringLiteral("0 2 * * *"),
                                           QStringLiteral("Europe/Berlin")),
                                   wallUs());
            return true;
        });
        m_window->showPage(MainWindow::Page::Schedules);
        SchedulesPage* page = m_window->schedulesPage();
        ScheduleModel* model = page->model();
        QTRY_COMPARE_WITH_TIMEOUT(model->rowCount(), 1, WaitMs);
        QVERIFY(!page->emptyState()->isVisible());
        auto cell = [model](int column) { return model->index(0, column).data().toString(); };
        QCOMPARE(cell(ScheduleModel::NameColumn), QStringLiteral("nightly"));
        QCOMPARE(cell(ScheduleModel::FlowColumn), QStringLiteral("quick"));
        QCOMPARE(cell(ScheduleModel::ExpressionColumn), QStringLiteral("0 2 * * *"));
        QCOMPARE(cell(ScheduleModel::ZoneColumn), QStringLiteral("Europe/Berlin"));
        QCOMPARE(
            model->index(0, ScheduleModel::ActiveColumn).data(Qt::CheckStateRole).value<Qt::CheckState>(),
            Qt::Checked);
        QVERIFY2(cell(ScheduleModel::NextColumn).endsWith(QStringLiteral(":00")),
                 qPrintable(cell(ScheduleModel::NextColumn)));
        const QString next = model->index(0, ScheduleModel::NextColumn).data(Qt::ToolTipRole).toString();
        QVERIFY2(next.contains(QStringLiteral("T02:00:00+01:00"))
                     || next.contains(QStringLiteral("T02:00:00+02:00")),
                 qPrintable(next));
        QCOMPARE(next.count(QStringLiteral("T02:00:00+")), Schedules::NextCount);
        QCOMPARE(cell(ScheduleModel::LastRunColumn), QStringLiteral("never run"));

        m_window->showPage(MainWindow::Page::Flows);
        QVERIFY(m_window->flowsPage()->selectSource(m_flows + QStringLiteral("/quick.json")));
        QTRY_VERIFY_WITH_TIMEOUT(
            m_window->flowsPage()->details()->toPlainText().contains(QStringLiteral("nightly: 0 2 * * *")),
            WaitMs);

        // The runs planned ahead are not the flow's last run: it has never run.
        const auto& history = m_context->history().runs();
        QTRY_VERIFY_WITH_TIMEOUT(std::any_of(history.begin(), history.end(),
                                             [](const FlowRun* r) {
                                                 return r->def.name == QStringLiteral("quick")
                                                     && r->type == StateType::Scheduled;
                                             }),
                                 WaitMs);
        const int row = rowOf(QStringLiteral("quick.json"));
        QVERIFY(row >= 0);
        QCOMPARE(m_window->flowsPage()->model()->index(row, FlowListModel::LastRunColumn).data().toString(),
                 QString());
    }

    //! Add by keyboard: Ctrl+N opens the dialog, a bad expression is refused as it is typed with the
    //! field and value named, a good one shows the next 5 fire times in its zone; Save stores it.
    void addDialogChecksAsTyped_data() { addBackendRows(); }
    void addDialogChecksAsTyped()
    {
        QFETCH(QString, backend);
        FLOWDECK_FRESH_DATABASE(url, backend);
        QVERIFY(openDatabase(url));
        SchedulesPage* page = m_window->schedulesPage();
        QTest::keySequence(m_window.get(), QKeySequence(Qt::CTRL | Qt::Key_7));
        QCOMPARE(m_window->currentPage(), MainWindow::Page::Schedules);
        QTRY_VERIFY_WITH_TIMEOUT(page->addScheduleAction()->isEnabled(), WaitMs);
        QTRY_VERIFY(page->emptyState()->isVisible());
        QTest::keySequence(page->view(), QKeySequence::New);
        QPointer<ScheduleDialog> dialog = openDialog<ScheduleDialog>(page);
        QVERIFY(dialog);
        dialog->flowBox()->setCurrentIndex(dialog->flowBox()->findText(QStringLiteral("quick")));
        QTest::keyClicks(dialog->nameEdit(), QStringLiteral("every-quarter"));
        dialog->expressionEdit()->clear();
        QTest::keyClicks(dialog->expressionEdit(), QStringLiteral("61 * * * *"));
        QVERIFY(!dialog->saveButton()->isEnabled());
        const QString error = dialog->errorLabel()->text();
        QVERIFY2(error.contains(QStringLiteral("minute")) && error.contains(QStringLiteral("61")),
                 qPrintable(error));
        QCOMPARE(dialog->fireTimesLabel()->text(), QStringLiteral("—"));

        dialog->expressionEdit()->clear();
        QTest::keyClicks(dialog->expressionEdit(), QStringLiteral("*/15 * * * *"));
        dialog->zoneBox()->setCurrentText(QStringLiteral("Asia/Kolkata"));
        QVERIFY2(dialog->errorLabel()->text().isEmpty(), qPrintable(dialog->errorLabel()->text()));
        QVERIFY(dialog->saveButton()->isEnabled());
        const QStringList times = dialog->fireTimesLabel()->text().split(QLatin1Char('\n'));
        QCOMPARE(times.size(), ScheduleDialog::ShownFireTimes);
        for (const QString& t : times)
            QVERIFY2(t.endsWith(QStringLiteral("+05:30"))
                         && (t.contains(QStringLiteral(":00:00+")) || t.contains(QStringLiteral(":15:00+"))
                             || t.contains(QStringLiteral(":30:00+"))
                             || t.contains(QStringLiteral(":45:00+"))),
                     qPrintable(t));

        dialog->zoneBox()->setCurrentText(QStringLiteral("Mars/Olympus"));
        QVERIFY(!dialog->saveButton()->isEnabled());
        QVERIFY2(dialog->errorLabel()->text().contains(QStringLiteral("timezone")),
                 qPrintable(dialog->errorLabel()->text()));
        dialog->zoneBox()->setCurrentText(QStringLiteral("Asia/Kolkata"));

        QTest::mouseClick(dialog->saveButton(), Qt::LeftButton);
        QTRY_VERIFY_WITH_TIMEOUT(!dialog, WaitMs); // closed, and gone
        QTRY_COMPARE_WITH_TIMEOUT(page->model()->rowCount(), 1, WaitMs);
        auto pool = poolFor(url);
        const auto stored = runOnPool(*pool, [](QSqlDatabase& db) {
            return schedules::findSchedule(db, QStringLiteral("every-quarter"), wallUs());
        });
        QVERIFY(stored);
        QCOMPARE(stored->draft.cron, QStringLiteral("*/15 * * * *"));
        QCOMPARE(stored->draft.timezone, QStringLiteral("Asia/Kolkata"));
        QCOMPARE(stored->draft.flowName, QStringLiteral("quick"));
        QVERIFY(!stored->draft.document.isEmpty());

        // A name in use is refused by the store; the dialog says so and stays open.
        QVERIFY(activateWindow());
        QTest::keySequence(page->view(), QKeySequence::New);
        auto* again = openDialog<ScheduleDialog>(page);
        QVERIFY(again && again != dialog);
        again->flowBox()->setCurrentIndex(again->flowBox()->findText(QStringLiteral("quick")));
        QTest::keyClicks(again->nameEdit(), QStringLiteral("every-quarter"));
        QTest::mouseClick(again->saveButton(), Qt::LeftButton);
        QTRY_VERIFY_WITH_TIMEOUT(!again->errorLabel()->text().isEmpty(), WaitMs);
        QVERIFY(again->isVisible());
        again->reject();
    }

    //! Space pauses and resumes the selected schedule; Enter edits it (a new version); Delete asks
    //! first, and only the confirmation deletes.
    void toggleEditAndDelete_data() { addBackendRows(); }
    void toggleEditAndDelete()
    {
        QFETCH(QString, backend);
        FLOWDECK_FRESH_DATABASE(url, backend);
        QVERIFY(openDatabase(url));
        auto pool = poolFor(url);
        runOnPool(*pool, [](QSqlDatabase& db) {
            schedules::addSchedule(db, draftOf(QStringLiteral("hourly"), QStringLiteral("@hourly")),
                                   wallUs());
            return true;
        });
        auto storedRow = [&pool] {
            return runOnPool(*pool, [](QSqlDatabase& db) {
                return schedules::findSchedule(db, QStringLiteral("hourly"), wallUs());
            });
        };
        m_window->pageAction(MainWindow::Page::Schedules)->trigger();
        SchedulesPage* page = m_window->schedulesPage();
        QTRY_COMPARE_WITH_TIMEOUT(page->model()->rowCount(), 1, WaitMs);
        QVERIFY(page->view()->hasFocus());
        QTest::keyClick(page->view(), Qt::Key_Down);
        QCOMPARE(page->view()->currentIndex().row(), 0);

        QTest::keyClick(page->view(), Qt::Key_Space);
        QTRY_VERIFY_WITH_TIMEOUT(!storedRow()->active(), WaitMs);
        QTRY_COMPARE_WITH_TIMEOUT(page->pauseResumeAction()->text(), QStringLiteral("&Resume"), WaitMs);
        QTest::keyClick(page->view(), Qt::Key_Space);
        QTRY_VERIFY_WITH_TIMEOUT(storedRow()->active(), WaitMs);

        QTest::keyClick(page->view(), Qt::Key_Return);
        QPointer<ScheduleDialog> dialog = openDialog<ScheduleDialog>(page);
        QVERIFY(dialog);
        QCOMPARE(dialog->nameEdit()->text(), QStringLiteral("hourly"));
        QCOMPARE(dialog->expressionEdit()->text(), QStringLiteral("@hourly"));
        dialog->expressionEdit()->setText(QStringLiteral("30 * * * *"));
        QVERIFY(dialog->saveButton()->isEnabled());
        QTest::mouseClick(dialog->saveButton(), Qt::LeftButton);
        QTRY_VERIFY_WITH_TIMEOUT(!dialog, WaitMs); // closed, and gone
        const auto edited = storedRow();
        QVERIFY(edited);
        QCOMPARE(edited->draft.cron, QStringLiteral("30 * * * *"));
        QCOMPARE(edited->version, 2);
        QTRY_COMPARE_WITH_TIMEOUT(page->model()->index(0, ScheduleModel::ExpressionColumn).data().toString(),
                                  QStringLiteral("30 * * * *"), WaitMs);

        // Delete: Cancel keeps it, the confirmation deletes it.
        QVERIFY(activateWindow());
        page->view()->setFocus();
        QTest::keyClick(page->view(), Qt::Key_Delete);
        QPointer<QMessageBox> box = openDialog<QMessageBox>(page);
        QVERIFY(box);
        QVERIFY(box->text().contains(QStringLiteral("hourly")));
        box->button(QMessageBox::Cancel)->click();
        QTRY_VERIFY(!box);
        QVERIFY(storedRow());
        QVERIFY(activateWindow());
        QTest::keyClick(page->view(), Qt::Key_Delete);
        box = openDialog<QMessageBox>(page);
        QVERIFY(box);
        box->findChild<QPushButton*>(QStringLiteral("confirmButton"))->click();
        QTRY_COMPARE_WITH_TIMEOUT(page->model()->rowCount(), 0, WaitMs);
        QVERIFY(!storedRow());
        QVERIFY(page->emptyState()->isVisible());
    }

    //! `flowdeck --screenshot PATH --page schedules` opens the page and saves it.
    void screenshotOfThePage()
    {
        const QString binary = qEnvironmentVariable("FLOWDECK_BINARY");
        QVERIFY2(!binary.isEmpty(), "FLOWDECK_BINARY is not set (CTest sets it)");
        QTemporaryDir dir;
        const QString db = dir.filePath(QStringLiteral("shot.db"));
        {
            auto pool = poolFor(db);
            runOnPool(*pool, [](QSqlDatabase& db) {
                schema::migrate(db);
                schedules::addSchedule(db, draftOf(QStringLiteral("nightly"), QStringLiteral("0 2 * * *")),
                                       wallUs());
                return true;
            });
        }
        const QString png = dir.filePath(QStringLiteral("schedules.png"));
        QProcess shot;
        QProcessEnvironment env = QProcessEnvironment::systemEnvironment();
        env.insert(QStringLiteral("FLOWDECK_DB"), db);
        shot.setProcessEnvironment(env);
        shot.start(binary,
                   {QStringLiteral("--screenshot"), png, QStringLiteral("--page"),
                    QStringLiteral("schedules"), QStringLiteral("--after-ms"), QStringLiteral("1500")});
        QVERIFY(shot.waitForFinished(30000));
        QVERIFY2(shot.exitCode() == 0, shot.readAllStandardError().constData());
        QVERIFY(!QImage(png).isNull());
    }

private:
    //! The window active again once a dialog closed, as it is for a user (shortcuts act in it).
    bool activateWindow()
    {
        m_window->activateWindow();
        QApplication::setActiveWindow(m_window.get());
        return QTest::qWaitForWindowActive(m_window.get());
    }
};

FLOWDECK_GUI_TEST_MAIN(TestSchedulesPage, "tst_schedulespage")

#include "tst_schedulespage.moc"
