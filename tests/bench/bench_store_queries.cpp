// Store read-side benchmark: prints figures, it is not a pass/fail test.
//
//   cmake --build build/release --target bench_store_queries && build/release/tests/bench/bench_store_queries
//
//   bench_store_queries [--flow-runs N] [--tasks-per-run M] [--repeat R] [--db PATH|postgresql://...]
//   [--keep]
//
// Fills a fresh database (a SQLite file in a temporary folder by default) with N flow runs (default
// 100,000) and N*M task runs (M = 10: 1M), written with INSERT ... SELECT in one transaction per
// table through the connection pool, then times the dashboard's and the CLI's queries (storequeries.h).
// "open + newest page" is what `flowdeck runs ls` pays: a new pool, Store::open() (migration check and
// recovery) and the first page. Target: the newest page within 100 ms.

#include "run/scheduler.h"
#include "store/connectionpool.h"
#include "store/historyqueries.h"
#include "store/runqueries.h"
#include "store/schema.h"
#include "store/store.h"

#include <QCoreApplication>
#include <QCoro/QCoroTask>
#include <QDir>
#include <QElapsedTimer>
#include <QFileInfo>
#include <QSqlDriver>
#include <QSqlError>
#include <QSqlQuery>
#include <QTemporaryDir>
#include <QThread>
#include <QTimer>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <functional>
#include <memory>
#include <vector>

using namespace flowdeck;

