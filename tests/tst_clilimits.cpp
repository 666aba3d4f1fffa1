// `flowdeck concurrency-limit`: the round trip, bad input, and limits changed while an engine runs.
#include "store/databaseurl.h"
#include "testutil.h"

#include <QCoreApplication>
#include <QDateTime>
#include <QElapsedTimer>
#include <QFile>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QProcess>
#include <QRegularExpression>
#include <QSet>
#include <QSqlDatabase>
#include <QSqlError>
#include <QSqlQuery>
#include <QSqlRecord>
#include <QTemporaryDir>
#include <QTest>
#include <QThread>

#include <algorithm>
#include <atomic>
#include <limits>

using namespace flowdeck;
using namespace flowdeck::test;

namespace {

struct Result {
    int exitCode = -1;
    QByteArray out;
    QByteArray err;
};

QProcessEnvironment envFor(const QString& url)
{
    QProcessEnvironment env = QProcessEnvironment::systemEnvironment();
    env.insert(QStringLiteral("FLOWDECK_DB"), url);
    return env;
}

//! Runs `flowdeck concurrency-limit ARGS` against \a url (through $FLOWDECK_DB).
Result limitCli(const QString& url, const QStringList& args, int timeoutMs = 30000)
{
    QProcess p;
    p.setProcessEnvironment(envFor(url));
    p.start(flowdeckBinary(), QStringList{QStringLiteral("concurrency-limit")} + args);
    if (!p.waitForStarted())
        return {};
    p.closeWriteChannel();
    if (!p.waitForFinished(timeoutMs)) {
        p.kill();
        p.waitForFinished();
        return {};
    }
    return {p.exitStatus() == QProcess::NormalExit ? p.exitCode() : -1, p.readAllStandardOutput(),
            p.readAllStandardError()};
}

QJsonDocument parseJson(const QByteArray& text)
{
    QJsonParseError error;
    const QJsonDocument doc = QJsonDocument::fromJson(text, &error);
    if (error.error != QJsonParseError::NoError)
        qWarning("not JSON (%s): %s", qPrintable(error.errorString()), text.constData());
    return doc;
}

//! `inspect TAG --json`, or an empty object when it failed.
QJsonObject inspect(const QString& url, const QString& tag)
{
    const Result r = limitCli(url, {QStringLiteral("inspect"), tag, QStringLiteral("--json")});
    if (r.exitCode != 0) {
        qWarning("inspect failed (%d): %s", r.exitCode, r.err.constData());
        return {};
    }
    return parseJson(r.out).object();
}

//! What bad input must leave alone: the limits and the slots, as text.
QStringList snapshot(const QString& url)
{
    QStringList out;
    const auto limits = query(
        url, QStringLiteral("SELECT tag, slot_limit, updated_at FROM concurrency_limits ORDER BY tag"));
    for (const QVariantList& row : limits)
        out << QStringLiteral("limit %1 %2 %3").arg(row[0].toString(), row[1].toString(), row[2].toString());
    const auto slots
        = query(url,
                QStringLiteral("SELECT tag, task_run_id, holder, lease_expires_at FROM concurrency_slots "
                               "ORDER BY tag, task_run_id"));
    for (const QVariantList& row : slots)
        out << QStringLiteral("slot %1 %2 %3 %4")
                   .arg(row[0].toString(), row[1].toString(), row[2].toString(), row[3].toString());
    return out;
}

qint64 wallUs()
{
    return QDateTime::currentMSecsSinceEpoch() * 1000;
}

QStringList strings(const QJsonValue& value)
{
    QStringList out;
    const QJsonArray array = value.toArray();
    for (const QJsonValue& v : array)
        out << v.toString();
    return out;
}

//! One task run entering or leaving RUNNING, from the child's --json transitions.
struct Edge {
    qint64 timeMs;
    int delta; //!< +1 starts running, -1 stops
    QString taskRunId;
};

//! How many task runs were RUNNING right after each start, in time order.
struct Start {
    qint64 timeMs;
    int running;
};

/**
 * A background `flowdeck run FLOW --json`: keeps reading its stdout (so its pipe never fills) and
 * turns its transitions into the starts and stops of its task runs.
 */
class Child {
public:
    Child(const QString& url, const QString& flowPath)
    {
        m_process.setProcessEnvironment(envFor(url));
        m_process.start(flowdeckBinary(), {QStringLiteral("run"), flowPath, QStringLiteral("--json")});
    }
    ~Child()
    {
        if (m_process.state() != QProcess::NotRunning) {
            m_process.kill();
            m_process.waitForFinished();
        }
    }
    bool started() { return m_process.waitForStarted(); }
    void pump()
    {
        QCoreApplication::processEvents();
        m_out += m_process.readAllStandardOutput();
        m_err += m_process.readAllStandardError();
    }
    bool running() const { return m_process.state() != QProcess::NotRunning; }
    //! Waits for the exit; returns the exit code or -1.
    int finish(int timeoutMs)
    {
        QElapsedTimer t;
        t.start();
        while (running() && t.elapsed() < timeoutMs) {
            m_process.waitForFinished(50);
            pump();
        }
        pump();
        if (running())
            return -1;
        return m_process.exitStatus() == QProcess::NormalExit ? m_process.exitCode() : -1;
    }
    const QByteArray& err() const { return m_err; }

