// Schedules on a shared database: the next fire times wait as SCHEDULED flow runs that nobody claims
// before their time; every fire time becomes exactly one flow run across a dashboard-equivalent
// process and two workers (one SIGKILLed), on SQLite and PostgreSQL; max_active_runs with enqueue and
// skip; catch-up none/latest/all after a 5-minute gap (a clock passed in); pause and resume; a schedule
// surviving a restart; the CLI's answers to bad input.
//
// Run with --schedule-host URL, this executable is the dashboard-equivalent: an engine with a session
// and the ScheduleService the dashboard's AppContext runs, starting runs in its own engine.
#include "cliutil.h"
#include "context/appcontext.h"
#include "run/engine.h"
#include "session/scheduleservice.h"
#include "session/session.h"
#include "store/connectionpool.h"
#include "store/databaseurl.h"
#include "store/schedulequeries.h"
#include "store/workerqueries.h"
#include "testutil.h"
#include "worker/worker.h"

#include <QApplication>
#include <QCoreApplication>
#include <QCoro/QCoroTask>
#include <QDir>
#include <QFile>
#include <QJsonArray>
#include <QJsonDocument>
#include <QProcess>
#include <QRegularExpression>
#include <QSignalSpy>
#include <QSqlQuery>
#include <QTemporaryDir>
#include <QTest>
#include <QTimer>

#include <csignal>
#include <cstdio>

using namespace flowdeck;
using namespace flowdeck::test;

namespace {

constexpr qint64 Second = 1'000'000;
constexpr qint64 Minute = 60 * Second;

const QByteArray kTickFlow = R"({"name": "tick", "tasks": [{"id": "a", "kind": "noop"}]})";

std::unique_ptr<ConnectionPool> makePool(const QString& url)
{
    return std::make_unique<ConnectionPool>(*DatabaseUrl::parse(url, nullptr), PoolOptions{2, 0, 30.0, 3600});
}

//! A pool on a fresh, migrated database.
std::unique_ptr<ConnectionPool> migratedPool(const QString& url)
{
    Engine engine;
    Session session(engine.scheduler());
    auto opening = session.open(url);
    QCoro::waitFor(opening);
    auto closing = session.close();
    QCoro::waitFor(closing);
    return makePool(url);
}

schedules::ScheduleDraft tickDraft(const QString& name, qint64 intervalUs, qint64 anchorUs)
{
    schedules::ScheduleDraft d;
    d.name = name;
    d.flowName = QStringLiteral("tick");
    d.document = QJsonDocument::fromJson(kTickFlow).object();
    d.intervalUs = intervalUs;
    d.anchorUs = anchorUs;
    d.timezone = QStringLiteral("UTC");
    return d;
}

struct RunRow {
    QString id;
    qint64 fireUs = 0;
    QString state;
    QString stateName;
    QString message;
    QString worker;
    int runCount = 0;
};

QList<RunRow> scheduleRuns(ConnectionPool& pool)
{
    return runOnPool(pool, [](QSqlDatabase& db) {
        QSqlQuery q(db);
        q.exec(QStringLiteral("SELECT id, scheduled_for, state, state_name, message, worker_name, run_count "
                              "FROM flow_runs WHERE schedule_id IS NOT NULL ORDER BY scheduled_for, id"));
        QList<RunRow> rows;
        while (q.next())
            rows.append({q.value(0).toString(), q.value(1).toLongLong(), q.value(2).toString(),
                         q.value(3).toString(), q.value(4).toString(), q.value(5).toString(),
                         q.value(6).toInt()});
        return rows;
    });
}

//! Marks a claimed run as ended, as the process running it would.
void finishRun(ConnectionPool& pool, const QString& id)
{
    runOnPool(pool, [id](QSqlDatabase& db) {
        QSqlQuery q(db);
        q.prepare(QStringLiteral(
            "UPDATE flow_runs SET state = 'COMPLETED', state_name = 'Completed' WHERE id = ?"));
        q.addBindValue(id);
        q.exec();
    });
}

workers::ClaimResult claimDue(ConnectionPool& pool, qint64 nowUs, int max = 16)
{
    return runOnPool(pool, [nowUs, max](QSqlDatabase& db) {
        return schedules::claimDueScheduledRuns(db, QStringLiteral("engine-test"), QStringLiteral("test"),
                                                QStringLiteral("host"), 1, nowUs, max);
    });
}

QString writeFlow(const QTemporaryDir& dir, const QByteArray& json,
                  const QString& name = QStringLiteral("tick.json"))
{
    QFile f(dir.filePath(name));
    f.open(QIODevice::WriteOnly);
    f.write(json);
    return f.fileName();
}

//! A child process whose output goes to files (read after it ended, or while it runs).
struct Child {
    std::unique_ptr<QProcess> process = std::make_unique<QProcess>();
    QString outPath;
    QString out() const
    {
        QFile f(outPath);
        f.open(QIODevice::ReadOnly);
        return QString::fromUtf8(f.readAll());
    }
    void signal(int sig) const { ::kill(pid_t(process->processId()), sig); }
};

std::unique_ptr<Child> startChild(const QString& program, const QStringList& args, const QString& dir,
                                  const QString& name)
{
    auto c = std::make_unique<Child>();
    c->outPath = QDir(dir).filePath(name + QStringLiteral(".out"));
    c->process->setStandardOutputFile(c->outPath);
    c->process->setStandardErrorFile(QDir(dir).filePath(name + QStringLiteral(".err")));
    QProcessEnvironment env = QProcessEnvironment::systemEnvironment();
    env.remove(QStringLiteral("FLOWDECK_DB"));
    c->process->setProcessEnvironment(env);
    c->process->start(program, args);
    return c;
}

//! The dashboard-equivalent: opens \a url with an engine, runs the ScheduleService until killed.
int runScheduleHost(const QString& url)
{
    Engine engine;
    Session session(engine.scheduler());
    SessionOptions options;
    options.engine = &engine;
    try {
        auto opening = session.open(url, options);
        QCoro::waitFor(opening);
    } catch (const std::exception& e) {
        std::fprintf(stderr, "cannot open: %s\n", e.what());
        return 2;
    }
    ScheduleService service(engine, session);
    QObject::connect(&service, &ScheduleService::fired,
                     [](const QString& id, const QString&, qint64 fireUs, qint64 lateUs) {
                         std::printf("fired %s %lld late %lld us\n", qPrintable(id), fireUs, lateUs);
                         std::fflush(stdout);
                     });
    QObject::connect(&service, &ScheduleService::problem,
                     [](const QString& message) { std::fprintf(stderr, "%s\n", qPrintable(message)); });
    service.start();
    std::printf("host ready\n");
    std::fflush(stdout);
    return QCoreApplication::exec();
}

} // namespace

