#pragma once

#include "session/session.h"

#include <QByteArray>
#include <QCoreApplication>
#include <QCoro/QCoroTask>
#include <QElapsedTimer>
#include <QString>
#include <QStringList>
#include <QTemporaryDir>

namespace flowdeck::test {

//! Runs a command (mount, pg_ctl) and says whether it exited 0; \a output receives what it printed.
bool runTool(const QString& program, const QStringList& args, QString* output = nullptr);

//! A tmpfs of \a size mounted on a new folder, unmounted when destroyed: a real full or read-only
//! file system. Needs root (CAP_SYS_ADMIN); ok() false otherwise, with why().
class TmpfsMount {
public:
    explicit TmpfsMount(const QString& size);
    ~TmpfsMount();
    TmpfsMount(const TmpfsMount&) = delete;
    TmpfsMount& operator=(const TmpfsMount&) = delete;

    bool ok() const { return m_ok; }
    QString why() const { return QStringLiteral("mounting a tmpfs failed (needs root): ") + m_why; }
    QString path(const QString& name) const { return m_dir.filePath(name); }
    bool remountReadOnly();
    //! Room again: the same file system, larger.
    bool grow(const QString& size);

private:
    QTemporaryDir m_dir;
    bool m_ok = false;
    QString m_why;
};

//! A few hundred task runs, then a shell task that logs until the disk is full.
extern const QByteArray FillingFlow;

//! The message of the SessionError \a task ends with, or an empty string when it succeeds.
//! (QCoro::waitFor never returns for a task that throws.)
template<typename T>
QString sessionErrorOf(QCoro::Task<T>& task, int timeoutMs = 30000)
{
    QString error;
    bool done = false;
    auto catching = [&]() -> QCoro::Task<> {
        try {
            co_await task;
        } catch (const SessionError& e) {
            error = e.message();
        }
        done = true;
    };
    auto waiting = catching();
    QElapsedTimer timer;
    timer.start();
    while (!done && timer.elapsed() < timeoutMs)
        QCoreApplication::processEvents(QEventLoop::AllEvents | QEventLoop::WaitForMoreEvents, 20);
    if (!done)
        qFatal("a session coroutine did not finish within %d ms", timeoutMs);
    return error;
}

} // namespace flowdeck::test
