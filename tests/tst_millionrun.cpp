// One flow run of a million no-op task runs on SQLite, every transition durable: it completes,
// every task run is stored as completed with its three transitions, and the process's peak memory
// stays within 1.5 KB per task run (finished task runs leave only their rows behind).
#include "run/engine.h"
#include "run/flowrun.h"
#include "session/enginelink.h"
#include "store/connectionpool.h"
#include "store/databaseurl.h"
#include "store/store.h"
#include "testutil.h"

#include <QElapsedTimer>
#include <QTest>

#include <sys/resource.h>

using namespace flowdeck;
using namespace flowdeck::test;

namespace {

constexpr int TaskRuns = 1000000;
constexpr qint64 PeakBytesPerTaskRun = 1536;

long peakRssKb()
{
    rusage usage{};
    getrusage(RUSAGE_SELF, &usage);
    return usage.ru_maxrss;
}

qint64 scalar(const QString& url, const QString& sql, const QVariantList& binds = {})
{
    return query(url, sql, binds).value(0).value(0).toLongLong();
}

} // namespace

class TestMillionRun : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void millionNoopTaskRunsOnSqlite()
    {
        FLOWDECK_FRESH_DATABASE(url, QStringLiteral("sqlite"));
        QString error;
        const auto parsed = DatabaseUrl::parse(url, &error);
        QVERIFY2(parsed, qPrintable(error));
        const long startKb = peakRssKb();
        Engine engine;
        ConnectionPool pool(*parsed);
        Store store(pool, engine.scheduler());
        auto opening = store.open();
        finish(opening);
        EngineLink link(store, engine);
        const auto flow = parseFlow(
            QStringLiteral(R"({"name": "million", "tasks": [{"id": "x", "kind": "noop", "map": %1}]})")
                .arg(TaskRuns)
                .toUtf8());
        QVERIFY(flow);
        QElapsedTimer timer;
        timer.start();
        FlowRun* run = engine.start(*flow);
        // Generous: about a minute on 2 idle cores; far longer while other work shares them.
        QVERIFY(waitForFlow(engine, run, 240000));
        auto flushing = store.flush();
        finish(flushing, 120000);
        const double seconds = double(timer.elapsed()) / 1000;
        const qint64 peakBytes = qint64(peakRssKb() - startKb) * 1024;
        qInfo("%d no-op task runs in %.1f s (%.1f us each), peak RSS %lld B per task run", TaskRuns, seconds,
              seconds * 1e6 / TaskRuns, peakBytes / TaskRuns);
        QCOMPARE(toString(run->type), QStringLiteral("COMPLETED"));
        // Finished task runs left only their rows: every block was freed.
        QTRY_COMPARE_WITH_TIMEOUT(run->releasedTaskRuns, qint64(TaskRuns), 10000);
        const QString id = run->id.toString();
        QCOMPARE(query(url, QStringLiteral("SELECT state FROM flow_runs WHERE id = ?"), {id})
                     .value(0)
                     .value(0)
                     .toString(),
                 QStringLiteral("COMPLETED"));
        QCOMPARE(scalar(url,
                        QStringLiteral(
                            "SELECT count(*) FROM task_runs WHERE flow_run_id = ? AND state = 'COMPLETED'"),
                        {id}),
                 qint64(TaskRuns));
        QCOMPARE(
            scalar(url, QStringLiteral("SELECT count(*) FROM state_history WHERE task_run_id IS NOT NULL")),
            qint64(TaskRuns) * 3);
        QVERIFY2(peakBytes <= PeakBytesPerTaskRun * TaskRuns,
                 qPrintable(QStringLiteral("peak RSS grew by %1 B per task run").arg(peakBytes / TaskRuns)));
    }
};

QTEST_GUILESS_MAIN(TestMillionRun)
#include "tst_millionrun.moc"
