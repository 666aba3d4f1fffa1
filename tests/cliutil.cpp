#include "cliutil.h"

#include "testutil.h"

#include <QProcessEnvironment>

#include <memory>

namespace flowdeck::test {

QProcess* startCli(const QStringList& args, QObject* parent)
{
    auto* process = new QProcess(parent);
    process->setProgram(flowdeckBinary());
    process->setArguments(args);
    QProcessEnvironment env = QProcessEnvironment::systemEnvironment();
    env.remove(QStringLiteral("FLOWDECK_DB"));
    process->setProcessEnvironment(env);
    process->start();
    return process;
}

CliResult finish(QProcess& process, int timeoutMs)
{
    CliResult result;
    if (!process.waitForFinished(timeoutMs)) {
        process.kill();
        process.waitForFinished(5000);
        result.err = QStringLiteral("timed out after %1 ms; ").arg(timeoutMs);
    } else if (process.exitStatus() == QProcess::NormalExit) {
        result.exitCode = process.exitCode();
    }
    result.out = QString::fromUtf8(process.readAllStandardOutput());
    result.err += QString::fromUtf8(process.readAllStandardError());
    return result;
}

CliResult runCli(const QStringList& args, int timeoutMs)
{
    std::unique_ptr<QProcess> process(startCli(args));
    return finish(*process, timeoutMs);
}

QString describe(const QStringList& args, const CliResult& r)
{
    return QStringLiteral("flowdeck %1 -> exit %2\nstdout: %3\nstderr: %4")
        .arg(args.join(u' '))
        .arg(r.exitCode)
        .arg(r.out.left(2000), r.err.left(2000));
}

} // namespace flowdeck::test