    //! Transitions of task runs: (time, task run id, state, name).
    QList<QJsonObject> transitions() const
    {
        QList<QJsonObject> out;
        for (const QByteArray& line : m_out.split('\n')) {
            const QJsonObject o = QJsonDocument::fromJson(line).object();
            if (o.value(QStringLiteral("event")).toString() == QLatin1String("transition")
                && !o.value(QStringLiteral("task_run_id")).isNull())
                out << o;
        }
        return out;
    }
    int countNamed(const QString& name) const
    {
        const QList<QJsonObject> all = transitions();
        return int(std::count_if(all.begin(), all.end(), [&name](const QJsonObject& o) {
            return o.value(QStringLiteral("name")).toString() == name;
        }));
    }
    //! Every start with the number of runs RUNNING right after it (a stop at the same instant first).
    QList<Start> starts() const
    {
        std::vector<Edge> edges;
        QSet<QString> runningNow;
        for (const QJsonObject& o : transitions()) {
            const QString id = o.value(QStringLiteral("task_run_id")).toString();
            const bool isRunning = o.value(QStringLiteral("state")).toString() == QLatin1String("RUNNING");
            const qint64 ms
                = QDateTime::fromString(o.value(QStringLiteral("time")).toString(), Qt::ISODateWithMs)
                      .toMSecsSinceEpoch();
            if (isRunning && !runningNow.contains(id)) {
                runningNow.insert(id);
                edges.push_back({ms, +1, id});
            } else if (!isRunning && runningNow.contains(id)) {
                runningNow.remove(id);
                edges.push_back({ms, -1, id});
            }
        }
        std::stable_sort(edges.begin(), edges.end(), [](const Edge& a, const Edge& b) {
            return a.timeMs != b.timeMs ? a.timeMs < b.timeMs : a.delta < b.delta;
        });
        QList<Start> out;
        int running = 0;
        for (const Edge& e : edges) {
            running += e.delta;
            if (e.delta > 0)
                out.append({e.timeMs, running});
        }
        return out;
    }

private:
    QProcess m_process;
    QByteArray m_out;
    QByteArray m_err;
};

//! Sleeps \a ms while \a child keeps being read.
void idle(Child& child, int ms)
{
    QElapsedTimer t;
    t.start();
    while (t.elapsed() < ms) {
        QThread::msleep(20);
        child.pump();
    }
}

QByteArray taggedFlow(int count, double seconds)
{
    return QStringLiteral(
               R"({"name": "limited", "tasks": [{"id": "w", "kind": "sleep", "seconds": %1, "map": %2, "tags": ["t"]}]})")
        .arg(seconds)
        .arg(count)
        .toUtf8();
}

int maxRunning(const QList<Start>& starts, qint64 fromMs = 0,
               qint64 toMs = std::numeric_limits<qint64>::max())
{
    int most = 0;
    for (const Start& s : starts) {
        if (s.timeMs >= fromMs && s.timeMs < toMs)
            most = std::max(most, s.running);
    }
    return most;
}

} // namespace

class TestCliLimits : public QObject {
    Q_OBJECT

private:
    QTemporaryDir m_dir;

