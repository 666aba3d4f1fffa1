// The Start dialog: parameters it refuses, and queueing a run for a real worker process.
#include "models/flowrunmodel.h"
#include "pages/flowspage.h"
#include "pages/runspage.h"
#include "store/connectionpool.h"
#include "store/store.h"
#include "testutil.h"
#include "uitestutil.h"
#include "widgets/runactions.h"
#include "widgets/startflowdialog.h"

#include <QAction>
#include <QCheckBox>
#include <QDoubleSpinBox>
#include <QFile>
#include <QGroupBox>
#include <QJsonArray>
#include <QJsonDocument>
#include <QLabel>
#include <QLineEdit>
#include <QPlainTextEdit>
#include <QProcess>
#include <QPushButton>
#include <QRadioButton>
#include <QScopeGuard>
#include <QSpinBox>
#include <QSqlQuery>
#include <QTableView>
#include <QTemporaryDir>
#include <QTest>
#include <QToolButton>

using namespace flowdeck;
using namespace flowdeck::uitest;

class TestStartFlowDialog : public QObject, public Dashboard {
    Q_OBJECT

private Q_SLOTS:
    void initTestCase() { writeFlows(); }
    void init() { makeWindow(); }
    void cleanup() { tearDown(); }

    void parameterDialogRefusesInvalidValues();
    void queueFromStartDialogRunsOnWorker();
    void runOnChoiceIsNotSquashed();
    void descriptionReadsAsAParagraph();
    void runAgainDialogIsFilledWithTheRunsValues();
};

void TestStartFlowDialog::parameterDialogRefusesInvalidValues()
{
    FlowsPage* page = m_window->flowsPage();
    clickRow(page->view(), rowOf(QStringLiteral("params.json")));
    page->startAction()->trigger(); // Ctrl+R / Run → Start
    auto* dialog = openDialog<StartFlowDialog>(m_window.get());
    QVERIFY(dialog);
    // An editor per parameter by the default's JSON type, filled with the defaults.
    auto* n = qobject_cast<QSpinBox*>(dialog->editor(QStringLiteral("n")));
    QVERIFY(n);
    QCOMPARE(n->value(), 3);
    QVERIFY(qobject_cast<QDoubleSpinBox*>(dialog->editor(QStringLiteral("delay"))));
    QVERIFY(qobject_cast<QLineEdit*>(dialog->editor(QStringLiteral("label"))));
    QVERIFY(qobject_cast<QCheckBox*>(dialog->editor(QStringLiteral("loud"))));
    auto* extra = qobject_cast<QPlainTextEdit*>(dialog->editor(QStringLiteral("extra")));
    QVERIFY(extra);
    auto* startButton = dialog->findChild<QPushButton*>(QStringLiteral("startButton"));
    auto* errors = dialog->findChild<QLabel*>(QStringLiteral("errorLabel"));
    QVERIFY(startButton->isEnabled());
    QVERIFY(!errors->isVisible());

    // A map count of -2: the parser's error is shown, and Start refuses.
    n->setFocus();
    n->selectAll();
    QTest::keyClicks(n, QStringLiteral("-2"));
    QCOMPARE(n->value(), -2);
    QTRY_VERIFY(errors->isVisible());
    QVERIFY2(errors->text().contains(QStringLiteral("map")), qPrintable(errors->text()));
    QVERIFY(!startButton->isEnabled());
    QTest::mouseClick(startButton, Qt::LeftButton);
    dialog->accept(); // even when forced
    QVERIFY(dialog->isVisible());
    QVERIFY(m_context->flowRuns().empty());

    // Not JSON in a JSON editor.
    n->setValue(2);
    QTRY_VERIFY(startButton->isEnabled());
    extra->setPlainText(QStringLiteral("[1, 2"));
    QTRY_VERIFY(!startButton->isEnabled());
    QVERIFY(errors->text().contains(QStringLiteral("extra")));
    extra->setPlainText(QStringLiteral("[4]"));
    QTRY_VERIFY(startButton->isEnabled());

    QTest::mouseClick(startButton, Qt::LeftButton);
    QTRY_COMPARE(m_context->flowRuns().size(), size_t(1));
    FlowRun* run = m_context->newestFlowRun();
    QCOMPARE(run->totalTaskRuns, qint64(2));
    QCOMPARE(run->def.parameters.value(QStringLiteral("extra")).toArray().size(), 1);
}

