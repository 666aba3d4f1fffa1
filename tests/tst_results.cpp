// Results between tasks: what each kind gives, references into results (whole-field types, paths,
// mapped upstreams, map_over), for_each over a list known only at run time, the size limit, the flow's
// own result, located errors, results in the store (both backends), runs show and retry.
#include "cliutil.h"
#include "flow/flowparser.h"
#include "flow/taskkind.h"
#include "run/engine.h"
#include "run/flowrun.h"
#include "session/session.h"
#include "store/store.h"
#include "testutil.h"

#include <QFile>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QTemporaryDir>
#include <QTest>

using namespace flowdeck;
using namespace flowdeck::test;

namespace {

constexpr int WaitMs = 20000;

//! The errors of validating \a json, as "path: message" lines.
QStringList validationErrors(const QByteArray& json)
{
    ValidationErrors errors;
    FlowParser(TaskKindRegistry::instance()).parse(json, QStringLiteral("test"), errors);
    QStringList lines;
    for (const ValidationError& e : errors)
        lines << e.toString();
    return lines;
}

QString state(const TaskRun* run)
{
    return run ? toString(run->type) : QStringLiteral("(no run)");
}

} // namespace

class TestResults : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void init();
    void cleanup();

    void kindsGiveResults();
    void shellJsonParseErrorSaysWhere();
    void shellJsonResultFeedsHttpUrl();
    void wholeFieldKeepsTypeEmbeddedRendersText();
    void mappedUpstreamIsArrayInMapOrder();
    void mapOverReadsTheMatchingRun();
    void forEachOverListMadeAtRunTime();
    void forEachEmptyArrayGivesNoRunsAndGoesOn();
    void forEachOverNonArrayFails();
    void missingPathFailsNamingTheKeys();
    void resultSizeLimit();
    void flowResult();
    void badReferencesAreLocated();
    void validateExitsTwoOnBadReference();
    void resultsAreStoredAndDroppedFromMemory_data() { addBackendRows(); }
    void resultsAreStoredAndDroppedFromMemory();
    void runsShowIncludesResults();
    void retryReusesStoredResults();
    void retryGoesOnWithForEachRuns();

private:
    FlowRun* runFlow(const QByteArray& json);

    std::unique_ptr<Engine> m_engine;
};

void TestResults::init()
{
    m_engine = std::make_unique<Engine>();
}

void TestResults::cleanup()
{
    cancelAndDrain(*m_engine);
    m_engine.reset();
}

FlowRun* TestResults::runFlow(const QByteArray& json)
{
    const auto flow = parseFlow(json);
    if (!flow)
        return nullptr;
    FlowRun* run = m_engine->start(*flow);
    if (!waitForFlow(*m_engine, run, WaitMs))
        qWarning("the flow run did not finish within %d ms", WaitMs);
    return run;
}

//! shell: none (null), stdout, last_line, json; noop: "value" or null; sleep: null; http: status,
//! headers and body (parsed when the response is JSON, else text).
void TestResults::kindsGiveResults()
{
    TestHttpServer server;
    QVERIFY(server.listen());
    const QByteArray json
        = QByteArrayLiteral(R"JSON({"name": "kinds", "tasks": [
        {"id": "none", "kind": "shell", "command": ["echo", "hi"]},
        {"id": "out", "kind": "shell", "command": ["printf", "one\ntwo\n"], "result": "stdout"},
        {"id": "last", "kind": "shell", "command": ["printf", "one\ntwo\n"], "result": "last_line"},
        {"id": "json", "kind": "shell", "command": ["echo", "{\"a\": [1, 2]}"], "result": "json"},
        {"id": "noop", "kind": "noop", "value": {"k": "v"}},
        {"id": "empty", "kind": "noop"},
        {"id": "sleep", "kind": "sleep", "seconds": 0.01},
        {"id": "http", "kind": "http", "url": "URL/json"},
        {"id": "text", "kind": "http", "url": "URL/ok"}]})JSON")
              .replace("URL", server.url(QStringLiteral("/")).toString().chopped(1).toUtf8());
    FlowRun* run = runFlow(json);
    QVERIFY(run);
    QCOMPARE(toString(run->type), toString(StateType::Completed));
    QVERIFY(taskRun(run, QStringLiteral("none"))->result.isNull());
    QCOMPARE(taskRun(run, QStringLiteral("out"))->result, QJsonValue(QStringLiteral("one\ntwo\n")));
    QCOMPARE(taskRun(run, QStringLiteral("last"))->result, QJsonValue(QStringLiteral("two")));
    QCOMPARE(taskRun(run, QStringLiteral("json"))->result,
             QJsonValue(QJsonObject{{QStringLiteral("a"), QJsonArray{1, 2}}}));
    QCOMPARE(taskRun(run, QStringLiteral("noop"))->result,
             QJsonValue(QJsonObject{{QStringLiteral("k"), QStringLiteral("v")}}));
    QVERIFY(taskRun(run, QStringLiteral("empty"))->result.isNull());
    QVERIFY(taskRun(run, QStringLiteral("sleep"))->result.isNull());
    const QJsonObject http = taskRun(run, QStringLiteral("http"))->result.toObject();
    QCOMPARE(http.value(QStringLiteral("status")).toInt(), 200);
    QCOMPARE(
        http.value(QStringLiteral("headers")).toObject().value(QStringLiteral("content-type")).toString(),
        QStringLiteral("application/json"));
    QCOMPARE(http.value(QStringLiteral("body")).toObject(),
             QJsonDocument::fromJson(TestHttpServer::jsonBody()).object());
    const QJsonObject text = taskRun(run, QStringLiteral("text"))->result.toObject();
    QCOMPARE(text.value(QStringLiteral("body")).toString(), QString::fromUtf8(TestHttpServer::okBody()));

    QStringList errors = validationErrors(R"({"name": "x", "tasks": [
        {"id": "a", "kind": "shell", "command": ["true"], "result": "lines"}]})");
    QCOMPARE(errors.size(), 1);
    QVERIFY2(errors.first().startsWith(QStringLiteral("tasks[0].result: unknown result \"lines\"")),
             qPrintable(errors.first()));
}

