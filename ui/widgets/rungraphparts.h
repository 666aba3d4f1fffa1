#pragma once

// What the run graph's files share: the order of states in a node, the sizes of an expanded node's run
// squares, the node fonts. Only widgets/rungraph*.cpp include it.

#include "flow/flow.h"
#include "run/states.h"
#include "widgets/graphlayout.h"

#include <QFont>
#include <QString>

namespace flowdeck::rungraph {

//! The order in which a node's bar stacks states: done work first, trouble last.
inline constexpr StateType BarOrder[] = {StateType::Completed, StateType::Running, StateType::Cancelling,
                                         StateType::Paused,    StateType::Pending, StateType::Scheduled,
                                         StateType::Cancelled, StateType::Failed,  StateType::Crashed};

//! The state that colours a node's edge: trouble first, then what is under way.
inline constexpr StateType AccentOrder[] = {StateType::Crashed,    StateType::Failed,  StateType::Running,
                                            StateType::Cancelling, StateType::Paused,  StateType::Cancelled,
                                            StateType::Scheduled,  StateType::Pending, StateType::Completed};

//! Run squares of an expanded node: RunColumns to a row, RunCell graph units apart, below the text.
inline constexpr int RunColumns = 10;
inline constexpr double RunCell = 15;
inline constexpr double RunsTop = 36;

inline quint64 edgeKey(int from, int to)
{
    return (quint64(quint32(from)) << 32) | quint32(to);
}

//! The title's font; the counts' is the same, not bold.
inline QFont titleFont(QFont font)
{
    font.setPixelSize(13);
    font.setBold(true);
    return font;
}

inline QFont sublineFont(QFont font)
{
    font.setPixelSize(11);
    font.setBold(false);
    return font;
}

inline constexpr double TextLeft = 10;
inline constexpr double TextRight = 8;

inline GraphLayout::Options layoutOptions()
{
    return GraphLayout::Options{};
}

inline QString limitText(const LimitUse& use)
{
    return use.occupy == 1 ? use.name : QStringLiteral("%1×%2").arg(use.name).arg(use.occupy);
}

} // namespace flowdeck::rungraph
