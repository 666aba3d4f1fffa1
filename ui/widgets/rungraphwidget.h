#pragma once

#include "flow/flow.h"
#include "models/taskstatecounts.h"
#include "widgets/graphlayout.h"

#include <QHash>
#include <QImage>
#include <QPainterPath>
#include <QWidget>

#include <array>
#include <memory>
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
 * A mapped task of at most ExpandLimit task runs has an expander: expanded, its node grows to show
 * each task run as a small square in its state. A for_each task is drawn as a mapped one once its
 * items, and so its number of task runs, are known. Edges that read a result ("{{tasks.X.result}}") are
 * dashed; a task that runs another flow has a node for that flow, joined by a dotted edge.
 *
 * Edges do not change while a run goes on, and a big graph has thousands of curve segments: they
 * are drawn into tiles of TileSize device pixels at the current zoom and kept, so a frame while
 * panning blits tiles and paints the nodes; the tiles around the visible ones are drawn ahead on a
 * pool thread, one at a time. After a zoom, the tiles of the previous zoom are drawn scaled until
 * those of the new one arrive the same way, so neither a zoom's frame nor the event loop waits for
 * the edges (a zoomed-out tile holds thousands of them).
 *
 * Drag pans, the wheel zooms at the pointer, + / - / 0 zoom in, out and fit. A click on a node
 * emits taskClicked (on the background: an empty id), a double click taskActivated. Keyboard: the
 * arrows move between nodes (and the task runs of an expanded node), Enter filters to the task
 * (on a task run: opens it), Shift+Enter opens one of its task runs, Space expands or collapses,
 * Ctrl+arrows pan. Flows of SyncLayoutBelow tasks or more are laid out on a pool thread, the
 * previous picture staying until the layout arrives.
 */
class RunGraphWidget : public QWidget {
    Q_OBJECT

public:
    static constexpr int SyncLayoutBelow = 64;
    static constexpr double MinZoom = 0.05;
    static constexpr double MaxZoom = 4.0;
    static constexpr int TileSize = 512;
    static constexpr int MaxTiles = 48;    //!< 48 MB at most
    static constexpr int ExpandLimit = 50; //!< a mapped task of at most this many task runs can expand

    //! What an edge means: a task waits for another, reads its result, or runs a flow (a subflow).
    enum class EdgeKind : quint8 { Dependency, Result, Subflow };

    explicit RunGraphWidget(AppContext* context, QWidget* parent = nullptr);
    ~RunGraphWidget() override;

    //! Shows \a run's tasks and their task runs' states (null: nothing).
    void setFlowRun(FlowRun* run);
    FlowRun* flowRun() const { return m_run; }
    //! Shows \a flow as it would run: map counts, tags and limits (no states).
    void setFlow(const FlowDefinition& flow);
    void clear();
    /**
     * Shows \a flow's tasks with the task-run counts of \a counts (by task id), counted elsewhere
     * (by the database, for a stored run too large to read whole). Lays the graph out again only
     * when the tasks changed; otherwise repaints the nodes whose counts moved.
     */
    void setTaskCounts(const FlowDefinition& flow, const QHash<QString, TaskStateCounts::Counts>& counts);
    //! True while the counts shown are those given to setTaskCounts().
    bool showsGivenCounts() const { return m_countsGiven; }
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

    //! Visible edge tiles not yet drawn at this zoom (the previous zoom's stand in for them).
    int pendingTiles() const;

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
    //! The per-state counts the nodes show, kept from the display tick.
    const TaskStateCounts& stateCounts() const { return m_counts; }
    //! The tooltip of \a taskId's node: states with exact counts, kind, tags and limits.
    QString toolTipFor(const QString& taskId) const;
    //! The tooltip at \a pos (widget coordinates): of a node, a task run of an expanded node, or an edge.
    QString toolTipAt(QPointF pos) const;

