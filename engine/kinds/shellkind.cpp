#include "kinds/shellkind.h"

#include "flow/taskkind.h"
#include "kinds/kindhelpers.h"
#include "run/taskcontext.h"

#include <QJsonArray>
#include <QProcess>
#include <QTimer>

#include <chrono>

namespace flowdeck {

namespace {

using namespace detail;

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

} // namespace

std::unique_ptr<TaskKind> makeShellKind()
{
    return std::make_unique<ShellKind>();
}

} // namespace flowdeck
