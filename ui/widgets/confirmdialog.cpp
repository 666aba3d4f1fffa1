#include "widgets/confirmdialog.h"

#include <QMessageBox>
#include <QPushButton>

namespace flowdeck {

QMessageBox* openCancelConfirmation(QWidget* parent, const QString& title, const QString& text,
                                    const QString& detail, const QString& confirmLabel,
                                    std::function<void()> onConfirm)
{
    auto* box = new QMessageBox(QMessageBox::Question, title, text, QMessageBox::NoButton, parent);
    box->setObjectName(QStringLiteral("confirmCancel"));
    box->setInformativeText(detail);
    QPushButton* yes = box->addButton(confirmLabel, QMessageBox::AcceptRole);
    yes->setObjectName(QStringLiteral("confirmButton"));
    box->setDefaultButton(box->addButton(QMessageBox::tr("Keep Running"), QMessageBox::RejectRole));
    box->setAttribute(Qt::WA_DeleteOnClose);
    QObject::connect(box, &QMessageBox::buttonClicked, box,
                     [yes, onConfirm = std::move(onConfirm)](QAbstractButton* button) {
                         if (button == yes)
                             onConfirm();
                     });
    box->open();
    return box;
}

} // namespace flowdeck
