// Parameters of a flow document: "{{params.NAME}}" substitution (inside strings and typed), overrides
// given to the parser (as --param gives them) and their conversion, and the map index.
#include "flow/flowparser.h"
#include "flow/substitution.h"
#include "flow/taskkind.h"
#include "flowtestkinds.h"

#include <QJsonArray>
#include <QJsonDocument>
#include <QTest>

using namespace flowdeck;
using namespace flowdeck::test;

class TestFlowParameters : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void initTestCase();

    void substitutesInsideStrings();
    void substitutesTypedValues();
    void validatesAfterSubstitution();
    void appliesOverrides_data();
    void appliesOverrides();
    void parseOverrideConverts_data();
    void parseOverrideConverts();
    void parseOverrideRejects_data();
    void parseOverrideRejects();
    void substitutesMapIndex();

private:
    std::optional<FlowDefinition> parse(const QByteArray& json, ValidationErrors& errors,
                                        const QJsonObject& overrides = {}) const
    {
        return FlowParser(TaskKindRegistry::instance())
            .parse(json, QStringLiteral("test"), errors, overrides);
    }
};

void TestFlowParameters::initTestCase()
{
    addTestKinds();
}

void TestFlowParameters::substitutesInsideStrings()
{
    const QByteArray parameters = R"json({"host": "example.org", "port": 8080, "ratio": 0.25, "whole": 3.0,
        "big": 12345678901, "on": true, "args": ["x", 1], "obj": {"a": 1}, "tag": "blue", "dep": "first"})json";
    const QByteArray tasks = R"json([
        {"id": "first", "kind": "probe", "text": "http://{{host}}:{{ port }}/r?x={{ratio}}&w={{whole}}&on={{on}}",
         "list": ["--port={{port}}", "{{host}}-{{big}}", "{{not closed", "{{ two words }}"],
         "env": {"ARGS": "a={{args}}", "OBJ": "<{{obj}}>"},
         "body": {"deep": ["x{{port}}", {"again": "[{{  host  }}]"}]},
         "tags": ["{{tag}}", "t-{{port}}"]},
        {"id": "second", "kind": "probe", "text": "{{host}}{{host}}", "depends_on": ["{{dep}}"]}
    ])json";
    ValidationErrors errors;
    const std::optional<FlowDefinition> flow = parse(flowWith(tasks, parameters), errors);
    QVERIFY2(errors.isEmpty(), qPrintable(errorTexts(errors).join(u'\n')));
    QVERIFY(flow);

    const QJsonObject config = flow->tasks.at(0).config;
    QCOMPARE(config.value(QStringLiteral("text")).toString(),
             QStringLiteral("http://example.org:8080/r?x=0.25&w=3&on=true"));
    QCOMPARE(config.value(QStringLiteral("list")).toArray(),
             jsonArray(R"(["--port=8080", "example.org-12345678901", "{{not closed", "{{ two words }}"])"));
    const QJsonObject env{{QStringLiteral("ARGS"), QStringLiteral("a=[\"x\",1]")},
                          {QStringLiteral("OBJ"), QStringLiteral("<{\"a\":1}>")}};
    QCOMPARE(config.value(QStringLiteral("env")).toObject(), env);
    QCOMPARE(config.value(QStringLiteral("body")).toObject(),
             jsonObject(R"({"deep": ["x8080", {"again": "[example.org]"}]})"));
    QCOMPARE(flow->tasks.at(0).tags, QStringList({QStringLiteral("blue"), QStringLiteral("t-8080")}));
    QCOMPARE(flow->tasks.at(1).config.value(QStringLiteral("text")).toString(),
             QStringLiteral("example.orgexample.org"));
    QCOMPARE(flow->tasks.at(1).dependsOn, QStringList({QStringLiteral("first")}));
    // The document keeps the placeholders so it can be resolved again.
    QCOMPARE(flow->document.value(QStringLiteral("tasks"))
                 .toArray()
                 .at(1)
                 .toObject()
                 .value(QStringLiteral("text")),
             QJsonValue(QStringLiteral("{{host}}{{host}}")));
}

void TestFlowParameters::substitutesTypedValues()
{
    const QByteArray parameters
        = R"json({"n": 3, "ratio": 2.5, "yes": true, "flags": ["-v", "-x"], "cfg": {"A": "b"}, "deps": ["a"]})json";
    const QByteArray tasks = R"json([
        {"id": "a", "kind": "plain"},
        {"id": "b", "kind": "probe", "text": "x", "map": "{{n}}", "retries": "{{ n }}", "timeout_s": "{{ratio}}",
         "integer": "{{n}}", "number": "{{ratio}}", "flag": "{{yes}}", "list": "{{flags}}", "env": "{{cfg}}",
         "body": {"nested": ["{{n}}", "{{yes}}"]}, "depends_on": "{{deps}}"}
    ])json";
    ValidationErrors errors;
    const std::optional<FlowDefinition> flow = parse(flowWith(tasks, parameters), errors);
    QVERIFY2(errors.isEmpty(), qPrintable(errorTexts(errors).join(u'\n')));
    QVERIFY(flow);

    const TaskDef& task = flow->tasks.at(1);
    QCOMPARE(task.map, std::optional<int>(3));
    QCOMPARE(task.retries, 3);
    QCOMPARE(task.timeoutSeconds, 2.5);
    QCOMPARE(task.dependsOn, QStringList({QStringLiteral("a")}));
    QCOMPARE(task.config.value(QStringLiteral("integer")), QJsonValue(3));
    QCOMPARE(task.config.value(QStringLiteral("number")), QJsonValue(2.5));
    QCOMPARE(task.config.value(QStringLiteral("flag")), QJsonValue(true));
    QCOMPARE(task.config.value(QStringLiteral("list")).toArray(), jsonArray(R"(["-v", "-x"])"));
    QCOMPARE(task.config.value(QStringLiteral("env")).toObject(), jsonObject(R"({"A": "b"})"));
    QCOMPARE(task.config.value(QStringLiteral("body")).toObject(), jsonObject(R"({"nested": [3, true]})"));
}

