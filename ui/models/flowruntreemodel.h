#pragma once

#include "run/runid.h"

#include <QAbstractItemModel>
#include <QHash>
#include <QMultiHash>

#include <memory>
#include <vector>

namespace flowdeck {

class FlowRunModel;
struct FlowRun;

/**
 * The flow runs of a FlowRunModel as a tree: a subflow run is a child of the flow run that started
 * it, top-level rows are the runs without a parent (or whose parent is not listed). Each level keeps
 * the source's order (newest first). Follows the source's row-level inserts and changes with
 * row-level inserts and changes of its own (a child whose parent arrives later is moved under it);
 * a source reset or removal is a reset here.
 */
class FlowRunTreeModel : public QAbstractItemModel {
    Q_OBJECT

public:
    explicit FlowRunTreeModel(FlowRunModel* runs, QObject* parent = nullptr);
    ~FlowRunTreeModel() override;

    QModelIndex index(int row, int column, const QModelIndex& parent = {}) const override;
    QModelIndex parent(const QModelIndex& child) const override;
    int rowCount(const QModelIndex& parent = {}) const override;
    int columnCount(const QModelIndex& parent = {}) const override;
    bool hasChildren(const QModelIndex& parent = {}) const override;
    QVariant data(const QModelIndex& index, int role = Qt::DisplayRole) const override;
    QVariant headerData(int section, Qt::Orientation orientation, int role = Qt::DisplayRole) const override;

    FlowRunModel* runs() const { return m_runs; }
    FlowRun* flowRunAt(const QModelIndex& index) const;
    QModelIndex indexOf(const FlowRun* run, int column = 0) const;

private:
    struct Node {
        FlowRun* run = nullptr;
        Node* parent = nullptr;
        std::vector<Node*> children; // in the source's order
    };

    Node* nodeOf(const QModelIndex& index) const;
    QModelIndex indexOfNode(const Node* node, int column = 0) const;
    int sourceRow(const Node* node) const;
    //! Where a run at \a row of the source goes among \a parent's children.
    int insertionRow(const Node* parent, int row) const;
    int rowOf(const Node* node) const;
    Node* parentFor(const FlowRun* run) const;
    Node* makeNode(FlowRun* run);

    void rebuild();
    void insertSourceRows(int first, int last);
    void changeSourceRows(const QModelIndex& topLeft, const QModelIndex& bottomRight,
                          const QList<int>& roles);
    //! Moves the top-level runs that wait for \a parent (listed before it) under it.
    void adoptWaiting(Node* parent);

    FlowRunModel* m_runs;
    Node m_root;
    std::vector<std::unique_ptr<Node>> m_owned;
    QHash<RunId, Node*> m_byId;
    QHash<const FlowRun*, Node*> m_byRun;
    QMultiHash<RunId, Node*> m_waiting; //!< top-level runs whose parent is not listed, by its id
};

} // namespace flowdeck
