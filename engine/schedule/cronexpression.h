#pragma once

#include "schedule/scheduleerror.h"

#include <QDate>
#include <QString>
#include <QTime>

#include <bitset>
#include <optional>

namespace flowdeck {

/**
 * A five-field cron expression (minute hour day-of-month month day-of-week) as Vixie cron reads it:
 * lists (1,5), ranges (1-5), steps (*\/15, 10-50/10), month and weekday names (jan, mon; case
 * insensitive), 7 for Sunday, and the nicknames @hourly, @daily (@midnight), @weekly, @monthly,
 * @yearly (@annually). When both day of month and day of week are restricted (neither starts with
 * "*"), a day matches when either does, as cron does. Plain data: the time zone belongs to the
 * ScheduleSpec that holds it.
 */
class CronExpression {
public:
    //! The parsed expression, or nullopt with the field, value and place in \a error.
    static std::optional<CronExpression> parse(const QString& text, ScheduleExprError* error = nullptr);

    //! As written (trimmed).
    const QString& text() const { return m_text; }

    bool matchesDate(QDate date) const;
    bool matchesMinute(int hour, int minute) const
    {
        return m_hours[size_t(hour)] && m_minutes[size_t(minute)];
    }
    //! The first hour >= \a from that matches, or -1.
    int nextHour(int from) const;
    //! The first minute >= \a from that matches, or -1.
    int nextMinute(int from) const;

private:
    QString m_text;
    std::bitset<60> m_minutes;
    std::bitset<24> m_hours;
    std::bitset<32> m_daysOfMonth; //!< 1..31
    std::bitset<13> m_months;      //!< 1..12
    std::bitset<7> m_daysOfWeek;   //!< 0 = Sunday
    bool m_domStar = false;        //!< the day-of-month field starts with "*"
    bool m_dowStar = false;
};

} // namespace flowdeck