    //! Whether \a taskId is a mapped task of a flow run with at most ExpandLimit task runs.
    bool canExpand(const QString& taskId) const;
    bool isExpanded(const QString& taskId) const;
    //! Shows (or hides) \a taskId's task runs inside its node; lays the graph out again.
    void setExpanded(const QString& taskId, bool expanded);
    //! Where the expander of \a taskId's node is, in widget coordinates (empty when it cannot expand).
    QRectF expanderRect(const QString& taskId) const;
    //! Where task run \a mapIndex of expanded \a taskId is drawn, in widget coordinates.
    QRectF runRect(const QString& taskId, int mapIndex) const;
    //! The state drawn for task run \a mapIndex of \a taskId (Pending when not created yet).
    StateType runState(const QString& taskId, int mapIndex) const;
    //! The node of the flow that \a taskId runs as a subflow, in widget coordinates (empty: none).
    QRectF subflowRect(const QString& taskId) const;
    //! The kind of the edge from \a from to \a to as edgeIds() names them.
    std::optional<EdgeKind> edgeKind(const QString& from, const QString& to) const;
    //! The middle of that edge, in widget coordinates.
    QPointF edgeMidpoint(const QString& from, const QString& to) const;

    //! The keyboard's current task (empty: none yet) and task run in it (-1: the node itself).
    QString focusedTask() const;
    int focusedRun() const { return m_focusRun; }

Q_SIGNALS:
    void taskClicked(const QString& taskId);
    void taskActivated(const QString& taskId);
    //! A double click (or Enter) on task run \a mapIndex of an expanded node.
    void taskRunActivated(const QString& taskId, int mapIndex);
    //! A double click on the node of the flow that \a taskId runs: open that subflow run (on a flow
    //! not run: show that flow).
    void subflowActivated(const QString& taskId);
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
    void focusInEvent(QFocusEvent* event) override;
    void focusOutEvent(QFocusEvent* event) override;

private:
    //! A task as drawn: what the flow says about it, and where its counts are.
    struct Node {
        QString id;
        QString kind;
        QStringList tags;
        QStringList limits;
        qint64 planned = 1;  //!< task runs it will have
        bool mapped = false; //!< map, map_over, or for_each once its items are known
        QString forEach;     //!< the reference a for_each task maps over; empty for others
        bool expanded = false;
        int runNode = -1;   //!< index in FlowRun::nodes; -1 for a flow not run
        int subflowOf = -1; //!< the node of a flow run as a subflow: the task that runs it
        QStringList resultsRead;
        QString subline; //!< kind, tags and limits, elided to the node's width once
        //! The title elided for a count text of \a elidedFor pixels (kept: elision is costly).
        mutable QString elided;
        mutable double elidedFor = -1;
    };
    //! What is under a point: a node, a task run inside it (run >= 0) or its expander.
    struct Hit {
        int node = -1;
        int run = -1;
        bool expander = false;
    };

    //! Reads the tasks and edges of \a flow; \a run null for a plan.
    void load(const FlowDefinition& flow, FlowRun* run);
    void startLayout();
    //! Repaints the nodes whose counts differ from those last shown.
    void updateChangedNodes();
    //! Marks the for_each tasks whose items became known as mapped, with their count of task runs;
    //! true when one changed.
    bool syncForEach();
    //! The node's second line, elided to its width (with room for an expander when mapped).
    QString sublineOf(const Node& node) const;
    void adopt(GraphLayout layout);
    void zoomAt(double factor, QPointF anchor);
    int nodeAtWidget(QPointF pos) const;
    Hit hitAt(QPointF pos) const;
    bool canExpandNode(int node) const;
    //! Rows of run squares an expanded node shows.
    int runRows(int node) const;
    //! In graph coordinates.
    QRectF expanderOf(int node) const;
    QRectF runCell(int node, int mapIndex) const;
    StateType runStateOf(int node, int mapIndex) const;
    int subflowNodeOf(int node) const;
    int edgeAt(QPointF pos) const;
    EdgeKind kindOf(int from, int to) const;
    //! Moves the keyboard's item to the nearest one in direction (\a dx, \a dy).
    void moveFocus(int dx, int dy);
    QRectF focusRect() const;
    void ensureVisible(const QRectF& widgetRect);
    void activate(const Hit& hit);
    //! Draws the tiles \a visible holds: kept ones, the previous zoom's scaled where one is missing.
    void paintTiles(QPainter& p, const QRect& visible);
    TaskStateCounts::Counts countsOfNode(int node) const;
    //! Text only where it can be read (level of detail by zoom).
    void paintNode(QPainter& p, int node) const;
    //! The edge tile at (\a tx, \a ty) of the drawing at the current zoom, drawn now when missing.
    const QImage& tile(int tx, int ty);
    const QImage& insertTile(quint64 key, QImage image);
    //! Tiles of the drawing in device pixels that \a widgetRect shows: (first x, first y, last x, last y).
    QRect tilesFor(const QRectF& widgetRect) const;
    //! Starts drawing the next missing tile on a pool thread: the visible ones first, then the ring
    //! around them. One at a time; each arrives through tileDrawn().
    void prefetchTile();
    void tileDrawn();

