#pragma once

#include <QStyledItemDelegate>

namespace flowdeck {

//! Paints ProgressRole (0.0 to 1.0) as the style's progress bar, ProgressPartsRole after it in their
//! colours, with the cell's text on it.
class ProgressDelegate : public QStyledItemDelegate {
    Q_OBJECT

public:
    explicit ProgressDelegate(QObject* parent = nullptr);
    ~ProgressDelegate() override;

    void paint(QPainter* painter, const QStyleOptionViewItem& option,
               const QModelIndex& index) const override;
};

} // namespace flowdeck
