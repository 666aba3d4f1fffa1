#include "style/icons.h"

#include <QApplication>

namespace flowdeck {

QIcon themedIcon(const QString& name, QStyle::StandardPixmap fallback)
{
    if (QIcon::hasThemeIcon(name))
        return QIcon::fromTheme(name);
    return QApplication::style()->standardIcon(fallback);
}

} // namespace flowdeck
