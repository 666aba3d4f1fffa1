#include "widgets/rungraphwidget.h"

#include "context/appcontext.h"
#include "flow/subflows.h"
#include "run/flowrun.h"
#include "style/statestyle.h"

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

//! The order in which a node's bar stacks states: done work first, trouble last.
constexpr StateType BarOrder[] = {StateType::Completed, StateType::Running, StateType::Cancelling,
                                  StateType::Paused,    StateType::Pending, StateType::Scheduled,
                                  StateType::Cancelled, StateType::Failed,  StateType::Crashed};

//! The state that colours a node's edge: trouble first, then what is under way.
constexpr StateType AccentOrder[] = {StateType::Crashed,    StateType::Failed,  StateType::Running,
                                     StateType::Cancelling, StateType::Paused,  StateType::Cancelled,
                                     StateType::Scheduled,  StateType::Pending, StateType::Completed};

//! Run squares of an expanded node: RunColumns to a row, RunCell graph units apart, below the text.
constexpr int RunColumns = 10;
constexpr double RunCell = 15;
constexpr double RunsTop = 36;

quint64 edgeKey(int from, int to)
{
    return (quint64(quint32(from)) << 32) | quint32(to);
}

//! The title's font; the counts' is the same, not bold.
QFont titleFont(QFont font)
{
    font.setPixelSize(13);
    font.setBold(true);
    return font;
}

QFont sublineFont(QFont font)
{
    font.setPixelSize(11);
    font.setBold(false);
    return font;
}

constexpr double TextLeft = 10;
constexpr double TextRight = 8;

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
    // A layout or tile in flight finishes on its pool thread; nothing waits for it.
    if (m_watcher)
        m_watcher->disconnect(this);
    if (m_tileWatcher)
        m_tileWatcher->disconnect(this);
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
    m_keepPicture = false;
    m_shownCounts.clear();
    m_focusNode = -1;
    m_focusRun = -1;
    m_nodes.clear();
    m_edges.clear();
    m_edgeKinds.clear();
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
        node.resultsRead = task.resultsRead;
        // A result read is a dependency too (the parser adds it to depends_on): drawn as one.
        const auto addEdge = [&](int from, bool result) {
            m_edges.emplace_back(from, i);
            m_edgeKinds.insert(edgeKey(from, i), result ? EdgeKind::Result : EdgeKind::Dependency);
        };
        for (const QString& dep : task.dependsOn) {
            if (indexOf.contains(dep))
                addEdge(indexOf.value(dep), task.resultsRead.contains(dep));
        }
        if (!task.mapOver.isEmpty() && indexOf.contains(task.mapOver)
            && !task.dependsOn.contains(task.mapOver))
            addEdge(indexOf.value(task.mapOver), task.readsUpstreamResult);
    }
    // The flow a subflow task runs: a node of its own after the task.
    for (int i = 0; i < n; ++i) {
        const TaskDef& task = flow.tasks[i];
        if (task.kind != subflowKindName())
            continue;
        const QString reference = task.config.value(subflowKindName()).toString();
        if (reference.isEmpty())
            continue;
        Node child;
        child.id = reference.startsWith(QStringLiteral("code:")) ? reference.mid(5)
                                                                 : QFileInfo(reference).fileName();
        child.kind = tr("subflow");
        child.subflowOf = i;
        child.planned = m_nodes[size_t(i)].planned;
        child.tags = QStringList{reference};
        const int index = int(m_nodes.size());
        m_nodes.push_back(std::move(child));
        m_edges.emplace_back(i, index);
        m_edgeKinds.insert(edgeKey(i, index), EdgeKind::Subflow);
    }
    const QFont sub = sublineFont(font());
    const QFontMetricsF subMetrics(sub);
    const double textWidth = layoutOptions().nodeWidth - TextLeft - TextRight;
    for (Node& node : m_nodes) {
        QStringList parts{node.kind};
        if (node.subflowOf >= 0) {
            parts << tr("run by %1").arg(m_nodes[size_t(node.subflowOf)].id);
        } else {
            if (!node.tags.isEmpty())
                parts << node.tags.join(QStringLiteral(", "));
            if (!node.limits.isEmpty())
                parts << node.limits.join(QStringLiteral(", "));
        }
        // A mapped task keeps room for its expander at the end of this line.
        node.subline = subMetrics.elidedText(parts.join(QStringLiteral(" · ")), Qt::ElideRight,
                                             node.mapped ? textWidth - 18 : textWidth);
    }
    if (run) {
        for (const TaskNode& taskNode : run->nodes) {
            if (taskNode.def && taskNode.def->index >= 0 && taskNode.def->index < n) {
                Node& node = m_nodes[size_t(taskNode.def->index)];
                node.runNode = taskNode.index;
                node.planned = taskNode.count;
            }
        }
        for (Node& node : m_nodes) {
            if (node.subflowOf >= 0)
                node.planned = m_nodes[size_t(node.subflowOf)].planned;
        }
    }
    startLayout();
}

