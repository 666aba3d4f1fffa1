#include "widgets/occupancychart.h"

#include <QPainter>
#include <QPainterPath>
#include <QSet>

#include <algorithm>

namespace flowdeck {

OccupancyChart::OccupancyChart(QWidget* parent)
    : QWidget(parent)
{
    setObjectName(QStringLiteral("occupancyChart"));
    setToolTip(tr("Occupied slots of each global limit over the last minute, as a share of its limit"));
}

OccupancyChart::~OccupancyChart() = default;

void OccupancyChart::addSample(const QHash<QString, QPair<int, int>>& occupiedAndLimit)
{
    m_samples.push_back(occupiedAndLimit);
    while (m_samples.size() > Samples)
        m_samples.pop_front();
    update();
}

QSize OccupancyChart::sizeHint() const
{
    return {320, fontMetrics().height() * 5};
}

QSize OccupancyChart::minimumSizeHint() const
{
    return {120, fontMetrics().height() * 3};
}

void OccupancyChart::paintEvent(QPaintEvent*)
{
    QPainter p(this);
    p.setRenderHint(QPainter::Antialiasing);
    const QPalette pal = palette();
    p.fillRect(rect(), pal.color(QPalette::Base));
    const int labelWidth = fontMetrics().horizontalAdvance(QStringLiteral("100 %")) + 6;
    const QRect area = rect().adjusted(labelWidth, 2, -2, -2);
    p.setPen(pal.color(QPalette::PlaceholderText));
    p.drawText(QRect(0, area.top(), labelWidth - 4, fontMetrics().height()), Qt::AlignRight | Qt::AlignTop,
               QStringLiteral("100 %"));
    p.drawLine(area.bottomLeft(), area.bottomRight());
    QStringList names;
    for (const auto& sample : m_samples) {
        for (auto it = sample.begin(); it != sample.end(); ++it) {
            if (!names.contains(it.key()))
                names << it.key();
        }
    }
    names.sort();
    // Colours from the palette's accents, one per limit, in name order.
    const QList<QColor> colours
        = {pal.color(QPalette::Highlight), QColor(0xd0, 0x70, 0x20), QColor(0x30, 0xa0, 0x60),
           QColor(0xa0, 0x40, 0xb0), QColor(0xc0, 0x30, 0x40)};
    const double step = double(area.width()) / double(Samples - 1);
    const double x0 = area.right() - step * double(m_samples.size() - 1);
    int legendX = area.left() + 4;
    for (qsizetype n = 0; n < names.size(); ++n) {
        const QColor colour = colours.at(n % colours.size());
        QPainterPath path;
        bool started = false;
        for (std::size_t i = 0; i < m_samples.size(); ++i) {
            const auto it = m_samples[i].constFind(names[n]);
            if (it == m_samples[i].constEnd()) {
                started = false;
                continue;
            }
            const double share = it->second > 0 ? std::min(1.0, double(it->first) / double(it->second))
                                                : (it->first > 0 ? 1.0 : 0.0);
            const QPointF point(x0 + step * double(i), area.bottom() - share * (area.height() - 2));
            if (started)
                path.lineTo(point);
            else
                path.moveTo(point);
            started = true;
        }
        p.setPen(QPen(colour, 1.5));
        p.drawPath(path);
        p.drawText(QPoint(legendX, area.top() + fontMetrics().ascent()), names[n]);
        legendX += fontMetrics().horizontalAdvance(names[n]) + 12;
    }
}

} // namespace flowdeck
