#include "kinds/shellkind.h"

#include "flow/jsontext.h"
#include "flow/references.h"
#include "flow/taskkind.h"
#include "kinds/kindhelpers.h"
#include "run/taskcontext.h"

#include <QJsonArray>
#include <QProcess>
#include <QTimer>

#include <algorithm>
#include <chrono>

namespace flowdeck {

namespace {

using namespace detail;

//! Splits a byte stream into lines and logs each complete one. A line longer than MaxLine bytes
//! keeps its first MaxLine bytes; the rest is counted while reading and never buffered, so output
//! without newlines cannot grow memory.
class LineLogger {
public:
    static constexpr qsizetype MaxLine = 64 * 1024;

    LineLogger(const TaskContext& ctx, LogLevel level)
        : m_ctx(ctx)
        , m_level(level)
    {
    }
    void feed(const QByteArray& data)
    {
        qsizetype start = 0;
        while (start < data.size()) {
            const qsizetype nl = data.indexOf('\n', start);
            const qsizetype end = nl < 0 ? data.size() : nl;
            const qsizetype room = std::max<qsizetype>(0, MaxLine - m_pending.size());
            const qsizetype kept = std::min(room, end - start);
            m_pending.append(data.constData() + start, kept);
            m_dropped += end - start - kept;
            if (nl < 0)
                break;
            emitLine();
            start = nl + 1;
        }
    }
    void flush()
    {
        if (!m_pending.isEmpty() || m_dropped > 0)
            emitLine();
    }

private:
    void emitLine()
    {
        if (m_dropped == 0 && m_pending.endsWith('\r'))
            m_pending.chop(1);
        QString line = QString::fromUtf8(m_pending);
        if (m_dropped > 0)
            line += QStringLiteral(" \u2026 [%1 bytes dropped]").arg(m_dropped);
        m_ctx.log(m_level, line);
        m_pending.resize(0); // keeps the capacity for the next line
        m_dropped = 0;
    }
    const TaskContext& m_ctx;
    LogLevel m_level;
    QByteArray m_pending; //!< the current line, at most MaxLine bytes
    qint64 m_dropped = 0; //!< bytes of the current line beyond MaxLine
};

//! Whether a variable of Flowdeck's own process is withheld from shell tasks: its settings (with
//! FLOWDECK_DB's password) and PostgreSQL's password variable.
bool isWithheld(const QString& name)
{
    return name.startsWith(QLatin1String("FLOWDECK_")) || name == QLatin1String("PGPASSWORD");
}

//! Flowdeck's environment without the withheld variables (except those named in \a inherit), then
//! the task's own \a vars.
QProcessEnvironment taskEnvironment(const QJsonArray& inherit, const QJsonObject& vars)
{
    const QProcessEnvironment system = QProcessEnvironment::systemEnvironment();
    QProcessEnvironment env = system;
    const QStringList names = system.keys();
    for (const QString& name : names) {
        if (isWithheld(name) && !inherit.contains(QJsonValue(name)))
            env.remove(name);
    }
    for (auto it = vars.begin(); it != vars.end(); ++it)
        env.insert(it.key(), it.value().toString());
    return env;
}

const QStringList& resultModes()
{
    static const QStringList modes = {QStringLiteral("none"), QStringLiteral("stdout"),
                                      QStringLiteral("last_line"), QStringLiteral("json")};
    return modes;
}

//! The outcome of a command that exited with 0, its result taken from \a out as \a mode says.
TaskOutcome shellResult(const QString& mode, const QByteArray& out, qint64 limit)
{
    const QString ok = QStringLiteral("exit code 0");
    if (mode == u"none")
        return TaskOutcome::success({}, ok);
    if (out.size() > limit) {
        return TaskOutcome::failure(
            QStringLiteral("the result (stdout) is more than %1 bytes, the limit (max_result_bytes)")
                .arg(limit));
    }
    if (mode == u"stdout")
        return TaskOutcome::success(QString::fromUtf8(out), ok);
    if (mode == u"last_line") {
        QByteArray text = out;
        while (text.endsWith('\n') || text.endsWith('\r'))
            text.chop(1);
        const qsizetype nl = text.lastIndexOf('\n');
        QByteArray line = text.mid(nl + 1);
        if (line.endsWith('\r'))
            line.chop(1);
        return TaskOutcome::success(QString::fromUtf8(line), ok);
    }
    QString error;
    const std::optional<QJsonValue> value = parseJsonValue(out, &error);
    if (!value)
        return TaskOutcome::failure(QStringLiteral("stdout is not JSON (\"result\": \"json\"): ") + error);
    return TaskOutcome::success(*value, ok);
}

class ShellKind final : public TaskKind {
public:
    QString name() const override { return QStringLiteral("shell"); }
    QString summary() const override
    {
        return QStringLiteral("Runs a command (argv list); its output lines become the run's logs.");
    }
    QList<FieldSpec> fields() const override
    {
        return {field(u"command", FieldType::StringList, true),
                field(u"cwd", FieldType::String),
                field(u"env", FieldType::StringMap),
                field(u"inherit_env", FieldType::StringList, false, {}, {},
                      u"names of Flowdeck's own variables (FLOWDECK_*, PGPASSWORD) to pass on; "
                      u"by default a command gets Flowdeck's environment without them, plus env"),
                field(u"grace_s", FieldType::Number, false, 0.0, {},
                      u"seconds between SIGTERM and SIGKILL on cancel"),
                field(u"result", FieldType::String, false, {}, {},
                      u"what becomes the run's result: none (default), stdout, last_line (of stdout), "
                      u"json (stdout parsed as JSON)")};
    }
    void validate(const QJsonObject& config, const QString& path, ValidationErrors& errors) const override
    {
        const QJsonValue command = config.value(QStringLiteral("command"));
        if (command.isArray() && command.toArray().isEmpty())
            errors.append({path + QStringLiteral(".command"), QStringLiteral("the command list is empty")});
        const QJsonValue result = config.value(QStringLiteral("result"));
        if (result.isString() && !resultModes().contains(result.toString())) {
            errors.append({path + QStringLiteral(".result"),
                           QStringLiteral("unknown result %1 (one of: %2)")
                               .arg(quoted(result.toString()), resultModes().join(QStringLiteral(", ")))});
        }
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
        process.setProcessEnvironment(taskEnvironment(cfg.value(QStringLiteral("inherit_env")).toArray(),
                                                      cfg.value(QStringLiteral("env")).toObject()));
        const QString mode = cfg.value(QStringLiteral("result")).toString(QStringLiteral("none"));
        // Kept for the result up to one byte past the limit: enough to tell that it is too large.
        const qint64 keep = mode == u"none" ? 0 : ctx.maxResultBytes() + 1;
        QByteArray stdoutText;
        LineLogger out(ctx, LogLevel::Info);
        LineLogger err(ctx, LogLevel::Warning);
        bool failedToStart = false;
        QTimer killTimer;
        killTimer.setSingleShot(true);
        QObject::connect(&killTimer, &QTimer::timeout, &process, [&process] { process.kill(); });
        const auto readOut = [&] {
            const QByteArray data = process.readAllStandardOutput();
            if (stdoutText.size() < keep)
                stdoutText.append(data.left(keep - stdoutText.size()));
            out.feed(data);
        };
        QObject::connect(&process, &QProcess::readyReadStandardOutput, readOut);
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
        readOut();
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
        co_return shellResult(mode, stdoutText, ctx.maxResultBytes());
    }
};

} // namespace

std::unique_ptr<TaskKind> makeShellKind()
{
    return std::make_unique<ShellKind>();
}

} // namespace flowdeck
