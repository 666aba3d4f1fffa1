#include "widgets/taskrundetail.h"

#include "context/taskrundetails.h"
#include "flow/references.h"
#include "run/flowrun.h"
#include "run/states.h"
#include "style/statestyle.h"

#include <QClipboard>
#include <QDateTime>
#include <QGuiApplication>
#include <QHeaderView>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QKeyEvent>
#include <QLabel>
#include <QPlainTextEdit>
#include <QPushButton>
#include <QTabWidget>
#include <QTableWidget>
#include <QToolButton>
#include <QVBoxLayout>

namespace flowdeck {

namespace {

QTableWidget* makeTable(QWidget* parent, const QString& name, const QStringList& columns)
{
    auto* table = new QTableWidget(0, int(columns.size()), parent);
    table->setObjectName(name);
    table->setHorizontalHeaderLabels(columns);
    table->setEditTriggers(QAbstractItemView::NoEditTriggers);
    table->setSelectionBehavior(QAbstractItemView::SelectRows);
    table->setWordWrap(false);
    table->verticalHeader()->hide();
    table->horizontalHeader()->setStretchLastSection(true);
    return table;
}

QString timeText(qint64 us)
{
    return us > 0
        ? QDateTime::fromMSecsSinceEpoch(us / 1000).toString(QStringLiteral("yyyy-MM-dd HH:mm:ss.zzz"))
        : QStringLiteral("–");
}

//! A row whose first cell is a time: the clock in the cell, the date as well in its tooltip.
void setRow(QTableWidget* table, int row, qint64 timeUs, const QStringList& cells)
{
    auto* time = new QTableWidgetItem(formatClockMs(timeUs));
    time->setToolTip(timeText(timeUs));
    table->setItem(row, 0, time);
    for (int c = 0; c < cells.size(); ++c) {
        auto* item = new QTableWidgetItem(cells[c]);
        item->setToolTip(cells[c]); // messages are often wider than the panel
        table->setItem(row, c + 1, item);
    }
}

QString limitText(const LimitUse& use)
{
    return use.occupy == 1 ? use.name
                           : TaskRunDetailPanel::tr("%1 (occupies %2)").arg(use.name).arg(use.occupy);
}

QString limitsText(const QList<LimitUse>& uses)
{
    QStringList names;
    for (const LimitUse& use : uses)
        names << limitText(use);
    return names.join(QStringLiteral(", "));
}

} // namespace

TaskRunDetailPanel::TaskRunDetailPanel(QWidget* parent)
    : QFrame(parent)
    , m_title(new QLabel(this))
    , m_summary(new QLabel(this))
    , m_limits(new QLabel(this))
    , m_tabs(new QTabWidget(this))
    , m_history(makeTable(this, QStringLiteral("taskRunHistory"),
                          {tr("Time"), tr("State"), tr("For"), tr("Message")}))
    , m_config(new QPlainTextEdit(this))
    , m_stalls(makeTable(this, QStringLiteral("taskRunStalls"), {tr("Time"), tr("Duration")}))
    , m_logs(makeTable(this, QStringLiteral("taskRunLogs"), {tr("Time"), tr("Level"), tr("Message")}))
    , m_resultPage(new QWidget(this))
    , m_result(new QPlainTextEdit(m_resultPage))
    , m_resultInfo(new QLabel(m_resultPage))
    , m_resultExpand(new QPushButton(tr("Show all"), m_resultPage))
    , m_resultCopy(new QPushButton(tr("Copy"), m_resultPage))
{
    setObjectName(QStringLiteral("taskRunDetail"));
    setFrameShape(QFrame::StyledPanel);
    m_title->setObjectName(QStringLiteral("taskRunDetailTitle"));
    m_title->setTextFormat(Qt::PlainText);
    m_title->setTextInteractionFlags(Qt::TextSelectableByMouse);
    m_summary->setObjectName(QStringLiteral("taskRunDetailSummary"));
    m_summary->setTextFormat(Qt::PlainText);
    m_summary->setWordWrap(true);
    m_summary->setTextInteractionFlags(Qt::TextSelectableByMouse);
    m_limits->setObjectName(QStringLiteral("taskRunDetailLimits"));
    m_limits->setTextFormat(Qt::PlainText);
    m_limits->setWordWrap(true);
    m_limits->setTextInteractionFlags(Qt::TextSelectableByMouse);
    m_limits->hide();
    m_config->setObjectName(QStringLiteral("taskRunConfig"));
    m_config->setReadOnly(true);
    m_config->setLineWrapMode(QPlainTextEdit::NoWrap);
    auto* close = new QToolButton(this);
    close->setObjectName(QStringLiteral("closeTaskRunDetail"));
    close->setText(tr("Close"));
    close->setToolTip(tr("Close the task run's detail (Escape)"));
    close->setAutoRaise(true);
    connect(close, &QToolButton::clicked, this, &TaskRunDetailPanel::closeRequested);

    m_tabs->addTab(m_history, tr("History"));
    m_tabs->addTab(m_config, tr("Configuration"));
    m_result->setObjectName(QStringLiteral("taskRunResult"));
    m_result->setReadOnly(true);
    m_result->setLineWrapMode(QPlainTextEdit::NoWrap);
    m_resultInfo->setObjectName(QStringLiteral("taskRunResultInfo"));
    m_resultInfo->setTextFormat(Qt::PlainText);
    m_resultExpand->setObjectName(QStringLiteral("expandTaskRunResult"));
    m_resultExpand->setToolTip(tr("Show the whole result"));
    m_resultCopy->setObjectName(QStringLiteral("copyTaskRunResult"));
    m_resultCopy->setToolTip(tr("Copy the whole result as JSON"));
    connect(m_resultExpand, &QPushButton::clicked, this, [this] {
        m_resultExpanded = !m_resultExpanded;
        showResult();
    });
    connect(m_resultCopy, &QPushButton::clicked, this,
            [this] { QGuiApplication::clipboard()->setText(m_resultText); });
    auto* resultButtons = new QHBoxLayout;
    resultButtons->addWidget(m_resultInfo, 1);
    resultButtons->addWidget(m_resultExpand);
    resultButtons->addWidget(m_resultCopy);
    auto* resultLayout = new QVBoxLayout(m_resultPage);
    resultLayout->setContentsMargins(0, 0, 0, 0);
    resultLayout->addWidget(m_result, 1);
    resultLayout->addLayout(resultButtons);
    m_tabs->addTab(m_resultPage, tr("Result"));
    m_tabs->addTab(m_logs, tr("Logs"));
    m_tabs->addTab(m_stalls, tr("Stalls"));

    auto* top = new QHBoxLayout;
    top->addWidget(m_title, 1);
    top->addWidget(close);
    auto* layout = new QVBoxLayout(this);
    layout->setContentsMargins(6, 4, 6, 4);
    layout->addLayout(top);
    layout->addWidget(m_summary);
    layout->addWidget(m_limits);
    layout->addWidget(m_tabs, 1);
}

TaskRunDetailPanel::~TaskRunDetailPanel() = default;

void TaskRunDetailPanel::clearTables()
{
    m_history->setRowCount(0);
    m_stalls->setRowCount(0);
    m_logs->setRowCount(0);
    m_config->clear();
    setResult(QString());
    m_limits->clear();
    m_limits->hide();
}

void TaskRunDetailPanel::setLoading(const QString& label)
{
    clearTables();
    m_title->setText(label);
    m_summary->setText(tr("Reading the task run from the database…"));
}

void TaskRunDetailPanel::setError(const QString& label, const QString& error)
{
    clearTables();
    m_title->setText(label);
    m_summary->setText(tr("Cannot read the task run: %1").arg(error));
}

void TaskRunDetailPanel::setDetail(const TaskRunDetailView& view)
{
    const TaskRunDetail& d = view.detail;
    const TaskRunRow& r = d.run;
    m_title->setText(tr("Task run %1").arg(taskRunLabel(r.task, r.mapIndex)));
    QStringList summary;
    if (!view.kind.isEmpty())
        summary << tr("Kind: %1").arg(view.kind);
    summary << tr("State: %1").arg(r.name.isEmpty() ? r.state : r.name) << tr("Attempts: %1").arg(r.attempts);
    if (r.startedUs > 0)
        summary << tr("Started: %1").arg(timeText(r.startedUs));
    if (r.startedUs > 0 && r.endedUs > 0)
        summary << tr("Ran for: %1").arg(formatDuration(r.endedUs - r.startedUs));
    if (r.stallCount > 0)
        summary << tr("Stalls: %1 (%2)").arg(r.stallCount).arg(formatDuration(r.stallTotalUs));
    QString text = summary.join(QStringLiteral(" · "));
    if (!r.message.isEmpty())
        text += u'\n' + r.message;
    text += u'\n' + tr("Id: %1").arg(r.id);
    m_summary->setText(text);

    // What the run waits for or holds: its tags' slots, global limits, a rate limit, its flow run's.
    QStringList limits;
    if (!r.tags.isEmpty())
        limits << tr("Limited tags: %1").arg(r.tags.join(QStringLiteral(", ")));
    if (!view.concurrency.isEmpty())
        limits << tr("Global limits: %1").arg(limitsText(view.concurrency));
    if (view.rateLimit)
        limits << tr("Rate limit: %1").arg(limitText(*view.rateLimit));
    if (!view.flowConcurrency.isEmpty())
        limits << tr("Flow run limits: %1").arg(limitsText(view.flowConcurrency));
    m_limits->setText(limits.join(QStringLiteral(" · ")));
    m_limits->setVisible(!limits.isEmpty());

    const bool ended = r.endedUs > 0;
    m_history->setRowCount(int(d.history.size()));
    for (int i = 0; i < d.history.size(); ++i) {
        const StateRow& h = d.history[i];
        QString lasted;
        if (i + 1 < d.history.size())
            lasted = formatDuration(d.history[i + 1].timeUs - h.timeUs);
        else if (!ended)
            lasted = tr("%1 so far")
                         .arg(formatDuration(
                             std::max<qint64>(0, QDateTime::currentMSecsSinceEpoch() * 1000 - h.timeUs)));
        setRow(m_history, i, h.timeUs, {h.name.isEmpty() ? h.state : h.name, lasted, h.message});
        StateType type;
        if (parseStateType(h.state, &type))
            m_history->item(i, 1)->setForeground(stateColor(type));
    }
    m_history->resizeColumnsToContents();

    if (view.config)
        m_config->setPlainText(
            QString::fromUtf8(QJsonDocument(*view.config).toJson(QJsonDocument::Indented)));
    else
        m_config->setPlainText(tr("Unknown: %1").arg(view.configError));

    setResult(r.result);

    m_stalls->setRowCount(int(d.stalls.size()));
    for (int i = 0; i < d.stalls.size(); ++i)
        setRow(m_stalls, i, d.stalls[i].timeUs, {formatDuration(d.stalls[i].durationUs)});
    m_tabs->setTabText(m_tabs->indexOf(m_stalls), tr("Stalls (%1)").arg(d.stalls.size()));

    m_logs->setRowCount(int(d.logs.size()));
    for (int i = 0; i < d.logs.size(); ++i)
        setRow(m_logs, i, d.logs[i].timeUs, {d.logs[i].level, d.logs[i].message});
    m_logs->resizeColumnToContents(0);
    m_tabs->setTabText(m_tabs->indexOf(m_logs),
                       d.logCount > d.logs.size()
                           ? tr("Logs (last %1 of %2)").arg(d.logs.size()).arg(d.logCount)
                           : tr("Logs (%1)").arg(d.logs.size()));
}

void TaskRunDetailPanel::setResult(const QString& json)
{
    QString pretty;
    if (!json.isEmpty()) {
        QString error;
        const std::optional<QJsonValue> value = parseJsonValue(json.toUtf8(), &error);
        if (value && value->isObject())
            pretty = QString::fromUtf8(QJsonDocument(value->toObject()).toJson(QJsonDocument::Indented))
                         .trimmed();
        else if (value && value->isArray())
            pretty = QString::fromUtf8(QJsonDocument(value->toArray()).toJson(QJsonDocument::Indented))
                         .trimmed();
        else
            pretty = json;
    }
    if (pretty == m_resultText && !pretty.isEmpty())
        return; // the same result again (a live refresh): keep it expanded or collapsed as it is
    m_resultText = pretty;
    m_resultExpanded = false;
    showResult();
}

void TaskRunDetailPanel::showResult()
{
    const int tab = m_tabs->indexOf(m_resultPage);
    if (m_resultText.isEmpty()) {
        m_result->setPlainText(tr("No result"));
        m_resultInfo->clear();
        m_resultExpand->hide();
        m_resultCopy->setEnabled(false);
        m_tabs->setTabText(tab, tr("Result"));
        return;
    }
    const qsizetype bytes = m_resultText.toUtf8().size();
    const qsizetype lines = m_resultText.count(u'\n') + 1;
    const bool large = lines > CollapsedResultLines;
    m_resultCopy->setEnabled(true);
    m_resultExpand->setVisible(large);
    m_resultExpand->setText(m_resultExpanded ? tr("Collapse") : tr("Show all"));
    if (large && !m_resultExpanded) {
        qsizetype cut = -1;
        for (int i = 0; i < CollapsedResultLines; ++i)
            cut = m_resultText.indexOf(u'\n', cut + 1);
        m_result->setPlainText(m_resultText.left(cut) + u'\n' + QChar(0x2026));
        m_resultInfo->setText(
            tr("First %1 of %2 lines (%3 bytes)").arg(CollapsedResultLines).arg(lines).arg(bytes));
    } else {
        m_result->setPlainText(m_resultText);
        m_resultInfo->setText(tr("%1 lines (%2 bytes)").arg(lines).arg(bytes));
    }
    m_tabs->setTabText(tab, tr("Result (%1 B)").arg(bytes));
}

void TaskRunDetailPanel::keyPressEvent(QKeyEvent* event)
{
    if (event->key() == Qt::Key_Escape) {
        Q_EMIT closeRequested();
        event->accept();
        return;
    }
    QFrame::keyPressEvent(event);
}

} // namespace flowdeck