void RunGraphWidget::startLayout()
{
    const quint64 serial = ++m_layoutSerial;
    const int n = int(m_nodes.size());
    GraphLayout::Options options = layoutOptions();
    for (int i = 0; i < n; ++i) {
        if (m_nodes[size_t(i)].expanded) {
            options.nodeHeights.resize(size_t(n), options.nodeHeight);
            options.nodeHeights[size_t(i)] = options.nodeHeight + runRows(i) * RunCell;
        }
    }
    if (n < SyncLayoutBelow) {
        adopt(layoutGraph(n, m_edges, options));
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
        QtConcurrent::run(QThreadPool::globalInstance(), layoutGraph, n, m_edges, std::move(options)));
}

void RunGraphWidget::adopt(GraphLayout layout)
{
    m_layout = std::move(layout);
    m_layoutReady = true;
    m_keepPicture = false;
    m_tiles.clear();
    m_oldTiles.clear();
    ++m_tileGeneration;
    m_edgePaths.clear();
    m_edgeBounds.clear();
    auto art = std::make_shared<EdgeArt>();
    m_edgePaths.reserve(m_layout.edges.size());
    m_edgeBounds.reserve(m_layout.edges.size());
    constexpr double Arrow = 6;
    for (const GraphLayout::Edge& edge : m_layout.edges) {
        const EdgeKind kind = kindOf(edge.from, edge.to);
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
                art->lanes[size_t(kind)].emplace_back(a, b);
            } else {
                const double mid = (a.x() + b.x()) / 2;
                path.cubicTo(QPointF(mid, a.y()), QPointF(mid, b.y()), b);
                QPainterPath piece(a);
                piece.cubicTo(QPointF(mid, a.y()), QPointF(mid, b.y()), b);
                art->curves.push_back({std::move(piece), QRectF(a, b).normalized(), kind});
            }
        }
        const QPointF tip = pts.back();
        QPainterPath arrow(tip);
        arrow.lineTo(tip.x() - Arrow, tip.y() - Arrow / 2);
        arrow.lineTo(tip.x() - Arrow, tip.y() + Arrow / 2);
        arrow.closeSubpath();
        path.addPath(arrow);
        art->curves.push_back({std::move(arrow), QRectF(tip.x() - Arrow, tip.y() - Arrow / 2, Arrow, Arrow),
                               EdgeKind::Dependency});
        m_edgeBounds.push_back(path.controlPointRect());
        m_edgePaths.push_back(std::move(path));
    }
    // The pool thread draws from a copy of its own: a QPainterPath fills caches lazily when drawn, so
    // the GUI thread (drawing a tile now) and the pool must not share one.
    auto poolArt = std::make_shared<EdgeArt>();
    poolArt->lanes = art->lanes;
    poolArt->curves.reserve(art->curves.size());
    for (const Curve& curve : art->curves) {
        QPainterPath copy;
        copy.addPath(curve.path);
        poolArt->curves.push_back({std::move(copy), curve.bounds, curve.kind});
    }
    m_art = std::move(art);
    m_poolArt = std::move(poolArt);
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
        updateChangedNodes();
}

