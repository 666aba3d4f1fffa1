// The Run page's header: the run's name, state, times and progress, who started it with what, and
// its links to parent and subflow runs.
#include "context/appcontext.h"
#include "context/runhistory.h"
#include "flow/jsontext.h"
#include "pages/runpage.h"
#include "run/clock.h"
#include "run/flowrun.h"
#include "style/statestyle.h"
#include "widgets/elidedlabel.h"
#include "widgets/progresswidget.h"

#include <QAction>
#include <QLabel>
#include <QPushButton>

namespace flowdeck {

void RunPage::updateHeader()
{
    const FlowRun* run = m_current;
    m_headerType = run ? run->type : StateType::Scheduled;
    m_cancelFlow->setEnabled(run && !run->isTerminal()
                             && !(m_context->history().isStored(run) && run->cancelRequested));
    m_progress->setVisible(run != nullptr);
    m_copyId->setEnabled(run != nullptr);
    updateInfo();
    if (!run) {
        m_title->setText(
            tr("<b>No flow run yet.</b> Start a flow on the Flows page, or open one from Runs."));
        return;
    }
    const QColor colour = stateColor(run->type);
    const QString badge
        = QStringLiteral("<span style=\"background-color:%1; color:%2\">&nbsp;%3&nbsp;</span>")
              .arg(colour.name(), textColorOn(colour).name(), toString(run->name).toHtmlEscaped());
    // While it runs, whole seconds: a new label text lays the page out again (ms of work with 100k
    // rows), so the text changes at most once a second, and only then is it set.
    // From when it started: a run planned by a schedule or waiting for its place was created earlier.
    const qint64 since = run->startedUs ? run->startedUs : run->createdUs;
    qint64 end = run->endedUs;
    if (!end) {
        const qint64 elapsed = wallUs() - since;
        end = since + elapsed - elapsed % 1'000'000;
    }
    QString when;
    if (run->startedUs)
        when = tr("started %1 · %2").arg(formatClock(since), formatDuration(end - since));
    else if (run->endedUs)
        when = tr("created %1 · never started").arg(formatClock(since));
    else
        when = tr("created %1 · not started for %2").arg(formatClock(since), formatDuration(end - since));
    QString text = tr("<b>%1</b> &nbsp;%2&nbsp; <small>run %3 · %4</small>")
                       .arg(run->def.name.toHtmlEscaped(), badge, shortId(run->id.toString()), when);
    if (!run->message.isEmpty())
        text += QStringLiteral("<br><small>%1</small>").arg(run->message.toHtmlEscaped());
    if (m_context->history().needsDetails(run))
        text += QStringLiteral("<br><small>%1</small>").arg(tr("Reading its task runs from the database…"));
    else if (run->releasesFinished)
        text += QStringLiteral("<br><small>%1</small>")
                    .arg(tr("%1 task runs, read a page at a time; finished ones are not kept in memory")
                             .arg(run->totalTaskRuns));
    else if (m_context->history().isPaged(run))
        text += QStringLiteral("<br><small>%1</small>")
                    .arg(tr("Stored in %1; its %2 task runs are read a page at a time and counted per task "
                            "by the database for the graph (no timeline)")
                             .arg(run->def.source.toHtmlEscaped())
                             .arg(run->totalTaskRuns));
    else if (m_context->history().isStored(run))
        text += QStringLiteral("<br><small>%1</small>")
                    .arg(tr("Stored in %1").arg(run->def.source.toHtmlEscaped()));
    if (m_title->text() != text)
        m_title->setText(text);
    m_title->setToolTip(run->id.toString());
    if (m_progress->maximum() != run->totalTaskRuns)
        m_progress->setMaximum(int(run->totalTaskRuns));
    // Completed work; failed, crashed and cancelled task runs as parts of their own.
    m_progress->setValue(run->count(StateType::Completed));
    QList<ProgressPart> parts;
    for (StateType t : {StateType::Failed, StateType::Crashed, StateType::Cancelled}) {
        if (run->count(t) > 0 && run->totalTaskRuns > 0)
            parts.append({double(run->count(t)) / double(run->totalTaskRuns), stateColor(t)});
    }
    m_progress->setParts(parts);
}

std::vector<FlowRun*> RunPage::knownRuns() const
{
    // Stored runs first, then this session's: a run of this session wins over its stored copy.
    std::vector<FlowRun*> runs(m_context->history().runs().rbegin(), m_context->history().runs().rend());
    for (const auto& run : m_context->flowRuns())
        runs.push_back(run.get());
    return runs;
}

void RunPage::updateSubflowLinks()
{
    const FlowRun* run = m_current;
    QStringList parts;
    if (run) {
        const auto link = [](const FlowRun& other) {
            return QStringLiteral("<a href=\"flowrun:%1\">%2 %3</a>")
                .arg(other.id.toString(), other.def.name.toHtmlEscaped(), other.id.toString().right(8));
        };
        QStringList children;
        const FlowRun* parent = nullptr;
        for (const FlowRun* other : knownRuns()) {
            if (!run->parentFlowRunId.isNull() && other->id == run->parentFlowRunId)
                parent = other;
            if (other->parentFlowRunId == run->id && other != run)
                children << link(*other);
        }
        if (parent)
            parts << tr("subflow of %1").arg(link(*parent));
        if (!children.isEmpty())
            parts << tr("subflows: %1").arg(children.join(QStringLiteral(", ")));
    }
    m_subflows->setText(parts.join(QStringLiteral(" · ")));
    m_subflows->setVisible(!parts.isEmpty());
}

void RunPage::openLinkedRun(const QString& link)
{
    const QString id = link.section(u':', 1);
    FlowRun* found = nullptr;
    for (FlowRun* other : knownRuns()) {
        if (other->id.toString() == id)
            found = other; // the newest copy (a retried run goes on as a new one)
    }
    if (found)
        setFlowRun(found, false);
}

void RunPage::updateInfo()
{
    updateSubflowLinks();
    const FlowRun* run = m_current;
    if (!run) {
        m_info->setText({});
        m_info->setToolTip({});
        return;
    }
    // Parameters first: on a narrow window the line is cut at its end.
    QStringList parts;
    QStringList lines;
    QStringList values;
    for (auto it = run->def.parameters.begin(); it != run->def.parameters.end(); ++it) {
        const QJsonValue value = it.value();
        const QString text = value.isString() ? detail::quoted(value.toString()) : detail::valueText(value);
        values << QStringLiteral("%1=%2").arg(it.key(), text);
    }
    if (values.isEmpty()) {
        parts << tr("no parameters");
    } else {
        parts << values.join(QStringLiteral(", "));
        lines << tr("Parameters:");
        for (const QString& value : std::as_const(values))
            lines << QStringLiteral("  ") + value;
    }
    // A stored run's seed is known when its row has one (then its definition carries it).
    if (!m_context->history().isStored(run) || run->def.seed) {
        parts << tr("seed %1").arg(run->seed);
        lines << tr("Seed: %1").arg(run->seed);
    }
    if (!run->startedBy.isEmpty()) {
        parts << tr("started by %1").arg(run->startedBy);
        lines << tr("Started by: %1").arg(run->startedBy);
    } else if (const QString ranBy = m_context->history().workerNameOf(run); !ranBy.isEmpty()) {
        // Stored before who started a run was kept: who ran it, at least.
        parts << tr("run by %1").arg(ranBy);
        lines << tr("Run by: %1").arg(ranBy);
    }
    m_info->setText(parts.join(QStringLiteral(" · ")));
    m_info->setToolTip(lines.join(u'\n'));
}

} // namespace flowdeck