    QString writeFlow(const QString& name, const QByteArray& json)
    {
        const QString path = m_dir.filePath(name);
        QFile f(path);
        if (f.open(QIODevice::WriteOnly | QIODevice::Truncate))
            f.write(json);
        return path;
    }

private Q_SLOTS:
    void initTestCase()
    {
        QVERIFY2(!flowdeckBinary().isEmpty(), "FLOWDECK_BINARY is not set");
        QVERIFY(m_dir.isValid());
    }

    void roundTrip_data() { addBackendRows(); }
    void roundTrip()
    {
        QFETCH(QString, backend);
        FLOWDECK_FRESH_DATABASE(url, backend);
        const QString db = QStringLiteral("--db");

        Result r = limitCli(QString(), {QStringLiteral("ls"), QStringLiteral("--json"), db, url});
        QCOMPARE(r.exitCode, 0);
        QCOMPARE(parseJson(r.out).array().size(), 0);
        r = limitCli(url, {QStringLiteral("ls")});
        QCOMPARE(r.exitCode, 0);
        QVERIFY2(r.out.startsWith("no concurrency limits"), r.out.constData());

        r = limitCli(url, {QStringLiteral("create"), QStringLiteral("a"), QStringLiteral("3")});
        QCOMPARE(r.exitCode, 0);
        QCOMPARE(r.out, QByteArray("concurrency limit for tag \"a\" set to 3\n"));
        QVERIFY(r.err.isEmpty());
        QCOMPARE(limitCli(url, {QStringLiteral("create"), QStringLiteral("b"), QStringLiteral("0")}).exitCode,
                 0);
        // "_" is a LIKE wildcard: the tag "a_c" must not match a run tagged "abc".
        QCOMPARE(
            limitCli(url, {QStringLiteral("create"), QStringLiteral("a_c"), QStringLiteral("1")}).exitCode,
            0);
        r = limitCli(url, {QStringLiteral("create"), QStringLiteral("a"), QStringLiteral("5"), db, url});
        QCOMPARE(r.exitCode, 0);
        QCOMPARE(r.out, QByteArray("concurrency limit for tag \"a\" set to 5\n"));
        QCOMPARE(query(url, QStringLiteral("SELECT slot_limit FROM concurrency_limits WHERE tag = 'a'"))
                     .value(0)
                     .value(0)
                     .toInt(),
                 5);

        // Runs of another engine that is alive (a fresh heartbeat on another host): recovery leaves
        // them alone. Slots: live (running), live (completed: leaked), expired, live (unknown run).
        const qint64 now = wallUs();
        const QString engine = QStringLiteral("engine-elsewhere");
        const QString flowRun = QStringLiteral("fr-1");
        query(url,
              QStringLiteral(
                  "INSERT INTO engines (id, host, pid, started_at, heartbeat_at) VALUES (?, ?, ?, ?, ?)"),
              {engine, QStringLiteral("elsewhere.invalid"), 1, now, now});
        query(url,
              QStringLiteral("INSERT INTO flow_runs (id, flow_name, state, state_name, created_at, worker) "
                             "VALUES (?, 'f', 'RUNNING', 'Running', ?, ?)"),
              {flowRun, now - 10'000'000, engine});
        struct FakeRun {
            QString id;
            QString state;
            QString name;
            QString tags;
            qint64 createdUs;
            qint64 historyUs; //!< when it entered its state
            int mapIndex;
        };
        const QList<FakeRun> runs = {
            {QStringLiteral("run-held"), QStringLiteral("RUNNING"), QStringLiteral("Running"),
             QStringLiteral("a"), now - 9'000'000, now - 5'000'000, 0},
            {QStringLiteral("run-done"), QStringLiteral("COMPLETED"), QStringLiteral("Completed"),
             QStringLiteral("a"), now - 9'000'000, now - 4'000'000, 1},
            {QStringLiteral("run-expired"), QStringLiteral("RUNNING"), QStringLiteral("Running"),
             QStringLiteral("a"), now - 9'000'000, now - 4'000'000, 2},
            // Waiting: created first but waiting since later, so second in line.
            {QStringLiteral("wait-second"), QStringLiteral("SCHEDULED"),
             QStringLiteral("AwaitingConcurrencySlot"), QStringLiteral("x,a"), now - 8'000'000,
             now - 1'000'000, 3},
            {QStringLiteral("wait-first"), QStringLiteral("SCHEDULED"),
             QStringLiteral("AwaitingConcurrencySlot"), QStringLiteral("a,b"), now - 7'000'000,
             now - 2'000'000, 4},
            // Not waiting for "a": other tags that contain it, another case, or not waiting at all.
            {QStringLiteral("wait-other"), QStringLiteral("SCHEDULED"),
             QStringLiteral("AwaitingConcurrencySlot"), QStringLiteral("ab,xa,abc"), now - 7'000'000,
             now - 2'000'000, 5},
            {QStringLiteral("wait-case"), QStringLiteral("SCHEDULED"),
             QStringLiteral("AwaitingConcurrencySlot"), QStringLiteral("A"), now - 7'000'000, now - 2'000'000,
             6},
            {QStringLiteral("pending-a"), QStringLiteral("PENDING"), QStringLiteral("Pending"),
             QStringLiteral("a"), now - 7'000'000, now - 7'000'000, 7},
        };
        for (const FakeRun& run : runs) {
            query(url,
                  QStringLiteral("INSERT INTO task_runs (id, flow_run_id, task, map_index, state, "
                                 "state_name, message, tags, "
                                 "created_at, started_at) VALUES (?, ?, 'w', ?, ?, ?, ?, ?, ?, ?)"),
                  {run.id, flowRun, run.mapIndex, run.state, run.name,
                   QString(QStringLiteral("msg of ") + run.id), run.tags, run.createdUs,
                   run.state == QLatin1String("RUNNING") ? QVariant(run.historyUs)
                                                         : QVariant(QMetaType::fromType<qint64>())});
            query(url,
                  QStringLiteral("INSERT INTO state_history (flow_run_id, task_run_id, time, state, name) "
                                 "VALUES (?, ?, ?, ?, ?)"),
                  {flowRun, run.id, run.historyUs, run.state, run.name});
        }
        const auto slot = [&](const QString& tag, const QString& id, qint64 expires) {
            query(url,
                  QStringLiteral("INSERT INTO concurrency_slots (tag, task_run_id, holder, lease_expires_at) "
                                 "VALUES (?, ?, ?, ?)"),
                  {tag, id, engine, expires});
        };
        slot(QStringLiteral("a"), QStringLiteral("run-held"), now + 60'000'000);
        slot(QStringLiteral("a"), QStringLiteral("run-done"), now + 60'000'000);
        slot(QStringLiteral("a"), QStringLiteral("run-expired"), now - 1'000'000);
        slot(QStringLiteral("a"), QStringLiteral("run-gone"), now + 60'000'000);
        slot(QStringLiteral("b"), QStringLiteral("run-done"), now + 60'000'000);

        r = limitCli(url, {QStringLiteral("ls"), QStringLiteral("--json")});
        QCOMPARE(r.exitCode, 0);
        const QJsonArray list = parseJson(r.out).array();
        QCOMPARE(list.size(), 3);
        const QStringList keys = {QStringLiteral("active"), QStringLiteral("limit"), QStringLiteral("tag"),
                                  QStringLiteral("waiting")};
        for (const QJsonValue& v : list)
            QCOMPARE(v.toObject().keys(), keys);
        QCOMPARE(list[0].toObject().value(QStringLiteral("tag")).toString(), QStringLiteral("a"));
        QCOMPARE(list[0].toObject().value(QStringLiteral("limit")).toInt(), 5);
        QCOMPARE(list[0].toObject().value(QStringLiteral("active")).toInt(),
                 3); // the expired lease does not count
        QCOMPARE(list[0].toObject().value(QStringLiteral("waiting")).toInt(), 2);
        QCOMPARE(list[1].toObject().value(QStringLiteral("tag")).toString(), QStringLiteral("a_c"));
        QCOMPARE(list[1].toObject().value(QStringLiteral("waiting")).toInt(), 0);
        QCOMPARE(list[2].toObject().value(QStringLiteral("tag")).toString(), QStringLiteral("b"));
        QCOMPARE(list[2].toObject().value(QStringLiteral("limit")).toInt(), 0);
        QCOMPARE(list[2].toObject().value(QStringLiteral("active")).toInt(), 1);
        QCOMPARE(list[2].toObject().value(QStringLiteral("waiting")).toInt(), 1);

        r = limitCli(url, {QStringLiteral("ls")});
        QCOMPARE(r.exitCode, 0);
        const QString table = QString::fromUtf8(r.out);
        QVERIFY2(table.contains(QStringLiteral("TAG")) && table.contains(QStringLiteral("USAGE")),
                 r.out.constData());
        QVERIFY2(
            table.contains(QRegularExpression(QStringLiteral("\\na\\s+5\\s+3\\s+2\\s+\\[#+\\.+\\] 60%"))),
            r.out.constData());
        QVERIFY2(table.contains(QRegularExpression(QStringLiteral("\\nb\\s+0\\s+1\\s+1\\s+paused"))),
                 r.out.constData());

        r = limitCli(url, {QStringLiteral("inspect"), QStringLiteral("a"), QStringLiteral("--json")});
        QCOMPARE(r.exitCode, 0);
        QJsonObject o = parseJson(r.out).object();
        for (const char* key : {"tag", "limit", "active_slots", "waiting"})
            QVERIFY2(o.contains(QLatin1String(key)), key);
        QCOMPARE(o.value(QStringLiteral("tag")).toString(), QStringLiteral("a"));
        QCOMPARE(o.value(QStringLiteral("limit")).toInt(), 5);
        QStringList active = strings(o.value(QStringLiteral("active_slots")));
        active.sort();
        QCOMPARE(active,
                 (QStringList{QStringLiteral("run-done"), QStringLiteral("run-gone"),
                              QStringLiteral("run-held")}));
        QCOMPARE(strings(o.value(QStringLiteral("waiting"))),
                 (QStringList{QStringLiteral("wait-first"), QStringLiteral("wait-second")}));

        r = limitCli(url, {QStringLiteral("inspect"), QStringLiteral("a")});
        QCOMPARE(r.exitCode, 0);
        const QString text = QString::fromUtf8(r.out);
        QVERIFY2(text.contains(QStringLiteral("limit:    5")), r.out.constData());
        QVERIFY2(text.contains(QStringLiteral("task runs holding slots")), r.out.constData());
        QVERIFY2(text.contains(QRegularExpression(QStringLiteral("run-held\\s+w\\[0\\]\\s+fr-1"))),
                 r.out.constData());
        QVERIFY2(text.contains(QStringLiteral("in queue order")), r.out.constData());
        QVERIFY2(text.indexOf(QStringLiteral("wait-first")) < text.indexOf(QStringLiteral("wait-second")),
                 r.out.constData());
        QVERIFY2(text.contains(QStringLiteral("msg of wait-first")), r.out.constData());
        QVERIFY(!text.contains(QStringLiteral("wait-other")) && !text.contains(QStringLiteral("wait-case")));

        // The leaked slot (completed run), the expired one and the unknown run's are freed.
        r = limitCli(url, {QStringLiteral("reset"), QStringLiteral("a")});
        QCOMPARE(r.exitCode, 0);
        QCOMPARE(r.out, QByteArray("freed 3 slots of tag \"a\"\n"));
        QCOMPARE(strings(inspect(url, QStringLiteral("a")).value(QStringLiteral("active_slots"))),
                 QStringList{QStringLiteral("run-held")});
        QCOMPARE(query(url, QStringLiteral("SELECT count(*) FROM concurrency_slots WHERE tag = 'b'"))
                     .value(0)
                     .value(0)
                     .toInt(),
                 1);
        r = limitCli(url, {QStringLiteral("reset"), QStringLiteral("a")});
        QCOMPARE(r.exitCode, 0);
        QCOMPARE(r.out, QByteArray("freed 0 slots of tag \"a\"\n"));

        r = limitCli(url, {QStringLiteral("delete"), QStringLiteral("a"), db, url});
        QCOMPARE(r.exitCode, 0);
        QCOMPARE(r.out, QByteArray("deleted the concurrency limit of tag \"a\"\n"));
        QCOMPARE(query(url, QStringLiteral("SELECT count(*) FROM concurrency_slots WHERE tag = 'a'"))
                     .value(0)
                     .value(0)
                     .toInt(),
                 0);
        r = limitCli(url, {QStringLiteral("ls"), QStringLiteral("--json")});
        const QJsonArray after = parseJson(r.out).array();
        QCOMPARE(after.size(), 2);
        QCOMPARE(after[0].toObject().value(QStringLiteral("tag")).toString(), QStringLiteral("a_c"));
        QCOMPARE(after[1].toObject().value(QStringLiteral("tag")).toString(), QStringLiteral("b"));
        QCOMPARE(limitCli(url, {QStringLiteral("inspect"), QStringLiteral("a")}).exitCode, 2);
        QCOMPARE(limitCli(url, {QStringLiteral("delete"), QStringLiteral("a")}).exitCode, 2);
    }