void TestResults::shellJsonParseErrorSaysWhere()
{
    FlowRun* run = runFlow(R"JSON({"name": "bad", "tasks": [
        {"id": "a", "kind": "shell", "command": ["printf", "{\n  \"a\": 1,\n  oops\n}"], "result": "json"}]})JSON");
    QVERIFY(run);
    const TaskRun* a = taskRun(run, QStringLiteral("a"));
    QCOMPARE(state(a), toString(StateType::Failed));
    QVERIFY2(a->message.contains(QStringLiteral("invalid JSON at line 3, column ")), qPrintable(a->message));
}

//! A shell task's JSON output gives an http task its URL and body; the request goes where it says.
void TestResults::shellJsonResultFeedsHttpUrl()
{
    TestHttpServer server;
    QVERIFY(server.listen());
    const QByteArray json
        = QByteArrayLiteral(R"JSON({"name": "feed", "tasks": [
        {"id": "plan", "kind": "shell", "result": "json",
         "command": ["echo", "{\"base\": \"URL\", \"route\": {\"path\": \"/echo\"}, \"payload\": {\"n\": 3}}"]},
        {"id": "call", "kind": "http", "method": "POST",
         "url": "{{tasks.plan.result.base}}{{tasks.plan.result.route.path}}",
         "body": "{{tasks.plan.result.payload}}"}]})JSON")
              .replace("URL", server.url(QStringLiteral("/")).toString().chopped(1).toUtf8());
    FlowRun* run = runFlow(json);
    QVERIFY(run);
    QCOMPARE(toString(run->type), toString(StateType::Completed));
    QCOMPARE(server.requests.size(), 1);
    QCOMPARE(server.requests.first().path, QByteArrayLiteral("/echo"));
    QCOMPARE(QJsonDocument::fromJson(server.requests.first().body).object(),
             QJsonObject({{QStringLiteral("n"), 3}}));
    // The reference implied the dependency: the call ran after the plan.
    QVERIFY(taskRun(run, QStringLiteral("call"))->startedUs >= taskRun(run, QStringLiteral("plan"))->endedUs);
    QCOMPARE(run->def.tasks.at(1).dependsOn, QStringList{QStringLiteral("plan")});
}

void TestResults::wholeFieldKeepsTypeEmbeddedRendersText()
{
    FlowRun* run = runFlow(R"JSON({"name": "types", "tasks": [
        {"id": "a", "kind": "noop", "value": {"n": 5, "f": 1.5, "list": [1, "x"], "flag": true, "s": "raw", "nil": null}},
        {"id": "b", "kind": "noop", "value": {
            "n": "{{tasks.a.result.n}}", "list": "{{ tasks.a.result.list }}", "flag": "{{tasks.a.result.flag}}",
            "nil": "{{tasks.a.result.nil}}", "all": "{{tasks.a.result}}",
            "text": "n={{tasks.a.result.n}} f={{tasks.a.result.f}} list={{tasks.a.result.list}} s={{tasks.a.result.s}} flag={{tasks.a.result.flag}} second={{tasks.a.result.list[1]}}"}},
        {"id": "c", "kind": "sleep", "seconds": "{{tasks.a.result.f}}"}]})JSON");
    QVERIFY(run);
    QCOMPARE(toString(run->type), toString(StateType::Completed));
    const QJsonObject b = taskRun(run, QStringLiteral("b"))->result.toObject();
    QCOMPARE(b.value(QStringLiteral("n")), QJsonValue(5));
    QCOMPARE(b.value(QStringLiteral("list")), QJsonValue(QJsonArray{1, QStringLiteral("x")}));
    QCOMPARE(b.value(QStringLiteral("flag")), QJsonValue(true));
    QVERIFY(b.value(QStringLiteral("nil")).isNull());
    QCOMPARE(b.value(QStringLiteral("all")).toObject().value(QStringLiteral("s")).toString(),
             QStringLiteral("raw"));
    QCOMPARE(b.value(QStringLiteral("text")).toString(),
             QStringLiteral("n=5 f=1.5 list=[1,\"x\"] s=raw flag=true second=x"));
    // A whole reference in a number field is checked when it resolves: 1.5 s was slept.
    QCOMPARE(taskRun(run, QStringLiteral("c"))->message, QStringLiteral("slept 1.5 s"));

    // A resolved value of the wrong type fails the run, naming the field and the reference.
    run = runFlow(R"JSON({"name": "wrong", "tasks": [
        {"id": "a", "kind": "noop", "value": {"s": "soon"}},
        {"id": "c", "kind": "sleep", "seconds": "{{tasks.a.result.s}}"}]})JSON");
    QVERIFY(run);
    const TaskRun* c = taskRun(run, QStringLiteral("c"));
    QCOMPARE(state(c), toString(StateType::Failed));
    QVERIFY2(c->message.contains(QStringLiteral("seconds"))
                 && c->message.contains(QStringLiteral("{{tasks.a.result.s}}")),
             qPrintable(c->message));
}