void TestStartFlowDialog::queueFromStartDialogRunsOnWorker()
{
    const QString binary = qEnvironmentVariable("FLOWDECK_BINARY");
    QVERIFY2(!binary.isEmpty(), "FLOWDECK_BINARY is not set (CTest sets it)");
    QTemporaryDir dir;
    const QString db = dir.filePath(QStringLiteral("queue.db"));
    QVERIFY(openDatabase(db));

    // A real worker on the same SQLite file.
    QProcess worker;
    worker.setStandardOutputFile(QProcess::nullDevice());
    worker.setStandardErrorFile(dir.filePath(QStringLiteral("worker.log")));
    worker.start(binary,
                 {QStringLiteral("worker"), QStringLiteral("--db"), db, QStringLiteral("--name"),
                  QStringLiteral("test-worker"), QStringLiteral("--poll-seconds"), QStringLiteral("0.2")});
    QVERIFY(worker.waitForStarted(10000));
    auto stopWorker = qScopeGuard([&worker] {
        worker.terminate(); // SIGTERM: graceful shutdown
        if (!worker.waitForFinished(20000))
            worker.kill();
    });

    // A flow started in this app shows "this app".
    FlowRun* local = m_context->startFlow(QJsonDocument::fromJson(R"({"name": "here", "tasks": [
        {"id": "a", "kind": "noop"}]})")
                                              .object(),
                                          QStringLiteral("test"), {}, nullptr);
    QVERIFY(local);
    FlowRunModel* runs = m_window->runsPage()->model();
    QTRY_COMPARE(runs->rowCount(), 1);
    QCOMPARE(runs->index(0, FlowRunModel::WorkerColumn).data().toString(), QStringLiteral("this app"));

    // Once the worker heartbeats, Start offers it; queue "quick" for it.
    m_window->showPage(MainWindow::Page::Flows);
    clickRow(m_window->flowsPage()->view(), rowOf(QStringLiteral("quick.json")));
    QToolButton* start = buttonFor(m_window->flowsPage(), m_window->flowsPage()->startAction());
    QVERIFY(start);
    QTest::mouseClick(start, Qt::LeftButton);
    auto* dialog = openDialog<StartFlowDialog>(m_window.get());
    QVERIFY(dialog);
    QTRY_VERIFY2_WITH_TIMEOUT(
        !dialog->targetBox()->isHidden(),
        qPrintable(QStringLiteral("no worker online; worker log: ") + QString::fromUtf8([&] {
                       QFile f(dir.filePath(QStringLiteral("worker.log")));
                       return f.open(QIODevice::ReadOnly) ? f.readAll() : QByteArray();
                   }())),
        30000);
    QTest::mouseClick(dialog->findChild<QRadioButton*>(QStringLiteral("queueForWorker")), Qt::LeftButton);
    QTest::mouseClick(dialog->findChild<QPushButton*>(QStringLiteral("startButton")), Qt::LeftButton);

    // It shows in the Runs table, the worker claims and runs it: COMPLETED, run by "test-worker".
    QTRY_COMPARE_WITH_TIMEOUT(runs->rowCount(), 2, 5000);
    QCOMPARE(runs->index(0, FlowRunModel::FlowColumn).data().toString(), QStringLiteral("quick"));
    QTRY_COMPARE_WITH_TIMEOUT(runs->index(0, FlowRunModel::StateColumn).data().toString(),
                              QStringLiteral("Completed"), 60000);
    QTRY_COMPARE_WITH_TIMEOUT(runs->index(0, FlowRunModel::WorkerColumn).data().toString(),
                              QStringLiteral("test-worker"), 10000);
    QCOMPARE(runs->index(0, FlowRunModel::ProgressColumn).data().toString(), QStringLiteral("2 / 2"));
    QCOMPARE(runs->index(1, FlowRunModel::WorkerColumn).data().toString(), QStringLiteral("this app"));
    QCOMPARE(storedRun(m_context->database().store()->pool(), QStringLiteral("quick")).state,
             QStringLiteral("COMPLETED"));

    // Run Again offers the worker too: the run of this app, queued anew, runs on the worker.
    m_window->showPage(MainWindow::Page::Runs);
    m_window->runsPage()->select(local);
    m_window->runsPage()->runActions()->runAgainAction()->trigger();
    auto* again = openDialog<StartFlowDialog>(m_window->runsPage());
    QVERIFY(again);
    QTRY_VERIFY_WITH_TIMEOUT(!again->targetBox()->isHidden(), 10000);
    QTest::mouseClick(again->findChild<QRadioButton*>(QStringLiteral("queueForWorker")), Qt::LeftButton);
    QTest::mouseClick(again->findChild<QPushButton*>(QStringLiteral("startButton")), Qt::LeftButton);
    QTRY_COMPARE_WITH_TIMEOUT(runs->rowCount(), 3, 5000);
    QCOMPARE(runs->index(0, FlowRunModel::FlowColumn).data().toString(), QStringLiteral("here"));
    QTRY_COMPARE_WITH_TIMEOUT(runs->index(0, FlowRunModel::WorkerColumn).data().toString(),
                              QStringLiteral("test-worker"), 60000);
    // Queued runs say who queued them: this dashboard, and for Run Again which run it repeats.
    const auto startedBy = [this](const QString& flow) {
        return flowdeck::test::runOnPool(m_context->database().store()->pool(), [flow](QSqlDatabase& db) {
            QSqlQuery q(db);
            q.prepare(QStringLiteral("SELECT started_by FROM flow_runs WHERE flow_name = ? "
                                     "ORDER BY created_at DESC LIMIT 1"));
            q.addBindValue(flow);
            return q.exec() && q.next() ? q.value(0).toString() : QString();
        });
    };
    QCOMPARE(startedBy(QStringLiteral("quick")), local->startedBy);
    QCOMPARE(startedBy(QStringLiteral("here")),
             local->startedBy + QStringLiteral(", again as ") + local->id.toString());

    stopWorker.dismiss();
    worker.terminate();
    QVERIFY(worker.waitForFinished(30000));
    QCOMPARE(worker.exitStatus(), QProcess::NormalExit);
}

