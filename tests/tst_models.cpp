// The dashboard's models over a live engine: QAbstractItemModelTester on each, and proof that live
// updates are row-level (inserts and dataChanged, coalesced per display tick), never resets.
#include "context/appcontext.h"
#include "context/dirtyrows.h"
#include "flow/flowparser.h"
#include "models/concurrencymodel.h"
#include "models/flowlistmodel.h"
#include "models/flowrunfiltermodel.h"
#include "models/flowrunmodel.h"
#include "models/logmodel.h"
#include "models/modelroles.h"
#include "models/stallmodel.h"
#include "models/taskrunfiltermodel.h"
#include "models/taskrunmodel.h"
#include "models/workermodel.h"
#include "run/engine.h"
#include "run/runid.h"
#include "store/connectionpool.h"
#include "store/store.h"
#include "store/workerqueries.h"
#include "uitestutil.h"

#include <QAbstractItemModelTester>
#include <QApplication>
#include <QCoro/QCoroTask>
#include <QDir>
#include <QElapsedTimer>
#include <QFile>
#include <QJsonDocument>
#include <QSignalSpy>
#include <QSqlQuery>
#include <QStandardPaths>
#include <QTemporaryDir>
#include <QTest>

#include <chrono>
#include <memory>
#include <optional>

using namespace flowdeck;

namespace {

QJsonObject document(const char* json)
{
    QJsonParseError error;
    const QJsonDocument doc = QJsonDocument::fromJson(QByteArray(json), &error);
    if (error.error != QJsonParseError::NoError)
        qFatal("bad test JSON: %s", qPrintable(error.errorString()));
    return doc.object();
}

FlowRun* start(AppContext& context, const char* json, const QJsonObject& overrides = {})
{
    ValidationErrors errors;
    FlowRun* run = context.startFlow(document(json), QStringLiteral("test"), overrides, &errors);
    if (!run) {
        for (const ValidationError& e : errors)
            qWarning("%s", qPrintable(e.toString()));
    }
    return run;
}

void writeFile(const QString& path, const QByteArray& text)
{
    QFile file(path);
    QVERIFY(file.open(QIODevice::WriteOnly | QIODevice::Truncate));
    file.write(text);
}

constexpr const char* NoopFlow = R"({"name": "noops", "parameters": {"n": 500},
    "tasks": [{"id": "a", "kind": "noop", "map": "{{n}}"},
              {"id": "b", "kind": "sleep", "seconds": 0.01, "map": 50, "depends_on": ["a"]},
              {"id": "c", "kind": "noop", "depends_on": ["b"]}]})";

} // namespace

class TestModels : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void dashboardEngineDoesNotTrimTheHeap();
    void dirtyRowsMergeRanges();
    void dirtyRowsKeepFarApartChangesApart();
    void flowRunModelInsertsAndUpdatesRows();
    void flowRunFilterModel();
    void taskRunModelAppendsAndChangesRows();
    void taskRunModelRowMapping();
    void taskRunFilterModel();
    void logModelTailsAndIsBounded();
    void stallModelListsStalls();
    void flowListModelListsFoldersAndInvalidFiles();
    void concurrencyModelRowsFollowLimiter();
    void flowRunModelWorkerColumn();
    void workerModelRowsFollowEngines();
};

void TestModels::dirtyRowsMergeRanges()
{
    AppContext context;
    FlowRun* run = start(
        context, R"({"name": "d", "tasks": [{"id": "a", "kind": "sleep", "seconds": 5, "map": 200}]})");
    QVERIFY(run);
    QTRY_COMPARE(run->materializedTaskRuns, qint64(200));
    DirtyRows rows(run);
    TaskNode& node = run->nodes[0];
    for (int i : {5, 6, 7, 30, 31, 150, 6, 199})
        rows.mark(node.runs[size_t(i)]);
    const auto ranges = rows.takeRanges(190, /*gap=*/8);
    QCOMPARE(ranges.size(), size_t(3));
    QCOMPARE(ranges[0], std::make_pair(5, 7));
    QCOMPARE(ranges[1], std::make_pair(30, 31));
    QCOMPARE(ranges[2], std::make_pair(150, 150)); // 199 is beyond the announced rows
    QVERIFY(rows.isEmpty());
    // Marks are cleared: the same rows can be marked again.
    rows.mark(node.runs[5]);
    QCOMPARE(rows.takeRanges(200).size(), size_t(1));
    context.cancelFlowRun(run);
}

