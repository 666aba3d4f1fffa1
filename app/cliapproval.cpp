#include "cliapproval.h"

#include "cli.h"
#include "clicommon.h"
#include "run/flowrun.h"
#include "run/scheduler.h"
#include "store/approvalqueries.h"
#include "store/runqueries.h"

#include <QRegularExpression>
#include <QSysInfo>

namespace flowdeck::cli {

namespace {

//! Who decides from this terminal, for people: "alice@host".
QString deciderName()
{
    QString user = qEnvironmentVariable("USER");
    if (user.isEmpty())
        user = qEnvironmentVariable("LOGNAME", QStringLiteral("someone"));
    return user + u'@' + QSysInfo::machineHostName();
}

//! TASK as `runs show --task` takes it: "id" or "id[INDEX]".
bool parseTask(const QString& command, const QString& value, QString* task, int* mapIndex)
{
    static const QRegularExpression form(QStringLiteral("^([^\\[\\]]+)(?:\\[(\\d{1,9})\\])?$"));
    const QRegularExpressionMatch m = form.match(value.trimmed());
    if (!m.hasMatch()) {
        printError(QStringLiteral("flowdeck %1: TASK: expected TASK or TASK[INDEX] (INDEX a number from 0), "
                                  "got \"%2\"")
                       .arg(command, value));
        return false;
    }
    *task = m.captured(1);
    *mapIndex = m.capturedLength(2) > 0 ? m.captured(2).toInt() : -1;
    return true;
}

struct Decided {
    RunIdResolution run;
    DecideOutcome outcome;
};

QCoro::Task<int> decideCommand(QStringList args, Output& out, bool approve)
{
    const QString command = approve ? QStringLiteral("runs approve") : QStringLiteral("runs reject");
    QCommandLineParser parser;
    parser.setApplicationDescription(
        approve ? QStringLiteral("Approves a task run waiting for approval (AwaitingApproval); the process "
                                 "running it goes on within a second.")
                : QStringLiteral("Rejects a task run waiting for approval (AwaitingApproval): it fails with "
                                 "the reason, and the tasks after it do not run."));
    parser.addPositionalArgument(
        QStringLiteral("RUN_ID"),
        QStringLiteral("Flow run id, or a unique prefix or suffix of at least 6 hex digits."));
    parser.addPositionalArgument(QStringLiteral("TASK"),
                                 QStringLiteral("The task's id, or id[INDEX] for a run of a mapped task."));
    const QCommandLineOption reason(QStringLiteral("reason"), QStringLiteral("Why it is rejected."),
                                    QStringLiteral("TEXT"));
    const QCommandLineOption db = dbOption();
    if (!approve)
        parser.addOption(reason);
    parser.addOption(db);
    if (const int code = parseCommand(parser, command, args); code != ParsedOk)
        co_return code;
    const QStringList positional = parser.positionalArguments();
    if (positional.size() != 2) {
        printError(
            QStringLiteral("flowdeck %1: expected RUN_ID and TASK, got %2 argument(s) (see 'flowdeck %1 "
                           "--help')")
                .arg(command)
                .arg(positional.size()));
        co_return ExitUsage;
    }
    QString task;
    int mapIndex = -1;
    if (!parseTask(command, positional.at(1), &task, &mapIndex))
        co_return ExitUsage;
    const QString why = approve ? QString() : parser.value(reason);
    const QString by = deciderName();

    Scheduler scheduler; // the store's, outlives the session
    auto opening = openSession(command, parser.value(db), scheduler);
    OpenSession storage = co_await opening;
    if (!storage)
        co_return ExitUsage;
    const QString idOrShort = positional.at(0);
    Decided decided;
    try {
        auto deciding = storage.pool().run([=](QSqlDatabase& db) {
            Decided d;
            d.run = resolveFlowRunId(db, idOrShort);
            if (!d.run.id.isEmpty())
                d.outcome = decideApproval(db, d.run.id, task, mapIndex, approve, why, by);
            return d;
        });
        decided = co_await deciding;
    } catch (const std::exception& e) {
        printDatabaseError(command, e);
        co_return ExitUsage;
    }
    if (decided.run.id.isEmpty()) {
        QString text = QStringLiteral("flowdeck %1: %2").arg(command, decided.run.error);
        for (const FlowRunRow& r : std::as_const(decided.run.candidates))
            text += QStringLiteral("\n  %1  %2  %3").arg(r.id, r.flow, r.state);
        printError(text);
        co_return ExitUsage;
    }
    const QString id = decided.run.id;
    const QString label = taskRunLabel(task, mapIndex);
    switch (decided.outcome.result) {
    case DecideResult::Decided:
        out.line(
            QStringLiteral("%1 task run %2 of flow run %3; the process running it goes on within a second")
                .arg(approve ? QStringLiteral("approved") : QStringLiteral("rejected"), label, id));
        co_return ExitCompleted;
    case DecideResult::UnknownTask:
        printError(
            decided.outcome.mapped
                ? QStringLiteral("flowdeck %1: task \"%2\" of flow run %3 is mapped: name one of its runs "
                                 "as %2[INDEX]")
                      .arg(command, task, id)
                : QStringLiteral("flowdeck %1: flow run %2 has no task run %3").arg(command, id, label));
        co_return ExitUsage;
    case DecideResult::NotWaiting:
        printError(
            decided.outcome.decidedAs.isEmpty()
                ? QStringLiteral(
                      "flowdeck %1: task run %2 of flow run %3 is not waiting for approval (it is %4); "
                      "nothing written")
                      .arg(command, label, id, decided.outcome.state)
                : QStringLiteral("flowdeck %1: task run %2 of flow run %3 was already %4; nothing written")
                      .arg(command, label, id, decided.outcome.decidedAs));
        co_return ExitUsage;
    }
    co_return ExitUsage;
}

} // namespace

QCoro::Task<int> approveCommand(QStringList args, Output& out)
{
    return decideCommand(std::move(args), out, true);
}

QCoro::Task<int> rejectCommand(QStringList args, Output& out)
{
    return decideCommand(std::move(args), out, false);
}

} // namespace flowdeck::cli