void TestStartFlowDialog::descriptionReadsAsAParagraph()
{
    // A long description and one short parameter: the dialog does not shrink to a narrow column.
    m_window->show();
    writeFile(m_flows + QStringLiteral("/wordy.json"), R"({"name": "wordy",
        "description": "A tagged fan-out for tag concurrency limits: 50 task runs tagged shared each sleep 0.5-1.5 s, then collect runs once all have completed. Without a limit they all sleep at once (about 1.5 s). Create a limit first with a command, then at most 10 hold a slot at a time.",
        "parameters": {"n": 5},
        "tasks": [{"id": "a", "kind": "noop", "map": "{{n}}"}]})");
    m_window->flowsPage()->reloadAction()->trigger();
    QTRY_VERIFY(rowOf(QStringLiteral("wordy.json")) >= 0);
    clickRow(m_window->flowsPage()->view(), rowOf(QStringLiteral("wordy.json")));
    StartFlowDialog* dialog = m_window->flowsPage()->startSelected();
    QVERIFY(dialog);
    QVERIFY(QTest::qWaitForWindowExposed(dialog));
    auto* description = dialog->findChild<QLabel*>(QStringLiteral("flowDescription"));
    QVERIFY(description);
    const int lines
        = description->heightForWidth(description->width()) / description->fontMetrics().lineSpacing();
    QVERIFY2(lines <= 6,
             qPrintable(QStringLiteral("%1 lines at %2 px").arg(lines).arg(description->width())));
    dialog->reject();
}

void TestStartFlowDialog::runOnChoiceIsNotSquashed()
{
    // The choice appears after the dialog is shown, when the worker list arrives: the dialog must grow.
    m_window->show();
    m_window->showPage(MainWindow::Page::Flows);
    // A long description (a word-wrapped label) and parameters, as the etl-demo example has.
    writeFile(m_flows + QStringLiteral("/described.json"), R"({"name": "described",
        "description": "An ETL-style DAG: prepare (shell), extract (an HTTP GET of the url parameter), transform (mapped blocking work on the blocking pool, tagged cpu), load (shell, tagged database) and report (noop). The extract step needs an HTTP server at url.",
        "parameters": {"shards": 8, "transform_s": 0.5, "url": "http://127.0.0.1:8080/"},
        "tasks": [{"id": "a", "kind": "noop", "map": "{{shards}}"}]})");
    m_window->flowsPage()->reloadAction()->trigger();
    QTRY_VERIFY(rowOf(QStringLiteral("described.json")) >= 0);
    clickRow(m_window->flowsPage()->view(), rowOf(QStringLiteral("described.json")));
    StartFlowDialog* dialog = m_window->flowsPage()->startSelected();
    QVERIFY(dialog);
    QVERIFY(QTest::qWaitForWindowExposed(dialog));
    dialog->setWorkersOnline({QStringLiteral("worker-one"), QStringLiteral("worker-two")});
    QVERIFY(!dialog->targetBox()->isHidden());
    const QList<QWidget*> widgets
        = {dialog->targetBox(), dialog->findChild<QRadioButton*>(QStringLiteral("runInApp")),
           dialog->findChild<QRadioButton*>(QStringLiteral("queueForWorker"))};
    for (QLabel* label : dialog->findChildren<QLabel*>()) {
        if (label->isVisible() && label->wordWrap())
            QTRY_VERIFY2(label->height() >= label->heightForWidth(label->width()),
                         qPrintable(QStringLiteral("label \"%1\" is %2 px high, its text needs %3")
                                        .arg(label->text().left(30))
                                        .arg(label->height())
                                        .arg(label->heightForWidth(label->width()))));
    }
    for (QWidget* w : widgets) {
        QVERIFY(w);
        QTRY_VERIFY2(w->height() >= w->sizeHint().height() && w->width() >= w->minimumSizeHint().width(),
                     qPrintable(QStringLiteral("%1 is %2x%3, wants %4x%5")
                                    .arg(w->objectName())
                                    .arg(w->width())
                                    .arg(w->height())
                                    .arg(w->sizeHint().width())
                                    .arg(w->sizeHint().height())));
    }
    dialog->reject();
}

