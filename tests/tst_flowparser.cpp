#include "flow/flowparser.h"
#include "flow/substitution.h"
#include "flow/taskkind.h"
#include "flowtestkinds.h"

#include <QFile>
#include <QJsonArray>
#include <QJsonDocument>
#include <QTemporaryDir>
#include <QTest>

using namespace flowdeck;
using namespace flowdeck::test;

class TestFlowParser : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void initTestCase();

    void parsesValidFlow();
    void rejectsInvalidFlow_data();
    void rejectsInvalidFlow();
    void reportsAllErrorsInOneCall();
    void reportsJsonSyntaxErrorWithLineAndColumn();
    void rejectsNonObjectDocument();
    void parsesFile();
    void reportsUnreadableFile();
    void keepsMapIndexForMappedTasks();
    void validatesBuiltinKinds();
    void refusesHugeDurations();

private:
    std::optional<FlowDefinition> parse(const QByteArray& json, ValidationErrors& errors,
                                        const QJsonObject& overrides = {}) const
    {
        return FlowParser(TaskKindRegistry::instance())
            .parse(json, QStringLiteral("test"), errors, overrides);
    }
};

void TestFlowParser::initTestCase()
{
    addTestKinds();
}

void TestFlowParser::parsesValidFlow()
{
    const QByteArray json = R"json({
        "name": "etl-demo",
        "description": "a demo",
        "parameters": {"n": 10, "url": "http://127.0.0.1:8080/"},
        "seed": 42,
        "retries": 1,
        "tasks": [
            {"id": "extract", "kind": "probe", "text": "{{url}}", "timeout_s": 5, "retries": 2,
             "retry_delay_s": 0.5, "range": [1, 2.5], "tags": ["io", "net"], "description": "ignored"},
            {"id": "transform", "kind": "probe", "text": "t", "number": 0.5, "map": "{{n}}", "tags": ["cpu"],
             "depends_on": ["extract"], "env": {"A": "1"}, "codes": [200, 204], "body": {"k": [1, {"x": null}]},
             "flag": false, "any": null, "list": ["a", "b"], "integer": 7},
            {"id": "load.v2", "kind": "plain", "depends_on": ["transform", "extract"], "map_over": "transform"}
        ]
    })json";
    ValidationErrors errors;
    const std::optional<FlowDefinition> flow
        = FlowParser(TaskKindRegistry::instance()).parse(json, QStringLiteral("flows/etl.json"), errors);
    QVERIFY2(errors.isEmpty(), qPrintable(errorTexts(errors).join(u'\n')));
    QVERIFY(flow);

    QCOMPARE(flow->name, QStringLiteral("etl-demo"));
    QCOMPARE(flow->description, QStringLiteral("a demo"));
    QCOMPARE(flow->source, QStringLiteral("flows/etl.json"));
    QCOMPARE(flow->seed, std::optional<quint64>(42));
    QCOMPARE(flow->parameters, jsonObject(R"({"n": 10, "url": "http://127.0.0.1:8080/"})"));
    QCOMPARE(flow->document, QJsonDocument::fromJson(json).object());
    QCOMPARE(flow->tasks.size(), 3);

    const TaskDef& extract = flow->tasks.at(0);
    QCOMPARE(extract.id, QStringLiteral("extract"));
    QCOMPARE(extract.kind, QStringLiteral("probe"));
    QCOMPARE(extract.index, 0);
    QCOMPARE(extract.config, jsonObject(R"({"text": "http://127.0.0.1:8080/", "range": [1, 2.5]})"));
    QCOMPARE(extract.tags, QStringList({QStringLiteral("io"), QStringLiteral("net")}));
    QCOMPARE(extract.dependsOn, QStringList());
    QCOMPARE(extract.map, std::nullopt);
    QCOMPARE(extract.mapOver, QString());
    QCOMPARE(extract.retries, 2);
    QCOMPARE(extract.retryDelaySeconds, 0.5);
    QCOMPARE(extract.timeoutSeconds, 5.0);
    QCOMPARE(extract.usesMapIndex, false);

    const TaskDef& transform = flow->tasks.at(1);
    QCOMPARE(transform.index, 1);
    QCOMPARE(transform.map, std::optional<int>(10));
    QCOMPARE(transform.dependsOn, QStringList({QStringLiteral("extract")}));
    QCOMPARE(transform.tags, QStringList({QStringLiteral("cpu")}));
    QCOMPARE(transform.retries, 0);
    QCOMPARE(transform.timeoutSeconds, 0.0);
    QCOMPARE(transform.config,
             jsonObject(R"({"text": "t", "number": 0.5, "env": {"A": "1"}, "codes": [200, 204],
        "body": {"k": [1, {"x": null}]}, "flag": false, "any": null, "list": ["a", "b"], "integer": 7})"));

    const TaskDef& load = flow->tasks.at(2);
    QCOMPARE(load.id, QStringLiteral("load.v2"));
    QCOMPARE(load.kind, QStringLiteral("plain"));
    QCOMPARE(load.index, 2);
    QCOMPARE(load.config, QJsonObject());
    QCOMPARE(load.dependsOn, QStringList({QStringLiteral("transform"), QStringLiteral("extract")}));
    QCOMPARE(load.mapOver, QStringLiteral("transform"));
    QCOMPARE(load.map, std::nullopt);

    QCOMPARE(flow->indexOf(QStringLiteral("extract")), 0);
    QCOMPARE(flow->indexOf(QStringLiteral("load.v2")), 2);
    QCOMPARE(flow->indexOf(QStringLiteral("missing")), -1);
}

void TestFlowParser::rejectsInvalidFlow_data()
{
    QTest::addColumn<QByteArray>("json");
    // Each expected error is matched exactly, or as a prefix when it ends with '*'.
    QTest::addColumn<QStringList>("expected");

    const auto row = [](const char* name, const QByteArray& json, const QStringList& expected) {
        QTest::newRow(name) << json << expected;
    };
    const auto probe = [](const QByteArray& fields) {
        return flowWith("[{\"id\": \"a\", \"kind\": \"probe\", \"text\": \"t\", " + fields + "}]");
    };

    // Top level.
    row("missing name", R"({"tasks": [{"id": "a", "kind": "plain"}]})",
        {QStringLiteral("name: missing required field \"name\"")});
    row("empty name", R"({"name": " ", "tasks": [{"id": "a", "kind": "plain"}]})",
        {QStringLiteral("name: must not be empty")});
    row("name not a string", R"({"name": 1, "tasks": [{"id": "a", "kind": "plain"}]})",
        {QStringLiteral("name: expected a string, found a number")});
    row("description not a string",
        R"({"name": "f", "description": [], "tasks": [{"id": "a", "kind": "plain"}]})",
        {QStringLiteral("description: expected a string, found an array")});
    row("missing tasks", R"({"name": "f"})", {QStringLiteral("tasks: missing required field \"tasks\"")});
    row("no tasks", R"({"name": "f", "tasks": []})",
        {QStringLiteral("tasks: a flow needs at least one task")});
    row("tasks not an array", R"({"name": "f", "tasks": {}})",
        {QStringLiteral("tasks: expected a list of tasks, found an object")});
    row("task not an object", flowWith(R"([{"id": "a", "kind": "plain"}, "b"])"),
        {QStringLiteral("tasks[1]: expected an object, found a string")});
    row("unknown top-level field", R"({"name": "f", "task": [], "tasks": [{"id": "a", "kind": "plain"}]})",
        {QStringLiteral("task: unknown field \"task\"")});
    row("negative seed", R"({"name": "f", "seed": -1, "tasks": [{"id": "a", "kind": "plain"}]})",
        {QStringLiteral("seed: must be at least 0, found -1")});
    row("fractional seed", R"({"name": "f", "seed": 1.5, "tasks": [{"id": "a", "kind": "plain"}]})",
        {QStringLiteral("seed: expected an integer, found 1.5")});
    row("flow retries", R"({"name": "f", "retries": "2", "tasks": [{"id": "a", "kind": "plain"}]})",
        {QStringLiteral("retries: expected an integer, found a string")});
    row("parameters not an object",
        R"({"name": "f", "parameters": [], "tasks": [{"id": "a", "kind": "plain"}]})",
        {QStringLiteral("parameters: expected an object, found an array")});
    row("parameter named map_index", flowWith(R"([{"id": "a", "kind": "plain"}])", R"({"map_index": 1})"),
        {QStringLiteral("parameters.map_index: \"map_index\" is reserved and cannot be a parameter name")});
    row("bad parameter name", flowWith(R"([{"id": "a", "kind": "plain"}])", R"({"a b": 1})"),
        {QStringLiteral("parameters.a b: invalid parameter name \"a b\": use only letters, digits, \"_\", "
                        "\"-\" and \".\"")});

    // Common task fields.
    row("missing id", flowWith(R"([{"kind": "plain"}])"),
        {QStringLiteral("tasks[0].id: missing required field \"id\"")});
    row("empty id", flowWith(R"([{"id": "", "kind": "plain"}])"),
        {QStringLiteral("tasks[0].id: must not be empty")});
    row("invalid id", flowWith(R"([{"id": "a/b", "kind": "plain"}])"),
        {QStringLiteral(
            "tasks[0].id: invalid id \"a/b\": use only letters, digits, \"_\", \"-\" and \".\"")});
    row("missing kind", flowWith(R"([{"id": "a"}])"),
        {QStringLiteral("tasks[0].kind: missing required field \"kind\"")});
    row("unknown kind", flowWith(R"([{"id": "a", "kind": "slep", "seconds": 1}])"),
        {QStringLiteral("tasks[0].kind: unknown kind \"slep\" (known kinds: *")});
    row("retries negative", probe(R"("retries": -1)"),
        {QStringLiteral("tasks[0].retries: must be at least 0, found -1")});
    row("retries fractional", probe(R"("retries": 1.5)"),
        {QStringLiteral("tasks[0].retries: expected an integer, found 1.5")});
    row("retry delay negative", probe(R"("retry_delay_s": -0.5)"),
        {QStringLiteral("tasks[0].retry_delay_s: must be at least 0, found -0.5")});
    row("timeout zero", probe(R"("timeout_s": 0)"),
        {QStringLiteral("tasks[0].timeout_s: must be greater than 0, found 0")});
    row("timeout string", probe(R"("timeout_s": "5")"),
        {QStringLiteral("tasks[0].timeout_s: expected a number, found a string")});
    row("map negative", probe(R"("map": -1)"),
        {QStringLiteral("tasks[0].map: must be at least 0, found -1")});
    row("map fractional", probe(R"("map": 2.5)"),
        {QStringLiteral("tasks[0].map: expected an integer, found 2.5")});
    row("bad tags", probe("\"tags\": [\"ok\", \"\", \"a b\", 3, \"tab\\there\", \"a,b\"]"),
        {
            QStringLiteral("tasks[0].tags[1]: a tag must not be empty"),
            QStringLiteral("tasks[0].tags[2]: invalid tag \"a b\": a tag must not contain whitespace or "
                           "control characters"),
            QStringLiteral("tasks[0].tags[3]: expected a string, found a number"),
            QStringLiteral(
                "tasks[0].tags[4]: invalid tag \"tab\there\": a tag must not contain whitespace or control "
                "characters"),
            QStringLiteral("tasks[0].tags[5]: invalid tag \"a,b\": a tag must not contain a comma"),
        });
    row("tags not an array", probe(R"("tags": "cpu")"),
        {QStringLiteral("tasks[0].tags: expected a list of strings, found a string")});
    row("task description", probe(R"("description": 5)"),
        {QStringLiteral("tasks[0].description: expected a string, found a number")});

    // Kind fields.
    row("unknown field", probe(R"("txt": "y")"),
        {QStringLiteral(
            "tasks[0].txt: unknown field \"txt\" for kind \"probe\" (its fields: text, number, integer, "
            "flag, list, env, range, codes, body, any)")});
    row("unknown field of a kind without fields", flowWith(R"([{"id": "a", "kind": "plain", "x": 1}])"),
        {QStringLiteral("tasks[0].x: unknown field \"x\" for kind \"plain\" (it has no fields of its own)")});
    row("missing field", flowWith(R"([{"id": "a", "kind": "plain"}, {"id": "b", "kind": "probe"}])"),
        {QStringLiteral("tasks[1].text: missing required field \"text\" for kind \"probe\"")});
    row("number wrong type", probe(R"("number": "5")"),
        {QStringLiteral("tasks[0].number: expected a number, found a string")});
    row("integer fractional", probe(R"("integer": 1.5)"),
        {QStringLiteral("tasks[0].integer: expected an integer, found 1.5")});
    row("string wrong type", flowWith(R"([{"id": "a", "kind": "probe", "text": 5}])"),
        {QStringLiteral("tasks[0].text: expected a string, found a number")});
    row("bool wrong type", probe(R"("flag": "yes")"),
        {QStringLiteral("tasks[0].flag: expected true or false, found a string")});
    row("string list wrong type", probe(R"("list": "a")"),
        {QStringLiteral("tasks[0].list: expected a list of strings, found a string")});
    row("string list item", probe(R"("list": ["a", 2, null])"),
        {QStringLiteral("tasks[0].list[1]: expected a string, found a number"),
         QStringLiteral("tasks[0].list[2]: expected a string, found null")});
    row("string map wrong type", probe(R"("env": ["A"])"),
        {QStringLiteral("tasks[0].env: expected an object of strings, found an array")});
    row("string map value", probe(R"("env": {"A": 1, "B": "ok"})"),
        {QStringLiteral("tasks[0].env.A: expected a string, found a number")});
    row("range wrong type", probe(R"("range": "1")"),
        {QStringLiteral("tasks[0].range: expected a number or [min, max], found a string")});
    row("range of three", probe(R"("range": [1, 2, 3])"),
        {QStringLiteral("tasks[0].range: expected a number or [min, max], found an array of 3 items")});
    row("range item", probe(R"("range": [1, "2"])"),
        {QStringLiteral("tasks[0].range[1]: expected a number, found a string")});
    row("range reversed", probe(R"("range": [3, 1])"),
        {QStringLiteral("tasks[0].range: range minimum 3 is greater than maximum 1")});
    row("integer list wrong type", probe(R"("codes": "200")"),
        {QStringLiteral("tasks[0].codes: expected an integer or a list of integers, found a string")});
    row("integer list item", probe(R"("codes": [200, 2.5])"),
        {QStringLiteral("tasks[0].codes[1]: expected an integer, found 2.5")});
    row("string or object wrong type", probe(R"("body": 5)"),
        {QStringLiteral("tasks[0].body: expected a string or an object, found a number")});
    row("number above max", probe(R"("number": 11)"),
        {QStringLiteral("tasks[0].number: must be at most 10, found 11")});
    row("number below min", probe(R"("number": -1)"),
        {QStringLiteral("tasks[0].number: must be at least 0, found -1")});
    row("range end below min", probe(R"("range": [-1, 2])"),
        {QStringLiteral("tasks[0].range[0]: must be at least 0, found -1")});
    row("list item below min", probe(R"("codes": [200, 99])"),
        {QStringLiteral("tasks[0].codes[1]: must be at least 100, found 99")});
    row("integer above max", probe(R"("codes": 600)"),
        {QStringLiteral("tasks[0].codes: must be at most 599, found 600")});
    row("kind cross-field rule", probe(R"("number": 1, "range": [1, 2])"),
        {QStringLiteral("tasks[0].range: use either \"number\" or \"range\", not both")});

    // Graph.
    row("unknown dependency",
        flowWith(
            R"([{"id": "load", "kind": "plain"}, {"id": "x", "kind": "plain", "depends_on": ["load", "lod"]}])"),
        {QStringLiteral("tasks[1].depends_on[1]: no task named \"lod\"")});
    row("self dependency", flowWith(R"([{"id": "a", "kind": "plain", "depends_on": ["a"]}])"),
        {QStringLiteral("tasks[0].depends_on[0]: task \"a\" depends on itself")});
    row("dependency twice",
        flowWith(R"([{"id": "a", "kind": "plain"}, {"id": "b", "kind": "plain", "depends_on": ["a", "a"]}])"),
        {QStringLiteral("tasks[1].depends_on[1]: \"a\" is listed twice")});
    row("depends_on not an array",
        flowWith(R"([{"id": "a", "kind": "plain"}, {"id": "b", "kind": "plain", "depends_on": "a"}])"),
        {QStringLiteral("tasks[1].depends_on: expected a list of task ids, found a string")});
    row("duplicate id",
        flowWith(R"([{"id": "x", "kind": "plain"}, {"id": "y", "kind": "plain"}, {"id": "z", "kind": "plain"},
                     {"id": "x", "kind": "plain"}, {"id": "y", "kind": "plain"}])"),
        {QStringLiteral("tasks[3].id: duplicate id \"x\" (first used by tasks[0])"),
         QStringLiteral("tasks[4].id: duplicate id \"y\" (first used by tasks[1])")});
    row("cycle of two",
        flowWith(
            R"([{"id": "a", "kind": "plain", "depends_on": ["b"]}, {"id": "b", "kind": "plain", "depends_on": ["a"]}])"),
        {QStringLiteral("tasks[1].depends_on[0]: dependency cycle: a -> b -> a")});
    row("two cycles",
        flowWith(
            R"([{"id": "a", "kind": "plain", "depends_on": ["b"]}, {"id": "b", "kind": "plain", "depends_on": ["c"]},
                     {"id": "c", "kind": "plain", "depends_on": ["x", "a"]}, {"id": "x", "kind": "plain"},
                     {"id": "d", "kind": "plain", "depends_on": ["e"]}, {"id": "e", "kind": "plain", "depends_on": ["d"]}])"),
        {QStringLiteral("tasks[2].depends_on[1]: dependency cycle: a -> b -> c -> a"),
         QStringLiteral("tasks[5].depends_on[0]: dependency cycle: d -> e -> d")});
    row("cycle through map_over",
        flowWith(
            R"([{"id": "a", "kind": "plain", "map": 2, "depends_on": ["b"]}, {"id": "b", "kind": "plain", "map_over": "a"}])"),
        {QStringLiteral("tasks[1].map_over: dependency cycle: a -> b -> a")});
    row("map and map_over",
        flowWith(
            R"([{"id": "a", "kind": "plain", "map": 2}, {"id": "b", "kind": "plain", "map": 2, "map_over": "a"}])"),
        {QStringLiteral("tasks[1].map_over: a task cannot have both \"map\" and \"map_over\"")});
    row("map_over unmapped",
        flowWith(R"([{"id": "a", "kind": "plain"}, {"id": "b", "kind": "plain", "map_over": "a"}])"),
        {QStringLiteral(
            "tasks[1].map_over: task \"a\" is not mapped (it has neither \"map\" nor \"map_over\")")});
    row("map_over unknown", flowWith(R"([{"id": "a", "kind": "plain", "map_over": "zz"}])"),
        {QStringLiteral("tasks[0].map_over: no task named \"zz\"")});
    row("map_over itself", flowWith(R"([{"id": "a", "kind": "plain", "map_over": "a"}])"),
        {QStringLiteral("tasks[0].map_over: task \"a\" cannot map over itself")});

    // Parameters.
    row("unknown parameter",
        flowWith(R"([{"id": "a", "kind": "probe", "text": "{{ur}}", "list": ["x", "--{{nope}}-{{url}}"]}])",
                 R"({"url": "http://x/"})"),
        {QStringLiteral("tasks[0].list[1]: unknown parameter \"nope\""),
         QStringLiteral("tasks[0].text: unknown parameter \"ur\"")});
    row("unknown parameter in a common field",
        flowWith(R"([{"id": "a", "kind": "plain", "map": "{{count}}"}])"),
        {QStringLiteral("tasks[0].map: unknown parameter \"count\"")});
    row("map_index in unmapped task",
        flowWith(R"([{"id": "a", "kind": "probe", "text": "item {{map_index}}"}])"),
        {QStringLiteral("tasks[0].text: {{map_index}} can only be used in a mapped task (one with \"map\", "
                        "\"map_over\" or \"for_each\")")});
    row("map_index in a common field",
        flowWith(R"([{"id": "a", "kind": "plain", "map": 2, "tags": ["{{map_index}}"]}])"),
        {QStringLiteral(
            "tasks[0].tags[0]: {{map_index}} can only be used in the kind's fields, not in \"tags\"")});
    row("map_index counts as 0",
        flowWith(R"([{"id": "a", "kind": "probe", "map": 2, "text": "x", "codes": "{{map_index}}"}])"),
        {QStringLiteral("tasks[0].codes: must be at least 100, found 0")});
    row("map_index alone in a string field",
        flowWith(R"([{"id": "a", "kind": "probe", "map": 2, "text": "{{map_index}}"}])"),
        {QStringLiteral("tasks[0].text: expected a string, found \"{{map_index}}\", which is an integer*")});

    // At most MaxTaskRunsPerFlowRun task runs per flow run: one map, a parameter, and the total.
    row("huge map", flowWith(R"([{"id": "a", "kind": "plain", "map": 1000000000}])"),
        {QStringLiteral("tasks[0].map: must be at most 10000000, found 1000000000")});
    row("largest int map", flowWith(R"([{"id": "a", "kind": "plain", "map": 2147483647}])"),
        {QStringLiteral("tasks[0].map: must be at most 10000000, found 2147483647")});
    row("huge map through a parameter",
        flowWith(R"([{"id": "a", "kind": "plain", "map": "{{n}}"}])", R"({"n": 1000000000})"),
        {QStringLiteral("tasks[0].map: must be at most 10000000, found 1000000000")});
    row("total over map_over", flowWith(R"([{"id": "a", "kind": "plain", "map": 6000000},
                                           {"id": "b", "kind": "plain", "map_over": "a"}])"),
        {QStringLiteral("tasks[1].map_over: the flow would have more than 10000000 task runs*")});
    row("total over two maps", flowWith(R"([{"id": "a", "kind": "plain", "map": 10000000},
                                           {"id": "b", "kind": "plain"}])"),
        {QStringLiteral("tasks[1]: the flow would have more than 10000000 task runs*")});

    // Durations: at most MaxDurationSeconds, in every duration field.
    row("huge timeout", probe(R"("timeout_s": 1e10)"),
        {QStringLiteral("tasks[0].timeout_s: must be at most 10000000, found 10000000000")});
    row("huge retry delay", probe(R"("retry_delay_s": 1e10)"),
        {QStringLiteral("tasks[0].retry_delay_s: must be at most 10000000, found 10000000000")});

    // No NUL character in any string of a task, nor in a field name.
    row("NUL in a string field", probe(R"("list": ["a", "b\u0000c"])"),
        {QStringLiteral("tasks[0].list[1]: must not contain a NUL character (\\u0000)")});
    row("NUL in a map key", probe(R"("env": {"A\u0000B": "1"})"),
        {QStringLiteral("tasks[0].env.A\\u0000B: a field name must not contain a NUL character (\\u0000)")});
    row("NUL in a nested value", probe(R"("body": {"k": [{"x": "\u0000"}]})"),
        {QStringLiteral("tasks[0].body.k[0].x: must not contain a NUL character (\\u0000)")});
    row("NUL in a description", flowWith(R"([{"id": "a", "kind": "plain", "description": "a\u0000"}])"),
        {QStringLiteral("tasks[0].description: must not contain a NUL character (\\u0000)")});
    row("NUL through a parameter",
        flowWith(R"([{"id": "a", "kind": "probe", "text": "x{{p}}"}])", R"({"p": "\u0000"})"),
        {QStringLiteral("tasks[0].text: must not contain a NUL character (\\u0000)")});
}

