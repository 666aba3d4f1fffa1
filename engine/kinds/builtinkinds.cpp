#include "flow/flowrandom.h"
#include "flow/taskkind.h"
#include "run/flowrun.h"
#include "run/taskcontext.h"

#include <QJsonArray>
#include <QJsonDocument>
#include <QNetworkAccessManager>
#include <QNetworkReply>
#include <QProcess>
#include <QThread>
#include <QTimer>

#include <chrono>
#include <cmath>
#include <thread>

namespace flowdeck {

namespace {

using namespace std::chrono_literals;

// Longest a built-in blocking body goes without looking at its cancellation token.
constexpr auto TokenPollInterval = 20ms;

FieldSpec field(const char16_t* name, FieldType type, bool required = false, std::optional<double> min = {},
                std::optional<double> max = {}, const char16_t* help = u"")
{
    return FieldSpec{QString::fromUtf16(name), type, required, min, max, QString::fromUtf16(help)};
}

QString secondsText(double s)
{
    return QString::number(s, 'g', 6);
}

//! seconds: a number, or [min, max] drawn uniformly (reproducibly) per task run.
double drawSeconds(const TaskContext& ctx, const QJsonValue& value)
{
    if (value.isArray()) {
        const QJsonArray range = value.toArray();
        const double lo = range.at(0).toDouble();
        const double hi = range.at(1).toDouble();
        return lo + (hi - lo) * ctx.random(salt::Duration);
    }
    return value.toDouble();
}

//! Runs on the blocking pool (through TaskContext::runBlocking), never on the event loop.
void blockingSleep(double seconds, const CancelToken& token)
{
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
    while (!token.isCancelled()) {
        const auto left = std::chrono::duration_cast<std::chrono::nanoseconds>(
            deadline - std::chrono::steady_clock::now());
        if (left <= 0ns)
            return;
        std::this_thread::sleep_for(std::min<std::chrono::nanoseconds>(left, TokenPollInterval));
    }
}

void burnCpu(double milliseconds, const CancelToken& token)
{
    const auto deadline
        = std::chrono::steady_clock::now() + std::chrono::duration<double, std::milli>(milliseconds);
    volatile double sink = 0;
    while (!token.isCancelled() && std::chrono::steady_clock::now() < deadline) {
        for (int i = 0; i < 20000; ++i)
            sink = sink + std::sqrt(double(i));
    }
}

class NoopKind final : public TaskKind {
public:
    QString name() const override { return QStringLiteral("noop"); }
    QString summary() const override
    {
        return QStringLiteral("Does nothing; for placeholders and benchmarks.");
    }
    QList<FieldSpec> fields() const override { return {}; }
    QCoro::Task<TaskOutcome> run(TaskContext&) const override { co_return TaskOutcome::success(); }
};

class SleepKind final : public TaskKind {
public:
    QString name() const override { return QStringLiteral("sleep"); }
    QString summary() const override
    {
        return QStringLiteral("Waits on a timer without blocking the event loop (seconds, or [min, max]).");
    }
    QList<FieldSpec> fields() const override
    {
        return {field(u"seconds", FieldType::NumberOrRange, true, 0.0, {},
                      u"seconds, or [min, max] drawn at random")};
    }
    QCoro::Task<TaskOutcome> run(TaskContext& ctx) const override
    {
        const double seconds = drawSeconds(ctx, ctx.config().value(QStringLiteral("seconds")));
        co_await ctx.sleep(seconds);
        co_return TaskOutcome::success(
            {}, QStringLiteral("slept ") + secondsText(seconds) + QStringLiteral(" s"));
    }
};

class BlockingKind final : public TaskKind {
public:
    QString name() const override { return QStringLiteral("blocking"); }
    QString summary() const override
    {
        return QStringLiteral("Blocking sleep or CPU work on the blocking thread pool; the loop stays free.");
    }
    QList<FieldSpec> fields() const override
    {
        return {field(u"seconds", FieldType::Number, false, 0.0),
                field(u"cpu_ms", FieldType::Number, false, 0.0),
                field(u"chance", FieldType::Number, false, 0.0, 1.0,
                      u"probability that the blocking part happens")};
    }
    void validate(const QJsonObject& config, const QString& path, ValidationErrors& errors) const override
    {
        const bool seconds = config.contains(QStringLiteral("seconds"));
        const bool cpu = config.contains(QStringLiteral("cpu_ms"));
        if (seconds == cpu) {
            errors.append({path,
                           seconds ? QStringLiteral(
                               "kind \"blocking\" takes either \"seconds\" or \"cpu_ms\", not both")
                                   : QStringLiteral("kind \"blocking\" needs \"seconds\" or \"cpu_ms\"")});
        }
    }
    QCoro::Task<TaskOutcome> run(TaskContext& ctx) const override
    {
        const QJsonObject& cfg = ctx.config();
        const double p = cfg.value(QStringLiteral("chance")).toDouble(1.0);
        if (!ctx.chance(p, salt::Chance))
            co_return TaskOutcome::success({},
                                           QStringLiteral("skipped the blocking part (chance %1)").arg(p));
        if (cfg.contains(QStringLiteral("seconds"))) {
            const double seconds = cfg.value(QStringLiteral("seconds")).toDouble();
            co_await ctx.runBlocking([seconds](const CancelToken& token) { blockingSleep(seconds, token); });
            co_return TaskOutcome::success(
                {}, QStringLiteral("blocked a worker thread %1 s").arg(secondsText(seconds)));
        }
        const double ms = cfg.value(QStringLiteral("cpu_ms")).toDouble();
        co_await ctx.runBlocking([ms](const CancelToken& token) { burnCpu(ms, token); });
        co_return TaskOutcome::success({}, QStringLiteral("worked %1 ms of CPU on a worker thread").arg(ms));
    }
};

class LoopBlockKind final : public TaskKind {
public:
    QString name() const override { return QStringLiteral("loop_block"); }
    QString summary() const override
    {
        return QStringLiteral(
            "ANTI-PATTERN on purpose: blocks the event loop itself (the seed's time.sleep in "
            "async code), to demonstrate the loop monitor.");
    }
    QList<FieldSpec> fields() const override
    {
        return {field(u"seconds", FieldType::Number, true, 0.0),
                field(u"chance", FieldType::Number, false, 0.0, 1.0,
                      u"probability that the blocking part happens")};
    }
    bool blocksEventLoop() const override { return true; }
    QCoro::Task<TaskOutcome> run(TaskContext& ctx) const override
    {
        const QJsonObject& cfg = ctx.config();
        const double p = cfg.value(QStringLiteral("chance")).toDouble(1.0);
        if (!ctx.chance(p, salt::Chance))
            co_return TaskOutcome::success({},
                                           QStringLiteral("skipped the blocking part (chance %1)").arg(p));
        const double seconds = cfg.value(QStringLiteral("seconds")).toDouble();
        // Deliberately blocks the thread of the event loop: this kind exists to show what that does.
        QThread::usleep(static_cast<unsigned long>(seconds * 1e6));
        co_return TaskOutcome::success(
            {}, QStringLiteral("blocked the event loop %1 s").arg(secondsText(seconds)));
    }
};

class FailKind final : public TaskKind {
public:
    QString name() const override { return QStringLiteral("fail"); }
    QString summary() const override { return QStringLiteral("Fails with a message."); }
    QList<FieldSpec> fields() const override { return {field(u"message", FieldType::String)}; }
    QCoro::Task<TaskOutcome> run(TaskContext& ctx) const override
    {
        co_return TaskOutcome::failure(
            ctx.config().value(QStringLiteral("message")).toString(QStringLiteral("failed on purpose")));
    }
};

//! Splits a byte stream into lines and logs each complete one.
class LineLogger {
public:
    LineLogger(const TaskContext& ctx, LogLevel level)
        : m_ctx(ctx)
        , m_level(level)
    {
    }
    void feed(const QByteArray& data)
    {
        m_pending += data;
        qsizetype start = 0;
        for (qsizetype nl = m_pending.indexOf('\n'); nl >= 0; nl = m_pending.indexOf('\n', start)) {
            emitLine(m_pending.mid(start, nl - start));
            start = nl + 1;
        }
        m_pending.remove(0, start);
    }
    void flush()
    {
        if (!m_pending.isEmpty())
            emitLine(m_pending);
        m_pending.clear();
    }

private:
    void emitLine(QByteArray line)
    {
        if (line.endsWith('\r'))
            line.chop(1);
        m_ctx.log(m_level, QString::fromUtf8(line));
    }
    const TaskContext& m_ctx;
    LogLevel m_level;
    QByteArray m_pending;
};

class ShellKind final : public TaskKind {
public:
    QString name() const override { return QStringLiteral("shell"); }
    QString summary() const override
    {
        return QStringLiteral("Runs a command (argv list); its output lines become the run's logs.");
    }
    QList<FieldSpec> fields() const override
    {
        return {field(u"command", FieldType::StringList, true), field(u"cwd", FieldType::String),
                field(u"env", FieldType::StringMap),
                field(u"grace_s", FieldType::Number, false, 0.0, {},
                      u"seconds between SIGTERM and SIGKILL on cancel")};
    }
    void validate(const QJsonObject& config, const QString& path, ValidationErrors& errors) const override
    {
        const QJsonValue command = config.value(QStringLiteral("command"));
        if (command.isArray() && command.toArray().isEmpty())
            errors.append({path + QStringLiteral(".command"), QStringLiteral("the command list is empty")});
    }
    QCoro::Task<TaskOutcome> run(TaskContext& ctx) const override
    {
        const QJsonObject& cfg = ctx.config();
        QStringList argv;
        for (const QJsonValue& v : cfg.value(QStringLiteral("command")).toArray())
            argv << v.toString();
        const double grace = cfg.value(QStringLiteral("grace_s")).toDouble(5.0);

        QProcess process;
        process.setProgram(argv.first());
        process.setArguments(argv.mid(1));
        if (cfg.contains(QStringLiteral("cwd")))
            process.setWorkingDirectory(cfg.value(QStringLiteral("cwd")).toString());
        if (cfg.contains(QStringLiteral("env"))) {
            QProcessEnvironment env = QProcessEnvironment::systemEnvironment();
            const QJsonObject vars = cfg.value(QStringLiteral("env")).toObject();
            for (auto it = vars.begin(); it != vars.end(); ++it)
                env.insert(it.key(), it.value().toString());
            process.setProcessEnvironment(env);
        }
        LineLogger out(ctx, LogLevel::Info);
        LineLogger err(ctx, LogLevel::Warning);
        bool failedToStart = false;
        QTimer killTimer;
        killTimer.setSingleShot(true);
        QObject::connect(&killTimer, &QTimer::timeout, &process, [&process] { process.kill(); });
        QObject::connect(&process, &QProcess::readyReadStandardOutput,
                         [&] { out.feed(process.readAllStandardOutput()); });
        QObject::connect(&process, &QProcess::readyReadStandardError,
                         [&] { err.feed(process.readAllStandardError()); });
        QObject::connect(&process, &QProcess::finished, [&ctx] { ctx.wake(); });
        QObject::connect(&process, &QProcess::errorOccurred, [&](QProcess::ProcessError error) {
            if (error == QProcess::FailedToStart) {
                failedToStart = true;
                ctx.wake();
            }
        });
        ctx.setInterruptHandler([&] {
            if (process.state() == QProcess::NotRunning)
                return;
            ctx.log(LogLevel::Info, QStringLiteral("sending SIGTERM to pid %1").arg(process.processId()));
            process.terminate();
            killTimer.start(std::chrono::milliseconds(qint64(grace * 1000)));
        });
        process.start();
        co_await ctx.waitForWake();
        ctx.clearInterruptHandler();
        killTimer.stop();
        out.feed(process.readAllStandardOutput());
        err.feed(process.readAllStandardError());
        out.flush();
        err.flush();
        ctx.throwIfInterrupted();
        if (failedToStart) {
            co_return TaskOutcome::failure(
                QStringLiteral("cannot start \"%1\": %2").arg(argv.first(), process.errorString()));
        }
        if (process.exitStatus() == QProcess::CrashExit)
            co_return TaskOutcome::failure(QStringLiteral("\"%1\" was killed by a signal").arg(argv.first()));
        if (process.exitCode() != 0)
            co_return TaskOutcome::failure(
                QStringLiteral("\"%1\" exited with exit code %2").arg(argv.first()).arg(process.exitCode()));
        co_return TaskOutcome::success(0, QStringLiteral("exit code 0"));
    }
};

class HttpKind final : public TaskKind {
public:
    static constexpr qint64 DefaultBodyLimit = 64 * 1024;

