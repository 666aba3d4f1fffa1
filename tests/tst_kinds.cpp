// The built-in kinds that reach outside the process: shell and http (and fail).
#include "flow/flowparser.h"
#include "flow/taskkind.h"
#include "kinds/httpkind.h"
#include "run/engine.h"
#include "run/flowrun.h"
#include "testutil.h"

#include <QDir>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QScopeGuard>
#include <QTcpServer>
#include <QTcpSocket>
#include <QTemporaryDir>
#include <QTest>

#include <memory>

using namespace flowdeck;
using namespace flowdeck::test;

namespace {

QJsonObject command(const QStringList& argv)
{
    return {{QStringLiteral("command"), QJsonArray::fromStringList(argv)}};
}

QJsonObject shellScript(const QString& script)
{
    return command({QStringLiteral("sh"), QStringLiteral("-c"), script});
}

//! Answers every connection with a 200 whose body never ends: it writes more whenever the last
//! chunk has left, until the client goes away.
class EndlessBodyServer : public QObject {
public:
    EndlessBodyServer()
    {
        QObject::connect(&m_server, &QTcpServer::newConnection, this, [this] {
            while (QTcpSocket* socket = m_server.nextPendingConnection()) {
                QObject::connect(socket, &QTcpSocket::readyRead, socket, [this, socket] {
                    if (socket->property("answered").toBool())
                        return;
                    socket->readAll();
                    socket->setProperty("answered", true);
                    socket->write("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nConnection: close\r\n\r\n");
                    socket->write(m_chunk);
                });
                QObject::connect(socket, &QTcpSocket::bytesWritten, socket, [this, socket](qint64 n) {
                    sent += n;
                    if (socket->bytesToWrite() == 0 && socket->state() == QAbstractSocket::ConnectedState)
                        socket->write(m_chunk);
                });
                QObject::connect(socket, &QTcpSocket::disconnected, socket, &QObject::deleteLater);
            }
        });
    }
    bool listen() { return m_server.listen(QHostAddress::LocalHost, 0); }
    QString url() const { return QStringLiteral("http://127.0.0.1:%1/endless").arg(m_server.serverPort()); }
    qint64 sent = 0;

private:
    QTcpServer m_server;
    QByteArray m_chunk = QByteArray(64 * 1024, 'x');
};

} // namespace

class TestKinds : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void init();
    void cleanup();

    void shellExitZeroCompletes();
    void shellNonZeroExitFails();
    void shellOutputBecomesLogs();
    void shellCwdAndEnv();
    void shellMissingProgramFails();
    void shellMapIndexInCommand();
    void shellTimeout();
    void shellEnvironmentWithholdsFlowdeckVariables();
    void shellLongLineIsCapped();

    void httpOkBodyIsResult();
    void http404Fails();
    void httpExpectStatus();
    void httpPostJsonAndHeaders();
    void httpMaxBodyBytesTruncates();
    void httpConnectionRefusedFails();
    void httpsToPlainServerFails();
    void httpTimeout();
    void httpLineBreaksRefusedAtValidation();
    void httpLineBreaksFailTheRun();
    void httpBodyLimitStopsReading();
    void httpIdleTimeout();
    void httpDefaultIdleTimeout();

    void failKindMessage();

private:
    //! Runs a one-task flow to its end and returns the task run.
    TaskRun* runOne(const QString& kind, const QJsonObject& config, int timeoutMs = 10000);

    std::unique_ptr<Engine> m_engine;
    RecordingObserver m_rec;
    FlowRun* m_flow = nullptr;
};

void TestKinds::init()
{
    m_rec.clear();
    m_engine = std::make_unique<Engine>();
    m_engine->addObserver(&m_rec);
    m_flow = nullptr;
}

void TestKinds::cleanup()
{
    cancelAndDrain(*m_engine);
    m_engine.reset();
}

TaskRun* TestKinds::runOne(const QString& kind, const QJsonObject& config, int timeoutMs)
{
    m_flow = m_engine->start(makeFlow(kind, {makeTask(QStringLiteral("t"), kind, config)}));
    if (!waitForFlow(*m_engine, m_flow, timeoutMs))
        qWarning("the %s run did not finish within %d ms", qPrintable(kind), timeoutMs);
    return taskRun(m_flow, QStringLiteral("t"));
}