void TestModels::dirtyRowsKeepFarApartChangesApart()
{
    AppContext context;
    FlowRun* run = start(
        context, R"({"name": "d", "tasks": [{"id": "a", "kind": "sleep", "seconds": 5, "map": 2000}]})");
    QVERIFY(run);
    QTRY_COMPARE(run->materializedTaskRuns, qint64(2000));
    DirtyRows rows(run);
    TaskNode& node = run->nodes[0];
    // Two clusters of rows 20 apart (65 ranges), with 700 unchanged rows between them.
    std::vector<int> marked;
    for (int i = 0; i < 800; i += 20)
        marked.push_back(i);
    for (int i = 1500; i < 2000; i += 20)
        marked.push_back(i);
    for (int i : marked)
        rows.mark(node.runs[size_t(i)]);
    const auto ranges = rows.takeRanges(2000, /*gap=*/16, /*maxRanges=*/32);
    QVERIFY(ranges.size() <= 32);
    for (const auto& [first, last] : ranges) {
        QVERIFY(first <= last);
        // No range reaches into the unchanged rows between the clusters.
        QVERIFY2(last < 800 || first >= 1500, qPrintable(QStringLiteral("%1-%2").arg(first).arg(last)));
    }
    for (int i : marked) {
        QVERIFY(std::any_of(ranges.begin(), ranges.end(),
                            [&](const auto& range) { return range.first <= i && i <= range.second; }));
    }
    for (size_t i = 1; i < ranges.size(); ++i)
        QVERIFY(ranges[i - 1].second < ranges[i].first);
    context.cancelFlowRun(run);
}

void TestModels::flowRunModelInsertsAndUpdatesRows()
{
    AppContext context;
    FlowRunModel model(&context);
    QAbstractItemModelTester tester(&model, QAbstractItemModelTester::FailureReportingMode::Fatal);
    QSignalSpy resets(&model, &QAbstractItemModel::modelReset);
    QSignalSpy inserts(&model, &QAbstractItemModel::rowsInserted);
    QSignalSpy changes(&model, &QAbstractItemModel::dataChanged);
    QSignalSpy ticks(&context, &AppContext::updated);

    QElapsedTimer elapsed;
    elapsed.start();
    FlowRun* first = start(context, NoopFlow);
    FlowRun* second = start(context, NoopFlow, {{QStringLiteral("n"), 2000}});
    QVERIFY(first && second);
    QTRY_VERIFY_WITH_TIMEOUT(first->isTerminal() && second->isTerminal(), 20000);
    context.flush();
    QTRY_COMPARE(model.rowCount(), 2);

    // Newest first.
    QCOMPARE(model.flowRunAt(0), second);
    QCOMPARE(model.flowRunAt(1), first);
    QCOMPARE(model.index(0, FlowRunModel::StateColumn).data().toString(), QStringLiteral("Completed"));
    QCOMPARE(model.index(0, FlowRunModel::CompletedColumn).data().toLongLong(), second->totalTaskRuns);
    QCOMPARE(model.index(0, FlowRunModel::ProgressColumn).data(ProgressRole).toDouble(), 1.0);

    QCOMPARE(resets.count(), 0);
    QVERIFY(inserts.count() >= 1);
    for (const auto& args : inserts)
        QCOMPARE(args.at(1).toInt(), 0); // new runs are inserted at the top
    QVERIFY(changes.count() >= 2);
    // Coalesced: about 5,000 transitions, but at most one update per display tick.
    const qint64 transitions = 3 * (first->totalTaskRuns + second->totalTaskRuns);
    QVERIFY2(ticks.count() <= elapsed.elapsed() / AppContext::TickIntervalMs + 3,
             qPrintable(QStringLiteral("%1 ticks in %2 ms").arg(ticks.count()).arg(elapsed.elapsed())));
    QVERIFY2(changes.count() < transitions / 20,
             qPrintable(
                 QStringLiteral("%1 dataChanged for %2 transitions").arg(changes.count()).arg(transitions)));
}

