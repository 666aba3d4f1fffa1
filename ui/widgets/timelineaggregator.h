#pragma once

#include "run/states.h"

#include <QImage>
#include <QSize>

#include <array>
#include <utility>
#include <vector>

namespace flowdeck {

class DirtyRows;
class TaskRunTable;
struct TaskRun;

/**
 * What the timeline draws when rows outnumber device pixels: each pixel row stands for a bucket of
 * task runs and each pixel shows the dominant state of the runs present there, its opacity the share
 * of the bucket.
 *
 * It reads a compact copy of the histories (24 bytes a run, kept current from the runs that changed,
 * as the task table is) into a reused image with per-state difference arrays: no per-frame or per-run
 * allocation, and no pointer chasing through 100k history vectors. Both the copy (sync()) and a pass
 * over it (start(), then continuePass()) run in slices with a time budget, so that the caller can let
 * the event loop run in between. Painting and scheduling are the widget's.
 */
class TimelineAggregator {
public:
    //! Longest one sync() copies changed and new runs into the compact histories.
    static constexpr qint64 SyncBudgetNs = 700'000;
    //! Rows copied between two looks at the clock while syncing.
    static constexpr int SyncChunkRows = 512;

    //! Where the image is computed for, in device pixels and seconds since the flow run was created.
    struct View {
        QSize size; //!< of the plot, in device pixels
        qreal devicePixelRatio = 1;
        double firstRow = 0;     //!< task-table row at the top (fractional when scrolled)
        double rowsPerPixel = 1; //!< task runs a pixel row stands for (> 1 when aggregated)
        float nowSeconds = 0;    //!< where runs that have not ended end
        float pxPerSecond = 0;
        float left = 0; //!< x of the flow run's creation (negative when scrolled)
        QRgb background = 0;
    };

    TimelineAggregator();

    //! Forgets the histories (a new flow run); \a expectedRows is reserved.
    void clear(size_t expectedRows);
    /**
     * Copies the rows \a dirty marked as changed (if any), then the rows of \a table not copied yet,
     * until SyncBudgetNs is spent. Returns false when rows are left: call again from a zero timer.
     */
    bool sync(const TaskRunTable& table, DirtyRows* dirty);
    //! Task runs copied so far.
    int rowCount() const { return int(m_compact.size()); }

    //! Begins a pass for \a view over the rows copied so far (at most \a rows); the image keeps its
    //! previous content until the pass reaches each line.
    void start(const View& view, int rows);
    //! Computes pixel rows of the pass until \a budgetNs is spent; true when the image is complete.
    bool continuePass(qint64 budgetNs);
    //! True while a pass is under way.
    bool isActive() const { return m_job.active; }
    //! Time the last complete pass took, summed over its slices.
    qint64 lastPassCostNs() const { return m_lastCostNs; }
    //! The image of the last pass (device pixels; its device pixel ratio set).
    const QImage& image() const { return m_image; }

private:
    //! Up to four state stamps of a run (the first and the last three when it has more).
    struct CompactRun {
        float seconds[4]; // since the flow run was created
        quint8 type[4];
        quint8 count = 0;
        bool terminal = false;
    };
    //! One pass over the compact histories, done a slice of pixel rows at a time.
    struct Job {
        bool active = false;
        int nextY = 0;
        View view;
        int width = 0;
        int height = 0;
        int rows = 0;
        int lanes = 0;
        std::array<int, StateTypeCount> lane{};
        std::array<QRgb, StateTypeCount> colours{};
        qint64 costNs = 0;
    };

    void copyRun(int row, const TaskRun& run, qint64 t0);
    //! Fills pixel row \a y of the image from the runs it stands for.
    void computeLine(int y);

    std::array<quint8, StateNameCount> m_typeOfName;
    std::vector<CompactRun> m_compact;          // by row
    std::vector<std::pair<int, int>> m_pending; // changed rows (inclusive ranges) not copied yet
    size_t m_pendingPos = 0;
    quint32 m_presentTypes = 0; // bit per StateType seen in any history
    QImage m_image;
    std::vector<qint32> m_acc;
    Job m_job;
    qint64 m_lastCostNs = 0;
};

} // namespace flowdeck
