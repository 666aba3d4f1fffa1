#pragma once

#include "models/taskruntable.h"
#include "run/states.h"
#include "widgets/timelineaggregator.h"

#include <QAbstractScrollArea>
#include <QElapsedTimer>

#include <array>
#include <memory>
#include <vector>

class QTimer;

namespace flowdeck {

class AppContext;
class DirtyRows;

/**
 * Gantt chart of a flow run's task runs, painted with QPainter from TaskRun::history: one row per
 * task run (in the task table's order), its time in each state in the state's colour.
 *
 * Only visible rows are painted. When rows outnumber device pixels, the picture is a
 * TimelineAggregator's image (each pixel row a bucket of runs); this widget schedules it: in slices
 * of at most SliceBudgetNs from a zero timer, the event loop running in between (the previous image
 * stays on screen meanwhile), and at most every AggregateIntervalMs (longer when a pass is
 * expensive) while the flow runs. Ctrl+wheel zooms time, Ctrl+Shift+wheel zooms rows,
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
    //! True when a pixel row stands for several task runs.
    bool isAggregated() const;
    //! The row under a viewport position, or -1.
    int rowAt(const QPoint& pos) const;
    //! The labels the gutter shows now: one per task run, or, when rows are shorter than a line,
    //! one per task.
    QStringList rowLabels() const;

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
    struct GutterLabel {
        QString text;
        int y = 0; // viewport coordinates
    };
    QRect plotRect() const;
    //! Where each task's name goes when rows are shorter than a line: none is dropped because the
    //! task above it is one row high.
    std::vector<GutterLabel> taskLabels(const QRect& plot) const;
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
    //! Continues the aggregator's pass for one slice; true when the image is complete.
    bool continueAggregate(qint64 budgetNs);
    QString toolTipAt(const QPoint& pos) const;
    void syncCompact();

    AppContext* m_context;
    TaskRunTable m_table;
    std::unique_ptr<DirtyRows> m_dirty;
    double m_pxPerUs = 0; // logical pixels per microsecond
    double m_pxPerRow = MaxRowHeight;
    bool m_fitTime = true; // follow the flow run's growing duration
    bool m_fitRows = true; // follow the number of rows
    std::array<QColor, StateNameCount> m_nameColor;

    // Aggregated view, reused between frames.
    TimelineAggregator m_aggregator;
    ViewKey m_jobKey;   // of the pass under way
    ViewKey m_imageKey; // of the image shown
    bool m_dataDirty = true;
    QElapsedTimer m_sinceAggregate;
    int m_aggregateIntervalMs = AggregateIntervalMs;
    QTimer* m_throttle;
    QTimer* m_nextSlice;
    QTimer* m_syncMore;
};

} // namespace flowdeck
