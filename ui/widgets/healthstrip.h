#pragma once

#include <QWidget>

class QLabel;
class QToolButton;

namespace flowdeck {

class AppContext;

//! The compact, always-visible health line: blocking pool, database pool, event-loop lag and task
//! runs by state.
class HealthStrip : public QWidget {
    Q_OBJECT

public:
    explicit HealthStrip(AppContext* context, QWidget* parent = nullptr);
    ~HealthStrip() override;

    //! Reads the figures again (called on AppContext::pulse).
    void refresh();
    QString text() const;
    //! "N failed in the last hour": flow runs that ended FAILED or CRASHED; clicking it shows them.
    QToolButton* failuresButton() const { return m_failed; }
    //! "Retry", shown while the database cannot be written: opens it again.
    QToolButton* retryButton() const { return m_retry; }
    static constexpr qint64 FailureWindowUs = 3600LL * 1000 * 1000;
    //! Leaves out the blocking pool (shown on the Health page) to leave room for status messages.
    void setCompact(bool compact);
    bool isCompact() const { return m_compact; }
    //! The width the strip takes with every figure shown.
    int fullWidthHint() const;

Q_SIGNALS:
    //! The strip was clicked: show the Health page.
    void activated();
    //! The failures counter was clicked: show the failed flow runs.
    void failuresActivated();

protected:
    void mouseReleaseEvent(QMouseEvent* event) override;

private:
    //! The database stopped writing: says so once in a window of its own (not modal: nothing waits).
    void announceWriteFailure(const QString& failure);

private:
    AppContext* m_context;
    QLabel* m_pool;
    QLabel* m_database;
    QLabel* m_lag;
    QLabel* m_states;
    QToolButton* m_failed;
    QWidget* m_poolSeparator;
    bool m_compact = false;
    QToolButton* m_retry;
};

} // namespace flowdeck
