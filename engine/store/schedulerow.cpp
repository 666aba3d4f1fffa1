#include "store/schedulerow.h"

#include "schedule/schedulespec.h"

namespace flowdeck::schedules {

QString toString(Catchup catchup)
{
    switch (catchup) {
    case Catchup::None:
        return QStringLiteral("none");
    case Catchup::Latest:
        return QStringLiteral("latest");
    case Catchup::All:
        return QStringLiteral("all");
    }
    return {};
}

QString toString(OnLimit onLimit)
{
    return onLimit == OnLimit::Skip ? QStringLiteral("skip") : QStringLiteral("enqueue");
}

bool parseCatchup(const QString& text, Catchup* out)
{
    for (Catchup c : {Catchup::None, Catchup::Latest, Catchup::All}) {
        if (text == toString(c)) {
            *out = c;
            return true;
        }
    }
    return false;
}

bool parseOnLimit(const QString& text, OnLimit* out)
{
    for (OnLimit o : {OnLimit::Enqueue, OnLimit::Skip}) {
        if (text == toString(o)) {
            *out = o;
            return true;
        }
    }
    return false;
}

std::optional<ScheduleSpec> ScheduleDraft::spec(ScheduleExprError* error) const
{
    if (!cron.isEmpty())
        return ScheduleSpec::cron(cron, timezone, error);
    return ScheduleSpec::interval(intervalUs, anchorUs, timezone, error);
}

QString ScheduleRow::expressionText() const
{
    return draft.cron.isEmpty() ? QStringLiteral("every ") + ScheduleSpec::durationText(draft.intervalUs)
                                : draft.cron;
}

} // namespace flowdeck::schedules
