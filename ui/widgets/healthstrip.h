#pragma once

#include <QWidget>

class QLabel;

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

Q_SIGNALS:
    //! The strip was clicked: show the Health page.
    void activated();

protected:
    void mouseReleaseEvent(QMouseEvent* event) override;

private:
    AppContext* m_context;
    QLabel* m_pool;
    QLabel* m_database;
    QLabel* m_lag;
    QLabel* m_states;
};

} // namespace flowdeck
