#include "executorutil.h"

#include "run/flowrun.h"

namespace flowdeck::test {

namespace {

//! Fails its first fail_times attempts, then succeeds.
class FlakyKind final : public TaskKind {
public:
    QString name() const override { return QStringLiteral("test_flaky"); }
    QString summary() const override { return QStringLiteral("fails the first attempts"); }
    QList<FieldSpec> fields() const override
    {
        return {FieldSpec{QStringLiteral("fail_times"), FieldType::Integer, true, 0.0, {}, {}}};
    }
    QCoro::Task<TaskOutcome> run(TaskContext& ctx) const override
    {
        if (ctx.attempt() <= ctx.config().value(QStringLiteral("fail_times")).toInt())
            co_return TaskOutcome::failure(QStringLiteral("attempt %1 failed on purpose").arg(ctx.attempt()));
        co_return TaskOutcome::success(ctx.attempt(), QStringLiteral("succeeded"));
    }
};

//! Sleeps index * step_s seconds on the timer queue; fails when index == fail_on.
class ScaledSleepKind final : public TaskKind {
public:
    QString name() const override { return QStringLiteral("test_scaled_sleep"); }
    QString summary() const override { return QStringLiteral("sleeps index * step_s"); }
    QList<FieldSpec> fields() const override
    {
        return {anyField(QStringLiteral("index")), anyField(QStringLiteral("step_s")),
                anyField(QStringLiteral("fail_on"))};
    }
    QCoro::Task<TaskOutcome> run(TaskContext& ctx) const override
    {
        const int index = ctx.config().value(QStringLiteral("index")).toInt();
        co_await ctx.sleep(index * ctx.config().value(QStringLiteral("step_s")).toDouble());
        if (index == ctx.config().value(QStringLiteral("fail_on")).toInt(-1))
            co_return TaskOutcome::failure(QStringLiteral("index %1 fails on purpose").arg(index));
        co_return TaskOutcome::success(index);
    }
};

} // namespace

FieldSpec anyField(const QString& name)
{
    FieldSpec spec;
    spec.name = name;
    return spec;
}

QJsonObject seconds(const QJsonValue& value)
{
    return {{QStringLiteral("seconds"), value}};
}

void addExecutorTestKinds()
{
    auto& kinds = TaskKindRegistry::instance();
    if (kinds.find(QStringLiteral("test_flaky")))
        return;
    kinds.add(std::make_unique<FlakyKind>());
    kinds.add(std::make_unique<ScaledSleepKind>());
}

void ExecutorFixture::setUpEngine()
{
    m_rec.clear();
    m_engine = std::make_unique<Engine>();
    m_engine->addObserver(&m_rec);
}

void ExecutorFixture::tearDownEngine()
{
    cancelAndDrain(*m_engine);
    m_engine.reset();
}

FlowRun* ExecutorFixture::runToEnd(const FlowDefinition& def, int timeoutMs)
{
    FlowRun* flow = m_engine->start(def);
    if (!waitForFlow(*m_engine, flow, timeoutMs))
        qWarning("flow run %s did not finish within %d ms", qPrintable(def.name), timeoutMs);
    return flow;
}

qint64 ExecutorFixture::usUntil(qint64 t0, const QString& taskId, int mapIndex, StateType type) const
{
    const int i = m_rec.first(taskId, mapIndex, type);
    return i < 0 ? -1 : m_rec.at(i).timeUs - t0;
}

} // namespace flowdeck::test