    void badInputExitsTwoAndWritesNothing_data() { addBackendRows(); }
    void badInputExitsTwoAndWritesNothing()
    {
        QFETCH(QString, backend);
        FLOWDECK_FRESH_DATABASE(url, backend);
        QCOMPARE(
            limitCli(url, {QStringLiteral("create"), QStringLiteral("keep"), QStringLiteral("7")}).exitCode,
            0);
        query(url,
              QStringLiteral("INSERT INTO concurrency_slots (tag, task_run_id, holder, lease_expires_at) "
                             "VALUES ('keep', 'r', 'e', 1)"));
        const QStringList before = snapshot(url);
        QCOMPARE(before.size(), 2);

        const auto c = [](const char* text) { return QString::fromUtf8(text); };
        const QList<QStringList> cases = {
            // Limits that are not non-negative integers.
            {c("create"), c("keep"), c("-1")},
            {c("create"), c("keep"), c("1.5")},
            {c("create"), c("keep"), c("ten")},
            {c("create"), c("keep"), c("99999999999")},
            {c("create"), c("keep"), c("")},
            {c("create"), c("keep"), c("+3")},
            {c("create"), c("keep"), c(" 3")},
            {c("create"), c("new"), c("-1")},
            // Tags that cannot be.
            {c("create"), c(""), c("3")},
            {c("create"), c("a b"), c("3")},
            {c("create"), c("a\tb"), c("3")},
            {c("create"), c("a\nb"), c("3")},
            {c("create"),
             c("a\x01"
               "b"),
             c("3")},
            {c("create"),
             c("a\x7f"
               "b"),
             c("3")},
            {c("create"), QStringLiteral("a\u00a0b"), c("3")},
            {c("create"), c("a,b"), c("3")},
            {c("inspect"), c("")},
            {c("reset"), c("a b")},
            {c("delete"), c("a\nb")},
            // Unknown tags.
            {c("inspect"), c("nosuch")},
            {c("reset"), c("nosuch")},
            {c("delete"), c("nosuch")},
            {c("delete"), c("KEEP")},
            // Missing, extra or unknown arguments and subcommands.
            {},
            {c("frobnicate")},
            {c("create")},
            {c("create"), c("keep")},
            {c("create"), c("keep"), c("3"), c("4")},
            {c("create"), c("keep"), c("3"), c("--bogus")},
            {c("ls"), c("extra")},
            {c("inspect")},
            {c("reset")},
            {c("delete")},
            {c("inspect"), c("keep"), c("keep")},
        };
        for (const QStringList& args : cases) {
            const QString label
                = QStringLiteral("concurrency-limit [%1]").arg(args.join(QStringLiteral("] [")));
            const Result r = limitCli(url, args);
            QVERIFY2(r.exitCode == 2,
                     qPrintable(QStringLiteral("%1: exit %2, stderr: %3")
                                    .arg(label)
                                    .arg(r.exitCode)
                                    .arg(QString::fromUtf8(r.err))));
            QVERIFY2(r.out.isEmpty(),
                     qPrintable(label + QStringLiteral(": stdout: ") + QString::fromUtf8(r.out)));
            QVERIFY2(r.err.count('\n') == 1 && r.err.endsWith('\n') && r.err.size() > 20,
                     qPrintable(label + QStringLiteral(": not one line: ") + QString::fromUtf8(r.err)));
            QVERIFY2(snapshot(url) == before,
                     qPrintable(label + QStringLiteral(": the limits or slots changed")));
        }
        // The messages say what is wrong.
        QVERIFY(limitCli(url, {c("create"), c("keep"), c("-1")})
                    .err.contains("non-negative integer, got \"-1\""));
        QVERIFY(limitCli(url, {c("create"), c("a\nb"), c("3")}).err.contains("invalid tag \"a\\nb\""));
        QVERIFY(limitCli(url, {c("create"), c(""), c("3")}).err.contains("must not be empty"));
        QVERIFY(
            limitCli(url, {c("reset"), c("nosuch")}).err.contains("no concurrency limit for tag \"nosuch\""));
        QVERIFY(limitCli(url, {}).err.contains("missing subcommand"));
    }

