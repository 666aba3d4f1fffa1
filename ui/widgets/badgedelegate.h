#pragma once

#include <QStyledItemDelegate>

namespace flowdeck {

//! Paints a cell's text on a rounded pill of the colour in BadgeColorRole (state badges, stall
//! badges); cells without a colour are painted as usual.
class BadgeDelegate : public QStyledItemDelegate {
    Q_OBJECT

public:
    explicit BadgeDelegate(QObject* parent = nullptr);
    ~BadgeDelegate() override;

    void paint(QPainter* painter, const QStyleOptionViewItem& option,
               const QModelIndex& index) const override;
    QSize sizeHint(const QStyleOptionViewItem& option, const QModelIndex& index) const override;
};

} // namespace flowdeck
