#pragma once

#include "run/blockingpool.h"
#include "run/engineobserver.h"
#include "run/scheduler.h"

#include <QJsonObject>
#include <QString>

#include <atomic>
#include <coroutine>
#include <exception>
#include <functional>
#include <optional>
#include <type_traits>

class QNetworkAccessManager;

namespace flowdeck {

class Engine;
struct TaskRun;
class TaskInterrupted;

//! Why a task run is being interrupted.
//! Paused: the flow run was paused and its grace ran out; the attempt stops and runs again on resume.
enum class InterruptReason : int { None = 0, Cancelled = 1, TimedOut = 2, Paused = 3 };

//! What became of an approval task run's wait (TaskContext::awaitApproval).
struct ApprovalDecision {
    enum class Outcome { Approved, Rejected, TimedOut };
    Outcome outcome = Outcome::Rejected;
    QString reason; //!< why, as the person deciding wrote it (may be empty)
    QString by;     //!< who decided, for people ("alice@host", "the dashboard")
};

//! Shared between a task run and the blocking body it started; bodies poll it.
class CancelToken {
public:
    bool isCancelled() const { return m_reason.load(std::memory_order_relaxed) != 0; }
    InterruptReason reason() const
    {
        return static_cast<InterruptReason>(m_reason.load(std::memory_order_acquire));
    }
    //! First reason wins.
    void request(InterruptReason reason)
    {
        int expected = 0;
        m_reason.compare_exchange_strong(expected, static_cast<int>(reason), std::memory_order_acq_rel);
    }
    void reset() { m_reason.store(0, std::memory_order_release); }

private:
    std::atomic<int> m_reason{0};
};

/**
 * What a task kind sees of the run it executes: its resolved fields, randomness, logs, and the
 * awaitables that keep the event loop free (timer sleeps, blocking work on the blocking pool).
 * Every await throws TaskInterrupted once the run is cancelled or times out.
 */
class TaskContext {
public:
    TaskContext(Engine& engine, TaskRun& run, QJsonObject config);
    TaskContext(const TaskContext&) = delete;
    TaskContext& operator=(const TaskContext&) = delete;

    const QJsonObject& config() const { return m_config; }
    const QString& taskId() const;
    int mapIndex() const;
    int attempt() const;
    TaskRun& run() const { return m_run; }
    Engine& engine() const { return m_engine; }
    QNetworkAccessManager& network() const;
    //! The largest result this run may end with (its task's "max_result_bytes", or the engine's default).
    qint64 maxResultBytes() const;

    //! Reproducible uniform draw in [0, 1) for this task run; \a salt separates independent draws.
    double random(quint32 salt) const;
    //! True with probability \a p (reproducible).
    bool chance(double p, quint32 salt) const { return p >= 1.0 || (p > 0.0 && random(salt) < p); }

    void log(LogLevel level, const QString& message) const;

    bool isInterrupted() const { return m_token.isCancelled(); }
    //! The kind's body runs now (an attempt between its start and its end).
    bool inAttempt() const { return m_inAttempt; }
    InterruptReason interruptReason() const { return m_token.reason(); }
    const CancelToken& token() const { return m_token; }
    //! Throws TaskInterrupted if the run was cancelled or timed out.
    void throwIfInterrupted() const;

    //! Called on the loop when the run is interrupted while this kind waits on something of its own
    //! (a process, a network reply): the handler should make that wait end, then call wake().
    void setInterruptHandler(std::function<void()> handler) { m_interruptHandler = std::move(handler); }
    void clearInterruptHandler() { m_interruptHandler = nullptr; }

    //! Suspends until wake() is called (from the loop). Does not throw on interruption by itself:
    //! pair it with setInterruptHandler().
    auto waitForWake()
    {
        struct Awaiter {
            TaskContext* ctx;
            bool await_ready() const noexcept { return ctx->m_woken; }
            void await_suspend(std::coroutine_handle<> h) { ctx->m_suspended = h; }
            void await_resume() noexcept
            {
                ctx->m_woken = false;
                ctx->m_suspended = {};
            }
        };
        return Awaiter{this};
    }
    //! Ends a waitForWake(); the coroutine resumes through the engine's ready queue.
    void wake();