class TestSchedules : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void plannedAheadAndNotClaimedBeforeTime_data() { addBackendRows(); }
    void plannedAheadAndNotClaimedBeforeTime();
    void catchup_data();
    void catchup();
    void maxActiveRuns_data();
    void maxActiveRuns();
    void flowDocumentMaxActiveRuns();
    void pauseResumeUpdateDelete();
    void survivesRestart();
    void serviceFiresInProcess();
    void dashboardFiresSchedules();
    void workerCapacityHoldsScheduledRuns();
    void busyProcessMissesNoFireTime();
    void exactlyOnceAcrossThreeProcesses_data() { addBackendRows(); }
    void exactlyOnceAcrossThreeProcesses();
    void cliBadInput();
    void cliNextAndLs();
};

void TestSchedules::plannedAheadAndNotClaimedBeforeTime()
{
    QFETCH(QString, backend);
    FLOWDECK_FRESH_DATABASE(url, backend);
    auto pool = migratedPool(url);
    const qint64 t0 = 1'900'000'000 * Second; // a fixed clock: 2030-03-17T17:46:40Z
    const qint64 anchor = t0 + 30 * Second;
    runOnPool(*pool, [&](QSqlDatabase& db) {
        return schedules::addSchedule(db, tickDraft(QStringLiteral("m"), Minute, anchor), t0);
    });
    QList<RunRow> rows = scheduleRuns(*pool);
    QCOMPARE(rows.size(), schedules::PlannedAhead);
    for (int i = 0; i < rows.size(); ++i) {
        QCOMPARE(rows[i].fireUs, anchor + i * Minute);
        QCOMPARE(rows[i].state, QStringLiteral("SCHEDULED"));
    }
    // Planning again is idempotent.
    runOnPool(*pool, [&](QSqlDatabase& db) { return schedules::planSchedules(db, t0 + Second); });
    QCOMPARE(scheduleRuns(*pool).size(), schedules::PlannedAhead);
    // The worker queue never hands out a planned run, and the schedule claim only a due one.
    const workers::ClaimResult queued = runOnPool(*pool, [](QSqlDatabase& db) {
        return workers::claimFlowRuns(db, QStringLiteral("e"), QStringLiteral("w"), QStringLiteral("h"), 1,
                                      10);
    });
    QVERIFY(queued.claimed.isEmpty());
    QVERIFY(claimDue(*pool, anchor - 1).claimed.isEmpty());
    const workers::ClaimResult due = claimDue(*pool, anchor);
    QCOMPARE(due.claimed.size(), 1);
    QCOMPARE(due.claimed.first().scheduledForUs, anchor);
    QVERIFY(claimDue(*pool, anchor + 1).claimed.isEmpty()); // claimed once
    // After the fire, the next plan keeps 3 ahead again.
    runOnPool(*pool, [&](QSqlDatabase& db) { return schedules::planSchedules(db, anchor + Second); });
    rows = scheduleRuns(*pool);
    QCOMPARE(rows.size(), schedules::PlannedAhead + 1);
    QCOMPARE(rows.last().fireUs, anchor + 3 * Minute);
}

void TestSchedules::catchup_data()
{
    QTest::addColumn<QString>("catchup");
    QTest::addColumn<int>("claimable");
    QTest::newRow("none") << QStringLiteral("none") << 0;
    QTest::newRow("latest") << QStringLiteral("latest") << 1;
    QTest::newRow("all") << QStringLiteral("all") << 5;
}

