#pragma once

#include <QIcon>
#include <QStyle>

namespace flowdeck {

//! The desktop theme's icon \a name, or the style's standard icon where no theme is installed.
QIcon themedIcon(const QString& name, QStyle::StandardPixmap fallback);

} // namespace flowdeck