    //! Sleeps on the engine's shared deadline queue; never blocks the loop.
    auto sleep(double seconds)
    {
        struct Awaiter {
            TaskContext* ctx;
            double seconds;
            bool await_ready() const noexcept { return ctx->isInterrupted(); }
            void await_suspend(std::coroutine_handle<> h) { ctx->suspendForSleep(h, seconds); }
            void await_resume() const { ctx->endSleep(); }
        };
        return Awaiter{this, seconds};
    }

    /**
     * Moves the run to AwaitingApproval (PAUSED, \a prompt as its message) and suspends, holding no
     * slot and no thread, until Engine::decideApproval() or the task's timeout_s (then the outcome is
     * TimedOut). Its local slots are released here; the store frees those in the database with the
     * transition. On a decision the run is RUNNING again, so the attempt ends COMPLETED or FAILED.
     * Throws TaskInterrupted when the run is cancelled while it waits.
     */
    auto awaitApproval(const QString& prompt)
    {
        struct Awaiter {
            TaskContext* ctx;
            QString prompt;
            std::optional<ApprovalDecision> decision;
            bool await_ready() const noexcept { return ctx->isInterrupted(); }
            void await_suspend(std::coroutine_handle<> h) { ctx->suspendForApproval(h, prompt, &decision); }
            ApprovalDecision await_resume()
            {
                ctx->endApproval(decision);
                return std::move(*decision);
            }
        };
        return Awaiter{this, prompt, {}};
    }

    /**
     * Runs \a body(token) on the blocking pool and resumes with its result. The body should poll
     * token.isCancelled() (at least every 50 ms) and return early when it is set; the run stays
     * CANCELLING until the body returns.
     */
    template<typename F>
    auto runBlocking(F body)
    {
        using R = std::invoke_result_t<F, const CancelToken&>;
        struct Awaiter {
            TaskContext* ctx;
            F body;
            std::conditional_t<std::is_void_v<R>, bool, std::optional<R>> result{};
            std::exception_ptr error;
            bool await_ready() const noexcept { return ctx->isInterrupted(); }
            void await_suspend(std::coroutine_handle<> h)
            {
                ctx->submitBlocking([this, h] {
                    try {
                        if constexpr (std::is_void_v<R>) {
                            body(ctx->token());
                        } else {
                            result.emplace(body(ctx->token()));
                        }
                    } catch (...) {
                        error = std::current_exception();
                    }
                    ctx->resumeFromThread(h);
                });
            }
            R await_resume()
            {
                if (error)
                    std::rethrow_exception(error);
                ctx->throwIfInterrupted();
                if constexpr (!std::is_void_v<R>)
                    return std::move(*result);
            }
        };
        return Awaiter{this, std::move(body), {}, {}};
    }

private:
    friend class Engine;

    void suspendForSleep(std::coroutine_handle<> h, double seconds);
    void endSleep() const;
    void submitBlocking(std::function<void()> body);
    void resumeFromThread(std::coroutine_handle<> h);
    static void onSleepDue(void* arg, std::uint64_t token);
    static void onSleepInterrupted(TaskContext* ctx);
    void suspendForApproval(std::coroutine_handle<> h, const QString& prompt,
                            std::optional<ApprovalDecision>* decision);
    //! Throws TaskInterrupted when cancelled; otherwise \a decision is set.
    void endApproval(const std::optional<ApprovalDecision>& decision);
    static void onApprovalInterrupted(TaskContext* ctx);
    void interrupt(InterruptReason reason);

    Engine& m_engine;
    TaskRun& m_run;
    QJsonObject m_config;
    CancelToken m_token;
    std::coroutine_handle<> m_suspended;
    bool m_woken = false;
    bool m_inAttempt = false;
    void (*m_waitInterrupt)(TaskContext*) = nullptr;
    std::function<void()> m_interruptHandler;
    //! The decision slot of the approval this run awaits; null when it awaits none.
    std::optional<ApprovalDecision>* m_approval = nullptr;
};

} // namespace flowdeck
