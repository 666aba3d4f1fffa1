// Subflows: a task of kind "flow" runs another flow as a child flow run linked to it. In one engine
// (result, failure, cancel and pause reaching the child) and through the real binary on SQLite and
// PostgreSQL (the stored link, `runs ls --parent`, retry of a parent whose child failed, recursion
// refused by `validate`).
#include "cliutil.h"
#include "flow/flowparser.h"
#include "flow/taskkind.h"
#include "run/engine.h"
#include "testutil.h"

#include <QDir>
#include <QFile>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QTemporaryDir>
#include <QTest>

using namespace flowdeck;
using namespace flowdeck::test;

namespace {

QString writeFile(const QString& path, const QByteArray& text)
{
    QDir().mkpath(QFileInfo(path).absolutePath());
    QFile file(path);
    if (!file.open(QIODevice::WriteOnly) || file.write(text) != text.size())
        qFatal("cannot write %s", qPrintable(path));
    return path;
}

std::optional<FlowDefinition> parseFile(const QString& path)
{
    ValidationErrors errors;
    auto flow = FlowParser(TaskKindRegistry::instance()).parseFile(path, errors);
    for (const ValidationError& e : errors)
        qWarning("%s", qPrintable(e.toString()));
    return flow;
}

//! The unfinished or finished flow runs of \a engine started by \a parent.
QList<FlowRun*> childrenOf(Engine& engine, const FlowRun* parent)
{
    QList<FlowRun*> children;
    for (const auto& flow : engine.flowRuns()) {
        if (flow->parentFlowRunId == parent->id)
            children << flow.get();
    }
    return children;
}

QString flowRunIdOf(const QString& jsonLines)
{
    const QJsonObject first = QJsonDocument::fromJson(jsonLines.section(u'\n', 0, 0).toUtf8()).object();
    return first.value(QStringLiteral("flow_run_id")).toString();
}

} // namespace

class TestSubflows : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void initTestCase();

    void childRunsLinkedAndCompletes();
    void childFailureFailsTheTask();
    void cancelReachesTheChild();
    void pauseAndResumeReachTheChild();
    void pauseGraceStopsTheChildNotTheWaitingTask();
    void recursionRefused_data();
    void recursionRefused();
    void missingSubflowLocated();

    void storedLinkAndRunsLsParent_data() { addBackendRows(); }
    void storedLinkAndRunsLsParent();
    void retryRunsTheFailedChildAgain_data() { addBackendRows(); }
    void retryRunsTheFailedChildAgain();

private:
    QTemporaryDir m_dir;
    QString m_parent;      //!< runs sub/child.json (relative to its own directory)
    QString m_failParent;  //!< runs sub/fails.json
    QString m_sleepParent; //!< runs sub/sleeps.json
};

void TestSubflows::initTestCase()
{
    QVERIFY2(QFile::exists(flowdeckBinary()), "FLOWDECK_BINARY must name the flowdeck executable");
    QVERIFY(m_dir.isValid());
    const QString d = m_dir.path();
    writeFile(d + QStringLiteral("/sub/child.json"), R"({"name": "child", "parameters": {"word": "x"},
        "result": {"said": "{{tasks.say.result}}"},
        "tasks": [{"id": "say", "kind": "shell", "result": "last_line",
                   "command": ["echo", "child says {{word}}"]}]})");
    writeFile(d + QStringLiteral("/sub/fails.json"), R"({"name": "fails",
        "tasks": [{"id": "boom", "kind": "fail", "message": "the child broke"}]})");
    writeFile(d + QStringLiteral("/sub/sleeps.json"), R"({"name": "sleeps",
        "tasks": [{"id": "nap", "kind": "sleep", "seconds": 60}]})");
    m_parent = writeFile(d + QStringLiteral("/parent.json"), R"({"name": "parent", "tasks": [
        {"id": "before", "kind": "noop", "value": "hello"},
        {"id": "sub", "kind": "flow", "flow": "sub/child.json",
         "parameters": {"word": "{{tasks.before.result}}"}},
        {"id": "after", "kind": "noop", "value": "{{tasks.sub.result.said}}"}]})");
    m_failParent = writeFile(d + QStringLiteral("/failparent.json"), R"({"name": "failparent", "tasks": [
        {"id": "sub", "kind": "flow", "flow": "sub/fails.json"},
        {"id": "after", "kind": "noop", "depends_on": ["sub"]}]})");
    m_sleepParent = writeFile(d + QStringLiteral("/sleepparent.json"), R"({"name": "sleepparent", "tasks": [
        {"id": "sub", "kind": "flow", "flow": "sub/sleeps.json"}]})");
}