//! A mapped upstream's result is the array of its runs' results in map order, whatever order they
//! finished in.
void TestResults::mappedUpstreamIsArrayInMapOrder()
{
    FlowRun* run = runFlow(R"JSON({"name": "order", "tasks": [
        {"id": "m", "kind": "shell", "map": 4, "result": "last_line",
         "command": ["sh", "-c", "sleep 0.$((4 - {{map_index}}))5; echo r{{map_index}}"]},
        {"id": "all", "kind": "noop", "value": "{{tasks.m.result}}"},
        {"id": "second", "kind": "noop", "value": "{{tasks.m.result[1]}}"}]})JSON");
    QVERIFY(run);
    QCOMPARE(toString(run->type), toString(StateType::Completed));
    // They finished in the reverse order of their indexes.
    QVERIFY(taskRun(run, QStringLiteral("m"), 0)->endedUs > taskRun(run, QStringLiteral("m"), 3)->endedUs);
    QCOMPARE(taskRun(run, QStringLiteral("all"))->result,
             QJsonValue(QJsonArray{QStringLiteral("r0"), QStringLiteral("r1"), QStringLiteral("r2"),
                                   QStringLiteral("r3")}));
    QCOMPARE(taskRun(run, QStringLiteral("second"))->result, QJsonValue(QStringLiteral("r1")));
}

void TestResults::mapOverReadsTheMatchingRun()
{
    FlowRun* run = runFlow(R"JSON({"name": "pairs", "tasks": [
        {"id": "m", "kind": "noop", "map": 3, "value": {"sq": "v{{map_index}}"}},
        {"id": "d", "kind": "noop", "map_over": "m", "value": {"sq": "{{upstream.result.sq}}", "whole": "{{upstream.result}}"}}]})JSON");
    QVERIFY(run);
    QCOMPARE(toString(run->type), toString(StateType::Completed));
    for (int k = 0; k < 3; ++k) {
        const QJsonObject d = taskRun(run, QStringLiteral("d"), k)->result.toObject();
        QCOMPARE(d.value(QStringLiteral("sq")), QJsonValue(QStringLiteral("v%1").arg(k)));
        QCOMPARE(d.value(QStringLiteral("whole")).toObject().value(QStringLiteral("sq")).toString(),
                 QStringLiteral("v%1").arg(k));
    }
}

//! One task run per element of an array a shell task prints at run time; {{item}} and {{map_index}}
//! inside; the task after it reads their results in order.
void TestResults::forEachOverListMadeAtRunTime()
{
    QTemporaryDir dir;
    const QString count = dir.filePath(QStringLiteral("count"));
    QFile::remove(count);
    const QByteArray json = QByteArrayLiteral(R"JSON({"name": "fan", "tasks": [
        {"id": "list", "kind": "shell", "result": "json",
         "command": ["sh", "-c", "printf '{\"files\": ['; for i in $(seq 1 COUNT); do [ $i -gt 1 ] && printf ,; printf '{\"name\": \"f%s\"}' $i; done; printf ']}'"]},
        {"id": "each", "kind": "shell", "for_each": "{{tasks.list.result.files}}", "result": "last_line",
         "command": ["sh", "-c", "echo {{item.name}}@{{map_index}}"]},
        {"id": "after", "kind": "noop", "value": "{{tasks.each.result}}"}]})JSON")
                                .replace("COUNT", "7");
    FlowRun* run = runFlow(json);
    QVERIFY(run);
    QCOMPARE(toString(run->type), toString(StateType::Completed));
    QCOMPARE(run->totalTaskRuns, 9);
    QJsonArray expected;
    for (int i = 0; i < 7; ++i) {
        const TaskRun* each = taskRun(run, QStringLiteral("each"), i);
        QCOMPARE(each->mapIndex, i);
        expected.append(QStringLiteral("f%1@%2").arg(i + 1).arg(i));
    }
    QCOMPARE(taskRun(run, QStringLiteral("after"))->result, QJsonValue(expected));
}

void TestResults::forEachEmptyArrayGivesNoRunsAndGoesOn()
{
    FlowRun* run = runFlow(R"JSON({"name": "none", "tasks": [
        {"id": "list", "kind": "noop", "value": {"items": []}},
        {"id": "each", "kind": "noop", "for_each": "{{tasks.list.result.items}}", "value": "{{item}}"},
        {"id": "after", "kind": "noop", "value": "{{tasks.each.result}}"}]})JSON");
    QVERIFY(run);
    QCOMPARE(toString(run->type), toString(StateType::Completed));
    QCOMPARE(run->totalTaskRuns, 2);
    QCOMPARE(run->nodes[1].runs.constructed(), std::size_t(0));
    QCOMPARE(taskRun(run, QStringLiteral("after"))->result, QJsonValue(QJsonArray()));
}

