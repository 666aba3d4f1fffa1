#include "style/icons.h"

#include <QApplication>
#include <QFile>
#include <QPalette>

#include <cmath>

namespace flowdeck {

namespace {

double luminance(QRgb rgb)
{
    return (0.2126 * qRed(rgb) + 0.7152 * qGreen(rgb) + 0.0722 * qBlue(rgb)) / 255.0;
}

/**
 * True when \a image should be drawn in the text colour: its visible pixels are shades of one grey
 * (a monochrome glyph drawn for some other background), or, coloured, they are too close in
 * brightness to \a background to be seen.
 */
bool needsTint(const QImage& image, const QColor& background)
{
    qint64 opaque = 0;
    qint64 saturated = 0;
    double sum = 0;
    for (int y = 0; y < image.height(); ++y) {
        const auto* line = reinterpret_cast<const QRgb*>(image.constScanLine(y));
        for (int x = 0; x < image.width(); ++x) {
            if (qAlpha(line[x]) < 64)
                continue;
            ++opaque;
            saturated += QColor::fromRgba(line[x]).hsvSaturation() > 60;
            sum += luminance(line[x]);
        }
    }
    // A glyph on a transparent ground; an opaque picture is left alone.
    if (opaque == 0 || opaque * 10 > qint64(image.width()) * image.height() * 9)
        return false;
    return saturated * 10 < opaque || std::abs(sum / double(opaque) - luminance(background.rgb())) < 0.25;
}

/**
 * Redraws \a image (ARGB32) in shades between \a text and \a background: the pixels that stood out
 * most from the background the icon was drawn for take the text colour's lightness, lighter details lean
 * to the background, so a picture keeps its inner lines and colours instead of becoming a flat silhouette.
 */
void tint(QImage& image, const QColor& text, const QColor& background)
{
    const bool darkBackground = luminance(background.rgb()) < 0.5;
    for (int y = 0; y < image.height(); ++y) {
        auto* line = reinterpret_cast<QRgb*>(image.scanLine(y));
        for (int x = 0; x < image.width(); ++x) {
            const int alpha = qAlpha(line[x]);
            if (alpha == 0)
                continue;
            // Icons for a light background are drawn dark: their darkest pixels are the strongest.
            const double v = luminance(line[x]);
            const double t = 0.6 * (darkBackground ? v : 1.0 - v);
            auto mix = [t](int a, int b) { return int(std::lround(a * (1.0 - t) + b * t)); };
            QColor shade(mix(text.red(), background.red()), mix(text.green(), background.green()),
                         mix(text.blue(), background.blue()));
            // A coloured part (a red stop sign) keeps its hue at the new lightness.
            const QColor original = QColor::fromRgb(line[x]);
            if (original.hslSaturation() > 60)
                shade = QColor::fromHsl(original.hslHue(), original.hslSaturation(), shade.lightness());
            line[x] = qRgba(shade.red(), shade.green(), shade.blue(), alpha);
        }
    }
}

} // namespace

QIcon paletteIcon(const QIcon& icon)
{
    const QPalette palette = QApplication::palette();
    QList<QSize> sizes = icon.availableSizes();
    // Every size a toolbar, list or menu asks for, at scale factors up to 4: QIcon picks the
    // nearest one for size times the device pixel ratio.
    for (int side : {16, 22, 24, 32, 44, 48, 64, 88, 96, 128})
        sizes << QSize(side, side);
    QIcon tinted;
    for (const QSize& size : std::as_const(sizes)) {
        for (const QIcon::Mode mode : {QIcon::Normal, QIcon::Disabled}) {
            const QPalette::ColorGroup group
                = mode == QIcon::Disabled ? QPalette::Disabled : QPalette::Active;
            QImage image = icon.pixmap(size, 1.0, mode).toImage().convertToFormat(QImage::Format_ARGB32);
            if (image.isNull())
                continue;
            if (needsTint(image, palette.color(group, QPalette::Window)))
                tint(image, palette.color(group, QPalette::WindowText),
                     palette.color(group, QPalette::Window));
            tinted.addPixmap(QPixmap::fromImage(image), mode);
        }
    }
    return tinted;
}

QIcon themedIcon(const QString& name, QStyle::StandardPixmap fallback)
{
    if (QIcon::hasThemeIcon(name))
        return QIcon::fromTheme(name);
    // The few icons the app carries itself, where no standard icon says it (a clock for schedules).
    if (const QString own = QStringLiteral(":/icons/%1.svg").arg(name); QFile::exists(own))
        return paletteIcon(QIcon(own));
    return paletteIcon(QApplication::style()->standardIcon(fallback));
}

} // namespace flowdeck