void TestSubflows::childRunsLinkedAndCompletes()
{
    const auto flow = parseFile(m_parent);
    QVERIFY(flow);
    // The reference is stored resolved, so a stored run finds the file from anywhere.
    const QString absolute = QFileInfo(m_dir.path() + QStringLiteral("/sub/child.json")).canonicalFilePath();
    QCOMPARE(flow->tasks[1].config.value(QStringLiteral("flow")).toString(), absolute);
    QCOMPARE(flow->document[QStringLiteral("tasks")][1][QStringLiteral("flow")].toString(), absolute);

    Engine engine;
    FlowRun* parent = engine.start(*flow);
    QVERIFY(waitForFlow(engine, parent));
    QCOMPARE(toString(parent->type), toString(StateType::Completed));
    const QList<FlowRun*> children = childrenOf(engine, parent);
    QCOMPARE(children.size(), 1);
    FlowRun* child = children.first();
    QCOMPARE(toString(child->type), toString(StateType::Completed));
    QCOMPARE(child->def.name, QStringLiteral("child"));
    QCOMPARE(child->def.parameters.value(QStringLiteral("word")).toString(), QStringLiteral("hello"));
    TaskRun* sub = taskRun(parent, QStringLiteral("sub"));
    QCOMPARE(child->parentTaskRunId, sub->id);
    QVERIFY2(sub->message.contains(child->id.toString()), qPrintable(sub->message));
    // The child's parameters took the upstream's result; the task's result is the child's flow
    // result, which the next task reads.
    QCOMPARE(child->result,
             QJsonValue(QJsonObject{{QStringLiteral("said"), QStringLiteral("child says hello")}}));
    QCOMPARE(sub->result, child->result);
    QCOMPARE(taskRun(parent, QStringLiteral("after"))->result,
             QJsonValue(QStringLiteral("child says hello")));
    // The child ended before the task run that waited for it.
    QVERIFY(child->endedUs <= sub->endedUs);
}

void TestSubflows::childFailureFailsTheTask()
{
    const auto flow = parseFile(m_failParent);
    QVERIFY(flow);
    Engine engine;
    FlowRun* parent = engine.start(*flow);
    QVERIFY(waitForFlow(engine, parent));
    QCOMPARE(toString(parent->type), toString(StateType::Failed));
    const QList<FlowRun*> children = childrenOf(engine, parent);
    QCOMPARE(children.size(), 1);
    QCOMPARE(toString(children.first()->type), toString(StateType::Failed));
    TaskRun* sub = taskRun(parent, QStringLiteral("sub"));
    QCOMPARE(toString(sub->type), toString(StateType::Failed));
    // The message names the child run and its first failure.
    QVERIFY2(sub->message.contains(children.first()->id.toString()), qPrintable(sub->message));
    QVERIFY2(sub->message.contains(QStringLiteral("boom: the child broke")), qPrintable(sub->message));
    QCOMPARE(toString(taskRun(parent, QStringLiteral("after"))->name), toString(StateName::UpstreamFailed));
}

void TestSubflows::cancelReachesTheChild()
{
    const auto flow = parseFile(m_sleepParent);
    QVERIFY(flow);
    Engine engine;
    FlowRun* parent = engine.start(*flow);
    FlowRun* child = nullptr;
    QVERIFY(waitUntil(
        [&] {
            const QList<FlowRun*> children = childrenOf(engine, parent);
            child = children.isEmpty() ? nullptr : children.first();
            return child && taskRun(child, QStringLiteral("nap"))
                && taskRun(child, QStringLiteral("nap"))->type == StateType::Running;
        },
        10000));
    QVERIFY(engine.cancelFlowRun(parent, QStringLiteral("test")));
    QVERIFY(waitForFlow(engine, parent));
    QCOMPARE(toString(parent->type), toString(StateType::Cancelled));
    QCOMPARE(toString(child->type), toString(StateType::Cancelled));
    QCOMPARE(toString(taskRun(child, QStringLiteral("nap"))->type), toString(StateType::Cancelled));
}

