#include "screenshot.h"

#include <QDir>
#include <QFileInfo>
#include <QImage>
#include <QImageWriter>
#include <QPixmap>
#include <QWidget>

namespace flowdeck {

namespace {

bool fail(QString* error, const QString& message)
{
    if (error)
        *error = message;
    return false;
}

} // namespace

bool saveWidgetScreenshot(QWidget* w, const QString& path, QString* error)
{
    const QString shown = QDir::toNativeSeparators(path);
    if (!w)
        return fail(error, QStringLiteral("Cannot save screenshot %1: no widget to capture").arg(shown));
    if (path.isEmpty())
        return fail(error, QStringLiteral("Cannot save screenshot: the file name is empty"));

    const QPixmap pixmap = w->grab();
    if (pixmap.isNull())
        return fail(error,
                    QStringLiteral("Cannot save screenshot %1: the widget rendered no image").arg(shown));

    const QFileInfo info(path);
    if (!QDir().mkpath(info.absolutePath()))
        return fail(error,
                    QStringLiteral("Cannot save screenshot %1: cannot create folder %2")
                        .arg(shown, QDir::toNativeSeparators(info.absolutePath())));

    QImageWriter writer(path);
    if (info.suffix().isEmpty())
        writer.setFormat("png");
    if (!writer.write(pixmap.toImage()))
        return fail(error, QStringLiteral("Cannot save screenshot %1: %2").arg(shown, writer.errorString()));
    return true;
}

} // namespace flowdeck
