// The approval task kind: a task run waits in AwaitingApproval (PAUSED), holding no slot or thread,
// until it is approved or rejected (in the process, from the database, from the CLI) or times out.

#include "flow/flowparser.h"
#include "flow/taskkind.h"
#include "run/engine.h"
#include "run/flowrun.h"
#include "session/session.h"
#include "store/approvalqueries.h"
#include "store/store.h"
#include "testutil.h"

#include <QDir>
#include <QElapsedTimer>
#include <QFile>
#include <QProcess>
#include <QSqlError>
#include <QSqlQuery>
#include <QTemporaryDir>
#include <QTest>

using namespace flowdeck;
using namespace flowdeck::test;

namespace {

constexpr int WaitMs = 15000;

QByteArray deployFlow(const QString& approvalExtra = {}, const QString& approvalTags = {})
{
    return QStringLiteral(R"({"name": "deploy", "parameters": {"version": "1.2"}, "tasks": [
        {"id": "build", "kind": "noop"},
        {"id": "ok", "kind": "approval", "prompt": "Deploy {{version}}?", "depends_on": ["build"]%1%2},
        {"id": "ship", "kind": "noop", "depends_on": ["ok"]}]})")
        .arg(approvalExtra.isEmpty() ? QString() : QStringLiteral(", ") + approvalExtra,
             approvalTags.isEmpty() ? QString() : QStringLiteral(", \"tags\": [%1]").arg(approvalTags))
        .toUtf8();
}

bool awaitsApproval(FlowRun* flow, const QString& task = QStringLiteral("ok"))
{
    TaskRun* run = taskRun(flow, task);
    return run && run->name == StateName::AwaitingApproval;
}

QStringList errorTexts(const QByteArray& json)
{
    ValidationErrors errors;
    FlowParser(TaskKindRegistry::instance()).parse(json, QStringLiteral("f.json"), errors);
    QStringList texts;
    for (const ValidationError& e : errors)
        texts << e.toString();
    return texts;
}

struct CliResult {
    int exitCode = -1;
    QString out;
    QString err;
};

QProcess* startCli(const QStringList& args)
{
    auto* process = new QProcess;
    process->setProgram(flowdeckBinary());
    process->setArguments(args);
    QProcessEnvironment env = QProcessEnvironment::systemEnvironment();
    env.remove(QStringLiteral("FLOWDECK_DB"));
    env.insert(QStringLiteral("USER"), QStringLiteral("tester"));
    process->setProcessEnvironment(env);
    process->start();
    return process;
}

CliResult finishCli(QProcess& process, int timeoutMs = 60000)
{
    CliResult r;
    if (!process.waitForFinished(timeoutMs)) {
        process.kill();
        process.waitForFinished(5000);
        r.err = QStringLiteral("timed out; ");
    } else if (process.exitStatus() == QProcess::NormalExit) {
        r.exitCode = process.exitCode();
    }
    r.out = QString::fromUtf8(process.readAllStandardOutput());
    r.err += QString::fromUtf8(process.readAllStandardError());
    return r;
}

CliResult runCli(const QStringList& args)
{
    std::unique_ptr<QProcess> p(startCli(args));
    return finishCli(*p);
}

QString describe(const QStringList& args, const CliResult& r)
{
    return QStringLiteral("flowdeck %1 -> exit %2\nstdout: %3\nstderr: %4")
        .arg(args.join(u' '))
        .arg(r.exitCode)
        .arg(r.out, r.err);
}

} // namespace

