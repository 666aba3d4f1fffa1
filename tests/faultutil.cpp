#include "faultutil.h"

#include <QProcess>

namespace flowdeck::test {

bool runTool(const QString& program, const QStringList& args, QString* output)
{
    QProcess p;
    p.setProcessChannelMode(QProcess::MergedChannels);
    p.start(program, args);
    const bool ok = p.waitForFinished(60000) && p.exitStatus() == QProcess::NormalExit && p.exitCode() == 0;
    if (output)
        *output = QString::fromLocal8Bit(p.readAll()).trimmed();
    return ok;
}

TmpfsMount::TmpfsMount(const QString& size)
{
    m_ok = m_dir.isValid()
        && runTool(QStringLiteral("mount"),
                   {QStringLiteral("-t"), QStringLiteral("tmpfs"), QStringLiteral("-o"),
                    QStringLiteral("size=") + size + QStringLiteral(",mode=0700"), QStringLiteral("tmpfs"),
                    m_dir.path()},
                   &m_why);
}

TmpfsMount::~TmpfsMount()
{
    if (m_ok)
        runTool(QStringLiteral("umount"), {QStringLiteral("-l"), m_dir.path()});
}

bool TmpfsMount::remountReadOnly()
{
    return runTool(QStringLiteral("mount"),
                   {QStringLiteral("-o"), QStringLiteral("remount,ro"), m_dir.path()}, &m_why);
}

bool TmpfsMount::grow(const QString& size)
{
    return runTool(QStringLiteral("mount"),
                   {QStringLiteral("-o"), QStringLiteral("remount,size=") + size, m_dir.path()}, &m_why);
}

// A few hundred committed task runs, then a shell task that logs until the disk is full.
const QByteArray FillingFlow = R"({"name": "filling", "tasks": [
    {"id": "a", "kind": "noop", "map": 300},
    {"id": "b", "kind": "shell", "depends_on": ["a"], "command": ["sh", "-c",
     "i=0; while [ $i -lt 2000000 ]; do echo line $i xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx; i=$((i+1)); done"]}]})";

} // namespace flowdeck::test
