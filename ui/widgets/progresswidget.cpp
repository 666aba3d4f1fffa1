#include "widgets/progresswidget.h"

#include <QStyleOptionProgressBar>
#include <QStylePainter>

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
    option.textVisible = true;
    option.textAlignment = Qt::AlignCenter;
    painter.drawControl(QStyle::CE_ProgressBar, option);
}

} // namespace flowdeck
