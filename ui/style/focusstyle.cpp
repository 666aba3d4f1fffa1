#include "style/focusstyle.h"

#include <QAbstractItemView>
#include <QEvent>
#include <QPainter>
#include <QStyleOption>

namespace flowdeck {

namespace {

bool isItemView(const QWidget* widget)
{
    return qobject_cast<const QAbstractItemView*>(widget) != nullptr;
}

void drawFocusRect(QPainter* painter, const QRect& rect, const QColor& color)
{
    painter->save();
    painter->setRenderHint(QPainter::Antialiasing, false);
    painter->setPen(QPen(color, FocusStyle::FocusWidth));
    painter->setBrush(Qt::NoBrush);
    painter->drawRect(rect.adjusted(1, 1, -1, -1));
    painter->restore();
}

} // namespace

FocusStyle::FocusStyle(QStyle* base)
    : QProxyStyle(base)
{
}

FocusStyle::~FocusStyle() = default;

void FocusStyle::drawPrimitive(PrimitiveElement element, const QStyleOption* option, QPainter* painter,
                               const QWidget* widget) const
{
    if (element != PE_FrameFocusRect) {
        QProxyStyle::drawPrimitive(element, option, painter, widget);
        return;
    }
    // Shown once the keyboard moved the focus, as the base style does; a mouse click does not need it.
    if (!(option->state & State_KeyboardFocusChange))
        return;
    // On a selected row the highlight colour is the background: the rectangle takes the text's colour.
    const bool onHighlight = (option->state & State_Selected) && (option->state & State_Item);
    drawFocusRect(painter, option->rect,
                  option->palette.color(onHighlight ? QPalette::HighlightedText : QPalette::Highlight));
}

void FocusStyle::drawControl(ControlElement element, const QStyleOption* option, QPainter* painter,
                             const QWidget* widget) const
{
    QProxyStyle::drawControl(element, option, painter, widget);
    // Some styles (Fusion) mark a focused push button only by a faint outline of their own.
    const State keyboardFocus = State_HasFocus | State_KeyboardFocusChange;
    if (element == CE_PushButton && (option->state & keyboardFocus) == keyboardFocus) {
        const int inset = proxy()->pixelMetric(PM_DefaultFrameWidth, option, widget);
        drawFocusRect(painter, option->rect.adjusted(inset, inset, -inset, -inset),
                      option->palette.color(QPalette::Highlight));
        return;
    }
    if (element != CE_ShapedFrame || !isItemView(widget) || !widget->hasFocus())
        return;
    // The view's frame is FocusWidth wide (pixelMetric()): a focused view fills it with the highlight.
    painter->save();
    painter->setRenderHint(QPainter::Antialiasing, false);
    painter->setPen(Qt::NoPen);
    painter->setBrush(option->palette.color(QPalette::Active, QPalette::Highlight));
    const QRect r = option->rect;
    const QRegion frame
        = QRegion(r).subtracted(QRegion(r.adjusted(FocusWidth, FocusWidth, -FocusWidth, -FocusWidth)));
    painter->setClipRegion(frame);
    painter->drawRect(r);
    painter->restore();
}

int FocusStyle::pixelMetric(PixelMetric metric, const QStyleOption* option, const QWidget* widget) const
{
    const int base = QProxyStyle::pixelMetric(metric, option, widget);
    if (metric == PM_DefaultFrameWidth && isItemView(widget))
        return std::max(base, FocusWidth);
    return base;
}

void FocusStyle::polish(QWidget* widget)
{
    QProxyStyle::polish(widget);
    // A view repaints its items when its focus changes, not its frame: ask for the frame too.
    if (isItemView(widget))
        widget->installEventFilter(this);
}

void FocusStyle::unpolish(QWidget* widget)
{
    if (isItemView(widget))
        widget->removeEventFilter(this);
    QProxyStyle::unpolish(widget);
}

bool FocusStyle::eventFilter(QObject* watched, QEvent* event)
{
    if (event->type() == QEvent::FocusIn || event->type() == QEvent::FocusOut) {
        if (auto* view = qobject_cast<QAbstractItemView*>(watched))
            view->update();
    }
    return QProxyStyle::eventFilter(watched, event);
}

} // namespace flowdeck
