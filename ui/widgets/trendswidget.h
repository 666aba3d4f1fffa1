#pragma once

#include "store/historyqueries.h"

#include <QWidget>

#include <vector>

namespace flowdeck {

/**
 * Trends over the stored runs, painted with QPainter in the palette's and the states' colours: flow
 * runs per bucket of time (an hour, or a day) stacked by the state they are in; the slowest and the
 * most failing flows and tasks; and one task's duration over its flow's newest runs (p50 and p95 of
 * each run's task runs), where a regression shows. Tooltips give the exact numbers; a click on a
 * task asks for its durations (taskChosen). exportPng() and exportCsv() save the picture and the
 * numbers.
 */
class TrendsWidget : public QWidget {
    Q_OBJECT

public:
    static constexpr int TopCount = 3; //!< rows of each "slowest" and "most failing" list

    explicit TrendsWidget(QWidget* parent = nullptr);
    ~TrendsWidget() override;

    void setData(const TrendsData& data);
    const TrendsData& data() const { return m_data; }
    void setDurations(const QString& flow, const QString& task, const QList<TaskDuration>& durations);
    const QString& durationTask() const { return m_durationTask; }
    const QString& durationFlow() const { return m_durationFlow; }

    //! Flow runs per bucket and state type (buckets oldest first).
    qint64 countAt(int bucket, const QString& state) const;
    //! The lists, in the order shown.
    QList<RunStats> slowestFlows() const;
    QList<RunStats> failingFlows() const;
    QList<RunStats> slowestTasks() const;
    QList<RunStats> failingTasks() const;

    //! Where bucket \a bucket's bar is (for tests and tooltips), in widget coordinates.
    QRect barRect(int bucket) const;
    //! Where the row of \a task (of \a flow) in the slowest tasks list is; empty when not listed.
    QRect slowestTaskRect(const QString& flow, const QString& task) const;
    //! The tooltip at \a pos, as a hover shows it.
    QString toolTipAt(QPoint pos) const;

    //! Saves what is shown as an image (the format from the suffix); false with \a error.
    bool exportPng(const QString& path, QString* error) const;
    //! Saves the numbers as CSV: one line per bucket and state, per flow and task, per duration point.
    bool exportCsv(const QString& path, QString* error) const;
    QString csv() const;

    QSize sizeHint() const override;
    QSize minimumSizeHint() const override;

Q_SIGNALS:
    void taskChosen(const QString& flow, const QString& task);

protected:
    void paintEvent(QPaintEvent* event) override;
    void mouseReleaseEvent(QMouseEvent* event) override;
    bool event(QEvent* event) override;

private:
    //! A place that tells something on hover or does something on click.
    struct Hit {
        QRect rect;
        QString toolTip;
        QString flow;
        QString task; //!< set: a click chooses this task
    };
    struct Areas {
        QRect bars;
        QRect lists;
        QRect durations;
    };
    Areas areas() const;
    //! The hit places for the current size and data.
    std::vector<Hit> hits() const;
    void paintBars(QPainter& p, const QRect& area) const;
    void paintLists(QPainter& p, const QRect& area) const;
    void paintDurations(QPainter& p, const QRect& area) const;
    //! Rows of the four lists: (title, rows).
    QList<std::pair<QString, QList<RunStats>>> lists() const;

    TrendsData m_data;
    QString m_durationFlow;
    QString m_durationTask;
    QList<TaskDuration> m_durations;
};

} // namespace flowdeck
