// Store benchmark: transitions persisted per second (group commit vs a transaction per transition),
// on SQLite and PostgreSQL, and the no-op flow with every transition durable.
//
//   cmake --build build/release --target bench_store flowdeck
//   build/release/tests/bench/bench_store sqlite [N]          # SQLite file in a temp folder
//   build/release/tests/bench/bench_store postgres URL [N]    # e.g. after `source scripts/test-env.sh`
//   build/release/tests/bench/bench_store sqlite postgres URL [N]   # both, and the ratio of their costs
//   build/release/tests/bench/bench_store sqlite 1000000 --sleep-ms 1  # 1 ms sleeps instead of no-ops
// Each backend prints its probe (a bare row insert, measured in the same run) beside its figures. Peak
// RSS belongs to the process: run one backend alone to read it for that backend.
#include "flow/flowparser.h"
#include "flow/taskkind.h"
#include "run/engine.h"
#include "run/loopmonitor.h"
#include "session/enginelink.h"
#include "store/connectionpool.h"
#include "store/databaseurl.h"
#include "store/pgbulk.h"
#include "store/sqlhelpers.h"
#include "store/store.h"

#include <QCoreApplication>
#include <QCoro/QCoroTask>
#include <QElapsedTimer>
#include <QEventLoop>
#include <QSqlQuery>
#include <QTemporaryDir>
#include <QUuid>

#include <algorithm>
#include <cstdio>
#include <optional>
#include <sys/resource.h>

using namespace flowdeck;

