#include "kinds/approvalkind.h"

#include "flow/jsonpath.h"
#include "flow/taskkind.h"
#include "kinds/kindhelpers.h"
#include "run/flowrun.h"
#include "run/taskcontext.h"

namespace flowdeck {

namespace {

using namespace detail;

const QString PromptKey = QStringLiteral("prompt");
const QString OnTimeoutKey = QStringLiteral("on_timeout");

//! "alice@host: looks wrong" or "alice@host (no reason given)".
QString byAndReason(const ApprovalDecision& d)
{
    const QString by = d.by.isEmpty() ? QStringLiteral("someone") : d.by;
    const QString reason = d.reason.trimmed();
    if (reason.isEmpty())
        return by + QStringLiteral(" (no reason given)");
    return by + QStringLiteral(": ") + reason;
}

class ApprovalKind final : public TaskKind {
public:
    QString name() const override { return QStringLiteral("approval"); }
    QString summary() const override
    {
        return QStringLiteral("Waits (PAUSED, AwaitingApproval) until someone approves or rejects it; "
                              "with timeout_s, on_timeout decides.");
    }
    QList<FieldSpec> fields() const override
    {
        return {field(u"prompt", FieldType::String, true, {}, {}, u"the question shown to whoever decides"),
                field(u"on_timeout", FieldType::String, false, {}, {},
                      u"\"reject\" (default) or \"approve\": what timeout_s decides")};
    }
    void validate(const QJsonObject& config, const QString& path, ValidationErrors& errors) const override
    {
        const QJsonValue prompt = config.value(PromptKey);
        if (prompt.isString() && prompt.toString().trimmed().isEmpty()) {
            errors.append({childPath(path, PromptKey),
                           QStringLiteral("must not be empty: it is the question shown to whoever decides")});
        }
        const QJsonValue onTimeout = config.value(OnTimeoutKey);
        if (onTimeout.isString() && onTimeout.toString() != u"reject" && onTimeout.toString() != u"approve") {
            errors.append({childPath(path, OnTimeoutKey),
                           QStringLiteral("expected \"reject\" or \"approve\", found \"%1\"")
                               .arg(onTimeout.toString())});
        }
    }
    QCoro::Task<TaskOutcome> run(TaskContext& ctx) const override
    {
        const QString prompt = ctx.config().value(PromptKey).toString();
        const bool approveOnTimeout = ctx.config().value(OnTimeoutKey).toString() == u"approve";
        const ApprovalDecision d = co_await ctx.awaitApproval(prompt);
        switch (d.outcome) {
        case ApprovalDecision::Outcome::Approved:
            co_return TaskOutcome::success({}, QStringLiteral("approved by ") + byAndReason(d));
        case ApprovalDecision::Outcome::Rejected:
            co_return TaskOutcome::failure(QStringLiteral("rejected by ") + byAndReason(d));
        case ApprovalDecision::Outcome::TimedOut:
            break;
        }
        const QString waited = QStringLiteral("timed out: no decision within %1 s (timeout_s)")
                                   .arg(secondsText(ctx.run().node->def->timeoutSeconds));
        if (approveOnTimeout)
            co_return TaskOutcome::success({}, waited + QStringLiteral("; approved (on_timeout)"));
        co_return TaskOutcome::failure(waited + QStringLiteral("; rejected (on_timeout)"));
    }
};

} // namespace

std::unique_ptr<TaskKind> makeApprovalKind()
{
    return std::make_unique<ApprovalKind>();
}

} // namespace flowdeck
