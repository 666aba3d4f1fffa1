#pragma once

#include <QList>
#include <QString>

namespace flowdeck {

//! A shortcut the help lists: what it does and its keys as shown in menus.
struct HelpShortcut {
    QString what;
    QString keys;
};

namespace helptext {

//! The flow file format: the fields every task has, then each registered kind with its own fields.
QString flowFormatHtml();
//! Every named state, its type, its colour (as the timeline and badges draw it) and what it means.
QString statesHtml();
//! The keyboard: \a shortcuts, and how to move around without a mouse.
QString keyboardHtml(const QList<HelpShortcut>& shortcuts);
//! All of it, one HTML document with a heading per part.
QString documentHtml(const QList<HelpShortcut>& shortcuts);

} // namespace helptext

} // namespace flowdeck
