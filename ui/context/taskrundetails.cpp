#include "context/taskrundetails.h"

#include "context/appcontext.h"
#include "context/databaseconnection.h"
#include "context/logbuffers.h"
#include "flow/flowparser.h"
#include "flow/references.h"
#include "flow/resolvedconfig.h"
#include "flow/substitution.h"
#include "flow/taskkind.h"
#include "run/engineobserver.h"
#include "run/flowrun.h"

namespace flowdeck {

TaskRunDetails::TaskRunDetails(AppContext* context, QObject* parent)
    : QObject(parent)
    , m_context(context)
{
}

TaskRunDetails::~TaskRunDetails() = default;

TaskRunDetailView TaskRunDetails::live(const TaskRun& run) const
{
    TaskRunDetailView view;
    view.live = true;
    TaskRunDetail& d = view.detail;
    TaskRunRow& r = d.run;
    r.id = run.id.toString();
    r.flowRunId = run.flowRun ? run.flowRun->id.toString() : QString();
    r.task = run.taskId();
    r.mapIndex = run.mapIndex;
    r.state = toString(run.type);
    r.name = toString(run.name);
    r.message = run.message;
    r.attempts = run.attempts;
    r.tags = run.node && run.node->def ? run.node->def->tags : QStringList();
    r.createdUs = run.createdUs;
    r.startedUs = run.startedUs;
    r.endedUs = run.endedUs;
    r.stallCount = int(run.stallCount);
    r.stallTotalUs = run.stallTotalUs;
    // Kept by the engine only while a downstream task reads it; the page asks the store otherwise.
    if (!run.result.isNull() && !run.result.isUndefined())
        r.result = QString::fromUtf8(jsonBytes(run.result));
    // The engine keeps when each state began, and the message of the current one only.
    for (std::size_t i = 0; i < run.history.size(); ++i) {
        const StateStamp& stamp = run.history[i];
        d.history.append({stamp.timeUs, toString(typeOf(stamp.name)), toString(stamp.name),
                          i + 1 == run.history.size() ? run.message : QString()});
    }
    const QString label = taskRunLabel(run);
    for (const StallRecord& stall : m_context->recentStalls()) {
        if (stall.taskRunId == run.id)
            d.stalls.append({r.flowRunId, r.id, label, stall.startUs, stall.durationUs});
    }
    if (const LogBuffer* buffer = m_context->logs().of(run.flowRun)) {
        for (const LogLine& line : buffer->lines) {
            if (line.task != label)
                continue;
            LogRow row;
            row.timeUs = line.timeUs;
            row.taskRunId = r.id;
            row.task = r.task;
            row.mapIndex = r.mapIndex;
            row.level = toString(line.level);
            row.message = line.message;
            d.logs.append(std::move(row));
        }
    }
    d.logCount = d.logs.size();
    if (run.node && run.node->def) {
        view.kind = run.node->def->kind;
        view.concurrency = run.node->def->concurrency;
        view.rateLimit = run.node->def->rateLimit;
    }
    if (run.flowRun)
        view.flowConcurrency = run.flowRun->def.concurrency;
    if (run.node && run.node->def)
        view.config = run.node->def->usesMapIndex && run.mapIndex >= 0
            ? substituteMapIndex(run.node->config, run.mapIndex)
            : run.node->config;
    else
        view.configError = tr("not known");
    return view;
}

quint64 TaskRunDetails::request(const QString& flowRunId, const QString& task, int mapIndex)
{
    if (!m_context->database().pool())
        return 0;
    const quint64 serial = ++m_serial;
    auto reading = readTask(this, serial, flowRunId, task, mapIndex);
    return serial;
}

QCoro::Task<> TaskRunDetails::readTask(QPointer<TaskRunDetails> self, quint64 serial, QString flowRunId,
                                       QString task, int mapIndex)
{
    const quint64 generation = self->m_context->database().generation();
    // Read, and the configuration resolved, on a database thread.
    auto reading = self->m_context->database().pool()->run([flowRunId, task, mapIndex](QSqlDatabase& db) {
        QString error;
        std::optional<TaskRunDetail> detail = taskRunDetail(db, flowRunId, task, mapIndex, &error);
        TaskRunDetailView view;
        if (detail) {
            view.detail = std::move(*detail);
            view.config = resolvedTaskConfig(view.detail.document, view.detail.parameters, task, mapIndex,
                                             &view.configError, &view.kind);
            // The limits as the stored document declares them.
            ValidationErrors errors;
            const std::optional<FlowDefinition> flow
                = FlowParser(TaskKindRegistry::instance())
                      .resolve(view.detail.document, QStringLiteral("stored document"), errors,
                               view.detail.parameters);
            if (flow) {
                view.flowConcurrency = flow->concurrency;
                for (const TaskDef& def : flow->tasks) {
                    if (def.id == task) {
                        view.concurrency = def.concurrency;
                        view.rateLimit = def.rateLimit;
                    }
                }
            }
        } else {
            view.configError = error;
        }
        return std::make_pair(detail.has_value(), view);
    });
    try {
        const auto [found, view] = co_await reading;
        if (!self || generation != self->m_context->database().generation())
            co_return;
        if (found)
            Q_EMIT self->loaded(serial, view);
        else
            Q_EMIT self->failed(serial, view.configError);
    } catch (const std::exception& e) {
        if (self)
            Q_EMIT self->failed(serial, QString::fromUtf8(e.what()));
    }
}

} // namespace flowdeck