void TestResults::forEachOverNonArrayFails()
{
    FlowRun* run = runFlow(R"JSON({"name": "scalar", "tasks": [
        {"id": "list", "kind": "noop", "value": {"items": {"a": 1}}},
        {"id": "each", "kind": "noop", "for_each": "{{tasks.list.result.items}}"},
        {"id": "after", "kind": "noop", "depends_on": ["each"]}]})JSON");
    QVERIFY(run);
    QCOMPARE(toString(run->type), toString(StateType::Failed));
    const TaskRun* each = taskRun(run, QStringLiteral("each"));
    QCOMPARE(state(each), toString(StateType::Failed));
    QVERIFY2(each->message.contains(QStringLiteral("tasks.list.result.items"))
                 && each->message.contains(QStringLiteral("not an array")),
             qPrintable(each->message));
    QCOMPARE(toString(taskRun(run, QStringLiteral("after"))->name), toString(StateName::UpstreamFailed));

    // A path that misses fails it too, naming what exists.
    run = runFlow(R"JSON({"name": "missing", "tasks": [
        {"id": "list", "kind": "noop", "value": {"items": [1]}},
        {"id": "each", "kind": "noop", "for_each": "{{tasks.list.result.itms}}"}]})JSON");
    QVERIFY(run);
    each = taskRun(run, QStringLiteral("each"));
    QCOMPARE(state(each), toString(StateType::Failed));
    QVERIFY2(each->message.contains(QStringLiteral("\"itms\""))
                 && each->message.contains(QStringLiteral("keys there: items")),
             qPrintable(each->message));
}

void TestResults::missingPathFailsNamingTheKeys()
{
    FlowRun* run = runFlow(R"JSON({"name": "miss", "tasks": [
        {"id": "a", "kind": "noop", "value": {"body": {"x": 1, "y": [10, 20]}}},
        {"id": "key", "kind": "noop", "value": "{{tasks.a.result.body.z}}"},
        {"id": "index", "kind": "noop", "value": "v={{tasks.a.result.body.y[2]}}"},
        {"id": "deeper", "kind": "noop", "value": "{{tasks.a.result.body.x.q}}"}]})JSON");
    QVERIFY(run);
    QCOMPARE(toString(run->type), toString(StateType::Failed));
    const TaskRun* key = taskRun(run, QStringLiteral("key"));
    QCOMPARE(state(key), toString(StateType::Failed));
    QVERIFY2(key->message.contains(QStringLiteral("{{tasks.a.result.body.z}}"))
                 && key->message.contains(QStringLiteral("no key \"z\" at \".body\"; keys there: x, y")),
             qPrintable(key->message));
    const TaskRun* index = taskRun(run, QStringLiteral("index"));
    QVERIFY2(index->message.contains(QStringLiteral("index 2 is out of range; \".body.y\" has 2 elements")),
             qPrintable(index->message));
    const TaskRun* deeper = taskRun(run, QStringLiteral("deeper"));
    QVERIFY2(deeper->message.contains(QStringLiteral("\".body.x\" is a number")),
             qPrintable(deeper->message));
    QCOMPARE(int(key->attempts), 0); // its kind never ran
}

void TestResults::resultSizeLimit()
{
    // Per task.
    const QString big(2000, u'x');
    FlowRun* run = runFlow(QStringLiteral(R"JSON({"name": "limit", "tasks": [
        {"id": "a", "kind": "noop", "value": "%1", "max_result_bytes": 1000},
        {"id": "b", "kind": "noop", "value": "%1", "max_result_bytes": 3000}]})JSON")
                               .arg(big)
                               .toUtf8());
    QVERIFY(run);
    const TaskRun* a = taskRun(run, QStringLiteral("a"));
    QCOMPARE(state(a), toString(StateType::Failed));
    QVERIFY2(a->message.contains(QStringLiteral("2002 bytes"))
                 && a->message.contains(QStringLiteral("limit of 1000 bytes")),
             qPrintable(a->message));
    QCOMPARE(state(taskRun(run, QStringLiteral("b"))), toString(StateType::Completed));

    // The engine's default: 1 MB unless set.
    QCOMPARE(m_engine->defaultMaxResultBytes(), qint64(1024 * 1024));
    run = runFlow(QStringLiteral(R"JSON({"name": "default", "tasks": [
        {"id": "a", "kind": "noop", "value": "%1"}]})JSON")
                      .arg(QString(1024 * 1024, u'y'))
                      .toUtf8());
    QVERIFY(run);
    a = taskRun(run, QStringLiteral("a"));
    QCOMPARE(state(a), toString(StateType::Failed));
    QVERIFY2(a->message.contains(QStringLiteral("1048578 bytes"))
                 && a->message.contains(QStringLiteral("1048576")),
             qPrintable(a->message));
    m_engine->setDefaultMaxResultBytes(100);
    run = runFlow(R"JSON({"name": "set", "tasks": [
        {"id": "out", "kind": "shell", "command": ["sh", "-c", "head -c 5000 /dev/zero | tr '\\0' z"], "result": "stdout"},
        {"id": "ok", "kind": "noop", "value": "short"}]})JSON");
    QVERIFY(run);
    const TaskRun* out = taskRun(run, QStringLiteral("out"));
    QCOMPARE(state(out), toString(StateType::Failed));
    QVERIFY2(out->message.contains(QStringLiteral("more than 100 bytes")), qPrintable(out->message));
    QCOMPARE(state(taskRun(run, QStringLiteral("ok"))), toString(StateType::Completed));
}

