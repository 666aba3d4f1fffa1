#pragma once

#include <QFrame>

class QLabel;
class QPlainTextEdit;
class QTabWidget;
class QTableWidget;

namespace flowdeck {

struct TaskRunDetailView;

//! One task run's story: its state history, attempts, resolved configuration, stalls and log lines.
class TaskRunDetailPanel : public QFrame {
    Q_OBJECT

public:
    explicit TaskRunDetailPanel(QWidget* parent = nullptr);
    ~TaskRunDetailPanel() override;

    //! Shows "reading \a label …" until setDetail() or setError().
    void setLoading(const QString& label);
    void setDetail(const TaskRunDetailView& view);
    void setError(const QString& label, const QString& error);

    QTableWidget* historyTable() const { return m_history; }
    QTableWidget* logTable() const { return m_logs; }
    QTableWidget* stallTable() const { return m_stalls; }
    QPlainTextEdit* configView() const { return m_config; }
    QLabel* summary() const { return m_summary; }
    //! The limits the task run occupies: limited tags, global limits, rate limit, its flow run's.
    QLabel* limits() const { return m_limits; }

Q_SIGNALS:
    void closeRequested();

protected:
    void keyPressEvent(QKeyEvent* event) override;

private:
    void clearTables();

    QLabel* m_title;
    QLabel* m_summary;
    QLabel* m_limits;
    QTabWidget* m_tabs;
    QTableWidget* m_history;
    QPlainTextEdit* m_config;
    QTableWidget* m_stalls;
    QTableWidget* m_logs;
};

} // namespace flowdeck
