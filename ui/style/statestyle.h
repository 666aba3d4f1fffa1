#pragma once

#include "run/states.h"

#include <QColor>
#include <QString>

namespace flowdeck {

//! Colour of a state type. Mid-tone colours, so a badge reads on light and dark palettes alike.
QColor stateColor(StateType type);
//! Black or white, whichever reads better on \a background.
QColor textColorOn(const QColor& background);
//! Translated, capitalised state type for people ("Running").
QString stateLabel(StateType type);
//! What a named state means, in a sentence for people (tooltips and the in-app help).
QString stateDescription(StateName name);
//! A state badge's tooltip: the name, its type when the name differs, and what it means.
QString stateToolTip(StateName name);

//! "850 ms", "12.3 s", "4 min 05 s", "2 h 03 min".
QString formatDuration(qint64 us);
//! Local clock time of a wall-clock stamp: "14:03:07", with the date when it is not today.
QString formatClock(qint64 us);
//! formatClock() with milliseconds: "14:03:07.125".
QString formatClockMs(qint64 us);
//! Last eight hex digits of a run id, the short form shown in tables (run ids are UUIDv7: their
//! first digits are a timestamp, the same for runs started together).
QString shortId(const QString& uuid);

} // namespace flowdeck
