#include "kinds/blockingkinds.h"

#include "flow/flowrandom.h"
#include "flow/taskkind.h"
#include "kinds/kindhelpers.h"
#include "run/taskcontext.h"

#include <QThread>

#include <chrono>
#include <cmath>
#include <optional>
#include <thread>

namespace flowdeck {

namespace {

using namespace detail;

using namespace std::chrono_literals;

// Longest a built-in blocking body goes without looking at its cancellation token.
constexpr auto TokenPollInterval = 20ms;

//! Runs on the blocking pool (through TaskContext::runBlocking), never on the event loop.
void blockingSleep(double seconds, const CancelToken& token)
{
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
    while (!token.isCancelled()) {
        const auto left = std::chrono::duration_cast<std::chrono::nanoseconds>(
            deadline - std::chrono::steady_clock::now());
        if (left <= 0ns)
            return;
        std::this_thread::sleep_for(std::min<std::chrono::nanoseconds>(left, TokenPollInterval));
    }
}

void burnCpu(double milliseconds, const CancelToken& token)
{
    const auto deadline
        = std::chrono::steady_clock::now() + std::chrono::duration<double, std::milli>(milliseconds);
    volatile double sink = 0;
    while (!token.isCancelled() && std::chrono::steady_clock::now() < deadline) {
        for (int i = 0; i < 20000; ++i)
            sink = sink + std::sqrt(double(i));
    }
}

//! "chance": both kinds may skip their blocking part, drawn reproducibly per task run.
FieldSpec chanceField()
{
    return field(u"chance", FieldType::Number, false, 0.0, 1.0,
                 u"probability that the blocking part happens");
}

//! The outcome of a run whose draw skips the blocking part, or nullopt when it goes ahead.
std::optional<TaskOutcome> skippedByChance(const TaskContext& ctx)
{
    const double p = ctx.config().value(QStringLiteral("chance")).toDouble(1.0);
    if (ctx.chance(p, salt::Chance))
        return std::nullopt;
    return TaskOutcome::success({}, QStringLiteral("skipped the blocking part (chance %1)").arg(p));
}

class BlockingKind final : public TaskKind {
public:
    QString name() const override { return QStringLiteral("blocking"); }
    QString summary() const override
    {
        return QStringLiteral("Blocking sleep or CPU work on the blocking thread pool; the loop stays free.");
    }
    QList<FieldSpec> fields() const override
    {
        return {field(u"seconds", FieldType::Number, false, 0.0),
                field(u"cpu_ms", FieldType::Number, false, 0.0), chanceField()};
    }
    void validate(const QJsonObject& config, const QString& path, ValidationErrors& errors) const override
    {
        const bool seconds = config.contains(QStringLiteral("seconds"));
        const bool cpu = config.contains(QStringLiteral("cpu_ms"));
        if (seconds == cpu) {
            errors.append({path,
                           seconds ? QStringLiteral(
                               "kind \"blocking\" takes either \"seconds\" or \"cpu_ms\", not both")
                                   : QStringLiteral("kind \"blocking\" needs \"seconds\" or \"cpu_ms\"")});
        }
    }
    QCoro::Task<TaskOutcome> run(TaskContext& ctx) const override
    {
        if (std::optional<TaskOutcome> skipped = skippedByChance(ctx))
            co_return *skipped;
        const QJsonObject& cfg = ctx.config();
        if (cfg.contains(QStringLiteral("seconds"))) {
            const double seconds = cfg.value(QStringLiteral("seconds")).toDouble();
            co_await ctx.runBlocking([seconds](const CancelToken& token) { blockingSleep(seconds, token); });
            co_return TaskOutcome::success(
                {}, QStringLiteral("blocked a worker thread %1 s").arg(secondsText(seconds)));
        }
        const double ms = cfg.value(QStringLiteral("cpu_ms")).toDouble();
        co_await ctx.runBlocking([ms](const CancelToken& token) { burnCpu(ms, token); });
        co_return TaskOutcome::success({}, QStringLiteral("worked %1 ms of CPU on a worker thread").arg(ms));
    }
};

class LoopBlockKind final : public TaskKind {
public:
    QString name() const override { return QStringLiteral("loop_block"); }
    QString summary() const override
    {
        return QStringLiteral(
            "ANTI-PATTERN on purpose: blocks the event loop itself (the seed's time.sleep in "
            "async code), to demonstrate the loop monitor.");
    }
    QList<FieldSpec> fields() const override
    {
        return {field(u"seconds", FieldType::Number, true, 0.0), chanceField()};
    }
    bool blocksEventLoop() const override { return true; }
    QCoro::Task<TaskOutcome> run(TaskContext& ctx) const override
    {
        if (std::optional<TaskOutcome> skipped = skippedByChance(ctx))
            co_return *skipped;
        const QJsonObject& cfg = ctx.config();
        const double seconds = cfg.value(QStringLiteral("seconds")).toDouble();
        // Deliberately blocks the thread of the event loop: this kind exists to show what that does.
        QThread::usleep(static_cast<unsigned long>(seconds * 1e6));
        co_return TaskOutcome::success(
            {}, QStringLiteral("blocked the event loop %1 s").arg(secondsText(seconds)));
    }
};

} // namespace

std::unique_ptr<TaskKind> makeBlockingKind()
{
    return std::make_unique<BlockingKind>();
}

std::unique_ptr<TaskKind> makeLoopBlockKind()
{
    return std::make_unique<LoopBlockKind>();
}

} // namespace flowdeck
