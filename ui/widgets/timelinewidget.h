#pragma once

#include "models/taskruntable.h"
#include "run/states.h"

#include <QAbstractScrollArea>
#include <QElapsedTimer>
#include <QImage>

#include <array>
#include <memory>
#include <utility>
#include <vector>

class QTimer;

namespace flowdeck {

class AppContext;
class DirtyRows;

/**
 * Gantt chart of a flow run's task runs, painted with QPainter from TaskRun::history: one row per
 * task run (in the task table's order), its time in each state in the state's colour.
 *
 * Only visible rows are painted. When rows outnumber device pixels, each pixel row stands for a
 * bucket of runs and each pixel shows the dominant state of the runs present there, its opacity
 * the share of the bucket. That view reads a compact copy of the histories (24 bytes a run, kept
 * current from the runs that changed, as the task table is) into a reused image with per-state
 * difference arrays: no per-frame or per-run allocation, and no pointer chasing through 100k
 * history vectors. It is computed in slices of at most SliceBudgetNs, the event loop running in
 * between (the previous image stays on screen meanwhile), and at most every AggregateIntervalMs
 * (longer when a pass is expensive) while the flow runs. Ctrl+wheel zooms time, Ctrl+Shift+wheel zooms rows,
 * Shift+wheel scrolls time.
 */
class TimelineWidget : public QAbstractScrollArea {
    Q_OBJECT

public:
    static constexpr double MaxRowHeight = 18.0;
    static constexpr int AggregateIntervalMs = 200;
    //! Longest the aggregated view computes in one go before it lets the event loop run. The
    //! computation only ever runs from a zero timer, never inside paintEvent.
    static constexpr qint64 SliceBudgetNs = 900'000;
    //! Longest one refresh copies changed and new runs into the compact histories; the rest
    //! continues from a zero timer.
    static constexpr qint64 SyncBudgetNs = 700'000;
    //! Rows copied between two looks at the clock while syncing.
    static constexpr int SyncChunkRows = 512;

    explicit TimelineWidget(AppContext* context, QWidget* parent = nullptr);
    ~TimelineWidget() override;

    void setFlowRun(FlowRun* run);
    FlowRun* flowRun() const { return m_table.flowRun(); }
    //! Task runs changed or time passed: repaints (the aggregated view at most every AggregateIntervalMs).
    void refresh();

    void zoomTimeIn();
    void zoomTimeOut();
    void zoomRowsIn();
    void zoomRowsOut();
    //! Shows the whole flow run: all of its time and as many rows as fit (aggregated beyond that).
    void fitAll();

    double pixelsPerSecond() const { return m_pxPerUs * 1e6; }
    double pixelsPerRow() const { return m_pxPerRow; }
    //! True when a pixel row stands for several task runs.
    bool isAggregated() const;
    //! The row under a viewport position, or -1.
    int rowAt(const QPoint& pos) const;

Q_SIGNALS:
    void rowClicked(int row);

protected:
    void paintEvent(QPaintEvent* event) override;
    void resizeEvent(QResizeEvent* event) override;
    void wheelEvent(QWheelEvent* event) override;
    void mousePressEvent(QMouseEvent* event) override;
    bool viewportEvent(QEvent* event) override;
    void scrollContentsBy(int dx, int dy) override;

private:
    //! What an aggregated image was computed for: a change the user made restarts the computation.
    struct ViewKey {
        QSize size;
        int hScroll = 0;
        int vScroll = 0;
        double pxPerUs = 0; // 0 while following the flow's growing duration
        double pxPerRow = 0;
        bool operator==(const ViewKey&) const = default;
    };
    //! One pass over the compact histories, done a slice of pixel rows at a time.
    struct AggregateJob {
        bool active = false;
        int nextY = 0;
        ViewKey key;
        int width = 0;
        int height = 0;
        int rows = 0;
        double rowsPerPixel = 0;
        double firstRow = 0;
        float now = 0;
        float pxPerSecond = 0;
        float left = 0;
        int lanes = 0;
        std::array<int, StateTypeCount> lane{};
        std::array<QRgb, StateTypeCount> colours{};
        QRgb background = 0;
        qint64 costNs = 0;
    };

    QRect plotRect() const;
    qint64 startUs() const;
    qint64 endUs() const;
    double fitPxPerUs() const;
    double fitPxPerRow() const;
    void applyFit();
    void updateScrollBars();
    void zoomTime(double factor, int anchorX);
    void zoomRows(double factor, int anchorY);
    void paintAxis(QPainter& p, const QRect& plot);
    void paintGutter(QPainter& p, const QRect& plot);
    void paintRows(QPainter& p, const QRect& plot);
    void paintAggregate(QPainter& p, const QRect& plot);
    ViewKey viewKey(const QRect& plot) const;
    void startAggregate(const QRect& plot, const ViewKey& key);
    //! Computes pixel rows of the job until \a budgetNs is spent; true when the image is complete.
    bool continueAggregate(qint64 budgetNs);
    QString toolTipAt(const QPoint& pos) const;
    void syncCompact();

    //! Up to four state stamps of a run (the first and the last three when it has more).
    struct CompactRun {
        float seconds[4]; // since the flow run was created
        quint8 type[4];
        quint8 count = 0;
        bool terminal = false;
    };

    AppContext* m_context;
    TaskRunTable m_table;
    std::vector<CompactRun> m_compact;          // by row
    std::vector<std::pair<int, int>> m_pending; // changed rows (inclusive ranges) not copied yet
    size_t m_pendingPos = 0;
    std::unique_ptr<DirtyRows> m_dirty;
    quint32 m_presentTypes = 0; // bit per StateType seen in any history
    double m_pxPerUs = 0;       // logical pixels per microsecond
    double m_pxPerRow = MaxRowHeight;
    bool m_fitTime = true; // follow the flow run's growing duration
    bool m_fitRows = true; // follow the number of rows
    std::array<QColor, StateNameCount> m_nameColor;
    std::array<quint8, StateNameCount> m_typeOfName;

    // Aggregated view, reused between frames.
    QImage m_image;
    std::vector<qint32> m_acc;
    AggregateJob m_job;
    ViewKey m_imageKey;
    bool m_dataDirty = true;
    QElapsedTimer m_sinceAggregate;
    int m_aggregateIntervalMs = AggregateIntervalMs;
    QTimer* m_throttle;
    QTimer* m_nextSlice;
    QTimer* m_syncMore;
};

} // namespace flowdeck