void RunGraphWidget::updateChangedNodes()
{
    // Only the nodes whose counts moved are painted again: a tick of a 500-task graph where a few
    // tasks progress repaints those few, not the widget.
    m_shownCounts.resize(m_nodes.size());
    for (size_t i = 0; i < m_nodes.size(); ++i) {
        const TaskStateCounts::Counts counts = countsOfNode(int(i));
        TaskStateCounts::Counts& shown = m_shownCounts[i];
        if (counts.byType == shown.byType && counts.total == shown.total && counts.created == shown.created)
            continue;
        shown = counts;
        if (!m_layoutReady || i >= m_layout.rects.size()) {
            update();
            continue;
        }
        const QRectF r = m_layout.rects[i];
        update(QRectF(m_offset + r.topLeft() * m_zoom, r.size() * m_zoom)
                   .toAlignedRect()
                   .adjusted(-4, -4, 4, 4));
    }
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
        if (m_nodes[i].subflowOf < 0 && m_nodes[i].id == taskId)
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
    if (n.subflowOf >= 0)
        return countsOfNode(n.subflowOf); // one subflow run per task run
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
    if (!node.resultsRead.isEmpty())
        lines
            << tr("Reads the result of %1").arg(node.resultsRead.join(QStringLiteral(", ")).toHtmlEscaped());
    if (!node.tags.isEmpty())
        lines << tr("Tags: %1").arg(node.tags.join(QStringLiteral(", ")).toHtmlEscaped());
    if (!node.limits.isEmpty())
        lines << tr("Limits: %1").arg(node.limits.join(QStringLiteral(", ")).toHtmlEscaped());
    if (m_run) {
        QString hint = tr("Click: show its task runs · double-click: open one");
        if (canExpandNode(index))
            hint += node.expanded ? tr(" · ▾ or Space: collapse") : tr(" · ▸ or Space: show each task run");
        lines << QStringLiteral("<small>%1</small>").arg(hint);
    }
    return lines.join(QStringLiteral("<br>"));
}

QString RunGraphWidget::toolTipAt(QPointF pos) const
{
    const Hit hit = hitAt(pos);
    if (hit.node >= 0) {
        const Node& node = m_nodes[size_t(hit.node)];
        if (node.subflowOf >= 0) {
            const QString task = m_nodes[size_t(node.subflowOf)].id;
            QString text
                = tr("<b>%1</b><br>The flow %2 runs as a subflow<br>%3")
                      .arg(node.id.toHtmlEscaped(), task.toHtmlEscaped(), node.tags.value(0).toHtmlEscaped());
            if (m_run)
                text += QStringLiteral("<br><small>%1</small>").arg(tr("Double-click: open its run"));
            return text;
        }
        if (hit.run >= 0) {
            const StateType state = runStateOf(hit.node, hit.run);
            const bool created = m_run && hit.run < m_run->nodes[size_t(node.runNode)].materialized;
            return tr("<b>%1[%2]</b><br>%3<br><small>Double-click: open it</small>")
                .arg(node.id.toHtmlEscaped())
                .arg(hit.run)
                .arg(created ? stateLabel(state) : tr("Not created yet"));
        }
        return toolTipFor(node.id);
    }
    const int edge = edgeAt(pos);
    if (edge < 0)
        return {};
    const GraphLayout::Edge& e = m_layout.edges[size_t(edge)];
    const QString from = m_nodes[size_t(e.from)].id.toHtmlEscaped();
    const QString to = m_nodes[size_t(e.to)].id.toHtmlEscaped();
    switch (kindOf(e.from, e.to)) {
    case EdgeKind::Result:
        return tr("<b>%1</b> reads the result of <b>%2</b>").arg(to, from);
    case EdgeKind::Subflow:
        return tr("<b>%1</b> runs the flow <b>%2</b>").arg(from, to);
    case EdgeKind::Dependency:
        break;
    }
    return tr("<b>%1</b> waits for <b>%2</b>").arg(to, from);
}

