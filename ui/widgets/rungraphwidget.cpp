#include "widgets/rungraphwidget.h"

#include "context/appcontext.h"
#include "style/statestyle.h"

#include <QFutureWatcher>
#include <QHash>
#include <QKeyEvent>
#include <QPainter>
#include <QThreadPool>
#include <QTimer>
#include <QToolTip>
#include <QtConcurrent/QtConcurrentRun>

#include <algorithm>
#include <cmath>
#include <functional>

namespace flowdeck {

namespace {

//! The order in which a node's bar stacks states: done work first, trouble last.
constexpr StateType BarOrder[] = {StateType::Completed, StateType::Running, StateType::Cancelling,
                                  StateType::Paused,    StateType::Pending, StateType::Scheduled,
                                  StateType::Cancelled, StateType::Failed,  StateType::Crashed};

//! The state that colours a node's edge: trouble first, then what is under way.
constexpr StateType AccentOrder[] = {StateType::Crashed,    StateType::Failed,  StateType::Running,
                                     StateType::Cancelling, StateType::Paused,  StateType::Cancelled,
                                     StateType::Scheduled,  StateType::Pending, StateType::Completed};

GraphLayout::Options layoutOptions()
{
    return GraphLayout::Options{};
}

QString limitText(const LimitUse& use)
{
    return use.occupy == 1 ? use.name : QStringLiteral("%1×%2").arg(use.name).arg(use.occupy);
}

} // namespace

RunGraphWidget::RunGraphWidget(AppContext* context, QWidget* parent)
    : QWidget(parent)
    , m_context(context)
    , m_counts(context)
    , m_prefetch(new QTimer(this))
{
    m_prefetch->setSingleShot(true);
    m_prefetch->setInterval(0);
    connect(m_prefetch, &QTimer::timeout, this, &RunGraphWidget::prefetchTile);
    setFocusPolicy(Qt::StrongFocus);
    setMouseTracking(false);
    setAttribute(Qt::WA_OpaquePaintEvent);
    setMinimumSize(120, 80);
}

RunGraphWidget::~RunGraphWidget()
{
    if (m_watcher) {
        // The layout in flight finishes on its pool thread; nothing waits for it.
        m_watcher->disconnect(this);
    }
}

void RunGraphWidget::clear()
{
    m_run = nullptr;
    m_counts.setFlowRun(nullptr);
    m_nodes.clear();
    m_edges.clear();
    m_selected.clear();
    adopt(GraphLayout{});
    ++m_layoutSerial; // a layout in flight is for what was shown before
}

void RunGraphWidget::setFlowRun(FlowRun* run)
{
    if (run == m_run && run)
        return;
    if (!run) {
        clear();
        return;
    }
    m_run = run;
    m_counts.setFlowRun(run);
    load(run->def, run);
}

void RunGraphWidget::setFlow(const FlowDefinition& flow)
{
    m_run = nullptr;
    m_counts.setFlowRun(nullptr);
    load(flow, nullptr);
}

void RunGraphWidget::load(const FlowDefinition& flow, FlowRun* run)
{
    m_selected.clear();
    m_userView = false;
    m_nodes.clear();
    m_edges.clear();
    const int n = int(flow.tasks.size());
    m_nodes.resize(size_t(n));
    QHash<QString, int> indexOf;
    for (int i = 0; i < n; ++i)
        indexOf.insert(flow.tasks[i].id, i);
    // Planned task runs: the map count, or the upstream's count for map_over (resolved in
    // dependency order, which may differ from the file's).
    std::vector<qint64> planned(size_t(n), -1);
    std::function<qint64(int, int)> plannedOf = [&](int i, int depth) -> qint64 {
        if (planned[size_t(i)] >= 0)
            return planned[size_t(i)];
        const TaskDef& task = flow.tasks[i];
        qint64 count = 1;
        if (task.map)
            count = *task.map;
        else if (!task.mapOver.isEmpty() && indexOf.contains(task.mapOver) && depth < n)
            count = plannedOf(indexOf.value(task.mapOver), depth + 1);
        planned[size_t(i)] = count;
        return count;
    };
    for (int i = 0; i < n; ++i) {
        const TaskDef& task = flow.tasks[i];
        Node& node = m_nodes[size_t(i)];
        node.id = task.id;
        node.kind = task.kind;
        node.tags = task.tags;
        for (const LimitUse& use : task.concurrency)
            node.limits << limitText(use);
        if (task.rateLimit)
            node.limits << tr("%1 (rate)").arg(limitText(*task.rateLimit));
        node.mapped = task.map.has_value() || !task.mapOver.isEmpty();
        node.planned = plannedOf(i, 0);
        for (const QString& dep : task.dependsOn) {
            if (indexOf.contains(dep))
                m_edges.emplace_back(indexOf.value(dep), i);
        }
        if (!task.mapOver.isEmpty() && indexOf.contains(task.mapOver)
            && !task.dependsOn.contains(task.mapOver))
            m_edges.emplace_back(indexOf.value(task.mapOver), i);
    }
    if (run) {
        for (const TaskNode& taskNode : run->nodes) {
            if (taskNode.def && taskNode.def->index >= 0 && taskNode.def->index < n) {
                Node& node = m_nodes[size_t(taskNode.def->index)];
                node.runNode = taskNode.index;
                node.planned = taskNode.count;
            }
        }
    }
    startLayout();
}

void RunGraphWidget::startLayout()
{
    const quint64 serial = ++m_layoutSerial;
    const int n = int(m_nodes.size());
    if (n < SyncLayoutBelow) {
        adopt(layoutGraph(n, m_edges, layoutOptions()));
        return;
    }
    m_layoutReady = false;
    update();
    if (!m_watcher) {
        m_watcher = new QFutureWatcher<GraphLayout>(this);
        connect(m_watcher, &QFutureWatcherBase::finished, this, [this] {
            if (m_watcher->property("serial").toULongLong() == m_layoutSerial)
                adopt(m_watcher->result());
        });
    }
    m_watcher->setProperty("serial", serial);
    m_watcher->setFuture(
        QtConcurrent::run(QThreadPool::globalInstance(), layoutGraph, n, m_edges, layoutOptions()));
}

void RunGraphWidget::adopt(GraphLayout layout)
{
    m_layout = std::move(layout);
    m_layoutReady = true;
    m_tiles.clear();
    m_edgePaths.clear();
    m_edgeBounds.clear();
    m_lanes.clear();
    m_curves.clear();
    m_edgePaths.reserve(m_layout.edges.size());
    m_edgeBounds.reserve(m_layout.edges.size());
    constexpr double Arrow = 6;
    for (const GraphLayout::Edge& edge : m_layout.edges) {
        QPainterPath path;
        const std::vector<QPointF>& pts = edge.points;
        path.moveTo(pts.front());
        for (size_t i = 0; i + 1 < pts.size(); ++i) {
            const QPointF a = pts[i];
            QPointF b = pts[i + 1];
            if (i + 2 == pts.size())
                b.rx() -= Arrow; // the arrowhead takes the last few pixels
            if (qFuzzyCompare(a.y(), b.y())) {
                path.lineTo(b);
                m_lanes.emplace_back(a, b);
            } else {
                const double mid = (a.x() + b.x()) / 2;
                path.cubicTo(QPointF(mid, a.y()), QPointF(mid, b.y()), b);
                QPainterPath piece(a);
                piece.cubicTo(QPointF(mid, a.y()), QPointF(mid, b.y()), b);
                m_curves.push_back({std::move(piece), QRectF(a, b).normalized()});
            }
        }
        const QPointF tip = pts.back();
        QPainterPath arrow(tip);
        arrow.lineTo(tip.x() - Arrow, tip.y() - Arrow / 2);
        arrow.lineTo(tip.x() - Arrow, tip.y() + Arrow / 2);
        arrow.closeSubpath();
        path.addPath(arrow);
        m_curves.push_back({std::move(arrow), QRectF(tip.x() - Arrow, tip.y() - Arrow / 2, Arrow, Arrow)});
        m_edgeBounds.push_back(path.controlPointRect());
        m_edgePaths.push_back(std::move(path));
    }
    if (!m_userView)
        fitAll();
    update();
    Q_EMIT layoutReady();
}

void RunGraphWidget::refresh()
{
    if (!m_run)
        return;
    if (!isVisible()) {
        m_stale = true;
        return;
    }
    m_stale = false;
    // A run of another process (read again from the store) or one that finished changed as a whole.
    if (m_context->history().isStored(m_run) || m_run->isTerminal()) {
        m_counts.recount();
        update();
        return;
    }
    if (m_counts.sync())
        update();
}

void RunGraphWidget::showEvent(QShowEvent* event)
{
    QWidget::showEvent(event);
    if (m_stale)
        refresh();
}

void RunGraphWidget::setSelectedTask(const QString& taskId)
{
    if (m_selected == taskId)
        return;
    m_selected = taskId;
    update();
}

int RunGraphWidget::nodeOf(const QString& taskId) const
{
    for (size_t i = 0; i < m_nodes.size(); ++i) {
        if (m_nodes[i].id == taskId)
            return int(i);
    }
    return -1;
}

QList<std::pair<QString, QString>> RunGraphWidget::edgeIds() const
{
    QList<std::pair<QString, QString>> ids;
    for (const GraphLayout::Edge& edge : m_layout.edges)
        ids.append({m_nodes[size_t(edge.from)].id, m_nodes[size_t(edge.to)].id});
    return ids;
}

QRectF RunGraphWidget::nodeRect(const QString& taskId) const
{
    const int node = nodeOf(taskId);
    if (node < 0 || !m_layoutReady || size_t(node) >= m_layout.rects.size())
        return {};
    const QRectF r = m_layout.rects[size_t(node)];
    return QRectF(m_offset + r.topLeft() * m_zoom, r.size() * m_zoom);
}

TaskStateCounts::Counts RunGraphWidget::countsOfNode(int node) const
{
    const Node& n = m_nodes[size_t(node)];
    if (m_run && n.runNode >= 0 && n.runNode < m_counts.nodeCount())
        return m_counts.of(n.runNode);
    TaskStateCounts::Counts counts;
    counts.total = n.planned;
    return counts;
}

TaskStateCounts::Counts RunGraphWidget::countsOf(const QString& taskId) const
{
    const int node = nodeOf(taskId);
    return node < 0 ? TaskStateCounts::Counts{} : countsOfNode(node);
}

QString RunGraphWidget::toolTipFor(const QString& taskId) const
{
    const int index = nodeOf(taskId);
    if (index < 0)
        return {};
    const Node& node = m_nodes[size_t(index)];
    const TaskStateCounts::Counts counts = countsOfNode(index);
    QStringList lines;
    lines << QStringLiteral("<b>%1</b> <small>(%2)</small>")
                 .arg(node.id.toHtmlEscaped(), node.kind.toHtmlEscaped());
    if (m_run) {
        lines << (counts.total == 1 ? tr("1 task run") : tr("%1 task runs").arg(counts.total));
        for (StateType t : BarOrder) {
            if (counts.count(t) > 0)
                lines << QStringLiteral("<span style=\"color:%1\">■</span> %2: %3")
                             .arg(stateColor(t).name(), stateLabel(t))
                             .arg(counts.count(t));
        }
        if (counts.total > counts.created)
            lines << tr("Not created yet: %1").arg(counts.total - counts.created);
    } else {
        lines << (node.mapped ? tr("Maps to %1 task runs").arg(node.planned) : tr("One task run"));
    }
    if (!node.tags.isEmpty())
        lines << tr("Tags: %1").arg(node.tags.join(QStringLiteral(", ")).toHtmlEscaped());
    if (!node.limits.isEmpty())
        lines << tr("Limits: %1").arg(node.limits.join(QStringLiteral(", ")).toHtmlEscaped());
    if (m_run)
        lines << QStringLiteral("<small>%1</small>")
                     .arg(tr("Click: show its task runs · double-click: open one"));
    return lines.join(QStringLiteral("<br>"));
}

void RunGraphWidget::zoomAt(double factor, QPointF anchor)
{
    const double zoom = std::clamp(m_zoom * factor, MinZoom, MaxZoom);
    const QPointF graphPoint = (anchor - m_offset) / m_zoom;
    m_zoom = zoom;
    m_offset = anchor - graphPoint * m_zoom;
    m_userView = true;
    update();
}

void RunGraphWidget::zoomIn()
{
    zoomAt(1.25, QRectF(rect()).center());
}

void RunGraphWidget::zoomOut()
{
    zoomAt(1 / 1.25, QRectF(rect()).center());
}

void RunGraphWidget::fitAll()
{
    m_userView = false;
    const QSizeF size = m_layout.size;
    constexpr double Margin = 16;
    if (size.isEmpty() || width() <= 2 * Margin || height() <= 2 * Margin) {
        m_zoom = 1;
        m_offset = QPointF(Margin, Margin);
    } else {
        m_zoom = std::clamp(
            std::min((width() - 2 * Margin) / size.width(), (height() - 2 * Margin) / size.height()), MinZoom,
            1.5);
        m_offset = QPointF((width() - size.width() * m_zoom) / 2, (height() - size.height() * m_zoom) / 2);
    }
    update();
}

void RunGraphWidget::panBy(QPointF delta)
{
    m_offset += delta;
    m_userView = true;
    update();
}

int RunGraphWidget::nodeAtWidget(QPointF pos) const
{
    if (!m_layoutReady)
        return -1;
    return m_layout.nodeAt((pos - m_offset) / m_zoom);
}

void RunGraphWidget::resizeEvent(QResizeEvent* event)
{
    QWidget::resizeEvent(event);
    if (!m_userView)
        fitAll();
}

void RunGraphWidget::wheelEvent(QWheelEvent* event)
{
    const double steps = event->angleDelta().y() / 120.0;
    if (steps == 0) {
        event->ignore();
        return;
    }
    zoomAt(std::pow(1.2, steps), event->position());
    event->accept();
}

void RunGraphWidget::keyPressEvent(QKeyEvent* event)
{
    switch (event->key()) {
    case Qt::Key_Plus:
    case Qt::Key_Equal:
        zoomIn();
        break;
    case Qt::Key_Minus:
        zoomOut();
        break;
    case Qt::Key_0:
        fitAll();
        break;
    case Qt::Key_Left:
        panBy({40, 0});
        break;
    case Qt::Key_Right:
        panBy({-40, 0});
        break;
    case Qt::Key_Up:
        panBy({0, 40});
        break;
    case Qt::Key_Down:
        panBy({0, -40});
        break;
    default:
        QWidget::keyPressEvent(event);
        return;
    }
    event->accept();
}

void RunGraphWidget::mousePressEvent(QMouseEvent* event)
{
    if (event->button() != Qt::LeftButton) {
        QWidget::mousePressEvent(event);
        return;
    }
    m_pressAt = event->position();
    m_lastDrag = event->position();
    m_dragged = false;
}

void RunGraphWidget::mouseMoveEvent(QMouseEvent* event)
{
    if (!m_pressAt || !(event->buttons() & Qt::LeftButton))
        return;
    if (!m_dragged && (event->position() - *m_pressAt).manhattanLength() >= 4) {
        m_dragged = true;
        setCursor(Qt::ClosedHandCursor);
    }
    if (m_dragged) {
        panBy(event->position() - m_lastDrag);
        m_lastDrag = event->position();
    }
}

void RunGraphWidget::mouseReleaseEvent(QMouseEvent* event)
{
    if (event->button() != Qt::LeftButton || !m_pressAt)
        return;
    const bool click = !m_dragged;
    m_pressAt.reset();
    m_dragged = false;
    unsetCursor();
    if (click) {
        const int node = nodeAtWidget(event->position());
        Q_EMIT taskClicked(node >= 0 ? m_nodes[size_t(node)].id : QString());
    }
}

void RunGraphWidget::mouseDoubleClickEvent(QMouseEvent* event)
{
    const int node = event->button() == Qt::LeftButton ? nodeAtWidget(event->position()) : -1;
    if (node >= 0)
        Q_EMIT taskActivated(m_nodes[size_t(node)].id);
}

bool RunGraphWidget::event(QEvent* event)
{
    if (event->type() == QEvent::ToolTip) {
        const auto* help = static_cast<QHelpEvent*>(event);
        const int node = nodeAtWidget(help->pos());
        if (node < 0) {
            QToolTip::hideText();
            event->ignore();
        } else {
            QToolTip::showText(help->globalPos(), toolTipFor(m_nodes[size_t(node)].id), this,
                               nodeRect(m_nodes[size_t(node)].id).toAlignedRect());
        }
        return true;
    }
    return QWidget::event(event);
}

void RunGraphWidget::paintEvent(QPaintEvent* event)
{
    QPainter p(this);
    const QPalette& pal = palette();
    p.fillRect(event->rect(), pal.color(QPalette::Base));
    if (m_nodes.empty() || !m_layoutReady || m_layout.rects.size() != m_nodes.size()) {
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
        m_tiles.clear();
        m_tileScale = m_zoom * ratio;
    }
    m_visibleTiles = tilesFor(event->rect());
    for (int ty = m_visibleTiles.top(); ty <= m_visibleTiles.bottom(); ++ty) {
        for (int tx = m_visibleTiles.left(); tx <= m_visibleTiles.right(); ++tx)
            p.drawImage(m_offset + QPointF(tx, ty) * (TileSize / ratio), tile(tx, ty));
    }
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

    // Text only where it can be read.
    const bool detailed = m_zoom >= 0.3;
    for (size_t i = 0; i < m_nodes.size(); ++i) {
        if (m_layout.rects[i].intersects(visibleGraph))
            paintNode(p, int(i), detailed);
    }
    // The ring of tiles around these, drawn ahead for the next frames of a pan.
    if (!m_prefetch->isActive())
        m_prefetch->start();
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
    const quint64 key = (quint64(quint32(tx)) << 32) | quint32(ty);
    auto found = m_tiles.find(key);
    if (found != m_tiles.end())
        return *found;
    if (m_tiles.size() >= MaxTiles) {
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
    const qreal ratio = devicePixelRatioF();
    QImage image(TileSize, TileSize, QImage::Format_ARGB32_Premultiplied);
    image.fill(palette().color(QPalette::Base));
    {
        QPainter p(&image);
        p.setRenderHint(QPainter::Antialiasing);
        p.translate(-tx * TileSize, -ty * TileSize);
        p.scale(m_tileScale, m_tileScale);
        const QRectF area(QPointF(tx, ty) * TileSize / m_tileScale, QSizeF(TileSize, TileSize) / m_tileScale);
        const QRectF margin = area.adjusted(-4, -4, 4, 4);
        QColor colour = palette().color(QPalette::WindowText);
        colour.setAlpha(110);
        QPen pen(colour, 1.2 * ratio);
        pen.setCosmetic(true);
        p.setPen(pen);
        p.setBrush(Qt::NoBrush);
        // Piece by piece: a long edge's bounds cover many tiles, its pieces only their own.
        std::vector<QLineF> lanes;
        for (const QLineF& lane : m_lanes) {
            if (lane.y1() >= margin.top() && lane.y1() <= margin.bottom() && lane.x2() >= margin.left()
                && lane.x1() <= margin.right())
                lanes.push_back(lane);
        }
        // Level lines need no antialiasing, and cost a tenth without it.
        p.setRenderHint(QPainter::Antialiasing, false);
        p.drawLines(lanes.data(), int(lanes.size()));
        p.setRenderHint(QPainter::Antialiasing);
        for (const Curve& curve : m_curves) {
            if (curve.bounds.intersects(margin))
                p.drawPath(curve.path);
        }
    }
    image.setDevicePixelRatio(ratio);
    return *m_tiles.insert(key, std::move(image));
}

void RunGraphWidget::prefetchTile()
{
    if (!isVisible() || !m_layoutReady || m_nodes.empty() || m_visibleTiles.isEmpty()
        || !qFuzzyCompare(m_zoom * devicePixelRatioF(), m_tileScale))
        return;
    const QRect ring
        = m_visibleTiles.adjusted(-1, -1, 1, 1).intersected(tilesFor(QRectF(-1e9, -1e9, 2e9, 2e9)));
    for (int ty = ring.top(); ty <= ring.bottom(); ++ty) {
        for (int tx = ring.left(); tx <= ring.right(); ++tx) {
            const quint64 key = (quint64(quint32(tx)) << 32) | quint32(ty);
            if (!m_tiles.contains(key) && m_tiles.size() < MaxTiles) {
                tile(tx, ty);
                m_prefetch->start(); // one tile per event: the loop runs in between
                return;
            }
        }
    }
}

void RunGraphWidget::changeEvent(QEvent* event)
{
    if (event->type() == QEvent::PaletteChange) {
        m_tiles.clear();
        update();
    }
    QWidget::changeEvent(event);
}

void RunGraphWidget::paintNode(QPainter& p, int index, bool detailed) const
{
    const QPalette& pal = palette();
    const Node& node = m_nodes[size_t(index)];
    const QRectF r = m_layout.rects[size_t(index)];
    const TaskStateCounts::Counts counts = countsOfNode(index);
    const bool selected = node.id == m_selected;

    QColor accent = pal.color(QPalette::Mid);
    for (StateType t : AccentOrder) {
        if (counts.count(t) > 0) {
            accent = stateColor(t);
            break;
        }
    }
    QPen border(selected ? pal.color(QPalette::Highlight) : pal.color(QPalette::Mid), selected ? 2.5 : 1.0);
    border.setCosmetic(true);
    p.setPen(border);
    p.setBrush(pal.color(QPalette::Button));
    p.drawRoundedRect(r, 5, 5);
    // The accent: a strip down the left side in the state that matters most.
    p.setPen(Qt::NoPen);
    p.setBrush(accent);
    p.drawRoundedRect(QRectF(r.left(), r.top(), 5, r.height()), 2, 2);

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

    if (!detailed)
        return;
    QFont font = p.font();
    font.setPixelSize(13);
    font.setBold(true);
    p.setFont(font);
    p.setPen(pal.color(QPalette::ButtonText));
    const QRectF text(r.left() + 10, r.top() + 4, r.width() - 18, 16);
    QString right;
    if (m_run && node.mapped)
        right = QStringLiteral("%1/%2").arg(counts.count(StateType::Completed)).arg(counts.total);
    else if (!m_run && node.mapped)
        right = QStringLiteral("×%1").arg(node.planned);
    const QFontMetricsF metrics(font);
    const double rightWidth = right.isEmpty() ? 0 : metrics.horizontalAdvance(right) + 6;
    p.drawText(text.adjusted(0, 0, -rightWidth, 0), Qt::AlignLeft | Qt::AlignVCenter,
               metrics.elidedText(node.id, Qt::ElideRight, text.width() - rightWidth));
    if (!right.isEmpty()) {
        font.setBold(false);
        p.setFont(font);
        p.drawText(text, Qt::AlignRight | Qt::AlignVCenter, right);
    }
    font.setBold(false);
    font.setPixelSize(11);
    p.setFont(font);
    QColor dim = pal.color(QPalette::ButtonText);
    dim.setAlphaF(0.7);
    p.setPen(dim);
    QStringList parts{node.kind};
    if (!node.tags.isEmpty())
        parts << node.tags.join(QStringLiteral(", "));
    if (!node.limits.isEmpty())
        parts << node.limits.join(QStringLiteral(", "));
    const QRectF sub(r.left() + 10, r.top() + 20, r.width() - 18, 14);
    p.drawText(
        sub, Qt::AlignLeft | Qt::AlignVCenter,
        QFontMetricsF(font).elidedText(parts.join(QStringLiteral(" · ")), Qt::ElideRight, sub.width()));
}

} // namespace flowdeck