// Run Again: the dialog opens on the stored document with the values the run had (not the document's
// defaults), editors of the defaults' kinds, and the same seed when the user ticks it (a new one else,
// as `flowdeck runs rerun` draws).
void TestStartFlowDialog::runAgainDialogIsFilledWithTheRunsValues()
{
    const QJsonObject document = QJsonDocument::fromJson(R"({"name": "params", "description": "Sleeps a bit.",
        "parameters": {"n": 3, "delay": 0.05, "label": "x", "loud": false, "extra": [1, 2]},
        "tasks": [{"id": "work", "kind": "sleep", "seconds": "{{delay}}", "map": "{{n}}"}]})")
                                     .object();
    RerunSource source;
    source.flowName = QStringLiteral("params");
    source.document = document;
    // delay 1 is a whole number, yet the document's default is a decimal: still a decimal editor.
    source.parameters = QJsonObject{{QStringLiteral("n"), 5},
                                    {QStringLiteral("delay"), 1},
                                    {QStringLiteral("label"), QStringLiteral("stored")},
                                    {QStringLiteral("loud"), true},
                                    {QStringLiteral("extra"), QJsonArray{7}}};
    source.seed = 4242;
    StartFlowDialog dialog(source, QStringLiteral("0a1b2c3d"), QStringLiteral("flow run 0a1b2c3d"),
                           m_context->parser(), m_window.get());
    dialog.show();
    QVERIFY(dialog.windowTitle().contains(QStringLiteral("Again")));
    QVERIFY(
        dialog.findChild<QLabel*>(QStringLiteral("rerunOf"))->text().contains(QStringLiteral("0a1b2c3d")));
    auto* n = qobject_cast<QSpinBox*>(dialog.editor(QStringLiteral("n")));
    QVERIFY(n);
    QCOMPARE(n->value(), 5);
    auto* delay = qobject_cast<QDoubleSpinBox*>(dialog.editor(QStringLiteral("delay")));
    QVERIFY(delay);
    QCOMPARE(delay->value(), 1.0);
    QCOMPARE(qobject_cast<QLineEdit*>(dialog.editor(QStringLiteral("label")))->text(),
             QStringLiteral("stored"));
    QVERIFY(qobject_cast<QCheckBox*>(dialog.editor(QStringLiteral("loud")))->isChecked());
    QCOMPARE(qobject_cast<QPlainTextEdit*>(dialog.editor(QStringLiteral("extra")))->toPlainText(),
             QStringLiteral("[7]"));

    QVERIFY(dialog.flow());
    QCOMPARE(dialog.flow()->parameters.value(QStringLiteral("n")).toInt(), 5);
    QCOMPARE(dialog.flow()->tasks.first().map.value_or(0), 5);
    QCOMPARE(dialog.flow()->source, QStringLiteral("flow run 0a1b2c3d"));
    QVERIFY(dialog.sameSeedBox() && !dialog.sameSeedBox()->isChecked());
    QVERIFY(!dialog.flow()->seed);
    dialog.sameSeedBox()->setChecked(true);
    QCOMPARE(dialog.flow()->seed.value_or(0), quint64(4242));

    // Changed before it starts: a decimal delay, a new count, and a seed of its own.
    delay->setValue(0.25);
    n->setValue(2);
    dialog.sameSeedBox()->setChecked(false);
    QVERIFY(dialog.flow());
    QCOMPARE(dialog.flow()->parameters.value(QStringLiteral("delay")).toDouble(), 0.25);
    QCOMPARE(dialog.flow()->tasks.first().map.value_or(0), 2);
    QVERIFY(!dialog.flow()->seed);

    // A source without a seed offers none.
    source.seed.reset();
    StartFlowDialog unseeded(source, QStringLiteral("0a1b2c3d"), QStringLiteral("x"), m_context->parser());
    QVERIFY(!unseeded.sameSeedBox());
}

FLOWDECK_GUI_TEST_MAIN(TestStartFlowDialog, "tst_startflowdialog")

#include "tst_startflowdialog.moc"