void TestModels::flowRunFilterModel()
{
    AppContext context;
    FlowRunModel model(&context);
    FlowRunFilterModel filter;
    filter.setSourceModel(&model);
    QAbstractItemModelTester tester(&filter, QAbstractItemModelTester::FailureReportingMode::Fatal);
    FlowRun* ok = start(context, R"({"name": "ok", "tasks": [{"id": "a", "kind": "noop"}]})");
    FlowRun* bad = start(context, R"({"name": "bad", "tasks": [{"id": "a", "kind": "fail"}]})");
    FlowRun* slow
        = start(context, R"({"name": "slow", "tasks": [{"id": "a", "kind": "sleep", "seconds": 30}]})");
    QTRY_VERIFY(ok->isTerminal() && bad->isTerminal());
    context.flush();
    QCOMPARE(filter.rowCount(), 3);

    filter.setStateFilter({false, StateType::Failed});
    QCOMPARE(filter.rowCount(), 1);
    QCOMPARE(filter.index(0, FlowRunModel::FlowColumn).data().toString(), QStringLiteral("bad"));
    filter.setStateFilter({true, std::nullopt});
    QCOMPARE(filter.rowCount(), 1);
    QCOMPARE(filter.index(0, FlowRunModel::FlowColumn).data().toString(), QStringLiteral("slow"));

    // A run leaves the "not finished" filter live when it ends.
    context.cancelFlowRun(slow);
    QTRY_COMPARE(filter.rowCount(), 0);
    filter.setStateFilter({});
    filter.setFlowFilter(QStringLiteral("ok"));
    QCOMPARE(filter.rowCount(), 1);
}

void TestModels::taskRunModelAppendsAndChangesRows()
{
    AppContext context;
    TaskRunModel model(&context);
    QAbstractItemModelTester tester(&model, QAbstractItemModelTester::FailureReportingMode::Fatal);
    FlowRun* run = start(context, NoopFlow, {{QStringLiteral("n"), 3000}});
    QVERIFY(run);
    model.setFlowRun(run); // a bulk load: the one reset
    QSignalSpy resets(&model, &QAbstractItemModel::modelReset);
    QSignalSpy inserts(&model, &QAbstractItemModel::rowsInserted);
    QSignalSpy changes(&model, &QAbstractItemModel::dataChanged);
    QTRY_VERIFY_WITH_TIMEOUT(run->isTerminal(), 20000);
    context.flush();

    QCOMPARE(model.rowCount(), int(run->totalTaskRuns));
    QCOMPARE(resets.count(), 0);
    QVERIFY(changes.count() > 0);
    // New task runs only ever append rows.
    int rows = model.rowCount() - [&] {
        int inserted = 0;
        for (const auto& args : inserts)
            inserted += args.at(2).toInt() - args.at(1).toInt() + 1;
        return inserted;
    }();
    for (const auto& args : inserts) {
        QCOMPARE(args.at(1).toInt(), rows);
        rows = args.at(2).toInt() + 1;
    }
    // A few ranges per tick, not one signal per transition.
    QVERIFY2(changes.count() < run->totalTaskRuns / 10, qPrintable(QString::number(changes.count())));
    for (int row = 0; row < model.rowCount(); ++row)
        QCOMPARE(model.index(row, TaskRunModel::StateColumn).data(StateTypeRole).toInt(),
                 int(StateType::Completed));
}

void TestModels::taskRunModelRowMapping()
{
    AppContext context;
    TaskRunModel model(&context);
    QAbstractItemModelTester tester(&model, QAbstractItemModelTester::FailureReportingMode::Fatal);
    // "late" is written first but depends on "early": rows follow creation (dependency) order.
    FlowRun* run = start(context, R"({"name": "order", "tasks": [
        {"id": "late", "kind": "noop", "map": 3, "depends_on": ["early"]},
        {"id": "empty", "kind": "noop", "map": 0},
        {"id": "early", "kind": "noop", "map": 4},
        {"id": "last", "kind": "noop", "depends_on": ["late"]}]})");
    QVERIFY(run);
    model.setFlowRun(run);
    QTRY_VERIFY(run->isTerminal());
    context.flush();
    QCOMPARE(model.rowCount(), 8);
    QStringList labels;
    for (int row = 0; row < model.rowCount(); ++row) {
        const QString task = model.index(row, TaskRunModel::TaskColumn).data().toString();
        const QVariant index = model.index(row, TaskRunModel::MapIndexColumn).data();
        labels << (index.isValid() ? QStringLiteral("%1[%2]").arg(task).arg(index.toInt()) : task);
        QCOMPARE(model.table().rowOf(*model.taskRunAt(row)), row);
    }
    QCOMPARE(labels.join(u' '),
             QStringLiteral("early[0] early[1] early[2] early[3] late[0] late[1] late[2] last"));
}

