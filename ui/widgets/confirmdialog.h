#pragma once

#include <QString>

#include <functional>

class QMessageBox;
class QWidget;

namespace flowdeck {

/**
 * Opens (window-modal, not exec'd) the confirmation the pages ask before cancelling runs: \a text, with
 * \a detail below it, a \a confirmLabel button (object name "confirmButton") and "Keep Running" as the
 * default. \a onConfirm runs only if the user confirms. The box deletes itself when closed.
 */
QMessageBox* openCancelConfirmation(QWidget* parent, const QString& title, const QString& text,
                                    const QString& detail, const QString& confirmLabel,
                                    std::function<void()> onConfirm);

} // namespace flowdeck