void TestFlowParser::rejectsInvalidFlow()
{
    QFETCH(QByteArray, json);
    QFETCH(QStringList, expected);

    ValidationErrors errors;
    QVERIFY(!parse(json, errors));
    const QStringList found = errorTexts(errors);
    QCOMPARE(found.size(), expected.size());
    for (qsizetype i = 0; i < found.size(); ++i) {
        const QString& want = expected.at(i);
        if (want.endsWith(u'*'))
            QVERIFY2(found.at(i).startsWith(want.chopped(1)), qPrintable(found.at(i)));
        else
            QCOMPARE(found.at(i), want);
    }
}

void TestFlowParser::reportsAllErrorsInOneCall()
{
    const QByteArray json = R"json({
        "name": "",
        "bogus": 1,
        "parameters": {"n": 1},
        "tasks": [
            {"id": "a", "kind": "slep"},
            {"id": "b", "kind": "probe", "text": 5, "number": 20, "depends_on": ["zz"], "extra": true},
            {"id": "a", "kind": "plain", "map_over": "b"},
            {"id": "c", "kind": "probe", "text": "{{m}}", "map": "{{n}}", "map_over": "a"}
        ]
    })json";
    ValidationErrors errors;
    QVERIFY(!parse(json, errors, jsonObject(R"({"x": 1})")));
    const QStringList found = errorTexts(errors);
    QCOMPARE(found.size(), 12);
    QCOMPARE(found.mid(0, 3),
             QStringList({
                 QStringLiteral("name: must not be empty"),
                 QStringLiteral("parameters.x: no parameter named \"x\" to override"),
                 QStringLiteral("bogus: unknown field \"bogus\""),
             }));
    QVERIFY(found.at(3).startsWith(QStringLiteral("tasks[0].kind: unknown kind \"slep\"")));
    QCOMPARE(found.mid(4),
             QStringList({
                 QStringLiteral("tasks[1].depends_on[0]: no task named \"zz\""),
                 QStringLiteral("tasks[1].text: expected a string, found a number"),
                 QStringLiteral("tasks[1].number: must be at most 10, found 20"),
                 QStringLiteral("tasks[1].extra: unknown field \"extra\" for kind \"probe\" (its fields: "
                                "text, number, integer, flag, list, env, range, codes, body, any)"),
                 QStringLiteral("tasks[2].id: duplicate id \"a\" (first used by tasks[0])"),
                 QStringLiteral("tasks[2].map_over: task \"b\" is not mapped (it has neither \"map\" "
                                "nor \"map_over\")"),
                 QStringLiteral("tasks[3].text: unknown parameter \"m\""),
                 QStringLiteral("tasks[3].map_over: a task cannot have both \"map\" and \"map_over\""),
             }));
}

