#include "style/palette.h"

#include "style/focusstyle.h"

#include <QApplication>
#include <QStyle>
#include <QStyleFactory>

namespace flowdeck {

QPalette darkPalette()
{
    const QColor window(0x2b, 0x2d, 0x30);
    const QColor base(0x1f, 0x20, 0x22);
    const QColor text(0xe6, 0xe6, 0xe6);
    const QColor disabledText(0x80, 0x80, 0x80);
    QPalette p(text, window, window.lighter(150), window.darker(150), window.lighter(120), text, Qt::white,
               base, window);
    p.setColor(QPalette::AlternateBase, QColor(0x27, 0x29, 0x2c));
    p.setColor(QPalette::ToolTipBase, QColor(0x3a, 0x3d, 0x41));
    p.setColor(QPalette::ToolTipText, text);
    p.setColor(QPalette::Button, QColor(0x35, 0x38, 0x3b));
    p.setColor(QPalette::ButtonText, text);
    p.setColor(QPalette::Highlight, QColor(0x2f, 0x6f, 0xc4));
    p.setColor(QPalette::HighlightedText, Qt::white);
    p.setColor(QPalette::Link, QColor(0x6c, 0xa8, 0xf0));
    p.setColor(QPalette::LinkVisited, QColor(0xa8, 0x8c, 0xf0));
    p.setColor(QPalette::PlaceholderText, QColor(0x9a, 0x9a, 0x9a));
    for (QPalette::ColorRole role : {QPalette::WindowText, QPalette::Text, QPalette::ButtonText})
        p.setColor(QPalette::Disabled, role, disabledText);
    p.setColor(QPalette::Disabled, QPalette::Highlight, QColor(0x4a, 0x4d, 0x51));
    return p;
}

bool applyPalette(const QString& name)
{
    if (name == QLatin1String("system")) {
        // The platform's style, with a focus that can be seen.
        if (!qobject_cast<FocusStyle*>(QApplication::style()))
            QApplication::setStyle(new FocusStyle(QStyleFactory::create(QApplication::style()->name())));
        return true;
    }
    if (name != QLatin1String("dark") && name != QLatin1String("light"))
        return false;
    QApplication::setStyle(new FocusStyle(QStyleFactory::create(QStringLiteral("Fusion"))));
    QApplication::setPalette(name == QLatin1String("dark") ? darkPalette()
                                                           : QApplication::style()->standardPalette());
    return true;
}

} // namespace flowdeck
