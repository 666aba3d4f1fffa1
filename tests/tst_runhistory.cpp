// Runs read back from the store: a run of an earlier session is listed on open, counted by state,
// its task runs and logs read when asked; runs of this session are not listed twice.
#include "context/appcontext.h"
#include "context/runhistory.h"
#include "run/flowrun.h"
#include "uitestutil.h"

#include <QJsonDocument>
#include <QSignalSpy>
#include <QTemporaryDir>
#include <QTest>

using namespace flowdeck;

class TestRunHistory : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void readsEarlierRunsAndTheirDetails();
};

namespace {

bool open(AppContext& context, const QString& path)
{
    return context.database().open(path)
        && QTest::qWaitFor([&] { return context.database().state() != DatabaseState::Opening; }, 20000)
        && context.database().state() == DatabaseState::Open;
}

} // namespace

void TestRunHistory::readsEarlierRunsAndTheirDetails()
{
    QTemporaryDir dir;
    const QString path = dir.filePath(QStringLiteral("history.db"));
    QString id;
    {
        AppContext earlier;
        QVERIFY(open(earlier, path));
        QVERIFY(earlier.history().runs().empty());
        FlowRun* run = earlier.startFlow(QJsonDocument::fromJson(R"({"name": "kept", "tasks": [
            {"id": "say", "kind": "shell", "command": ["echo", "from the store"]},
            {"id": "nap", "kind": "noop", "map": 2, "depends_on": ["say"]}]})")
                                             .object(),
                                         QStringLiteral("test"), {}, nullptr);
        QVERIFY(run);
        QTRY_VERIFY_WITH_TIMEOUT(run->isTerminal(), 20000);
        QVERIFY(!earlier.history().isStored(run));
        QCOMPARE(earlier.history().workerNameOf(run), QStringLiteral("this app"));
        id = run->id.toString();
        QVERIFY(earlier.database().closeAndWait(10000));
    }

    AppContext context;
    RunHistory& history = context.history();
    QSignalSpy changed(&history, &RunHistory::historyChanged);
    QVERIFY(open(context, path));
    QTRY_COMPARE_WITH_TIMEOUT(history.runs().size(), size_t(1), 10000);
    QCOMPARE(changed.count(), 1);
    FlowRun* stored = history.runs().front();
    QCOMPARE(stored->id.toString(), id);
    QCOMPARE(stored->def.name, QStringLiteral("kept"));
    QCOMPARE(stored->count(StateType::Completed), 3);
    QVERIFY(history.isStored(stored));
    // Not run by a worker: named by the process that ran it (this app's earlier session).
    QVERIFY(!history.isClaimedByWorker(stored));
    QVERIFY2(history.workerNameOf(stored).contains(QStringLiteral("(pid ")),
             qPrintable(history.workerNameOf(stored)));
    QCOMPARE(context.newestFlowRun(), stored);
    QVERIFY(history.needsDetails(stored));
    QVERIFY(!context.logs().of(stored));

    QSignalSpy loaded(&history, &RunHistory::detailsLoaded);
    history.loadDetails(stored);
    QTRY_COMPARE_WITH_TIMEOUT(loaded.count(), 1, 10000);
    QVERIFY(!history.needsDetails(stored));
    QCOMPARE(stored->nodes.size(), size_t(2));
    QCOMPARE(stored->def.tasks.first().id, QStringLiteral("say"));
    QCOMPARE(stored->nodes[1].count, 2);
    const LogBuffer* logs = context.logs().of(stored);
    QVERIFY(logs);
    bool said = false;
    for (const LogLine& line : logs->lines)
        said |= line.message.contains(QStringLiteral("from the store"));
    QVERIFY(said);

    // A reload finds nothing new: the list stays as it is.
    history.reload();
    QTest::qWait(200);
    QCOMPARE(history.runs().size(), size_t(1));
    QCOMPARE(changed.count(), 1);
    QVERIFY(context.database().closeAndWait(10000));
}

FLOWDECK_GUI_TEST_MAIN(TestRunHistory, "tst_runhistory")

#include "tst_runhistory.moc"
