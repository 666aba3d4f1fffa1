#pragma once

#include "schedule/cronexpression.h"
#include "schedule/scheduleerror.h"

#include <QDateTime>
#include <QList>
#include <QString>
#include <QTimeZone>

#include <optional>

namespace flowdeck {

/**
 * When a schedule fires: a cron expression or a fixed interval, in a named time zone (an IANA id
 * through QTimeZone; empty: the local zone). Plain data, no database.
 *
 * Daylight saving as cron handles it: a local time that the clocks skip does not fire; a local time
 * that happens twice fires once, at its first occurrence. An interval of whole days keeps the
 * anchor's local time of day across a change (the day is 23 or 25 hours long); shorter intervals are
 * exact elapsed time from the anchor.
 */
class ScheduleSpec {
public:
    enum class Kind { Cron, Interval };

    //! A cron schedule; nullopt with the place of the error in \a error (field "timezone" for a bad zone).
    static std::optional<ScheduleSpec> cron(const QString& expression, const QString& timezone = {},
                                            ScheduleExprError* error = nullptr);
    /**
     * An interval schedule of \a intervalUs (> 0) from \a anchorUs (microseconds since the epoch; the
     * default anchor is 2000-01-01T00:00 in the zone, so "every 15m" fires on the quarter hours).
     */
    static std::optional<ScheduleSpec> interval(qint64 intervalUs, std::optional<qint64> anchorUs = {},
                                                const QString& timezone = {},
                                                ScheduleExprError* error = nullptr);

    //! "30s", "15m", "2h", "1d" (also combined, "1h30m") in microseconds; nullopt with field "duration".
    static std::optional<qint64> parseDuration(const QString& text, ScheduleExprError* error = nullptr);
    //! The shortest text parseDuration reads back: 900000000 -> "15m".
    static QString durationText(qint64 us);
    /**
     * An anchor time: ISO 8601 with or without an offset ("2027-03-29T02:30", "2027-03-29T02:30:00+02:00",
     * "2027-03-29"), or a time of day ("09:00", today in the zone); without an offset it is local time
     * in \a timezone. Nullopt with field "anchor" (or "timezone").
     */
    static std::optional<qint64> parseAnchor(const QString& text, const QString& timezone = {},
                                             ScheduleExprError* error = nullptr);
    //! The zone for \a id (empty: the system's local zone); nullopt with field "timezone" when unknown.
    static std::optional<QTimeZone> zoneFor(const QString& id, ScheduleExprError* error = nullptr);

    Kind kind() const { return m_kind; }
    //! The cron expression; empty for an interval.
    QString cronText() const { return m_cron ? m_cron->text() : QString(); }
    qint64 intervalUs() const { return m_intervalUs; }
    qint64 anchorUs() const { return m_anchorUs; }
    //! The zone's id as given; empty means local.
    const QString& timezone() const { return m_timezoneId; }
    const QTimeZone& zone() const { return m_zone; }
    //! "0 9 * * 1-5" or "every 15m".
    QString expressionText() const;

    //! The first fire time strictly after \a afterUs (microseconds since the epoch), or nullopt when none
    //! within the next 5 years (e.g. "0 0 31 2 *").
    std::optional<qint64> nextAfter(qint64 afterUs) const;
    //! Up to \a count fire times strictly after \a afterUs, ascending.
    QList<qint64> nextFireTimes(qint64 afterUs, int count) const;
    //! The same, as date-times in the schedule's zone.
    QList<QDateTime> nextFireDateTimes(const QDateTime& after, int count) const;
    //! \a us in the schedule's zone.
    QDateTime toZoned(qint64 us) const;

private:
    std::optional<qint64> nextCron(qint64 afterUs) const;
    std::optional<qint64> nextInterval(qint64 afterUs) const;

    Kind m_kind = Kind::Cron;
    std::optional<CronExpression> m_cron;
    qint64 m_intervalUs = 0;
    qint64 m_anchorUs = 0;
    QString m_timezoneId;
    QTimeZone m_zone;
};

//! ISO 8601 with the zone's offset, to the second: "2027-03-29T02:30:00+02:00" (never "Z").
QString isoWithOffset(const QDateTime& time);

} // namespace flowdeck