void TestModels::taskRunFilterModel()
{
    AppContext context;
    TaskRunModel model(&context);
    FlowRun* run = start(context, R"({"name": "mixed", "tasks": [
        {"id": "good", "kind": "noop", "map": 10, "tags": ["db"]},
        {"id": "broken", "kind": "fail", "message": "disk on fire"},
        {"id": "after", "kind": "noop", "depends_on": ["broken"]}]})");
    model.setFlowRun(run);
    TaskRunFilterModel filter;
    filter.setSourceModel(&model);
    QAbstractItemModelTester tester(&filter, QAbstractItemModelTester::FailureReportingMode::Fatal);
    QTRY_VERIFY(run->isTerminal());
    context.flush();
    QCOMPARE(filter.rowCount(), 12);
    filter.setStateFilter(StateType::Failed); // Failed and UpstreamFailed
    QCOMPARE(filter.rowCount(), 2);
    filter.setStateFilter(std::nullopt);
    filter.setSearchText(QStringLiteral("FIRE"));
    QCOMPARE(filter.rowCount(), 1);
    QCOMPARE(filter.index(0, TaskRunModel::TaskColumn).data().toString(), QStringLiteral("broken"));
    filter.setSearchText(QStringLiteral("db"));
    QCOMPARE(filter.rowCount(), 10);
    QVERIFY(filter.isFiltering());
}

void TestModels::logModelTailsAndIsBounded()
{
    AppContext context;
    LogModel model(&context);
    QAbstractItemModelTester tester(&model, QAbstractItemModelTester::FailureReportingMode::Fatal);
    // Two bursts, a few ticks apart: the second pushes the oldest lines out of the model.
    const int lines = 12000;
    FlowRun* run = start(context, R"({"name": "chatty", "tasks": [{"id": "talk", "kind": "shell",
        "command": ["sh", "-c", "seq 1 6000; sleep 0.3; seq 6001 12000"]}]})");
    QVERIFY(run);
    model.setFlowRun(run);
    QSignalSpy resets(&model, &QAbstractItemModel::modelReset);
    QSignalSpy inserts(&model, &QAbstractItemModel::rowsInserted);
    QSignalSpy removes(&model, &QAbstractItemModel::rowsRemoved);
    QTRY_VERIFY_WITH_TIMEOUT(run->isTerminal(), 20000);
    context.flush();
    QCOMPARE(model.rowCount(), LogBuffers::MaxLines);
    QCOMPARE(model.index(model.rowCount() - 1, LogModel::MessageColumn).data().toString(),
             QString::number(lines));
    QCOMPARE(model.index(0, LogModel::MessageColumn).data().toString(),
             QString::number(lines - LogBuffers::MaxLines + 1));
    QCOMPARE(model.index(0, LogModel::TaskColumn).data().toString(), QStringLiteral("talk"));
    QCOMPARE(resets.count(), 0);
    QVERIFY(inserts.count() >= 1);
    QVERIFY(removes.count() >= 1);
}

void TestModels::stallModelListsStalls()
{
    AppContext context;
    context.setLoopLagThresholdMs(50);
    StallModel model(&context);
    QAbstractItemModelTester tester(&model, QAbstractItemModelTester::FailureReportingMode::Fatal);
    QSignalSpy resets(&model, &QAbstractItemModel::modelReset);
    QSignalSpy inserts(&model, &QAbstractItemModel::rowsInserted);
    FlowRun* run = start(
        context, R"({"name": "blocker", "tasks": [{"id": "block", "kind": "loop_block", "seconds": 0.2}]})");
    QVERIFY(run);
    QTRY_VERIFY(run->isTerminal());
    QTRY_VERIFY(model.rowCount() >= 1);
    QCOMPARE(model.index(0, StallModel::TaskColumn).data().toString(), QStringLiteral("block"));
    QVERIFY(
        model.index(0, StallModel::FlowRunColumn).data().toString().startsWith(QStringLiteral("blocker")));
    QCOMPARE(resets.count(), 0);
    QVERIFY(inserts.count() >= 1);
    // A model made later loads what the monitor kept (a bulk load).
    StallModel later(&context);
    QAbstractItemModelTester laterTester(&later, QAbstractItemModelTester::FailureReportingMode::Fatal);
    QCOMPARE(later.rowCount(), model.rowCount());
}