RunGraphWidget::EdgeKind RunGraphWidget::kindOf(int from, int to) const
{
    return m_edgeKinds.value(edgeKey(from, to), EdgeKind::Dependency);
}

std::optional<RunGraphWidget::EdgeKind> RunGraphWidget::edgeKind(const QString& from, const QString& to) const
{
    for (const GraphLayout::Edge& edge : m_layout.edges) {
        if (m_nodes[size_t(edge.from)].id == from && m_nodes[size_t(edge.to)].id == to)
            return kindOf(edge.from, edge.to);
    }
    return std::nullopt;
}

QPointF RunGraphWidget::edgeMidpoint(const QString& from, const QString& to) const
{
    for (size_t e = 0; e < m_layout.edges.size() && e < m_edgePaths.size(); ++e) {
        const GraphLayout::Edge& edge = m_layout.edges[e];
        if (m_nodes[size_t(edge.from)].id == from && m_nodes[size_t(edge.to)].id == to) {
            // The middle of the first piece: the part between the two columns.
            const QPointF a = edge.points[0];
            const QPointF b = edge.points[1];
            return m_offset + (a + b) / 2 * m_zoom;
        }
    }
    return {};
}

int RunGraphWidget::edgeAt(QPointF pos) const
{
    if (!m_layoutReady)
        return -1;
    const QPointF point = (pos - m_offset) / m_zoom;
    const double reach = 4 / m_zoom;
    const QRectF near(point - QPointF(reach, reach), QSizeF(2 * reach, 2 * reach));
    QPainterPathStroker stroker;
    stroker.setWidth(2 * reach);
    for (size_t e = 0; e < m_edgePaths.size(); ++e) {
        if (m_edgeBounds[e].intersects(near) && stroker.createStroke(m_edgePaths[e]).contains(point))
            return int(e);
    }
    return -1;
}

bool RunGraphWidget::canExpandNode(int node) const
{
    const Node& n = m_nodes[size_t(node)];
    return m_run && n.mapped && n.subflowOf < 0 && n.runNode >= 0 && n.planned > 0
        && n.planned <= ExpandLimit;
}

bool RunGraphWidget::canExpand(const QString& taskId) const
{
    const int node = nodeOf(taskId);
    return node >= 0 && canExpandNode(node);
}

bool RunGraphWidget::isExpanded(const QString& taskId) const
{
    const int node = nodeOf(taskId);
    return node >= 0 && m_nodes[size_t(node)].expanded;
}

void RunGraphWidget::setExpanded(const QString& taskId, bool expanded)
{
    const int node = nodeOf(taskId);
    if (node < 0 || m_nodes[size_t(node)].expanded == expanded || (expanded && !canExpandNode(node)))
        return;
    m_nodes[size_t(node)].expanded = expanded;
    if (!expanded && m_focusNode == node)
        m_focusRun = -1;
    m_keepPicture = true; // the same nodes: the old picture stays while a big flow is laid out again
    startLayout();
}

int RunGraphWidget::runRows(int node) const
{
    return int((m_nodes[size_t(node)].planned + RunColumns - 1) / RunColumns);
}

QRectF RunGraphWidget::expanderOf(int node) const
{
    if (!canExpandNode(node) || size_t(node) >= m_layout.rects.size())
        return {};
    const QRectF r = m_layout.rects[size_t(node)];
    return QRectF(r.right() - TextRight - 14, r.top() + 20, 14, 14);
}

QRectF RunGraphWidget::runCell(int node, int mapIndex) const
{
    const QRectF r = m_layout.rects[size_t(node)];
    return QRectF(r.left() + TextLeft + (mapIndex % RunColumns) * RunCell,
                  r.top() + RunsTop + (mapIndex / RunColumns) * RunCell, RunCell - 2, RunCell - 2);
}

