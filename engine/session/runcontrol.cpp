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
