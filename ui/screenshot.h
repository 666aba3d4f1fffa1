#pragma once

#include <QString>

class QWidget;

namespace flowdeck {

/**
 * Renders \a w (and its children) into an image file; the format follows the file name's suffix,
 * PNG when there is none. Missing parent folders are created. On failure returns false and sets
 * \a error (when not null) to one line naming \a path.
 */
bool saveWidgetScreenshot(QWidget* w, const QString& path, QString* error);

} // namespace flowdeck