void TestResults::flowResult()
{
    FlowRun* run = runFlow(
        R"JSON({"name": "own", "result": {"loaded": "{{tasks.load.result.rows}}", "note": "rows: {{tasks.load.result.rows}}"},
        "tasks": [{"id": "load", "kind": "noop", "value": {"rows": 42}}]})JSON");
    QVERIFY(run);
    QCOMPARE(toString(run->type), toString(StateType::Completed));
    QCOMPARE(run->result,
             QJsonValue(QJsonObject{{QStringLiteral("loaded"), 42},
                                    {QStringLiteral("note"), QStringLiteral("rows: 42")}}));

    // Without "result", none; a result that does not resolve fails the flow run, saying why.
    run = runFlow(R"JSON({"name": "plain", "tasks": [{"id": "load", "kind": "noop", "value": 1}]})JSON");
    QVERIFY(run);
    QVERIFY(run->result.isUndefined() || run->result.isNull());
    run = runFlow(R"JSON({"name": "misses", "result": "{{tasks.load.result.rows}}",
        "tasks": [{"id": "load", "kind": "noop", "value": {"cols": 1}}]})JSON");
    QVERIFY(run);
    QCOMPARE(toString(run->type), toString(StateType::Failed));
    QVERIFY2(run->message.contains(QStringLiteral("the flow's result"))
                 && run->message.contains(QStringLiteral("keys there: cols")),
             qPrintable(run->message));
}

//! Every malformed reference, path and for_each target is a validation error at its place.
void TestResults::badReferencesAreLocated()
{
    struct Case {
        const char* tasks;
        QString path;
        QString message;
    };
    const QList<Case> cases = {
        {R"([{"id": "b", "kind": "noop", "value": "{{tasks.nope.result}}"}])",
         QStringLiteral("tasks[0].value"), QStringLiteral("no task named \"nope\"")},
        {R"([{"id": "a", "kind": "noop", "value": "{{tasks.b.result}}"}, {"id": "b", "kind": "noop", "value": ["{{tasks.a.result}}"]}])",
         QStringLiteral("tasks[1].value[0]"), QStringLiteral("dependency cycle: a -> b -> a")},
        {R"([{"id": "a", "kind": "noop", "value": "{{tasks.a.result}}"}])", QStringLiteral("tasks[0].value"),
         QStringLiteral("cannot read its own result")},
        {R"([{"id": "a", "kind": "noop"}, {"id": "b", "kind": "noop", "value": {"x": ["{{tasks.a.result.}}"]}}])",
         QStringLiteral("tasks[1].value.x[0]"),
         QStringLiteral("at character 16: expected a key after \".\"")},
        {R"([{"id": "a", "kind": "noop"}, {"id": "b", "kind": "noop", "value": "{{tasks.a.result[x]}}"}])",
         QStringLiteral("tasks[1].value"), QStringLiteral("expected an index in digits")},
        {R"([{"id": "a", "kind": "noop"}, {"id": "b", "kind": "noop", "value": "{{tasks.a.reslt}}"}])",
         QStringLiteral("tasks[1].value"), QStringLiteral("expected \"tasks.ID.result\"")},
        {R"([{"id": "a", "kind": "noop"}, {"id": "b", "kind": "noop", "value": "{{tasks.a.result.x y}}"}])",
         QStringLiteral("tasks[1].value"), QStringLiteral("expected \".key\" or \"[index]\"")},
        {R"([{"id": "a", "kind": "noop", "value": "{{item}}"}])", QStringLiteral("tasks[0].value"),
         QStringLiteral("only be used in a task with \"for_each\"")},
        {R"([{"id": "a", "kind": "noop", "value": "{{upstream.result}}"}])", QStringLiteral("tasks[0].value"),
         QStringLiteral("only be used in a task with \"map_over\"")},
        {R"([{"id": "a", "kind": "noop", "map": 2, "value": "{{upstream.reslt}}"}, {"id": "b", "kind": "noop", "map_over": "a", "value": "{{upstream.reslt}}"}])",
         QStringLiteral("tasks[0].value"), QStringLiteral("expected \"upstream.result\"")},
        {R"([{"id": "a", "kind": "noop"}, {"id": "b", "kind": "noop", "for_each": "tasks.a.result"}])",
         QStringLiteral("tasks[1].for_each"), QStringLiteral("expected one reference to a task's result")},
        {R"([{"id": "a", "kind": "noop"}, {"id": "b", "kind": "noop", "for_each": ["{{tasks.a.result}}"]}])",
         QStringLiteral("tasks[1].for_each"), QStringLiteral("expected one reference to a task's result")},
        {R"([{"id": "a", "kind": "noop"}, {"id": "b", "kind": "noop", "for_each": "{{tasks.z.result}}"}])",
         QStringLiteral("tasks[1].for_each"), QStringLiteral("no task named \"z\"")},
        {R"([{"id": "a", "kind": "noop"}, {"id": "b", "kind": "noop", "map": 2, "for_each": "{{tasks.a.result}}"}])",
         QStringLiteral("tasks[1].for_each"), QStringLiteral("cannot have \"for_each\" with \"map\"")},
        {R"([{"id": "a", "kind": "noop"}, {"id": "b", "kind": "noop", "for_each": "{{tasks.a.result}}"}, {"id": "c", "kind": "noop", "map_over": "b"}])",
         QStringLiteral("tasks[2].map_over"), QStringLiteral("known only at run time")},
        {R"([{"id": "a", "kind": "noop"}, {"id": "b", "kind": "noop", "retries": "{{tasks.a.result}}"}])",
         QStringLiteral("tasks[1].retries"), QStringLiteral("expected")},
        {R"([{"id": "a", "kind": "noop", "value": "{{tasks.a.result}}", "max_result_bytes": -1}])",
         QStringLiteral("tasks[0].max_result_bytes"), QStringLiteral("")},
    };
    for (const Case& c : cases) {
        const QByteArray json = QByteArrayLiteral(R"({"name": "bad", "tasks": )") + c.tasks + '}';
        const QStringList errors = validationErrors(json);
        const QString wanted = c.path + QStringLiteral(": ");
        const bool found = std::any_of(errors.cbegin(), errors.cend(), [&](const QString& e) {
            return e.startsWith(wanted) && e.contains(c.message);
        });
        QVERIFY2(found,
                 qPrintable(QStringLiteral("%1\nwanted %2...%3\ngot:\n%4")
                                .arg(QString::fromUtf8(c.tasks), wanted, c.message, errors.join(u'\n'))));
    }
    // The flow's result: only task results, of tasks that exist.
    QStringList errors
        = validationErrors(R"({"name": "r", "result": {"a": "{{tasks.nope.result}}", "b": "{{item}}"},
        "tasks": [{"id": "a", "kind": "noop"}]})");
    QCOMPARE(errors.size(), 2);
    QVERIFY2(errors.at(0).startsWith(QStringLiteral("result.a: "))
                 && errors.at(0).contains(QStringLiteral("no task named")),
             qPrintable(errors.join(u'\n')));
    QVERIFY2(errors.at(1).startsWith(QStringLiteral("result.b: ")), qPrintable(errors.join(u'\n')));
    // A good one passes, and the reference makes the dependency.
    const auto flow = parseFlow(R"({"name": "ok", "tasks": [{"id": "a.b", "kind": "noop"},
        {"id": "c", "kind": "noop", "value": "{{tasks.a.b.result.x}}"}]})");
    QVERIFY(flow);
    QCOMPARE(flow->tasks.at(1).dependsOn, QStringList{QStringLiteral("a.b")});
    QCOMPARE(flow->tasks.at(1).resultsRead, QStringList{QStringLiteral("a.b")});
}

