#include "widgets/progressdelegate.h"

#include "models/modelroles.h"

#include <QApplication>
#include <QPainter>
#include <QStyleOptionProgressBar>

#include <algorithm>

namespace flowdeck {

ProgressDelegate::ProgressDelegate(QObject* parent)
    : QStyledItemDelegate(parent)
{
}

ProgressDelegate::~ProgressDelegate() = default;

void ProgressDelegate::paint(QPainter* painter, const QStyleOptionViewItem& option,
                             const QModelIndex& index) const
{
    const QVariant progress = index.data(ProgressRole);
    if (!progress.isValid()) {
        QStyledItemDelegate::paint(painter, option, index);
        return;
    }
    QStyleOptionViewItem background = option;
    initStyleOption(&background, index);
    background.text.clear();
    const QWidget* widget = option.widget;
    QStyle* style = widget ? widget->style() : QApplication::style();
    style->drawControl(QStyle::CE_ItemViewItem, &background, painter, widget);

    QStyleOptionProgressBar bar;
    if (widget)
        bar.initFrom(widget);
    bar.state = (option.state & ~QStyle::State_HasFocus) | QStyle::State_Horizontal;
    bar.rect = option.rect.adjusted(3, 3, -3, -3);
    bar.minimum = 0;
    bar.maximum = 1000;
    bar.progress = int(std::clamp(progress.toDouble(), 0.0, 1.0) * 1000.0);
    bar.text = index.data(Qt::DisplayRole).toString();
    bar.textAlignment = Qt::AlignCenter;
    bar.palette = option.palette;
    const QList<ProgressPart> parts = index.data(ProgressPartsRole).value<QList<ProgressPart>>();
    if (parts.isEmpty()) {
        bar.textVisible = true;
        style->drawControl(QStyle::CE_ProgressBar, &bar, painter, widget);
        return;
    }
    // The style's bar for the main part, the other parts after it in their colours, then the text.
    bar.textVisible = false;
    style->drawControl(QStyle::CE_ProgressBar, &bar, painter, widget);
    const QRect groove = bar.rect.adjusted(1, 1, -1, -1);
    double at = groove.left() + std::clamp(progress.toDouble(), 0.0, 1.0) * groove.width();
    for (const ProgressPart& part : parts) {
        const double width = std::clamp(part.fraction, 0.0, 1.0) * groove.width();
        const QRectF area(at, groove.top(), std::min(width, groove.right() + 1 - at), groove.height());
        if (area.width() > 0)
            painter->fillRect(area, part.color);
        at += width;
    }
    bar.textVisible = true;
    style->drawControl(QStyle::CE_ProgressBarLabel, &bar, painter, widget);
}

} // namespace flowdeck