void TestFlowParser::reportsJsonSyntaxErrorWithLineAndColumn()
{
    // A missing comma on line 4, after a two-byte character that counts as one column.
    const QByteArray json
        = "{\n  \"name\": \"x\",\n  \"tasks\": [\n    {\"id\": \"\xc3\xa9\" \"kind\": \"plain\"}\n  ]\n}\n";
    ValidationErrors errors;
    QVERIFY(!parse(json, errors));
    QCOMPARE(errors.size(), 1);
    QCOMPARE(errors.at(0).path, QStringLiteral("line 4, column 17"));
    QVERIFY2(errors.at(0).message.startsWith(QStringLiteral("invalid JSON: ")),
             qPrintable(errors.at(0).message));
    QJsonParseError expected;
    QJsonDocument::fromJson(json, &expected);
    QVERIFY(errors.at(0).message.endsWith(expected.errorString()));

    errors.clear();
    QVERIFY(!parse("{\"name\": \"x\", \"tasks\": [1,}", errors));
    QCOMPARE(errors.size(), 1);
    QVERIFY2(errors.at(0).path.startsWith(QStringLiteral("line 1, column ")), qPrintable(errors.at(0).path));

    errors.clear();
    QVERIFY(!parse(QByteArray(), errors));
    QCOMPARE(errors.size(), 1);
}