void TestResults::validateExitsTwoOnBadReference()
{
    QTemporaryDir dir;
    const QString path = dir.filePath(QStringLiteral("bad.json"));
    QFile file(path);
    QVERIFY(file.open(QIODevice::WriteOnly));
    file.write(R"({"name": "bad", "tasks": [{"id": "a", "kind": "noop"},
        {"id": "b", "kind": "noop", "for_each": "{{tasks.a.result.items[}}"}]})");
    file.close();
    const CliResult r = runCli({QStringLiteral("validate"), path});
    QCOMPARE(r.exitCode, 2);
    QVERIFY2(r.err.contains(QStringLiteral("tasks[1].for_each"))
                 && r.err.contains(QStringLiteral("malformed reference")),
             qPrintable(r.err + r.out));
}

//! Results go to the store with the transition that completes the run (the flow's result with the
//! flow run's), on both backends; the engine keeps a result only while a task run still reads it.
void TestResults::resultsAreStoredAndDroppedFromMemory()
{
    QFETCH(QString, backend);
    FLOWDECK_FRESH_DATABASE(url, backend);
    Session session(m_engine->scheduler());
    auto opening = session.open(url, {.engine = m_engine.get(), .registerEngine = false, .pool = {}});
    finish(opening);
    QVERIFY(session.isOpen());
    const auto flow = parseFlow(R"JSON({"name": "stored", "result": "{{tasks.sum.result}}", "tasks": [
        {"id": "gen", "kind": "noop", "value": {"items": ["a", "b", "c"]}},
        {"id": "each", "kind": "noop", "for_each": "{{tasks.gen.result.items}}", "value": "{{item}}{{map_index}}"},
        {"id": "sum", "kind": "noop", "value": {"all": "{{tasks.each.result}}"}},
        {"id": "lonely", "kind": "noop", "value": "nobody reads me"}]})JSON");
    QVERIFY(flow);
    FlowRun* run = m_engine->start(*flow);
    QVERIFY(waitForFlow(*m_engine, run, WaitMs));
    QCOMPARE(toString(run->type), toString(StateType::Completed));
    auto flushing = session.store()->flush();
    finish(flushing);
    // Nobody reads any of them any more: none is held in memory.
    for (const TaskNode& node : run->nodes) {
        for (std::size_t i = 0; i < node.runs.constructed(); ++i)
            QVERIFY2(node.runs[i].result.isNull(), qPrintable(taskRunLabel(node.runs[i])));
    }
    QCOMPARE(run->result,
             QJsonValue(QJsonObject{
                 {QStringLiteral("all"),
                  QJsonArray{QStringLiteral("a0"), QStringLiteral("b1"), QStringLiteral("c2")}}}));
    Db db(url);
    const auto resultOf = [&](const QString& task, int index) {
        const QString text
            = db.value(QStringLiteral("SELECT result FROM task_runs WHERE flow_run_id = ? AND task = ? AND "
                                      "COALESCE(map_index, -1) = ?"),
                       {run->id.toString(), task, index})
                  .toString();
        return QJsonDocument::fromJson('[' + text.toUtf8() + ']').array().at(0);
    };
    QCOMPARE(resultOf(QStringLiteral("gen"), -1).toObject().value(QStringLiteral("items")).toArray().size(),
             3);
    QCOMPARE(resultOf(QStringLiteral("each"), 1), QJsonValue(QStringLiteral("b1")));
    QCOMPARE(resultOf(QStringLiteral("lonely"), -1), QJsonValue(QStringLiteral("nobody reads me")));
    QCOMPARE(QJsonDocument::fromJson(
                 db.value(QStringLiteral("SELECT result FROM flow_runs WHERE id = ?"), {run->id.toString()})
                     .toString()
                     .toUtf8())
                 .object(),
             run->result.toObject());
    // The for_each's runs count in the stored total.
    QCOMPARE(
        db.count(QStringLiteral("SELECT total_task_runs FROM flow_runs WHERE id = ?"), {run->id.toString()}),
        6);
    auto closing = session.close();
    finish(closing);
}

