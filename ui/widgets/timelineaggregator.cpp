#include "widgets/timelineaggregator.h"

#include "context/dirtyrows.h"
#include "models/taskruntable.h"
#include "run/flowrun.h"
#include "style/statestyle.h"

#include <QElapsedTimer>

#include <algorithm>
#include <limits>

namespace flowdeck {

TimelineAggregator::TimelineAggregator()
{
    for (int i = 0; i < StateNameCount; ++i)
        m_typeOfName[size_t(i)] = quint8(typeOf(StateName(i)));
}

void TimelineAggregator::clear(size_t expectedRows)
{
    m_job.active = false;
    m_image = QImage();
    m_compact.clear();
    m_pending.clear();
    m_pendingPos = 0;
    m_compact.reserve(expectedRows);
    m_presentTypes = 0;
}

void TimelineAggregator::copyRun(int row, const TaskRun& run, qint64 t0)
{
    CompactRun& c = m_compact[size_t(row)];
    const size_t n = run.history.size();
    c.count = quint8(std::min<size_t>(n, 4));
    for (size_t k = 0; k < c.count; ++k) {
        // The first stamp, then the last ones: retries in between fold into the running time.
        const size_t i = k == 0 || n <= 4 ? k : n - 4 + k;
        const StateStamp& stamp = run.history[i];
        c.seconds[k] = float(double(stamp.timeUs - t0) / 1e6);
        c.type[k] = m_typeOfName[size_t(stamp.name)];
        m_presentTypes |= 1u << c.type[k];
    }
    c.terminal = run.isTerminal();
}

bool TimelineAggregator::sync(const TaskRunTable& table, DirtyRows* dirty)
{
    const FlowRun* flow = table.flowRun();
    if (!flow)
        return true;
    const qint64 t0 = flow->createdUs;
    auto read = [&](int row, const TaskRun& run) { copyRun(row, run, t0); };
    QElapsedTimer clock;
    clock.start();
    const int known = int(m_compact.size());
    if (dirty) {
        // Only the rows that changed (adjacent ones merged): reading a run is a cache miss.
        for (const auto& range : dirty->takeRanges(known, 1, std::numeric_limits<int>::max()))
            m_pending.push_back(range);
    }
    // Changed rows, then new ones (a flow run creates 100k in about a second), a chunk at a time
    // until the budget is spent.
    bool more = false;
    while (m_pendingPos < m_pending.size()) {
        auto& range = m_pending[m_pendingPos];
        const int end = std::min(range.second + 1, range.first + SyncChunkRows);
        table.forEach(range.first, end, read);
        if (end > range.second)
            ++m_pendingPos;
        else
            range.first = end;
        if (clock.nsecsElapsed() >= SyncBudgetNs) {
            more = true;
            break;
        }
    }
    if (m_pendingPos == m_pending.size()) {
        m_pending.clear();
        m_pendingPos = 0;
    }
    int rows = known;
    const int target = table.rowCount();
    while (!more && rows < target) {
        const int next = std::min(target, rows + SyncChunkRows);
        m_compact.resize(size_t(next));
        table.forEach(rows, next, read);
        rows = next;
        if (clock.nsecsElapsed() >= SyncBudgetNs)
            more = true;
    }
    return rows >= target && m_pending.empty();
}

void TimelineAggregator::start(const View& view, int rows)
{
    Job& job = m_job;
    job = Job{};
    job.active = true;
    job.view = view;
    job.width = std::max(1, view.size.width());
    job.height = std::max(1, view.size.height());
    // Opaque, blended on the background here: drawing it is then a plain copy.
    if (m_image.size() != QSize(job.width, job.height)) {
        m_image = QImage(job.width, job.height, QImage::Format_RGB32);
        m_image.setDevicePixelRatio(view.devicePixelRatio);
        m_image.fill(view.background);
    }
    // Only the states that occur get a lane in the difference arrays (usually 3 or 4 of 9).
    for (int t = 0; t < StateTypeCount; ++t) {
        job.lane[size_t(t)] = (m_presentTypes & (1u << t)) ? job.lanes : -1;
        if (job.lane[size_t(t)] >= 0)
            job.colours[size_t(job.lanes++)] = stateColor(StateType(t)).rgb();
    }
    job.rows = std::min(rows, int(m_compact.size()));
    m_acc.resize(size_t(job.width + 1) * size_t(std::max(1, job.lanes)));
}

bool TimelineAggregator::continuePass(qint64 budgetNs)
{
    Job& job = m_job;
    if (!job.active)
        return true;
    QElapsedTimer slice;
    slice.start();
    for (; job.nextY < job.height; ++job.nextY) {
        if (slice.nsecsElapsed() >= budgetNs)
            break;
        computeLine(job.nextY);
    }
    job.costNs += slice.nsecsElapsed();
    if (job.nextY < job.height)
        return false;
    job.active = false;
    m_lastCostNs = job.costNs;
    return true;
}

void TimelineAggregator::computeLine(int y)
{
    const Job& job = m_job;
    const View& view = job.view;
    const int width = job.width;
    const size_t lanes = size_t(std::max(1, job.lanes));
    auto* line = reinterpret_cast<QRgb*>(m_image.scanLine(y));
    const int r0 = int(view.firstRow + y * view.rowsPerPixel);
    if (r0 >= job.rows || job.lanes == 0) {
        std::fill(line, line + width, view.background);
        return;
    }
    const int r1 = std::max(r0 + 1, std::min(job.rows, int(view.firstRow + (y + 1) * view.rowsPerPixel)));
    const float maxX = float(width);
    auto toX
        = [&](float seconds) { return int(std::clamp(view.left + seconds * view.pxPerSecond, -1.0f, maxX)); };
    std::fill(m_acc.begin(), m_acc.end(), 0);
    // Difference arrays per state: +1 where a run enters a state, -1 where it leaves.
    for (int r = r0; r < r1; ++r) {
        const CompactRun& run = m_compact[size_t(r)];
        for (int i = 0; i < run.count; ++i) {
            const bool last = i + 1 == run.count;
            int x0 = toX(run.seconds[i]);
            int x1 = last ? (run.terminal ? x0 + 1 : toX(view.nowSeconds)) : toX(run.seconds[i + 1]);
            if (x1 <= x0)
                x1 = x0 + 1; // shorter than a pixel: still visible
            if (x1 <= 0 || x0 >= width)
                continue;
            x0 = std::max(0, x0);
            x1 = std::min(width, x1);
            const size_t l = size_t(job.lane[run.type[i]]);
            ++m_acc[size_t(x0) * lanes + l];
            --m_acc[size_t(x1) * lanes + l];
        }
    }
    const float bucket = float(r1 - r0);
    std::array<int, StateTypeCount> current{};
    for (int x = 0; x < width; ++x) {
        const qint32* d = &m_acc[size_t(x) * lanes];
        int total = 0;
        int best = -1;
        int bestCount = 0;
        for (size_t l = 0; l < lanes; ++l) {
            current[l] += d[l];
            const int c = current[l];
            total += c;
            if (c > bestCount) {
                bestCount = c;
                best = int(l);
            }
        }
        if (best < 0) {
            line[x] = view.background;
            continue;
        }
        const float share = std::min(1.0f, float(total) / bucket);
        const int alpha = int(90 + 165 * share);
        const QRgb c = job.colours[size_t(best)];
        const QRgb b = view.background;
        auto mix = [alpha](int fg, int bg) { return (fg * alpha + bg * (255 - alpha)) / 255; };
        line[x] = qRgb(mix(qRed(c), qRed(b)), mix(qGreen(c), qGreen(b)), mix(qBlue(c), qBlue(b)));
    }
}

} // namespace flowdeck
