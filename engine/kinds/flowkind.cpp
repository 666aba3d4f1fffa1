#include "kinds/flowkind.h"

#include "flow/flowparser.h"
#include "flow/subflows.h"
#include "kinds/kindhelpers.h"
#include "run/engine.h"
#include "run/flowrun.h"
#include "run/taskcontext.h"

#include <QJsonObject>
#include <QObject>

namespace flowdeck {

namespace {

using detail::field;

//! What became of the child flow run, read when it finished (it may be released afterwards).
struct ChildEnd {
    bool done = false;
    StateType type = StateType::Failed;
    QString message;
    QString firstFailure;
    QJsonValue result;
};

class FlowKind final : public TaskKind {
public:
    QString name() const override { return subflowKindName(); }
    QString summary() const override
    {
        return QStringLiteral("Runs another flow (a file, relative to this one, or a code-defined flow) as a "
                              "subflow; its result is the subflow's result.");
    }
    QList<FieldSpec> fields() const override
    {
        return {field(u"flow", FieldType::String, true, {}, {},
                      u"flow file (relative to this flow's file) or name of a code-defined flow"),
                field(u"parameters", FieldType::Any, false, {}, {}, u"parameter values for the subflow")};
    }
    void validate(const QJsonObject& config, const QString& path, ValidationErrors& errors) const override
    {
        const QJsonValue parameters = config.value(QStringLiteral("parameters"));
        if (!parameters.isUndefined() && !parameters.isObject()) {
            errors.append({path + QStringLiteral(".parameters"),
                           QStringLiteral("expected an object of parameter values")});
        }
    }

    QCoro::Task<TaskOutcome> run(TaskContext& ctx) const override
    {
        const QString reference = ctx.config().value(QStringLiteral("flow")).toString();
        const QJsonObject overrides = ctx.config().value(QStringLiteral("parameters")).toObject();
        FlowRun& parentFlow = *ctx.run().flowRun;
        QString error;
        const auto target = findSubflow(reference, parentFlow.def.source, &error);
        if (!target)
            co_return TaskOutcome::failure(error);
        ValidationErrors errors;
        const auto definition = FlowParser(TaskKindRegistry::instance())
                                    .resolve(target->document, target->source, errors, overrides);
        if (!definition) {
            QStringList texts;
            for (const ValidationError& e : errors)
                texts << e.toString();
            co_return TaskOutcome::failure(QStringLiteral("subflow %1 is invalid: %2")
                                               .arg(target->source, texts.join(QStringLiteral("; "))));
        }
        Engine& engine = ctx.engine();
        ChildEnd end;
        RunId childId;
        QObject guard; // the connection ends with this attempt
        QObject::connect(&engine, &Engine::flowRunFinished, &guard, [&end, &childId, &ctx](FlowRun* flow) {
            if (end.done || flow->id != childId)
                return;
            end = {true, flow->type, flow->message, flow->firstFailure, flow->result};
            ctx.wake();
        });
        FlowRun* child = nullptr;
        try {
            child = engine.startChild(*definition, ctx.run());
        } catch (const std::exception& e) {
            co_return TaskOutcome::failure(QStringLiteral("cannot start subflow %1: %2")
                                               .arg(definition->name, QString::fromLocal8Bit(e.what())));
        }
        childId = child->id;
        if (child->isTerminal() && !end.done) // it had no task runs: finished as it started
            end = {true, child->type, child->message, child->firstFailure, child->result};
        ctx.log(LogLevel::Info,
                QStringLiteral("started subflow run %1 of flow \"%2\"")
                    .arg(childId.toString(), definition->name));
        // Cancelled or timed out: the child is cancelled, and the attempt ends once it has. A pause
        // reaches the child through Engine::pauseFlowRun; this run waits for it meanwhile.
        ctx.setInterruptHandler([&engine, &ctx, childId] {
            if (ctx.interruptReason() == InterruptReason::Paused)
                return;
            engine.cancelFlowRun(engine.findFlowRun(childId),
                                 ctx.interruptReason() == InterruptReason::TimedOut
                                     ? QStringLiteral("its parent task run timed out")
                                     : QStringLiteral("its parent task run was cancelled"));
        });
        while (!end.done)
            co_await ctx.waitForWake();
        ctx.clearInterruptHandler();
        const QString label = QStringLiteral("subflow run %1 (%2)").arg(childId.toString(), definition->name);
        if (end.type == StateType::Completed)
            co_return TaskOutcome::success(end.result, label + QStringLiteral(" completed"));
        if (!end.firstFailure.isEmpty())
            co_return TaskOutcome::failure(QStringLiteral("%1 %2; first failure: %3")
                                               .arg(label, toString(end.type).toLower(), end.firstFailure));
        co_return TaskOutcome::failure(
            QStringLiteral("%1 %2: %3").arg(label, toString(end.type).toLower(), end.message));
    }
};

} // namespace

std::unique_ptr<TaskKind> makeFlowKind()
{
    return std::make_unique<FlowKind>();
}

} // namespace flowdeck
