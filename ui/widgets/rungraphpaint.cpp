// The run graph's painting: nodes, and the edges drawn into tiles (on a pool thread ahead of need).
#include "context/appcontext.h"
#include "flow/subflows.h"
#include "run/flowrun.h"
#include "style/statestyle.h"
#include "widgets/rungraphparts.h"
#include "widgets/rungraphwidget.h"

#include <QFileInfo>
#include <QFutureWatcher>
#include <QHash>
#include <QKeyEvent>
#include <QPainter>
#include <QPainterPathStroker>
#include <QThreadPool>
#include <QTimer>
#include <QToolTip>
#include <QtConcurrent/QtConcurrentRun>

#include <algorithm>
#include <cmath>
#include <functional>
#include <limits>

namespace flowdeck {

namespace {

//! A count short enough to leave a node's title readable: 9999, 12.3k, 250k, 1.2M, rounded down (the
//! tooltip has the exact counts).
QString compactCount(qint64 n)
{
    if (n < 10'000)
        return QString::number(n);
    if (n < 100'000)
        return QStringLiteral("%1.%2k").arg(n / 1000).arg(n / 100 % 10);
    if (n < 1'000'000)
        return QStringLiteral("%1k").arg(n / 1000);
    return QStringLiteral("%1.%2M").arg(n / 1'000'000).arg(n / 100'000 % 10);
}

} // namespace

using namespace rungraph;

void RunGraphWidget::paintEvent(QPaintEvent* event)
{
    QPainter p(this);
    const QPalette& pal = palette();
    p.fillRect(event->rect(), pal.color(QPalette::Base));
    if (m_nodes.empty() || (!m_layoutReady && !m_keepPicture) || m_layout.rects.size() != m_nodes.size()) {
        p.setPen(pal.color(QPalette::PlaceholderText));
        const QString text
            = m_nodes.empty() ? tr("No flow to show.") : tr("Laying out %1 tasks…").arg(m_nodes.size());
        p.drawText(rect(), Qt::AlignCenter, text);
        return;
    }
    p.setRenderHint(QPainter::Antialiasing);
    const QRectF visible = QRectF(event->rect()).translated(-m_offset).adjusted(-2, -2, 2, 2);
    const QRectF visibleGraph(visible.topLeft() / m_zoom, visible.size() / m_zoom);

    // Edges from the tiles, under the nodes; the selected task's edges on top, in the highlight colour.
    const qreal ratio = devicePixelRatioF();
    if (!qFuzzyCompare(m_zoom * ratio, m_tileScale)) {
        // Keep the last complete picture to scale while this zoom's tiles are drawn.
        bool complete = !m_tiles.isEmpty() && !m_visibleTiles.isEmpty();
        for (int ty = m_visibleTiles.top(); complete && ty <= m_visibleTiles.bottom(); ++ty) {
            for (int tx = m_visibleTiles.left(); complete && tx <= m_visibleTiles.right(); ++tx)
                complete = m_tiles.contains(edgeKey(tx, ty));
        }
        if (complete) {
            m_oldTiles = std::move(m_tiles);
            m_oldTileScale = m_tileScale;
        }
        m_tiles.clear();
        m_tileScale = m_zoom * ratio;
    }
    // A tick repaints only the nodes that changed: the tiles under them, while what is visible (for
    // drawing ahead and the zoom's stand-in) is the whole widget.
    m_visibleTiles = tilesFor(rect());
    paintTiles(p, tilesFor(event->rect()));
    p.translate(m_offset);
    p.scale(m_zoom, m_zoom);
    const int selected = m_selected.isEmpty() ? -1 : nodeOf(m_selected);
    if (selected >= 0) {
        QPen pen(pal.color(QPalette::Highlight), 2.0);
        pen.setCosmetic(true);
        p.setPen(pen);
        p.setBrush(Qt::NoBrush);
        for (size_t e = 0; e < m_edgePaths.size(); ++e) {
            const GraphLayout::Edge& edge = m_layout.edges[e];
            if ((edge.from == selected || edge.to == selected) && m_edgeBounds[e].intersects(visibleGraph))
                p.drawPath(m_edgePaths[e]);
        }
    }

    for (size_t i = 0; i < m_nodes.size(); ++i) {
        if (m_layout.rects[i].intersects(visibleGraph))
            paintNode(p, int(i));
    }
    if (hasFocus() && m_focusNode >= 0) {
        p.resetTransform();
        QPen pen(pal.color(QPalette::Highlight), 1.5, Qt::DashLine);
        p.setPen(pen);
        p.setBrush(Qt::NoBrush);
        p.drawRoundedRect(focusRect().adjusted(-3, -3, 3, 3), 4, 4);
    }
    // The ring of tiles around these, drawn ahead for the next frames of a pan.
    if (!m_prefetch->isActive())
        m_prefetch->start();
}

void RunGraphWidget::paintTiles(QPainter& p, const QRect& visible)
{
    const qreal ratio = devicePixelRatioF();
    const double step = TileSize / ratio; // a tile's size in widget pixels
    for (int ty = visible.top(); ty <= visible.bottom(); ++ty) {
        for (int tx = visible.left(); tx <= visible.right(); ++tx) {
            const QPointF at = m_offset + QPointF(tx, ty) * step;
            const auto found = m_tiles.constFind(edgeKey(tx, ty));
            if (found != m_tiles.constEnd()) {
                p.drawImage(at, *found);
                continue;
            }
            if (m_oldTiles.isEmpty()) {
                p.drawImage(at, tile(tx, ty)); // nothing to stand in: drawn now
                continue;
            }
            // The previous zoom's tiles, scaled into this tile's place until it is drawn.
            const QRectF place(at, QSizeF(step, step));
            const double oldStep = TileSize / m_oldTileScale; // an old tile's size in graph units
            const QRectF graph((place.topLeft() - m_offset) / m_zoom, place.size() / m_zoom);
            p.save();
            p.setClipRect(place);
            p.setRenderHint(QPainter::SmoothPixmapTransform, false);
            const int x0 = int(std::floor(graph.left() / oldStep));
            const int y0 = int(std::floor(graph.top() / oldStep));
            const int x1 = int(std::floor(graph.right() / oldStep));
            const int y1 = int(std::floor(graph.bottom() / oldStep));
            for (int oy = y0; oy <= y1; ++oy) {
                for (int ox = x0; ox <= x1; ++ox) {
                    const auto old = m_oldTiles.constFind(edgeKey(ox, oy));
                    if (old == m_oldTiles.constEnd())
                        continue;
                    const QRectF target(m_offset + QPointF(ox, oy) * oldStep * m_zoom,
                                        QSizeF(oldStep, oldStep) * m_zoom);
                    p.drawImage(target, *old);
                }
            }
            p.restore();
        }
    }
}

int RunGraphWidget::pendingTiles() const
{
    if (!qFuzzyCompare(m_zoom * devicePixelRatioF(), m_tileScale))
        return 1; // not painted at this zoom yet
    int missing = 0;
    for (int ty = m_visibleTiles.top(); ty <= m_visibleTiles.bottom(); ++ty) {
        for (int tx = m_visibleTiles.left(); tx <= m_visibleTiles.right(); ++tx)
            missing += m_tiles.contains(edgeKey(tx, ty)) ? 0 : 1;
    }
    return missing;
}

QRect RunGraphWidget::tilesFor(const QRectF& widgetRect) const
{
    const qreal ratio = devicePixelRatioF();
    const QRectF device((widgetRect.topLeft() - m_offset) * ratio, widgetRect.size() * ratio);
    const QSizeF scene = m_layout.size * m_zoom * ratio;
    const int lastX = std::max(0, int(std::ceil(scene.width() / TileSize)) - 1);
    const int lastY = std::max(0, int(std::ceil(scene.height() / TileSize)) - 1);
    const int x0 = std::clamp(int(std::floor(device.left() / TileSize)), 0, lastX);
    const int y0 = std::clamp(int(std::floor(device.top() / TileSize)), 0, lastY);
    const int x1 = std::clamp(int(std::floor(device.right() / TileSize)), 0, lastX);
    const int y1 = std::clamp(int(std::floor(device.bottom() / TileSize)), 0, lastY);
    return QRect(QPoint(x0, y0), QPoint(x1, y1));
}

const QImage& RunGraphWidget::tile(int tx, int ty)
{
    const quint64 key = edgeKey(tx, ty);
    auto found = m_tiles.constFind(key);
    if (found != m_tiles.constEnd())
        return *found;
    QColor ink = palette().color(QPalette::WindowText);
    ink.setAlpha(110);
    return insertTile(
        key,
        drawTile(*m_art, tx, ty, m_tileScale, devicePixelRatioF(), palette().color(QPalette::Base), ink));
}

const QImage& RunGraphWidget::insertTile(quint64 key, QImage image)
{
    if (m_tiles.size() >= MaxTiles && !m_tiles.contains(key)) {
        // Forget the tile farthest from what is shown.
        const QPoint centre = m_visibleTiles.center();
        auto farthest = m_tiles.begin();
        int worst = -1;
        for (auto it = m_tiles.begin(); it != m_tiles.end(); ++it) {
            const int d
                = std::abs(int(it.key() >> 32) - centre.x()) + std::abs(int(quint32(it.key())) - centre.y());
            if (d > worst) {
                worst = d;
                farthest = it;
            }
        }
        m_tiles.erase(farthest);
    }
    return *m_tiles.insert(key, std::move(image));
}

QImage RunGraphWidget::drawTile(const EdgeArt& art, int tx, int ty, double scale, qreal ratio, QColor base,
                                QColor ink)
{
    QImage image(TileSize, TileSize, QImage::Format_ARGB32_Premultiplied);
    image.fill(base);
    {
        QPainter p(&image);
        p.translate(-tx * TileSize, -ty * TileSize);
        p.scale(scale, scale);
        const QRectF area(QPointF(tx, ty) * TileSize / scale, QSizeF(TileSize, TileSize) / scale);
        const QRectF margin = area.adjusted(-4, -4, 4, 4);
        // Dependencies solid; result reads dashed; the edge to a subflow dotted.
        std::array<QPen, 3> pens;
        for (QPen& pen : pens) {
            pen = QPen(ink, 1.2 * ratio);
            pen.setCosmetic(true);
        }
        pens[size_t(EdgeKind::Result)].setDashPattern({5, 3});
        pens[size_t(EdgeKind::Subflow)].setDashPattern({1.5, 2.5});
        pens[size_t(EdgeKind::Subflow)].setCapStyle(Qt::RoundCap);
        p.setBrush(Qt::NoBrush);
        // Piece by piece: a long edge's bounds cover many tiles, its pieces only their own. Level lines
        // need no antialiasing, and cost a tenth without it.
        std::vector<QLineF> lanes;
        for (size_t k = 0; k < art.lanes.size(); ++k) {
            lanes.clear();
            for (const QLineF& lane : art.lanes[k]) {
                if (lane.y1() >= margin.top() && lane.y1() <= margin.bottom() && lane.x2() >= margin.left()
                    && lane.x1() <= margin.right())
                    lanes.push_back(lane);
            }
            p.setPen(pens[k]);
            p.drawLines(lanes.data(), int(lanes.size()));
        }
        p.setRenderHint(QPainter::Antialiasing);
        EdgeKind current = EdgeKind::Dependency;
        p.setPen(pens[0]);
        for (const Curve& curve : art.curves) {
            if (!curve.bounds.intersects(margin))
                continue;
            if (curve.kind != current) {
                current = curve.kind;
                p.setPen(pens[size_t(current)]);
            }
            p.drawPath(curve.path);
        }
    }
    image.setDevicePixelRatio(ratio);
    return image;
}

void RunGraphWidget::prefetchTile()
{
    if (m_tileBusy || !isVisible() || !m_layoutReady || !m_poolArt || m_nodes.empty()
        || m_visibleTiles.isEmpty() || !qFuzzyCompare(m_zoom * devicePixelRatioF(), m_tileScale))
        return;
    // First the visible tiles the previous zoom stands in for, then the ring around them.
    std::optional<QPoint> next;
    for (int ty = m_visibleTiles.top(); ty <= m_visibleTiles.bottom() && !next; ++ty) {
        for (int tx = m_visibleTiles.left(); tx <= m_visibleTiles.right() && !next; ++tx) {
            if (!m_tiles.contains(edgeKey(tx, ty)))
                next = QPoint(tx, ty);
        }
    }
    if (!next) {
        m_oldTiles.clear();
        const QRect ring
            = m_visibleTiles.adjusted(-1, -1, 1, 1).intersected(tilesFor(QRectF(-1e9, -1e9, 2e9, 2e9)));
        for (int ty = ring.top(); ty <= ring.bottom() && !next; ++ty) {
            for (int tx = ring.left(); tx <= ring.right() && !next; ++tx) {
                if (!m_tiles.contains(edgeKey(tx, ty)) && m_tiles.size() < MaxTiles)
                    next = QPoint(tx, ty);
            }
        }
    }
    if (!next)
        return;
    if (!m_tileWatcher) {
        m_tileWatcher = new QFutureWatcher<QImage>(this);
        connect(m_tileWatcher, &QFutureWatcherBase::finished, this, &RunGraphWidget::tileDrawn);
    }
    m_tileBusy = true;
    m_tileKeyInFlight = edgeKey(next->x(), next->y());
    m_tileScaleInFlight = m_tileScale;
    m_tileGenerationInFlight = m_tileGeneration;
    QColor ink = palette().color(QPalette::WindowText);
    ink.setAlpha(110);
    m_tileWatcher->setFuture(
        QtConcurrent::run(QThreadPool::globalInstance(),
                          [art = m_poolArt, at = *next, scale = m_tileScale, ratio = devicePixelRatioF(),
                           base = palette().color(QPalette::Base),
                           ink] { return drawTile(*art, at.x(), at.y(), scale, ratio, base, ink); }));
}

void RunGraphWidget::tileDrawn()
{
    m_tileBusy = false;
    if (m_tileGenerationInFlight == m_tileGeneration && m_tileScaleInFlight == m_tileScale
        && !m_tiles.contains(m_tileKeyInFlight)) {
        insertTile(m_tileKeyInFlight, m_tileWatcher->result());
        const QPoint at(int(m_tileKeyInFlight >> 32), int(quint32(m_tileKeyInFlight)));
        if (m_visibleTiles.contains(at))
            update();
    }
    prefetchTile();
}

void RunGraphWidget::paintNode(QPainter& p, int index) const
{
    const QPalette& pal = palette();
    const Node& node = m_nodes[size_t(index)];
    const QRectF r = m_layout.rects[size_t(index)];
    const TaskStateCounts::Counts counts = countsOfNode(index);
    const bool selected = node.id == m_selected && node.subflowOf < 0;

    QColor accent = pal.color(QPalette::Mid);
    for (StateType t : AccentOrder) {
        if (counts.count(t) > 0) {
            accent = stateColor(t);
            break;
        }
    }
    QPen border(selected ? pal.color(QPalette::Highlight) : pal.color(QPalette::Mid), selected ? 2.5 : 1.0);
    border.setCosmetic(true);
    if (node.subflowOf >= 0)
        border.setStyle(Qt::DashLine); // another flow, not a task of this one
    p.setPen(border);
    p.setBrush(pal.color(node.subflowOf >= 0 ? QPalette::AlternateBase : QPalette::Button));
    // Level of detail: zoomed far out, a corner's curve is under a pixel; plain rects cost a fraction.
    const double zoom = p.worldTransform().m11();
    const bool farOut = zoom < 0.25;
    if (farOut) {
        p.setRenderHint(QPainter::Antialiasing, false);
        p.drawRect(r);
        p.fillRect(QRectF(r.left(), r.top(), 5, r.height()), accent);
    } else {
        p.drawRoundedRect(r, 5, 5);
        // The accent: a strip down the left side in the state that matters most.
        p.setPen(Qt::NoPen);
        p.setBrush(accent);
        p.drawRoundedRect(QRectF(r.left(), r.top(), 5, r.height()), 2, 2);
    }

    // The bar: each state's share of the task's task runs; not yet created in the mid colour.
    const QRectF bar(r.left() + 10, r.bottom() - 10, r.width() - 18, 5);
    const double total = double(std::max<qint64>(1, counts.total));
    double x = bar.left();
    for (StateType t : BarOrder) {
        const qint64 c = counts.count(t);
        if (c <= 0)
            continue;
        const double w = bar.width() * double(c) / total;
        p.fillRect(QRectF(x, bar.top(), w, bar.height()), stateColor(t));
        x += w;
    }
    if (x < bar.right())
        p.fillRect(QRectF(x, bar.top(), bar.right() - x, bar.height()), pal.color(QPalette::Mid));

    // An expanded node: a square per task run in its state, live.
    if (node.expanded && r.height() >= RunsTop + runRows(index) * RunCell) { // not the old layout's rect
        for (int i = 0; i < node.planned; ++i) {
            const QRectF cell = runCell(index, i);
            const bool created
                = m_run && node.runNode >= 0 && i < m_run->nodes[size_t(node.runNode)].materialized;
            p.fillRect(cell, created ? stateColor(runStateOf(index, i)) : pal.color(QPalette::Mid));
        }
    }

    if (farOut)
        p.setRenderHint(QPainter::Antialiasing);
    // Text only where it can be read (a 13 px title below 0.45 is under 6 px).
    if (zoom < 0.45)
        return;
    const QRectF expander = expanderOf(index);
    if (!expander.isEmpty()) {
        // ▸ collapsed, ▾ expanded.
        const QPointF c = expander.center();
        QPolygonF arrow;
        if (node.expanded)
            arrow << c + QPointF(-4, -2) << c + QPointF(4, -2) << c + QPointF(0, 3);
        else
            arrow << c + QPointF(-2, -4) << c + QPointF(3, 0) << c + QPointF(-2, 4);
        p.setBrush(pal.color(QPalette::ButtonText));
        p.drawPolygon(arrow);
    }
    QFont font = titleFont(p.font());
    p.setFont(font);
    p.setPen(pal.color(QPalette::ButtonText));
    const QRectF text(r.left() + TextLeft, r.top() + 4, r.width() - TextLeft - TextRight, 16);
    QString right;
    if ((m_run || m_countsGiven) && node.mapped)
        right = QStringLiteral("%1/%2").arg(compactCount(counts.count(StateType::Completed)),
                                            compactCount(counts.total));
    else if (node.mapped)
        right = QStringLiteral("×%1").arg(node.planned);
    const QFontMetricsF metrics(font);
    const double rightWidth = right.isEmpty() ? 0 : std::ceil(metrics.horizontalAdvance(right)) + 6;
    if (node.elidedFor != rightWidth) {
        node.elided = metrics.elidedText(node.id, Qt::ElideRight, text.width() - rightWidth);
        node.elidedFor = rightWidth;
    }
    p.drawText(text.adjusted(0, 0, -rightWidth, 0), Qt::AlignLeft | Qt::AlignVCenter, node.elided);
    if (!right.isEmpty()) {
        font.setBold(false);
        p.setFont(font);
        p.drawText(text, Qt::AlignRight | Qt::AlignVCenter, right);
    }
    if (zoom < 0.7)
        return; // the 11 px line below reads from here
    p.setFont(sublineFont(font));
    QColor dim = pal.color(QPalette::ButtonText);
    dim.setAlphaF(0.7);
    p.setPen(dim);
    const double subRight = expander.isEmpty() ? 0 : expander.width() + 4;
    const QRectF sub(r.left() + TextLeft, r.top() + 20, r.width() - TextLeft - TextRight - subRight, 14);
    p.drawText(sub, Qt::AlignLeft | Qt::AlignVCenter, node.subline);
}

} // namespace flowdeck
