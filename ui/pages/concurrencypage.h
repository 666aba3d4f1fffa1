#pragma once

#include "store/limitrow.h"

#include <QWidget>

class QLabel;
class QTableWidget;
class QTimer;

namespace flowdeck {

class AppContext;
class ConcurrencyModel;
class LimitsEditor;

/**
 * Tag concurrency limits: one row per tag (limit, active, waiting, usage bar), the limit edited in
 * place, add and delete; the selected tag's slot holders and its waiting task runs in queue order,
 * from this process's limiter and, through the store, from other processes sharing the database.
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
    //! Selects \a tag's row.
    void selectTag(const QString& tag);
    //! Fills the holder and waiter tables of the selected tag again.
    void refreshDetails();

protected:
    void showEvent(QShowEvent* event) override;

private:
    // The constructor's parts.
    QWidget* makeLimitsPanel();
    QWidget* makeDetailsPanel();

    void scheduleDetails();

    AppContext* m_context;
    LimitsEditor* m_editor;
    QLabel* m_detailTitle;
    QLabel* m_database;
    QTableWidget* m_holders;
    QTableWidget* m_waiters;
    QTimer* m_detailTimer;
    LimitRow m_inspected; // the store's view of the selected tag (other processes)
};

} // namespace flowdeck