//! Nobody runs for 5 minutes and 20 seconds after planning: 5 fire times of a per-minute schedule are
//! missed (3 planned, 2 never planned). The catch-up decides how many still run.
void TestSchedules::catchup()
{
    QFETCH(QString, catchup);
    QFETCH(int, claimable);
    FLOWDECK_FRESH_DATABASE(url, QStringLiteral("sqlite"));
    auto pool = migratedPool(url);
    const qint64 t0 = 1'900'000'000 * Second;
    schedules::ScheduleDraft d = tickDraft(QStringLiteral("c"), Minute, t0);
    QVERIFY(schedules::parseCatchup(catchup, &d.catchup));
    runOnPool(*pool, [&](QSqlDatabase& db) { return schedules::addSchedule(db, d, t0); });
    const qint64 later = t0 + 5 * Minute + 20 * Second;
    const schedules::PlanReport report
        = runOnPool(*pool, [&](QSqlDatabase& db) { return schedules::planSchedules(db, later); });
    QCOMPARE(report.due, claimable);
    const workers::ClaimResult claimed = claimDue(*pool, later);
    QCOMPARE(claimed.claimed.size(), claimable);
    if (catchup == u"latest")
        QCOMPARE(claimed.claimed.first().scheduledForUs, t0 + 5 * Minute);
    int cancelled = 0;
    for (const RunRow& r : scheduleRuns(*pool)) {
        if (r.state == u"CANCELLED") {
            ++cancelled;
            QVERIFY2(r.message.contains(QStringLiteral("missed")) && r.message.contains(catchup),
                     qPrintable(r.message));
        }
    }
    // Only fire times planned before the gap end CANCELLED; those never planned are never added.
    QCOMPARE(cancelled, catchup == u"all" ? 0 : catchup == u"latest" ? 3 : 3);
    // The future is planned as usual.
    QCOMPARE(runOnPool(*pool, [](QSqlDatabase& db) { return schedules::nextPlannedFireUs(db); }),
             t0 + 6 * Minute);
}

void TestSchedules::maxActiveRuns_data()
{
    QTest::addColumn<QString>("backend");
    QTest::addColumn<QString>("onLimit");
    for (const char* backend : {"sqlite", "postgres"}) {
        for (const char* onLimit : {"enqueue", "skip"})
            QTest::addRow("%s %s", backend, onLimit)
                << QString::fromLatin1(backend) << QString::fromLatin1(onLimit);
    }
}

void TestSchedules::maxActiveRuns()
{
    QFETCH(QString, backend);
    QFETCH(QString, onLimit);
    FLOWDECK_FRESH_DATABASE(url, backend);
    auto pool = migratedPool(url);
    const qint64 t0 = 1'900'000'000 * Second;
    schedules::ScheduleDraft d = tickDraft(QStringLiteral("lim"), Minute, t0 + Minute);
    d.maxActiveRuns = 1;
    QVERIFY(schedules::parseOnLimit(onLimit, &d.onLimit));
    runOnPool(*pool, [&](QSqlDatabase& db) { return schedules::addSchedule(db, d, t0); });
    const workers::ClaimResult first = claimDue(*pool, t0 + Minute);
    QCOMPARE(first.claimed.size(), 1);
    // The first is still active at the second fire time.
    const workers::ClaimResult second = claimDue(*pool, t0 + 2 * Minute);
    QVERIFY(second.claimed.isEmpty());
    const QList<RunRow> rows = scheduleRuns(*pool);
    const RunRow waiting = rows.at(1);
    QCOMPARE(waiting.fireUs, t0 + 2 * Minute);
    if (onLimit == u"skip") {
        QCOMPARE(second.cancelled.size(), 1);
        QCOMPARE(waiting.state, QStringLiteral("CANCELLED"));
        QVERIFY2(waiting.message.contains(QStringLiteral("skipped"))
                     && waiting.message.contains(QStringLiteral("max_active_runs 1")),
                 qPrintable(waiting.message));
    } else {
        QCOMPARE(waiting.state, QStringLiteral("SCHEDULED"));
        QCOMPARE(waiting.stateName, QStringLiteral("AwaitingConcurrencySlot"));
        QVERIFY2(waiting.message.contains(QStringLiteral("waiting"))
                     && waiting.message.contains(QStringLiteral("max_active_runs 1")),
                 qPrintable(waiting.message));
    }
    // Once the first ends, an enqueued run goes (even long after its fire time); a skipped one stays ended.
    finishRun(*pool, first.claimed.first().id);
    const workers::ClaimResult after = claimDue(*pool, t0 + 3 * Minute, 1);
    QCOMPARE(after.claimed.size(), 1);
    QCOMPARE(after.claimed.first().scheduledForUs, onLimit == u"skip" ? t0 + 3 * Minute : t0 + 2 * Minute);
}

//! "max_active_runs" in a flow document caps its submitted runs too.
void TestSchedules::flowDocumentMaxActiveRuns()
{
    FLOWDECK_FRESH_DATABASE(url, QStringLiteral("sqlite"));
    auto pool = migratedPool(url);
    const QJsonObject document
        = QJsonDocument::fromJson(
              R"({"name": "capped", "max_active_runs": 2, "on_limit": "skip", "tasks": [{"id": "a", "kind": "noop"}]})")
              .object();
    QVERIFY(parseFlow(QJsonDocument(document).toJson()));
    QVERIFY(!parseFlow(R"({"name": "x", "on_limit": "later", "tasks": [{"id": "a", "kind": "noop"}]})"));
    runOnPool(*pool, [document](QSqlDatabase& db) {
        for (int i = 0; i < 3; ++i) {
            workers::Submission s;
            s.flowName = QStringLiteral("capped");
            s.document = document;
            workers::submitFlowRun(db, s);
        }
    });
    const workers::ClaimResult claimed = runOnPool(*pool, [](QSqlDatabase& db) {
        return workers::claimFlowRuns(db, QStringLiteral("e"), QStringLiteral("w"), QStringLiteral("h"), 1,
                                      10);
    });
    QCOMPARE(claimed.claimed.size(), 2);
    QCOMPARE(claimed.cancelled.size(), 1);
}

