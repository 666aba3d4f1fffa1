#pragma once

#include "run/states.h"
#include "store/historyqueries.h"

#include <QWidget>

#include <array>
#include <vector>

namespace flowdeck {

/**
 * A flow's history at a glance: its newest runs as columns (newest at the right) × its tasks as rows,
 * each cell the task's outcome in that run, painted with QPainter in the state colours (a mapped task:
 * each state's share of its task runs). The header row is each run's own state. As many runs as the
 * width holds are wanted (wantedRunsChanged); hovering a cell tells state, counts, duration and
 * attempts; a click asks for that run and task (cellClicked).
 */
class RunGridWidget : public QWidget {
    Q_OBJECT

public:
    static constexpr int CellWidth = 22;
    static constexpr int CellHeight = 20;
    static constexpr int Gap = 2;
    static constexpr int HeaderHeight = 24;

    explicit RunGridWidget(QWidget* parent = nullptr);
    ~RunGridWidget() override;

    //! Shows \a runs, oldest first.
    void setRuns(const QList<GridRun>& runs);
    void clear() { setRuns({}); }
    //! Runs the width holds now.
    int wantedRuns() const;

    int columnCount() const { return int(m_runs.size()); }
    int rowCount() const { return int(m_tasks.size()); }
    const GridRun& runAt(int column) const { return m_runs[size_t(column)]; }
    QString taskAt(int row) const { return m_tasks[size_t(row)]; }
    //! Task runs of \a row's task in \a column's run per state type.
    const std::array<qint64, StateTypeCount>& countsAt(int column, int row) const;
    //! Where the cell is, in widget coordinates.
    QRect cellRect(int column, int row) const;
    QRect headerRect(int column) const;
    //! The tooltip of a cell (row >= 0) or of a run's header (row -1).
    QString toolTipAt(int column, int row) const;

    QSize sizeHint() const override;
    QSize minimumSizeHint() const override;

Q_SIGNALS:
    //! A cell (or a run's header, \a task empty) was clicked.
    void cellClicked(const QString& runId, const QString& task);
    void wantedRunsChanged(int runs);

protected:
    void paintEvent(QPaintEvent* event) override;
    void resizeEvent(QResizeEvent* event) override;
    void mouseReleaseEvent(QMouseEvent* event) override;
    bool event(QEvent* event) override;

private:
    struct Cell {
        std::array<qint64, StateTypeCount> counts{};
        int attempts = 0;
        qint64 startedUs = 0;
        qint64 endedUs = 0;
        qint64 total = 0;
    };
    int gutterWidth() const;
    //! (column, row) under \a pos; row -1 for the header; column -1 when none.
    std::pair<int, int> hit(QPoint pos) const;
    const Cell& cell(int column, int row) const
    {
        return m_cells[size_t(column) * m_tasks.size() + size_t(row)];
    }

    std::vector<GridRun> m_runs;
    std::vector<QString> m_tasks;
    std::vector<Cell> m_cells; //!< column-major
    int m_wanted = 0;
};

} // namespace flowdeck
