#include "widgets/sparklinewidget.h"

#include "style/statestyle.h"

#include <QPainter>

#include <algorithm>
#include <cmath>

namespace flowdeck {

SparklineWidget::SparklineWidget(QWidget* parent)
    : QWidget(parent)
{
    setSizePolicy(QSizePolicy::Expanding, QSizePolicy::Fixed);
    setToolTip(
        tr("Largest event-loop lag in each of the last 60 seconds; the dashed line is the stall threshold"));
}

SparklineWidget::~SparklineWidget() = default;

void SparklineWidget::setValues(std::vector<double> values, double thresholdMs)
{
    m_values = std::move(values);
    m_threshold = thresholdMs;
    update();
}

QSize SparklineWidget::sizeHint() const
{
    return {360, fontMetrics().height() * 5};
}

QSize SparklineWidget::minimumSizeHint() const
{
    return {120, fontMetrics().height() * 3};
}

void SparklineWidget::paintEvent(QPaintEvent* event)
{
    Q_UNUSED(event)
    QPainter p(this);
    const QPalette& pal = palette();
    const int labelWidth = fontMetrics().horizontalAdvance(QStringLiteral("0000 ms")) + 6;
    const QRect area = rect().adjusted(labelWidth, 2, -1, -fontMetrics().height() - 2);
    p.fillRect(area, pal.color(QPalette::Base));
    p.setPen(pal.color(QPalette::Mid));
    p.drawRect(area.adjusted(0, 0, -1, -1));

    const double peak = m_values.empty() ? 0.0 : *std::max_element(m_values.begin(), m_values.end());
    // Scale to the larger of the peak and a little above a typical lag, so idle noise stays small.
    double top = std::max({peak, 5.0, std::min(m_threshold, std::max(peak * 1.2, 5.0))});
    // Round up to 1, 2 or 5 times a power of ten, a scale people read at a glance.
    const double decade = std::pow(10.0, std::floor(std::log10(top)));
    top = top <= decade     ? decade
        : top <= 2 * decade ? 2 * decade
        : top <= 5 * decade ? 5 * decade
                            : 10 * decade;
    auto yOf = [&](double ms) { return area.bottom() - int(std::min(1.0, ms / top) * (area.height() - 2)); };

    p.setPen(pal.color(QPalette::WindowText));
    p.drawText(QRect(0, area.top() - 2, labelWidth - 4, fontMetrics().height()),
               Qt::AlignRight | Qt::AlignTop, tr("%1 ms").arg(top, 0, 'f', top < 10 ? 1 : 0));
    p.drawText(QRect(0, area.bottom() - fontMetrics().height() + 2, labelWidth - 4, fontMetrics().height()),
               Qt::AlignRight | Qt::AlignBottom, tr("0"));
    p.drawText(QRect(area.left(), area.bottom() + 2, area.width(), fontMetrics().height()), Qt::AlignLeft,
               tr("−60 s"));
    p.drawText(QRect(area.left(), area.bottom() + 2, area.width(), fontMetrics().height()), Qt::AlignRight,
               tr("now"));

    if (!m_values.empty()) {
        const double slot = double(area.width() - 2) / double(m_values.size());
        const QColor normal = pal.color(QPalette::Highlight);
        const QColor bad = stateColor(StateType::Failed);
        for (size_t i = 0; i < m_values.size(); ++i) {
            const double v = m_values[i];
            if (v <= 0)
                continue;
            const int x = area.left() + 1 + int(double(i) * slot);
            const int w = std::max(1, int(slot) - 1);
            const int y = yOf(v);
            p.fillRect(QRect(x, y, w, area.bottom() - y), v >= m_threshold ? bad : normal);
        }
    }
    if (m_threshold <= top) {
        const int y = yOf(m_threshold);
        p.setPen(QPen(stateColor(StateType::Failed), 1, Qt::DashLine));
        p.drawLine(area.left() + 1, y, area.right() - 1, y);
    }
}

} // namespace flowdeck
