#pragma once

#include "run/states.h"
#include "style/statestyle.h"

#include <QColor>
#include <QList>
#include <QVariant>
#include <Qt>

namespace flowdeck {

//! Item roles shared by the dashboard's models and delegates.
enum ModelRole {
    //! QColor of a badge (BadgeDelegate paints the cell's text on a pill of this colour).
    BadgeColorRole = Qt::UserRole,
    //! Progress of a cell, 0.0 to 1.0 (ProgressDelegate).
    ProgressRole,
    //! Raw value to sort and filter by (numbers, times in microseconds).
    SortRole,
    //! flowdeck::StateType of the row, as int.
    StateTypeRole,
    //! Pointer to the row's FlowRun or TaskRun (quintptr).
    RunPointerRole,
    //! QList<ProgressPart>: parts of a progress bar after its ProgressRole part, each in its colour
    //! (ProgressDelegate), e.g. the failed, crashed and cancelled task runs of a flow run.
    ProgressPartsRole,
};

//! One coloured part of a progress bar, as a fraction of the whole.
struct ProgressPart {
    double fraction = 0;
    QColor color;
};

//! A state badge cell (text on a pill of the state's colour, sorted by type): its display, badge
//! colour and sort data; null for other roles.
inline QVariant stateBadgeData(StateType type, int role)
{
    switch (role) {
    case Qt::DisplayRole:
        return stateLabel(type);
    case BadgeColorRole:
        return stateColor(type);
    case SortRole:
        return int(type);
    default:
        return {};
    }
}

} // namespace flowdeck

Q_DECLARE_METATYPE(flowdeck::ProgressPart)
