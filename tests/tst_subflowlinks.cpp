// The Run page of a flow run with subflows: links from the parent to its subflow runs and back, and
// a page that follows the newest run stays on the parent when its subflow starts.
#include "pages/runpage.h"
#include "run/flowrun.h"
#include "testutil.h"
#include "uitestutil.h"

#include <QJsonDocument>
#include <QLabel>
#include <QTemporaryDir>
#include <QTest>

using namespace flowdeck;
using namespace flowdeck::uitest;

class TestSubflowLinks : public QObject, public Dashboard {
    Q_OBJECT

private Q_SLOTS:
    void initTestCase();
    void init() { makeWindow(); }
    void cleanup() { tearDown(); }

    void runPageLinksParentAndSubflow();

private:
    QTemporaryDir m_dir;
    QString m_child;
};

void TestSubflowLinks::initTestCase()
{
    writeFlows();
    QVERIFY(m_dir.isValid());
    m_child = m_dir.filePath(QStringLiteral("child.json"));
    writeFile(m_child,
              R"({"name": "linked-child", "tasks": [{"id": "nap", "kind": "sleep", "seconds": 0.2}]})");
}

void TestSubflowLinks::runPageLinksParentAndSubflow()
{
    RunPage* page = m_window->runPage();
    const QByteArray parentJson = QStringLiteral(R"({"name": "linked-parent", "tasks": [
        {"id": "sub", "kind": "flow", "flow": "%1"}, {"id": "after", "kind": "noop", "depends_on": ["sub"]}]})")
                                      .arg(m_child)
                                      .toUtf8();
    FlowRun* parent = m_context->startFlow(QJsonDocument::fromJson(parentJson).object(),
                                           QStringLiteral("test"), {}, nullptr);
    QVERIFY(parent);
    QTRY_COMPARE(page->flowRun(), parent); // the page follows the newest run started

    FlowRun* child = nullptr;
    QTRY_VERIFY_WITH_TIMEOUT(
        [&] {
            for (const auto& run : m_context->flowRuns()) {
                if (run->parentFlowRunId == parent->id)
                    child = run.get();
            }
            return child != nullptr;
        }(),
        10000);
    QTRY_VERIFY_WITH_TIMEOUT(parent->isTerminal(), 10000);
    QCOMPARE(toString(parent->type), toString(StateType::Completed));
    // The subflow's start did not take the page away from its parent.
    QCOMPARE(page->flowRun(), parent);

    QLabel* links = page->subflowLinks();
    const QString childLink = QStringLiteral("flowrun:") + child->id.toString();
    QTRY_VERIFY2(links->text().contains(childLink), qPrintable(links->text()));
    QVERIFY(!links->isHidden());
    QVERIFY(links->text().contains(QStringLiteral("linked-child")));

    // Following the link shows the subflow run, which links back to its parent.
    QVERIFY(QMetaObject::invokeMethod(links, "linkActivated", Q_ARG(QString, childLink)));
    QCOMPARE(page->flowRun(), child);
    const QString parentLink = QStringLiteral("flowrun:") + parent->id.toString();
    QTRY_VERIFY2(links->text().contains(parentLink), qPrintable(links->text()));
    QVERIFY(links->text().contains(QStringLiteral("subflow of")));
    QVERIFY(QMetaObject::invokeMethod(links, "linkActivated", Q_ARG(QString, parentLink)));
    QCOMPARE(page->flowRun(), parent);

    // A run without subflows shows no links.
    FlowRun* plain = m_context->startFlow(
        QJsonDocument::fromJson(R"({"name": "plain", "tasks": [{"id": "a", "kind": "noop"}]})").object(),
        QStringLiteral("test"), {}, nullptr);
    m_window->showRun(plain);
    QCOMPARE(page->flowRun(), plain);
    QVERIFY(links->isHidden());
}

FLOWDECK_GUI_TEST_MAIN(TestSubflowLinks, "tst_subflowlinks")
#include "tst_subflowlinks.moc"
