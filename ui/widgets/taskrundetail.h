#pragma once

#include <QFrame>

class QLabel;
class QPushButton;
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
    //! The run's result, pretty-printed; only its first lines while it is collapsed.
    QPlainTextEdit* resultView() const { return m_result; }
    QPushButton* resultExpandButton() const { return m_resultExpand; }
    QPushButton* resultCopyButton() const { return m_resultCopy; }
    //! A result longer than this many lines (pretty-printed) is collapsed until "Show all".
    static constexpr int CollapsedResultLines = 40;
    QLabel* summary() const { return m_summary; }
    //! The limits the task run occupies: limited tags, global limits, rate limit, its flow run's.
    QLabel* limits() const { return m_limits; }

Q_SIGNALS:
    void closeRequested();

protected:
    void keyPressEvent(QKeyEvent* event) override;

private:
    void clearTables();
    void setResult(const QString& json);
    void showResult();

    QLabel* m_title;
    QLabel* m_summary;
    QLabel* m_limits;
    QTabWidget* m_tabs;
    QTableWidget* m_history;
    QPlainTextEdit* m_config;
    QTableWidget* m_stalls;
    QTableWidget* m_logs;
    QWidget* m_resultPage;
    QPlainTextEdit* m_result;
    QLabel* m_resultInfo;
    QPushButton* m_resultExpand;
    QPushButton* m_resultCopy;
    QString m_resultText; //!< the whole result, pretty-printed
    bool m_resultExpanded = false;
};

} // namespace flowdeck
