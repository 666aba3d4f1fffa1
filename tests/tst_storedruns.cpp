// Stored rows become engine structs: a flow run from its row and task-run counts, a refresh from a
// newer row, its task runs and logs built from their rows; and the state-name and log-level parsers.
#include "run/flowrun.h"
#include "run/observer.h"
#include "run/states.h"
#include "store/runqueries.h"
#include "store/storedruns.h"

#include <QTest>

using namespace flowdeck;

class TestStoredRuns : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void parsesStateNamesAndLogLevels();
    void flowRunFromRowAndCounts();
    void refreshAppliesOnlyWhatMoved();
    void detailsOrderTasksAndMapIndexes();
};

void TestStoredRuns::parsesStateNamesAndLogLevels()
{
    for (int i = 0; i < StateNameCount; ++i)
        QCOMPARE(toString(parseStateName(toString(StateName(i)), StateType::Pending)),
                 toString(StateName(i)));
    // Unknown (or empty) names fall back to the type's default name.
    QCOMPARE(toString(parseStateName(QStringLiteral("Nonsense"), StateType::Failed)),
             toString(StateName::Failed));
    QCOMPARE(toString(parseStateName(QString(), StateType::Running)), toString(StateName::Running));

    LogLevel level = LogLevel::Info;
    QVERIFY(parseLogLevel(QStringLiteral("WARNING"), &level));
    QCOMPARE(toString(level), toString(LogLevel::Warning));
    QVERIFY(parseLogLevel(QStringLiteral("debug"), &level));
    QCOMPARE(toString(level), toString(LogLevel::Debug));
    QVERIFY(!parseLogLevel(QStringLiteral("loud"), &level));
    QCOMPARE(toString(level), toString(LogLevel::Debug)); // unchanged
}

void TestStoredRuns::flowRunFromRowAndCounts()
{
    FlowRunRow row;
    row.id = RunId::generate().toString();
    row.flow = QStringLiteral("nightly");
    row.state = QStringLiteral("FAILED");
    row.name = QStringLiteral("TimedOut");
    row.message = QStringLiteral("too slow");
    row.createdUs = 1000;
    row.startedUs = 2000;
    row.endedUs = 3000;
    row.totalTaskRuns = 10;
    row.cancelRequested = true;
    const QMap<QString, qint64> counts{{QStringLiteral("COMPLETED"), 3},
                                       {QStringLiteral("FAILED"), 1},
                                       {QStringLiteral("RUNNING"), 2},
                                       {QStringLiteral("NOT_A_STATE"), 7}};
    const std::unique_ptr<FlowRun> run = storedFlowRun(row, counts, QStringLiteral("runs.db"));
    QCOMPARE(run->id.toString(), row.id);
    QCOMPARE(run->def.name, QStringLiteral("nightly"));
    QCOMPARE(run->def.source, QStringLiteral("runs.db"));
    QCOMPARE(toString(run->type), toString(StateType::Failed));
    QCOMPARE(toString(run->name), toString(StateName::TimedOut));
    QCOMPARE(run->message, QStringLiteral("too slow"));
    QCOMPARE(run->endedUs, 3000);
    QVERIFY(run->cancelRequested);
    QVERIFY(!run->materializing);
    QCOMPARE(run->count(StateType::Completed), 3);
    QCOMPARE(run->count(StateType::Running), 2);
    QCOMPARE(run->materializedTaskRuns, 6); // the unknown state is not counted
    QCOMPARE(run->finishedTaskRuns, 4);
    QCOMPARE(run->totalTaskRuns, 10);
    QVERIFY(run->nodes.empty());
}

