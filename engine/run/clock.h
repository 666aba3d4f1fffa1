#pragma once

#include <QString>
#include <QtGlobal>

#include <chrono>

namespace flowdeck {

//! Wall clock, microseconds since the epoch: the unit of every stored time and of run timestamps.
inline qint64 wallUs()
{
    return std::chrono::duration_cast<std::chrono::microseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
}

//! Seconds as people read them in messages: "0.5", "30", "1e-06".
inline QString secondsText(double s)
{
    return QString::number(s, 'g', 6);
}

} // namespace flowdeck