//! `runs show` lists results (short ones; --json in full up to a size); `--task` prints one in full.
void TestResults::runsShowIncludesResults()
{
    QTemporaryDir dir;
    const QString db = dir.filePath(QStringLiteral("show.db"));
    const QString flowPath = dir.filePath(QStringLiteral("show.json"));
    QFile file(flowPath);
    QVERIFY(file.open(QIODevice::WriteOnly));
    file.write(QStringLiteral(R"JSON({"name": "show", "result": "{{tasks.small.result}}", "tasks": [
        {"id": "small", "kind": "noop", "value": {"rows": 7}},
        {"id": "large", "kind": "noop", "value": "%1"}]})JSON")
                   .arg(QString(3000, u'L'))
                   .toUtf8());
    file.close();
    const QString dbArg = QStringLiteral("--db=") + db;
    CliResult r = runCli({QStringLiteral("run"), flowPath, dbArg});
    QCOMPARE(r.exitCode, 0);
    r = runCli({QStringLiteral("runs"), QStringLiteral("ls"), QStringLiteral("--json"), dbArg});
    const QString id = QJsonDocument::fromJson(r.out.toUtf8())
                           .array()
                           .at(0)
                           .toObject()
                           .value(QStringLiteral("id"))
                           .toString();
    QVERIFY(!id.isEmpty());

    r = runCli({QStringLiteral("runs"), QStringLiteral("show"), id, dbArg});
    QCOMPARE(r.exitCode, 0);
    QVERIFY2(r.out.contains(QStringLiteral("result:      {\"rows\":7}")), qPrintable(r.out));
    QVERIFY2(r.out.contains(QStringLiteral("RESULT")) && r.out.contains(QStringLiteral("\"LLLL")),
             qPrintable(r.out));

    r = runCli({QStringLiteral("runs"), QStringLiteral("show"), id, QStringLiteral("--json"), dbArg});
    QCOMPARE(r.exitCode, 0);
    const QJsonObject shown = QJsonDocument::fromJson(r.out.toUtf8()).object();
    QCOMPARE(shown.value(QStringLiteral("result")).toObject().value(QStringLiteral("rows")).toInt(), 7);
    for (const QJsonValue& t : shown.value(QStringLiteral("task_runs")).toArray()) {
        const QJsonObject o = t.toObject();
        if (o.value(QStringLiteral("task")).toString() == u"small") {
            QCOMPARE(o.value(QStringLiteral("result")).toObject().value(QStringLiteral("rows")).toInt(), 7);
        } else {
            QVERIFY(o.value(QStringLiteral("result")).isNull());
            QCOMPARE(o.value(QStringLiteral("result_bytes")).toInt(), 3002);
            QCOMPARE(o.value(QStringLiteral("result_truncated")).toBool(), true);
        }
    }

    r = runCli({QStringLiteral("runs"), QStringLiteral("show"), id, QStringLiteral("--task"),
                QStringLiteral("large"), QStringLiteral("--json"), dbArg});
    QCOMPARE(r.exitCode, 0);
    QCOMPARE(QJsonDocument::fromJson(r.out.toUtf8()).object().value(QStringLiteral("result")).toString(),
             QString(3000, u'L'));
    r = runCli({QStringLiteral("runs"), QStringLiteral("show"), id, QStringLiteral("--task"),
                QStringLiteral("small"), dbArg});
    QCOMPARE(r.exitCode, 0);
    QVERIFY2(r.out.contains(QStringLiteral("result:\n  {\n      \"rows\": 7\n  }")), qPrintable(r.out));
}

