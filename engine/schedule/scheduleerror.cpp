#include "schedule/scheduleerror.h"

namespace flowdeck {

QString ScheduleExprError::message() const
{
    QString text = QStringLiteral("%1 field: \"%2\" %3").arg(field, value, reason);
    if (position >= 0)
        text += QStringLiteral(" (at character %1)").arg(position + 1);
    return text;
}

} // namespace flowdeck