void TestModels::flowListModelListsFoldersAndInvalidFiles()
{
    const QString user = flowlibrary::userFlowFolder();
    QVERIFY(user.startsWith(QDir::tempPath()) || qEnvironmentVariableIsSet("XDG_DATA_HOME"));
    writeFile(
        user + QStringLiteral("/valid.json"),
        R"({"name": "valid", "description": "Does nothing. Twice.", "tasks": [{"id": "a", "kind": "noop", "map": 2}]})");
    writeFile(user + QStringLiteral("/broken.json"),
              R"({"name": "broken", "tasks": [{"id": "a", "kind": "noop", "depends_on": ["lod"]}]})");
    writeFile(user + QStringLiteral("/syntax.json"), "{ not json");
    QTemporaryDir extra;
    writeFile(extra.filePath(QStringLiteral("other.json")),
              R"({"name": "other", "tasks": [{"id": "a", "kind": "noop"}]})");

    AppContext context;
    FlowListModel model(&context);
    QAbstractItemModelTester tester(&model, QAbstractItemModelTester::FailureReportingMode::Fatal);
    QTRY_COMPARE(model.pendingLoads(), 0);
    QSignalSpy resets(&model, &QAbstractItemModel::modelReset);

    const int valid = model.rowOfSource(user + QStringLiteral("/valid.json"));
    const int broken = model.rowOfSource(user + QStringLiteral("/broken.json"));
    const int syntax = model.rowOfSource(user + QStringLiteral("/syntax.json"));
    QVERIFY(valid >= 0 && broken >= 0 && syntax >= 0);
    QVERIFY(model.entryAt(valid)->isValid());
    QCOMPARE(model.index(valid, FlowListModel::TasksColumn).data().toInt(), 1);
    QCOMPARE(model.index(valid, FlowListModel::DescriptionColumn).data().toString(),
             QStringLiteral("Does nothing."));
    QVERIFY(!model.entryAt(broken)->isValid());
    QCOMPARE(model.index(broken, FlowListModel::NameColumn).data().toString(), QStringLiteral("broken"));
    QVERIFY(model.index(broken, FlowListModel::NameColumn)
                .data(Qt::ToolTipRole)
                .toString()
                .contains(QStringLiteral("lod")));
    QVERIFY(model.index(broken, FlowListModel::DescriptionColumn)
                .data()
                .toString()
                .startsWith(QStringLiteral("Invalid:")));
    QCOMPARE(model.index(syntax, FlowListModel::NameColumn).data().toString(), QStringLiteral("syntax"));
    QVERIFY(!model.entryAt(syntax)->isValid());

    // An added folder appears as inserted rows; it is remembered.
    QSignalSpy inserts(&model, &QAbstractItemModel::rowsInserted);
    model.addFolder(extra.path());
    QTRY_VERIFY(model.rowOfSource(extra.filePath(QStringLiteral("other.json"))) >= 0);
    QVERIFY(inserts.count() >= 1);
    QVERIFY(model.folders().contains(QDir::cleanPath(extra.path())));

    // The last run of a flow shows live.
    const FlowEntry* entry = model.entryAt(valid);
    FlowRun* run = context.startFlow(entry->document, entry->source, {}, nullptr);
    QVERIFY(run);
    QTRY_COMPARE(model.index(valid, FlowListModel::LastRunColumn).data().toString(),
                 QStringLiteral("Completed"));

    // Reading the folders again replaces rows group by group, without a reset.
    model.reload();
    QTRY_COMPARE(model.pendingLoads(), 0);
    QCOMPARE(resets.count(), 0);
    QCOMPARE(model.index(model.rowOfSource(entry->source), FlowListModel::LastRunColumn).data().toString(),
             QStringLiteral("Completed"));
    QFile::remove(user + QStringLiteral("/valid.json"));
    QFile::remove(user + QStringLiteral("/broken.json"));
    QFile::remove(user + QStringLiteral("/syntax.json"));
}