namespace {

constexpr double TargetNewestPageMs = 100.0;
//! created_at of the first generated run, in milliseconds since the epoch (2024-01-01).
constexpr qint64 BaseMs = 1'704'067'200'000;

struct Options {
    qint64 flowRuns = 100'000;
    int tasksPerRun = 10;
    int repeat = 30;
    QString db;
    bool keep = false;
};

void usage()
{
    std::fprintf(stderr,
                 "usage: bench_store_queries [--flow-runs N] [--tasks-per-run M] [--repeat R] "
                 "[--db PATH|postgresql://...] [--keep]\n");
}

double msSince(const QElapsedTimer& timer)
{
    return double(timer.nsecsElapsed()) / 1e6;
}

void exec(QSqlDatabase& db, const QString& sql, const QString& what)
{
    QSqlQuery q(db);
    if (!q.exec(sql))
        throw DatabaseError(QString(what + QStringLiteral(": ") + q.lastError().text()).toStdString());
}

qint64 scalar(QSqlDatabase& db, const QString& sql)
{
    QSqlQuery q(db);
    if (!q.exec(sql) || !q.next())
        throw DatabaseError(QString(sql + QStringLiteral(": ") + q.lastError().text()).toStdString());
    return q.value(0).toLongLong();
}

bool isPostgres(const QSqlDatabase& db)
{
    return db.driver()->dbmsType() == QSqlDriver::PostgreSQL;
}

//! SQL for "hex digits of \a expr, zero-padded to \a width" in the database's dialect. Built by
//! concatenation: printf's '%0' must not meet QString::arg.
QString hex(bool pg, const QString& expr, int width)
{
    const QString w = QString::number(width);
    if (pg)
        return QStringLiteral("lpad(to_hex(") + expr + QStringLiteral("), ") + w + QStringLiteral(", '0')");
    return QStringLiteral("printf('%0") + w + QStringLiteral("x', ") + expr + u')';
}

//! A UUID-shaped id: the run's creation time in ms first (as version 7 ids), \a tag, then \a serial.
QString idExpr(bool pg, const QString& ms, const QString& tag, const QString& serial)
{
    return hex(pg, QStringLiteral("((") + ms + QStringLiteral(") >> 16)"), 8) + QStringLiteral(" || '-' || ")
        + hex(pg, QStringLiteral("((") + ms + QStringLiteral(") & 65535)"), 4) + QStringLiteral(" || '-")
        + tag + QStringLiteral("-8000-' || ") + hex(pg, serial, 12);
}

//! Rows 0..n-1 as column i, in the database's dialect.
QString series(bool pg, qint64 n)
{
    return pg
        ? QStringLiteral("generate_series(0::bigint, %1::bigint - 1) AS g(i)").arg(n)
        : QStringLiteral("(WITH RECURSIVE g(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM g WHERE i + 1 < %1) "
                         "SELECT i FROM g) AS g")
              .arg(n);
}

//! Fills the database; returns a line describing what it wrote.
QString generate(QSqlDatabase& db, qint64 flowRuns, int tasksPerRun)
{
    const bool pg = isPostgres(db);
    QElapsedTimer timer;
    timer.start();
    // Two runs per millisecond, so (created_at, id) ties are common, as under load.
    const QString flowMs = QStringLiteral("(") + QString::number(BaseMs) + QStringLiteral(" + i / 2)");
    exec(db, QStringLiteral("BEGIN"), QStringLiteral("begin"));
    // One multi-argument arg(): the inserted SQL (with printf's '%') is not scanned again.
    exec(db,
         QStringLiteral(
             "INSERT INTO flow_runs (id, flow_name, state, state_name, message, parameters, seed, "
             "total_task_runs, created_at, started_at, ended_at, host, pid, worker) "
             "SELECT %1, 'flow-' || (i % 7), "
             "CASE WHEN i % 20 < 2 THEN 'FAILED' WHEN i % 20 = 2 THEN 'CANCELLED' ELSE 'COMPLETED' END, "
             "CASE WHEN i % 20 < 2 THEN 'Failed' WHEN i % 20 = 2 THEN 'Cancelled' ELSE 'Completed' END, "
             "'generated', '{\"n\":1}', i, %2, %3 * 1000, %3 * 1000 + 10, %3 * 1000 + 2000000, 'bench', 1, "
             "'gone' "
             "FROM %4")
             .arg(idExpr(pg, flowMs, QStringLiteral("7000"), QStringLiteral("i")),
                  QString::number(tasksPerRun), flowMs, series(pg, flowRuns)),
         QStringLiteral("inserting flow runs"));
    exec(db, QStringLiteral("COMMIT"), QStringLiteral("commit"));
    const double flowMsTaken = msSince(timer);
    timer.restart();

    // Task run j belongs to flow run j / M; the first is "extract", the last "load", the others a
    // mapped "transform".
    const QString m = QString::number(tasksPerRun);
    const QString runMs = QStringLiteral("(%1 + (i / %2) / 2)").arg(QString::number(BaseMs), m);
    const QString k = QStringLiteral("(i % ") + m + u')';
    exec(db, QStringLiteral("BEGIN"), QStringLiteral("begin"));
    exec(db,
         QStringLiteral(
             "INSERT INTO task_runs (id, flow_run_id, task, map_index, state, state_name, message, attempts, "
             "tags, created_at, started_at, ended_at) "
             "SELECT %1, %2, "
             "CASE WHEN %3 = 0 THEN 'extract' WHEN %3 = %4 - 1 THEN 'load' ELSE 'transform' END, "
             "CASE WHEN %3 > 0 AND %3 < %4 - 1 THEN %3 - 1 ELSE NULL END, "
             "CASE WHEN (i / %4) % 20 < 2 AND %3 = %4 - 1 THEN 'FAILED' ELSE 'COMPLETED' END, "
             "CASE WHEN (i / %4) % 20 < 2 AND %3 = %4 - 1 THEN 'Failed' ELSE 'Completed' END, "
             "'ok', 1, NULL, %5 * 1000, %5 * 1000 + 20, %5 * 1000 + 1000 "
             "FROM %6")
             .arg(idExpr(pg, runMs, QStringLiteral("7001"), QStringLiteral("i")),
                  idExpr(pg, runMs, QStringLiteral("7000"), QStringLiteral("(i / ") + m + u')'), k, m, runMs,
                  series(pg, flowRuns * tasksPerRun)),
         QStringLiteral("inserting task runs"));
    exec(db, QStringLiteral("COMMIT"), QStringLiteral("commit"));
    if (pg) {
        // What autovacuum does soon after a bulk load. Without statistics the planner guesses thousands
        // of task runs per flow run, and the cost it then estimates turns on JIT compilation (half a
        // second per query here); without the visibility map an index-only range reads the table too.
        exec(db, QStringLiteral("VACUUM ANALYZE flow_runs"), QStringLiteral("vacuum"));
        exec(db, QStringLiteral("VACUUM ANALYZE task_runs"), QStringLiteral("vacuum"));
    }
    return QStringLiteral("generated %1 flow runs in %2 s and %3 task runs in %4 s")
        .arg(flowRuns)
        .arg(flowMsTaken / 1000, 0, 'f', 1)
        .arg(flowRuns * tasksPerRun)
        .arg(msSince(timer) / 1000, 0, 'f', 1);
}

struct Figures {
    QString name;
    std::vector<double> awaited; //!< ms from submitting the job to resuming with its result
    std::vector<double> inJob;   //!< ms spent in the query on the database thread
    int rows = 0;
    double longestTurnMs = -1; //!< the loop thread's longest turn while awaiting; -1: not measured
};

//! The probe of this run, in ms: one pass over the stored flow runs (see probeMs()).
double g_probeMs = 0;

double percentile(std::vector<double> v, double p)
{
    if (v.empty())
        return 0;
    std::sort(v.begin(), v.end());
    return v[std::min(v.size() - 1, size_t(p * double(v.size() - 1) + 0.5))];
}

void print(const Figures& f)
{
    const QString inJob
        = f.inJob.empty() ? QStringLiteral("-") : QString::number(percentile(f.inJob, 0.5), 'f', 2);
    const QString ratio = f.inJob.empty() || g_probeMs <= 0
        ? QStringLiteral("-")
        : QString::number(percentile(f.inJob, 0.5) / g_probeMs, 'f', 2);
    const QString turn = f.longestTurnMs < 0 ? QStringLiteral("-") : QString::number(f.longestTurnMs, 'f', 1);
    std::printf("%-44s %6d %9.2f %9.2f %9.2f %9.2f %11s %7s %6s\n", qPrintable(f.name), f.rows,
                percentile(f.awaited, 0), percentile(f.awaited, 0.5), percentile(f.awaited, 0.9),
                percentile(f.awaited, 1.0), qPrintable(inJob), qPrintable(ratio), qPrintable(turn));
    std::fflush(stdout);
}

//! Times \a query (returning a row count) \a repeat times through \a pool.
QCoro::Task<Figures> measure(ConnectionPool& pool, QString name, std::function<int(QSqlDatabase&)> query,
                             int repeat)
{
    Figures f;
    f.name = name;
    // The loop thread's turns while it awaits (a 1 ms timer): what a GUI thread would be held.
    QElapsedTimer sinceTick;
    sinceTick.start();
    double longest = 0;
    QTimer ticker;
    ticker.setInterval(1);
    QObject::connect(&ticker, &QTimer::timeout, [&] {
        longest = std::max(longest, msSince(sinceTick));
        sinceTick.restart();
    });
    ticker.start();
    for (int i = 0; i < repeat; ++i) {
        QElapsedTimer timer;
        timer.start();
        auto job = pool.run([query](QSqlDatabase& db) {
            QElapsedTimer inside;
            inside.start();
            const int rows = query(db);
            return std::make_pair(rows, msSince(inside));
        });
        const auto [rows, insideMs] = co_await job;
        f.awaited.push_back(msSince(timer));
        f.inJob.push_back(insideMs);
        f.rows = rows;
    }
    f.longestTurnMs = longest;
    co_return f;
}

QCoro::Task<int> benchMain(Options options)
{
    std::unique_ptr<QTemporaryDir> dir;
    if (options.db.isEmpty()) {
        dir = std::make_unique<QTemporaryDir>(QDir::tempPath() + QStringLiteral("/flowdeck-bench-XXXXXX"));
        dir->setAutoRemove(!options.keep);
        options.db = dir->filePath(QStringLiteral("bench.db"));
    }
    QString error;
    const auto url = DatabaseUrl::fromCommandLine(options.db, &error);
    if (!url) {
        std::fprintf(stderr, "bench_store_queries: %s\n", qPrintable(error));
        co_return 2;
    }
    std::printf("database: %s\n", qPrintable(url->redacted()));

    try {
        {
            ConnectionPool pool(*url);
            const qint64 flowRuns = options.flowRuns;
            const int tasksPerRun = options.tasksPerRun;
            auto filling = pool.run([flowRuns, tasksPerRun](QSqlDatabase& db) {
                schema::migrate(db);
                const qint64 existing = scalar(db, QStringLiteral("SELECT count(*) FROM flow_runs"));
                if (existing > 0)
                    return QStringLiteral("reusing %1 flow runs and %2 task runs")
                        .arg(existing)
                        .arg(scalar(db, QStringLiteral("SELECT count(*) FROM task_runs")));
                return generate(db, flowRuns, tasksPerRun);
            });
            const QString filled = co_await filling;
            std::printf("%s\n", qPrintable(filled));
            if (url->isSqlite()) {
                auto checkpoint = pool.run([](QSqlDatabase& db) {
                    exec(db, QStringLiteral("PRAGMA wal_checkpoint(TRUNCATE)"), QStringLiteral("checkpoint"));
                });
                co_await checkpoint;
                std::printf("file size: %.0f MB\n", double(QFileInfo(url->path).size()) / 1e6);
            }
        }

        // What `flowdeck runs ls` pays: a new pool and store, then the newest page.
        std::vector<double> openMs;
        std::vector<double> firstPageMs;
        for (int i = 0; i < std::max(3, options.repeat / 5); ++i) {
            QElapsedTimer timer;
            timer.start();
            Scheduler scheduler;
            ConnectionPool pool(*url);
            Store store(pool, scheduler);
            auto opening = store.open();
            co_await opening;
            const double opened = msSince(timer);
            auto listing = pool.run([](QSqlDatabase& db) { return listFlowRuns(db, RunFilter{}).size(); });
            const qsizetype rows = co_await listing;
            if (rows != 50)
                std::fprintf(stderr, "newest page has %lld rows\n", qlonglong(rows));
            openMs.push_back(opened);
            firstPageMs.push_back(msSince(timer) - opened);
        }

        ConnectionPool pool(*url);
        auto probing = pool.run([](QSqlDatabase& db) {
            // A cursor half-way down the list, and a run to read the task runs of.
            RunFilter half;
            half.limit = 1;
            const qint64 count = scalar(db, QStringLiteral("SELECT count(*) FROM flow_runs"));
            QSqlQuery q(db);
            q.prepare(QStringLiteral(
                "SELECT created_at, id FROM flow_runs ORDER BY created_at DESC, id DESC LIMIT 1 OFFSET ?"));
            q.addBindValue(count / 2);
            if (!q.exec() || !q.next())
                throw DatabaseError(q.lastError().text().toStdString());
            half.beforeCreatedUs = q.value(0).toLongLong();
            half.beforeId = q.value(1).toString();
            return half;
        });
        const RunFilter half = co_await probing;
        const QString someRun = half.beforeId;
        const int repeat = options.repeat;

        // The probe: one pass over every stored flow run (a table scan), median of 5, the figure to
        // divide by between machines and loads.
        auto probing2 = pool.run([](QSqlDatabase& db) {
            std::vector<double> ms;
            for (int i = 0; i < 5; ++i) {
                QElapsedTimer t;
                t.start();
                scalar(db, QStringLiteral("SELECT sum(total_task_runs) FROM flow_runs"));
                ms.push_back(msSince(t));
            }
            return percentile(ms, 0.5);
        });
        g_probeMs = co_await probing2;
        std::printf(
            "\nprobe: one pass over the stored flow runs (SELECT sum(total_task_runs) FROM flow_runs) "
            "%.2f ms\n",
            g_probeMs);
        // The trends' cache of past hours, filled as the schema migration fills it for the runs stored
        // before it (and as the first trends query after a bulk load does).
        {
            QElapsedTimer timer;
            timer.start();
            auto filling = pool.run([](QSqlDatabase& db) { fillTrendHours(db); });
            co_await filling;
            std::printf("trends cache filled for every past hour in %.0f ms\n", msSince(timer));
        }

        std::printf("\n%-44s %6s %9s %9s %9s %9s %11s %7s %6s\n", "query (ms; awaited from the loop thread)",
                    "rows", "min", "p50", "p90", "max", "p50 in job", "x probe", "turn");
        std::vector<Figures> all;
        {
            Figures f;
            f.name = QStringLiteral("open (new pool + Store::open)");
            f.awaited = openMs;
            all.push_back(f);
            print(f);
            f.name = QStringLiteral("  then newest page (50), first query");
            f.awaited = firstPageMs;
            f.rows = 50;
            all.push_back(f);
            print(f);
        }
        struct Case {
            QString name;
            std::function<int(QSqlDatabase&)> query;
        };
        const QList<Case> cases = {
            {QStringLiteral("newest page (50)"),
             [](QSqlDatabase& db) { return int(listFlowRuns(db, RunFilter{}).size()); }},
            {QStringLiteral("page after a cursor half-way down (50)"),
             [half](QSqlDatabase& db) {
                 RunFilter f = half;
                 f.limit = 50;
                 return int(listFlowRuns(db, f).size());
             }},
            {QStringLiteral("state FAILED, newest page (50)"),
             [](QSqlDatabase& db) {
                 RunFilter f;
                 f.state = QStringLiteral("FAILED");
                 return int(listFlowRuns(db, f).size());
             }},
            {QStringLiteral("state FAILED, page half-way down (50)"),
             [half](QSqlDatabase& db) {
                 RunFilter f = half;
                 f.limit = 50;
                 f.state = QStringLiteral("FAILED");
                 return int(listFlowRuns(db, f).size());
             }},
            {QStringLiteral("flow flow-3, newest page (50)"),
             [](QSqlDatabase& db) {
                 RunFilter f;
                 f.flow = QStringLiteral("flow-3");
                 return int(listFlowRuns(db, f).size());
             }},
            {QStringLiteral("state CANCELLED + flow flow-3 (50)"),
             [](QSqlDatabase& db) {
                 RunFilter f;
                 f.flow = QStringLiteral("flow-3");
                 f.state = QStringLiteral("CANCELLED");
                 return int(listFlowRuns(db, f).size());
             }},
            {QStringLiteral("state RUNNING (none)"),
             [](QSqlDatabase& db) {
                 RunFilter f;
                 f.state = QStringLiteral("RUNNING");
                 return int(listFlowRuns(db, f).size());
             }},
            // The Flows page's runs × tasks grid: a screenful of the newest runs of one flow.
            {QStringLiteral("recentRunGrid(flow-3, 40 runs)"),
             [](QSqlDatabase& db) { return int(recentRunGrid(db, QStringLiteral("flow-3"), 40).size()); }},
            {QStringLiteral("recentRunGrid(flow-3, 200 runs)"),
             [](QSqlDatabase& db) { return int(recentRunGrid(db, QStringLiteral("flow-3"), 200).size()); }},
            // A job as long as a query that only sleeps on the database thread: its turn column is
            // what the machine's load alone does to the awaiting loop thread.
            {QStringLiteral("40 ms sleep in a job (baseline for turn)"),
             [](QSqlDatabase&) {
                 QThread::msleep(40);
                 return 0;
             }},
            // The Health page's trends: a window holding the newest 1,000 runs, and one holding all.
            {QStringLiteral("runsPerBucket(newest 1,000 runs)"),
             [](QSqlDatabase& db) {
                 return int(runsPerBucket(db, (BaseMs + 49'500) * 1000, 3'600'000'000LL).size());
             }},
            {QStringLiteral("flowStats(newest 1,000 runs)"),
             [](QSqlDatabase& db) { return int(flowStats(db, (BaseMs + 49'500) * 1000).size()); }},
            {QStringLiteral("taskStats(newest 1,000 runs)"),
             [](QSqlDatabase& db) { return int(taskStats(db, (BaseMs + 49'500) * 1000).size()); }},
            {QStringLiteral("runsPerBucket(all 100k runs)"),
             [](QSqlDatabase& db) { return int(runsPerBucket(db, BaseMs * 1000, 3'600'000'000LL).size()); }},
            {QStringLiteral("flowStats(all 100k runs)"),
             [](QSqlDatabase& db) { return int(flowStats(db, BaseMs * 1000).size()); }},
            {QStringLiteral("taskStats(all 1M task runs)"),
             [](QSqlDatabase& db) { return int(taskStats(db, BaseMs * 1000).size()); }},
            // What the Health page reads in one job: a 7-day window holding every stored run, per day.
            {QStringLiteral("readTrends(all, per day)"),
             [](QSqlDatabase& db) {
                 const TrendsData d = readTrends(db, BaseMs * 1000, 24 * 3'600'000'000LL, 7);
                 return int(d.runsPerBucket.size() + d.flows.size() + d.tasks.size());
             }},
            {QStringLiteral("taskDurations(flow-3, transform, 30 runs)"),
             [](QSqlDatabase& db) {
                 return int(
                     taskDurations(db, QStringLiteral("flow-3"), QStringLiteral("transform"), 30).size());
             }},
            {QStringLiteral("flowRun(id)"),
             [someRun](QSqlDatabase& db) { return flowRun(db, someRun) ? 1 : 0; }},
            {QStringLiteral("taskRuns(run) (all of one run)"),
             [someRun](QSqlDatabase& db) { return int(taskRuns(db, someRun).size()); }},
            {QStringLiteral("taskRuns(run, FAILED)"),
             [someRun](QSqlDatabase& db) {
                 return int(taskRuns(db, someRun, QStringLiteral("FAILED")).size());
             }},
            {QStringLiteral("taskRunCounts(run)"),
             [someRun](QSqlDatabase& db) { return int(taskRunCounts(db, someRun).size()); }},
            // Generated ids differ only in their last digits (two runs per millisecond, a counter).
            {QStringLiteral("resolveFlowRunId(ambiguous 35-char prefix)"),
             [someRun](QSqlDatabase& db) {
                 QString error;
                 return resolveFlowRunId(db, someRun.left(35), &error) ? 1 : 0;
             }},
            // The short id the window shows: the last 8 digits, matched by one pass over the ids.
            {QStringLiteral("resolveFlowRunId(8-digit suffix)"),
             [someRun](QSqlDatabase& db) {
                 QString error;
                 return resolveFlowRunId(db, someRun.right(8), &error) ? 1 : 0;
             }},
            {QStringLiteral("resolveFlowRunId(14-digit prefix, no dashes)"),
             [someRun](QSqlDatabase& db) {
                 QString error;
                 return resolveFlowRunId(db, QString(someRun).remove(u'-').left(14), &error) ? 1 : 0;
             }},
        };
        for (const Case& c : cases) {
            auto measuring = measure(pool, c.name, c.query, repeat);
            Figures f = co_await measuring;
            print(f);
            all.push_back(std::move(f));
        }
        double worstTrend = 0;
        double worstTurn = 0;
        for (const Figures& f : all) {
            if (f.name.startsWith(QLatin1String("runsPerBucket"))
                || f.name.startsWith(QLatin1String("flowStats"))
                || f.name.startsWith(QLatin1String("taskStats"))
                || f.name.startsWith(QLatin1String("taskDurations"))
                || f.name.startsWith(QLatin1String("readTrends"))) {
                worstTrend = std::max(worstTrend, percentile(f.awaited, 0.5));
                worstTurn = std::max(worstTurn, f.longestTurnMs);
            }
        }
        std::printf("\ntrend queries: slowest p50 %.2f ms, target <= %.0f ms: %s; longest loop turn while "
                    "awaiting them %.1f ms, target <= 16 ms: %s\n",
                    worstTrend, TargetNewestPageMs, worstTrend <= TargetNewestPageMs ? "met" : "MISSED",
                    worstTurn, worstTurn <= 16.0 ? "met" : "MISSED");
        const double cold = percentile(firstPageMs, 0.5);
        const double warm = percentile(all[2].awaited, 0.5);
        std::printf("\nnewest page: %.2f ms p50 (%.2f ms the first query after opening; open itself %.1f "
                    "ms); target <= "
                    "%.0f ms: %s\n",
                    warm, cold, percentile(openMs, 0.5), TargetNewestPageMs,
                    std::max(cold, warm) <= TargetNewestPageMs ? "met" : "MISSED");
        if (options.keep)
            std::printf("kept the database: %s\n", qPrintable(url->redacted()));
    } catch (const std::exception& e) {
        std::fprintf(stderr, "bench_store_queries: %s\n", e.what());
        co_return 1;
    }
    co_return 0;
}

} // namespace

int main(int argc, char** argv)
{
    QCoreApplication app(argc, argv);
    Options options;
    const QStringList args = app.arguments().mid(1);
    for (qsizetype i = 0; i < args.size(); ++i) {
        const QString& a = args[i];
        const QString value = args.value(i + 1);
        bool ok = true;
        if (a == u"--flow-runs") {
            options.flowRuns = value.toLongLong(&ok);
            ++i;
        } else if (a == u"--tasks-per-run") {
            options.tasksPerRun = value.toInt(&ok);
            ok = ok && options.tasksPerRun >= 3;
            ++i;
        } else if (a == u"--repeat") {
            options.repeat = value.toInt(&ok);
            ++i;
        } else if (a == u"--db") {
            options.db = value;
            ++i;
        } else if (a == u"--keep") {
            options.keep = true;
        } else {
            ok = false;
        }
        if (!ok || options.flowRuns < 1 || options.repeat < 1) {
            usage();
            return 2;
        }
    }
    int exitCode = 1;
    bool done = false;
    auto wrapper = [&]() -> QCoro::Task<> {
        auto running = benchMain(options);
        exitCode = co_await running;
        done = true;
        QCoreApplication::exit(exitCode);
    };
    auto task = wrapper();
    if (!done)
        QCoreApplication::exec();
    return exitCode;
}