void TestSchedules::pauseResumeUpdateDelete()
{
    FLOWDECK_FRESH_DATABASE(url, QStringLiteral("sqlite"));
    auto pool = migratedPool(url);
    const qint64 t0 = 1'900'000'000 * Second;
    runOnPool(*pool, [&](QSqlDatabase& db) {
        return schedules::addSchedule(db, tickDraft(QStringLiteral("p"), Minute, t0), t0);
    });
    QCOMPARE(scheduleRuns(*pool).size(), 3);
    QVERIFY(runOnPool(*pool, [&](QSqlDatabase& db) {
        return schedules::setScheduleActive(db, QStringLiteral("p"), false, t0 + Second);
    }));
    QVERIFY(scheduleRuns(*pool).isEmpty()); // the plan is taken back
    QVERIFY(claimDue(*pool, t0 + 2 * Minute).claimed.isEmpty());
    runOnPool(*pool, [&](QSqlDatabase& db) { return schedules::planSchedules(db, t0 + 2 * Minute); });
    QVERIFY(scheduleRuns(*pool).isEmpty()); // a paused schedule is not planned
    const auto listed = runOnPool(*pool, [&](QSqlDatabase& db) { return schedules::listSchedules(db, t0); });
    QCOMPARE(listed.size(), 1);
    QVERIFY(!listed.first().active());
    QVERIFY(listed.first().nextFireUs.isEmpty());
    // Resumed 10 minutes later: from then on; the fire times while paused never run.
    const qint64 t1 = t0 + 10 * Minute + Second;
    QVERIFY(runOnPool(*pool, [&](QSqlDatabase& db) {
        return schedules::setScheduleActive(db, QStringLiteral("p"), true, t1);
    }));
    QList<RunRow> rows = scheduleRuns(*pool);
    QCOMPARE(rows.size(), 3);
    QCOMPARE(rows.first().fireUs, t0 + 11 * Minute);
    // A new version replaces the plan and keeps the new document.
    schedules::ScheduleDraft changed = tickDraft(QStringLiteral("p"), 2 * Minute, t0);
    changed.document.insert(QStringLiteral("description"), QStringLiteral("version 2"));
    const auto updated = runOnPool(*pool, [&](QSqlDatabase& db) {
        return schedules::updateSchedule(db, QStringLiteral("p"), changed, t1);
    });
    QVERIFY(updated);
    QCOMPARE(updated->version, 2);
    QCOMPARE(updated->draft.document.value(QStringLiteral("description")).toString(),
             QStringLiteral("version 2"));
    rows = scheduleRuns(*pool);
    QCOMPARE(rows.size(), 3);
    QCOMPARE(rows.first().fireUs, t0 + 12 * Minute);
    // Bad drafts and names are refused with what is wrong.
    schedules::ScheduleDraft bad = tickDraft(QStringLiteral("bad"), 0, t0);
    bad.cron = QStringLiteral("0 0 32 * *");
    bool refused = false;
    runOnPool(*pool, [&](QSqlDatabase& db) {
        try {
            schedules::addSchedule(db, bad, t0);
        } catch (const schedules::ScheduleInvalid& e) {
            refused = QString::fromUtf8(e.what()).contains(QStringLiteral("day of month field: \"32\""));
        }
    });
    QVERIFY(refused);
    QVERIFY(runOnPool(
        *pool, [&](QSqlDatabase& db) { return schedules::deleteSchedule(db, QStringLiteral("p"), t1); }));
    QVERIFY(scheduleRuns(*pool).isEmpty());
    QVERIFY(!runOnPool(
        *pool, [&](QSqlDatabase& db) { return schedules::deleteSchedule(db, QStringLiteral("p"), t1); }));
}

//! A schedule is data: a new process on the same database (new pool, new session) goes on firing it.
void TestSchedules::survivesRestart()
{
    FLOWDECK_FRESH_DATABASE(url, QStringLiteral("sqlite"));
    const qint64 t0 = 1'900'000'000 * Second;
    {
        auto pool = migratedPool(url);
        runOnPool(*pool, [&](QSqlDatabase& db) {
            return schedules::addSchedule(db, tickDraft(QStringLiteral("r"), Minute, t0), t0);
        });
        QCOMPARE(claimDue(*pool, t0 + Minute).claimed.size(), 1);
    }
    auto pool = migratedPool(url);
    const auto listed
        = runOnPool(*pool, [&](QSqlDatabase& db) { return schedules::listSchedules(db, t0 + Minute); });
    QCOMPARE(listed.size(), 1);
    QCOMPARE(listed.first().nextFireUs.value(0), t0 + 2 * Minute);
    runOnPool(*pool, [&](QSqlDatabase& db) { return schedules::planSchedules(db, t0 + Minute + Second); });
    QCOMPARE(claimDue(*pool, t0 + 2 * Minute).claimed.first().scheduledForUs, t0 + 2 * Minute);
}

