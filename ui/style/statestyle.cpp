#include "style/statestyle.h"

#include <QCoreApplication>
#include <QDateTime>

#include <array>

namespace flowdeck {

QColor stateColor(StateType type)
{
    switch (type) {
    case StateType::Scheduled:
        return QColor(0xc9, 0x8f, 0x12);
    case StateType::Pending:
        return QColor(0x8a, 0x8f, 0x98);
    case StateType::Running:
        return QColor(0x2f, 0x80, 0xed);
    case StateType::Completed:
        return QColor(0x2e, 0x9d, 0x57);
    case StateType::Failed:
        return QColor(0xdc, 0x35, 0x45);
    case StateType::Cancelled:
        return QColor(0x6c, 0x75, 0x7d);
    case StateType::Crashed:
        return QColor(0xc2, 0x18, 0x7a);
    case StateType::Paused:
        return QColor(0x8e, 0x5b, 0xd6);
    case StateType::Cancelling:
        return QColor(0xe0, 0x7b, 0x1a);
    }
    return QColor(Qt::gray);
}

QColor textColorOn(const QColor& background)
{
    // Relative luminance (sRGB weights) without gamma: good enough to pick black or white.
    const double y = 0.2126 * background.redF() + 0.7152 * background.greenF() + 0.0722 * background.blueF();
    return y > 0.6 ? QColor(Qt::black) : QColor(Qt::white);
}

QString stateLabel(StateType type)
{
    switch (type) {
    case StateType::Scheduled:
        return QCoreApplication::translate("flowdeck", "Scheduled");
    case StateType::Pending:
        return QCoreApplication::translate("flowdeck", "Pending");
    case StateType::Running:
        return QCoreApplication::translate("flowdeck", "Running");
    case StateType::Completed:
        return QCoreApplication::translate("flowdeck", "Completed");
    case StateType::Failed:
        return QCoreApplication::translate("flowdeck", "Failed");
    case StateType::Cancelled:
        return QCoreApplication::translate("flowdeck", "Cancelled");
    case StateType::Crashed:
        return QCoreApplication::translate("flowdeck", "Crashed");
    case StateType::Paused:
        return QCoreApplication::translate("flowdeck", "Paused");
    case StateType::Cancelling:
        return QCoreApplication::translate("flowdeck", "Cancelling");
    }
    return {};
}

QString stateDescription(StateName name)
{
    switch (name) {
    case StateName::Scheduled:
        return QCoreApplication::translate("flowdeck",
                                           "Waits for its start time or for a worker to claim it.");
    case StateName::Late:
        return QCoreApplication::translate("flowdeck",
                                           "Its start time has passed and it has not started yet.");
    case StateName::AwaitingRetry:
        return QCoreApplication::translate(
            "flowdeck", "An attempt failed; it waits retry_delay_s before the next attempt.");
    case StateName::AwaitingConcurrencySlot:
        return QCoreApplication::translate(
            "flowdeck", "Ready to run, but a tag's concurrency limit is full: it waits in line for a slot.");
    case StateName::Pending:
        return QCoreApplication::translate(
            "flowdeck", "Waits for the tasks it depends on to finish before it can start.");
    case StateName::Running:
        return QCoreApplication::translate("flowdeck", "Its first attempt is running now.");
    case StateName::Retrying:
        return QCoreApplication::translate("flowdeck", "A later attempt (a retry) is running now.");
    case StateName::Paused:
        return QCoreApplication::translate("flowdeck", "Paused; it continues when it is resumed.");
    case StateName::Suspended:
        return QCoreApplication::translate("flowdeck", "Suspended; it continues when it is resumed.");
    case StateName::AwaitingApproval:
        return QCoreApplication::translate(
            "flowdeck",
            "Waits for someone to approve or reject it; it holds no slot and no thread meanwhile.");
    case StateName::Cancelling:
        return QCoreApplication::translate(
            "flowdeck", "Cancel was asked for; it stops at its next await and then becomes Cancelled.");
    case StateName::Cancelled:
        return QCoreApplication::translate("flowdeck", "Stopped by a user before it finished.");
    case StateName::Completed:
        return QCoreApplication::translate("flowdeck", "Finished successfully.");
    case StateName::Cached:
        return QCoreApplication::translate("flowdeck",
                                           "Finished successfully with a result kept from before.");
    case StateName::Failed:
        return QCoreApplication::translate(
            "flowdeck", "Its last attempt failed (an error, a non-zero exit, a bad status).");
    case StateName::TimedOut:
        return QCoreApplication::translate("flowdeck", "Failed: an attempt ran longer than its timeout_s.");
    case StateName::UpstreamFailed:
        return QCoreApplication::translate("flowdeck",
                                           "Did not run: a task it depends on failed or crashed.");
    case StateName::Crashed:
        return QCoreApplication::translate(
            "flowdeck", "The process running it ended unexpectedly (for example killed) before it finished.");
    }
    return {};
}

QString stateToolTip(StateName name)
{
    const StateType type = typeOf(name);
    const QString title = toString(name) == toString(defaultName(type))
        ? stateLabel(type)
        : QCoreApplication::translate("flowdeck", "%1 (%2)").arg(toString(name), stateLabel(type));
    return QCoreApplication::translate("flowdeck", "%1: %2").arg(title, stateDescription(name));
}

QString formatDuration(qint64 us)
{
    if (us < 0)
        us = 0;
    if (us < 1000)
        return QCoreApplication::translate("flowdeck", "%1 µs").arg(us);
    if (us < 1'000'000)
        return QCoreApplication::translate("flowdeck", "%1 ms").arg(us / 1000);
    const double s = double(us) / 1e6;
    if (s < 60)
        return QCoreApplication::translate("flowdeck", "%1 s").arg(s, 0, 'f', 1);
    const qint64 total = us / 1'000'000;
    if (total < 3600)
        return QCoreApplication::translate("flowdeck", "%1 min %2 s")
            .arg(total / 60)
            .arg(total % 60, 2, 10, QLatin1Char('0'));
    return QCoreApplication::translate("flowdeck", "%1 h %2 min")
        .arg(total / 3600)
        .arg((total / 60) % 60, 2, 10, QLatin1Char('0'));
}

QString formatClock(qint64 us)
{
    if (us <= 0)
        return {};
    // Tables show thousands of stamps from the same few seconds; converting each to local time is
    // the slow part, so the last seconds seen are remembered (GUI thread only).
    struct Entry {
        qint64 second = -1;
        QString text;
    };
    static std::array<Entry, 64> cache;
    static qint64 todayStart = 0;
    static qint64 todayEnd = -1;
    const qint64 second = us / 1'000'000;
    Entry& entry = cache[size_t(second) % cache.size()];
    if (entry.second == second && second >= todayStart && second < todayEnd)
        return entry.text;
    const QDateTime time = QDateTime::fromSecsSinceEpoch(second);
    if (second < todayStart || second >= todayEnd) {
        const QDateTime midnight = QDateTime(QDate::currentDate(), QTime(0, 0));
        todayStart = midnight.toSecsSinceEpoch();
        todayEnd = midnight.addDays(1).toSecsSinceEpoch();
    }
    entry.second = second;
    entry.text
        = time.toString(second >= todayStart && second < todayEnd ? QStringLiteral("HH:mm:ss")
                                                                  : QStringLiteral("yyyy-MM-dd HH:mm:ss"));
    return entry.text;
}

QString formatClockMs(qint64 us)
{
    if (us <= 0)
        return {};
    return formatClock(us) + QStringLiteral(".%1").arg((us / 1000) % 1000, 3, 10, QLatin1Char('0'));
}

QString shortId(const QString& uuid)
{
    return uuid.right(8);
}

} // namespace flowdeck
