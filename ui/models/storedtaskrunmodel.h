#pragma once

#include "context/storedtaskrunpages.h"
#include "models/taskrunmodel.h"

#include <QAbstractTableModel>

#include <vector>

namespace flowdeck {

/**
 * The task runs of a stored flow run too large to read whole, a page at a time: the table starts
 * with the first page and grows by one page on each fetchMore() (a view asks when it is scrolled to
 * the end). Filters and the order are given to the database (TaskRunPageQuery), never applied to rows
 * in memory: changing them reads the first page again, and the rows shown stay until it arrives (on a
 * million task runs a filter takes seconds); a newer filter drops the answer of an older one. Rows are
 * StoredTaskRunRow, about 100 bytes each, so memory grows only with the rows scrolled through.
 * Columns as TaskRunModel's. While another process runs the flow run, refreshRows() reads the rows
 * in view again.
 */
class StoredTaskRunModel : public QAbstractTableModel {
    Q_OBJECT

public:
    //! Task runs read per page.
    static constexpr int PageSize = 1000;

    explicit StoredTaskRunModel(StoredTaskRunPages* pages, QObject* parent = nullptr);
    ~StoredTaskRunModel() override;

    //! Shows the task runs of the stored flow run \a flowRunId (empty: none), unfiltered, from the first
    //! page on.
    void setFlowRun(const QString& flowRunId);
    const QString& flowRunId() const { return m_query.flowRunId; }
    //! Only task runs of state type \a state (empty: any), of task \a task (empty: any) and with
    //! \a search in their task, message or tags (or as their map index); reads from the first page.
    void setFilter(const QString& state, const QString& task, const QString& search);
    const TaskRunPageQuery& query() const { return m_query; }

    const StoredTaskRunRow* rowAt(int row) const;
    //! What reads the pages (and other reads of the same run).
    StoredTaskRunPages* pages() const { return m_pages; }
    //! A page is being read.
    bool isReading() const { return m_pending != 0; }
    //! Filters or the order changed and their first page is being read: the rows are the old ones.
    bool isReplacing() const { return m_replacing; }
    /**
     * Reads rows \a first to \a first + \a count - 1 again (those in view) and updates those that
     * changed in place, keeping the selection and scroll position; when they reach the last row read,
     * rows created since are appended. One read: keyset from the row before \a first in task order,
     * else by offset. Returns false (and reads nothing) while another read is in flight.
     */
    bool refreshRows(int first, int count);
    //! A refreshRows() read is in flight.
    bool isRefreshing() const { return m_refreshing != 0; }
    //! Every row of the current query is read.
    bool isComplete() const { return m_complete; }

    int rowCount(const QModelIndex& parent = {}) const override;
    int columnCount(const QModelIndex& parent = {}) const override;
    QVariant data(const QModelIndex& index, int role = Qt::DisplayRole) const override;
    QVariant headerData(int section, Qt::Orientation orientation, int role = Qt::DisplayRole) const override;
    bool canFetchMore(const QModelIndex& parent) const override;
    void fetchMore(const QModelIndex& parent) override;
    //! Reads the task runs again in the order of \a column (TaskRunModel::Column).
    void sort(int column, Qt::SortOrder order = Qt::AscendingOrder) override;

Q_SIGNALS:
    //! A page arrived and its rows are in (none when the query had no more).
    void pageRead();
    //! isReplacing() changed.
    void replacingChanged(bool replacing);
    //! A refreshRows() read was applied.
    void refreshed();
    void readFailed(const QString& error);

private:
    //! Reads the first page of the query; \a keepRows keeps the rows shown until it arrives.
    void restart(bool keepRows = false);
    void readNext();
    void setReplacing(bool replacing);
    void onRead(quint64 serial, const std::vector<StoredTaskRunRow>& rows);
    void onRefreshed(const std::vector<StoredTaskRunRow>& rows);

    StoredTaskRunPages* m_pages;
    TaskRunPageQuery m_query;
    std::vector<StoredTaskRunRow> m_rows;
    quint64 m_pending = 0;
    bool m_complete = true;
    bool m_replacing = false;
    quint64 m_refreshing = 0; //!< the refreshRows() read in flight
    struct RefreshRange {
        int first = 0;
        int count = 0;
        std::size_t rowsThen = 0; //!< rows read when it was asked for (dropped if that changed)
        int limit = 0;
    } m_refresh;
};

} // namespace flowdeck