void TestKinds::shellExitZeroCompletes()
{
    TaskRun* run = runOne(QStringLiteral("shell"), shellScript(QStringLiteral("exit 0")));
    QCOMPARE(toString(run->type), toString(StateType::Completed));
    QCOMPARE(run->message, QStringLiteral("exit code 0"));
    QCOMPARE(toString(m_flow->type), toString(StateType::Completed));
    verifyFlowConsistent(m_flow, m_rec);
}

void TestKinds::shellNonZeroExitFails()
{
    TaskRun* run = runOne(QStringLiteral("shell"), shellScript(QStringLiteral("echo about to fail; exit 3")));
    QCOMPARE(toString(run->type), toString(StateType::Failed));
    QVERIFY2(run->message.contains(QStringLiteral("exit code 3")), qPrintable(run->message));
    QCOMPARE(toString(m_flow->type), toString(StateType::Failed));
    QVERIFY(m_rec.logLines(QStringLiteral("t")).contains(QStringLiteral("about to fail")));
    verifyFlowConsistent(m_flow, m_rec);
}

void TestKinds::shellOutputBecomesLogs()
{
    // Lines of one stream keep their order; the pauses order the two streams against each other.
    TaskRun* run
        = runOne(QStringLiteral("shell"),
                 shellScript(QStringLiteral("echo out one; echo out two; sleep 0.2; echo err one >&2; "
                                            "echo err two >&2; sleep 0.2; echo out three; "
                                            "printf 'no newline'")));
    QCOMPARE(toString(run->type), toString(StateType::Completed));
    const QStringList lines = m_rec.logLines(QStringLiteral("t"));
    const QStringList expected
        = {QStringLiteral("out one"), QStringLiteral("out two"),   QStringLiteral("err one"),
           QStringLiteral("err two"), QStringLiteral("out three"), QStringLiteral("no newline")};
    QCOMPARE(lines, expected);
    const QList<LogLevel> levels = m_rec.logLevels(QStringLiteral("t"));
    const QList<LogLevel> expectedLevels = {LogLevel::Info,    LogLevel::Info, LogLevel::Warning,
                                            LogLevel::Warning, LogLevel::Info, LogLevel::Info};
    QCOMPARE(levels.size(), expectedLevels.size());
    for (qsizetype i = 0; i < levels.size(); ++i)
        QVERIFY2(levels.at(i) == expectedLevels.at(i),
                 qPrintable(lines.at(i) + u' ' + toString(levels.at(i))));
    for (const RecordedLog& log : m_rec.logs)
        QVERIFY(log.taskRun == run && log.flowRun == m_flow);
}

void TestKinds::shellCwdAndEnv()
{
    QTemporaryDir dir;
    QVERIFY(dir.isValid());
    QJsonObject config = shellScript(QStringLiteral("pwd; echo \"$FLOWDECK_TEST_VAR\"; echo \"$HOME\""));
    config.insert(QStringLiteral("cwd"), dir.path());
    config.insert(QStringLiteral("env"),
                  QJsonObject{{QStringLiteral("FLOWDECK_TEST_VAR"), QStringLiteral("hello env")}});
    TaskRun* run = runOne(QStringLiteral("shell"), config);
    QCOMPARE(toString(run->type), toString(StateType::Completed));
    const QStringList lines = m_rec.logLines(QStringLiteral("t"));
    QCOMPARE(lines.size(), 3);
    QCOMPARE(QDir(lines.at(0)).canonicalPath(), QDir(dir.path()).canonicalPath());
    QCOMPARE(lines.at(1), QStringLiteral("hello env"));
    // The rest of the environment is inherited.
    QCOMPARE(lines.at(2), qEnvironmentVariable("HOME"));
}

void TestKinds::shellMissingProgramFails()
{
    const QString program = QStringLiteral("/nonexistent/flowdeck-no-such-program");
    TaskRun* run = runOne(QStringLiteral("shell"), command({program, QStringLiteral("--flag")}));
    QCOMPARE(toString(run->type), toString(StateType::Failed));
    QVERIFY2(run->message.contains(QStringLiteral("cannot start")), qPrintable(run->message));
    QVERIFY2(run->message.contains(program), qPrintable(run->message));
    verifyFlowConsistent(m_flow, m_rec);
}

