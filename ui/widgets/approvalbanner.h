#pragma once

#include <QFrame>
#include <QList>
#include <QSet>
#include <QString>

class QLabel;
class QLineEdit;
class QPushButton;
class QVBoxLayout;

namespace flowdeck {

class AppContext;
struct FlowRun;
struct UpdateBatch;

/**
 * A banner above a flow run's task runs for each of its task runs waiting for approval: the prompt,
 * Approve and Reject… (which asks for an optional reason inline: Enter rejects, Escape goes back).
 * Hidden while nothing waits. Decides through the context's Approvals: in this engine, or in the
 * store for a run of another process.
 */
class ApprovalBanner : public QFrame {
    Q_OBJECT

public:
    explicit ApprovalBanner(AppContext* context, QWidget* parent = nullptr);
    ~ApprovalBanner() override;

    void setFlowRun(const FlowRun* run);
    //! The task run ids shown, top to bottom.
    QStringList shownTaskRunIds() const;

protected:
    bool eventFilter(QObject* watched, QEvent* event) override;

private:
    struct Row {
        QString taskRunId;
        QString prompt;
        QWidget* widget = nullptr;
        QPushButton* approve = nullptr;
        QPushButton* reject = nullptr;
        QWidget* rejectBox = nullptr;
        QLineEdit* reason = nullptr;
    };

    void apply(const UpdateBatch& batch);
    void refresh();
    Row makeRow(const QString& taskRunId, const QString& label, const QString& prompt);
    void decide(const QString& taskRunId, bool approve, const QString& reason);
    void openReject(Row& row);
    void closeReject(Row& row);
    Row* rowOf(const QString& taskRunId);

    AppContext* m_context;
    const FlowRun* m_run = nullptr;
    QVBoxLayout* m_layout;
    QList<Row> m_rows;
    QSet<QString> m_deciding; //!< decided here, waiting to leave the list
};

} // namespace flowdeck
