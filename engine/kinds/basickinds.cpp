#include "kinds/basickinds.h"

#include "flow/flowrandom.h"
#include "flow/taskkind.h"
#include "kinds/kindhelpers.h"
#include "run/taskcontext.h"

#include <QJsonArray>

namespace flowdeck {

namespace {

using namespace detail;

//! seconds: a number, or [min, max] drawn uniformly (reproducibly) per task run.
double drawSeconds(const TaskContext& ctx, const QJsonValue& value)
{
    if (value.isArray()) {
        const QJsonArray range = value.toArray();
        const double lo = range.at(0).toDouble();
        const double hi = range.at(1).toDouble();
        return lo + (hi - lo) * ctx.random(salt::Duration);
    }
    return value.toDouble();
}

class NoopKind final : public TaskKind {
public:
    QString name() const override { return QStringLiteral("noop"); }
    QString summary() const override
    {
        return QStringLiteral("Does nothing; for placeholders and benchmarks.");
    }
    QList<FieldSpec> fields() const override
    {
        return {field(u"value", FieldType::Any, false, {}, {}, u"becomes the run's result")};
    }
    QCoro::Task<TaskOutcome> run(TaskContext& ctx) const override
    {
        const QJsonValue value = ctx.config().value(QStringLiteral("value"));
        co_return TaskOutcome::success(value.isUndefined() ? QJsonValue() : value);
    }
};

class SleepKind final : public TaskKind {
public:
    QString name() const override { return QStringLiteral("sleep"); }
    QString summary() const override
    {
        return QStringLiteral("Waits on a timer without blocking the event loop (seconds, or [min, max]).");
    }
    QList<FieldSpec> fields() const override
    {
        return {field(u"seconds", FieldType::NumberOrRange, true, 0.0, {},
                      u"seconds, or [min, max] drawn at random")};
    }
    QCoro::Task<TaskOutcome> run(TaskContext& ctx) const override
    {
        const double seconds = drawSeconds(ctx, ctx.config().value(QStringLiteral("seconds")));
        co_await ctx.sleep(seconds);
        co_return TaskOutcome::success(
            {}, QStringLiteral("slept ") + secondsText(seconds) + QStringLiteral(" s"));
    }
};

class FailKind final : public TaskKind {
public:
    QString name() const override { return QStringLiteral("fail"); }
    QString summary() const override { return QStringLiteral("Fails with a message."); }
    QList<FieldSpec> fields() const override { return {field(u"message", FieldType::String)}; }
    QCoro::Task<TaskOutcome> run(TaskContext& ctx) const override
    {
        co_return TaskOutcome::failure(
            ctx.config().value(QStringLiteral("message")).toString(QStringLiteral("failed on purpose")));
    }
};

} // namespace

std::unique_ptr<TaskKind> makeNoopKind()
{
    return std::make_unique<NoopKind>();
}

std::unique_ptr<TaskKind> makeSleepKind()
{
    return std::make_unique<SleepKind>();
}

std::unique_ptr<TaskKind> makeFailKind()
{
    return std::make_unique<FailKind>();
}

} // namespace flowdeck
