#pragma once

#include "run/runid.h"

#include <QWidget>

#include <array>

class QGroupBox;
class QLabel;
class QTabWidget;
class QTableView;

namespace flowdeck {

class AppContext;
class ProgressWidget;
class SparklineWidget;
class StallModel;
class TrendsPanel;
struct FlowRun;

//! The engine's health in full: event-loop lag and stalls, the blocking pool, task runs by state,
//! and the database pool once there is one; and, in a second tab, the trends of the stored runs.
class HealthPage : public QWidget {
    Q_OBJECT

public:
    //! The page's two tabs: what the engine says now, and the trends of the stored runs.
    enum class View { Now, Trends };

    explicit HealthPage(AppContext* context, QWidget* parent = nullptr);
    ~HealthPage() override;

    void showView(View view);
    View view() const;
    TrendsPanel* trends() const { return m_trends; }

    //! The database pool's figures as shown ("checked out / size" ...), for tests.
    QString databaseText() const;
    SparklineWidget* sparkline() const { return m_sparkline; }
    //! Reads every figure again (on AppContext::pulse while visible).
    void refresh();
    QTableView* stallView() const { return m_stallView; }
    StallModel* stallModel() const { return m_stalls; }
    //! Says what the lag figures and the stalls measure, and what to do about stalls.
    QLabel* loopNote() const { return m_loopNote; }

Q_SIGNALS:
    //! A stall's row was activated: show its flow run, with its task run selected (null id: none).
    void openTaskRun(flowdeck::FlowRun* run, flowdeck::RunId taskRunId);

protected:
    void showEvent(QShowEvent* event) override;

private:
    // The constructor's parts.
    QGroupBox* makeLoopGroup();
    QGroupBox* makePoolGroup();
    QGroupBox* makeDatabaseGroup();
    QGroupBox* makeStatesGroup();
    QGroupBox* makeStallsGroup();

    AppContext* m_context;
    StallModel* m_stalls;
    QLabel* m_lagNow;
    QLabel* m_lagP50;
    QLabel* m_lagP99;
    QLabel* m_lagMax;
    QLabel* m_stallSummary;
    QLabel* m_loopNote;
    SparklineWidget* m_sparkline;
    QLabel* m_poolBusy;
    QLabel* m_poolQueued;
    QLabel* m_poolCompleted;
    ProgressWidget* m_poolBar;
    std::array<QLabel*, 9> m_stateCounts{};
    QLabel* m_database;
    QWidget* m_dbFigures;
    QLabel* m_dbCheckedOut;
    QLabel* m_dbOverflow;
    QLabel* m_dbWaiters;
    QLabel* m_dbTimeouts;
    QLabel* m_dbWaitP99;
    ProgressWidget* m_dbBar;
    QTableView* m_stallView;
    QTabWidget* m_tabs;
    TrendsPanel* m_trends;
};

} // namespace flowdeck
