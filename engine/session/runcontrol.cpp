#include "session/runcontrol.h"

namespace flowdeck {

QString whyNotRetry(StateType state)
{
    switch (state) {
    case StateType::Failed:
    case StateType::Crashed:
    case StateType::Cancelled:
        return {};
    case StateType::Completed:
        return QStringLiteral("it is COMPLETED: only a FAILED, CRASHED or CANCELLED run can be retried "
                              "(use Run Again for a new run)");
    default:
        return QStringLiteral("it is still %1: only a FAILED, CRASHED or CANCELLED run can be retried")
            .arg(toString(state));
    }
}

QString whyNotPause(StateType state)
{
    switch (state) {
    case StateType::Scheduled:
    case StateType::Pending:
    case StateType::Running:
        return {};
    case StateType::Paused:
        return QStringLiteral("it is already PAUSED");
    case StateType::Cancelling:
        return QStringLiteral("it is being cancelled");
    default:
        return QStringLiteral("it has finished (%1): only an active run can be paused").arg(toString(state));
    }
}

QString whyNotResume(StateType state)
{
    if (state == StateType::Paused)
        return {};
    return QStringLiteral("it is %1: only a PAUSED run can be resumed").arg(toString(state));
}

} // namespace flowdeck

// Placeholder bodies until the engine side lands (replaced in the same series of commits).
namespace flowdeck {

RunControl::RunControl(Session& session, Engine& engine)
    : m_session(session)
    , m_engine(engine)
{
}

QCoro::Task<FlowRun*> RunControl::retry(QString, QString)
{
    throw RunControlError(QStringLiteral("retry is not available yet"));
    co_return nullptr;
}

QCoro::Task<QString> RunControl::queueRetry(QString, QString)
{
    throw RunControlError(QStringLiteral("retry is not available yet"));
    co_return QString();
}

QCoro::Task<RerunSource> RunControl::rerunSource(QString)
{
    throw RunControlError(QStringLiteral("run again is not available yet"));
    co_return RerunSource();
}

QCoro::Task<> RunControl::pause(QString, std::optional<double>, QString)
{
    throw RunControlError(QStringLiteral("pause is not available yet"));
    co_return;
}

QCoro::Task<FlowRun*> RunControl::resume(QString, QString)
{
    throw RunControlError(QStringLiteral("resume is not available yet"));
    co_return nullptr;
}

QCoro::Task<QString> RunControl::queueResume(QString, QString)
{
    throw RunControlError(QStringLiteral("resume is not available yet"));
    co_return QString();
}

} // namespace flowdeck