void TestFlowParser::rejectsNonObjectDocument()
{
    ValidationErrors errors;
    QVERIFY(!parse("[{\"name\": \"x\"}]", errors));
    QCOMPARE(errorTexts(errors),
             QStringList({QStringLiteral("expected a JSON object at the top level, found an array")}));
}

void TestFlowParser::parsesFile()
{
    QTemporaryDir dir;
    QVERIFY(dir.isValid());
    const QString path = dir.filePath(QStringLiteral("flow.json"));
    QFile file(path);
    QVERIFY(file.open(QIODevice::WriteOnly));
    file.write(
        flowWith(R"([{"id": "a", "kind": "probe", "text": "{{greeting}}"}])", R"({"greeting": "hi"})"));
    file.close();

    ValidationErrors errors;
    const FlowParser parser(TaskKindRegistry::instance());
    std::optional<FlowDefinition> flow
        = parser.parseFile(path, errors, QJsonObject{{QStringLiteral("greeting"), QStringLiteral("hello")}});
    QVERIFY2(errors.isEmpty(), qPrintable(errorTexts(errors).join(u'\n')));
    QVERIFY(flow);
    QCOMPARE(flow->source, path);
    QCOMPARE(flow->tasks.at(0).config.value(QStringLiteral("text")).toString(), QStringLiteral("hello"));

    // resolve() accepts the stored document again with other values.
    flow = parser.resolve(flow->document, flow->source, errors);
    QVERIFY(flow);
    QCOMPARE(flow->tasks.at(0).config.value(QStringLiteral("text")).toString(), QStringLiteral("hi"));
}

