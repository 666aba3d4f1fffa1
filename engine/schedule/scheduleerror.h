#pragma once

#include <QString>

namespace flowdeck {

/**
 * What is wrong in a schedule's expression, duration, anchor or time zone, and where: the field
 * ("minute", "hour", "day of month", "month", "day of week", "expression", "duration", "anchor",
 * "timezone"), the offending text as written, and the character offset in the whole input (-1 when
 * it has no place). message() is one line for people and scripts, naming the field and the value.
 */
struct ScheduleExprError {
    QString field;
    QString value;
    QString reason; //!< e.g. "out of range 0-59"
    int position = -1;

    //! `minute field: "61" is out of range 0-59 (at character 1)`
    QString message() const;
};

} // namespace flowdeck