//! A retried flow run reads the stored results of the task runs that completed: they do not run
//! again, and what reads them gets the same values.
void TestResults::retryReusesStoredResults()
{
    QTemporaryDir dir;
    const QString db = dir.filePath(QStringLiteral("retry.db"));
    const QString flowPath = dir.filePath(QStringLiteral("retry.json"));
    const QString ran = dir.filePath(QStringLiteral("ran"));
    const QString marker = dir.filePath(QStringLiteral("marker"));
    const QString out = dir.filePath(QStringLiteral("out"));
    QFile file(flowPath);
    QVERIFY(file.open(QIODevice::WriteOnly));
    file.write(QStringLiteral(R"JSON({"name": "retry", "tasks": [
        {"id": "gen", "kind": "shell", "result": "json",
         "command": ["sh", "-c", "echo x >> RAN; echo \"{\\\"token\\\": \\\"$(od -An -N4 -tx4 /dev/urandom | tr -d ' ')\\\"}\""]},
        {"id": "use", "kind": "shell",
         "command": ["sh", "-c", "echo {{tasks.gen.result.token}} >> OUT; test -e MARKER || { touch MARKER; exit 3; }"]}]})JSON")
                   .replace(QStringLiteral("RAN"), ran)
                   .replace(QStringLiteral("OUT"), out)
                   .replace(QStringLiteral("MARKER"), marker)
                   .toUtf8());
    file.close();
    const QString dbArg = QStringLiteral("--db=") + db;
    CliResult r = runCli({QStringLiteral("run"), flowPath, dbArg});
    QVERIFY2(r.exitCode != 0, qPrintable(r.out + r.err));
    r = runCli({QStringLiteral("runs"), QStringLiteral("ls"), QStringLiteral("--json"), dbArg});
    const QString id = QJsonDocument::fromJson(r.out.toUtf8())
                           .array()
                           .at(0)
                           .toObject()
                           .value(QStringLiteral("id"))
                           .toString();
    r = runCli({QStringLiteral("runs"), QStringLiteral("retry"), id, dbArg});
    QVERIFY2(r.exitCode == 0, qPrintable(r.out + r.err));
    QFile ranFile(ran);
    QVERIFY(ranFile.open(QIODevice::ReadOnly));
    QCOMPARE(ranFile.readAll(), QByteArrayLiteral("x\n")); // gen ran once
    QFile outFile(out);
    QVERIFY(outFile.open(QIODevice::ReadOnly));
    const QList<QByteArray> tokens = outFile.readAll().trimmed().split('\n');
    QCOMPARE(tokens.size(), 2);
    QCOMPARE(tokens.at(1), tokens.at(0)); // the retry read the stored token
    QCOMPARE(tokens.at(0).size(), 8);
}

//! A retried flow run expands its for_each again from the stored list: the element runs that
//! completed keep their rows and results, the one that failed runs again in its own row.
void TestResults::retryGoesOnWithForEachRuns()
{
    QTemporaryDir dir;
    const QString db = dir.filePath(QStringLiteral("fan.db"));
    const QString flowPath = dir.filePath(QStringLiteral("fan.json"));
    const QString ran = dir.filePath(QStringLiteral("ran"));
    QFile file(flowPath);
    QVERIFY(file.open(QIODevice::WriteOnly));
    file.write(QStringLiteral(R"JSON({"name": "fan", "result": "{{tasks.each.result}}", "tasks": [
        {"id": "list", "kind": "noop", "value": ["a", "b", "c"]},
        {"id": "each", "kind": "shell", "for_each": "{{tasks.list.result}}", "result": "last_line",
         "command": ["sh", "-c", "echo {{item}} >> RAN; test {{item}} != b -o -e RAN.b || { touch RAN.b; exit 3; }; echo got-{{item}}"]}]})JSON")
                   .replace(QStringLiteral("RAN"), ran)
                   .toUtf8());
    file.close();
    const QString dbArg = QStringLiteral("--db=") + db;
    CliResult r = runCli({QStringLiteral("run"), flowPath, dbArg});
    QVERIFY2(r.exitCode != 0, qPrintable(r.out + r.err));
    r = runCli({QStringLiteral("runs"), QStringLiteral("ls"), QStringLiteral("--json"), dbArg});
    const QString id = QJsonDocument::fromJson(r.out.toUtf8())
                           .array()
                           .at(0)
                           .toObject()
                           .value(QStringLiteral("id"))
                           .toString();
    r = runCli({QStringLiteral("runs"), QStringLiteral("retry"), id, dbArg});
    QVERIFY2(r.exitCode == 0, qPrintable(r.out + r.err));
    QFile ranFile(ran);
    QVERIFY(ranFile.open(QIODevice::ReadOnly));
    QList<QByteArray> lines = ranFile.readAll().trimmed().split('\n');
    std::sort(lines.begin(), lines.end());
    QCOMPARE(lines, (QList<QByteArray>{"a", "b", "b", "c"})); // only b ran again
    r = runCli({QStringLiteral("runs"), QStringLiteral("show"), id, QStringLiteral("--json"), dbArg});
    const QJsonObject shown = QJsonDocument::fromJson(r.out.toUtf8()).object();
    QCOMPARE(shown.value(QStringLiteral("task_runs")).toArray().size(), 4); // no second row for a, b or c
    QCOMPARE(
        shown.value(QStringLiteral("result")),
        QJsonValue(QJsonArray{QStringLiteral("got-a"), QStringLiteral("got-b"), QStringLiteral("got-c")}));
}

QTEST_GUILESS_MAIN(TestResults)
#include "tst_results.moc"