void TestFlowParser::reportsUnreadableFile()
{
    QTemporaryDir dir;
    QVERIFY(dir.isValid());
    const FlowParser parser(TaskKindRegistry::instance());
    for (const QString& path : {dir.filePath(QStringLiteral("missing.json")), dir.path()}) {
        ValidationErrors errors;
        QVERIFY(!parser.parseFile(path, errors));
        QCOMPARE(errors.size(), 1);
        QVERIFY2(errors.at(0).toString().contains(path), qPrintable(errors.at(0).toString()));
    }
}

void TestFlowParser::keepsMapIndexForMappedTasks()
{
    const QByteArray tasks = R"json([
        {"id": "fan", "kind": "probe", "map": 3, "text": "item {{ map_index }} of {{n}}", "number": "{{map_index}}",
         "list": ["--index", "{{map_index}}"], "env": {"I": "{{map_index}}"}},
        {"id": "each", "kind": "probe", "map_over": "fan", "text": "after {{map_index}}"},
        {"id": "done", "kind": "probe", "text": "no placeholder", "depends_on": ["each"]}
    ])json";
    ValidationErrors errors;
    const std::optional<FlowDefinition> flow = parse(flowWith(tasks, R"({"n": 3})"), errors);
    QVERIFY2(errors.isEmpty(), qPrintable(errorTexts(errors).join(u'\n')));
    QVERIFY(flow);

    const TaskDef& fan = flow->tasks.at(0);
    QVERIFY(fan.usesMapIndex);
    QCOMPARE(fan.config, jsonObject(R"({"text": "item {{map_index}} of 3", "number": "{{map_index}}",
        "list": ["--index", "{{map_index}}"], "env": {"I": "{{map_index}}"}})"));
    QVERIFY(flow->tasks.at(1).usesMapIndex);
    QVERIFY(!flow->tasks.at(2).usesMapIndex);

    const QJsonObject run = substituteMapIndex(fan.config, 2);
    QCOMPARE(
        run,
        jsonObject(R"({"text": "item 2 of 3", "number": 2, "list": ["--index", "2"], "env": {"I": "2"}})"));
}

