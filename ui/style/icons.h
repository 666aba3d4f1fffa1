#pragma once

#include <QIcon>
#include <QStyle>

namespace flowdeck {

/**
 * The desktop theme's icon \a name; else the app's own ":/icons/NAME.svg" where it carries one; else the
 * style's standard icon \a fallback. A
 * standard icon in one grey (the style draws it for a light background), or one too close in
 * brightness to the palette's window colour, is recoloured with the palette's text colour, so it
 * reads on dark palettes too. The palette is the application's when the icon is made (set it first).
 */
QIcon themedIcon(const QString& name, QStyle::StandardPixmap fallback);

//! \a icon as themedIcon() recolours a standard icon, in the current application palette.
QIcon paletteIcon(const QIcon& icon);

} // namespace flowdeck
