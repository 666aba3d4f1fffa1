#include "widgets/timelinewidget.h"

#include "context/appcontext.h"
#include "context/dirtyrows.h"
#include "run/clock.h"
#include "run/engine.h"
#include "run/flowrun.h"
#include "style/statestyle.h"

#include <QHelpEvent>
#include <QPainter>
#include <QScrollBar>
#include <QTimer>
#include <QToolTip>
#include <QWheelEvent>

#include <cmath>
#include <limits>

namespace flowdeck {

namespace {

constexpr int GutterWidth = 140;
constexpr double ZoomStep = 1.5;
constexpr double MaxPxPerUs = 0.5; // 1 px per 2 µs

//! Tick spacing on the time axis, in microseconds: 1, 2, 5 × 10^k, then minutes and hours.
qint64 tickStepUs(double pxPerUs, int minPx)
{
    static constexpr qint64 Steps[] = {
        1,
        2,
        5,
        10,
        20,
        50,
        100,
        200,
        500,
        1000,
        2000,
        5000,
        10'000,
        20'000,
        50'000,
        100'000,
        200'000,
        500'000,
        1'000'000,
        2'000'000,
        5'000'000,
        10'000'000,
        15'000'000,
        30'000'000,
        60'000'000,
        120'000'000,
        300'000'000,
        600'000'000,
        900'000'000,
        1'800'000'000,
        3'600'000'000,
        7'200'000'000,
        21'600'000'000,
        43'200'000'000,
        86'400'000'000,
    };
    for (qint64 step : Steps) {
        if (double(step) * pxPerUs >= minPx)
            return step;
    }
    return Steps[std::size(Steps) - 1];
}

QString tickLabel(qint64 us, qint64 stepUs)
{
    if (stepUs < 1000)
        return QStringLiteral("+%1 µs").arg(us);
    if (stepUs < 1'000'000)
        return QStringLiteral("+%1 ms").arg(double(us) / 1e3, 0, 'f', stepUs % 1000 ? 1 : 0);
    if (stepUs < 60'000'000)
        return QStringLiteral("+%1 s").arg(double(us) / 1e6, 0, 'f', stepUs % 1'000'000 ? 1 : 0);
    if (stepUs < 3'600'000'000)
        return QStringLiteral("+%1 min").arg(double(us) / 60e6, 0, 'f', stepUs % 60'000'000 ? 1 : 0);
    return QStringLiteral("+%1 h").arg(double(us) / 3600e6, 0, 'f', 1);
}

} // namespace

TimelineWidget::TimelineWidget(AppContext* context, QWidget* parent)
    : QAbstractScrollArea(parent)
    , m_context(context)
    , m_throttle(new QTimer(this))
    , m_nextSlice(new QTimer(this))
    , m_syncMore(new QTimer(this))
{
    for (int i = 0; i < StateNameCount; ++i)
        m_nameColor[size_t(i)] = stateColor(typeOf(StateName(i)));
    setMinimumHeight(120);
    viewport()->setBackgroundRole(QPalette::Base);
    viewport()->setAutoFillBackground(true);
    viewport()->setMouseTracking(false);
    m_throttle->setSingleShot(true);
    connect(m_throttle, &QTimer::timeout, this, &TimelineWidget::refresh);
    m_syncMore->setSingleShot(true);
    m_syncMore->setInterval(0);
    connect(m_syncMore, &QTimer::timeout, this, &TimelineWidget::refresh);
    m_nextSlice->setSingleShot(true);
    m_nextSlice->setInterval(0);
    connect(m_nextSlice, &QTimer::timeout, this, [this] {
        if (continueAggregate(SliceBudgetNs))
            viewport()->update();
        else
            m_nextSlice->start();
    });
    m_sinceAggregate.start();
}

TimelineWidget::~TimelineWidget()
{
    if (m_dirty)
        m_context->removeDirtyRows(m_dirty.get());
}

void TimelineWidget::setFlowRun(FlowRun* run)
{
    if (run == m_table.flowRun())
        return;
    if (m_dirty) {
        m_context->removeDirtyRows(m_dirty.get());
        m_dirty.reset();
    }
    m_table.setFlowRun(run);
    m_aggregator.clear(run ? size_t(run->totalTaskRuns) : 0);
    m_syncMore->stop();
    m_nextSlice->stop();
    if (run && !run->isTerminal()) {
        m_dirty = std::make_unique<DirtyRows>(run);
        m_context->addDirtyRows(m_dirty.get());
    }
    syncCompact();
    m_fitTime = true;
    m_fitRows = true;
    m_dataDirty = true;
    applyFit();
    horizontalScrollBar()->setValue(0);
    verticalScrollBar()->setValue(0);
    viewport()->update();
}

void TimelineWidget::syncCompact()
{
    const FlowRun* flow = m_table.flowRun();
    if (!flow)
        return;
    // What the budget leaves for later continues from a zero timer.
    if (!m_aggregator.sync(m_table, m_dirty.get())) {
        if (!m_syncMore->isActive())
            m_syncMore->start();
        return;
    }
    if (m_dirty && flow->isTerminal() && flow->activeDrivers == 0
        && m_aggregator.rowCount() == m_table.totalRows()) {
        m_context->removeDirtyRows(m_dirty.get());
        m_dirty.reset();
    }
}

void TimelineWidget::refresh()
{
    if (!m_table.flowRun())
        return;
    syncCompact();
    m_dataDirty = true;
    applyFit();
    if (!isAggregated()) {
        viewport()->update();
        return;
    }
    if (!isVisible() || m_aggregator.isActive())
        return; // shown again: paintEvent recomputes; a job in progress picks up the data when it ends
    // Live data: recompute in slices outside of painting, and repaint once when the image is done.
    const qint64 elapsed = m_sinceAggregate.elapsed();
    if (elapsed >= m_aggregateIntervalMs) {
        const QRect plot = plotRect();
        startAggregate(plot, viewKey(plot));
        m_nextSlice->start();
    } else if (!m_throttle->isActive()) {
        m_throttle->start(int(m_aggregateIntervalMs - elapsed));
    }
}

bool TimelineWidget::isAggregated() const
{
    return m_pxPerRow * devicePixelRatioF() < 1.0;
}

QRect TimelineWidget::plotRect() const
{
    const int axis = fontMetrics().height() + 8;
    return viewport()->rect().adjusted(GutterWidth, axis, 0, 0);
}

qint64 TimelineWidget::startUs() const
{
    const FlowRun* flow = m_table.flowRun();
    return flow ? flow->createdUs : 0;
}

qint64 TimelineWidget::endUs() const
{
    const FlowRun* flow = m_table.flowRun();
    if (!flow)
        return 0;
    return flow->endedUs ? flow->endedUs : wallUs();
}

double TimelineWidget::fitPxPerUs() const
{
    const double duration = double(std::max<qint64>(1000, endUs() - startUs()));
    return std::max(1.0, double(plotRect().width() - 8)) / duration;
}

double TimelineWidget::fitPxPerRow() const
{
    const int rows = std::max(1, m_table.rowCount());
    return std::min(MaxRowHeight, double(std::max(1, plotRect().height())) / double(rows));
}

void TimelineWidget::applyFit()
{
    if (m_fitTime)
        m_pxPerUs = fitPxPerUs();
    if (m_fitRows)
        m_pxPerRow = fitPxPerRow();
    updateScrollBars();
}

void TimelineWidget::updateScrollBars()
{
    const QRect plot = plotRect();
    const double width = double(endUs() - startUs()) * m_pxPerUs;
    const double height = double(m_table.rowCount()) * m_pxPerRow;
    horizontalScrollBar()->setRange(0, int(std::min(2e9, std::max(0.0, width + 8 - plot.width()))));
    horizontalScrollBar()->setPageStep(std::max(1, plot.width()));
    horizontalScrollBar()->setSingleStep(std::max(1, plot.width() / 10));
    verticalScrollBar()->setRange(0, int(std::min(2e9, std::max(0.0, std::ceil(height) - plot.height()))));
    verticalScrollBar()->setPageStep(std::max(1, plot.height()));
    verticalScrollBar()->setSingleStep(std::max(1, int(std::ceil(m_pxPerRow)) * 3));
}

void TimelineWidget::zoomTimeIn()
{
    zoomTime(ZoomStep, plotRect().width() / 2);
}

void TimelineWidget::zoomTimeOut()
{
    zoomTime(1.0 / ZoomStep, plotRect().width() / 2);
}

void TimelineWidget::zoomRowsIn()
{
    zoomRows(2.0, plotRect().height() / 2);
}

void TimelineWidget::zoomRowsOut()
{
    zoomRows(0.5, plotRect().height() / 2);
}

void TimelineWidget::fitAll()
{
    m_fitTime = true;
    m_fitRows = true;
    applyFit();
    horizontalScrollBar()->setValue(0);
    verticalScrollBar()->setValue(0);
    viewport()->update();
}

void TimelineWidget::zoomTime(double factor, int anchorX)
{
    const double fit = fitPxPerUs();
    const double anchorUs = (horizontalScrollBar()->value() + anchorX) / m_pxPerUs;
    m_pxPerUs = std::clamp(m_pxPerUs * factor, fit, std::max(fit, MaxPxPerUs));
    m_fitTime = m_pxPerUs <= fit;
    updateScrollBars();
    horizontalScrollBar()->setValue(int(anchorUs * m_pxPerUs) - anchorX);
    viewport()->update();
}

void TimelineWidget::zoomRows(double factor, int anchorY)
{
    const double fit = fitPxPerRow();
    const double anchorRow = (verticalScrollBar()->value() + anchorY) / m_pxPerRow;
    m_pxPerRow = std::clamp(m_pxPerRow * factor, fit, std::max(fit, MaxRowHeight));
    m_fitRows = m_pxPerRow <= fit;
    updateScrollBars();
    verticalScrollBar()->setValue(int(anchorRow * m_pxPerRow) - anchorY);
    viewport()->update();
}

int TimelineWidget::rowAt(const QPoint& pos) const
{
    const QRect plot = plotRect();
    if (!m_table.flowRun() || pos.y() < plot.top())
        return -1;
    const int row = int((verticalScrollBar()->value() + pos.y() - plot.top()) / m_pxPerRow);
    return row >= 0 && row < m_table.rowCount() ? row : -1;
}

void TimelineWidget::resizeEvent(QResizeEvent* event)
{
    QAbstractScrollArea::resizeEvent(event);
    applyFit();
}

void TimelineWidget::scrollContentsBy(int dx, int dy)
{
    Q_UNUSED(dx)
    Q_UNUSED(dy)
    viewport()->update();
}

void TimelineWidget::wheelEvent(QWheelEvent* event)
{
    const QPoint angle = event->angleDelta();
    const int delta = angle.y() != 0 ? angle.y() : angle.x();
    const QPoint at = event->position().toPoint() - plotRect().topLeft();
    if (event->modifiers() & Qt::ControlModifier) {
        const double factor = std::pow(ZoomStep, delta / 120.0);
        if (event->modifiers() & Qt::ShiftModifier)
            zoomRows(factor, std::max(0, at.y()));
        else
            zoomTime(factor, std::max(0, at.x()));
        event->accept();
        return;
    }
    if (event->modifiers() & Qt::ShiftModifier) {
        horizontalScrollBar()->setValue(horizontalScrollBar()->value() - delta);
        event->accept();
        return;
    }
    QAbstractScrollArea::wheelEvent(event);
}

void TimelineWidget::mousePressEvent(QMouseEvent* event)
{
    const int row = rowAt(event->position().toPoint());
    if (row >= 0 && event->button() == Qt::LeftButton)
        Q_EMIT rowClicked(row);
    QAbstractScrollArea::mousePressEvent(event);
}

bool TimelineWidget::viewportEvent(QEvent* event)
{
    if (event->type() == QEvent::ToolTip) {
        auto* help = static_cast<QHelpEvent*>(event);
        const QString text = toolTipAt(help->pos());
        if (text.isEmpty())
            QToolTip::hideText();
        else
            QToolTip::showText(help->globalPos(), text, viewport());
        return true;
    }
    return QAbstractScrollArea::viewportEvent(event);
}

QString TimelineWidget::toolTipAt(const QPoint& pos) const
{
    const int row = rowAt(pos);
    if (row < 0)
        return {};
    if (isAggregated()) {
        const int last = std::min(m_table.rowCount() - 1, rowAt(pos + QPoint(0, 1)));
        const TaskRun& first = m_table.at(row);
        return tr("%1 to %2 (%3 task runs per pixel row)")
            .arg(taskRunLabel(first), taskRunLabel(m_table.at(std::max(row, last))))
            .arg(std::max(1, int(std::ceil(1.0 / (m_pxPerRow * devicePixelRatioF())))));
    }
    const TaskRun& run = m_table.at(row);
    QStringList parts;
    const qint64 now = wallUs();
    for (size_t i = 0; i < run.history.size(); ++i) {
        const qint64 end
            = i + 1 < run.history.size() ? run.history[i + 1].timeUs : (run.isTerminal() ? -1 : now);
        if (end < 0)
            parts << toString(run.history[i].name);
        else
            parts << QStringLiteral("%1 %2").arg(toString(run.history[i].name),
                                                 formatDuration(end - run.history[i].timeUs));
    }
    return QStringLiteral("%1\n%2").arg(taskRunLabel(run), parts.join(QStringLiteral(" → ")));
}

void TimelineWidget::paintEvent(QPaintEvent* event)
{
    Q_UNUSED(event)
    QPainter p(viewport());
    const QRect plot = plotRect();
    if (!m_table.flowRun()) {
        p.setPen(palette().color(QPalette::PlaceholderText));
        p.drawText(viewport()->rect(), Qt::AlignCenter, tr("No flow run selected"));
        return;
    }
    if (m_fitTime || m_fitRows)
        applyFit();
    p.save();
    p.setClipRect(plot);
    if (isAggregated())
        paintAggregate(p, plot);
    else
        paintRows(p, plot);
    p.restore();
    paintAxis(p, plot);
    paintGutter(p, plot);
}

void TimelineWidget::paintAxis(QPainter& p, const QRect& plot)
{
    const QPalette& pal = palette();
    const QRect axis(plot.left(), 0, plot.width(), plot.top());
    p.fillRect(QRect(0, 0, viewport()->width(), plot.top()), pal.color(QPalette::Window));
    const qint64 step = tickStepUs(m_pxPerUs, 90);
    const int scroll = horizontalScrollBar()->value();
    const qint64 firstUs = qint64(scroll / m_pxPerUs) / step * step;
    const qint64 lastUs = qint64((scroll + plot.width()) / m_pxPerUs);
    QColor grid = pal.color(QPalette::Text);
    grid.setAlpha(40);
    for (qint64 t = firstUs; t <= lastUs; t += step) {
        const int x = plot.left() + int(double(t) * m_pxPerUs) - scroll;
        if (x < plot.left())
            continue;
        p.setPen(grid);
        p.drawLine(x, plot.top(), x, plot.bottom());
        p.setPen(pal.color(QPalette::WindowText));
        p.drawLine(x, axis.bottom() - 4, x, axis.bottom());
        const QString label = tickLabel(t, step);
        if (x + 3 + fontMetrics().horizontalAdvance(label) <= axis.right())
            p.drawText(QRect(x + 3, 0, 120, axis.height() - 2), Qt::AlignLeft | Qt::AlignVCenter, label);
    }
    p.setPen(pal.color(QPalette::Mid));
    p.drawLine(0, axis.bottom(), viewport()->width(), axis.bottom());

    const FlowRun* flow = m_table.flowRun();
    if (!flow->isTerminal()) {
        // The present: everything right of it has not happened yet.
        const int x = plot.left() + int(double(wallUs() - startUs()) * m_pxPerUs) - scroll;
        if (x >= plot.left() && x <= plot.right()) {
            p.setPen(QPen(pal.color(QPalette::Highlight), 1, Qt::DashLine));
            p.drawLine(x, plot.top(), x, plot.bottom());
        }
    }
}

void TimelineWidget::paintGutter(QPainter& p, const QRect& plot)
{
    const QPalette& pal = palette();
    const QRect gutter(0, plot.top(), GutterWidth, plot.height());
    p.fillRect(gutter, pal.color(QPalette::Window));
    p.fillRect(QRect(0, 0, GutterWidth, plot.top()), pal.color(QPalette::Window));
    p.setPen(pal.color(QPalette::WindowText));
    p.drawText(QRect(6, 0, GutterWidth - 8, plot.top()), Qt::AlignLeft | Qt::AlignVCenter,
               m_table.rowCount() == 1 ? tr("1 task run") : tr("%1 task runs").arg(m_table.rowCount()));
    p.setPen(pal.color(QPalette::Mid));
    p.drawLine(gutter.right(), 0, gutter.right(), plot.bottom());

    const int lineHeight = fontMetrics().height();
    const int scroll = verticalScrollBar()->value();
    const int rows = m_table.rowCount();
    p.save();
    p.setClipRect(gutter.adjusted(0, 0, -1, 0));
    if (m_pxPerRow >= lineHeight) {
        const int first = int(scroll / m_pxPerRow);
        const int last = std::min(rows, int((scroll + plot.height()) / m_pxPerRow) + 1);
        p.setPen(pal.color(QPalette::WindowText));
        m_table.forEach(first, last, [&](int row, const TaskRun& run) {
            const int y = plot.top() + int(row * m_pxPerRow) - scroll;
            p.drawText(QRect(6, y, GutterWidth - 10, int(m_pxPerRow)), Qt::AlignLeft | Qt::AlignVCenter,
                       fontMetrics().elidedText(taskRunLabel(run), Qt::ElideMiddle, GutterWidth - 12));
        });
    } else {
        // Too many rows for a label each: a separator where each task's rows begin, and its name.
        QColor separator = pal.color(QPalette::Text);
        separator.setAlpha(50);
        p.setPen(separator);
        for (int pos = 0; pos < m_table.nodeCount(); ++pos) {
            const int firstRow = m_table.firstRowAt(pos);
            if (firstRow >= rows)
                break;
            const int y = plot.top() + int(firstRow * m_pxPerRow) - scroll;
            if (y > plot.bottom())
                break;
            if (y >= plot.top())
                p.drawLine(0, y, viewport()->width(), y);
        }
        p.setPen(pal.color(QPalette::WindowText));
        for (const GutterLabel& label : taskLabels(plot))
            p.drawText(QRect(6, label.y, GutterWidth - 10, lineHeight), Qt::AlignLeft | Qt::AlignVCenter,
                       fontMetrics().elidedText(label.text, Qt::ElideMiddle, GutterWidth - 12));
    }
    p.restore();
}

std::vector<TimelineWidget::GutterLabel> TimelineWidget::taskLabels(const QRect& plot) const
{
    // A task's name goes where its rows begin; when the task above took that place (a task of one
    // short row), it moves down, as long as it still starts beside its own rows.
    std::vector<GutterLabel> labels;
    const int lineHeight = fontMetrics().height();
    const int scroll = verticalScrollBar()->value();
    const int rows = m_table.rowCount();
    int nextFree = plot.top();
    for (int pos = 0; pos < m_table.nodeCount(); ++pos) {
        const int firstRow = m_table.firstRowAt(pos);
        if (firstRow >= rows)
            break;
        const int y = plot.top() + int(firstRow * m_pxPerRow) - scroll;
        if (y > plot.bottom())
            break;
        const TaskNode& node = m_table.nodeAt(pos);
        const int end
            = plot.top() + int(std::min(rows, firstRow + node.count) * m_pxPerRow) - scroll; // exclusive
        const int labelY = std::max(y, nextFree);
        if (labelY >= end || labelY > plot.bottom())
            continue;
        labels.push_back(
            {node.count > 1 ? tr("%1 (%2)").arg(node.def->id).arg(node.count) : node.def->id, labelY});
        nextFree = labelY + lineHeight;
    }
    return labels;
}

QStringList TimelineWidget::rowLabels() const
{
    QStringList texts;
    const QRect plot = plotRect();
    if (!m_table.flowRun())
        return texts;
    if (m_pxPerRow >= fontMetrics().height()) {
        const int scroll = verticalScrollBar()->value();
        const int first = int(scroll / m_pxPerRow);
        const int last = std::min(m_table.rowCount(), int((scroll + plot.height()) / m_pxPerRow) + 1);
        m_table.forEach(first, last, [&](int, const TaskRun& run) { texts << taskRunLabel(run); });
        return texts;
    }
    for (const GutterLabel& label : taskLabels(plot))
        texts << label.text;
    return texts;
}

void TimelineWidget::paintRows(QPainter& p, const QRect& plot)
{
    const int hScroll = horizontalScrollBar()->value();
    const int vScroll = verticalScrollBar()->value();
    const int rows = m_table.rowCount();
    const int first = int(vScroll / m_pxPerRow);
    const int last = std::min(rows, int((vScroll + plot.height()) / m_pxPerRow) + 1);
    const double gap = m_pxPerRow >= 6 ? 2.0 : 0.0;
    const double height = std::max(1.0 / devicePixelRatioF(), m_pxPerRow - gap);
    const double minWidth = 2.0;
    const qint64 t0 = startUs();
    const qint64 now = wallUs();
    const double left = plot.left() - hScroll;

    m_table.forEach(first, last, [&](int row, const TaskRun& run) {
        const double y = plot.top() + row * m_pxPerRow - vScroll + gap / 2;
        const size_t n = run.history.size();
        for (size_t i = 0; i < n; ++i) {
            const StateStamp& stamp = run.history[i];
            const bool last = i + 1 == n;
            if (last && run.isTerminal()) {
                // The end state has no duration: a cap in its colour marks how the run ended.
                const double x = left + double(stamp.timeUs - t0) * m_pxPerUs;
                p.fillRect(QRectF(x, y, minWidth + 1, height), m_nameColor[size_t(stamp.name)]);
                break;
            }
            const qint64 end = last ? now : run.history[i + 1].timeUs;
            const double x0 = left + double(stamp.timeUs - t0) * m_pxPerUs;
            const double x1 = left + double(end - t0) * m_pxPerUs;
            if (x1 < plot.left() || x0 > plot.right())
                continue;
            p.fillRect(QRectF(x0, y, std::max(minWidth, x1 - x0), height), m_nameColor[size_t(stamp.name)]);
        }
    });
    m_dataDirty = false;
}

TimelineWidget::ViewKey TimelineWidget::viewKey(const QRect& plot) const
{
    return {plot.size() * devicePixelRatioF(), horizontalScrollBar()->value(), verticalScrollBar()->value(),
            m_fitTime ? 0.0 : m_pxPerUs, m_fitRows ? 0.0 : m_pxPerRow};
}

void TimelineWidget::paintAggregate(QPainter& p, const QRect& plot)
{
    const ViewKey key = viewKey(plot);
    const bool viewChanged
        = !(key == (m_aggregator.isActive() ? m_jobKey : m_imageKey)) || m_aggregator.image().isNull();
    // The user moved or resized the view (or it was just shown): start over, in slices from a
    // zero timer that repaint when the image is done. Painting itself never aggregates: it shows
    // the image as it is. Live data is handled by refresh().
    if (viewChanged || (!m_aggregator.isActive() && m_dataDirty && !m_throttle->isActive())) {
        startAggregate(plot, key);
        m_nextSlice->start();
    }
    p.drawImage(plot.topLeft(), m_aggregator.image());
}

void TimelineWidget::startAggregate(const QRect& plot, const ViewKey& key)
{
    const qreal dpr = devicePixelRatioF();
    TimelineAggregator::View view;
    view.size = QSize(int(plot.width() * dpr), int(plot.height() * dpr));
    view.devicePixelRatio = dpr;
    view.firstRow = verticalScrollBar()->value() / m_pxPerRow;
    view.rowsPerPixel = 1.0 / (m_pxPerRow * dpr);
    view.nowSeconds = float(double(wallUs() - startUs()) / 1e6);
    view.pxPerSecond = float(m_pxPerUs * 1e6 * dpr);
    view.left = float(-horizontalScrollBar()->value() * dpr);
    view.background = palette().color(QPalette::Base).rgb();
    m_jobKey = key;
    m_aggregator.start(view, m_table.rowCount());
    m_dataDirty = false;
}

bool TimelineWidget::continueAggregate(qint64 budgetNs)
{
    if (!m_aggregator.isActive())
        return true;
    if (!m_aggregator.continuePass(budgetNs))
        return false;
    m_imageKey = m_jobKey;
    m_sinceAggregate.restart();
    // Live refreshes spend at most about 2.5% of the loop on this view.
    m_aggregateIntervalMs
        = std::clamp(int(m_aggregator.lastPassCostNs() / 1'000'000 * 40), AggregateIntervalMs, 1000);
    if (m_dataDirty && !m_throttle->isActive())
        m_throttle->start(m_aggregateIntervalMs); // data came in while this pass ran
    return true;
}

} // namespace flowdeck
