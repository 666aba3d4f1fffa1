#include "run/states.h"

#include "run/observer.h"

#include <QHash>

#include <array>

namespace flowdeck {

namespace {

struct NameInfo {
    const char16_t* text;
    StateType type;
};

constexpr std::array<NameInfo, StateNameCount> kNames = {{
    {u"Scheduled", StateType::Scheduled},
    {u"Late", StateType::Scheduled},
    {u"AwaitingRetry", StateType::Scheduled},
    {u"AwaitingConcurrencySlot", StateType::Scheduled},
    {u"Pending", StateType::Pending},
    {u"Running", StateType::Running},
    {u"Retrying", StateType::Running},
    {u"Paused", StateType::Paused},
    {u"Suspended", StateType::Paused},
    {u"Cancelling", StateType::Cancelling},
    {u"Cancelled", StateType::Cancelled},
    {u"Completed", StateType::Completed},
    {u"Cached", StateType::Completed},
    {u"Failed", StateType::Failed},
    {u"TimedOut", StateType::Failed},
    {u"UpstreamFailed", StateType::Failed},
    {u"Crashed", StateType::Crashed},
    {u"AwaitingApproval", StateType::Paused},
}};

constexpr std::array<const char16_t*, StateTypeCount> kTypes = {
    u"SCHEDULED", u"PENDING", u"RUNNING", u"COMPLETED",  u"FAILED",
    u"CANCELLED", u"CRASHED", u"PAUSED",  u"CANCELLING",
};

constexpr int idx(StateType t)
{
    return static_cast<int>(t);
}

// kAllowed[from][to]. Terminal states allow nothing; CANCELLING only ends CANCELLED (Prefect's rule);
// a transition to the same type is a duplicate and is refused.
constexpr auto makeTable()
{
    std::array<std::array<bool, StateTypeCount>, StateTypeCount> t{};
    using S = StateType;
    auto allow = [&t](S from, std::initializer_list<S> to) {
        for (S s : to)
            t[idx(from)][idx(s)] = true;
    };
    allow(S::Scheduled,
          {S::Pending, S::Running, S::Paused, S::Cancelling, S::Cancelled, S::Crashed, S::Failed});
    allow(S::Pending,
          {S::Scheduled, S::Running, S::Paused, S::Cancelling, S::Cancelled, S::Crashed, S::Failed});
    allow(S::Running,
          {S::Scheduled, S::Completed, S::Failed, S::Cancelling, S::Cancelled, S::Crashed, S::Paused});
    allow(S::Paused, {S::Scheduled, S::Pending, S::Running, S::Cancelling, S::Cancelled, S::Crashed});
    allow(S::Cancelling, {S::Cancelled});
    return t;
}
constexpr auto kAllowed = makeTable();

} // namespace

StateType typeOf(StateName name)
{
    return kNames[static_cast<int>(name)].type;
}

StateName defaultName(StateType type)
{
    switch (type) {
    case StateType::Scheduled:
        return StateName::Scheduled;
    case StateType::Pending:
        return StateName::Pending;
    case StateType::Running:
        return StateName::Running;
    case StateType::Completed:
        return StateName::Completed;
    case StateType::Failed:
        return StateName::Failed;
    case StateType::Cancelled:
        return StateName::Cancelled;
    case StateType::Crashed:
        return StateName::Crashed;
    case StateType::Paused:
        return StateName::Paused;
    case StateType::Cancelling:
        return StateName::Cancelling;
    }
    return StateName::Pending;
}

QString toString(StateType type)
{
    return QString::fromUtf16(kTypes[idx(type)]);
}

QString toString(StateName name)
{
    return QString::fromUtf16(kNames[static_cast<int>(name)].text);
}

bool parseStateType(const QString& text, StateType* out)
{
    for (int i = 0; i < StateTypeCount; ++i) {
        if (text.compare(QString::fromUtf16(kTypes[i]), Qt::CaseInsensitive) == 0) {
            *out = static_cast<StateType>(i);
            return true;
        }
    }
    return false;
}

bool isTerminal(StateType type)
{
    return type == StateType::Completed || type == StateType::Failed || type == StateType::Cancelled
        || type == StateType::Crashed;
}

bool isTransitionAllowed(StateType from, StateType to)
{
    return kAllowed[idx(from)][idx(to)];
}

bool isRenameAllowed(StateName from, StateName to)
{
    return from == StateName::AwaitingRetry && to == StateName::AwaitingConcurrencySlot;
}

bool isNamedTransitionAllowed(StateName from, StateName to)
{
    return isRenameAllowed(from, to) || (from == StateName::Pending && to == StateName::Cached);
}

QString transitionError(StateType from, StateType to)
{
    if (isTransitionAllowed(from, to))
        return {};
    if (from == to)
        return QStringLiteral("duplicate transition to %1").arg(toString(to));
    if (isTerminal(from))
        return QStringLiteral("%1 is terminal; cannot move to %2").arg(toString(from), toString(to));
    if (from == StateType::Cancelling)
        return QStringLiteral("a CANCELLING run can only become CANCELLED, not %1").arg(toString(to));
    return QStringLiteral("transition %1 -> %2 is not allowed").arg(toString(from), toString(to));
}

StateName parseStateName(const QString& text, StateType type)
{
    // Built once, read-only afterwards; comparing against every name would allocate a string each.
    static const QHash<QString, StateName> names = [] {
        QHash<QString, StateName> h;
        for (int i = 0; i < StateNameCount; ++i)
            h.insert(toString(StateName(i)), StateName(i));
        return h;
    }();
    return names.value(text, defaultName(type));
}

bool parseLogLevel(const QString& text, LogLevel* out)
{
    for (LogLevel level : {LogLevel::Debug, LogLevel::Info, LogLevel::Warning, LogLevel::Error}) {
        if (toString(level).compare(text, Qt::CaseInsensitive) == 0) {
            *out = level;
            return true;
        }
    }
    return false;
}

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