class TestApproval : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void validateReportsBadFieldsWithTheirPlace()
    {
        QVERIFY(errorTexts(deployFlow()).isEmpty());
        const QByteArray missing = R"({"name": "f", "tasks": [{"id": "a", "kind": "approval"}]})";
        QVERIFY2(errorTexts(missing).join(u'\n').contains(QStringLiteral("tasks[0].prompt")),
                 qPrintable(errorTexts(missing).join(u'\n')));
        const QByteArray empty
            = R"({"name": "f", "tasks": [{"id": "a", "kind": "approval", "prompt": "  "}]})";
        QCOMPARE(errorTexts(empty),
                 QStringList{QStringLiteral("tasks[0].prompt: must not be empty: it is the question shown to "
                                            "whoever decides")});
        const QByteArray badOnTimeout = R"({"name": "f", "tasks": [{"id": "a", "kind": "approval",
            "prompt": "go?", "timeout_s": 5, "on_timeout": "maybe"}]})";
        QCOMPARE(errorTexts(badOnTimeout),
                 QStringList{QStringLiteral(
                     "tasks[0].on_timeout: expected \"reject\" or \"approve\", found \"maybe\"")});
        const QByteArray badTimeout = R"({"name": "f", "tasks": [{"id": "a", "kind": "approval",
            "prompt": "go?", "timeout_s": 0}]})";
        QVERIFY2(errorTexts(badTimeout).join(u'\n').startsWith(QStringLiteral("tasks[0].timeout_s: ")),
                 qPrintable(errorTexts(badTimeout).join(u'\n')));
        const QByteArray notAString = R"({"name": "f", "tasks": [{"id": "a", "kind": "approval",
            "prompt": 3}]})";
        QVERIFY2(errorTexts(notAString).join(u'\n').startsWith(QStringLiteral("tasks[0].prompt: ")),
                 qPrintable(errorTexts(notAString).join(u'\n')));
    }

    void approvedCompletes()
    {
        Engine engine;
        RecordingObserver recorded;
        engine.addObserver(&recorded);
        const auto flow = parseFlow(deployFlow());
        QVERIFY(flow);
        FlowRun* run = engine.start(*flow);
        QTRY_VERIFY_WITH_TIMEOUT(awaitsApproval(run), WaitMs);
        TaskRun* ok = taskRun(run, QStringLiteral("ok"));
        QCOMPARE(toString(ok->type), toString(StateType::Paused));
        QCOMPARE(ok->message, QStringLiteral("Deploy 1.2?"));
        QCOMPARE(engine.awaitingApprovals(), std::vector<TaskRun*>{ok});
        QVERIFY(!ok->isTerminal());
        QCOMPARE(toString(taskRun(run, QStringLiteral("ship"))->type), toString(StateType::Pending));

        QVERIFY(!engine.decideApproval(taskRun(run, QStringLiteral("build")), true, {}, QStringLiteral("x")));
        QVERIFY(engine.decideApproval(ok, true, {}, QStringLiteral("tester")));
        QVERIFY(!engine.decideApproval(ok, false, {}, QStringLiteral("late"))); // decided already
        QVERIFY(waitForFlow(engine, run));
        QCOMPARE(toString(run->type), toString(StateType::Completed));
        QCOMPARE(toString(ok->name), toString(StateName::Completed));
        QVERIFY2(ok->message.contains(QStringLiteral("approved by tester")), qPrintable(ok->message));
        QCOMPARE(toString(taskRun(run, QStringLiteral("ship"))->type), toString(StateType::Completed));
        QVERIFY(engine.awaitingApprovals().empty());
        QCOMPARE(
            describe(recorded.names(QStringLiteral("ok"))),
            describe(QList<StateName>{StateName::Pending, StateName::Running, StateName::AwaitingApproval,
                                      StateName::Running, StateName::Completed}));
        verifyFlowConsistent(run, recorded);
    }

    void rejectedFailsWithReasonAndBlocksDownstream()
    {
        Engine engine;
        RecordingObserver recorded;
        engine.addObserver(&recorded);
        const auto flow = parseFlow(deployFlow());
        QVERIFY(flow);
        FlowRun* run = engine.start(*flow);
        QTRY_VERIFY_WITH_TIMEOUT(awaitsApproval(run), WaitMs);
        TaskRun* ok = taskRun(run, QStringLiteral("ok"));
        QVERIFY(engine.decideApproval(ok, false, QStringLiteral("not on a Friday"), QStringLiteral("bob")));
        QVERIFY(waitForFlow(engine, run));
        QCOMPARE(toString(run->type), toString(StateType::Failed));
        QCOMPARE(toString(ok->name), toString(StateName::Failed));
        QCOMPARE(ok->message, QStringLiteral("rejected by bob: not on a Friday"));
        QCOMPARE(toString(taskRun(run, QStringLiteral("ship"))->name), toString(StateName::UpstreamFailed));
        verifyFlowConsistent(run, recorded);
    }

    void timesOutAsOnTimeoutSays_data()
    {
        QTest::addColumn<QString>("extra");
        QTest::addColumn<int>("type");
        QTest::addColumn<QString>("says");
        QTest::newRow("default rejects") << QStringLiteral(R"("timeout_s": 0.2)") << int(StateType::Failed)
                                         << QStringLiteral("rejected (on_timeout)");
        QTest::newRow("reject") << QStringLiteral(R"("timeout_s": 0.2, "on_timeout": "reject")")
                                << int(StateType::Failed) << QStringLiteral("rejected (on_timeout)");
        QTest::newRow("approve") << QStringLiteral(R"("timeout_s": 0.2, "on_timeout": "approve")")
                                 << int(StateType::Completed) << QStringLiteral("approved (on_timeout)");
    }
    void timesOutAsOnTimeoutSays()
    {
        QFETCH(QString, extra);
        QFETCH(int, type);
        QFETCH(QString, says);
        Engine engine;
        RecordingObserver recorded;
        engine.addObserver(&recorded);
        const auto flow = parseFlow(deployFlow(extra));
        QVERIFY(flow);
        QElapsedTimer clock;
        clock.start();
        FlowRun* run = engine.start(*flow);
        QVERIFY(waitForFlow(engine, run, WaitMs));
        QVERIFY(clock.elapsed() >= 200);
        TaskRun* ok = taskRun(run, QStringLiteral("ok"));
        QCOMPARE(toString(ok->type), toString(StateType(type)));
        QVERIFY2(ok->message.contains(QStringLiteral("timed out")) && ok->message.contains(says),
                 qPrintable(ok->message));
        QVERIFY(recorded.firstNamed(QStringLiteral("ok"), -1, StateName::AwaitingApproval) >= 0);
        QCOMPARE(
            toString(taskRun(run, QStringLiteral("ship"))->name),
            toString(type == int(StateType::Completed) ? StateName::Completed : StateName::UpstreamFailed));
        QVERIFY(engine.awaitingApprovals().empty());
        verifyFlowConsistent(run, recorded);
    }

    void cancelledWhileWaiting()
    {
        Engine engine;
        RecordingObserver recorded;
        engine.addObserver(&recorded);
        const auto flow = parseFlow(deployFlow(QStringLiteral(R"("timeout_s": 600)")));
        QVERIFY(flow);
        FlowRun* run = engine.start(*flow);
        QTRY_VERIFY_WITH_TIMEOUT(awaitsApproval(run), WaitMs);
        QVERIFY(engine.cancelFlowRun(run));
        QVERIFY(waitForFlow(engine, run));
        QCOMPARE(toString(run->type), toString(StateType::Cancelled));
        TaskRun* ok = taskRun(run, QStringLiteral("ok"));
        QCOMPARE(toString(ok->type), toString(StateType::Cancelled));
        QCOMPARE(toString(taskRun(run, QStringLiteral("ship"))->type), toString(StateType::Cancelled));
        QVERIFY(engine.awaitingApprovals().empty());
        QVERIFY(!engine.decideApproval(ok, true, {}, QStringLiteral("late")));
        verifyFlowConsistent(run, recorded);
    }

    //! Pausing the flow run (even with a grace that stops running attempts) leaves a waiting approval
    //! waiting: it holds nothing. Decided while paused, it ends; what follows starts on resume.
    void pauseLeavesTheApprovalWaiting()
    {
        Engine engine;
        RecordingObserver recorded;
        engine.addObserver(&recorded);
        // "busy" runs when the pause comes: its grace running out is what the approval must sit through.
        const auto flow = parseFlow(R"({"name": "deploy", "tasks": [
            {"id": "ok", "kind": "approval", "prompt": "go?"},
            {"id": "busy", "kind": "sleep", "seconds": 1},
            {"id": "ship", "kind": "noop", "depends_on": ["ok"]}]})");
        QVERIFY(flow);
        FlowRun* run = engine.start(*flow);
        QTRY_VERIFY_WITH_TIMEOUT(
            awaitsApproval(run) && taskRun(run, QStringLiteral("busy"))->type == StateType::Running, WaitMs);
        QVERIFY(engine.pauseFlowRun(run, QStringLiteral("tester"), 0.05));
        QTRY_COMPARE_WITH_TIMEOUT(toString(taskRun(run, QStringLiteral("busy"))->name),
                                  toString(StateName::Suspended), WaitMs);
        QCOMPARE(toString(run->type), toString(StateType::Paused));
        QVERIFY(awaitsApproval(run)); // the same grace ran out for it: it still waits
        TaskRun* ok = taskRun(run, QStringLiteral("ok"));
        QVERIFY(engine.decideApproval(ok, true, {}, QStringLiteral("tester")));
        QTRY_COMPARE_WITH_TIMEOUT(toString(ok->type), toString(StateType::Completed), WaitMs);
        QVERIFY(engine.resumeFlowRun(run, QStringLiteral("tester")));
        QVERIFY(waitForFlow(engine, run));
        QCOMPARE(toString(run->type), toString(StateType::Completed));
        QCOMPARE(ok->attempts, quint16(1));
        // What follows the approval started only once the flow run was resumed.
        int resumed = -1;
        for (int i = 0; i < int(recorded.transitions.size()); ++i) {
            if (recorded.at(i).taskId.isEmpty() && recorded.at(i).type == StateType::Running)
                resumed = i;
        }
        QVERIFY(recorded.first(QStringLiteral("ship"), -1, StateType::Running) > resumed);
        verifyFlowConsistent(run, recorded);
    }

    //! A tagged approval task with a limit of 1 on its tag: another task of that tag runs while it waits,
    //! and the database holds no slot of it.
    void holdsNoSlotWhileWaiting_data() { addBackendRows(); }
    void holdsNoSlotWhileWaiting()
    {
        QFETCH(QString, backend);
        FLOWDECK_FRESH_DATABASE(url, backend);
        Engine engine;
        Session session(engine.scheduler());
        auto opening = session.open(url, {.engine = &engine, .registerEngine = false, .pool = {}});
        finish(opening);
        QVERIFY(session.isOpen());
        Db db(url);
        db.rows(
            QStringLiteral("INSERT INTO concurrency_limits (tag, slot_limit, updated_at) VALUES (?, ?, ?)"),
            {QStringLiteral("deploys"), 1, 0});
        QTRY_COMPARE_WITH_TIMEOUT(engine.limiter().limit(QStringLiteral("deploys")), std::optional<int>(1),
                                  5000);
        const auto flow = parseFlow(R"({"name": "tagged", "tasks": [
            {"id": "ok", "kind": "approval", "prompt": "go?", "tags": ["deploys"]},
            {"id": "other", "kind": "sleep", "seconds": 0.05, "tags": ["deploys"]}]})");
        QVERIFY(flow);
        FlowRun* run = engine.start(*flow);
        QTRY_VERIFY_WITH_TIMEOUT(awaitsApproval(run), WaitMs);
        // The other task of the tag runs to its end while the approval still waits.
        QTRY_COMPARE_WITH_TIMEOUT(toString(taskRun(run, QStringLiteral("other"))->type),
                                  toString(StateType::Completed), WaitMs);
        QVERIFY(awaitsApproval(run));
        QVERIFY(!engine.limiter().holdsSlots(*taskRun(run, QStringLiteral("ok"))));
        const QString okId = taskRun(run, QStringLiteral("ok"))->id.toString();
        QTRY_COMPARE_WITH_TIMEOUT(
            db.value(QStringLiteral("SELECT state_name FROM task_runs WHERE id = ?"), {okId}).toString(),
            QStringLiteral("AwaitingApproval"), WaitMs);
        QCOMPARE(db.count(QStringLiteral("SELECT count(*) FROM concurrency_slots")), 0);
        QVERIFY(
            engine.decideApproval(taskRun(run, QStringLiteral("ok")), true, {}, QStringLiteral("tester")));
        QVERIFY(waitForFlow(engine, run));
        QCOMPARE(toString(run->type), toString(StateType::Completed));
        QCOMPARE(db.count(QStringLiteral("SELECT count(*) FROM concurrency_slots")), 0);
        auto closing = session.close();
        finish(closing);
    }

    //! A decision written to the database (as another process does) reaches the waiting task run
    //! within a poll; a decision for a task run that does not wait writes nothing.
    void decisionFromTheDatabase_data() { addBackendRows(); }
    void decisionFromTheDatabase()
    {
        QFETCH(QString, backend);
        FLOWDECK_FRESH_DATABASE(url, backend);
        Engine engine;
        Session session(engine.scheduler());
        auto opening = session.open(url, {.engine = &engine, .registerEngine = false, .pool = {}});
        finish(opening);
        Db db(url);
        // Retries: a rejected attempt waits again, and that wait starts without the old decision.
        const auto flow = parseFlow(deployFlow(QStringLiteral(R"("retries": 1, "retry_delay_s": 0)")));
        QVERIFY(flow);
        FlowRun* run = engine.start(*flow);
        const QString flowId = run->id.toString();
        const QString okId = taskRun(run, QStringLiteral("ok"))->id.toString();
        QTRY_COMPARE_WITH_TIMEOUT(
            db.value(QStringLiteral("SELECT state_name FROM task_runs WHERE id = ?"), {okId}).toString(),
            QStringLiteral("AwaitingApproval"), WaitMs);
        const auto waiting
            = runOnPool(*session.pool(), [flowId](QSqlDatabase& d) { return waitingApprovals(d, flowId); });
        QCOMPARE(waiting.size(), 1);
        QCOMPARE(waiting.first().taskRunId, okId);
        QCOMPARE(waiting.first().prompt, QStringLiteral("Deploy 1.2?"));

        auto decide = [&](const QString& task, int index, bool approve, const QString& reason) {
            return runOnPool(*session.pool(), [=](QSqlDatabase& d) {
                return decideApproval(d, flowId, task, index, approve, reason,
                                      QStringLiteral("carol@elsewhere"));
            });
        };
        const QString decided = QStringLiteral("SELECT count(*) FROM task_runs WHERE approval IS NOT NULL");
        QCOMPARE(decide(QStringLiteral("ship"), -1, true, {}).result, DecideResult::NotWaiting);
        QCOMPARE(decide(QStringLiteral("nope"), -1, true, {}).result, DecideResult::UnknownTask);
        QCOMPARE(decide(QStringLiteral("ok"), 0, true, {}).result, DecideResult::UnknownTask);
        QCOMPARE(db.count(decided), 0);

        QElapsedTimer latency;
        latency.start();
        QCOMPARE(decide(QStringLiteral("ok"), -1, false, QStringLiteral("first try")).result,
                 DecideResult::Decided);
        const DecideOutcome twice = decide(QStringLiteral("ok"), -1, true, {});
        QCOMPARE(twice.result, DecideResult::NotWaiting);
        QCOMPARE(twice.decidedAs, QStringLiteral("rejected"));
        TaskRun* ok = taskRun(run, QStringLiteral("ok"));
        QTRY_VERIFY_WITH_TIMEOUT(ok->attempts == 2 && ok->name == StateName::AwaitingApproval, WaitMs);
        qInfo("a decision written to the database reached the engine and the task run waits again after %lld "
              "ms",
              qint64(latency.elapsed()));
        QVERIFY(latency.elapsed() < 5000);
        // The new wait is on disk without the old decision: it can be decided again.
        QTRY_COMPARE_WITH_TIMEOUT(
            db.value(QStringLiteral("SELECT attempts FROM task_runs WHERE id = ?"), {okId}).toInt(), 2,
            WaitMs);
        QCOMPARE(db.count(decided), 0);
        QCOMPARE(decide(QStringLiteral("ok"), -1, true, QStringLiteral("fine now")).result,
                 DecideResult::Decided);
        QVERIFY(waitForFlow(engine, run, WaitMs));
        QCOMPARE(toString(run->type), toString(StateType::Completed));
        QCOMPARE(ok->message, QStringLiteral("approved by carol@elsewhere: fine now"));
        auto closing = session.close();
        finish(closing);
    }

    //! The engine link's poll and the window's read touch only the waiting task runs (SQLite's plan).
    void readsGoThroughThePartialIndex()
    {
        const QString url = freshSqlitePath();
        Engine engine;
        Session session(engine.scheduler());
        auto opening = session.open(url, {.engine = &engine, .registerEngine = false, .pool = {}});
        finish(opening);
        const QString plans = runOnPool(*session.pool(), [](QSqlDatabase& db) {
            QString out;
            for (const QString& sql :
                 {detail::pendingApprovalDecisionsSql(), detail::waitingApprovalsSql()}) {
                QSqlQuery q(db);
                if (!q.exec(QStringLiteral("EXPLAIN QUERY PLAN ") + QString(sql).replace(u'?', u'0')))
                    return q.lastError().text();
                while (q.next())
                    out += q.value(3).toString() + u'\n';
            }
            return out;
        });
        QCOMPARE(plans.count(QStringLiteral("USING INDEX task_runs_approval_idx")), 2);
        QVERIFY2(!plans.contains(QStringLiteral("SCAN")), qPrintable(plans));
        auto closing = session.close();
        finish(closing);
    }

    //! A mapped approval task: each of its runs is decided on its own, named TASK[INDEX] as
    //! `runs show --task` takes it; TASK alone says to name one.
    void cliDecidesOneRunOfAMappedTask_data() { addBackendRows(); }
    void cliDecidesOneRunOfAMappedTask()
    {
        QFETCH(QString, backend);
        FLOWDECK_FRESH_DATABASE(url, backend);
        Engine engine;
        Session session(engine.scheduler());
        auto opening = session.open(url, {.engine = &engine, .registerEngine = true, .pool = {}});
        finish(opening);
        const auto flow = parseFlow(R"({"name": "regions", "tasks": [
            {"id": "ok", "kind": "approval", "prompt": "Deploy region {{map_index}}?", "map": 2}]})");
        QVERIFY(flow);
        FlowRun* run = engine.start(*flow);
        const QString flowId = run->id.toString();
        Db db(url);
        QTRY_COMPARE_WITH_TIMEOUT(db.count(QStringLiteral("SELECT count(*) FROM task_runs WHERE state_name = "
                                                          "'AwaitingApproval'")),
                                  2, WaitMs);
        QCOMPARE(taskRun(run, QStringLiteral("ok"), 1)->message, QStringLiteral("Deploy region 1?"));

        const QStringList unnamed = {QStringLiteral("runs"), QStringLiteral("approve"), flowId,
                                     QStringLiteral("ok"),   QStringLiteral("--db"),    url};
        const CliResult refused = runCli(unnamed);
        QVERIFY2(refused.exitCode == 2
                     && refused.err.contains(QStringLiteral("is mapped: name one of its runs as ok[INDEX]")),
                 qPrintable(describe(unnamed, refused)));
        const QStringList one = {QStringLiteral("runs"),  QStringLiteral("reject"), flowId.left(8),
                                 QStringLiteral("ok[1]"), QStringLiteral("--db"),   url};
        const CliResult rejected = runCli(one);
        QVERIFY2(rejected.exitCode == 0, qPrintable(describe(one, rejected)));
        QTRY_VERIFY_WITH_TIMEOUT(taskRun(run, QStringLiteral("ok"), 1)->isTerminal(), WaitMs);
        QCOMPARE(toString(taskRun(run, QStringLiteral("ok"), 1)->type), toString(StateType::Failed));
        QVERIFY2(taskRun(run, QStringLiteral("ok"), 1)->message.endsWith(QStringLiteral("(no reason given)")),
                 qPrintable(taskRun(run, QStringLiteral("ok"), 1)->message));
        QVERIFY(awaitsApproval(run)); // ok[0] still waits
        QVERIFY(
            engine.decideApproval(taskRun(run, QStringLiteral("ok"), 0), true, {}, QStringLiteral("tester")));
        QVERIFY(waitForFlow(engine, run));
        QCOMPARE(toString(taskRun(run, QStringLiteral("ok"), 0)->type), toString(StateType::Completed));
        auto closing = session.close();
        finish(closing);
    }

    //! `flowdeck run` of a flow with an approval task in one process, `flowdeck runs approve` and
    //! `runs reject` (and refused bad input) in others.
    void cliInAnotherProcess_data() { addBackendRows(); }
    void cliInAnotherProcess()
    {
        QFETCH(QString, backend);
        FLOWDECK_FRESH_DATABASE(url, backend);
        QTemporaryDir dir;
        QVERIFY(dir.isValid());
        const QString flowPath = dir.filePath(QStringLiteral("deploy.json"));
        {
            QFile file(flowPath);
            QVERIFY(file.open(QIODevice::WriteOnly));
            file.write(deployFlow());
        }
        Db db(url);
        const QString decided = QStringLiteral("SELECT count(*) FROM task_runs WHERE approval IS NOT NULL");
        for (const bool approve : {false, true}) {
            std::unique_ptr<QProcess> runner(
                startCli({QStringLiteral("run"), flowPath, QStringLiteral("--db"), url}));
            QVERIFY(runner->waitForStarted(10000));
            QString flowId;
            QTRY_VERIFY_WITH_TIMEOUT(
                !(flowId = db.value(QStringLiteral("SELECT flow_run_id FROM task_runs WHERE state_name = "
                                                   "'AwaitingApproval'"))
                               .toString())
                     .isEmpty(),
                WaitMs);
            const QString shortId = flowId.right(8); // what the window shows
            if (!approve) {
                // Refused, nothing written: a task that does not wait, an unknown task, an unknown run.
                for (const QStringList& args :
                     {QStringList{QStringLiteral("runs"), QStringLiteral("approve"), shortId,
                                  QStringLiteral("ship")},
                      QStringList{QStringLiteral("runs"), QStringLiteral("approve"), shortId,
                                  QStringLiteral("build")},
                      QStringList{QStringLiteral("runs"), QStringLiteral("reject"), shortId,
                                  QStringLiteral("nope")},
                      QStringList{QStringLiteral("runs"), QStringLiteral("approve"),
                                  QStringLiteral("abcdef012345"), QStringLiteral("ok")}}) {
                    const QStringList full = args + QStringList{QStringLiteral("--db"), url};
                    const CliResult r = runCli(full);
                    QVERIFY2(r.exitCode == 2, qPrintable(describe(full, r)));
                    QVERIFY2(r.err.contains(QStringLiteral("not waiting for approval"))
                                 || r.err.contains(QStringLiteral("has no task run"))
                                 || r.err.contains(QStringLiteral("no flow run")),
                             qPrintable(describe(full, r)));
                }
                QCOMPARE(db.count(decided), 0);
                // Ambiguous: two more runs whose ids share the start of the waiting one's.
                const QString twinA = flowId.left(9) + QStringLiteral("0000-7000-8000-0000000000a1");
                const QString twinB = flowId.left(9) + QStringLiteral("0000-7000-8000-0000000000a2");
                for (const QString& twin : {twinA, twinB}) {
                    db.rows(
                        QStringLiteral("INSERT INTO flow_runs (id, flow_name, state, state_name, created_at) "
                                       "VALUES (?, 'twin', 'COMPLETED', 'Completed', 1)"),
                        {twin});
                }
                const QStringList ambiguous
                    = {QStringLiteral("runs"), QStringLiteral("approve"), flowId.left(8),
                       QStringLiteral("ok"),   QStringLiteral("--db"),    url};
                const CliResult r = runCli(ambiguous);
                QVERIFY2(r.exitCode == 2 && r.err.contains(QStringLiteral("ambiguous"))
                             && r.err.contains(twinA),
                         qPrintable(describe(ambiguous, r)));
                QCOMPARE(db.count(decided), 0);
            }
            const QStringList args = approve
                ? QStringList{QStringLiteral("runs"), QStringLiteral("approve"), shortId,
                              QStringLiteral("ok"),   QStringLiteral("--db"),    url}
                : QStringList{QStringLiteral("runs"),
                              QStringLiteral("reject"),
                              shortId,
                              QStringLiteral("ok"),
                              QStringLiteral("--reason"),
                              QStringLiteral("not today"),
                              QStringLiteral("--db"),
                              url};
            QElapsedTimer latency;
            latency.start();
            const CliResult decision = runCli(args);
            QVERIFY2(decision.exitCode == 0, qPrintable(describe(args, decision)));
            const CliResult ran = finishCli(*runner);
            qInfo("runs %s to the end of the flow run in the other process: %lld ms",
                  approve ? "approve" : "reject", qint64(latency.elapsed()));
            QVERIFY2(ran.exitCode == (approve ? 0 : 1), qPrintable(describe({QStringLiteral("run")}, ran)));
            // The run's own output says what waits and how to decide.
            QVERIFY2(
                ran.out.contains(QStringLiteral("task run ok waits for approval: Deploy 1.2? (flowdeck runs "
                                                "approve|reject %1 ok)")
                                     .arg(shortId)),
                qPrintable(ran.out));
            const QList<QVariantList> rows = db.rows(
                QStringLiteral("SELECT state, message FROM task_runs WHERE flow_run_id = ? ORDER BY task"),
                {flowId});
            QCOMPARE(rows.size(), 3);
            // build, ok, ship
            QCOMPARE(rows[1][0].toString(), approve ? QStringLiteral("COMPLETED") : QStringLiteral("FAILED"));
            QVERIFY2(rows[1][1].toString().contains(QStringLiteral("by tester@"))
                         && (approve || rows[1][1].toString().endsWith(QStringLiteral(": not today"))),
                     qPrintable(rows[1][1].toString()));
            QCOMPARE(rows[2][0].toString(), approve ? QStringLiteral("COMPLETED") : QStringLiteral("FAILED"));
            // The decided task run no longer waits: a second decision is refused.
            const CliResult again = runCli(args);
            QVERIFY2(again.exitCode == 2 && again.err.contains(QStringLiteral("not waiting")),
                     qPrintable(describe(args, again)));
        }
    }
};

QTEST_GUILESS_MAIN(TestApproval)
#include "tst_approval.moc"