    void liveLimitChangeReachesRunningEngine_data() { addBackendRows(); }
    void liveLimitChangeReachesRunningEngine()
    {
        QFETCH(QString, backend);
        FLOWDECK_FRESH_DATABASE(url, backend);
        QCOMPARE(limitCli(url, {QStringLiteral("create"), QStringLiteral("t"), QStringLiteral("2")}).exitCode,
                 0);
        Child child(url, writeFlow(QStringLiteral("live.json"), taggedFlow(12, 0.6)));
        QVERIFY(child.started());

        // While it runs: at most 2 slots held, the others wait in line.
        bool sawWaiting = false;
        QElapsedTimer t;
        t.start();
        while (!sawWaiting && t.elapsed() < 15000 && child.running()) {
            child.pump();
            const QJsonObject o = inspect(url, QStringLiteral("t"));
            const int active = int(o.value(QStringLiteral("active_slots")).toArray().size());
            QVERIFY2(active <= 2, qPrintable(QStringLiteral("%1 active slots on a limit of 2").arg(active)));
            // Both slots held (not only the first, with the second still being taken) and others waiting:
            // the limit in force is in use before it changes.
            sawWaiting = active == 2 && !o.value(QStringLiteral("waiting")).toArray().isEmpty();
            if (!sawWaiting)
                QThread::msleep(30);
        }
        QVERIFY2(sawWaiting, "inspect never showed both slots held and task runs waiting");

        const qint64 changeMs = wallUs() / 1000;
        QCOMPARE(limitCli(url, {QStringLiteral("create"), QStringLiteral("t"), QStringLiteral("4")}).exitCode,
                 0);
        const int exitCode = child.finish(30000);
        QVERIFY2(exitCode == 0,
                 qPrintable(QStringLiteral("exit %1: %2").arg(exitCode).arg(QString::fromUtf8(child.err()))));

        const QList<Start> starts = child.starts();
        QCOMPARE(starts.size(), 12);
        QVERIFY(child.countNamed(QStringLiteral("AwaitingConcurrencySlot")) > 0);
        QCOMPARE(maxRunning(starts, 0, changeMs), 2); // the limit in force before the change
        QCOMPARE(maxRunning(starts), 4);              // never more than the new one, and it was used
        // Picked up within a second: 4 ran at once soon after the change.
        const auto firstFour
            = std::find_if(starts.begin(), starts.end(), [](const Start& s) { return s.running == 4; });
        QVERIFY(firstFour != starts.end());
        QVERIFY2(firstFour->timeMs - changeMs < 1500,
                 qPrintable(QStringLiteral("4 ran at once only %1 ms after the change")
                                .arg(firstFour->timeMs - changeMs)));
    }

