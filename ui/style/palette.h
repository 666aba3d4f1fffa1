#pragma once

#include <QPalette>
#include <QString>

namespace flowdeck {

//! A complete dark palette (every role and group set, placeholder and link colours too).
QPalette darkPalette();

//! Applies `--palette NAME` to the application: "dark" (Fusion with darkPalette()), "light"
//! (Fusion with its own light palette) or "system" (the platform's style and palette); each with
//! FocusStyle's visible keyboard focus. False for another name.
bool applyPalette(const QString& name);

} // namespace flowdeck