void TestFlowParameters::validatesAfterSubstitution()
{
    const QByteArray parameters = R"json({"n": 10, "url": "http://127.0.0.1:8080/", "big": 11})json";
    const QByteArray tasks = R"json([
        {"id": "a", "kind": "probe", "text": "{{n}}", "number": "{{big}}"},
        {"id": "b", "kind": "probe", "text": "x", "map": "{{url}}", "integer": "{{url}}"}
    ])json";
    ValidationErrors errors;
    QVERIFY(!parse(flowWith(tasks, parameters), errors));
    QCOMPARE(errorTexts(errors),
             QStringList({
                 QStringLiteral("tasks[0].text: expected a string, found a number"),
                 QStringLiteral("tasks[0].number: must be at most 10, found 11"),
                 QStringLiteral("tasks[1].map: expected an integer, found a string"),
                 QStringLiteral("tasks[1].integer: expected an integer, found a string"),
             }));
}

void TestFlowParameters::appliesOverrides_data()
{
    QTest::addColumn<QJsonObject>("overrides");
    QTest::addColumn<int>("map");
    QTest::addColumn<QString>("text");
    QTest::addColumn<QStringList>("errors");

    QTest::newRow("none") << QJsonObject() << 2 << QStringLiteral("http://a/x") << QStringList();
    QTest::newRow("ok") << jsonObject(R"({"n": 5, "url": "http://b/", "verbose": true})") << 5
                        << QStringLiteral("http://b/x") << QStringList();
    QTest::newRow("double for integer default")
        << jsonObject(R"({"n": 2.5})") << 0 << QString()
        << QStringList({QStringLiteral("tasks[0].map: expected an integer, found 2.5")});
    QTest::newRow("unknown") << jsonObject(R"({"nope": 1})") << 0 << QString()
                             << QStringList({QStringLiteral(
                                    "parameters.nope: no parameter named \"nope\" to override")});
    QTest::newRow("wrong type")
        << jsonObject(R"({"n": "5", "verbose": 1, "url": "http://c/"})") << 0 << QString()
        << QStringList({
               QStringLiteral(
                   "parameters.n: the override for \"n\" has the wrong type: expected a number like the "
                   "default, found a string"),
               QStringLiteral(
                   "parameters.verbose: the override for \"verbose\" has the wrong type: expected a bool "
                   "like the default, found a number"),
           });
}

void TestFlowParameters::appliesOverrides()
{
    QFETCH(QJsonObject, overrides);
    QFETCH(int, map);
    QFETCH(QString, text);
    QFETCH(QStringList, errors);

    const QByteArray parameters = R"json({"n": 2, "url": "http://a/", "verbose": false})json";
    const QByteArray json
        = flowWith(R"([{"id": "a", "kind": "probe", "map": "{{n}}", "text": "{{url}}x"}])", parameters);
    ValidationErrors found;
    const std::optional<FlowDefinition> flow = parse(json, found, overrides);
    QCOMPARE(errorTexts(found), errors);
    if (!errors.isEmpty()) {
        QVERIFY(!flow);
        return;
    }
    QVERIFY(flow);
    QCOMPARE(flow->tasks.at(0).map, std::optional<int>(map));
    QCOMPARE(flow->tasks.at(0).config.value(QStringLiteral("text")).toString(), text);
    QJsonObject effective = jsonObject(parameters);
    for (auto it = overrides.begin(); it != overrides.end(); ++it)
        effective.insert(it.key(), it.value());
    QCOMPARE(flow->parameters, effective);
    QCOMPARE(flow->document.value(QStringLiteral("parameters")).toObject(), jsonObject(parameters));
}

void TestFlowParameters::parseOverrideConverts_data()
{
    QTest::addColumn<QString>("text");
    QTest::addColumn<QString>("name");
    QTest::addColumn<QJsonValue>("value");

    QTest::newRow("integer") << QStringLiteral("n=5") << QStringLiteral("n") << QJsonValue(5);
    QTest::newRow("spaces") << QStringLiteral("n= 7 ") << QStringLiteral("n") << QJsonValue(7);
    QTest::newRow("negative double") << QStringLiteral("n=-2.5") << QStringLiteral("n") << QJsonValue(-2.5);
    QTest::newRow("exponent") << QStringLiteral("ratio=1e3") << QStringLiteral("ratio") << QJsonValue(1000);
    QTest::newRow("true") << QStringLiteral("flag=true") << QStringLiteral("flag") << QJsonValue(true);
    QTest::newRow("false") << QStringLiteral("flag=false") << QStringLiteral("flag") << QJsonValue(false);
    QTest::newRow("string verbatim") << QStringLiteral("label= a=b c") << QStringLiteral("label")
                                     << QJsonValue(QStringLiteral(" a=b c"));
    QTest::newRow("string that looks like a number")
        << QStringLiteral("label=42") << QStringLiteral("label") << QJsonValue(QStringLiteral("42"));
    QTest::newRow("empty string") << QStringLiteral("label=") << QStringLiteral("label")
                                  << QJsonValue(QString());
    QTest::newRow("array") << QStringLiteral("list=[1, \"two\"]") << QStringLiteral("list")
                           << QJsonValue(jsonArray(R"([1, "two"])"));
    QTest::newRow("object") << QStringLiteral("obj={\"b\": [true]}") << QStringLiteral("obj")
                            << QJsonValue(jsonObject(R"({"b": [true]})"));
}

void TestFlowParameters::parseOverrideConverts()
{
    QFETCH(QString, text);
    QFETCH(QString, name);
    QFETCH(QJsonValue, value);

    const QJsonObject defaults
        = jsonObject(R"({"n": 10, "ratio": 0.5, "flag": false, "label": "x", "list": [1], "obj": {"a": 1}})");
    QJsonObject overrides{{QStringLiteral("other"), 1}};
    QString error;
    QVERIFY(FlowParser::parseOverride(text, defaults, overrides, &error));
    QCOMPARE(error, QString());
    QCOMPARE(overrides.size(), 2);
    QCOMPARE(overrides.value(name), value);
    QCOMPARE(overrides.value(QStringLiteral("other")), QJsonValue(1));
}

void TestFlowParameters::parseOverrideRejects_data()
{
    QTest::addColumn<QString>("text");
    QTest::addColumn<QString>("mentions");

    QTest::newRow("no equals") << QStringLiteral("n") << QStringLiteral("NAME=VALUE");
    QTest::newRow("empty name") << QStringLiteral("=5") << QStringLiteral("name is empty");
    QTest::newRow("unknown") << QStringLiteral("missing=1")
                             << QStringLiteral("unknown parameter \"missing\"");
    QTest::newRow("not a number") << QStringLiteral("n=abc")
                                  << QStringLiteral("parameter \"n\" expects a number");
    QTest::newRow("trailing junk") << QStringLiteral("n=5x")
                                   << QStringLiteral("parameter \"n\" expects a number");
    QTest::newRow("empty number") << QStringLiteral("n=")
                                  << QStringLiteral("parameter \"n\" expects a number");
    QTest::newRow("infinity") << QStringLiteral("n=inf")
                              << QStringLiteral("parameter \"n\" expects a number");
    QTest::newRow("not a bool") << QStringLiteral("flag=yes")
                                << QStringLiteral("parameter \"flag\" expects true or false");
    QTest::newRow("object for array")
        << QStringLiteral("list={}") << QStringLiteral("parameter \"list\" expects a JSON array");
    QTest::newRow("array for object")
        << QStringLiteral("obj=[1]") << QStringLiteral("parameter \"obj\" expects a JSON object");
    QTest::newRow("bad json") << QStringLiteral("list=[1")
                              << QStringLiteral("parameter \"list\" expects a JSON array");
}

void TestFlowParameters::parseOverrideRejects()
{
    QFETCH(QString, text);
    QFETCH(QString, mentions);

    const QJsonObject defaults = jsonObject(R"({"n": 10, "flag": false, "list": [1], "obj": {"a": 1}})");
    const QJsonObject before{{QStringLiteral("n"), 1}};
    QJsonObject overrides = before;
    QString error;
    QVERIFY(!FlowParser::parseOverride(text, defaults, overrides, &error));
    QVERIFY2(error.contains(mentions), qPrintable(error));
    QVERIFY2(!error.contains(u'\n'), qPrintable(error));
    QCOMPARE(overrides, before);
    // A null error pointer is allowed.
    QVERIFY(!FlowParser::parseOverride(text, defaults, overrides, nullptr));
}

void TestFlowParameters::substitutesMapIndex()
{
    const QJsonObject config = jsonObject(R"json({
        "seconds": "{{map_index}}",
        "command": ["echo", "item-{{map_index}}", "{{map_index}}"],
        "env": {"I": "{{map_index}}", "J": "x"},
        "n": 5,
        "deep": {"a": [{"b": "{{map_index}}/{{map_index}}"}, true]},
        "plain": "no {{ other }}"
    })json");
    const QJsonObject copy = config;

    const QJsonObject third = substituteMapIndex(config, 3);
    QCOMPARE(third, jsonObject(R"json({
        "seconds": 3,
        "command": ["echo", "item-3", "3"],
        "env": {"I": "3", "J": "x"},
        "n": 5,
        "deep": {"a": [{"b": "3/3"}, true]},
        "plain": "no {{ other }}"
    })json"));
    QVERIFY(third.value(QStringLiteral("seconds")).isDouble());
    QCOMPARE(substituteMapIndex(config, 0).value(QStringLiteral("seconds")), QJsonValue(0));
    QCOMPARE(substituteMapIndex(config, 12).value(QStringLiteral("command")).toArray().at(1),
             QJsonValue(QStringLiteral("item-12")));
    QCOMPARE(config, copy);

    const QJsonObject untouched = jsonObject(R"({"a": "b", "c": [1, "d"]})");
    QCOMPARE(substituteMapIndex(untouched, 7), untouched);
    QCOMPARE(substituteMapIndex(QJsonObject(), 7), QJsonObject());
}

QTEST_GUILESS_MAIN(TestFlowParameters)

#include "tst_flowparameters.moc"
