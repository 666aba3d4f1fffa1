#pragma once

#include "store/limitrow.h"

#include <QWidget>

class QLabel;
class QLineEdit;
class QPushButton;
class QTableView;
class QTableWidget;
class QTimer;

namespace flowdeck {

class AppContext;
class ConcurrencyModel;
class GlobalLimitsModel;
class LimitsEditor;
class OccupancyChart;

/**
 * Tag concurrency limits: one row per tag (limit, active, waiting, usage bar), the limit edited in
 * place, add and delete; the selected tag's slot holders and its waiting task runs in queue order,
 * from this process's limiter and, through the store, from other processes sharing the database.
 * Beside them, the named global concurrency and rate limits: kind, limit and decay edited in place,
 * occupied slots, enable/disable, waiting runs, add, delete and reset.
 */
class ConcurrencyPage : public QWidget {
    Q_OBJECT

public:
    explicit ConcurrencyPage(AppContext* context, QWidget* parent = nullptr);
    ~ConcurrencyPage() override;

    LimitsEditor* editor() const { return m_editor; }
    ConcurrencyModel* model() const;
    QTableWidget* holdersView() const { return m_holders; }
    QTableWidget* waitersView() const { return m_waiters; }
    GlobalLimitsModel* globalModel() const { return m_globalModel; }
    QTableView* globalView() const { return m_globalView; }
    //! The add form of global limits: name, limit, decay (empty: not a rate limit), and its button.
    QLineEdit* globalNameEdit() const { return m_globalName; }
    QLineEdit* globalLimitEdit() const { return m_globalLimit; }
    QLineEdit* globalDecayEdit() const { return m_globalDecay; }
    QPushButton* globalAddButton() const { return m_globalAdd; }
    QPushButton* globalDeleteButton() const { return m_globalDelete; }
    QPushButton* globalResetButton() const { return m_globalReset; }
    //! Frees the selected tag's slots held by task runs that no longer run (in the database).
    QPushButton* tagResetButton() const { return m_tagReset; }
    //! The line under the tag limits: what the last reset freed.
    QLabel* tagStatus() const { return m_tagStatus; }
    OccupancyChart* occupancyChart() const { return m_chart; }
    //! The line under the global limits: the last refused input.
    QLabel* globalStatus() const { return m_globalStatus; }
    //! Selects \a tag's row.
    void selectTag(const QString& tag);
    //! Selects global limit \a name's row: the detail tables show its holders and waiters.
    void selectGlobal(const QString& name);
    //! Fills the holder and waiter tables of the selected tag again.
    void refreshDetails();

protected:
    void showEvent(QShowEvent* event) override;

private:
    // The constructor's parts.
    QWidget* makeLimitsPanel();
    QWidget* makeDetailsPanel();
    QWidget* makeGlobalPanel();
    QString currentGlobal() const;

    void scheduleDetails();

    AppContext* m_context;
    LimitsEditor* m_editor;
    QLabel* m_detailTitle;
    QLabel* m_database;
    QPushButton* m_tagReset;
    QLabel* m_tagStatus;
    QTableWidget* m_holders;
    QTableWidget* m_waiters;
    QTimer* m_detailTimer;
    GlobalLimitsModel* m_globalModel;
    QTableView* m_globalView;
    QLineEdit* m_globalName;
    QLineEdit* m_globalLimit;
    QLineEdit* m_globalDecay;
    QPushButton* m_globalAdd;
    QPushButton* m_globalDelete;
    QPushButton* m_globalReset;
    QLabel* m_globalStatus;
    OccupancyChart* m_chart;
    QTimer* m_chartTimer;   // one sample a second while the page is shown
    LimitRow m_inspected;   // the store's view of the selected tag (other processes)
    QString m_detailGlobal; // the global limit whose runs the detail tables show, or empty (a tag's)
    GlobalLimitRow m_inspectedGlobal;
};

} // namespace flowdeck