void TestStoredRuns::refreshAppliesOnlyWhatMoved()
{
    FlowRunRow row;
    row.id = RunId::generate().toString();
    row.state = QStringLiteral("RUNNING");
    row.name = QStringLiteral("Running");
    const std::unique_ptr<FlowRun> run
        = storedFlowRun(row, {{QStringLiteral("RUNNING"), 2}}, QStringLiteral("runs.db"));
    QVERIFY(!refreshStoredFlowRun(*run, row, {{QStringLiteral("RUNNING"), 2}}, false));
    // The counts move while the state stays: a worker's task runs go on.
    QVERIFY(refreshStoredFlowRun(*run, row,
                                 {{QStringLiteral("RUNNING"), 1}, {QStringLiteral("COMPLETED"), 1}}, false));
    QCOMPARE(run->count(StateType::Running), 1);
    QCOMPARE(run->count(StateType::Completed), 1);
    QCOMPARE(run->finishedTaskRuns, 1);

    row.state = QStringLiteral("COMPLETED");
    row.name = QStringLiteral("Completed");
    row.endedUs = 5000;
    QVERIFY(refreshStoredFlowRun(*run, row, {{QStringLiteral("COMPLETED"), 2}}, false));
    QCOMPARE(toString(run->type), toString(StateType::Completed));
    QCOMPARE(run->endedUs, 5000);
    QCOMPARE(run->count(StateType::Running), 0);
    QCOMPARE(run->count(StateType::Completed), 2);
    QCOMPARE(run->finishedTaskRuns, 2);

    // With its task runs read, the counts are theirs: a refresh leaves them alone.
    row.state = QStringLiteral("CRASHED");
    QVERIFY(refreshStoredFlowRun(*run, row, {{QStringLiteral("CRASHED"), 2}}, true));
    QCOMPARE(toString(run->type), toString(StateType::Crashed));
    QCOMPARE(run->count(StateType::Completed), 2);
}

void TestStoredRuns::detailsOrderTasksAndMapIndexes()
{
    FlowRun run;
    auto taskRow = [](const QString& task, int mapIndex, qint64 createdUs, const QString& state) {
        TaskRunRow r;
        r.id = RunId::generate().toString();
        r.task = task;
        r.mapIndex = mapIndex;
        r.createdUs = createdUs;
        r.startedUs = createdUs + 1;
        r.state = state;
        r.name = state == QStringLiteral("COMPLETED") ? QStringLiteral("Completed") : QStringLiteral("Late");
        r.tags = {QStringLiteral("net")};
        return r;
    };
    // "late" was created after "early"; "early" is mapped, its rows out of order.
    const QList<TaskRunRow> rows{taskRow(QStringLiteral("late"), -1, 300, QStringLiteral("SCHEDULED")),
                                 taskRow(QStringLiteral("early"), 1, 200, QStringLiteral("COMPLETED")),
                                 taskRow(QStringLiteral("early"), 0, 100, QStringLiteral("COMPLETED"))};
    QHash<QString, QList<StateRow>> histories;
    histories[rows[2].id] = {{100, QStringLiteral("PENDING"), QStringLiteral("Pending"), {}},
                             {150, QStringLiteral("COMPLETED"), QStringLiteral("Completed"), {}}};
    LogRow flowLine;
    flowLine.level = QStringLiteral("INFO");
    flowLine.message = QStringLiteral("started");
    LogRow taskLine;
    taskLine.task = QStringLiteral("early");
    taskLine.mapIndex = 1;
    taskLine.level = QStringLiteral("warning");
    taskLine.message = QStringLiteral("slow");

    StoredDetails details = buildStoredDetails(&run, rows, histories, {flowLine, taskLine});
    applyStoredDetails(run, std::move(details));
    QCOMPARE(run.nodes.size(), size_t(2));
    QCOMPARE(run.def.tasks.at(0).id, QStringLiteral("early"));
    QCOMPARE(run.def.tasks.at(0).map.value_or(-1), 2);
    QCOMPARE(run.def.tasks.at(1).id, QStringLiteral("late"));
    QVERIFY(!run.def.tasks.at(1).map);
    const TaskNode& early = run.nodes[0];
    QCOMPARE(early.def, &run.def.tasks.at(0));
    QCOMPARE(early.runs[0].mapIndex, 0);
    QCOMPARE(early.runs[1].mapIndex, 1);
    QCOMPARE(early.runs[0].flowRun, &run);
    QCOMPARE(early.runs[0].node, &early);
    QCOMPARE(early.runs[0].history.size(), size_t(2));
    QCOMPARE(toString(early.runs[0].history[1].name), toString(StateName::Completed));
    QCOMPARE(early.completed, 2);
    QVERIFY(early.settled);
    QCOMPARE(toString(run.nodes[1].runs[0].name), toString(StateName::Late));
    QVERIFY(!run.nodes[1].settled);
    QCOMPARE(run.finishedTaskRuns, 2);
    QCOMPARE(run.materializedTaskRuns, 3);
    QCOMPARE(run.count(StateType::Scheduled), 1);
    QCOMPARE(details.logs.size(), size_t(2));
    QCOMPARE(details.logs[0].task, QString());
    QCOMPARE(details.logs[1].task, QStringLiteral("early[1]"));
    QCOMPARE(toString(details.logs[1].level), toString(LogLevel::Warning));
}

QTEST_GUILESS_MAIN(TestStoredRuns)

#include "tst_storedruns.moc"