void TestSubflows::pauseAndResumeReachTheChild()
{
    writeFile(m_dir.path() + QStringLiteral("/sub/two.json"), R"({"name": "two", "tasks": [
        {"id": "first", "kind": "sleep", "seconds": 0.3}, {"id": "second", "kind": "noop", "depends_on": ["first"]}]})");
    const QString parentPath = writeFile(
        m_dir.path() + QStringLiteral("/pauseparent.json"),
        R"({"name": "pauseparent", "tasks": [{"id": "sub", "kind": "flow", "flow": "sub/two.json"}]})");
    const auto flow = parseFile(parentPath);
    QVERIFY(flow);
    Engine engine;
    FlowRun* parent = engine.start(*flow);
    FlowRun* child = nullptr;
    QVERIFY(waitUntil(
        [&] {
            const QList<FlowRun*> children = childrenOf(engine, parent);
            child = children.isEmpty() ? nullptr : children.first();
            return child && taskRun(child, QStringLiteral("first"))
                && taskRun(child, QStringLiteral("first"))->type == StateType::Running;
        },
        10000));
    QVERIFY(engine.pauseFlowRun(parent, QStringLiteral("tester")));
    QCOMPARE(toString(child->type), toString(StateType::Paused));
    QVERIFY2(child->message.contains(QStringLiteral("parent")), qPrintable(child->message));
    // While paused the child's next task does not start: it is held once its upstream finished.
    QVERIFY(waitUntil([&] { return !child->heldRuns.empty(); }, 10000));
    QCOMPARE(taskRun(child, QStringLiteral("second"))->started, false);
    QVERIFY(engine.resumeFlowRun(parent, QStringLiteral("tester")));
    QVERIFY(waitForFlow(engine, parent));
    QCOMPARE(toString(child->type), toString(StateType::Completed));
    QCOMPARE(toString(parent->type), toString(StateType::Completed));
}

void TestSubflows::pauseGraceStopsTheChildNotTheWaitingTask()
{
    writeFile(m_dir.path() + QStringLiteral("/sub/short.json"),
              R"({"name": "short", "tasks": [{"id": "nap", "kind": "sleep", "seconds": 0.5}]})");
    const QString parentPath = writeFile(
        m_dir.path() + QStringLiteral("/graceparent.json"),
        R"({"name": "graceparent", "tasks": [{"id": "sub", "kind": "flow", "flow": "sub/short.json"}]})");
    const auto flow = parseFile(parentPath);
    QVERIFY(flow);
    Engine engine;
    FlowRun* parent = engine.start(*flow);
    FlowRun* child = nullptr;
    QVERIFY(waitUntil(
        [&] {
            const QList<FlowRun*> children = childrenOf(engine, parent);
            child = children.isEmpty() ? nullptr : children.first();
            return child && taskRun(child, QStringLiteral("nap"))
                && taskRun(child, QStringLiteral("nap"))->type == StateType::Running;
        },
        10000));
    QVERIFY(engine.pauseFlowRun(parent, QStringLiteral("tester"), 0.05));
    // The grace runs out for the child's task run (stopped, to run again on resume); the parent's task
    // run keeps waiting for its child instead of being stopped and starting a second one later.
    QVERIFY(waitUntil([&] { return taskRun(child, QStringLiteral("nap"))->name == StateName::Suspended; },
                      10000));
    QCOMPARE(toString(taskRun(parent, QStringLiteral("sub"))->type), toString(StateType::Running));
    QVERIFY(engine.resumeFlowRun(parent, QStringLiteral("tester")));
    QVERIFY(waitForFlow(engine, parent));
    QCOMPARE(toString(parent->type), toString(StateType::Completed));
    QCOMPARE(childrenOf(engine, parent).size(), 1);
    QCOMPARE(taskRun(parent, QStringLiteral("sub"))->attempts, quint16(1));
}