void TestModels::concurrencyModelRowsFollowLimiter()
{
    AppContext context;
    ConcurrencyModel model(&context);
    QAbstractItemModelTester tester(&model, QAbstractItemModelTester::FailureReportingMode::Fatal);
    QSignalSpy resets(&model, &QAbstractItemModel::modelReset);
    QSignalSpy inserts(&model, &QAbstractItemModel::rowsInserted);
    QSignalSpy removals(&model, &QAbstractItemModel::rowsRemoved);
    QSignalSpy changes(&model, &QAbstractItemModel::dataChanged);
    QCOMPARE(model.rowCount(), 0);

    // Without a store the limits live in this process's limiter; rows come in tag order.
    QVERIFY(context.limits().setLimit(QStringLiteral("net"), 2));
    QVERIFY(context.limits().setLimit(QStringLiteral("cpu"), 1));
    QVERIFY(!context.limits().setLimit(QStringLiteral("two words"), 1));
    QTRY_COMPARE(model.rowCount(), 2);
    QCOMPARE(model.rowAt(0)->tag, QStringLiteral("cpu"));
    QCOMPARE(model.rowAt(1)->tag, QStringLiteral("net"));
    QCOMPARE(model.data(model.index(1, ConcurrencyModel::LimitColumn)).toInt(), 2);
    QVERIFY(model.flags(model.index(0, ConcurrencyModel::LimitColumn)) & Qt::ItemIsEditable);
    QVERIFY(!(model.flags(model.index(0, ConcurrencyModel::TagColumn)) & Qt::ItemIsEditable));

    // A tagged flow: active and waiting follow, one row changes, coalesced per tick.
    FlowRun* run = start(context, R"({"name": "t", "tasks": [
        {"id": "a", "kind": "sleep", "seconds": 30, "map": 4, "tags": ["cpu"]}]})");
    QVERIFY(run);
    QTRY_VERIFY(model.rowAt(0)->active == 1 && model.rowAt(0)->waiting == 3);
    QCOMPARE(model.data(model.index(0, ConcurrencyModel::UsageColumn), ProgressRole).toDouble(), 1.0);
    QCOMPARE(model.rowAt(1)->active, 0);

    // In-place edit: validated, then applied to the limiter (the waiters go ahead).
    QSignalSpy invalid(&model, &ConcurrencyModel::invalidInput);
    QVERIFY(!model.setData(model.index(0, ConcurrencyModel::LimitColumn), QStringLiteral("-1")));
    QVERIFY(!model.setData(model.index(0, ConcurrencyModel::LimitColumn), QStringLiteral("x")));
    QCOMPARE(invalid.count(), 2);
    QCOMPARE(context.engine().limiter().limit(QStringLiteral("cpu")).value_or(-1), 1);
    changes.clear();
    QVERIFY(model.setData(model.index(0, ConcurrencyModel::LimitColumn), 4));
    QCOMPARE(context.engine().limiter().limit(QStringLiteral("cpu")).value_or(-1), 4);
    QTRY_VERIFY(model.rowAt(0)->active == 4 && model.rowAt(0)->waiting == 0);
    for (const QList<QVariant>& change : changes) {
        const auto first = change.at(0).value<QModelIndex>();
        const auto last = change.at(1).value<QModelIndex>();
        QCOMPARE(first.row(), last.row()); // row-level
    }

    // Delete: one row removed.
    QVERIFY(context.limits().removeLimit(QStringLiteral("net")));
    QTRY_COMPARE(model.rowCount(), 1);
    QCOMPARE(removals.count(), 1);
    QCOMPARE(inserts.count(), 2);
    QCOMPARE(resets.count(), 0);
    context.cancelAllAndWait(10000);
}

