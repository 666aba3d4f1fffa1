#include "widgets/trendswidget.h"

#include "style/statestyle.h"

#include <QDateTime>
#include <QFile>
#include <QHelpEvent>
#include <QMouseEvent>
#include <QPainter>
#include <QPainterPath>
#include <QSaveFile>
#include <QToolTip>

#include <algorithm>

namespace flowdeck {

namespace {

//! How the bars stack the states: done work at the bottom, trouble on top.
constexpr StateType BarOrder[] = {StateType::Completed, StateType::Running, StateType::Cancelling,
                                  StateType::Paused,    StateType::Pending, StateType::Scheduled,
                                  StateType::Cancelled, StateType::Failed,  StateType::Crashed};

QString csvField(const QString& text)
{
    if (!text.contains(u',') && !text.contains(u'"') && !text.contains(u'\n'))
        return text;
    return u'"' + QString(text).replace(QStringLiteral("\""), QStringLiteral("\"\"")) + u'"';
}

QString isoTime(qint64 us)
{
    return QDateTime::fromMSecsSinceEpoch(us / 1000, Qt::UTC).toString(Qt::ISODate);
}

QString millis(double us)
{
    return QString::number(us / 1000.0, 'f', 1);
}

QString who(const RunStats& s)
{
    return s.task.isEmpty() ? s.flow : s.flow + u'/' + s.task;
}

} // namespace

TrendsWidget::TrendsWidget(QWidget* parent)
    : QWidget(parent)
{
    setAttribute(Qt::WA_OpaquePaintEvent);
    setMouseTracking(false);
}

TrendsWidget::~TrendsWidget() = default;

QSize TrendsWidget::sizeHint() const
{
    return {640, 340};
}

QSize TrendsWidget::minimumSizeHint() const
{
    return {360, 240};
}

void TrendsWidget::setData(const TrendsData& data)
{
    m_data = data;
    update();
}

void TrendsWidget::setDurations(const QString& flow, const QString& task,
                                const QList<TaskDuration>& durations)
{
    m_durationFlow = flow;
    m_durationTask = task;
    m_durations = durations;
    update();
}

qint64 TrendsWidget::countAt(int bucket, const QString& state) const
{
    qint64 n = 0;
    for (const RunBucket& b : m_data.runsPerBucket) {
        if (b.bucket == bucket && b.state == state)
            n += b.count;
    }
    return n;
}

QList<RunStats> TrendsWidget::slowestFlows() const
{
    QList<RunStats> out;
    for (const RunStats& s : m_data.flows) {
        if (s.finished > 0)
            out << s;
    }
    std::stable_sort(out.begin(), out.end(),
                     [](const RunStats& a, const RunStats& b) { return a.averageUs > b.averageUs; });
    return out.mid(0, TopCount);
}

QList<RunStats> TrendsWidget::failingFlows() const
{
    QList<RunStats> out;
    for (const RunStats& s : m_data.flows) {
        if (s.failed > 0)
            out << s;
    }
    std::stable_sort(out.begin(), out.end(),
                     [](const RunStats& a, const RunStats& b) { return a.failed > b.failed; });
    return out.mid(0, TopCount);
}

QList<RunStats> TrendsWidget::slowestTasks() const
{
    QList<RunStats> out;
    for (const RunStats& s : m_data.tasks) {
        if (s.finished > 0)
            out << s;
    }
    std::stable_sort(out.begin(), out.end(),
                     [](const RunStats& a, const RunStats& b) { return a.averageUs > b.averageUs; });
    return out.mid(0, TopCount);
}

QList<RunStats> TrendsWidget::failingTasks() const
{
    QList<RunStats> out;
    for (const RunStats& s : m_data.tasks) {
        if (s.failed > 0)
            out << s;
    }
    std::stable_sort(out.begin(), out.end(),
                     [](const RunStats& a, const RunStats& b) { return a.failed > b.failed; });
    return out.mid(0, TopCount);
}

QList<std::pair<QString, QList<RunStats>>> TrendsWidget::lists() const
{
    return {{tr("Slowest flows"), slowestFlows()},
            {tr("Most failing flows"), failingFlows()},
            {tr("Slowest tasks"), slowestTasks()},
            {tr("Most failing tasks"), failingTasks()}};
}

TrendsWidget::Areas TrendsWidget::areas() const
{
    const QRect all = rect().adjusted(8, 8, -8, -8);
    const int barsHeight = all.height() * 45 / 100;
    const QRect bottom(all.left(), all.top() + barsHeight + 12, all.width(), all.height() - barsHeight - 12);
    const int listsWidth = bottom.width() * 55 / 100;
    return {QRect(all.left(), all.top(), all.width(), barsHeight),
            QRect(bottom.left(), bottom.top(), listsWidth - 8, bottom.height()),
            QRect(bottom.left() + listsWidth + 8, bottom.top(), bottom.width() - listsWidth - 8,
                  bottom.height())};
}

QRect TrendsWidget::barRect(int bucket) const
{
    const QRect area = areas().bars.adjusted(40, fontMetrics().height() + 4, 0, -fontMetrics().height() - 2);
    if (m_data.buckets <= 0 || bucket < 0 || bucket >= m_data.buckets)
        return {};
    const double w = double(area.width()) / m_data.buckets;
    const int left = area.left() + int(bucket * w);
    const int right = area.left() + int((bucket + 1) * w) - (w >= 4 ? 1 : 0);
    return QRect(QPoint(left, area.top()), QPoint(std::max(left, right - 1), area.bottom()));
}

QRect TrendsWidget::slowestTaskRect(const QString& flow, const QString& task) const
{
    for (const Hit& hit : hits()) {
        if (hit.flow == flow && hit.task == task && hit.toolTip.contains(tr("average")))
            return hit.rect;
    }
    return {};
}

std::vector<TrendsWidget::Hit> TrendsWidget::hits() const
{
    std::vector<Hit> out;
    // Bars.
    for (int b = 0; b < m_data.buckets; ++b) {
        const qint64 start = m_data.sinceUs + b * m_data.bucketUs;
        QStringList lines{
            QStringLiteral("<b>%1 – %2</b>").arg(formatClock(start), formatClock(start + m_data.bucketUs))};
        qint64 total = 0;
        for (StateType t : BarOrder) {
            const qint64 n = countAt(b, toString(t));
            total += n;
            if (n > 0)
                lines << QStringLiteral("<span style=\"color:%1\">■</span> %2: %3")
                             .arg(stateColor(t).name(), stateLabel(t))
                             .arg(n);
        }
        lines.insert(1, tr("%1 flow runs started").arg(total));
        out.push_back({barRect(b), lines.join(QStringLiteral("<br>")), {}, {}});
    }
    // List rows.
    const Areas a = areas();
    const int line = fontMetrics().height() + 2;
    const int blockWidth = a.lists.width() / 2;
    const int blockHeight = a.lists.height() / 2;
    const auto all = lists();
    for (int i = 0; i < all.size(); ++i) {
        const QRect block(a.lists.left() + (i % 2) * blockWidth, a.lists.top() + (i / 2) * blockHeight,
                          blockWidth - 8, blockHeight);
        const bool slow = i % 2 == 0;
        for (int r = 0; r < all[i].second.size(); ++r) {
            const RunStats& s = all[i].second[r];
            const QRect row(block.left(), block.top() + line * (r + 1), block.width(), line);
            const QString tip = slow
                ? tr("<b>%1</b><br>%2 runs finished of %3; average %4, longest %5")
                      .arg(who(s).toHtmlEscaped())
                      .arg(s.finished)
                      .arg(s.runs)
                      .arg(formatDuration(qint64(s.averageUs)), formatDuration(s.longestUs))
                : tr("<b>%1</b><br>%2 of %3 runs failed (%4%)")
                      .arg(who(s).toHtmlEscaped())
                      .arg(s.failed)
                      .arg(s.runs)
                      .arg(s.runs ? 100.0 * double(s.failed) / double(s.runs) : 0.0, 0, 'f', 1);
            out.push_back({row,
                           tip
                               + (s.task.isEmpty() ? QString()
                                                   : QStringLiteral("<br><small>%1</small>")
                                                         .arg(tr("Click: its duration over its last runs"))),
                           s.flow, s.task});
        }
    }
    // Duration points.
    const QRect plot = a.durations.adjusted(40, fontMetrics().height() + 4, -4, -4);
    const int n = int(m_durations.size());
    for (int i = 0; i < n; ++i) {
        const int x = n == 1 ? plot.center().x() : plot.left() + plot.width() * i / (n - 1);
        const TaskDuration& d = m_durations[i];
        out.push_back({QRect(x - 4, plot.top(), 9, plot.height()),
                       tr("<b>%1</b> run %2 · %3<br>p50 %4 · p95 %5 (%6 task runs)")
                           .arg(m_durationTask.toHtmlEscaped(), shortId(d.flowRunId),
                                formatClock(d.createdUs), formatDuration(percentileOf(d.durationsUs, 0.5)),
                                formatDuration(percentileOf(d.durationsUs, 0.95)))
                           .arg(d.durationsUs.size()),
                       {},
                       {}});
    }
    return out;
}

QString TrendsWidget::toolTipAt(QPoint pos) const
{
    for (const Hit& hit : hits()) {
        if (hit.rect.contains(pos))
            return hit.toolTip;
    }
    return {};
}

void TrendsWidget::mouseReleaseEvent(QMouseEvent* event)
{
    if (event->button() != Qt::LeftButton)
        return;
    for (const Hit& hit : hits()) {
        if (!hit.task.isEmpty() && hit.rect.contains(event->position().toPoint())) {
            Q_EMIT taskChosen(hit.flow, hit.task);
            return;
        }
    }
}

bool TrendsWidget::event(QEvent* event)
{
    if (event->type() == QEvent::ToolTip) {
        const auto* help = static_cast<QHelpEvent*>(event);
        const QString tip = toolTipAt(help->pos());
        if (tip.isEmpty()) {
            QToolTip::hideText();
            event->ignore();
        } else {
            QToolTip::showText(help->globalPos(), tip, this);
        }
        return true;
    }
    return QWidget::event(event);
}

void TrendsWidget::paintEvent(QPaintEvent*)
{
    QPainter p(this);
    p.fillRect(rect(), palette().color(QPalette::Base));
    const Areas a = areas();
    paintBars(p, a.bars);
    paintLists(p, a.lists);
    paintDurations(p, a.durations);
}

void TrendsWidget::paintBars(QPainter& p, const QRect& area) const
{
    const QPalette& pal = palette();
    const QFontMetrics fm = fontMetrics();
    p.setPen(pal.color(QPalette::Text));
    const QString hours = m_data.bucketUs >= 86'400'000'000LL ? tr("day") : tr("hour");
    p.drawText(area.left(), area.top() + fm.ascent(), tr("Flow runs started per %1, by state").arg(hours));
    qint64 most = 0;
    for (int b = 0; b < m_data.buckets; ++b) {
        qint64 total = 0;
        for (StateType t : BarOrder)
            total += countAt(b, toString(t));
        most = std::max(most, total);
    }
    // The scale's labels take the width they need, whatever the font and the numbers.
    const int labels = std::max(fm.horizontalAdvance(QString::number(most)), fm.horizontalAdvance(u'0'));
    const QRect plot = area.adjusted(labels + 6, fm.height() + 4, 0, -fm.height() - 2);
    p.setPen(pal.color(QPalette::Mid));
    p.drawLine(plot.bottomLeft(), plot.bottomRight());
    p.setPen(pal.color(QPalette::PlaceholderText));
    p.drawText(QRect(area.left(), plot.top() - fm.height() / 2, labels, fm.height()), Qt::AlignRight,
               QString::number(most));
    p.drawText(QRect(area.left(), plot.bottom() - fm.height() / 2, labels, fm.height()), Qt::AlignRight,
               QStringLiteral("0"));
    if (m_data.buckets > 0) {
        p.drawText(QRect(plot.left(), plot.bottom() + 2, plot.width() / 2, fm.height()), Qt::AlignLeft,
                   formatClock(m_data.sinceUs));
        p.drawText(QRect(plot.center().x(), plot.bottom() + 2, plot.width() / 2, fm.height()), Qt::AlignRight,
                   tr("now"));
    }
    if (most == 0) {
        p.drawText(plot, Qt::AlignCenter, tr("No flow runs in this window."));
        return;
    }
    for (int b = 0; b < m_data.buckets; ++b) {
        const QRect bar = barRect(b);
        double y = bar.bottom() + 1;
        for (StateType t : BarOrder) {
            const qint64 n = countAt(b, toString(t));
            if (n <= 0)
                continue;
            const double h = double(bar.height()) * double(n) / double(most);
            p.fillRect(QRectF(bar.left(), y - h, bar.width(), h), stateColor(t));
            y -= h;
        }
    }
}

void TrendsWidget::paintLists(QPainter& p, const QRect& area) const
{
    const QPalette& pal = palette();
    const QFontMetrics fm = fontMetrics();
    const int line = fm.height() + 2;
    const int blockWidth = area.width() / 2;
    const int blockHeight = area.height() / 2;
    const auto all = lists();
    for (int i = 0; i < all.size(); ++i) {
        const QRect block(area.left() + (i % 2) * blockWidth, area.top() + (i / 2) * blockHeight,
                          blockWidth - 8, blockHeight);
        QFont bold = font();
        bold.setBold(true);
        p.setFont(bold);
        p.setPen(pal.color(QPalette::Text));
        p.drawText(QRect(block.left(), block.top(), block.width(), line), Qt::AlignLeft | Qt::AlignVCenter,
                   all[i].first);
        p.setFont(font());
        if (all[i].second.isEmpty()) {
            p.setPen(pal.color(QPalette::PlaceholderText));
            p.drawText(QRect(block.left(), block.top() + line, block.width(), line),
                       Qt::AlignLeft | Qt::AlignVCenter, tr("none"));
            continue;
        }
        const bool slow = i % 2 == 0;
        for (int r = 0; r < all[i].second.size(); ++r) {
            const RunStats& s = all[i].second[r];
            const QRect row(block.left(), block.top() + line * (r + 1), block.width(), line);
            const QString figure = slow ? formatDuration(qint64(s.averageUs))
                                        : QStringLiteral("%1/%2").arg(s.failed).arg(s.runs);
            const int figureWidth = fm.horizontalAdvance(figure) + 8;
            p.setPen(slow ? pal.color(QPalette::Text) : stateColor(StateType::Failed));
            p.drawText(row, Qt::AlignRight | Qt::AlignVCenter, figure);
            const bool chosen = !s.task.isEmpty() && s.flow == m_durationFlow && s.task == m_durationTask;
            p.setPen(chosen ? pal.color(QPalette::Highlight) : pal.color(QPalette::Text));
            p.drawText(row.adjusted(0, 0, -figureWidth, 0), Qt::AlignLeft | Qt::AlignVCenter,
                       fm.elidedText(who(s), Qt::ElideMiddle, row.width() - figureWidth));
        }
    }
}

void TrendsWidget::paintDurations(QPainter& p, const QRect& area) const
{
    const QPalette& pal = palette();
    const QFontMetrics fm = fontMetrics();
    p.setPen(pal.color(QPalette::Text));
    const QString title = m_durationTask.isEmpty()
        ? tr("A task's duration over its last runs")
        : tr("%1: p50 and p95 over its last runs").arg(m_durationFlow + u'/' + m_durationTask);
    p.drawText(QRect(area.left(), area.top(), area.width(), fm.height()), Qt::AlignLeft | Qt::AlignVCenter,
               fm.elidedText(title, Qt::ElideMiddle, area.width()));
    qint64 most = 1;
    std::vector<std::pair<qint64, qint64>> points;
    for (const TaskDuration& d : m_durations) {
        points.emplace_back(percentileOf(d.durationsUs, 0.5), percentileOf(d.durationsUs, 0.95));
        most = std::max(most, points.back().second);
    }
    // Room for the scale's labels ("1 min 59 s"), and a line under the plot for its legend.
    const QString top = formatDuration(most);
    const int labels = std::max(fm.horizontalAdvance(top), fm.horizontalAdvance(u'0'));
    const QRect plot = area.adjusted(labels + 6, fm.height() + 4, -4, -fm.height() - 4);
    p.setPen(pal.color(QPalette::Mid));
    p.drawLine(plot.bottomLeft(), plot.bottomRight());
    if (m_durations.isEmpty()) {
        p.setPen(pal.color(QPalette::PlaceholderText));
        p.drawText(plot, Qt::AlignCenter | Qt::TextWordWrap,
                   m_durationTask.isEmpty() ? tr("Click a task in the lists.")
                                            : tr("No finished runs of it."));
        return;
    }
    p.setPen(pal.color(QPalette::PlaceholderText));
    p.drawText(QRect(area.left(), plot.top() - fm.height() / 2, labels, fm.height()), Qt::AlignRight, top);
    p.drawText(QRect(area.left(), plot.bottom() - fm.height() / 2, labels, fm.height()), Qt::AlignRight,
               QStringLiteral("0"));
    // The legend: p50 solid in the highlight colour, p95 dashed, oldest run left, newest right.
    const int legendY = plot.bottom() + 4 + fm.ascent();
    int x = plot.left();
    for (int series = 0; series < 2; ++series) {
        QPen pen(series == 0 ? pal.color(QPalette::Highlight) : stateColor(StateType::Cancelled), 1.6);
        pen.setStyle(series == 0 ? Qt::SolidLine : Qt::DashLine);
        p.setPen(pen);
        const int mid = legendY - fm.ascent() / 2 + 1;
        p.drawLine(x, mid, x + 16, mid);
        p.setPen(pal.color(QPalette::PlaceholderText));
        const QString name = series == 0 ? tr("p50") : tr("p95");
        p.drawText(x + 20, legendY, name);
        x += 20 + fm.horizontalAdvance(name) + 12;
    }
    p.drawText(QRect(x, plot.bottom() + 4, plot.right() - x, fm.height()), Qt::AlignRight | Qt::AlignVCenter,
               fm.elidedText(tr("oldest → newest of %n run(s)", nullptr, int(points.size())), Qt::ElideRight,
                             std::max(0, plot.right() - x)));
    const int n = int(points.size());
    auto at = [&](int i, qint64 v) {
        const double x = n == 1 ? plot.center().x() : plot.left() + double(plot.width()) * i / (n - 1);
        return QPointF(x, plot.bottom() - double(plot.height()) * double(v) / double(most));
    };
    p.setRenderHint(QPainter::Antialiasing);
    for (int series = 1; series >= 0; --series) {
        QPainterPath path;
        for (int i = 0; i < n; ++i) {
            const QPointF pt = at(i, series == 0 ? points[size_t(i)].first : points[size_t(i)].second);
            if (i == 0)
                path.moveTo(pt);
            else
                path.lineTo(pt);
        }
        QPen pen(series == 0 ? pal.color(QPalette::Highlight) : stateColor(StateType::Cancelled), 1.6);
        if (series == 1)
            pen.setStyle(Qt::DashLine);
        p.setPen(pen);
        p.setBrush(Qt::NoBrush);
        p.drawPath(path);
        p.setBrush(pen.color());
        for (int i = 0; i < n; ++i)
            p.drawEllipse(at(i, series == 0 ? points[size_t(i)].first : points[size_t(i)].second), 2.2, 2.2);
    }
}

bool TrendsWidget::exportPng(const QString& path, QString* error) const
{
    if (!const_cast<TrendsWidget*>(this)->grab().save(path)) {
        if (error)
            *error = tr("cannot write the image %1").arg(path);
        return false;
    }
    return true;
}

QString TrendsWidget::csv() const
{
    QStringList lines{
        QStringLiteral("section,start,flow,task,state,count,failed,finished,average_ms,longest_ms,"
                       "flow_run_id,p50_ms,p95_ms")};
    for (int b = 0; b < m_data.buckets; ++b) {
        for (StateType t : BarOrder) {
            const qint64 n = countAt(b, toString(t));
            if (n > 0)
                lines << QStringLiteral("runs_per_bucket,%1,,,%2,%3,,,,,,,")
                             .arg(isoTime(m_data.sinceUs + b * m_data.bucketUs), toString(t))
                             .arg(n);
        }
    }
    auto stats = [&](const QString& section, const QList<RunStats>& rows) {
        for (const RunStats& s : rows)
            lines << QStringLiteral("%1,,%2,%3,,%4,%5,%6,%7,%8,,,")
                         .arg(section, csvField(s.flow), csvField(s.task))
                         .arg(s.runs)
                         .arg(s.failed)
                         .arg(s.finished)
                         .arg(millis(s.averageUs), millis(double(s.longestUs)));
    };
    stats(QStringLiteral("flow"), m_data.flows);
    stats(QStringLiteral("task"), m_data.tasks);
    for (const TaskDuration& d : m_durations)
        lines << QStringLiteral("duration,%1,%2,%3,,%4,,,,,%5,%6,%7")
                     .arg(isoTime(d.createdUs), csvField(m_durationFlow), csvField(m_durationTask))
                     .arg(d.durationsUs.size())
                     .arg(d.flowRunId, millis(double(percentileOf(d.durationsUs, 0.5))),
                          millis(double(percentileOf(d.durationsUs, 0.95))));
    return lines.join(u'\n') + u'\n';
}

bool TrendsWidget::exportCsv(const QString& path, QString* error) const
{
    QSaveFile file(path);
    if (!file.open(QIODevice::WriteOnly) || file.write(csv().toUtf8()) < 0 || !file.commit()) {
        if (error)
            *error = tr("cannot write %1: %2").arg(path, file.errorString());
        return false;
    }
    return true;
}

} // namespace flowdeck
