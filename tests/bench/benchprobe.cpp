#include "benchprobe.h"

#include "run/scheduler.h"

#include <QCoreApplication>
#include <QElapsedTimer>
#include <QEventLoop>
#include <QSqlDatabase>
#include <QSqlQuery>

#include <algorithm>
#include <coroutine>
#include <cstdio>
#include <exception>
#include <vector>

namespace flowdeck::bench {

namespace {

//! A coroutine that starts at once and frees itself at its end: nothing but the hand-offs.
struct Detached {
    struct promise_type {
        Detached get_return_object() { return {}; }
        std::suspend_never initial_suspend() noexcept { return {}; }
        std::suspend_never final_suspend() noexcept { return {}; }
        void return_void() {}
        void unhandled_exception() { std::terminate(); }
    };
};

Detached resumeThrice(Scheduler& scheduler, int& left, QEventLoop& loop)
{
    co_await scheduler.yield();
    co_await scheduler.yield();
    co_await scheduler.yield();
    if (--left == 0)
        loop.quit();
}

//! In rounds of 1,000 coroutines at a time, so that the probe leaves the process's peak RSS where it
//! was: on Linux a child process inherits it (ru_maxrss), and bench_engine measures peaks in children.
double readyQueueOnce(int coroutines)
{
    constexpr int Round = 1000;
    Scheduler scheduler;
    QEventLoop loop;
    QElapsedTimer timer;
    timer.start();
    for (int done = 0; done < coroutines; done += Round) {
        int left = std::min(Round, coroutines - done);
        const int count = left;
        for (int i = 0; i < count; ++i)
            resumeThrice(scheduler, left, loop);
        if (left > 0)
            loop.exec();
    }
    return double(timer.nsecsElapsed()) / 1e3 / coroutines;
}

} // namespace

double readyQueueProbeUs(int coroutines)
{
    std::vector<double> runs;
    for (int i = 0; i < 3; ++i)
        runs.push_back(readyQueueOnce(coroutines));
    std::sort(runs.begin(), runs.end());
    return runs[1];
}

double sqliteRowsPerSecond(const QString& path)
{
    const QString name = QStringLiteral("bench-probe");
    double rate = 0;
    {
        QSqlDatabase db = QSqlDatabase::addDatabase(QStringLiteral("QSQLITE"), name);
        db.setDatabaseName(path);
        if (!db.open())
            return 0;
        QSqlQuery q(db);
        q.exec(QStringLiteral("PRAGMA journal_mode=WAL"));
        q.exec(QStringLiteral("CREATE TABLE probe (id TEXT, state TEXT, time INTEGER)"));
        constexpr int Rows = 100000;
        QElapsedTimer timer;
        timer.start();
        db.transaction();
        q.prepare(QStringLiteral("INSERT INTO probe VALUES (?, ?, ?)"));
        for (int i = 0; i < Rows; ++i) {
            q.addBindValue(QString::number(i));
            q.addBindValue(QStringLiteral("COMPLETED"));
            q.addBindValue(i);
            q.exec();
        }
        db.commit();
        rate = Rows / (double(timer.nsecsElapsed()) / 1e9);
    }
    QSqlDatabase::removeDatabase(name);
    return rate;
}

double printReadyQueueProbe()
{
    const double us = readyQueueProbeUs();
    std::printf("probe: a coroutine resumed 3 times through the ready queue costs %.3f us (median of 3 x "
                "100,000, 1,000 at a time); ratio = figure / probe\n",
                us);
    std::fflush(stdout);
    return us;
}

} // namespace flowdeck::bench
