#pragma once

#include "run/states.h"

#include <QHash>
#include <QList>
#include <QSortFilterProxyModel>

#include <optional>

namespace flowdeck {

class FlowRunModel;
class FlowRunTreeModel;
struct FlowRun;

/**
 * Filters the Runs table by state, flow name, start time and a text search; sorts by the raw values
 * (SortRole), each level of a FlowRunTreeModel on its own. A subflow run that matches is shown under
 * its parent even when the parent does not match (the parent is shown for context). Built for 100k rows:
 * filterAcceptsRow reads the FlowRun directly and allocates nothing; the text each run is searched in is
 * built once per run, the first time a search needs it.
 */
class FlowRunFilterModel : public QSortFilterProxyModel {
    Q_OBJECT

public:
    //! A state filter: one state type, every run that has not finished, or every failed or crashed one.
    struct StateFilter {
        bool activeOnly = false;
        std::optional<StateType> type;
        bool failedOrCrashed = false;
    };

    explicit FlowRunFilterModel(QObject* parent = nullptr);
    ~FlowRunFilterModel() override;

    void setSourceModel(QAbstractItemModel* model) override;

    void setStateFilter(StateFilter filter);
    //! Shows only runs in one of the state types of \a mask (bit 1 << StateType); 0 shows every state.
    void setStateTypes(quint32 mask);
    static constexpr quint32 bit(StateType type) { return quint32(1) << int(type); }
    //! Shows only runs of the flow named \a name; empty shows all flows.
    void setFlowFilter(const QString& name);
    //! Shows only runs created from \a fromUs to \a toUs (microseconds since the epoch); 0 leaves that
    //! end open.
    void setTimeRange(qint64 fromUs, qint64 toUs);
    /**
     * Shows only runs whose flow name, full run id or parameters ("name=value", or the JSON of a
     * non-string value) contain \a text, ignoring case; empty shows all.
     */
    void setSearchText(const QString& text);
    //! Whether \a run itself matches the filters (a row that does not may still show for a child).
    bool acceptsRun(const FlowRun& run) const;

protected:
    bool filterAcceptsRow(int sourceRow, const QModelIndex& sourceParent) const override;

private:
    bool acceptsState(StateType type) const;
    const QString& searchTextOf(const FlowRun& run) const;

    const FlowRun* runAt(int sourceRow, const QModelIndex& sourceParent) const;

    FlowRunModel* m_runs = nullptr;
    FlowRunTreeModel* m_tree = nullptr;
    QList<QMetaObject::Connection> m_forgetting; // to the source: clear m_searchText
    StateFilter m_state;
    quint32 m_stateTypes = 0;
    QString m_flow;
    qint64 m_fromUs = 0;
    qint64 m_toUs = 0;
    QString m_text; // case-folded
    // Case-folded "name\nid\nparameters" per run; cleared when rows go away (a pointer may be reused).
    mutable QHash<const FlowRun*, QString> m_searchText;
};

} // namespace flowdeck
