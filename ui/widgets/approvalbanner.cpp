#include "widgets/approvalbanner.h"

#include "context/appcontext.h"
#include "context/approvals.h"
#include "run/flowrun.h"
#include "style/icons.h"
#include "style/statestyle.h"

#include <QEvent>
#include <QHBoxLayout>
#include <QKeyEvent>
#include <QLabel>
#include <QLineEdit>
#include <QPushButton>
#include <QStyle>
#include <QVBoxLayout>

#include <algorithm>

namespace flowdeck {

ApprovalBanner::ApprovalBanner(AppContext* context, QWidget* parent)
    : QFrame(parent)
    , m_context(context)
    , m_layout(new QVBoxLayout(this))
{
    setObjectName(QStringLiteral("approvalBanner"));
    setFrameShape(QFrame::StyledPanel);
    // The colour of PAUSED, the state the waiting task runs are in, so the banner reads as theirs.
    const QColor tint = stateColor(StateType::Paused);
    setStyleSheet(
        QStringLiteral("#approvalBanner { border: 2px solid %1; border-radius: 4px; }").arg(tint.name()));
    m_layout->setContentsMargins(8, 4, 8, 4);
    m_layout->setSpacing(4);
    hide();
    connect(context, &AppContext::updated, this, &ApprovalBanner::apply);
    connect(&context->approvals(), &Approvals::changed, this, &ApprovalBanner::refresh);
    connect(&context->approvals(), &Approvals::decided, this, [this](const QString& taskRunId, bool ok) {
        if (ok)
            return; // it leaves the list once the run moves on
        m_deciding.remove(taskRunId);
        refresh();
    });
}

ApprovalBanner::~ApprovalBanner() = default;

void ApprovalBanner::setFlowRun(const FlowRun* run)
{
    if (run == m_run)
        return;
    m_run = run;
    m_deciding.clear();
    refresh();
}

QStringList ApprovalBanner::shownTaskRunIds() const
{
    QStringList ids;
    for (const Row& row : m_rows)
        ids << row.taskRunId;
    return ids;
}

void ApprovalBanner::apply(const UpdateBatch& batch)
{
    if (m_run
        && std::find(batch.changedFlowRuns.begin(), batch.changedFlowRuns.end(), m_run)
            != batch.changedFlowRuns.end()) {
        refresh();
    }
}

void ApprovalBanner::refresh()
{
    const QList<PendingApproval> waiting = m_context->approvals().waitingFor(m_run);
    bool same = waiting.size() == m_rows.size();
    for (qsizetype i = 0; same && i < waiting.size(); ++i)
        same = waiting[i].taskRunId == m_rows[i].taskRunId && waiting[i].prompt == m_rows[i].prompt;
    if (!same) {
        // Rows kept by id keep a reason being typed.
        QList<Row> rows;
        for (const PendingApproval& a : waiting) {
            Row* kept = rowOf(a.taskRunId);
            if (kept && kept->prompt == a.prompt) {
                rows.append(*kept);
                kept->widget = nullptr;
            } else {
                rows.append(makeRow(a.taskRunId, taskRunLabel(a.task, a.mapIndex), a.prompt));
            }
        }
        for (Row& old : m_rows) {
            if (old.widget) {
                old.widget->hide();
                old.widget->deleteLater();
            }
        }
        m_rows = rows;
        for (const Row& row : std::as_const(m_rows))
            m_layout->removeWidget(row.widget);
        for (const Row& row : std::as_const(m_rows))
            m_layout->addWidget(row.widget); // in their order, kept ones too
    }
    for (Row& row : m_rows) {
        const bool deciding = m_deciding.contains(row.taskRunId);
        row.approve->setEnabled(!deciding);
        row.reject->setEnabled(!deciding);
        row.rejectBox->setEnabled(!deciding);
    }
    setVisible(!m_rows.isEmpty());
}

ApprovalBanner::Row ApprovalBanner::makeRow(const QString& taskRunId, const QString& label,
                                            const QString& prompt)
{
    Row row;
    row.taskRunId = taskRunId;
    row.prompt = prompt;
    row.widget = new QWidget(this);
    auto* layout = new QVBoxLayout(row.widget);
    layout->setContentsMargins(0, 0, 0, 0);
    layout->setSpacing(2);

    auto* line = new QHBoxLayout;
    auto* icon = new QLabel(row.widget);
    icon->setPixmap(
        themedIcon(QStringLiteral("dialog-question"), QStyle::SP_MessageBoxQuestion).pixmap(20, 20));
    auto* text = new QLabel(row.widget);
    text->setObjectName(QStringLiteral("approvalPrompt"));
    text->setTextFormat(Qt::PlainText);
    text->setWordWrap(true);
    text->setText(tr("Approval needed for %1: %2").arg(label, prompt));
    text->setToolTip(tr("Task run %1 waits (AwaitingApproval) and holds no slot until it is approved or "
                        "rejected. Rejected, it fails and the tasks after it do not run.")
                         .arg(label));
    row.approve = new QPushButton(tr("&Approve"), row.widget);
    row.approve->setObjectName(QStringLiteral("approveButton"));
    row.approve->setToolTip(tr("Approve %1: it completes and the flow run goes on").arg(label));
    // Alt+J: Alt+R opens the Run menu.
    row.reject = new QPushButton(tr("Re&ject…"), row.widget);
    row.reject->setObjectName(QStringLiteral("rejectButton"));
    row.reject->setToolTip(tr("Reject %1: it fails with the reason you give").arg(label));
    line->addWidget(icon);
    line->addWidget(text, 1);
    line->addWidget(row.approve);
    line->addWidget(row.reject);
    layout->addLayout(line);

    row.rejectBox = new QWidget(row.widget);
    auto* box = new QHBoxLayout(row.rejectBox);
    box->setContentsMargins(28, 0, 0, 0);
    auto* reasonLabel = new QLabel(tr("Reason (optional):"), row.rejectBox);
    row.reason = new QLineEdit(row.rejectBox);
    row.reason->setObjectName(QStringLiteral("rejectReason"));
    row.reason->setPlaceholderText(tr("why it is rejected; Enter rejects, Escape goes back"));
    reasonLabel->setBuddy(row.reason);
    auto* confirm = new QPushButton(tr("Reject"), row.rejectBox);
    confirm->setObjectName(QStringLiteral("confirmReject"));
    auto* back = new QPushButton(tr("Back"), row.rejectBox);
    back->setObjectName(QStringLiteral("cancelReject"));
    box->addWidget(reasonLabel);
    box->addWidget(row.reason, 1);
    box->addWidget(confirm);
    box->addWidget(back);
    layout->addWidget(row.rejectBox);
    row.rejectBox->hide();
    row.reason->installEventFilter(this);

    connect(row.approve, &QPushButton::clicked, this, [this, taskRunId] { decide(taskRunId, true, {}); });
    connect(row.reject, &QPushButton::clicked, this, [this, taskRunId] {
        if (Row* r = rowOf(taskRunId))
            openReject(*r);
    });
    auto rejectNow = [this, taskRunId] {
        if (Row* r = rowOf(taskRunId))
            decide(taskRunId, false, r->reason->text().trimmed());
    };
    connect(confirm, &QPushButton::clicked, this, rejectNow);
    connect(row.reason, &QLineEdit::returnPressed, this, rejectNow);
    connect(back, &QPushButton::clicked, this, [this, taskRunId] {
        if (Row* r = rowOf(taskRunId))
            closeReject(*r);
    });
    return row;
}

bool ApprovalBanner::eventFilter(QObject* watched, QEvent* event)
{
    if (event->type() == QEvent::KeyPress && static_cast<QKeyEvent*>(event)->key() == Qt::Key_Escape) {
        for (Row& row : m_rows) {
            if (row.reason == watched) {
                closeReject(row);
                return true;
            }
        }
    }
    return QFrame::eventFilter(watched, event);
}

void ApprovalBanner::openReject(Row& row)
{
    row.rejectBox->show();
    row.reason->setFocus(Qt::OtherFocusReason);
}

void ApprovalBanner::closeReject(Row& row)
{
    row.reason->clear();
    row.rejectBox->hide();
    row.reject->setFocus(Qt::OtherFocusReason);
}

void ApprovalBanner::decide(const QString& taskRunId, bool approve, const QString& reason)
{
    if (m_deciding.contains(taskRunId))
        return;
    m_deciding.insert(taskRunId);
    refresh();
    m_context->approvals().decide(m_run, taskRunId, approve, reason);
}

ApprovalBanner::Row* ApprovalBanner::rowOf(const QString& taskRunId)
{
    for (Row& row : m_rows) {
        if (row.taskRunId == taskRunId && row.widget)
            return &row;
    }
    return nullptr;
}

} // namespace flowdeck
