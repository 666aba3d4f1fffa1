#include "testutil.h"

#include "flow/flowparser.h"
#include "flow/taskkind.h"
#include "run/engine.h"
#include "run/flowrun.h"
#include "store/databaseurl.h"

#include <QCoreApplication>
#include <QDir>
#include <QElapsedTimer>
#include <QEventLoop>
#include <QJsonArray>
#include <QMutex>
#include <QRandomGenerator>
#include <QSqlDatabase>
#include <QSqlError>
#include <QSqlQuery>
#include <QSqlRecord>
#include <QTcpServer>
#include <QTcpSocket>
#include <QTemporaryDir>
#include <QTest>
#include <QTimer>

#include <algorithm>
#include <array>
#include <atomic>

namespace flowdeck::test {

QString sourcePath(const QString& relative)
{
    return QDir(qEnvironmentVariable("FLOWDECK_SOURCE_DIR", QStringLiteral(FLOWDECK_SOURCE_DIR_FALLBACK)))
        .filePath(relative);
}

QString flowdeckBinary()
{
    return qEnvironmentVariable("FLOWDECK_BINARY");
}

void RecordingObserver::onTransition(const TransitionEvent& event)
{
    RecordedTransition t;
    t.timeUs = event.timeUs;
    t.flowRun = event.flowRun;
    t.taskRun = event.taskRun;
    if (event.taskRun) {
        t.taskId = event.taskRun->taskId();
        t.mapIndex = event.taskRun->mapIndex;
    }
    t.isNew = event.isNew;
    t.from = event.from;
    t.type = event.type;
    t.name = event.name;
    t.message = event.message;
    transitions.push_back(std::move(t));
}

void RecordingObserver::onLog(const LogEvent& event)
{
    RecordedLog l;
    l.timeUs = event.timeUs;
    l.flowRun = event.flowRun;
    l.taskRun = event.taskRun;
    if (event.taskRun) {
        l.taskId = event.taskRun->taskId();
        l.mapIndex = event.taskRun->mapIndex;
    }
    l.level = event.level;
    l.message = event.message;
    logs.push_back(std::move(l));
}

void RecordingObserver::clear()
{
    transitions.clear();
    logs.clear();
}

bool RecordingObserver::matches(const RecordedTransition& t, const QString& taskId, int mapIndex) const
{
    if (taskId.isEmpty())
        return !t.taskId.isEmpty() && (mapIndex == AnyIndex || t.mapIndex == mapIndex);
    return t.taskId == taskId && (mapIndex == AnyIndex || t.mapIndex == mapIndex);
}

int RecordingObserver::first(const QString& taskId, int mapIndex, StateType type) const
{
    for (size_t i = 0; i < transitions.size(); ++i) {
        if (matches(transitions[i], taskId, mapIndex) && transitions[i].type == type)
            return int(i);
    }
    return -1;
}

int RecordingObserver::last(const QString& taskId, int mapIndex, StateType type) const
{
    for (size_t i = transitions.size(); i-- > 0;) {
        if (matches(transitions[i], taskId, mapIndex) && transitions[i].type == type)
            return int(i);
    }
    return -1;
}

int RecordingObserver::firstNamed(const QString& taskId, int mapIndex, StateName name) const
{
    for (size_t i = 0; i < transitions.size(); ++i) {
        if (matches(transitions[i], taskId, mapIndex) && transitions[i].name == name)
            return int(i);
    }
    return -1;
}

int RecordingObserver::firstOfFlow(StateType type, const FlowRun* flow) const
{
    for (size_t i = 0; i < transitions.size(); ++i) {
        const RecordedTransition& t = transitions[i];
        if (!t.taskRun && t.type == type && (!flow || t.flowRun == flow))
            return int(i);
    }
    return -1;
}

int RecordingObserver::count(const QString& taskId, int mapIndex, StateType type) const
{
    int n = 0;
    for (const RecordedTransition& t : transitions) {
        if (matches(t, taskId, mapIndex) && t.type == type)
            ++n;
    }
    return n;
}

QList<StateName> RecordingObserver::names(const QString& taskId, int mapIndex) const
{
    QList<StateName> out;
    for (const RecordedTransition& t : transitions) {
        if (t.taskId == taskId && t.mapIndex == mapIndex)
            out << t.name;
    }
    return out;
}

QStringList RecordingObserver::logLines(const QString& taskId, int mapIndex) const
{
    QStringList out;
    for (const RecordedLog& l : logs) {
        if (l.taskId == taskId && l.mapIndex == mapIndex)
            out << l.message;
    }
    return out;
}

QList<LogLevel> RecordingObserver::logLevels(const QString& taskId, int mapIndex) const
{
    QList<LogLevel> out;
    for (const RecordedLog& l : logs) {
        if (l.taskId == taskId && l.mapIndex == mapIndex)
            out << l.level;
    }
    return out;
}

QString describe(const QList<StateName>& names)
{
    QStringList parts;
    for (StateName n : names)
        parts << toString(n);
    return parts.join(QStringLiteral(" -> "));
}

namespace {

bool containsMapIndexToken(const QJsonValue& value)
{
    if (value.isString())
        return value.toString().contains(QStringLiteral("{{map_index}}"));
    if (value.isArray()) {
        const QJsonArray array = value.toArray();
        return std::any_of(array.begin(), array.end(),
                           [](const QJsonValue& v) { return containsMapIndexToken(v); });
    }
    if (value.isObject()) {
        const QJsonObject object = value.toObject();
        return std::any_of(object.begin(), object.end(),
                           [](const QJsonValue& v) { return containsMapIndexToken(v); });
    }
    return false;
}

} // namespace

TaskDef makeTask(const QString& id, const QString& kind, const QJsonObject& config,
                 const QStringList& dependsOn)
{
    TaskDef task;
    task.id = id;
    task.kind = kind;
    task.config = config;
    task.dependsOn = dependsOn;
    return task;
}

FlowDefinition makeFlow(const QString& name, QList<TaskDef> tasks, std::optional<quint64> seed)
{
    FlowDefinition flow;
    flow.name = name;
    flow.source = QStringLiteral("code:") + name;
    flow.seed = seed;
    for (int i = 0; i < tasks.size(); ++i) {
        tasks[i].index = i;
        tasks[i].usesMapIndex = containsMapIndexToken(tasks[i].config);
    }
    flow.tasks = std::move(tasks);
    return flow;
}

std::optional<FlowDefinition> parseFlow(const QByteArray& json, const QJsonObject& overrides)
{
    ValidationErrors errors;
    auto flow
        = FlowParser(TaskKindRegistry::instance()).parse(json, QStringLiteral("test"), errors, overrides);
    for (const ValidationError& e : errors)
        qWarning("flow error: %s", qPrintable(e.toString()));
    if (!errors.isEmpty())
        return std::nullopt;
    return flow;
}

bool waitForFlow(Engine& engine, FlowRun* run, int timeoutMs)
{
    if (run->isTerminal())
        return true;
    QEventLoop loop;
    QTimer watchdog;
    watchdog.setSingleShot(true);
    QObject::connect(&watchdog, &QTimer::timeout, &loop, &QEventLoop::quit);
    QObject::connect(&engine, &Engine::flowRunFinished, &loop, [&loop, run](FlowRun* finished) {
        if (finished == run)
            loop.quit();
    });
    watchdog.start(timeoutMs);
    if (!run->isTerminal())
        loop.exec();
    return run->isTerminal();
}

void cancelAndDrain(Engine& engine, int timeoutMs)
{
    for (const auto& flow : engine.flowRuns()) {
        if (!flow->isTerminal())
            engine.cancelFlowRun(flow.get(), QStringLiteral("test cleanup"));
    }
    QElapsedTimer timer;
    timer.start();
    // Drivers of finished flows may still be resuming (a blocking body returning); let them end.
    auto busy = [&engine] {
        if (engine.activeFlowRuns() > 0)
            return true;
        for (const auto& flow : engine.flowRuns()) {
            if (flow->activeDrivers > 0)
                return true;
        }
        return false;
    };
    while (busy() && timer.elapsed() < timeoutMs)
        QCoreApplication::processEvents(QEventLoop::AllEvents, 20);
    if (busy())
        qWarning("cancelAndDrain: flow runs still active after %d ms", timeoutMs);
}

void verifyFlowConsistent(const FlowRun* flow, const RecordingObserver& recorded)
{
    QVERIFY2(flow->isTerminal(), qPrintable(toString(flow->type)));
    QCOMPARE(flow->materializedTaskRuns, flow->totalTaskRuns);
    QCOMPARE(flow->finishedTaskRuns, flow->totalTaskRuns);
    QCOMPARE(flow->activeDrivers, 0);
    QVERIFY(!flow->history.empty());
    QCOMPARE(toString(flow->history.back().name), toString(flow->name));

    std::array<qint64, StateTypeCount> tally{};
    QHash<const TaskRun*, const RecordedTransition*> lastSeen;
    QHash<const TaskRun*, const RecordedTransition*> firstSeen;
    const RecordedTransition* lastOfFlow = nullptr;
    for (const RecordedTransition& t : recorded.transitions) {
        if (t.flowRun != flow)
            continue;
        if (!t.taskRun) {
            lastOfFlow = &t;
            continue;
        }
        if (!firstSeen.contains(t.taskRun))
            firstSeen.insert(t.taskRun, &t);
        lastSeen.insert(t.taskRun, &t);
    }
    QVERIFY(lastOfFlow);
    QCOMPARE(toString(lastOfFlow->type), toString(flow->type));
    qint64 runs = 0;
    for (const TaskNode& node : flow->nodes) {
        std::array<qint64, StateTypeCount> nodeTally{};
        for (int i = 0; i < node.materialized; ++i) {
            const TaskRun& run = node.runs[size_t(i)];
            const QString label = run.taskId() + u'[' + QString::number(run.mapIndex) + u']';
            ++runs;
            ++tally[size_t(run.type)];
            ++nodeTally[size_t(run.type)];
            QVERIFY2(run.isTerminal(), qPrintable(label + QStringLiteral(" ended ") + toString(run.type)));
            QVERIFY2(!run.history.empty() && run.history.front().name == StateName::Pending,
                     qPrintable(label));
            QCOMPARE(toString(run.history.back().name), toString(run.name));
            QCOMPARE(toString(typeOf(run.name)), toString(run.type));
            QVERIFY2(run.endedUs > 0, qPrintable(label));
            const RecordedTransition* first = firstSeen.value(&run);
            const RecordedTransition* last = lastSeen.value(&run);
            QVERIFY2(first && last, qPrintable(label + QStringLiteral(": no events")));
            QVERIFY2(first->isNew && first->name == StateName::Pending, qPrintable(label));
            QCOMPARE(toString(last->name), toString(run.name));
        }
        QVERIFY2(nodeTally == node.countByType,
                 qPrintable(node.def->id + QStringLiteral(": counts per state")));
    }
    QCOMPARE(runs, flow->totalTaskRuns);
    QCOMPARE(qint64(lastSeen.size()), flow->totalTaskRuns);
    for (int t = 0; t < StateTypeCount; ++t)
        QVERIFY2(flow->countByType[size_t(t)] == tally[size_t(t)],
                 qPrintable(QStringLiteral("countByType[%1] is %2, the runs say %3")
                                .arg(toString(StateType(t)))
                                .arg(flow->countByType[size_t(t)])
                                .arg(tally[size_t(t)])));
}

TaskRun* taskRun(FlowRun* flow, const QString& taskId, int index)
{
    const int n = flow->def.indexOf(taskId);
    if (n < 0)
        return nullptr;
    TaskNode& node = flow->nodes[size_t(n)];
    if (index < 0 || index >= node.materialized)
        return nullptr;
    return node.runs.find(size_t(index)); // null for a run freed with its block
}

TestHttpServer::TestHttpServer(QObject* parent)
    : QObject(parent)
    , m_server(new QTcpServer(this))
{
    connect(m_server, &QTcpServer::newConnection, this, [this] {
        while (QTcpSocket* socket = m_server->nextPendingConnection()) {
            socket->setParent(this);
            connect(socket, &QTcpSocket::readyRead, this, [this, socket] { onReadyRead(socket); });
            connect(socket, &QTcpSocket::disconnected, socket, &QObject::deleteLater);
        }
    });
}

TestHttpServer::~TestHttpServer() = default;

bool TestHttpServer::listen()
{
    return m_server->listen(QHostAddress::LocalHost, 0);
}

quint16 TestHttpServer::port() const
{
    return m_server->serverPort();
}

QUrl TestHttpServer::url(const QString& path, const QString& scheme) const
{
    QUrl u;
    u.setScheme(scheme);
    u.setHost(QStringLiteral("127.0.0.1"));
    u.setPort(port());
    u.setPath(path);
    return u;
}

void TestHttpServer::onReadyRead(QTcpSocket* socket)
{
    QByteArray buffer = socket->property("buffer").toByteArray() + socket->readAll();
    if (!buffer.isEmpty() && !(buffer.at(0) >= 'A' && buffer.at(0) <= 'Z')) {
        // Not HTTP (a TLS ClientHello starts with 0x16): answer in plain HTTP, as a plain server would.
        ++rejectedConnections;
        socket->write("HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
        socket->disconnectFromHost();
        return;
    }
    const qsizetype headerEnd = buffer.indexOf("\r\n\r\n");
    if (headerEnd < 0) {
        socket->setProperty("buffer", buffer);
        return;
    }
    Request request;
    const QList<QByteArray> lines = buffer.left(headerEnd).split('\n');
    const QList<QByteArray> requestLine = lines.value(0).trimmed().split(' ');
    request.method = requestLine.value(0);
    request.path = requestLine.value(1);
    for (qsizetype i = 1; i < lines.size(); ++i) {
        const QByteArray line = lines.at(i).trimmed();
        const qsizetype colon = line.indexOf(':');
        if (colon > 0)
            request.headers.insert(line.left(colon).trimmed().toLower(), line.mid(colon + 1).trimmed());
    }
    const qsizetype length = request.headers.value("content-length", "0").toLongLong();
    if (buffer.size() < headerEnd + 4 + length) {
        socket->setProperty("buffer", buffer);
        return;
    }
    request.body = buffer.mid(headerEnd + 4, length);
    socket->setProperty("buffer", QByteArray());
    requests.append(request);
    respond(socket, request);
}

void TestHttpServer::respond(QTcpSocket* socket, const Request& request)
{
    int status = 200;
    QByteArray reason = "OK";
    QByteArray body;
    QByteArray contentType = "text/plain";
    if (request.path == "/slow")
        return; // never answers; the connection stays open
    if (request.path == "/ok") {
        body = okBody();
    } else if (request.path == "/echo") {
        body = request.body;
    } else if (request.path == "/big") {
        body = QByteArray(BigBodySize, 'x');
    } else if (request.path == "/json") {
        body = jsonBody();
        contentType = "application/json";
    } else {
        status = 404;
        reason = "Not Found";
        body = "no such path";
    }
    QByteArray response = "HTTP/1.1 " + QByteArray::number(status) + ' ' + reason + "\r\n";
    response += "Content-Type: " + contentType + "\r\n";
    response += "Content-Length: " + QByteArray::number(body.size()) + "\r\n";
    response += "Connection: close\r\n\r\n";
    response += body;
    socket->write(response);
    socket->disconnectFromHost();
}

QList<QVariantList> query(const QString& urlText, const QString& sql, const QVariantList& binds)
{
    static std::atomic<int> counter{0};
    const QString name = QStringLiteral("test_query_%1").arg(counter++);
    QList<QVariantList> rows;
    {
        QString error;
        const auto url = DatabaseUrl::parse(urlText, &error);
        if (!url)
            qFatal("bad database URL %s: %s", qPrintable(urlText), qPrintable(error));
        QSqlDatabase db = url->addConnection(name);
        if (url->isSqlite())
            db.setConnectOptions(QStringLiteral("QSQLITE_BUSY_TIMEOUT=5000"));
        if (!db.open())
            qFatal("cannot open %s: %s", qPrintable(urlText), qPrintable(db.lastError().text()));
        QSqlQuery q(db);
        if (!q.prepare(sql))
            qFatal("%s: %s", qPrintable(sql), qPrintable(q.lastError().text()));
        for (const QVariant& v : binds)
            q.addBindValue(v);
        if (!q.exec())
            qFatal("%s: %s", qPrintable(sql), qPrintable(q.lastError().text()));
        while (q.isSelect() && q.next()) {
            QVariantList row;
            for (int i = 0; i < q.record().count(); ++i)
                row << q.value(i);
            rows << row;
        }
    }
    QSqlDatabase::removeDatabase(name);
    return rows;
}

Db::Db(const QString& urlText)
{
    static std::atomic<int> counter{0};
    m_name = QStringLiteral("test_db_%1").arg(counter++);
    QString error;
    const auto url = DatabaseUrl::parse(urlText, &error);
    if (!url) {
        qWarning() << "Db: bad URL" << urlText << error;
        return;
    }
    QSqlDatabase db = url->addConnection(m_name);
    m_ok = db.open();
    if (m_ok && url->isSqlite()) {
        QSqlQuery q(db);
        q.exec(QStringLiteral("PRAGMA busy_timeout = 10000"));
    }
}

Db::~Db()
{
    if (!m_name.isEmpty() && QSqlDatabase::contains(m_name)) {
        QSqlDatabase::database(m_name, false).close();
        QSqlDatabase::removeDatabase(m_name);
    }
}

QList<QVariantList> Db::rows(const QString& sql, const QVariantList& binds) const
{
    QSqlQuery q(QSqlDatabase::database(m_name));
    q.prepare(sql);
    for (const QVariant& b : binds)
        q.addBindValue(b);
    QList<QVariantList> out;
    if (!q.exec()) {
        qWarning() << sql << q.lastError().text();
        return out;
    }
    while (q.next()) {
        QVariantList row;
        for (int i = 0; i < q.record().count(); ++i)
            row << q.value(i);
        out << row;
    }
    return out;
}

void execOrThrow(QSqlDatabase& db, const QString& sql)
{
    QSqlQuery query(db);
    if (!query.exec(sql))
        throw DatabaseError(QString(sql + QStringLiteral(": ") + query.lastError().text()).toStdString());
}

qint64 scalar(QSqlDatabase& db, const QString& sql)
{
    QSqlQuery query(db);
    if (!query.exec(sql) || !query.next())
        throw DatabaseError(QString(sql + QStringLiteral(": ") + query.lastError().text()).toStdString());
    return query.value(0).toLongLong();
}

QString freshSqlitePath()
{
    static QTemporaryDir dir(QDir::tempPath() + QStringLiteral("/flowdeck-test-XXXXXX"));
    static QAtomicInt counter;
    return dir.filePath(QStringLiteral("db-%1.sqlite").arg(counter.fetchAndAddRelaxed(1)));
}

bool postgresConfigured()
{
    return !qEnvironmentVariableIsEmpty("FLOWDECK_TEST_PG");
}

bool runningInCi()
{
    const QString ci = qEnvironmentVariable("CI").toLower();
    return !ci.isEmpty() && ci != QLatin1String("false") && ci != QLatin1String("0");
}

namespace {

struct CreatedDatabases {
    QMutex mutex;
    DatabaseUrl server;
    QStringList names;
};

CreatedDatabases& createdDatabases()
{
    static CreatedDatabases created;
    return created;
}

//! Runs \a statements on a short-lived connection to \a url from this thread; returns an error text.
QString runAdminStatements(const DatabaseUrl& url, const QStringList& statements)
{
    static QAtomicInt counter;
    const QString name = QStringLiteral("flowdeck-test-admin-%1").arg(counter.fetchAndAddRelaxed(1));
    QString error;
    {
        QSqlDatabase db = url.addConnection(name);
        if (!db.open()) {
            error = QStringLiteral("cannot connect to %1: %2").arg(url.redacted(), db.lastError().text());
        } else {
            for (const QString& sql : statements) {
                QSqlQuery query(db);
                if (!query.exec(QStringLiteral("SET client_min_messages TO error")) || !query.exec(sql)) {
                    error = QStringLiteral("%1 on %2: %3").arg(sql, url.redacted(), query.lastError().text());
                    break;
                }
            }
            db.close();
        }
    }
    QSqlDatabase::removeDatabase(name);
    return error;
}

void dropCreatedDatabases()
{
    CreatedDatabases& created = createdDatabases();
    QMutexLocker lock(&created.mutex);
    QStringList statements;
    for (const QString& name : std::as_const(created.names))
        statements << QStringLiteral("DROP DATABASE IF EXISTS %1 WITH (FORCE)").arg(name);
    if (!statements.isEmpty()) {
        const QString error = runAdminStatements(created.server, statements);
        if (!error.isEmpty())
            qWarning("could not drop the test databases: %s", qPrintable(error));
    }
    created.names.clear();
}

QString urlText(const DatabaseUrl& url)
{
    QString text = QStringLiteral("postgresql://");
    if (!url.user.isEmpty()) {
        text += QString::fromUtf8(QUrl::toPercentEncoding(url.user));
        if (!url.password.isEmpty())
            text += u':' + QString::fromUtf8(QUrl::toPercentEncoding(url.password));
        text += u'@';
    }
    const QString host = url.host.contains(u':') ? u'[' + url.host + u']' : url.host;
    return text + host + u':' + QString::number(url.port) + u'/' + url.database;
}

} // namespace

QString freshPostgresDatabase(QString* error)
{
    auto setError = [error](const QString& text) {
        if (error)
            *error = text;
        return QString();
    };
    if (!postgresConfigured())
        return setError(QStringLiteral("FLOWDECK_TEST_PG is not set"));
    QString parseError;
    const auto server = DatabaseUrl::parse(qEnvironmentVariable("FLOWDECK_TEST_PG"), &parseError);
    if (!server || server->isSqlite())
        return setError(QStringLiteral("FLOWDECK_TEST_PG: ")
                        + (server ? QStringLiteral("not a postgresql:// URL") : parseError));
    const QString name = QStringLiteral("flowdeck_t_%1")
                             .arg(QRandomGenerator::global()->generate64(), 16, 16, QLatin1Char('0'));
    const QString failure = runAdminStatements(*server, {QStringLiteral("CREATE DATABASE %1").arg(name)});
    if (!failure.isEmpty())
        return setError(failure);
    {
        CreatedDatabases& created = createdDatabases();
        QMutexLocker lock(&created.mutex);
        if (created.names.isEmpty() && created.server.host.isEmpty())
            qAddPostRoutine(dropCreatedDatabases);
        created.server = *server;
        created.names << name;
    }
    DatabaseUrl fresh = *server;
    fresh.database = name;
    return urlText(fresh);
}

void addBackendRows()
{
    QTest::addColumn<QString>("backend");
    QTest::newRow("sqlite") << QStringLiteral("sqlite");
    QTest::newRow("postgres") << QStringLiteral("postgres");
}

QString freshDatabaseUrl(const QString& backend, QString* error)
{
    if (backend == QLatin1String("sqlite"))
        return freshSqlitePath();
    if (backend == QLatin1String("postgres"))
        return freshPostgresDatabase(error);
    if (error)
        *error = QStringLiteral("unknown backend \"%1\"").arg(backend);
    return {};
}

} // namespace flowdeck::test