//! The service as the dashboard runs it: fires a per-second schedule in its engine, on time, while
//! the event loop keeps turning.
void TestSchedules::serviceFiresInProcess()
{
    FLOWDECK_FRESH_DATABASE(url, QStringLiteral("sqlite"));
    Engine engine;
    Session session(engine.scheduler());
    SessionOptions options;
    options.engine = &engine;
    auto opening = session.open(url, options);
    QCoro::waitFor(opening);
    const qint64 now = QDateTime::currentMSecsSinceEpoch() * 1000;
    runOnPool(*session.pool(), [&](QSqlDatabase& db) {
        return schedules::addSchedule(db, tickDraft(QStringLiteral("s"), Second, now - now % Second), now);
    });
    ScheduleService service(engine, session);
    QList<qint64> late;
    connect(&service, &ScheduleService::fired, this,
            [&](const QString&, const QString&, qint64, qint64 lateUs) { late << lateUs; });
    int ticks = 0;
    QTimer ticker;
    connect(&ticker, &QTimer::timeout, this, [&] { ++ticks; });
    ticker.start(10);
    service.start();
    QTRY_VERIFY_WITH_TIMEOUT(late.size() >= 3, 10000);
    QVERIFY2(ticks > 100, "the event loop stalled while schedules fired");
    for (const qint64 l : late)
        QVERIFY2(l >= 0 && l < 500'000, qPrintable(QString::number(l)));
    service.stop();
    cancelAndDrain(engine);
    auto closing = session.close();
    QCoro::waitFor(closing);
}

//! The dashboard's AppContext runs a ScheduleService while its database is open, and the runs it
//! fires start in its engine.
void TestSchedules::dashboardFiresSchedules()
{
    QTemporaryDir dir;
    const QString path = dir.filePath(QStringLiteral("dashboard.db"));
    const qint64 now = QDateTime::currentMSecsSinceEpoch() * 1000;
    {
        auto pool = migratedPool(path);
        runOnPool(*pool, [&](QSqlDatabase& db) {
            return schedules::addSchedule(db, tickDraft(QStringLiteral("d"), Second, now - now % Second),
                                          now);
        });
    }
    AppContext context;
    QVERIFY(!context.schedules());
    QVERIFY(context.database().open(path));
    QTRY_VERIFY_WITH_TIMEOUT(context.database().state() == DatabaseState::Open, 20000);
    QVERIFY(context.schedules());
    QVERIFY(context.schedules()->running());
    int fired = 0;
    QString firedId;
    connect(context.schedules(), &ScheduleService::fired, this, [&](const QString& id) {
        ++fired;
        firedId = id;
    });
    QTRY_VERIFY_WITH_TIMEOUT(fired >= 2, 10000);
    // Shown as started by its schedule (as stored), not by the dashboard that fired it.
    const FlowRun* run = context.engine().findFlowRun(RunId::fromString(firedId));
    QVERIFY(run);
    QCOMPARE(run->startedBy, QStringLiteral("schedule d"));
    auto pool = makePool(path);
    QTRY_VERIFY_WITH_TIMEOUT(
        [&] {
            int completed = 0;
            for (const RunRow& r : scheduleRuns(*pool))
                completed += r.state == u"COMPLETED" ? 1 : 0;
            return completed >= 2;
        }(),
        10000);
}

//! A worker's scheduled runs count towards its maxFlowRuns: with room for one flow run, none of the
//! per-second schedule's runs starts while a 2-second queued run runs; they start once it ended.
void TestSchedules::workerCapacityHoldsScheduledRuns()
{
    FLOWDECK_FRESH_DATABASE(url, QStringLiteral("sqlite"));
    Engine engine;
    Session session(engine.scheduler());
    SessionOptions options;
    options.engine = &engine;
    auto opening = session.open(url, options);
    QCoro::waitFor(opening);
    const QJsonObject slow = QJsonDocument::fromJson(
                                 R"({"name": "slow", "tasks": [{"id": "a", "kind": "sleep", "seconds": 2}]})")
                                 .object();
    const QString slowId = runOnPool(*session.pool(), [slow](QSqlDatabase& db) {
        workers::Submission s;
        s.flowName = QStringLiteral("slow");
        s.document = slow;
        return workers::submitFlowRun(db, s);
    });
    WorkerOptions workerOptions;
    workerOptions.maxFlowRuns = 1;
    Worker worker(engine, session, workerOptions);
    auto starting = worker.start();
    QCoro::waitFor(starting);
    QTRY_VERIFY_WITH_TIMEOUT(worker.running() == 1, 10000);
    const qint64 now = QDateTime::currentMSecsSinceEpoch() * 1000;
    runOnPool(*session.pool(), [&](QSqlDatabase& db) {
        return schedules::addSchedule(db, tickDraft(QStringLiteral("cap"), Second, now - now % Second), now);
    });
    worker.schedules()->wake();
    const auto slowSpan = [&] {
        return runOnPool(*session.pool(), [slowId](QSqlDatabase& db) {
            QSqlQuery q(db);
            q.prepare(QStringLiteral("SELECT started_at, ended_at FROM flow_runs WHERE id = ?"));
            q.addBindValue(slowId);
            q.exec();
            q.next();
            return std::make_pair(q.value(0).toLongLong(),
                                  q.value(1).isNull() ? qint64(0) : q.value(1).toLongLong());
        });
    };
    QTRY_VERIFY_WITH_TIMEOUT(slowSpan().second > 0, 10000);
    QTRY_VERIFY_WITH_TIMEOUT(worker.finishedCount() >= 3, 10000);
    const auto [slowStart, slowEnd] = slowSpan();
    const QList<qint64> starts = runOnPool(*session.pool(), [](QSqlDatabase& db) {
        QSqlQuery q(db);
        q.exec(QStringLiteral(
            "SELECT started_at FROM flow_runs WHERE schedule_id IS NOT NULL AND started_at IS NOT NULL"));
        QList<qint64> out;
        while (q.next())
            out << q.value(0).toLongLong();
        return out;
    });
    QVERIFY(starts.size() >= 2);
    for (const qint64 start : starts)
        QVERIFY2(start < slowStart || start >= slowEnd, "a scheduled run started while the worker was full");
    worker.requestStop(QStringLiteral("test over"));
    QCoro::waitFor(worker.waitIdle(std::chrono::seconds(10)));
    auto closing = session.close();
    QCoro::waitFor(closing);
}

//! A process that is up but full (no room for another flow run) through three fire times of a
//! per-minute schedule, each held for longer than MissedAfterUs: none of them counts as missed for the
//! catch-up (none would cancel them all); all three start once room frees. A clock passed in.
void TestSchedules::busyProcessMissesNoFireTime()
{
    FLOWDECK_FRESH_DATABASE(url, QStringLiteral("sqlite"));
    Engine engine;
    Session session(engine.scheduler());
    SessionOptions options;
    options.engine = &engine;
    auto opening = session.open(url, options);
    QCoro::waitFor(opening);
    const qint64 t0 = 1'900'000'000 * Second;
    // Catch-up none: a fire time counted as missed would end CANCELLED.
    schedules::ScheduleDraft d = tickDraft(QStringLiteral("busy"), Minute, t0 + Minute);
    d.catchup = schedules::Catchup::None;
    runOnPool(*session.pool(), [&](QSqlDatabase& db) { return schedules::addSchedule(db, d, t0); });
    qint64 now = t0;
    int room = 0;
    ScheduleService service(engine, session);
    service.setClock([&now] { return now; });
    service.setCapacity([&room] { return room; });
    QStringList started;
    service.setStarter([&started](const workers::ClaimedRun& run) { started << run.id; });
    QSignalSpy planned(&service, &ScheduleService::planned);
    service.start();
    QTRY_VERIFY_WITH_TIMEOUT(planned.size() >= 1, 10000);
    for (int k = 1; k <= 3; ++k) {
        now = t0 + k * Minute + Second; // each fire time falls due while there is no room
        const qsizetype before = planned.size();
        service.wake();
        QTRY_VERIFY_WITH_TIMEOUT(planned.size() > before, 10000);
    }
    QVERIFY(started.isEmpty());
    // Room again, 20 s after the third fire time: more than MissedAfterUs after each of them.
    now = t0 + 3 * Minute + 20 * Second;
    room = 16;
    service.capacityFreed();
    service.wake();
    QTRY_COMPARE_WITH_TIMEOUT(started.size(), 3, 10000);
    for (const RunRow& r : scheduleRuns(*session.pool())) {
        QVERIFY2(r.state != u"CANCELLED", qPrintable(r.message));
        if (r.fireUs <= t0 + 3 * Minute)
            QVERIFY2(r.runCount == 1, qPrintable(r.id + QLatin1Char(' ') + r.message));
    }
    service.stop();
    auto closing = session.close();
    QCoro::waitFor(closing);
}

void TestSchedules::exactlyOnceAcrossThreeProcesses()
{
    QFETCH(QString, backend);
    FLOWDECK_FRESH_DATABASE(url, backend);
    QTemporaryDir dir;
    dir.setAutoRemove(false); // kept for a failure; removed at the end
    const QString flow = writeFlow(dir, kTickFlow);
    const CliResult added = runCli({QStringLiteral("schedule"), QStringLiteral("add"), flow,
                                    QStringLiteral("--every"), QStringLiteral("1s"), QStringLiteral("--name"),
                                    QStringLiteral("tick"), QStringLiteral("--db"), url});
    QVERIFY2(added.exitCode == 0, qPrintable(added.err));
    const qint64 t0 = QDateTime::currentMSecsSinceEpoch() * 1000;
    auto host = startChild(QCoreApplication::applicationFilePath(), {QStringLiteral("--schedule-host"), url},
                           dir.path(), QStringLiteral("host"));
    auto w1 = startChild(flowdeckBinary(),
                         {QStringLiteral("worker"), QStringLiteral("--db"), url, QStringLiteral("--name"),
                          QStringLiteral("w1")},
                         dir.path(), QStringLiteral("w1"));
    auto w2 = startChild(flowdeckBinary(),
                         {QStringLiteral("worker"), QStringLiteral("--db"), url, QStringLiteral("--name"),
                          QStringLiteral("w2")},
                         dir.path(), QStringLiteral("w2"));
    QTRY_VERIFY_WITH_TIMEOUT(host->out().contains(QStringLiteral("host ready")), 30000);
    // The next fire times wait as SCHEDULED flow runs, visible to runs ls.
    const CliResult scheduled
        = runCli({QStringLiteral("runs"), QStringLiteral("ls"), QStringLiteral("--state"),
                  QStringLiteral("SCHEDULED"), QStringLiteral("--db"), url});
    QVERIFY2(scheduled.out.count(QStringLiteral("tick")) >= 3, qPrintable(scheduled.out + scheduled.err));
    QTest::qWait(10'000); // the schedule's own pace: half of the 20 s
    w2->signal(SIGKILL);
    QVERIFY(w2->process->waitForFinished(5000));
    QTest::qWait(10'000);
    const qint64 t1 = QDateTime::currentMSecsSinceEpoch() * 1000;
    const CliResult paused = runCli({QStringLiteral("schedule"), QStringLiteral("pause"),
                                     QStringLiteral("tick"), QStringLiteral("--db"), url});
    QVERIFY2(paused.exitCode == 0, qPrintable(paused.err));
    // Fire times up to 2 s before the pause have run (a noop takes milliseconds).
    auto pool = makePool(url);
    const qint64 first = (t0 / Second + 1) * Second;
    const qint64 last = (t1 / Second - 2) * Second;
    QTRY_VERIFY_WITH_TIMEOUT(
        [&] {
            for (const RunRow& r : scheduleRuns(*pool)) {
                if (r.fireUs >= first && r.fireUs <= last && r.state == u"SCHEDULED")
                    return false;
            }
            return true;
        }(),
        20000);
    w1->signal(SIGTERM);
    host->signal(SIGKILL);
    QVERIFY(w1->process->waitForFinished(30000));
    QVERIFY(host->process->waitForFinished(5000));
    QMap<qint64, QList<RunRow>> byFire;
    for (const RunRow& r : scheduleRuns(*pool)) {
        if (r.fireUs >= first && r.fireUs <= last)
            byFire[r.fireUs] << r;
    }
    QMap<QString, int> byProcess;
    QStringList problems;
    for (qint64 fire = first; fire <= last; fire += Second) {
        const QList<RunRow> runs = byFire.value(fire);
        if (runs.size() != 1) {
            problems << QStringLiteral("%1: %2 flow runs").arg(fire).arg(runs.size());
            continue;
        }
        const RunRow& r = runs.first();
        ++byProcess[r.worker];
        if (r.runCount != 1 || (r.state != u"COMPLETED" && r.state != u"CRASHED"))
            problems << QStringLiteral("%1: %2 %3 claimed %4 times (%5)")
                            .arg(fire)
                            .arg(r.state, r.id)
                            .arg(r.runCount)
                            .arg(r.message);
    }
    qInfo() << "fire times" << (last - first) / Second + 1 << "flow runs by process" << byProcess;
    QVERIFY2(problems.isEmpty(),
             qPrintable(problems.join(u'\n') + QStringLiteral("\nkept in ") + dir.path()));
    QVERIFY2((last - first) / Second + 1 >= 15, "the schedule ran for too short a time");
    QVERIFY2(byProcess.size() >= 2, "the fire times were not shared between the processes");
    dir.setAutoRemove(true);
}

void TestSchedules::cliBadInput()
{
    QTemporaryDir dir;
    const QString flow = writeFlow(dir, kTickFlow);
    const QString db = dir.filePath(QStringLiteral("db.sqlite"));
    struct Case {
        QStringList args;
        QString expected;
    };
    const QList<Case> cases = {
        {{QStringLiteral("add"), flow, QStringLiteral("--cron"), QStringLiteral("61 * * * *")},
         QStringLiteral("minute field: \"61\" is out of range 0-59")},
        {{QStringLiteral("add"), flow, QStringLiteral("--cron"), QStringLiteral("0 0 * * 1,funday")},
         QStringLiteral("day of week field: \"funday\"")},
        {{QStringLiteral("add"), flow, QStringLiteral("--cron"), QStringLiteral("0 0 *")},
         QStringLiteral("expression field: \"0 0 *\" has 3 fields")},
        {{QStringLiteral("add"), flow, QStringLiteral("--every"), QStringLiteral("15x")},
         QStringLiteral("duration field: \"15x\"")},
        {{QStringLiteral("add"), flow, QStringLiteral("--cron"), QStringLiteral("@daily"),
          QStringLiteral("--timezone"), QStringLiteral("Mars/Olympus")},
         QStringLiteral("timezone field: \"Mars/Olympus\"")},
        {{QStringLiteral("add"), flow, QStringLiteral("--every"), QStringLiteral("1m"),
          QStringLiteral("--anchor"), QStringLiteral("soon")},
         QStringLiteral("anchor field: \"soon\"")},
        {{QStringLiteral("add"), flow, QStringLiteral("--cron"), QStringLiteral("@daily"),
          QStringLiteral("--every"), QStringLiteral("1m")},
         QStringLiteral("exclude each other")},
        {{QStringLiteral("add"), flow}, QStringLiteral("give --cron EXPR or --every DURATION")},
        {{QStringLiteral("add"), flow, QStringLiteral("--every"), QStringLiteral("1m"),
          QStringLiteral("--catchup"), QStringLiteral("some")},
         QStringLiteral("--catchup must be none, latest or all")},
        {{QStringLiteral("next"), QStringLiteral("0 25 * * *")}, QStringLiteral("hour field: \"25\"")},
        {{QStringLiteral("pause"), QStringLiteral("nope")}, QStringLiteral("no schedule named \"nope\"")},
        {{QStringLiteral("frobnicate")}, QStringLiteral("unknown subcommand")},
    };
    for (const Case& c : cases) {
        QStringList args = QStringList{QStringLiteral("schedule")} + c.args;
        if (c.args.first() != u"next" && c.args.first() != u"frobnicate")
            args << QStringLiteral("--db") << db;
        const CliResult r = runCli(args);
        QVERIFY2(r.exitCode == 2 && r.err.contains(c.expected), qPrintable(describe(args, r)));
    }
    // Nothing was stored by the refused adds; a good add then a second one by the same name is refused.
    const QStringList add
        = {QStringLiteral("schedule"), QStringLiteral("add"),  flow, QStringLiteral("--every"),
           QStringLiteral("1h"),       QStringLiteral("--db"), db};
    QCOMPARE(runCli(add).exitCode, 0);
    const CliResult again = runCli(add);
    QVERIFY2(again.exitCode == 2 && again.err.contains(QStringLiteral("already exists")),
             qPrintable(describe(add, again)));
}

void TestSchedules::cliNextAndLs()
{
    const CliResult next
        = runCli({QStringLiteral("schedule"), QStringLiteral("next"), QStringLiteral("30 2 * * *"),
                  QStringLiteral("--timezone"), QStringLiteral("Europe/Berlin"), QStringLiteral("--count"),
                  QStringLiteral("4")});
    QCOMPARE(next.exitCode, 0);
    const QStringList lines = next.out.split(u'\n', Qt::SkipEmptyParts);
    QCOMPARE(lines.size(), 4);
    static const QRegularExpression iso(QStringLiteral("^\\d{4}-\\d\\d-\\d\\dT02:30:00\\+0[12]:00$"));
    for (const QString& line : lines)
        QVERIFY2(iso.match(line).hasMatch(), qPrintable(line));
    QTemporaryDir dir;
    const QString flow = writeFlow(dir, kTickFlow);
    const QString db = dir.filePath(QStringLiteral("db.sqlite"));
    QCOMPARE(runCli({QStringLiteral("schedule"), QStringLiteral("add"), flow, QStringLiteral("--cron"),
                     QStringLiteral("0 9 * * mon-fri"), QStringLiteral("--timezone"),
                     QStringLiteral("America/New_York"), QStringLiteral("--name"), QStringLiteral("weekday"),
                     QStringLiteral("--max-active-runs"), QStringLiteral("2"), QStringLiteral("--catchup"),
                     QStringLiteral("none"), QStringLiteral("--db"), db})
                 .exitCode,
             0);
    // The flow file changes; the schedule keeps its stored document until it is updated.
    writeFlow(dir, R"({"name": "tick", "description": "v2", "tasks": [{"id": "a", "kind": "noop"}]})");
    const CliResult ls = runCli({QStringLiteral("schedule"), QStringLiteral("ls"), QStringLiteral("--json"),
                                 QStringLiteral("--db"), db});
    QCOMPARE(ls.exitCode, 0);
    const QJsonObject o = QJsonDocument::fromJson(ls.out.toUtf8()).array().first().toObject();
    QCOMPARE(o.value(QStringLiteral("name")).toString(), QStringLiteral("weekday"));
    QCOMPARE(o.value(QStringLiteral("expression")).toString(), QStringLiteral("0 9 * * mon-fri"));
    QCOMPARE(o.value(QStringLiteral("timezone")).toString(), QStringLiteral("America/New_York"));
    QCOMPARE(o.value(QStringLiteral("next")).toArray().size(), 3);
    QVERIFY(
        o.value(QStringLiteral("next")).toArray().first().toString().contains(QStringLiteral("T09:00:00-0")));
    QCOMPARE(o.value(QStringLiteral("max_active_runs")).toInt(), 2);
    QCOMPARE(o.value(QStringLiteral("catchup")).toString(), QStringLiteral("none"));
    QCOMPARE(o.value(QStringLiteral("version")).toInt(), 1);
    const CliResult updated
        = runCli({QStringLiteral("schedule"), QStringLiteral("update"), QStringLiteral("weekday"),
                  QStringLiteral("--cron"), QStringLiteral("@hourly"), QStringLiteral("--db"), db});
    QVERIFY2(updated.exitCode == 0, qPrintable(updated.err));
    auto pool = makePool(db);
    const auto rows = runOnPool(*pool, [](QSqlDatabase& d) {
        return schedules::listSchedules(d, QDateTime::currentMSecsSinceEpoch() * 1000);
    });
    QCOMPARE(rows.first().version, 2);
    QCOMPARE(rows.first().draft.cron, QStringLiteral("@hourly"));
    QCOMPARE(rows.first().draft.document.value(QStringLiteral("description")).toString(),
             QStringLiteral("v2"));
    for (const char* verb : {"pause", "resume", "delete"}) {
        const CliResult r = runCli({QStringLiteral("schedule"), QString::fromLatin1(verb),
                                    QStringLiteral("weekday"), QStringLiteral("--db"), db});
        QVERIFY2(r.exitCode == 0, qPrintable(r.err));
    }
}

int main(int argc, char** argv)
{
    for (int i = 1; i + 1 < argc; ++i) {
        if (qstrcmp(argv[i], "--schedule-host") == 0) {
            QCoreApplication app(argc, argv);
            return runScheduleHost(QString::fromLocal8Bit(argv[i + 1]));
        }
    }
    if (qEnvironmentVariableIsEmpty("QT_QPA_PLATFORM"))
        qputenv("QT_QPA_PLATFORM", "offscreen");
    QApplication app(argc, argv);
    TestSchedules test;
    return QTest::qExec(&test, argc, argv);
}

#include "tst_schedules.moc"