void TestFlowParser::validatesBuiltinKinds()
{
    const TaskKindRegistry& registry = TaskKindRegistry::instance();
    QVERIFY2(registry.find(QStringLiteral("sleep")) && registry.find(QStringLiteral("blocking"))
                 && registry.find(QStringLiteral("shell")),
             "the built-in kinds must be registered");

    const QByteArray valid = flowWith(R"json([
        {"id": "nap", "kind": "sleep", "seconds": [0.1, 0.5]},
        {"id": "work", "kind": "blocking", "cpu_ms": 20, "map": "{{n}}", "depends_on": ["nap"]},
        {"id": "say", "kind": "shell", "command": ["echo", "n={{n}}"], "env": {"N": "{{ n }}0"}, "depends_on": ["work"]}
    ])json",
                                      R"({"n": 4})");
    ValidationErrors errors;
    const std::optional<FlowDefinition> flow = parse(valid, errors);
    QVERIFY2(errors.isEmpty(), qPrintable(errorTexts(errors).join(u'\n')));
    QVERIFY(flow);
    QCOMPARE(flow->tasks.at(0).config, jsonObject(R"({"seconds": [0.1, 0.5]})"));
    QCOMPARE(flow->tasks.at(1).map, std::optional<int>(4));
    QCOMPARE(flow->tasks.at(2).config, jsonObject(R"({"command": ["echo", "n=4"], "env": {"N": "40"}})"));

    const QByteArray invalid = flowWith(R"json([
        {"id": "nap", "kind": "sleep", "seconds": "1"},
        {"id": "nap2", "kind": "sleep"},
        {"id": "range", "kind": "sleep", "seconds": [3, 1]},
        {"id": "work", "kind": "blocking", "seconds": 1, "cpu_ms": 5},
        {"id": "say", "kind": "shell", "command": ["echo", 1]}
    ])json");
    errors.clear();
    QVERIFY(!parse(invalid, errors));
    const QStringList found = errorTexts(errors);
    QCOMPARE(found.size(), 5);
    QCOMPARE(found.at(0),
             QStringLiteral("tasks[0].seconds: expected a number or [min, max], found a string"));
    QCOMPARE(found.at(1),
             QStringLiteral("tasks[1].seconds: missing required field \"seconds\" for kind \"sleep\""));
    QCOMPARE(found.at(2), QStringLiteral("tasks[2].seconds: range minimum 3 is greater than maximum 1"));
    QVERIFY2(found.at(3).startsWith(QStringLiteral("tasks[3]")), qPrintable(found.at(3)));
    QCOMPARE(found.at(4), QStringLiteral("tasks[4].command[1]: expected a string, found a number"));
}

