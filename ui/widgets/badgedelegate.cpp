#include "widgets/badgedelegate.h"

#include "models/modelroles.h"
#include "style/statestyle.h"

#include <QApplication>
#include <QPainter>

namespace flowdeck {

namespace {

constexpr int HorizontalPadding = 8;
constexpr int VerticalMargin = 3;

} // namespace

BadgeDelegate::BadgeDelegate(QObject* parent)
    : QStyledItemDelegate(parent)
{
}

BadgeDelegate::~BadgeDelegate() = default;

void BadgeDelegate::paint(QPainter* painter, const QStyleOptionViewItem& option,
                          const QModelIndex& index) const
{
    const QVariant colour = index.data(BadgeColorRole);
    if (!colour.isValid()) {
        QStyledItemDelegate::paint(painter, option, index);
        return;
    }
    // The item background (selection, alternate rows) first, without text.
    QStyleOptionViewItem opt = option;
    initStyleOption(&opt, index);
    opt.text.clear();
    const QWidget* widget = option.widget;
    QStyle* style = widget ? widget->style() : QApplication::style();
    style->drawControl(QStyle::CE_ItemViewItem, &opt, painter, widget);

    const QString text = index.data(Qt::DisplayRole).toString();
    const QFontMetrics metrics(option.font);
    const int width
        = std::min(option.rect.width() - 4, metrics.horizontalAdvance(text) + 2 * HorizontalPadding);
    const int height = std::min(option.rect.height() - 2 * VerticalMargin, metrics.height() + 4);
    const QRect pill(option.rect.left() + 4, option.rect.center().y() - height / 2 + 1, width, height);
    const QColor fill = colour.value<QColor>();

    painter->save();
    painter->setRenderHint(QPainter::Antialiasing);
    painter->setPen(Qt::NoPen);
    painter->setBrush(fill);
    painter->drawRoundedRect(pill, height / 2.0, height / 2.0);
    painter->setPen(textColorOn(fill));
    painter->drawText(pill, Qt::AlignCenter, metrics.elidedText(text, Qt::ElideRight, pill.width() - 6));
    painter->restore();
}

QSize BadgeDelegate::sizeHint(const QStyleOptionViewItem& option, const QModelIndex& index) const
{
    QSize size = QStyledItemDelegate::sizeHint(option, index);
    const QFontMetrics metrics(option.font);
    size.setWidth(std::max(size.width(),
                           metrics.horizontalAdvance(index.data().toString()) + 2 * HorizontalPadding + 8));
    size.setHeight(std::max(size.height(), metrics.height() + 4 + 2 * VerticalMargin));
    return size;
}

} // namespace flowdeck