    void deleteReleasesWaiters_data() { addBackendRows(); }
    void deleteReleasesWaiters()
    {
        QFETCH(QString, backend);
        FLOWDECK_FRESH_DATABASE(url, backend);
        QCOMPARE(limitCli(url, {QStringLiteral("create"), QStringLiteral("t"), QStringLiteral("1")}).exitCode,
                 0);
        // One at a time this takes 10 s.
        Child child(url, writeFlow(QStringLiteral("delete.json"), taggedFlow(20, 0.5)));
        QVERIFY(child.started());
        QElapsedTimer t;
        t.start();
        int waiting = 0;
        while (waiting < 15 && t.elapsed() < 15000 && child.running()) {
            child.pump();
            const QJsonObject o = inspect(url, QStringLiteral("t"));
            QVERIFY(o.value(QStringLiteral("active_slots")).toArray().size() <= 1);
            waiting = int(o.value(QStringLiteral("waiting")).toArray().size());
            if (waiting < 15)
                QThread::msleep(30);
        }
        QVERIFY2(waiting >= 15, qPrintable(QStringLiteral("only %1 task runs waited").arg(waiting)));

        const qint64 deleteMs = wallUs() / 1000;
        QElapsedTimer sinceDelete;
        sinceDelete.start();
        QCOMPARE(limitCli(url, {QStringLiteral("delete"), QStringLiteral("t")}).exitCode, 0);
        const int exitCode = child.finish(30000);
        QVERIFY2(exitCode == 0,
                 qPrintable(QStringLiteral("exit %1: %2").arg(exitCode).arg(QString::fromUtf8(child.err()))));
        // The waiters ran together as soon as the engine saw the change (within 1 s), not in turn.
        QVERIFY2(sinceDelete.elapsed() < 3000,
                 qPrintable(QStringLiteral("finished %1 ms after the delete").arg(sinceDelete.elapsed())));
        const QList<Start> starts = child.starts();
        QCOMPARE(starts.size(), 20);
        QCOMPARE(maxRunning(starts, 0, deleteMs), 1);
        QVERIFY(maxRunning(starts, deleteMs) >= 15);
        QCOMPARE(
            query(url, QStringLiteral("SELECT count(*) FROM concurrency_slots")).value(0).value(0).toInt(),
            0);
    }