    AppContext* m_context;
    TaskStateCounts m_counts;
    FlowRun* m_run = nullptr;
    std::vector<Node> m_nodes;
    std::vector<std::pair<int, int>> m_edges;
    QHash<quint64, EdgeKind> m_edgeKinds; //!< by from << 32 | to
    GraphLayout m_layout;
    std::vector<QPainterPath> m_edgePaths; //!< in graph coordinates, with the arrowhead
    std::vector<QRectF> m_edgeBounds;
    //! The same edges in pieces, for the tiles: level runs through columns, curves between them
    //! and arrowheads.
    struct Curve {
        QPainterPath path;
        QRectF bounds;
        EdgeKind kind;
    };
    struct EdgeArt {
        std::array<std::vector<QLineF>, 3> lanes; //!< per EdgeKind
        std::vector<Curve> curves;
    };
    //! Draws one tile of \a art: plain data in, an image out, so it runs on any thread.
    static QImage drawTile(const EdgeArt& art, int tx, int ty, double scale, qreal ratio, QColor base,
                           QColor ink);
    //! The GUI thread's, and the pool thread's own copy (held by the tile in flight too); replaced,
    //! never changed, by a new layout.
    std::shared_ptr<const EdgeArt> m_art;
    std::shared_ptr<const EdgeArt> m_poolArt;
    QFutureWatcher<QImage>* m_tileWatcher = nullptr;
    bool m_tileBusy = false;
    quint64 m_tileKeyInFlight = 0;
    double m_tileScaleInFlight = 0;
    quint64 m_tileGeneration = 0; //!< a new layout or palette: tiles in flight are stale
    quint64 m_tileGenerationInFlight = 0;
    bool m_layoutReady = true;
    bool m_keepPicture = false; //!< laying out the same nodes again (a node expanded): paint the old
    quint64 m_layoutSerial = 0;
    QFutureWatcher<GraphLayout>* m_watcher = nullptr;
    QHash<quint64, QImage> m_tiles;
    double m_tileScale = 0; //!< device pixels per graph unit the tiles were drawn at
    QRect m_visibleTiles;   //!< what the last paint showed
    //! The previous zoom's tiles, drawn scaled where the current zoom's are missing.
    QHash<quint64, QImage> m_oldTiles;
    double m_oldTileScale = 0;
    QTimer* m_prefetch;
    bool m_countsGiven = false;                            //!< see setTaskCounts()
    QHash<QString, TaskStateCounts::Counts> m_givenCounts; //!< by task id
    std::vector<int> m_forEachPending; //!< for_each nodes of the run whose items are not known yet
    bool m_stale = false;              //!< counts to sync when shown again
    std::vector<TaskStateCounts::Counts> m_shownCounts; //!< per node, as last repainted by a tick
    bool m_userView = false; //!< panned or zoomed by the user: a resize keeps the view
    double m_zoom = 1.0;
    QPointF m_offset; //!< widget position of the drawing's origin
    QString m_selected;
    int m_focusNode = -1;
    int m_focusRun = -1;
    std::optional<QPointF> m_pressAt;
    QPointF m_lastDrag;
    bool m_dragged = false;
};

} // namespace flowdeck