namespace {

// QCoro::waitFor() runs an event loop that sleeps until something happens. (A loop over
// QCoreApplication::processEvents(flags, ms) would spin: that overload drops WaitForMoreEvents, and the
// spinning main thread took a core from the database thread.)
template<typename T>
T finish(QCoro::Task<T>& task)
{
    return QCoro::waitFor(task);
}

//! CPU time of the whole process (every thread), in seconds: less noisy than wall time on a busy machine.
double cpuSeconds()
{
    rusage usage{};
    getrusage(RUSAGE_SELF, &usage);
    return double(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec)
        + double(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6;
}

long peakRssKb()
{
    rusage usage{};
    getrusage(RUSAGE_SELF, &usage);
    return usage.ru_maxrss;
}

struct Figures {
    double wallS = 0;
    double cpuS = 0;
    quint64 transitions = 0;
    quint64 batches = 0;
    double maxCommitMs = 0;
    double maxLoopStepMs = 0;
    double lagMaxMs = 0;
};

//! The flow's task: a no-op, or with \a sleepMs > 0 a sleep of that long (every run goes through the
//! scheduler's shared deadline queue once).
QString taskJson(int n, double sleepMs)
{
    if (sleepMs <= 0)
        return QStringLiteral(R"({"id": "x", "kind": "noop", "map": %1})").arg(n);
    return QStringLiteral(R"({"id": "x", "kind": "sleep", "seconds": %1, "map": %2})")
        .arg(sleepMs / 1000)
        .arg(n);
}

Figures runNoops(const DatabaseUrl& url, int n, int maxBatch, double sleepMs)
{
    Engine engine;
    ConnectionPool pool(url);
    Store store(pool, engine.scheduler());
    auto opening = store.open();
    finish(opening);
    std::optional<EngineLink> link;
    link.emplace(store, engine);
    if (maxBatch > 0)
        store.setMaxBatchTransitions(maxBatch);
    ValidationErrors errors;
    const QByteArray json
        = QStringLiteral(R"({"name": "bench-%1", "tasks": [%2]})").arg(n).arg(taskJson(n, sleepMs)).toUtf8();
    const auto flow = FlowParser(TaskKindRegistry::instance()).parse(json, QStringLiteral("bench"), errors);
    QElapsedTimer timer;
    timer.start();
    const double cpuStart = cpuSeconds();
    bool done = false;
    QEventLoop loop;
    QObject::connect(&engine, &Engine::flowRunFinished, &loop, [&] {
        done = true;
        loop.quit();
    });
    engine.start(*flow);
    if (!done)
        loop.exec();
    Figures f;
    f.wallS = double(timer.nsecsElapsed()) / 1e9;
    f.cpuS = cpuSeconds() - cpuStart;
    const StoreMetrics m = store.metrics();
    f.transitions = m.transitionsWritten;
    f.batches = m.batches;
    f.maxCommitMs = m.maxCommitMs;
    f.maxLoopStepMs = m.maxLoopStepMs;
    f.lagMaxMs = engine.loopMonitor().lagStats().max;
    link.reset();
    return f;
}

void print(const char* what, int n, const Figures& f)
{
    std::printf("%-34s N=%-7d wall %8.3f s  %8.1f us/task  %9.0f transitions/s  %6llu batches  "
                "longest commit %7.1f ms  longest GUI-thread store step %6.3f ms  loop lag max %6.1f ms  "
                "CPU %.3f s (all threads)\n",
                what, n, f.wallS, f.wallS * 1e6 / n, double(f.transitions) / f.wallS, f.batches,
                f.maxCommitMs, f.maxLoopStepMs, f.lagMaxMs, f.cpuS);
    std::fflush(stdout);
}

//! Seconds to insert \a rows bare rows (a text id, a number, a short text) in one transaction, the
//! fastest way this code writes each backend: SQLite one prepared insert per row; PostgreSQL COPY
//! (pg::BulkInsert, as the batch writer). The yardstick beside a task run's cost.
double probeSeconds(const DatabaseUrl& url, int rows)
{
    ConnectionPool pool(url);
    auto probing = pool.run([rows](QSqlDatabase& db) {
        const bool postgres = sql::isPostgres(db);
        sql::execDirect(db, QStringLiteral("DROP TABLE IF EXISTS bench_probe"), QStringLiteral("probe"));
        sql::execDirect(db, QStringLiteral("CREATE TABLE bench_probe (id TEXT, n BIGINT, s TEXT)"),
                        QStringLiteral("probe"));
        QElapsedTimer timer;
        timer.start();
        if (!db.transaction())
            throw DatabaseError("probe: no transaction");
        if (postgres) {
            pg::BulkInsert insert(db, QStringLiteral("bench_probe"),
                                  {{QStringLiteral("id"), pg::ColumnType::Text},
                                   {QStringLiteral("n"), pg::ColumnType::Int},
                                   {QStringLiteral("s"), pg::ColumnType::Text}});
            for (int i = 0; i < rows; ++i) {
                insert.text(QUuid::createUuid().toString(QUuid::WithoutBraces));
                insert.int64(i);
                insert.utf8("COMPLETED");
                insert.endRow();
            }
            insert.flush();
        } else {
            QSqlQuery insert(db);
            insert.prepare(QStringLiteral("INSERT INTO bench_probe (id, n, s) VALUES (?, ?, ?)"));
            for (int i = 0; i < rows; ++i) {
                insert.bindValue(0, QUuid::createUuid().toString(QUuid::WithoutBraces));
                insert.bindValue(1, i);
                insert.bindValue(2, QStringLiteral("COMPLETED"));
                sql::exec(insert, QStringLiteral("probe"));
            }
        }
        if (!db.commit())
            throw DatabaseError("probe: commit failed");
        const double seconds = double(timer.nsecsElapsed()) / 1e9;
        sql::execDirect(db, QStringLiteral("DROP TABLE bench_probe"), QStringLiteral("probe"));
        return seconds;
    });
    const double seconds = finish(probing);
    return seconds;
}

struct Result {
    QString backend;
    double taskUs = 0;
    double probeUs = 0;
};

Result measure(const QString& backend, const DatabaseUrl& url, int n, double sleepMs)
{
    std::printf("backend %s\n", qPrintable(url.redacted()));
    const long before = peakRssKb();
    const Figures batched = runNoops(url, n, 0, sleepMs); // the store's default batch bound
    const QByteArray what = sleepMs > 0
        ? QStringLiteral("%1 ms sleep flow, group commit").arg(sleepMs).toUtf8()
        : QByteArray("no-op flow, group commit");
    print(what.constData(), n, batched);
    std::printf("  peak RSS %ld MB (%.0f B per task run; the process started at %ld MB)\n",
                peakRssKb() / 1024, double(peakRssKb() - before) * 1024.0 / n, before / 1024);
    const int small = std::min(n, 2000);
    const Figures single = runNoops(url, small, 1, 0);
    print("no-op flow, one commit/transition", small, single);
    std::printf("group commit vs one transaction per transition: %.1fx the transitions per second\n",
                (double(batched.transitions) / batched.wallS) / (double(single.transitions) / single.wallS));
    const int probeRows = std::min(n, 20000);
    Result r{backend, batched.wallS * 1e6 / n, probeSeconds(url, probeRows) * 1e6 / probeRows};
    std::printf("probe: one bare row insert %.2f us (%d rows in one transaction); a task run costs %.1f "
                "of them\n\n",
                r.probeUs, probeRows, r.taskUs / r.probeUs);
    std::fflush(stdout);
    return r;
}

} // namespace

int main(int argc, char* argv[])
{
    QCoreApplication app(argc, argv);
    const QStringList args = app.arguments().mid(1);
    // Backends in order (sqlite, postgres URL), then N: both in one run compares them on one machine.
    std::vector<std::pair<QString, DatabaseUrl>> backends;
    QTemporaryDir dir;
    QString error;
    std::optional<int> n;
    double sleepMs = 0;
    for (qsizetype i = 0; i < args.size(); ++i) {
        std::optional<DatabaseUrl> url;
        if (args[i] == u"--sleep-ms" && i + 1 < args.size()) {
            bool ok = false;
            sleepMs = args[++i].toDouble(&ok);
            if (!ok || sleepMs <= 0) {
                std::fprintf(stderr, "bench_store: --sleep-ms: expected a positive number of milliseconds\n");
                return 2;
            }
            continue;
        }
        if (args[i] == u"sqlite") {
            url = DatabaseUrl::parse(dir.filePath(QStringLiteral("bench.db")), &error);
        } else if (args[i] == u"postgres" && i + 1 < args.size()) {
            url = DatabaseUrl::parse(args[++i], &error);
        } else if (bool ok = false; args[i].toInt(&ok) > 0 && ok && !n) {
            n = args[i].toInt();
            continue;
        } else {
            backends.clear();
            break;
        }
        if (!url) {
            std::fprintf(stderr, "bench_store: %s\n", qPrintable(error));
            return 2;
        }
        backends.emplace_back(args[i] == u"sqlite" ? QStringLiteral("sqlite") : QStringLiteral("postgres"),
                              *url);
    }
    if (backends.empty()) {
        std::fprintf(stderr, "usage: bench_store [sqlite] [postgres URL] [N] [--sleep-ms MS]\n");
        return 2;
    }
    const bool anyPostgres
        = std::any_of(backends.begin(), backends.end(), [](const auto& b) { return b.first == u"postgres"; });
    const int tasks = n.value_or(anyPostgres ? 20000 : 100000);
    std::vector<Result> results;
    for (const auto& [name, url] : backends)
        results.push_back(measure(name, url, tasks, sleepMs));
    if (results.size() == 2) {
        const Result& a = results[0];
        const Result& b = results[1];
        std::printf("per task run: %s %.1f us (probe %.2f us), %s %.1f us (probe %.2f us): %s costs %.2fx "
                    "%s per task run (target <= 4 for postgres/sqlite); probes %.2fx\n",
                    qPrintable(a.backend), a.taskUs, a.probeUs, qPrintable(b.backend), b.taskUs, b.probeUs,
                    qPrintable(b.backend), b.taskUs / a.taskUs, qPrintable(a.backend), b.probeUs / a.probeUs);
    }
    std::printf(
        "targets (SQLite, 2 cores): >= 300000 transitions/s batched; <= 10 us per task; <= 200 MB peak; "
        "GUI thread in a store call <= 1 ms\n");
    return 0;
}