QRectF RunGraphWidget::expanderRect(const QString& taskId) const
{
    const int node = nodeOf(taskId);
    if (node < 0 || !m_layoutReady)
        return {};
    const QRectF r = expanderOf(node);
    return r.isEmpty() ? QRectF() : QRectF(m_offset + r.topLeft() * m_zoom, r.size() * m_zoom);
}

QRectF RunGraphWidget::runRect(const QString& taskId, int mapIndex) const
{
    const int node = nodeOf(taskId);
    if (node < 0 || !m_layoutReady || !m_nodes[size_t(node)].expanded || mapIndex < 0
        || mapIndex >= m_nodes[size_t(node)].planned || size_t(node) >= m_layout.rects.size())
        return {};
    const QRectF r = runCell(node, mapIndex);
    return QRectF(m_offset + r.topLeft() * m_zoom, r.size() * m_zoom);
}

StateType RunGraphWidget::runStateOf(int node, int mapIndex) const
{
    const Node& n = m_nodes[size_t(node)];
    if (!m_run || n.runNode < 0 || size_t(n.runNode) >= m_run->nodes.size())
        return StateType::Pending;
    const TaskNode& taskNode = m_run->nodes[size_t(n.runNode)];
    return mapIndex >= 0 && mapIndex < taskNode.materialized ? taskNode.runs[size_t(mapIndex)].type
                                                             : StateType::Pending;
}

StateType RunGraphWidget::runState(const QString& taskId, int mapIndex) const
{
    const int node = nodeOf(taskId);
    return node < 0 ? StateType::Pending : runStateOf(node, mapIndex);
}

int RunGraphWidget::subflowNodeOf(int node) const
{
    for (size_t i = 0; i < m_nodes.size(); ++i) {
        if (m_nodes[i].subflowOf == node)
            return int(i);
    }
    return -1;
}

QRectF RunGraphWidget::subflowRect(const QString& taskId) const
{
    const int node = nodeOf(taskId);
    const int child = node < 0 ? -1 : subflowNodeOf(node);
    if (child < 0 || !m_layoutReady || size_t(child) >= m_layout.rects.size())
        return {};
    const QRectF r = m_layout.rects[size_t(child)];
    return QRectF(m_offset + r.topLeft() * m_zoom, r.size() * m_zoom);
}

