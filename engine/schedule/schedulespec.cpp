#include "schedule/schedulespec.h"

#include <QRegularExpression>

#include <cmath>

namespace flowdeck {

namespace {

constexpr qint64 UsPerSecond = 1'000'000;
constexpr qint64 UsPerDay = 86'400 * UsPerSecond;
//! How far ahead a fire time is looked for before a schedule is declared never to fire.
constexpr int SearchDays = 5 * 366;

qint64 floorDiv(qint64 a, qint64 b)
{
    return a / b - ((a % b != 0) && ((a < 0) != (b < 0)) ? 1 : 0);
}

/**
 * The instant (seconds since the epoch) that the local \a date and \a time in \a zone name: nullopt
 * when the clocks skip it; the first of the two when they repeat it.
 */
std::optional<qint64> resolveLocal(const QTimeZone& zone, QDate date, QTime time)
{
    const qint64 naive = QDateTime(date, time, QTimeZone::utc()).toSecsSinceEpoch();
    const auto offsetAt = [&zone](qint64 secs) {
        return zone.offsetFromUtc(QDateTime::fromSecsSinceEpoch(secs, QTimeZone::utc()));
    };
    std::optional<qint64> best;
    for (const qint64 probe : {naive - 86'400, naive + 86'400}) {
        const int offset = offsetAt(probe);
        const qint64 candidate = naive - offset;
        if (offsetAt(candidate) == offset && (!best || candidate < *best))
            best = candidate;
    }
    return best;
}

bool setError(ScheduleExprError* error, const QString& field, const QString& value, const QString& reason,
              int position = -1)
{
    if (error)
        *error = {field, value, reason, position};
    return false;
}

} // namespace

std::optional<QTimeZone> ScheduleSpec::zoneFor(const QString& id, ScheduleExprError* error)
{
    if (id.isEmpty())
        return QTimeZone::systemTimeZone();
    QTimeZone zone(id.toUtf8());
    if (!zone.isValid()) {
        setError(error, QStringLiteral("timezone"), id,
                 QStringLiteral("is not a known time zone (an IANA id such as Europe/Berlin)"));
        return std::nullopt;
    }
    return zone;
}

std::optional<ScheduleSpec> ScheduleSpec::cron(const QString& expression, const QString& timezone,
                                               ScheduleExprError* error)
{
    std::optional<CronExpression> cron = CronExpression::parse(expression, error);
    if (!cron)
        return std::nullopt;
    std::optional<QTimeZone> zone = zoneFor(timezone, error);
    if (!zone)
        return std::nullopt;
    ScheduleSpec spec;
    spec.m_kind = Kind::Cron;
    spec.m_cron = std::move(cron);
    spec.m_timezoneId = timezone;
    spec.m_zone = *zone;
    return spec;
}

std::optional<ScheduleSpec> ScheduleSpec::interval(qint64 intervalUs, std::optional<qint64> anchorUs,
                                                   const QString& timezone, ScheduleExprError* error)
{
    if (intervalUs < UsPerSecond) {
        setError(error, QStringLiteral("duration"), durationText(intervalUs),
                 QStringLiteral("is shorter than one second"));
        return std::nullopt;
    }
    std::optional<QTimeZone> zone = zoneFor(timezone, error);
    if (!zone)
        return std::nullopt;
    ScheduleSpec spec;
    spec.m_kind = Kind::Interval;
    spec.m_intervalUs = intervalUs;
    spec.m_timezoneId = timezone;
    spec.m_zone = *zone;
    if (anchorUs) {
        spec.m_anchorUs = *anchorUs;
    } else {
        const std::optional<qint64> start = resolveLocal(*zone, QDate(2000, 1, 1), QTime(0, 0));
        spec.m_anchorUs = start.value_or(946'684'800) * UsPerSecond;
    }
    return spec;
}

std::optional<qint64> ScheduleSpec::parseDuration(const QString& input, ScheduleExprError* error)
{
    const QString text = input.trimmed();
    static const QRegularExpression part(QStringLiteral("(\\d+)([smhd])"));
    qint64 total = 0;
    int at = 0;
    auto it = part.globalMatch(text);
    while (it.hasNext()) {
        const QRegularExpressionMatch m = it.next();
        if (m.capturedStart() != at)
            break;
        at = int(m.capturedEnd());
        const qint64 n = m.captured(1).toLongLong();
        const QChar unit = m.captured(2).at(0);
        const qint64 us = unit == u's' ? UsPerSecond
            : unit == u'm'             ? 60 * UsPerSecond
            : unit == u'h'             ? 3600 * UsPerSecond
                                       : UsPerDay;
        if (n > 100'000 * UsPerDay / us) {
            setError(error, QStringLiteral("duration"), text, QStringLiteral("is too long"));
            return std::nullopt;
        }
        total += n * us;
    }
    if (text.isEmpty() || at != text.size()) {
        setError(error, QStringLiteral("duration"), text,
                 QStringLiteral("is not a duration: a number with a unit s, m, h or d (30s, 15m, 1h30m, 1d)"),
                 text.isEmpty() ? -1 : at);
        return std::nullopt;
    }
    if (total < UsPerSecond) {
        setError(error, QStringLiteral("duration"), text, QStringLiteral("is shorter than one second"));
        return std::nullopt;
    }
    return total;
}

QString ScheduleSpec::durationText(qint64 us)
{
    if (us <= 0 || us % UsPerSecond != 0)
        return QStringLiteral("%1us").arg(us);
    qint64 s = us / UsPerSecond;
    QString out;
    for (const auto& [unit, secs] : {std::pair{u'd', qint64(86'400)}, std::pair{u'h', qint64(3600)},
                                     std::pair{u'm', qint64(60)}, std::pair{u's', qint64(1)}}) {
        if (s >= secs) {
            out += QString::number(s / secs) + QChar(unit);
            s %= secs;
        }
    }
    return out;
}

std::optional<qint64> ScheduleSpec::parseAnchor(const QString& input, const QString& timezone,
                                                ScheduleExprError* error)
{
    const QString text = input.trimmed();
    std::optional<QTimeZone> zone = zoneFor(timezone, error);
    if (!zone)
        return std::nullopt;
    // With an explicit offset or Z: that instant.
    static const QRegularExpression withOffset(QStringLiteral("(Z|[+-]\\d\\d:?\\d\\d)$"));
    if (text.contains(u'T') && withOffset.match(text).hasMatch()) {
        const QDateTime dt = QDateTime::fromString(text, Qt::ISODate);
        if (dt.isValid())
            return dt.toMSecsSinceEpoch() * 1000;
    } else {
        QDate date;
        QTime time;
        if (text.contains(u'T')) {
            const QDateTime local = QDateTime::fromString(text, Qt::ISODate);
            date = local.date();
            time = local.time();
        } else if (text.contains(u'-')) {
            date = QDate::fromString(text, Qt::ISODate);
            time = QTime(0, 0);
        } else {
            time = QTime::fromString(text, Qt::ISODate);
            date = QDateTime::currentDateTimeUtc().toTimeZone(*zone).date();
        }
        if (date.isValid() && time.isValid()) {
            if (const std::optional<qint64> secs = resolveLocal(*zone, date, time))
                return *secs * UsPerSecond + time.msec() * 1000;
            setError(
                error, QStringLiteral("anchor"), text,
                QStringLiteral("is a local time the clocks skip in %1").arg(QString::fromUtf8(zone->id())));
            return std::nullopt;
        }
    }
    setError(error, QStringLiteral("anchor"), text,
             QStringLiteral("is not a time (ISO 8601: 2027-03-29T02:30, 2027-03-29T02:30:00+02:00, 09:00)"));
    return std::nullopt;
}

QString ScheduleSpec::expressionText() const
{
    return m_kind == Kind::Cron ? cronText() : QStringLiteral("every ") + durationText(m_intervalUs);
}

std::optional<qint64> ScheduleSpec::nextAfter(qint64 afterUs) const
{
    return m_kind == Kind::Cron ? nextCron(afterUs) : nextInterval(afterUs);
}

QList<qint64> ScheduleSpec::nextFireTimes(qint64 afterUs, int count) const
{
    QList<qint64> out;
    qint64 at = afterUs;
    while (out.size() < count) {
        const std::optional<qint64> next = nextAfter(at);
        if (!next)
            break;
        out << *next;
        at = *next;
    }
    return out;
}

QList<QDateTime> ScheduleSpec::nextFireDateTimes(const QDateTime& after, int count) const
{
    QList<QDateTime> out;
    for (const qint64 us : nextFireTimes(after.toMSecsSinceEpoch() * 1000, count))
        out << toZoned(us);
    return out;
}

QDateTime ScheduleSpec::toZoned(qint64 us) const
{
    return QDateTime::fromMSecsSinceEpoch(us / 1000, m_zone);
}

std::optional<qint64> ScheduleSpec::nextCron(qint64 afterUs) const
{
    const CronExpression& cron = *m_cron;
    // Cron fires on whole minutes: start at the first minute after afterUs, in local time.
    const qint64 afterSecs = floorDiv(afterUs, UsPerSecond);
    const QDateTime local = QDateTime::fromSecsSinceEpoch(afterSecs, m_zone);
    QDate date = local.date();
    int hour = local.time().hour();
    int minute = local.time().minute() + 1;
    for (int day = 0; day < SearchDays; ++day, date = date.addDays(1), hour = 0, minute = 0) {
        if (!cron.matchesDate(date))
            continue;
        for (int h = cron.nextHour(hour); h >= 0; h = cron.nextHour(h + 1), minute = 0) {
            for (int m = cron.nextMinute(h == hour ? minute : 0); m >= 0; m = cron.nextMinute(m + 1)) {
                const std::optional<qint64> at = resolveLocal(m_zone, date, QTime(h, m));
                // Skipped by the clocks: no run. Repeated: its first occurrence, which may be past.
                if (at && *at > afterSecs)
                    return *at * UsPerSecond;
            }
        }
    }
    return std::nullopt;
}

std::optional<qint64> ScheduleSpec::nextInterval(qint64 afterUs) const
{
    if (m_intervalUs % UsPerDay != 0) {
        const qint64 k = floorDiv(afterUs - m_anchorUs, m_intervalUs) + 1;
        return m_anchorUs + k * m_intervalUs;
    }
    // Whole days: the anchor's local time of day on every n-th local date.
    const qint64 days = m_intervalUs / UsPerDay;
    const QDateTime anchor = toZoned(m_anchorUs);
    const QDate anchorDate = anchor.date();
    const QTime anchorTime = anchor.time();
    const qint64 fraction = m_anchorUs % 1000;
    const QDate afterDate = toZoned(afterUs).date();
    qint64 k = floorDiv(anchorDate.daysTo(afterDate), days) - 1;
    for (int i = 0; i < SearchDays; ++i, ++k) {
        const QDate date = anchorDate.addDays(k * days);
        const std::optional<qint64> at = resolveLocal(m_zone, date, anchorTime);
        if (!at)
            continue;
        const qint64 us = *at * UsPerSecond + anchorTime.msec() * 1000 + fraction;
        if (us > afterUs)
            return us;
    }
    return std::nullopt;
}

QString isoWithOffset(const QDateTime& time)
{
    const int offset = time.offsetFromUtc();
    const int abs = std::abs(offset);
    return time.toString(QStringLiteral("yyyy-MM-ddTHH:mm:ss"))
        + QStringLiteral("%1%2:%3")
              .arg(offset < 0 ? QLatin1Char('-') : QLatin1Char('+'))
              .arg(abs / 3600, 2, 10, QLatin1Char('0'))
              .arg(abs / 60 % 60, 2, 10, QLatin1Char('0'));
}

} // namespace flowdeck
