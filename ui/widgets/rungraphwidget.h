#pragma once

#include "flow/flow.h"
#include "models/taskstatecounts.h"
#include "widgets/graphlayout.h"

#include <QHash>
#include <QImage>
#include <QPainterPath>
#include <QWidget>

#include <optional>
#include <vector>

template<typename T>
class QFutureWatcher;
class QTimer;

namespace flowdeck {

class AppContext;
struct FlowRun;

/**
 * The shape of a flow: its tasks as nodes in layers left to right by dependency (GraphLayout),
 * painted with QPainter in the palette's colours. For a flow run, each node shows its task runs'
 * states as a stacked bar (a mapped task is one node with the share and count of each state), kept
 * live by refresh() from the display tick; for a flow that has not run (setFlow()), what it will
 * do: the number of task runs each task maps to with the parameters given, its tags and limits.
 *
 * Edges do not change while a run goes on, and a big graph has thousands of curve segments: they
 * are drawn into tiles of TileSize device pixels at the current zoom and kept, so a frame while
 * panning blits tiles and paints the nodes; the tiles around the visible ones are drawn ahead from
 * a zero timer, one per event.
 *
 * Drag pans, the wheel zooms at the pointer, + / - / 0 zoom in, out and fit. A click on a node
 * emits taskClicked (on the background: an empty id), a double click taskActivated. Flows of
 * SyncLayoutBelow tasks or more are laid out on a pool thread, the previous picture staying until
 * the layout arrives.
 */
class RunGraphWidget : public QWidget {
    Q_OBJECT

public:
    static constexpr int SyncLayoutBelow = 64;
    static constexpr double MinZoom = 0.05;
    static constexpr double MaxZoom = 4.0;
    static constexpr int TileSize = 512;
    static constexpr int MaxTiles = 48; //!< 48 MB at most

    explicit RunGraphWidget(AppContext* context, QWidget* parent = nullptr);
    ~RunGraphWidget() override;

    //! Shows \a run's tasks and their task runs' states (null: nothing).
    void setFlowRun(FlowRun* run);
    FlowRun* flowRun() const { return m_run; }
    //! Shows \a flow as it would run: map counts, tags and limits (no states).
    void setFlow(const FlowDefinition& flow);
    void clear();
    //! The flow run's task runs changed: counts them again and repaints (does little while hidden).
    void refresh();

    //! The task to mark as selected (the one the task table is filtered to); empty: none.
    void setSelectedTask(const QString& taskId);
    const QString& selectedTask() const { return m_selected; }

    void zoomIn();
    void zoomOut();
    //! Shows the whole graph (at most at 1.5x).
    void fitAll();
    double zoom() const { return m_zoom; }
    QPointF offset() const { return m_offset; }
    //! Moves the drawing by \a delta widget pixels (what a drag does).
    void panBy(QPointF delta);

    //! False while a layout is being computed on a pool thread.
    bool isLayoutReady() const { return m_layoutReady; }
    const GraphLayout& layout() const { return m_layout; }
    int nodeCount() const { return int(m_nodes.size()); }
    QString nodeId(int node) const { return m_nodes[size_t(node)].id; }
    int nodeOf(const QString& taskId) const;
    //! Edges as (from, to) task ids, in the order drawn.
    QList<std::pair<QString, QString>> edgeIds() const;
    //! Where \a taskId's node is now, in widget coordinates (empty before the layout is ready).
    QRectF nodeRect(const QString& taskId) const;
    //! The node's task runs per state; the planned total (and nothing else) for a flow not run.
    TaskStateCounts::Counts countsOf(const QString& taskId) const;
    //! The tooltip of \a taskId's node: states with exact counts, kind, tags and limits.
    QString toolTipFor(const QString& taskId) const;

Q_SIGNALS:
    void taskClicked(const QString& taskId);
    void taskActivated(const QString& taskId);
    //! A layout was adopted (synchronously or from the pool).
    void layoutReady();

protected:
    void paintEvent(QPaintEvent* event) override;
    void resizeEvent(QResizeEvent* event) override;
    void showEvent(QShowEvent* event) override;
    void wheelEvent(QWheelEvent* event) override;
    void keyPressEvent(QKeyEvent* event) override;
    void mousePressEvent(QMouseEvent* event) override;
    void mouseMoveEvent(QMouseEvent* event) override;
    void mouseReleaseEvent(QMouseEvent* event) override;
    void mouseDoubleClickEvent(QMouseEvent* event) override;
    bool event(QEvent* event) override;
    void changeEvent(QEvent* event) override;

private:
    //! A task as drawn: what the flow says about it, and where its counts are.
    struct Node {
        QString id;
        QString kind;
        QStringList tags;
        QStringList limits;
        qint64 planned = 1; //!< task runs it will have
        bool mapped = false;
        int runNode = -1; //!< index in FlowRun::nodes; -1 for a flow not run
    };

    //! Reads the tasks and edges of \a flow; \a run null for a plan.
    void load(const FlowDefinition& flow, FlowRun* run);
    void startLayout();
    void adopt(GraphLayout layout);
    void zoomAt(double factor, QPointF anchor);
    int nodeAtWidget(QPointF pos) const;
    TaskStateCounts::Counts countsOfNode(int node) const;
    void paintNode(QPainter& p, int node, bool detailed) const;
    //! The edge tile at (\a tx, \a ty) of the drawing at the current zoom, drawn when missing.
    const QImage& tile(int tx, int ty);
    //! Tiles of the drawing in device pixels that \a widgetRect shows: (first x, first y, last x, last y).
    QRect tilesFor(const QRectF& widgetRect) const;
    void prefetchTile();

    AppContext* m_context;
    TaskStateCounts m_counts;
    FlowRun* m_run = nullptr;
    std::vector<Node> m_nodes;
    std::vector<std::pair<int, int>> m_edges;
    GraphLayout m_layout;
    std::vector<QPainterPath> m_edgePaths; //!< in graph coordinates, with the arrowhead
    std::vector<QRectF> m_edgeBounds;
    //! The same edges in pieces, for the tiles: level runs through columns, curves between them
    //! and arrowheads.
    struct Curve {
        QPainterPath path;
        QRectF bounds;
    };
    std::vector<QLineF> m_lanes;
    std::vector<Curve> m_curves;
    bool m_layoutReady = true;
    quint64 m_layoutSerial = 0;
    QFutureWatcher<GraphLayout>* m_watcher = nullptr;
    QHash<quint64, QImage> m_tiles;
    double m_tileScale = 0; //!< device pixels per graph unit the tiles were drawn at
    QRect m_visibleTiles;   //!< what the last paint showed
    QTimer* m_prefetch;
    bool m_stale = false;    //!< counts to sync when shown again
    bool m_userView = false; //!< panned or zoomed by the user: a resize keeps the view
    double m_zoom = 1.0;
    QPointF m_offset; //!< widget position of the drawing's origin
    QString m_selected;
    std::optional<QPointF> m_pressAt;
    QPointF m_lastDrag;
    bool m_dragged = false;
};

} // namespace flowdeck