QString RunGraphWidget::focusedTask() const
{
    if (m_focusNode < 0 || size_t(m_focusNode) >= m_nodes.size())
        return {};
    const Node& node = m_nodes[size_t(m_focusNode)];
    return node.subflowOf >= 0 ? m_nodes[size_t(node.subflowOf)].id : node.id;
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

RunGraphWidget::Hit RunGraphWidget::hitAt(QPointF pos) const
{
    Hit hit;
    hit.node = nodeAtWidget(pos);
    if (hit.node < 0 || size_t(hit.node) >= m_nodes.size())
        return Hit{};
    const QPointF point = (pos - m_offset) / m_zoom;
    const QRectF expander = expanderOf(hit.node);
    if (!expander.isEmpty() && expander.adjusted(-3, -3, 3, 3).contains(point)) {
        hit.expander = true;
        return hit;
    }
    if (m_nodes[size_t(hit.node)].expanded) {
        const QRectF first = runCell(hit.node, 0);
        const int column = int(std::floor((point.x() - first.left()) / RunCell));
        const int row = int(std::floor((point.y() - first.top()) / RunCell));
        const int index = row * RunColumns + column;
        if (column >= 0 && column < RunColumns && row >= 0 && index < m_nodes[size_t(hit.node)].planned
            && runCell(hit.node, index).adjusted(-1, -1, 1, 1).contains(point))
            hit.run = index;
    }
    return hit;
}

void RunGraphWidget::activate(const Hit& hit)
{
    if (hit.node < 0)
        return;
    const Node& node = m_nodes[size_t(hit.node)];
    if (node.subflowOf >= 0)
        Q_EMIT subflowActivated(m_nodes[size_t(node.subflowOf)].id);
    else if (hit.run >= 0)
        Q_EMIT taskRunActivated(node.id, hit.run);
    else
        Q_EMIT taskActivated(node.id);
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

QRectF RunGraphWidget::focusRect() const
{
    if (m_focusNode < 0 || !m_layoutReady || size_t(m_focusNode) >= m_layout.rects.size())
        return {};
    const QRectF r = m_focusRun >= 0 ? runCell(m_focusNode, m_focusRun) : m_layout.rects[size_t(m_focusNode)];
    return QRectF(m_offset + r.topLeft() * m_zoom, r.size() * m_zoom);
}

void RunGraphWidget::ensureVisible(const QRectF& widgetRect)
{
    const QRectF area = QRectF(rect()).adjusted(8, 8, -8, -8);
    if (widgetRect.isEmpty() || area.contains(widgetRect))
        return;
    QPointF delta;
    if (widgetRect.width() > area.width() || widgetRect.left() < area.left())
        delta.rx() = area.left() - widgetRect.left();
    else if (widgetRect.right() > area.right())
        delta.rx() = area.right() - widgetRect.right();
    if (widgetRect.height() > area.height() || widgetRect.top() < area.top())
        delta.ry() = area.top() - widgetRect.top();
    else if (widgetRect.bottom() > area.bottom())
        delta.ry() = area.bottom() - widgetRect.bottom();
    panBy(delta);
}

void RunGraphWidget::moveFocus(int dx, int dy)
{
    if (!m_layoutReady || m_nodes.empty() || m_layout.rects.size() != m_nodes.size())
        return;
    if (m_focusNode < 0) {
        // The first move picks the selected task, else the first node of the first layer.
        m_focusNode = m_selected.isEmpty() ? -1 : nodeOf(m_selected);
        if (m_focusNode < 0) {
            m_focusNode = 0;
            for (size_t i = 1; i < m_nodes.size(); ++i) {
                const QRectF& r = m_layout.rects[i];
                const QRectF& best = m_layout.rects[size_t(m_focusNode)];
                if (r.left() < best.left() || (r.left() == best.left() && r.top() < best.top()))
                    m_focusNode = int(i);
            }
        }
        m_focusRun = -1;
    } else {
        // The nearest item whose centre lies that way, sideways distance weighing double. An expanded
        // node is its header (Down from there enters its first task run) and its task runs.
        const auto stop = [&](int node) {
            const QRectF& r = m_layout.rects[size_t(node)];
            return m_nodes[size_t(node)].expanded ? QPointF(r.center().x(), r.top() + 18) : r.center();
        };
        if (m_focusRun < 0 && m_nodes[size_t(m_focusNode)].expanded && dy > 0) {
            m_focusRun = 0;
            ensureVisible(focusRect());
            update();
            return;
        }
        const QPointF from = m_focusRun >= 0 ? runCell(m_focusNode, m_focusRun).center() : stop(m_focusNode);
        double best = std::numeric_limits<double>::max();
        int bestNode = -1;
        int bestRun = -1;
        const auto consider = [&](int node, int run, QPointF to) {
            const double along = (to.x() - from.x()) * dx + (to.y() - from.y()) * dy;
            if (along <= 0.5)
                return;
            const double across = std::abs((to.x() - from.x()) * dy) + std::abs((to.y() - from.y()) * dx);
            const double score = along + 2 * across;
            if (score < best) {
                best = score;
                bestNode = node;
                bestRun = run;
            }
        };
        for (size_t i = 0; i < m_nodes.size(); ++i) {
            consider(int(i), -1, stop(int(i)));
            if (m_nodes[i].expanded) {
                for (int run = 0; run < m_nodes[i].planned; ++run)
                    consider(int(i), run, runCell(int(i), run).center());
            }
        }
        if (bestNode < 0)
            return;
        m_focusNode = bestNode;
        m_focusRun = bestRun;
    }
    ensureVisible(focusRect());
    update();
}

void RunGraphWidget::keyPressEvent(QKeyEvent* event)
{
    const bool control = event->modifiers() & Qt::ControlModifier;
    const auto arrow = [&](int dx, int dy) {
        if (control)
            panBy({-40.0 * dx, -40.0 * dy});
        else
            moveFocus(dx, dy);
    };
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
        arrow(-1, 0);
        break;
    case Qt::Key_Right:
        arrow(1, 0);
        break;
    case Qt::Key_Up:
        arrow(0, -1);
        break;
    case Qt::Key_Down:
        arrow(0, 1);
        break;
    case Qt::Key_Return:
    case Qt::Key_Enter:
        if (m_focusNode >= 0) {
            // Enter filters to the task; on a task run, or with Shift, it opens one.
            if (m_focusRun >= 0 || (event->modifiers() & Qt::ShiftModifier)
                || m_nodes[size_t(m_focusNode)].subflowOf >= 0)
                activate(Hit{m_focusNode, m_focusRun, false});
            else
                Q_EMIT taskClicked(m_nodes[size_t(m_focusNode)].id);
        }
        break;
    case Qt::Key_Space:
        if (m_focusNode >= 0 && canExpandNode(m_focusNode)) {
            const QString id = m_nodes[size_t(m_focusNode)].id;
            setExpanded(id, !m_nodes[size_t(m_focusNode)].expanded);
        }
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
    if (!click)
        return;
    const Hit hit = hitAt(event->position());
    if (hit.node >= 0) {
        m_focusNode = hit.node;
        m_focusRun = hit.run;
        update();
    }
    if (hit.expander) {
        setExpanded(m_nodes[size_t(hit.node)].id, !m_nodes[size_t(hit.node)].expanded);
        return;
    }
    const int task = hit.node < 0                  ? -1
        : m_nodes[size_t(hit.node)].subflowOf >= 0 ? m_nodes[size_t(hit.node)].subflowOf
                                                   : hit.node;
    Q_EMIT taskClicked(task >= 0 ? m_nodes[size_t(task)].id : QString());
}

void RunGraphWidget::mouseDoubleClickEvent(QMouseEvent* event)
{
    if (event->button() != Qt::LeftButton)
        return;
    const Hit hit = hitAt(event->position());
    // The second click on an expander was the toggle's, already done on release.
    if (!hit.expander)
        activate(hit);
}

bool RunGraphWidget::event(QEvent* event)
{
    if (event->type() == QEvent::ToolTip) {
        const auto* help = static_cast<QHelpEvent*>(event);
        const QString text = toolTipAt(help->pos());
        if (text.isEmpty()) {
            QToolTip::hideText();
            event->ignore();
        } else {
            const Hit hit = hitAt(help->pos());
            QRect area(help->pos() - QPoint(4, 4), QSize(8, 8));
            if (hit.node >= 0)
                area = QRectF(m_offset + m_layout.rects[size_t(hit.node)].topLeft() * m_zoom,
                              m_layout.rects[size_t(hit.node)].size() * m_zoom)
                           .toAlignedRect();
            QToolTip::showText(help->globalPos(), text, this, area);
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

void RunGraphWidget::focusInEvent(QFocusEvent* event)
{
    QWidget::focusInEvent(event);
    update(); // the focused node's ring shows only with the focus
}

void RunGraphWidget::focusOutEvent(QFocusEvent* event)
{
    QWidget::focusOutEvent(event);
    update();
}

void RunGraphWidget::changeEvent(QEvent* event)
{
    if (event->type() == QEvent::PaletteChange) {
        m_tiles.clear();
        m_oldTiles.clear();
        ++m_tileGeneration;
        update();
    }
    QWidget::changeEvent(event);
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
    if (m_run && node.mapped)
        right = QStringLiteral("%1/%2").arg(counts.count(StateType::Completed)).arg(counts.total);
    else if (!m_run && node.mapped)
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
