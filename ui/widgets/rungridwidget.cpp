#include "widgets/rungridwidget.h"

#include "style/statestyle.h"

#include <QHelpEvent>
#include <QMouseEvent>
#include <QPainter>
#include <QToolTip>

#include <algorithm>
#include <map>

namespace flowdeck {

namespace {

//! How a cell stacks the states of its task runs: done work first, trouble last.
constexpr StateType CellOrder[] = {StateType::Completed, StateType::Running, StateType::Cancelling,
                                   StateType::Paused,    StateType::Pending, StateType::Scheduled,
                                   StateType::Cancelled, StateType::Failed,  StateType::Crashed};

StateType typeOf(const QString& text)
{
    StateType type = StateType::Pending;
    parseStateType(text, &type);
    return type;
}

const std::array<qint64, StateTypeCount> NoCounts{};

} // namespace

RunGridWidget::RunGridWidget(QWidget* parent)
    : QWidget(parent)
{
    setAttribute(Qt::WA_OpaquePaintEvent);
}

RunGridWidget::~RunGridWidget() = default;

QSize RunGridWidget::sizeHint() const
{
    return {gutterWidth() + 20 * (CellWidth + Gap),
            HeaderHeight + std::max<int>(4, rowCount()) * (CellHeight + Gap)};
}

QSize RunGridWidget::minimumSizeHint() const
{
    return {gutterWidth() + 4 * (CellWidth + Gap), HeaderHeight + CellHeight};
}

int RunGridWidget::gutterWidth() const
{
    return std::clamp(width() / 4, 80, 180);
}

int RunGridWidget::wantedRuns() const
{
    return std::max(1, (width() - gutterWidth() - 8) / (CellWidth + Gap));
}

void RunGridWidget::setRuns(const QList<GridRun>& runs)
{
    m_runs.assign(runs.begin(), runs.end());
    // Rows: the tasks in the order their task runs were first created in the newest run that has
    // them (dependency order, near enough), then tasks only older runs had.
    m_tasks.clear();
    std::map<QString, std::pair<int, qint64>> firstSeen; // task -> (-column, created)
    for (int c = int(m_runs.size()) - 1; c >= 0; --c) {
        for (const GridCell& cell : m_runs[size_t(c)].cells) {
            auto [it, added] = firstSeen.try_emplace(cell.task, -c, cell.createdUs);
            if (!added && it->second.first == -c)
                it->second.second = std::min(it->second.second, cell.createdUs);
        }
    }
    for (const auto& [task, seen] : firstSeen)
        m_tasks.push_back(task);
    std::stable_sort(m_tasks.begin(), m_tasks.end(),
                     [&](const QString& a, const QString& b) { return firstSeen[a] < firstSeen[b]; });
    std::map<QString, int> rowOf;
    for (size_t r = 0; r < m_tasks.size(); ++r)
        rowOf[m_tasks[r]] = int(r);
    m_cells.assign(m_runs.size() * m_tasks.size(), Cell{});
    for (size_t c = 0; c < m_runs.size(); ++c) {
        for (const GridCell& gridCell : m_runs[c].cells) {
            Cell& cell = m_cells[c * m_tasks.size() + size_t(rowOf[gridCell.task])];
            cell.counts[size_t(typeOf(gridCell.state))] += gridCell.count;
            cell.total += gridCell.count;
            cell.attempts = std::max(cell.attempts, gridCell.attempts);
            if (gridCell.startedUs > 0)
                cell.startedUs
                    = cell.startedUs ? std::min(cell.startedUs, gridCell.startedUs) : gridCell.startedUs;
            cell.endedUs = std::max(cell.endedUs, gridCell.endedUs);
        }
    }
    updateGeometry();
    update();
}

const std::array<qint64, StateTypeCount>& RunGridWidget::countsAt(int column, int row) const
{
    if (column < 0 || row < 0 || column >= columnCount() || row >= rowCount())
        return NoCounts;
    return cell(column, row).counts;
}

QRect RunGridWidget::cellRect(int column, int row) const
{
    return QRect(gutterWidth() + column * (CellWidth + Gap), HeaderHeight + row * (CellHeight + Gap),
                 CellWidth, CellHeight);
}

QRect RunGridWidget::headerRect(int column) const
{
    return QRect(gutterWidth() + column * (CellWidth + Gap), 4, CellWidth, HeaderHeight - 8);
}

std::pair<int, int> RunGridWidget::hit(QPoint pos) const
{
    const int x = pos.x() - gutterWidth();
    if (x < 0 || x % (CellWidth + Gap) >= CellWidth)
        return {-1, -1};
    const int column = x / (CellWidth + Gap);
    if (column >= columnCount())
        return {-1, -1};
    if (pos.y() < HeaderHeight)
        return {column, -1};
    const int y = pos.y() - HeaderHeight;
    if (y % (CellHeight + Gap) >= CellHeight)
        return {-1, -1};
    const int row = y / (CellHeight + Gap);
    return row < rowCount() ? std::pair{column, row} : std::pair{-1, -1};
}

QString RunGridWidget::toolTipAt(int column, int row) const
{
    if (column < 0 || column >= columnCount() || row >= rowCount())
        return {};
    const GridRun& run = m_runs[size_t(column)];
    const QString runLine
        = tr("Run %1 · %2 · %3").arg(shortId(run.id), formatClock(run.createdUs), run.name.toHtmlEscaped());
    if (row < 0) {
        QString text = QStringLiteral("<b>%1</b>").arg(runLine);
        if (run.endedUs > 0 && run.startedUs > 0)
            text += QStringLiteral("<br>") + tr("Took %1").arg(formatDuration(run.endedUs - run.startedUs));
        return text + QStringLiteral("<br><small>%1</small>").arg(tr("Click: open the run"));
    }
    const Cell& c = cell(column, row);
    QStringList lines{QStringLiteral("<b>%1</b>").arg(m_tasks[size_t(row)].toHtmlEscaped()), runLine};
    if (c.total == 0) {
        lines << tr("No task run");
        return lines.join(QStringLiteral("<br>"));
    }
    for (StateType t : CellOrder) {
        if (c.counts[size_t(t)] > 0)
            lines << QStringLiteral("<span style=\"color:%1\">■</span> %2: %3")
                         .arg(stateColor(t).name(), stateLabel(t))
                         .arg(c.counts[size_t(t)]);
    }
    if (c.startedUs > 0 && c.endedUs >= c.startedUs)
        lines << tr("Duration: %1").arg(formatDuration(c.endedUs - c.startedUs));
    lines << tr("Attempts: %1").arg(c.attempts);
    lines << QStringLiteral("<small>%1</small>").arg(tr("Click: open this run at this task"));
    return lines.join(QStringLiteral("<br>"));
}

void RunGridWidget::resizeEvent(QResizeEvent* event)
{
    QWidget::resizeEvent(event);
    const int wanted = wantedRuns();
    if (wanted != m_wanted) {
        m_wanted = wanted;
        Q_EMIT wantedRunsChanged(wanted);
    }
}

void RunGridWidget::mouseReleaseEvent(QMouseEvent* event)
{
    if (event->button() != Qt::LeftButton)
        return;
    const auto [column, row] = hit(event->position().toPoint());
    if (column < 0)
        return;
    Q_EMIT cellClicked(m_runs[size_t(column)].id, row >= 0 ? m_tasks[size_t(row)] : QString());
}

bool RunGridWidget::event(QEvent* event)
{
    if (event->type() == QEvent::ToolTip) {
        const auto* help = static_cast<QHelpEvent*>(event);
        const auto [column, row] = hit(help->pos());
        if (column < 0) {
            QToolTip::hideText();
            event->ignore();
        } else {
            QToolTip::showText(help->globalPos(), toolTipAt(column, row), this,
                               row >= 0 ? cellRect(column, row) : headerRect(column));
        }
        return true;
    }
    return QWidget::event(event);
}

void RunGridWidget::paintEvent(QPaintEvent* event)
{
    QPainter p(this);
    const QPalette& pal = palette();
    p.fillRect(event->rect(), pal.color(QPalette::Base));
    if (m_runs.empty()) {
        p.setPen(pal.color(QPalette::PlaceholderText));
        p.drawText(rect(), Qt::AlignCenter, tr("No stored runs of this flow yet."));
        return;
    }
    const int gutter = gutterWidth();
    p.setPen(pal.color(QPalette::Text));
    const QFontMetrics metrics = fontMetrics();
    for (int r = 0; r < rowCount(); ++r) {
        const QRect label(6, HeaderHeight + r * (CellHeight + Gap), gutter - 12, CellHeight);
        if (!label.intersects(event->rect()))
            continue;
        p.drawText(label, Qt::AlignRight | Qt::AlignVCenter,
                   metrics.elidedText(m_tasks[size_t(r)], Qt::ElideMiddle, label.width()));
    }
    const QColor empty = pal.color(QPalette::Mid);
    for (int c = 0; c < columnCount(); ++c) {
        const QRect header = headerRect(c);
        if (header.right() < event->rect().left() || header.left() > event->rect().right())
            continue;
        StateType runType = typeOf(m_runs[size_t(c)].state);
        p.fillRect(header, stateColor(runType));
        for (int r = 0; r < rowCount(); ++r) {
            const QRect box = cellRect(c, r);
            const Cell& cellData = cell(c, r);
            if (cellData.total == 0) {
                p.setPen(empty);
                p.setBrush(Qt::NoBrush);
                p.drawRect(box.adjusted(0, 0, -1, -1));
                continue;
            }
            // Each state's share, bottom to top: done work at the bottom, trouble on top.
            double y = box.bottom() + 1;
            for (StateType t : CellOrder) {
                const qint64 n = cellData.counts[size_t(t)];
                if (n <= 0)
                    continue;
                const double h = double(box.height()) * double(n) / double(cellData.total);
                p.fillRect(QRectF(box.left(), y - h, box.width(), h), stateColor(t));
                y -= h;
            }
        }
    }
}

} // namespace flowdeck
