#include "models/flowruntreemodel.h"

#include "models/flowrunmodel.h"
#include "run/flowrun.h"

#include <algorithm>

namespace flowdeck {

FlowRunTreeModel::FlowRunTreeModel(FlowRunModel* runs, QObject* parent)
    : QAbstractItemModel(parent)
    , m_runs(runs)
{
    rebuild();
    connect(runs, &QAbstractItemModel::rowsInserted, this,
            [this](const QModelIndex&, int first, int last) { insertSourceRows(first, last); });
    connect(runs, &QAbstractItemModel::dataChanged, this, &FlowRunTreeModel::changeSourceRows);
    // The source never removes or moves single rows today; should it, the tree is built again.
    auto begin = [this] { beginResetModel(); };
    auto end = [this] {
        rebuild();
        endResetModel();
    };
    connect(runs, &QAbstractItemModel::modelAboutToBeReset, this, begin);
    connect(runs, &QAbstractItemModel::modelReset, this, end);
    connect(runs, &QAbstractItemModel::rowsAboutToBeRemoved, this, begin);
    connect(runs, &QAbstractItemModel::rowsRemoved, this, end);
    connect(runs, &QAbstractItemModel::rowsAboutToBeMoved, this, begin);
    connect(runs, &QAbstractItemModel::rowsMoved, this, end);
    connect(runs, &QAbstractItemModel::layoutAboutToBeChanged, this, begin);
    connect(runs, &QAbstractItemModel::layoutChanged, this, end);
}

FlowRunTreeModel::~FlowRunTreeModel() = default;

FlowRunTreeModel::Node* FlowRunTreeModel::nodeOf(const QModelIndex& index) const
{
    if (!index.isValid())
        return const_cast<Node*>(&m_root);
    const auto* parent = static_cast<const Node*>(index.internalPointer());
    if (index.row() < 0 || size_t(index.row()) >= parent->children.size())
        return nullptr;
    return parent->children[size_t(index.row())];
}

int FlowRunTreeModel::sourceRow(const Node* node) const
{
    return m_runs->indexOf(node->run).row();
}

int FlowRunTreeModel::insertionRow(const Node* parent, int row) const
{
    // Children are in the source's order, so their source rows ascend.
    const auto it = std::lower_bound(parent->children.begin(), parent->children.end(), row,
                                     [this](const Node* child, int r) { return sourceRow(child) < r; });
    return int(it - parent->children.begin());
}

int FlowRunTreeModel::rowOf(const Node* node) const
{
    return insertionRow(node->parent, sourceRow(node));
}

QModelIndex FlowRunTreeModel::indexOfNode(const Node* node, int column) const
{
    if (!node || node == &m_root || !node->parent)
        return {};
    return createIndex(rowOf(node), column, node->parent);
}

QModelIndex FlowRunTreeModel::index(int row, int column, const QModelIndex& parent) const
{
    if (column < 0 || column >= FlowRunModel::ColumnCount || (parent.isValid() && parent.column() != 0))
        return {};
    Node* node = nodeOf(parent);
    if (!node || row < 0 || size_t(row) >= node->children.size())
        return {};
    return createIndex(row, column, node);
}

QModelIndex FlowRunTreeModel::parent(const QModelIndex& child) const
{
    if (!child.isValid())
        return {};
    return indexOfNode(static_cast<const Node*>(child.internalPointer()));
}

int FlowRunTreeModel::rowCount(const QModelIndex& parent) const
{
    if (parent.isValid() && parent.column() != 0)
        return 0;
    const Node* node = nodeOf(parent);
    return node ? int(node->children.size()) : 0;
}

int FlowRunTreeModel::columnCount(const QModelIndex&) const
{
    return FlowRunModel::ColumnCount;
}

bool FlowRunTreeModel::hasChildren(const QModelIndex& parent) const
{
    return rowCount(parent) > 0;
}

QVariant FlowRunTreeModel::data(const QModelIndex& index, int role) const
{
    if (!checkIndex(index, CheckIndexOption::IndexIsValid))
        return {};
    const Node* node = nodeOf(index);
    return node ? m_runs->indexOf(node->run, index.column()).data(role) : QVariant();
}

QVariant FlowRunTreeModel::headerData(int section, Qt::Orientation orientation, int role) const
{
    return m_runs->headerData(section, orientation, role);
}

FlowRun* FlowRunTreeModel::flowRunAt(const QModelIndex& index) const
{
    if (!index.isValid() || index.model() != this)
        return nullptr;
    const Node* node = nodeOf(index);
    return node ? node->run : nullptr;
}

QModelIndex FlowRunTreeModel::indexOf(const FlowRun* run, int column) const
{
    return indexOfNode(m_byRun.value(run), column);
}

FlowRunTreeModel::Node* FlowRunTreeModel::parentFor(const FlowRun* run) const
{
    if (run->parentFlowRunId.isNull())
        return const_cast<Node*>(&m_root);
    Node* parent = m_byId.value(run->parentFlowRunId);
    return parent && parent->run != run ? parent : const_cast<Node*>(&m_root);
}

FlowRunTreeModel::Node* FlowRunTreeModel::makeNode(FlowRun* run)
{
    m_owned.push_back(std::make_unique<Node>());
    Node* node = m_owned.back().get();
    node->run = run;
    m_byId.insert(run->id, node);
    m_byRun.insert(run, node);
    return node;
}

void FlowRunTreeModel::rebuild()
{
    m_root.children.clear();
    m_byId.clear();
    m_byRun.clear();
    m_waiting.clear();
    m_owned.clear();
    const int count = m_runs->rowCount();
    m_owned.reserve(size_t(count));
    for (int row = 0; row < count; ++row)
        makeNode(m_runs->flowRunAt(row));
    // In the source's order, so that every level is in it too.
    for (const auto& node : m_owned) {
        node->parent = parentFor(node->run);
        node->parent->children.push_back(node.get());
        if (node->parent == &m_root && !node->run->parentFlowRunId.isNull())
            m_waiting.insert(node->run->parentFlowRunId, node.get());
    }
}

void FlowRunTreeModel::insertSourceRows(int first, int last)
{
    // Oldest first, so that a parent is in the tree before its subflow runs. Runs that go next to
    // each other under one parent are inserted together: each newer one just before the group.
    Node* groupParent = nullptr;
    int groupStart = 0;
    std::vector<Node*> group; // oldest first
    auto flush = [&] {
        if (group.empty())
            return;
        beginInsertRows(indexOfNode(groupParent), groupStart, groupStart + int(group.size()) - 1);
        for (Node* node : group)
            node->parent = groupParent;
        groupParent->children.insert(groupParent->children.begin() + groupStart, group.rbegin(),
                                     group.rend());
        endInsertRows();
        group.clear();
    };
    std::vector<Node*> added;
    for (int row = last; row >= first; --row) {
        FlowRun* run = m_runs->flowRunAt(row);
        if (!run || m_byRun.contains(run))
            continue;
        Node* parent = parentFor(run);
        if (parent != groupParent)
            flush();
        const int at = insertionRow(parent, row);
        if (!group.empty() && at != groupStart)
            flush();
        Node* node = makeNode(run);
        if (group.empty()) {
            groupParent = parent;
            groupStart = at;
        }
        group.push_back(node);
        added.push_back(node);
        if (parent == &m_root && !run->parentFlowRunId.isNull())
            m_waiting.insert(run->parentFlowRunId, node);
    }
    flush();
    for (Node* node : added)
        adoptWaiting(node);
}

void FlowRunTreeModel::adoptWaiting(Node* parent)
{
    const QList<Node*> waiting = m_waiting.values(parent->run->id);
    m_waiting.remove(parent->run->id);
    for (Node* node : waiting) {
        if (node->parent != &m_root || node == parent)
            continue;
        const int from = rowOf(node);
        const int to = insertionRow(parent, sourceRow(node));
        if (!beginMoveRows({}, from, from, indexOfNode(parent), to))
            continue;
        m_root.children.erase(m_root.children.begin() + from);
        parent->children.insert(parent->children.begin() + to, node);
        node->parent = parent;
        endMoveRows();
    }
}

void FlowRunTreeModel::changeSourceRows(const QModelIndex& topLeft, const QModelIndex& bottomRight,
                                        const QList<int>& roles)
{
    if (!topLeft.isValid() || !bottomRight.isValid())
        return;
    const int left = topLeft.column();
    const int right = bottomRight.column();
    auto emitRange = [&](const Node* parent, int firstRow, int lastRow) {
        const QModelIndex parentIndex = indexOfNode(parent);
        Q_EMIT dataChanged(index(firstRow, left, parentIndex), index(lastRow, right, parentIndex), roles);
    };
    if (topLeft.row() == 0 && bottomRight.row() == m_runs->rowCount() - 1 && bottomRight.row() > 0) {
        // Every row (a column that changed as a whole): one range per level.
        if (!m_root.children.empty())
            emitRange(&m_root, 0, int(m_root.children.size()) - 1);
        for (const auto& node : m_owned) {
            if (!node->children.empty())
                emitRange(node.get(), 0, int(node->children.size()) - 1);
        }
        return;
    }
    for (int row = topLeft.row(); row <= bottomRight.row(); ++row) {
        FlowRun* run = m_runs->flowRunAt(row);
        if (!run)
            continue;
        Node* node = m_byRun.value(run);
        if (!node) {
            // A run that goes on under an earlier copy's id took that copy's row: it takes its node.
            node = m_byId.value(run->id);
            if (!node)
                continue;
            m_byRun.remove(node->run);
            node->run = run;
            m_byRun.insert(run, node);
        }
        const int at = rowOf(node);
        emitRange(node->parent, at, at);
    }
}

} // namespace flowdeck