void TestFlowParser::refusesHugeDurations()
{
    // Longer than MaxDurationSeconds would overflow the engine's clocks and end at once.
    const QByteArray invalid = flowWith(R"json([
        {"id": "nap", "kind": "sleep", "seconds": 1e10},
        {"id": "naps", "kind": "sleep", "seconds": [1, 1e10]},
        {"id": "block", "kind": "blocking", "seconds": 10000001},
        {"id": "burn", "kind": "blocking", "cpu_ms": 1e13},
        {"id": "loop", "kind": "loop_block", "seconds": 1e10},
        {"id": "say", "kind": "shell", "command": ["true"], "grace_s": 1e10},
        {"id": "long", "kind": "sleep", "seconds": 10000000, "timeout_s": 10000000, "retry_delay_s": 10000000}
    ])json");
    ValidationErrors errors;
    QVERIFY(!parse(invalid, errors));
    const QStringList found = errorTexts(errors);
    QCOMPARE(found,
             QStringList({
                 QStringLiteral("tasks[0].seconds: must be at most 10000000, found 10000000000"),
                 QStringLiteral("tasks[1].seconds[1]: must be at most 10000000, found 10000000000"),
                 QStringLiteral("tasks[2].seconds: must be at most 10000000, found 10000001"),
                 QStringLiteral("tasks[3].cpu_ms: must be at most 10000000000, found 10000000000000"),
                 QStringLiteral("tasks[4].seconds: must be at most 10000000, found 10000000000"),
                 QStringLiteral("tasks[5].grace_s: must be at most 10000000, found 10000000000"),
             }));
}

QTEST_GUILESS_MAIN(TestFlowParser)

#include "tst_flowparser.moc"
