#include "widgets/rungraphwidget.h"

#include "context/appcontext.h"
#include "flow/subflows.h"
#include "run/flowrun.h"
#include "style/statestyle.h"
#include "widgets/rungraphparts.h"

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

using namespace rungraph;

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
    m_countsGiven = false;
    m_run = nullptr;
    m_counts.setFlowRun(nullptr);
    m_nodes.clear();
    m_edges.clear();
    m_forEachPending.clear();
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
    m_countsGiven = false;
    m_run = run;
    m_counts.setFlowRun(run);
    load(run->def, run);
}

void RunGraphWidget::setTaskCounts(const FlowDefinition& flow,
                                   const QHash<QString, TaskStateCounts::Counts>& counts)
{
    bool sameTasks = m_countsGiven && !m_run && m_nodes.size() == size_t(flow.tasks.size());
    for (qsizetype i = 0; sameTasks && i < flow.tasks.size(); ++i)
        sameTasks = m_nodes[size_t(i)].id == flow.tasks[i].id;
    m_givenCounts = counts;
    if (sameTasks) {
        updateChangedNodes();
        return;
    }
    m_run = nullptr;
    m_counts.setFlowRun(nullptr);
    m_countsGiven = true;
    load(flow, nullptr);
}

void RunGraphWidget::setFlow(const FlowDefinition& flow)
{
    m_countsGiven = false;
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
    m_forEachPending.clear();
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
        node.forEach = task.forEach;
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
    if (run) {
        for (const TaskNode& taskNode : run->nodes) {
            if (taskNode.def && taskNode.def->index >= 0 && taskNode.def->index < n) {
                Node& node = m_nodes[size_t(taskNode.def->index)];
                node.runNode = taskNode.index;
                node.planned = taskNode.count;
                if (!node.forEach.isEmpty())
                    m_forEachPending.push_back(taskNode.def->index);
            }
        }
        for (Node& node : m_nodes) {
            if (node.subflowOf >= 0)
                node.planned = m_nodes[size_t(node.subflowOf)].planned;
        }
        syncForEach();
    }
    for (Node& node : m_nodes)
        node.subline = sublineOf(node);
    startLayout();
}

QString RunGraphWidget::sublineOf(const Node& node) const
{
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
    const double textWidth = layoutOptions().nodeWidth - TextLeft - TextRight;
    return QFontMetricsF(sublineFont(font()))
        .elidedText(parts.join(QStringLiteral(" · ")), Qt::ElideRight,
                    node.mapped ? textWidth - 18 : textWidth);
}

bool RunGraphWidget::syncForEach()
{
    if (!m_run || m_forEachPending.empty())
        return false;
    bool changed = false;
    for (auto it = m_forEachPending.begin(); it != m_forEachPending.end();) {
        Node& node = m_nodes[size_t(*it)];
        const TaskNode& taskNode = m_run->nodes[size_t(node.runNode)];
        // Its count is set when it expands, before its items are: known items, a final count.
        if (!taskNode.itemsKnown) {
            ++it;
            continue;
        }
        node.mapped = true;
        node.planned = taskNode.count;
        node.subline = sublineOf(node);
        const int child = subflowNodeOf(*it);
        if (child >= 0)
            m_nodes[size_t(child)].planned = node.planned;
        it = m_forEachPending.erase(it);
        changed = true;
    }
    return changed;
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
    if (syncForEach())
        update(); // its count, expander and bar: the node as a whole
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
    if (m_countsGiven) {
        const auto it = m_givenCounts.constFind(n.id);
        if (it != m_givenCounts.constEnd())
            return *it;
    }
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
    if (m_run && !node.forEach.isEmpty() && !node.mapped && counts.total == 0) {
        lines << tr("One task run per element of %1, once it is known").arg(node.forEach.toHtmlEscaped());
    } else if (m_run || m_countsGiven) {
        lines << (counts.total == 1 ? tr("1 task run") : tr("%1 task runs").arg(counts.total));
        for (StateType t : BarOrder) {
            if (counts.count(t) > 0)
                lines << QStringLiteral("<span style=\"color:%1\">■</span> %2: %3")
                             .arg(stateColor(t).name(), stateLabel(t))
                             .arg(counts.count(t));
        }
        if (counts.total > counts.created)
            lines << tr("Not created yet: %1").arg(counts.total - counts.created);
    } else if (!node.forEach.isEmpty()) {
        lines << tr("One task run per element of %1").arg(node.forEach.toHtmlEscaped());
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
            text += QStringLiteral("<br><small>%1</small>")
                        .arg(m_run ? tr("Double-click: open its run") : tr("Double-click: show this flow"));
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

} // namespace flowdeck