void TestSubflows::recursionRefused_data()
{
    QTest::addColumn<QString>("top");
    QTest::addColumn<QString>("error");
    const QString d = m_dir.path() + QStringLiteral("/rec");
    writeFile(d + QStringLiteral("/self.json"),
              R"({"name": "self", "tasks": [{"id": "again", "kind": "flow", "flow": "self.json"}]})");
    writeFile(d + QStringLiteral("/a.json"), R"({"name": "a", "tasks": [{"id": "ok", "kind": "noop"},
        {"id": "to_b", "kind": "flow", "flow": "b.json"}]})");
    writeFile(d + QStringLiteral("/b.json"),
              R"({"name": "b", "tasks": [{"id": "to_c", "kind": "flow", "flow": "deeper/c.json"}]})");
    writeFile(d + QStringLiteral("/deeper/c.json"),
              R"({"name": "c", "tasks": [{"id": "to_a", "kind": "flow", "flow": "../a.json"}]})");
    QTest::newRow("itself") << d + QStringLiteral("/self.json")
                            << QStringLiteral("tasks[0].flow: the flow runs itself: self.json -> self.json");
    QTest::newRow("through two files")
        << d + QStringLiteral("/a.json")
        << QStringLiteral("tasks[1].flow: the flow contains itself through its subflows: a.json -> b.json -> "
                          "c.json -> a.json");
}

void TestSubflows::recursionRefused()
{
    QFETCH(QString, top);
    QFETCH(QString, error);
    const CliResult r = runCli({QStringLiteral("validate"), top});
    QCOMPARE(r.exitCode, 2);
    QVERIFY2(r.err.contains(error), qPrintable(r.err));
    // Refused before anything runs.
    const CliResult run = runCli(
        {QStringLiteral("run"), top, QStringLiteral("--db"), m_dir.filePath(QStringLiteral("rec.db"))});
    QCOMPARE(run.exitCode, 2);
    QVERIFY2(run.err.contains(error), qPrintable(run.err));
}

void TestSubflows::missingSubflowLocated()
{
    const QString path = writeFile(m_dir.path() + QStringLiteral("/missing.json"),
                                   R"({"name": "m", "tasks": [{"id": "x", "kind": "noop"},
        {"id": "sub", "kind": "flow", "flow": "nowhere.json"},
        {"id": "p", "kind": "flow", "flow": "sub/child.json", "parameters": 3}]})");
    const CliResult r = runCli({QStringLiteral("validate"), path});
    QCOMPARE(r.exitCode, 2);
    QVERIFY2(r.err.contains(QStringLiteral("tasks[1].flow: no flow file")), qPrintable(r.err));
    QVERIFY2(r.err.contains(QStringLiteral("nowhere.json")), qPrintable(r.err));
    QVERIFY2(r.err.contains(QStringLiteral("tasks[2].parameters: expected an object")), qPrintable(r.err));
}