    QString name() const override { return QStringLiteral("http"); }
    QString summary() const override
    {
        return QStringLiteral("HTTP request; fails on network or TLS errors or an unexpected status.");
    }
    QList<FieldSpec> fields() const override
    {
        return {field(u"url", FieldType::String, true),
                field(u"method", FieldType::String),
                field(u"headers", FieldType::StringMap),
                field(u"body", FieldType::StringOrObject),
                field(u"expect_status", FieldType::IntegerOrList, false, 100, 599, u"default: any 2xx"),
                field(u"max_body_bytes", FieldType::Integer, false, 0.0, {},
                      u"bytes of the response kept as result")};
    }
    void validate(const QJsonObject& config, const QString& path, ValidationErrors& errors) const override
    {
        const QJsonValue url = config.value(QStringLiteral("url"));
        if (url.isString() && !url.toString().contains(QStringLiteral("{{"))) {
            const QUrl parsed(url.toString(), QUrl::StrictMode);
            if (!parsed.isValid() || (parsed.scheme() != u"http" && parsed.scheme() != u"https"))
                errors.append({path + QStringLiteral(".url"),
                               QStringLiteral("not an http(s) URL: \"%1\"").arg(url.toString())});
        }
    }
    QCoro::Task<TaskOutcome> run(TaskContext& ctx) const override
    {
        const QJsonObject& cfg = ctx.config();
        const QUrl url(cfg.value(QStringLiteral("url")).toString());
        const QByteArray method
            = cfg.value(QStringLiteral("method")).toString(QStringLiteral("GET")).toUpper().toUtf8();
        const qint64 limit = cfg.value(QStringLiteral("max_body_bytes")).toInteger(DefaultBodyLimit);
        QNetworkRequest request(url);
        const QJsonObject headers = cfg.value(QStringLiteral("headers")).toObject();
        for (auto it = headers.begin(); it != headers.end(); ++it)
            request.setRawHeader(it.key().toUtf8(), it.value().toString().toUtf8());
        QByteArray body;
        const QJsonValue bodyValue = cfg.value(QStringLiteral("body"));
        if (bodyValue.isObject()) {
            body = QJsonDocument(bodyValue.toObject()).toJson(QJsonDocument::Compact);
            if (!request.hasRawHeader("Content-Type"))
                request.setHeader(QNetworkRequest::ContentTypeHeader, QStringLiteral("application/json"));
        } else if (bodyValue.isString()) {
            body = bodyValue.toString().toUtf8();
        }

        QNetworkReply* reply = ctx.network().sendCustomRequest(request, method, body);
        QByteArray data;
        bool truncated = false;
        auto read = [&] {
            if (!reply->isOpen())
                return; // aborted on cancel or timeout: reading would only warn
            const QByteArray chunk = reply->readAll();
            const qint64 room = limit - data.size();
            if (chunk.size() > room)
                truncated = true;
            data.append(chunk.left(std::max<qint64>(0, room)));
        };
        QObject::connect(reply, &QNetworkReply::readyRead, read);
        QObject::connect(reply, &QNetworkReply::finished, [&ctx] { ctx.wake(); });
        ctx.setInterruptHandler([reply] { reply->abort(); });
        co_await ctx.waitForWake();
        ctx.clearInterruptHandler();
        read();
        const QVariant status = reply->attribute(QNetworkRequest::HttpStatusCodeAttribute);
        const auto error = reply->error();
        const QString errorText = reply->errorString();
        reply->disconnect();
        reply->deleteLater();
        ctx.throwIfInterrupted();

        const QString what = QString::fromUtf8(method) + u' ' + url.toDisplayString();
        if (!status.isValid())
            co_return TaskOutcome::failure(QStringLiteral("%1 failed: %2").arg(what, errorText));
        Q_UNUSED(error)
        const int code = status.toInt();
        bool expected = false;
        QString expectedText = QStringLiteral("2xx");
        const QJsonValue expect = cfg.value(QStringLiteral("expect_status"));
        if (expect.isArray()) {
            QStringList codes;
            for (const QJsonValue& v : expect.toArray()) {
                codes << QString::number(v.toInt());
                expected = expected || v.toInt() == code;
            }
            expectedText = codes.join(QStringLiteral(" or "));
        } else if (expect.isDouble()) {
            expected = expect.toInt() == code;
            expectedText = QString::number(expect.toInt());
        } else {
            expected = code >= 200 && code < 300;
        }
        ctx.log(LogLevel::Info,
                QStringLiteral("%1 -> %2 (%3 bytes%4)")
                    .arg(what)
                    .arg(code)
                    .arg(data.size())
                    .arg(truncated ? QStringLiteral(", truncated") : QString()));
        if (!expected)
            co_return TaskOutcome::failure(
                QStringLiteral("%1 returned status %2, expected %3").arg(what).arg(code).arg(expectedText));
        co_return TaskOutcome::success(QString::fromUtf8(data), QStringLiteral("status %1").arg(code));
    }
};

} // namespace

void registerBuiltinKinds(TaskKindRegistry& registry)
{
    registry.add(std::make_unique<NoopKind>());
    registry.add(std::make_unique<SleepKind>());
    registry.add(std::make_unique<BlockingKind>());
    registry.add(std::make_unique<LoopBlockKind>());
    registry.add(std::make_unique<ShellKind>());
    registry.add(std::make_unique<HttpKind>());
    registry.add(std::make_unique<FailKind>());
}

} // namespace flowdeck
