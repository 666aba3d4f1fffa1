#include "widgets/graphlayout.h"

#include <algorithm>
#include <climits>
#include <numeric>

namespace flowdeck {

namespace {

//! A node or an edge's slot in a layer it passes (a dummy).
struct Item {
    int layer = 0;
    bool dummy = false;
    std::vector<int> up;   // neighbours in the layer before
    std::vector<int> down; // neighbours in the layer after
};

//! Crossings between two adjacent layers: inversions of the lower ends when edges are sorted by
//! their upper ends (counted with a Fenwick tree, O(E log V)).
long long crossingsBetween(const std::vector<int>& upper, const std::vector<Item>& items,
                           const std::vector<int>& pos, int lowerSize,
                           std::vector<std::pair<int, int>>& scratch, std::vector<int>& tree)
{
    scratch.clear();
    for (int u : upper) {
        for (int v : items[size_t(u)].down)
            scratch.emplace_back(pos[size_t(u)], pos[size_t(v)]);
    }
    std::sort(scratch.begin(), scratch.end());
    tree.assign(size_t(lowerSize) + 1, 0);
    long long count = 0;
    long long seen = 0;
    for (const auto& [a, b] : scratch) {
        // Edges seen so far whose lower end is right of b cross this one.
        long long atOrLeft = 0;
        for (int i = b + 1; i > 0; i -= i & -i)
            atOrLeft += tree[size_t(i)];
        count += seen - atOrLeft;
        for (int i = b + 1; i <= lowerSize; i += i & -i)
            ++tree[size_t(i)];
        ++seen;
    }
    return count;
}

} // namespace

int GraphLayout::nodeAt(QPointF p) const
{
    for (size_t i = 0; i < rects.size(); ++i) {
        if (rects[i].contains(p))
            return int(i);
    }
    return -1;
}

GraphLayout layoutGraph(int nodeCount, const std::vector<std::pair<int, int>>& edges,
                        const GraphLayout::Options& options)
{
    GraphLayout out;
    const int n = std::max(0, nodeCount);
    out.layer.assign(size_t(n), 0);
    out.rects.resize(size_t(n));
    if (n == 0)
        return out;

    // Topological order (Kahn); nodes on a cycle follow in input order and its closing edges are
    // left out, so a graph that is not a DAG still lays out.
    std::vector<std::vector<int>> successors(static_cast<size_t>(n));
    std::vector<int> indegree(size_t(n), 0);
    for (const auto& [from, to] : edges) {
        if (from < 0 || to < 0 || from >= n || to >= n || from == to)
            continue;
        successors[size_t(from)].push_back(to);
        ++indegree[size_t(to)];
    }
    std::vector<int> topo;
    topo.reserve(size_t(n));
    std::vector<int> remaining = indegree;
    for (int v = 0; v < n; ++v) {
        if (remaining[size_t(v)] == 0)
            topo.push_back(v);
    }
    for (size_t i = 0; i < topo.size(); ++i) {
        for (int w : successors[size_t(topo[i])]) {
            if (--remaining[size_t(w)] == 0)
                topo.push_back(w);
        }
    }
    std::vector<int> topoIndex(size_t(n), -1);
    for (size_t i = 0; i < topo.size(); ++i)
        topoIndex[size_t(topo[i])] = int(i);
    for (int v = 0; v < n; ++v) {
        if (topoIndex[size_t(v)] < 0) {
            topoIndex[size_t(v)] = int(topo.size());
            topo.push_back(v);
        }
    }

    // Layers: the longest path from a source.
    for (int v : topo) {
        for (int w : successors[size_t(v)]) {
            if (topoIndex[size_t(w)] > topoIndex[size_t(v)])
                out.layer[size_t(w)] = std::max(out.layer[size_t(w)], out.layer[size_t(v)] + 1);
        }
    }
    // A task that waits for nothing sits just before its first dependent rather than in the first
    // layer, which would otherwise gather every source of a wide flow in one tall column.
    for (int v : topo) {
        if (indegree[size_t(v)] != 0 || successors[size_t(v)].empty())
            continue;
        int first = INT_MAX;
        for (int w : successors[size_t(v)])
            first = std::min(first, out.layer[size_t(w)]);
        out.layer[size_t(v)] = std::max(0, first - 1);
    }
    out.layerCount = *std::max_element(out.layer.begin(), out.layer.end()) + 1;

    // Items: the nodes, then a dummy per layer an edge passes; each edge keeps its chain.
    std::vector<Item> items(static_cast<size_t>(n));
    for (int v = 0; v < n; ++v)
        items[size_t(v)].layer = out.layer[size_t(v)];
    std::vector<std::vector<int>> chains; // per kept edge: from, dummies..., to
    chains.reserve(edges.size());
    std::vector<std::pair<int, int>> seenEdges;
    seenEdges.reserve(edges.size());
    for (const auto& [from, to] : edges) {
        if (from < 0 || to < 0 || from >= n || to >= n || from == to)
            continue;
        if (topoIndex[size_t(to)] <= topoIndex[size_t(from)])
            continue; // closes a cycle
        seenEdges.emplace_back(from, to);
        std::vector<int> chain{from};
        for (int l = out.layer[size_t(from)] + 1; l < out.layer[size_t(to)]; ++l) {
            Item dummy;
            dummy.layer = l;
            dummy.dummy = true;
            items.push_back(std::move(dummy));
            chain.push_back(int(items.size()) - 1);
        }
        chain.push_back(to);
        for (size_t i = 0; i + 1 < chain.size(); ++i) {
            items[size_t(chain[i])].down.push_back(chain[i + 1]);
            items[size_t(chain[i + 1])].up.push_back(chain[i]);
        }
        chains.push_back(std::move(chain));
    }

    // First order: nodes in topological order, then the dummies as their edges come.
    std::vector<std::vector<int>> layers(size_t(out.layerCount));
    for (int v : topo)
        layers[size_t(out.layer[size_t(v)])].push_back(v);
    for (size_t i = size_t(n); i < items.size(); ++i)
        layers[size_t(items[i].layer)].push_back(int(i));
    std::vector<int> pos(items.size(), 0);
    auto number = [&](const std::vector<int>& layer) {
        for (size_t i = 0; i < layer.size(); ++i)
            pos[size_t(layer[i])] = int(i);
    };
    for (const auto& layer : layers)
        number(layer);

    std::vector<std::pair<int, int>> scratch;
    std::vector<int> tree;
    auto countCrossings = [&] {
        long long total = 0;
        for (size_t l = 0; l + 1 < layers.size(); ++l)
            total += crossingsBetween(layers[l], items, pos, int(layers[l + 1].size()), scratch, tree);
        return total;
    };

    // Barycentre sweeps, keeping the order with the fewest crossings.
    long long best = countCrossings();
    out.crossingsBefore = int(std::min<long long>(best, INT_MAX));
    std::vector<std::vector<int>> bestLayers = layers;
    std::vector<double> key(items.size(), 0.0);
    for (int sweep = 0; sweep < options.sweeps && best > 0; ++sweep) {
        const bool down = sweep % 2 == 0;
        const int count = int(layers.size());
        for (int step = 1; step < count; ++step) {
            const int l = down ? step : count - 1 - step;
            std::vector<int>& layer = layers[size_t(l)];
            for (int item : layer) {
                const std::vector<int>& neighbours = down ? items[size_t(item)].up : items[size_t(item)].down;
                if (neighbours.empty()) {
                    key[size_t(item)] = pos[size_t(item)];
                    continue;
                }
                double sum = 0;
                for (int other : neighbours)
                    sum += pos[size_t(other)];
                key[size_t(item)] = sum / double(neighbours.size());
            }
            std::stable_sort(layer.begin(), layer.end(),
                             [&](int a, int b) { return key[size_t(a)] < key[size_t(b)]; });
            number(layer);
        }
        const long long crossings = countCrossings();
        if (crossings < best) {
            best = crossings;
            bestLayers = layers;
        }
    }
    layers = std::move(bestLayers);
    for (const auto& layer : layers)
        number(layer);
    out.crossings = int(std::min<long long>(best, INT_MAX));

    // Heights: centres stacked, then pulled towards the neighbours' centres a few times. Each pull
    // places a layer from the top and from the bottom with the same separations and takes the mean,
    // so the layer stays in order, never overlaps, and is not pushed to one side.
    auto nodeHeight = [&](int v) {
        return size_t(v) < options.nodeHeights.size()
            ? std::max(options.nodeHeight, options.nodeHeights[size_t(v)])
            : options.nodeHeight;
    };
    auto height = [&](int item) { return items[size_t(item)].dummy ? options.laneGap : nodeHeight(item); };
    auto separation = [&](int a, int b) {
        const bool bothDummies = items[size_t(a)].dummy && items[size_t(b)].dummy;
        const bool oneDummy = items[size_t(a)].dummy != items[size_t(b)].dummy;
        const double gap = bothDummies ? 0.0 : oneDummy ? options.rowGap / 2 : options.rowGap;
        return (height(a) + height(b)) / 2 + gap;
    };
    std::vector<double> centre(items.size(), 0.0);
    for (const auto& layer : layers) {
        double y = 0;
        for (size_t i = 0; i < layer.size(); ++i) {
            if (i > 0)
                y += separation(layer[i - 1], layer[i]);
            else
                y = height(layer[i]) / 2;
            centre[size_t(layer[i])] = y;
        }
    }
    std::vector<double> wanted;
    std::vector<double> fromTop;
    std::vector<double> fromBottom;
    for (int pass = 0; pass < 4; ++pass) {
        const bool down = pass % 2 == 0;
        const int count = int(layers.size());
        for (int step = 0; step < count; ++step) {
            const std::vector<int>& layer = layers[size_t(down ? step : count - 1 - step)];
            const size_t m = layer.size();
            wanted.assign(m, 0.0);
            for (size_t i = 0; i < m; ++i) {
                const Item& item = items[size_t(layer[i])];
                double sum = 0;
                for (int other : item.up)
                    sum += centre[size_t(other)];
                for (int other : item.down)
                    sum += centre[size_t(other)];
                const size_t k = item.up.size() + item.down.size();
                wanted[i] = k ? sum / double(k) : centre[size_t(layer[i])];
            }
            fromTop.assign(m, 0.0);
            fromBottom.assign(m, 0.0);
            for (size_t i = 0; i < m; ++i)
                fromTop[i] = i == 0
                    ? wanted[i]
                    : std::max(wanted[i], fromTop[i - 1] + separation(layer[i - 1], layer[i]));
            for (size_t j = m; j-- > 0;)
                fromBottom[j] = j + 1 == m
                    ? wanted[j]
                    : std::min(wanted[j], fromBottom[j + 1] - separation(layer[j], layer[j + 1]));
            for (size_t i = 0; i < m; ++i)
                centre[size_t(layer[i])] = (fromTop[i] + fromBottom[i]) / 2;
        }
    }
    double top = 0;
    double bottom = 0;
    bool first = true;
    for (size_t i = 0; i < items.size(); ++i) {
        const double h = height(int(i)) / 2;
        top = first ? centre[i] - h : std::min(top, centre[i] - h);
        bottom = first ? centre[i] + h : std::max(bottom, centre[i] + h);
        first = false;
    }
    for (double& c : centre)
        c -= top;

    const double column = options.nodeWidth + options.layerGap;
    for (int v = 0; v < n; ++v) {
        const double x = out.layer[size_t(v)] * column;
        const double h = nodeHeight(v);
        out.rects[size_t(v)] = QRectF(x, centre[size_t(v)] - h / 2, options.nodeWidth, h);
    }
    out.edges.reserve(chains.size());
    for (size_t e = 0; e < chains.size(); ++e) {
        const std::vector<int>& chain = chains[e];
        GraphLayout::Edge edge;
        edge.from = seenEdges[e].first;
        edge.to = seenEdges[e].second;
        edge.points.reserve(chain.size() * 2);
        const QRectF& source = out.rects[size_t(edge.from)];
        edge.points.emplace_back(source.right(), source.center().y());
        // Through each layer it passes in its own lane, level across the column.
        for (size_t i = 1; i + 1 < chain.size(); ++i) {
            const double x = items[size_t(chain[i])].layer * column;
            const double y = centre[size_t(chain[i])];
            edge.points.emplace_back(x, y);
            edge.points.emplace_back(x + options.nodeWidth, y);
        }
        const QRectF& target = out.rects[size_t(edge.to)];
        edge.points.emplace_back(target.left(), target.center().y());
        out.edges.push_back(std::move(edge));
    }
    out.size = QSizeF(out.layerCount * column - options.layerGap, bottom - top);
    return out;
}

} // namespace flowdeck