namespace {

qint64 wallNowUs()
{
    return std::chrono::duration_cast<std::chrono::microseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
}

//! Registers an engine row as `flowdeck worker` does (on another host, so nobody probes its pid).
QString registerFakeWorker(ConnectionPool& pool, const QString& name, qint64 heartbeatUs)
{
    const QString id = RunId::generate().toString();
    auto registering = pool.run([id, name, heartbeatUs](QSqlDatabase& db) {
        QSqlQuery q(db);
        q.prepare(QStringLiteral(
            "INSERT INTO engines (id, host, pid, started_at, heartbeat_at) VALUES (?, ?, ?, ?, ?)"));
        for (const QVariant& v :
             QVariantList{id, QStringLiteral("elsewhere.example"), 4242, heartbeatUs, heartbeatUs})
            q.addBindValue(v);
        if (!q.exec())
            throw DatabaseError("inserting an engine");
        workers::registerWorker(db, id, name, 4, 3'600'000'000LL);
        workers::heartbeat(db, id, workers::WorkerFigures{1, 2, 8, 1500});
        QSqlQuery beat(db);
        beat.prepare(QStringLiteral("UPDATE engines SET heartbeat_at = ? WHERE id = ?"));
        beat.addBindValue(heartbeatUs);
        beat.addBindValue(id);
        beat.exec();
        return true;
    });
    QCoro::waitFor(registering);
    return id;
}

workers::Submission submission(const QString& name)
{
    workers::Submission s;
    s.flowName = name;
    s.document = document(R"({"name": "queued", "tasks": [{"id": "a", "kind": "noop"}]})");
    s.totalTaskRuns = 1;
    return s;
}

} // namespace

void TestModels::flowRunModelWorkerColumn()
{
    QTemporaryDir dir;
    AppContext context;
    QVERIFY(context.database().open(dir.filePath(QStringLiteral("workers.db"))));
    QTRY_COMPARE_WITH_TIMEOUT(int(context.database().state()), int(DatabaseState::Open), 20000);
    FlowRunModel model(&context);
    QAbstractItemModelTester tester(&model, QAbstractItemModelTester::FailureReportingMode::Fatal);
    QSignalSpy resets(&model, &QAbstractItemModel::modelReset);

    // A run of this app: "this app".
    FlowRun* local = start(context, R"({"name": "local", "tasks": [{"id": "a", "kind": "noop"}]})");
    QVERIFY(local);
    QTRY_VERIFY_WITH_TIMEOUT(local->isTerminal(), 10000);
    context.flush();
    QTRY_COMPARE(model.rowCount(), 1);
    QCOMPARE(model.index(0, FlowRunModel::WorkerColumn).data().toString(), QStringLiteral("this app"));
    QCOMPARE(model.headerData(FlowRunModel::WorkerColumn, Qt::Horizontal).toString(),
             QStringLiteral("Worker"));

    // Queued after it: one waits (no worker), one is claimed by worker "build-box-1". Both are
    // newer than the session's run: they go on top, row by row, with no reset.
    ConnectionPool& pool = context.database().store()->pool();
    const QString workerId = registerFakeWorker(pool, QStringLiteral("build-box-1"), wallNowUs());
    auto queueing = pool.run([workerId](QSqlDatabase& db) {
        const QString claimed = workers::submitFlowRun(db, submission(QStringLiteral("claimed")));
        workers::claimFlowRuns(db, workerId, QStringLiteral("build-box-1"),
                               QStringLiteral("elsewhere.example"), 4242, 1);
        const QString waiting = workers::submitFlowRun(db, submission(QStringLiteral("waiting")));
        return std::make_pair(claimed, waiting);
    });
    const auto ids = QCoro::waitFor(queueing);
    context.history().reload();
    QTRY_COMPARE_WITH_TIMEOUT(model.rowCount(), 3, 10000);
    QCOMPARE(model.flowRunAt(0)->id.toString(), ids.second);
    QCOMPARE(model.flowRunAt(1)->id.toString(), ids.first);
    QCOMPARE(model.flowRunAt(2), local);
    QCOMPARE(model.index(0, FlowRunModel::WorkerColumn).data().toString(), QString());
    QCOMPARE(model.index(1, FlowRunModel::WorkerColumn).data().toString(), QStringLiteral("build-box-1"));
    QCOMPARE(model.index(2, FlowRunModel::WorkerColumn).data().toString(), QStringLiteral("this app"));
    QCOMPARE(resets.count(), 0);

    // The waiting run is claimed later: its row changes in place.
    QSignalSpy changes(&model, &QAbstractItemModel::dataChanged);
    auto claiming = pool.run([workerId](QSqlDatabase& db) {
        return workers::claimFlowRuns(db, workerId, QStringLiteral("build-box-1"),
                                      QStringLiteral("elsewhere.example"), 4242, 1)
            .claimed.size();
    });
    QCOMPARE(QCoro::waitFor(claiming), qsizetype(1));
    context.history().reload();
    QTRY_COMPARE_WITH_TIMEOUT(model.index(0, FlowRunModel::WorkerColumn).data().toString(),
                              QStringLiteral("build-box-1"), 10000);
    // The row is announced at the next display tick.
    QTRY_VERIFY(std::any_of(changes.begin(), changes.end(), [](const QList<QVariant>& args) {
        return args.at(0).toModelIndex().row() == 0
            && args.at(1).toModelIndex().column() >= FlowRunModel::WorkerColumn;
    }));
    QCOMPARE(resets.count(), 0);
    context.cancelAllAndWait(10000);
    context.database().closeAndWait(10000);
}

void TestModels::workerModelRowsFollowEngines()
{
    WorkerModel model;
    QAbstractItemModelTester tester(&model, QAbstractItemModelTester::FailureReportingMode::Fatal);
    QSignalSpy resets(&model, &QAbstractItemModel::modelReset);
    QSignalSpy inserts(&model, &QAbstractItemModel::rowsInserted);
    QSignalSpy removes(&model, &QAbstractItemModel::rowsRemoved);
    const qint64 now = wallNowUs();
    auto row = [now](const char* id, const char* name, qint64 ageUs) {
        workers::WorkerRow r;
        r.id = QString::fromLatin1(id);
        r.name = QString::fromLatin1(name);
        r.kind = r.name.isEmpty() ? QStringLiteral("engine") : QStringLiteral("worker");
        r.host = QStringLiteral("box");
        r.pid = 7;
        r.heartbeatUs = now - ageUs;
        r.leaseUs = 30'000'000;
        r.maxFlowRuns = 4;
        r.flowRunsRunning = 2;
        r.blockingBusy = 3;
        r.blockingMax = 8;
        r.loopLagUs = 1250;
        return r;
    };
    model.setRows({row("a", "alpha", 400'000), row("e", "", 1'000'000)}, now);
    QCOMPARE(model.rowCount(), 2);
    QCOMPARE(model.online(), 1);
    QCOMPARE(model.index(0, WorkerModel::Heartbeat).data().toString(), QStringLiteral("0.4 s ago"));
    QCOMPARE(model.index(0, WorkerModel::FlowRuns).data().toString(), QStringLiteral("2 / 4"));
    QCOMPARE(model.index(0, WorkerModel::BlockingPool).data().toString(), QStringLiteral("3 / 8"));
    QCOMPARE(model.index(0, WorkerModel::LoopLag).data().toString(), QStringLiteral("1.3 ms"));
    QCOMPARE(model.index(0, WorkerModel::Status).data().toString(), QStringLiteral("online"));
    // A second worker registers; then the first stops heartbeating (offline), then goes.
    model.setRows({row("a", "alpha", 400'000), row("b", "beta", 0), row("e", "", 0)}, now);
    QCOMPARE(model.rowCount(), 3);
    QCOMPARE(model.index(1, WorkerModel::Name).data().toString(), QStringLiteral("beta"));
    model.setRows({row("a", "alpha", 60'000'000), row("b", "beta", 0), row("e", "", 0)}, now);
    QCOMPARE(model.index(0, WorkerModel::Status).data().toString(), QStringLiteral("offline"));
    QCOMPARE(model.online(), 1);
    model.setRows({row("b", "beta", 0), row("e", "", 0)}, now);
    QCOMPARE(model.rowCount(), 2);
    QCOMPARE(model.index(0, WorkerModel::Name).data().toString(), QStringLiteral("beta"));
    QCOMPARE(resets.count(), 0);
    QCOMPARE(inserts.count(), 3); // alpha and the engine, then beta
    QCOMPARE(removes.count(), 1);
}

//! The dashboard's engine leaves freed memory to the next runs: a heap trim after a big run holds the
//! GUI thread's allocations for tens of ms (bench_dashboard's 'after' column: 36 ms with it, 6 without,
//! after a million task runs). Engines of headless processes (run, worker) do trim.
void TestModels::dashboardEngineDoesNotTrimTheHeap()
{
    AppContext context;
    QVERIFY(!context.engine().trimsAfterLargeRuns());
    Engine headless;
    QVERIFY(headless.trimsAfterLargeRuns());
}

FLOWDECK_GUI_TEST_MAIN(TestModels, "tst_models")

#include "tst_models.moc"