void TestSubflows::storedLinkAndRunsLsParent()
{
    QFETCH(QString, backend);
    FLOWDECK_FRESH_DATABASE(db, backend);
    const QStringList args
        = {QStringLiteral("run"), m_parent, QStringLiteral("--db"), db, QStringLiteral("--json")};
    const CliResult r = runCli(args);
    QVERIFY2(r.exitCode == 0, qPrintable(describe(args, r)));
    const QString parentId = flowRunIdOf(r.out);
    QVERIFY(!parentId.isEmpty());

    const QList<QVariantList> rows = query(
        db,
        QStringLiteral("SELECT id, parent_task_run_id, flow_name, state, document FROM flow_runs WHERE "
                       "parent_flow_run_id = ?"),
        {parentId});
    QCOMPARE(rows.size(), 1);
    const QString childId = rows[0][0].toString();
    const QList<QVariantList> task = query(
        db, QStringLiteral("SELECT id FROM task_runs WHERE flow_run_id = ? AND task = 'sub'"), {parentId});
    QCOMPARE(task.size(), 1);
    QCOMPARE(rows[0][1].toString(), task[0][0].toString());
    QCOMPARE(rows[0][2].toString(), QStringLiteral("child"));
    QCOMPARE(rows[0][3].toString(), QStringLiteral("COMPLETED"));
    // The child's own document is stored with it.
    QCOMPARE(QJsonDocument::fromJson(rows[0][4].toString().toUtf8()).object().value(QStringLiteral("name")),
             QJsonValue(QStringLiteral("child")));

    const QStringList ls = {QStringLiteral("runs"),
                            QStringLiteral("ls"),
                            QStringLiteral("--parent"),
                            parentId,
                            QStringLiteral("--json"),
                            QStringLiteral("--db"),
                            db};
    const CliResult listed = runCli(ls);
    QVERIFY2(listed.exitCode == 0, qPrintable(describe(ls, listed)));
    const QJsonArray array = QJsonDocument::fromJson(listed.out.toUtf8()).array();
    QCOMPARE(array.size(), 1);
    QCOMPARE(array[0][QStringLiteral("id")].toString(), childId);
    QCOMPARE(array[0][QStringLiteral("parent_flow_run_id")].toString(), parentId);
    // Without --parent both runs are listed; a run without subflows has none.
    const CliResult all = runCli(
        {QStringLiteral("runs"), QStringLiteral("ls"), QStringLiteral("--json"), QStringLiteral("--db"), db});
    QCOMPARE(QJsonDocument::fromJson(all.out.toUtf8()).array().size(), 2);
    const CliResult none = runCli({QStringLiteral("runs"), QStringLiteral("ls"), QStringLiteral("--parent"),
                                   childId, QStringLiteral("--db"), db});
    QCOMPARE(none.exitCode, 0);
    QVERIFY2(none.out.contains(QStringLiteral("no flow runs match")), qPrintable(none.out));
    const CliResult unknown
        = runCli({QStringLiteral("runs"), QStringLiteral("ls"), QStringLiteral("--parent"),
                  QStringLiteral("ffffffffff"), QStringLiteral("--db"), db});
    QCOMPARE(unknown.exitCode, 2);
    // `runs show` of the child names its parent.
    const CliResult show
        = runCli({QStringLiteral("runs"), QStringLiteral("show"), childId, QStringLiteral("--db"), db});
    QVERIFY2(show.out.contains(QStringLiteral("subflow of:  flow run ") + parentId), qPrintable(show.out));
}

void TestSubflows::retryRunsTheFailedChildAgain()
{
    QFETCH(QString, backend);
    FLOWDECK_FRESH_DATABASE(db, backend);
    const QString dir = m_dir.path() + QStringLiteral("/retry-") + backend;
    const QString marker = dir + QStringLiteral("/fixed");
    writeFile(dir + QStringLiteral("/inner/flaky.json"),
              QStringLiteral(R"({"name": "flaky", "tasks": [{"id": "check", "kind": "shell",
                  "command": ["sh", "-c", "echo ran >> %1/count; test -e %2"]}]})")
                  .arg(dir, marker)
                  .toUtf8());
    const QString parentPath = writeFile(dir + QStringLiteral("/outer.json"), R"({"name": "outer", "tasks": [
        {"id": "first", "kind": "noop"},
        {"id": "sub", "kind": "flow", "flow": "inner/flaky.json", "depends_on": ["first"]}]})");
    const CliResult failed
        = runCli({QStringLiteral("run"), parentPath, QStringLiteral("--db"), db, QStringLiteral("--json")});
    QCOMPARE(failed.exitCode, 1);
    const QString parentId = flowRunIdOf(failed.out);

    writeFile(marker, "");
    const QStringList retry
        = {QStringLiteral("runs"), QStringLiteral("retry"), parentId, QStringLiteral("--db"), db};
    const CliResult retried = runCli(retry);
    QVERIFY2(retried.exitCode == 0, qPrintable(describe(retry, retried)));
    QCOMPARE(
        query(db, QStringLiteral("SELECT state FROM flow_runs WHERE id = ?"), {parentId})[0][0].toString(),
        QStringLiteral("COMPLETED"));
    // The failed child stays as it was; the retry ran the subflow again as a new child of the same run.
    const QList<QVariantList> children = query(
        db, QStringLiteral("SELECT state FROM flow_runs WHERE parent_flow_run_id = ? ORDER BY created_at"),
        {parentId});
    QCOMPARE(children.size(), 2);
    QCOMPARE(children[0][0].toString(), QStringLiteral("FAILED"));
    QCOMPARE(children[1][0].toString(), QStringLiteral("COMPLETED"));
    QFile count(dir + QStringLiteral("/count"));
    QVERIFY(count.open(QIODevice::ReadOnly));
    QCOMPARE(count.readAll().count('\n'), 2);
}

QTEST_GUILESS_MAIN(TestSubflows)
#include "tst_subflows.moc"
