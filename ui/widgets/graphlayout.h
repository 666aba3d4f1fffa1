#pragma once

#include <QPointF>
#include <QRectF>
#include <QSizeF>

#include <utility>
#include <vector>

namespace flowdeck {

/**
 * A layered drawing of a DAG, left to right (Sugiyama's method): each node gets the layer of its
 * longest path from a source (a source the layer before its first dependent); an edge spanning several layers
 * passes through a dummy slot in each layer between, so it is routed beside the nodes there and never through
 * one; barycentre sweeps down and up reorder each layer to reduce crossings (the best order seen is kept);
 * then the nodes of each layer are pulled towards their neighbours' heights without overlapping.
 *
 * Plain data and a free function: it runs on any thread (the run graph lays big flows out on a
 * pool thread).
 */
struct GraphLayout {
    struct Options {
        double nodeWidth = 168;
        double nodeHeight = 46;
        //! Per node, where a node is taller than nodeHeight (an expanded mapped task); empty: all nodeHeight.
        std::vector<double> nodeHeights;
        double layerGap = 72; //!< between the columns of two layers
        double rowGap = 16;   //!< between two nodes of a layer
        double laneGap = 6;   //!< height a passing edge takes in a layer
        int sweeps = 8;       //!< barycentre passes (each one down or up)
    };
    struct Edge {
        int from = 0;
        int to = 0;
        //! From the source's right side, through one point per layer passed, to the target's left.
        std::vector<QPointF> points;
    };

    std::vector<int> layer;    //!< per node
    std::vector<QRectF> rects; //!< per node
    std::vector<Edge> edges;   //!< in input order; edges of a cycle (not a DAG) are left out
    int layerCount = 0;
    int crossingsBefore = 0; //!< edge crossings of the first order (nodes in input order)
    int crossings = 0;       //!< edge crossings of the order laid out
    QSizeF size;             //!< of the whole drawing; rects start at (0, 0)

    //! The node whose rect holds \a p, or -1.
    int nodeAt(QPointF p) const;
};

//! Lays out \a nodeCount nodes and \a edges (from, to) as above.
GraphLayout layoutGraph(int nodeCount, const std::vector<std::pair<int, int>>& edges,
                        const GraphLayout::Options& options);

} // namespace flowdeck