void TestKinds::shellMapIndexInCommand()
{
    TaskDef t = makeTask(QStringLiteral("t"), QStringLiteral("shell"),
                         shellScript(QStringLiteral("echo shard {{map_index}}")));
    t.map = 3;
    FlowRun* flow = m_engine->start(makeFlow(QStringLiteral("shell-map"), {t}));
    QVERIFY(waitForFlow(*m_engine, flow));
    QCOMPARE(toString(flow->type), toString(StateType::Completed));
    for (int i = 0; i < 3; ++i)
        QCOMPARE(m_rec.logLines(QStringLiteral("t"), i), QStringList{QStringLiteral("shard %1").arg(i)});
    verifyFlowConsistent(flow, m_rec);
}

void TestKinds::shellTimeout()
{
    TaskDef t = makeTask(QStringLiteral("t"), QStringLiteral("shell"),
                         command({QStringLiteral("sleep"), QStringLiteral("10")}));
    t.timeoutSeconds = 0.2;
    FlowRun* flow = m_engine->start(makeFlow(QStringLiteral("shell-timeout"), {t}));
    QVERIFY(waitForFlow(*m_engine, flow, 5000));
    TaskRun* run = taskRun(flow, QStringLiteral("t"));
    QCOMPARE(toString(run->name), toString(StateName::TimedOut));
    const qint64 ranUs = run->endedUs - run->startedUs;
    qInfo("shell sleep 10 with timeout_s 0.2 ended after %.1f ms", ranUs / 1000.0);
    QVERIFY(ranUs >= 190'000 && ranUs < 3'000'000);
    verifyFlowConsistent(flow, m_rec);
}

void TestKinds::shellEnvironmentWithholdsFlowdeckVariables()
{
    // Flowdeck's own settings (FLOWDECK_DB with its password) and PGPASSWORD stay out of a
    // command's environment, so that a task running `env` cannot log them.
    qputenv("FLOWDECK_DB", "postgresql://user:S3cr3tDb@host/db");
    qputenv("PGPASSWORD", "S3cr3tPg");
    const auto restore = qScopeGuard([] {
        qunsetenv("FLOWDECK_DB");
        qunsetenv("PGPASSWORD");
    });
    QJsonObject config = command({QStringLiteral("env")});
    config.insert(QStringLiteral("env"),
                  QJsonObject{{QStringLiteral("FLOWDECK_TASK_VAR"), QStringLiteral("kept")}});
    TaskRun* run = runOne(QStringLiteral("shell"), config);
    QCOMPARE(toString(run->type), toString(StateType::Completed));
    QString all = m_rec.logLines(QStringLiteral("t")).join(u'\n');
    QVERIFY2(!all.contains(QStringLiteral("S3cr3t")), qPrintable(all));
    QVERIFY(!all.contains(QStringLiteral("PGPASSWORD=")));
    QVERIFY(all.contains(QStringLiteral("FLOWDECK_TASK_VAR=kept"))); // the task's own env still applies
    QVERIFY(all.contains(QStringLiteral("HOME=")));                  // the rest is inherited

    // inherit_env passes named ones on.
    m_rec.clear();
    config.insert(QStringLiteral("inherit_env"), QJsonArray{QStringLiteral("PGPASSWORD")});
    run = runOne(QStringLiteral("shell"), config);
    QCOMPARE(toString(run->type), toString(StateType::Completed));
    all = m_rec.logLines(QStringLiteral("t")).join(u'\n');
    QVERIFY(all.contains(QStringLiteral("PGPASSWORD=S3cr3tPg")));
    QVERIFY(!all.contains(QStringLiteral("S3cr3tDb")));
}

void TestKinds::shellLongLineIsCapped()
{
    // 200000 bytes without a newline, then a short line: the first is kept up to 64 KB and the rest
    // counted, not buffered into one huge log row.
    TaskRun* run
        = runOne(QStringLiteral("shell"),
                 shellScript(QStringLiteral("head -c 200000 /dev/zero | tr '\\0' x; echo; echo after")));
    QCOMPARE(toString(run->type), toString(StateType::Completed));
    const QStringList lines = m_rec.logLines(QStringLiteral("t"));
    QCOMPARE(lines.size(), 2);
    const qsizetype cap = 64 * 1024;
    QVERIFY2(lines.at(0).startsWith(QString(cap, u'x')), qPrintable(lines.at(0).left(80)));
    QCOMPARE(lines.at(0).mid(cap), QStringLiteral(" \u2026 [%1 bytes dropped]").arg(200000 - cap));
    QCOMPARE(lines.at(1), QStringLiteral("after"));

    // Without a final newline too.
    m_rec.clear();
    run = runOne(QStringLiteral("shell"),
                 shellScript(QStringLiteral("head -c 100000 /dev/zero | tr '\\0' y")));
    QCOMPARE(toString(run->type), toString(StateType::Completed));
    const QStringList tail = m_rec.logLines(QStringLiteral("t"));
    QCOMPARE(tail.size(), 1);
    QCOMPARE(tail.at(0), QString(cap, u'y') + QStringLiteral(" \u2026 [%1 bytes dropped]").arg(100000 - cap));
}

void TestKinds::httpOkBodyIsResult()
{
    TestHttpServer server;
    QVERIFY(server.listen());
    TaskRun* run = runOne(QStringLiteral("http"),
                          {{QStringLiteral("url"), server.url(QStringLiteral("/ok")).toString()}});
    QCOMPARE(toString(run->type), toString(StateType::Completed));
    QCOMPARE(run->result.toObject().value(QStringLiteral("body")).toString(),
             QString::fromUtf8(TestHttpServer::okBody()));
    QCOMPARE(run->message, QStringLiteral("status 200"));
    QCOMPARE(server.requests.size(), 1);
    QCOMPARE(server.requests.first().method, QByteArrayLiteral("GET"));
    QCOMPARE(server.requests.first().path, QByteArrayLiteral("/ok"));
    const QStringList lines = m_rec.logLines(QStringLiteral("t"));
    QCOMPARE(lines.size(), 1);
    QVERIFY2(lines.first().contains(QStringLiteral("-> 200")), qPrintable(lines.first()));
    verifyFlowConsistent(m_flow, m_rec);
}

void TestKinds::http404Fails()
{
    TestHttpServer server;
    QVERIFY(server.listen());
    TaskRun* run = runOne(QStringLiteral("http"),
                          {{QStringLiteral("url"), server.url(QStringLiteral("/missing")).toString()}});
    QCOMPARE(toString(run->type), toString(StateType::Failed));
    QVERIFY2(run->message.contains(QStringLiteral("status 404")), qPrintable(run->message));
    QVERIFY2(run->message.contains(QStringLiteral("2xx")), qPrintable(run->message));
    QCOMPARE(toString(m_flow->type), toString(StateType::Failed));
}

void TestKinds::httpExpectStatus()
{
    TestHttpServer server;
    QVERIFY(server.listen());
    const QString missing = server.url(QStringLiteral("/missing")).toString();
    TaskRun* run
        = runOne(QStringLiteral("http"),
                 {{QStringLiteral("url"), missing}, {QStringLiteral("expect_status"), QJsonArray{404, 410}}});
    QCOMPARE(toString(run->type), toString(StateType::Completed));
    QCOMPARE(run->message, QStringLiteral("status 404"));

    run = runOne(QStringLiteral("http"),
                 {{QStringLiteral("url"), missing}, {QStringLiteral("expect_status"), 404}});
    QCOMPARE(toString(run->type), toString(StateType::Completed));

    // A 200 is a failure when only 404 is expected.
    run = runOne(QStringLiteral("http"),
                 {{QStringLiteral("url"), server.url(QStringLiteral("/ok")).toString()},
                  {QStringLiteral("expect_status"), QJsonArray{404}}});
    QCOMPARE(toString(run->type), toString(StateType::Failed));
    QVERIFY2(run->message.contains(QStringLiteral("status 200, expected 404")), qPrintable(run->message));
}

void TestKinds::httpPostJsonAndHeaders()
{
    TestHttpServer server;
    QVERIFY(server.listen());
    const QJsonObject body{{QStringLiteral("k"), QStringLiteral("v")}, {QStringLiteral("n"), 1}};
    TaskRun* run = runOne(
        QStringLiteral("http"),
        {{QStringLiteral("url"), server.url(QStringLiteral("/echo")).toString()},
         {QStringLiteral("method"), QStringLiteral("post")},
         {QStringLiteral("headers"), QJsonObject{{QStringLiteral("X-Flowdeck-Test"), QStringLiteral("yes")}}},
         {QStringLiteral("body"), body}});
    QCOMPARE(toString(run->type), toString(StateType::Completed));
    QCOMPARE(server.requests.size(), 1);
    const TestHttpServer::Request& request = server.requests.first();
    QCOMPARE(request.method, QByteArrayLiteral("POST"));
    QCOMPARE(request.path, QByteArrayLiteral("/echo"));
    QCOMPARE(request.headers.value("x-flowdeck-test"), QByteArrayLiteral("yes"));
    QVERIFY(request.headers.value("content-type").startsWith("application/json"));
    QCOMPARE(QJsonDocument::fromJson(request.body).object(), body);
    QCOMPARE(QJsonDocument::fromJson(run->result.toObject().value(QStringLiteral("body")).toString().toUtf8())
                 .object(),
             body);

    // A string body is sent as it is.
    run = runOne(QStringLiteral("http"),
                 {{QStringLiteral("url"), server.url(QStringLiteral("/echo")).toString()},
                  {QStringLiteral("method"), QStringLiteral("PUT")},
                  {QStringLiteral("body"), QStringLiteral("plain text")}});
    QCOMPARE(toString(run->type), toString(StateType::Completed));
    QCOMPARE(server.requests.size(), 2);
    QCOMPARE(server.requests.at(1).method, QByteArrayLiteral("PUT"));
    QCOMPARE(server.requests.at(1).body, QByteArrayLiteral("plain text"));
    QCOMPARE(run->result.toObject().value(QStringLiteral("body")).toString(), QStringLiteral("plain text"));
}

void TestKinds::httpMaxBodyBytesTruncates()
{
    TestHttpServer server;
    QVERIFY(server.listen());
    TaskRun* run = runOne(QStringLiteral("http"),
                          {{QStringLiteral("url"), server.url(QStringLiteral("/big")).toString()},
                           {QStringLiteral("max_body_bytes"), 100}});
    QCOMPARE(toString(run->type), toString(StateType::Completed));
    QCOMPARE(run->result.toObject().value(QStringLiteral("body")).toString(), QString(100, u'x'));
    QVERIFY(m_rec.logLines(QStringLiteral("t")).join(u'\n').contains(QStringLiteral("truncated")));

    run = runOne(QStringLiteral("http"),
                 {{QStringLiteral("url"), server.url(QStringLiteral("/big")).toString()}});
    QCOMPARE(run->result.toObject().value(QStringLiteral("body")).toString().size(),
             TestHttpServer::BigBodySize); // under the default limit
}

void TestKinds::httpConnectionRefusedFails()
{
    quint16 port = 0;
    {
        QTcpServer closed;
        QVERIFY(closed.listen(QHostAddress::LocalHost, 0));
        port = closed.serverPort();
    }
    TaskRun* run = runOne(QStringLiteral("http"),
                          {{QStringLiteral("url"), QStringLiteral("http://127.0.0.1:%1/ok").arg(port)}});
    QCOMPARE(toString(run->type), toString(StateType::Failed));
    QVERIFY2(run->message.contains(QStringLiteral("failed")), qPrintable(run->message));
    QVERIFY2(run->message.contains(QStringLiteral("refused"), Qt::CaseInsensitive), qPrintable(run->message));
}

void TestKinds::httpsToPlainServerFails()
{
    TestHttpServer server;
    QVERIFY(server.listen());
    TaskRun* run = runOne(
        QStringLiteral("http"),
        {{QStringLiteral("url"), server.url(QStringLiteral("/ok"), QStringLiteral("https")).toString()}});
    QCOMPARE(toString(run->type), toString(StateType::Failed));
    QVERIFY2(run->message.contains(QStringLiteral("failed")), qPrintable(run->message));
    QVERIFY2(run->message.contains(QStringLiteral("SSL"), Qt::CaseInsensitive)
                 || run->message.contains(QStringLiteral("TLS"), Qt::CaseInsensitive),
             qPrintable(run->message));
    QVERIFY(server.rejectedConnections >= 1); // the handshake reached the server...
    QVERIFY(server.requests.isEmpty());       // ...and no HTTP request got through
    qInfo("https to a plain server: %s", qPrintable(run->message));
}

void TestKinds::httpTimeout()
{
    TestHttpServer server;
    QVERIFY(server.listen());
    TaskDef t = makeTask(QStringLiteral("t"), QStringLiteral("http"),
                         {{QStringLiteral("url"), server.url(QStringLiteral("/slow")).toString()}});
    t.timeoutSeconds = 0.2;
    FlowRun* flow = m_engine->start(makeFlow(QStringLiteral("http-timeout"), {t}));
    QVERIFY(waitForFlow(*m_engine, flow, 5000));
    TaskRun* run = taskRun(flow, QStringLiteral("t"));
    QCOMPARE(toString(run->name), toString(StateName::TimedOut));
    const qint64 ranUs = run->endedUs - run->startedUs;
    qInfo("http to a server that never answers, timeout_s 0.2: ended after %.1f ms", ranUs / 1000.0);
    QVERIFY(ranUs >= 190'000 && ranUs < 3'000'000);
    QCOMPARE(server.requests.size(), 1);
    verifyFlowConsistent(flow, m_rec);
}

void TestKinds::httpLineBreaksRefusedAtValidation()
{
    const auto errorsOf = [](const QByteArray& json, const QJsonObject& overrides = {}) {
        ValidationErrors errors;
        FlowParser(TaskKindRegistry::instance()).parse(json, QStringLiteral("test"), errors, overrides);
        QStringList texts;
        for (const ValidationError& e : errors)
            texts << e.toString();
        return texts.join(u'\n');
    };
    QString errors = errorsOf(R"({"name":"f","tasks":[{"id":"a","kind":"noop"},{"id":"b","kind":"http",
        "url":"http://127.0.0.1/","headers":{"X":"a\r\nInjected: yes"}}]})");
    QVERIFY2(errors.contains(QStringLiteral("tasks[1].headers.X: contains a line break")),
             qPrintable(errors));

    // Through a parameter: substituted before the kind checks it.
    const QByteArray withParam = R"({"name":"f","parameters":{"who":"me"},"tasks":[{"id":"a","kind":"http",
        "url":"http://127.0.0.1/","headers":{"X-Who":"{{who}}"}}]})";
    QVERIFY2(errorsOf(withParam).isEmpty(), qPrintable(errorsOf(withParam)));
    errors = errorsOf(withParam, {{QStringLiteral("who"), QStringLiteral("x\r\nInjected-Via-Param: 1")}});
    QVERIFY2(errors.contains(QStringLiteral("tasks[0].headers.X-Who: contains a line break")),
             qPrintable(errors));
    QVERIFY2(!errors.contains(u'\n'), qPrintable(errors)); // one place, one error

    // In a header's name, the URL and the method; NUL too.
    errors = errorsOf(
        R"({"name":"f","tasks":[{"id":"a","kind":"http","url":"http://127.0.0.1/","headers":{"X\nY":"v","Z":"\r"}}]})");
    QVERIFY2(errors.contains(QStringLiteral("tasks[0].headers.X\\nY: contains a line break")),
             qPrintable(errors));
    QVERIFY2(errors.contains(QStringLiteral("tasks[0].headers.Z: contains a line break")),
             qPrintable(errors));
    errors
        = errorsOf(R"({"name":"f","tasks":[{"id":"a","kind":"http","url":"http://127.0.0.1/a\r\nX: y"}]})");
    QVERIFY2(errors.contains(QStringLiteral("tasks[0].url: contains a line break")), qPrintable(errors));
    errors = errorsOf(
        R"({"name":"f","tasks":[{"id":"a","kind":"http","url":"http://127.0.0.1/","method":"GET\u0000"}]})");
    QVERIFY2(errors.contains(QStringLiteral("tasks[0].method: contains a line break")), qPrintable(errors));
}

void TestKinds::httpLineBreaksFailTheRun()
{
    // A value that reaches the run unchecked (a code flow) fails it before anything is sent.
    TestHttpServer server;
    QVERIFY(server.listen());
    TaskRun* run = runOne(QStringLiteral("http"),
                          {{QStringLiteral("url"), server.url(QStringLiteral("/ok")).toString()},
                           {QStringLiteral("headers"),
                            QJsonObject{{QStringLiteral("X"), QStringLiteral("a\r\nInjected: yes")}}}});
    QCOMPARE(toString(run->type), toString(StateType::Failed));
    QVERIFY2(run->message.contains(QStringLiteral("headers.X contains a line break")),
             qPrintable(run->message));
    QVERIFY(server.requests.isEmpty());
}

void TestKinds::httpBodyLimitStopsReading()
{
    // A body that never ends: with max_body_bytes the run ends at the limit instead of reading on.
    EndlessBodyServer server;
    QVERIFY(server.listen());
    TaskRun* run
        = runOne(QStringLiteral("http"),
                 {{QStringLiteral("url"), server.url()}, {QStringLiteral("max_body_bytes"), 100}}, 5000);
    QCOMPARE(toString(run->type), toString(StateType::Completed));
    QCOMPARE(run->message, QStringLiteral("status 200"));
    QCOMPARE(run->result.toObject().value(QStringLiteral("body")).toString(), QString(100, u'x'));
    QVERIFY(m_rec.logLines(QStringLiteral("t")).join(u'\n').contains(QStringLiteral("truncated")));
    qInfo("the server had sent %lld bytes when the reply ended", server.sent);
    QVERIFY(server.sent < 64 * 1024 * 1024);
}

void TestKinds::httpIdleTimeout()
{
    // Without timeout_s a server that never answers ends the run after idle_timeout_s (30 s unless set).
    TestHttpServer server;
    QVERIFY(server.listen());
    TaskRun* run = runOne(QStringLiteral("http"),
                          {{QStringLiteral("url"), server.url(QStringLiteral("/slow")).toString()},
                           {QStringLiteral("idle_timeout_s"), 0.3}},
                          5000);
    QCOMPARE(toString(run->type), toString(StateType::Failed));
    QVERIFY2(run->message.contains(QStringLiteral("idle_timeout_s")), qPrintable(run->message));
    const qint64 ranUs = run->endedUs - run->startedUs;
    QVERIFY2(ranUs >= 250'000 && ranUs < 3'000'000, qPrintable(QString::number(ranUs)));
}

void TestKinds::httpDefaultIdleTimeout()
{
    // The documented default: 30 s of silence without timeout_s, none with it (the task's deadline
    // bounds the whole run); idle_timeout_s wins either way, 0 meaning wait forever.
    QCOMPARE(httpTransferTimeoutMs({}, false), 30'000);
    QCOMPARE(httpTransferTimeoutMs({}, true), 0);
    QCOMPARE(httpTransferTimeoutMs({{QStringLiteral("idle_timeout_s"), 2.5}}, false), 2'500);
    QCOMPARE(httpTransferTimeoutMs({{QStringLiteral("idle_timeout_s"), 2.5}}, true), 2'500);
    QCOMPARE(httpTransferTimeoutMs({{QStringLiteral("idle_timeout_s"), 0}}, false), 0);
    QCOMPARE(httpTransferTimeoutMs({{QStringLiteral("idle_timeout_s"), 1e12}}, false), INT_MAX);
}

void TestKinds::failKindMessage()
{
    TaskRun* run
        = runOne(QStringLiteral("fail"), {{QStringLiteral("message"), QStringLiteral("custom failure")}});
    QCOMPARE(toString(run->type), toString(StateType::Failed));
    QCOMPARE(run->message, QStringLiteral("custom failure"));
    QVERIFY(m_flow->message.contains(QStringLiteral("custom failure")));

    run = runOne(QStringLiteral("fail"), {});
    QCOMPARE(toString(run->name), toString(StateName::Failed));
    QCOMPARE(run->message, QStringLiteral("failed on purpose"));
}

QTEST_GUILESS_MAIN(TestKinds)
#include "tst_kinds.moc"
