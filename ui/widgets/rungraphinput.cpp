// The run graph's keyboard and mouse: focus moves between nodes and run squares, zoom, pan, activation.
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

using namespace rungraph;

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

} // namespace flowdeck