    void zeroHoldsUntilRaised_data() { addBackendRows(); }
    void zeroHoldsUntilRaised()
    {
        QFETCH(QString, backend);
        FLOWDECK_FRESH_DATABASE(url, backend);
        QCOMPARE(limitCli(url, {QStringLiteral("create"), QStringLiteral("t"), QStringLiteral("0")}).exitCode,
                 0);
        Child child(url, writeFlow(QStringLiteral("zero.json"), taggedFlow(3, 0.2)));
        QVERIFY(child.started());
        QElapsedTimer t;
        t.start();
        QJsonObject o;
        while (t.elapsed() < 15000 && child.running()) {
            child.pump();
            o = inspect(url, QStringLiteral("t"));
            if (o.value(QStringLiteral("waiting")).toArray().size() == 3)
                break;
            QThread::msleep(30);
        }
        QCOMPARE(o.value(QStringLiteral("waiting")).toArray().size(), 3);
        QCOMPARE(o.value(QStringLiteral("active_slots")).toArray().size(), 0);

        // Held, not aborted and not polling its way in: still waiting a while later.
        idle(child, 1500);
        QVERIFY(child.running());
        QCOMPARE(child.starts().size(), 0);
        o = inspect(url, QStringLiteral("t"));
        const QStringList waiting = strings(o.value(QStringLiteral("waiting")));
        QCOMPARE(waiting.size(), 3);
        for (const QString& id : waiting) {
            const auto rows = query(
                url, QStringLiteral("SELECT state, state_name, message FROM task_runs WHERE id = ?"), {id});
            QCOMPARE(rows.size(), 1);
            QCOMPARE(rows[0][0].toString(), QStringLiteral("SCHEDULED"));
            QCOMPARE(rows[0][1].toString(), QStringLiteral("AwaitingConcurrencySlot"));
            QVERIFY2(rows[0][2].toString().contains(QStringLiteral("paused by a limit of 0")),
                     qPrintable(rows[0][2].toString()));
        }

        const qint64 raiseMs = wallUs() / 1000;
        QCOMPARE(limitCli(url, {QStringLiteral("create"), QStringLiteral("t"), QStringLiteral("2")}).exitCode,
                 0);
        const int exitCode = child.finish(15000);
        QVERIFY2(exitCode == 0,
                 qPrintable(QStringLiteral("exit %1: %2").arg(exitCode).arg(QString::fromUtf8(child.err()))));
        const QList<Start> starts = child.starts();
        QCOMPARE(starts.size(), 3);
        QVERIFY(std::all_of(starts.begin(), starts.end(),
                            [raiseMs](const Start& s) { return s.timeMs >= raiseMs; }));
        QCOMPARE(maxRunning(starts), 2);
    }
};

QTEST_GUILESS_MAIN(TestCliLimits)
#include "tst_clilimits.moc"
