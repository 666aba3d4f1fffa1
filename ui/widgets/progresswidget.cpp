#include "widgets/progresswidget.h"

#include <QStyleOptionProgressBar>
#include <QStylePainter>

#include <algorithm>

namespace flowdeck {

ProgressWidget::ProgressWidget(QWidget* parent)
    : QWidget(parent)
{
    setSizePolicy(QSizePolicy::Expanding, QSizePolicy::Fixed);
}

ProgressWidget::~ProgressWidget() = default;

void ProgressWidget::setMaximum(qint64 maximum)
{
    if (maximum == m_maximum)
        return;
    m_maximum = maximum;
    update();
}

void ProgressWidget::setValue(qint64 value)
{
    if (value == m_value)
        return;
    m_value = value;
    update();
}

void ProgressWidget::setParts(const QList<ProgressPart>& parts)
{
    auto same = [](const QList<ProgressPart>& a, const QList<ProgressPart>& b) {
        if (a.size() != b.size())
            return false;
        for (qsizetype i = 0; i < a.size(); ++i) {
            if (a[i].fraction != b[i].fraction || a[i].color != b[i].color)
                return false;
        }
        return true;
    };
    if (same(parts, m_parts))
        return;
    m_parts = parts;
    update();
}

void ProgressWidget::setFormat(const QString& format)
{
    m_format = format;
    update();
}

QString ProgressWidget::text() const
{
    QString text = m_format;
    text.replace(QStringLiteral("%v"), QString::number(m_value));
    text.replace(QStringLiteral("%m"), QString::number(m_maximum));
    return text;
}

QSize ProgressWidget::sizeHint() const
{
    const int height = fontMetrics().height() + 8;
    return {fontMetrics().horizontalAdvance(text()) + 40, height};
}

QSize ProgressWidget::minimumSizeHint() const
{
    return {60, fontMetrics().height() + 8};
}

void ProgressWidget::paintEvent(QPaintEvent* event)
{
    Q_UNUSED(event)
    QStylePainter painter(this);
    QStyleOptionProgressBar option;
    option.initFrom(this);
    option.state |= QStyle::State_Horizontal;
    option.minimum = 0;
    option.maximum = 1000;
    // Scaled to 0..1000: the style takes ints, and flows may have more task runs than that.
    option.progress = m_maximum > 0 ? int(std::clamp<qint64>(m_value * 1000 / m_maximum, 0, 1000)) : 0;
    option.text = text();
    option.textAlignment = Qt::AlignCenter;
    option.textVisible = m_parts.isEmpty();
    painter.drawControl(QStyle::CE_ProgressBar, option);
    if (m_parts.isEmpty())
        return;
    // The other parts after the value's, in their colours, then the text over all.
    const QRect groove = option.rect.adjusted(1, 1, -1, -1);
    double at = groove.left() + double(option.progress) / 1000.0 * groove.width();
    for (const ProgressPart& part : m_parts) {
        const double width = std::clamp(part.fraction, 0.0, 1.0) * groove.width();
        const QRectF area(at, groove.top(), std::min(width, groove.right() + 1 - at), groove.height());
        if (area.width() > 0)
            painter.fillRect(area, part.color);
        at += width;
    }
    option.textVisible = true;
    painter.drawControl(QStyle::CE_ProgressBarLabel, option);
}

} // namespace flowdeck
