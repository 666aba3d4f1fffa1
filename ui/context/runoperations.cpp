#include "context/runoperations.h"

#include "context/databaseconnection.h"
#include "context/runhistory.h"
#include "run/engine.h"
#include "run/flowrun.h"
#include "style/statestyle.h"

#include <QCoreApplication>
#include <QSysInfo>
#include <QTimer>

namespace flowdeck {

namespace {

QString what(const std::exception& e)
{
    return QString::fromUtf8(e.what());
}

QString labelOf(const FlowRun& run)
{
    return QStringLiteral("%1 (%2)").arg(run.def.name, shortId(run.id.toString()));
}

} // namespace

RunOperations::RunOperations(Engine& engine, DatabaseConnection& database, RunHistory& history,
                             QObject* parent)
    : QObject(parent)
    , m_engine(engine)
    , m_database(database)
    , m_history(history)
{
    qRegisterMetaType<flowdeck::RerunSource>();
}

RunOperations::~RunOperations() = default;

QString RunOperations::identity()
{
    QString user = qEnvironmentVariable("USER");
    if (user.isEmpty())
        user = qEnvironmentVariable("LOGNAME", qEnvironmentVariable("USERNAME"));
    const QString host = QSysInfo::machineHostName();
    return tr("Flowdeck dashboard (%1@%2, pid %3)")
        .arg(user.isEmpty() ? tr("unknown") : user, host)
        .arg(QCoreApplication::applicationPid());
}

QString RunOperations::whyNot(Operation operation, const FlowRun* run) const
{
    if (!run)
        return tr("no flow run is selected");
    if (m_busy.contains(run->id.toString()))
        return tr("an operation on it is under way");
    const bool stored = m_history.isStored(run);
    if (operation == Operation::RunAgain) {
        // A run of this process has its document in memory; a stored one is read from the database.
        if (stored && !m_database.session())
            return tr("the database is not open");
        if (!stored && run->def.document.isEmpty())
            return tr("its flow document was not kept");
        return {};
    }
    QString why;
    switch (operation) {
    case Operation::Retry:
        why = whyNotRetry(run->type);
        break;
    case Operation::Pause:
        why = whyNotPause(run->type);
        break;
    case Operation::Resume:
        why = whyNotResume(run->type);
        break;
    case Operation::RunAgain:
        break;
    }
    if (why.isEmpty() && !m_database.session())
        why = tr("the database is not open");
    return why;
}

QString RunOperations::notAvailable(Operation operation, const QString& why)
{
    switch (operation) {
    case Operation::Retry:
        return tr("Retry is not available: %1").arg(why);
    case Operation::RunAgain:
        return tr("Run Again is not available: %1").arg(why);
    case Operation::Pause:
        return tr("Pause is not available: %1").arg(why);
    case Operation::Resume:
        return tr("Resume is not available: %1").arg(why);
    }
    return why;
}

bool RunOperations::isBusy(const FlowRun* run) const
{
    return run && m_busy.contains(run->id.toString());
}

void RunOperations::begin(const QString& id)
{
    m_busy.insert(id);
    Q_EMIT busyChanged();
}

void RunOperations::end(const QString& id)
{
    m_busy.remove(id);
    Q_EMIT busyChanged();
}

void RunOperations::fail(quint64 serial, const QString& text)
{
    Q_EMIT failed(serial, text);
    Q_EMIT message(text);
}

int RunOperations::retry(const QList<FlowRun*>& runs)
{
    int asked = 0;
    for (FlowRun* run : runs) {
        if (!whyNot(Operation::Retry, run).isEmpty())
            continue;
        const QString id = run->id.toString();
        begin(id);
        auto task = retryTask(this, id, labelOf(*run), m_database.generation());
        ++asked;
    }
    return asked;
}

bool RunOperations::pause(FlowRun* run)
{
    if (!whyNot(Operation::Pause, run).isEmpty())
        return false;
    const QString id = run->id.toString();
    begin(id);
    auto task = pauseTask(this, id, labelOf(*run), m_database.generation());
    return true;
}

bool RunOperations::resume(FlowRun* run)
{
    if (!whyNot(Operation::Resume, run).isEmpty())
        return false;
    const QString id = run->id.toString();
    begin(id);
    auto task = resumeTask(this, id, labelOf(*run), m_database.generation());
    return true;
}

quint64 RunOperations::readRerunSource(FlowRun* run)
{
    if (!whyNot(Operation::RunAgain, run).isEmpty())
        return 0;
    const quint64 serial = ++m_serial;
    const QString id = run->id.toString();
    if (!m_history.isStored(run)) {
        // A run of this process: what it was started with is in memory. Answered from the event loop,
        // like a read, so that the caller holds the serial first.
        RerunSource source;
        source.flowName = run->def.name;
        source.document = run->def.document;
        source.parameters = run->def.parameters;
        source.seed = run->seed;
        QTimer::singleShot(0, this,
                           [this, serial, id, source] { Q_EMIT rerunSourceRead(serial, id, source); });
        return serial;
    }
    auto task = rerunTask(this, id, labelOf(*run), serial, m_database.generation());
    return serial;
}

QCoro::Task<> RunOperations::retryTask(QPointer<RunOperations> self, QString id, QString label,
                                       quint64 generation)
{
    RunControl control(*self->m_database.session(), self->m_engine);
    // A flow at its max_active_runs: the retried run waits (SCHEDULED, with the reason) or is skipped.
    control.setGate(self->m_gate.data());
    FlowRun* run = nullptr;
    QString error;
    try {
        run = co_await control.retry(id, identity());
    } catch (const std::exception& e) {
        error = what(e);
    }
    if (!self)
        co_return;
    self->end(id);
    if (generation != self->m_database.generation())
        co_return;
    if (!error.isEmpty()) {
        self->fail(0, tr("Cannot retry %1: %2").arg(label, error));
        co_return;
    }
    Q_EMIT self->retried(id, run);
    Q_EMIT self->message(tr("Retrying %1").arg(label));
    self->m_history.reload();
}

QCoro::Task<> RunOperations::pauseTask(QPointer<RunOperations> self, QString id, QString label,
                                       quint64 generation)
{
    RunControl control(*self->m_database.session(), self->m_engine);
    QString error;
    try {
        co_await control.pause(id, std::nullopt, identity());
    } catch (const std::exception& e) {
        error = what(e);
    }
    if (!self)
        co_return;
    self->end(id);
    if (generation != self->m_database.generation())
        co_return;
    if (!error.isEmpty()) {
        self->fail(0, tr("Cannot pause %1: %2").arg(label, error));
        co_return;
    }
    Q_EMIT self->paused(id);
    Q_EMIT self->message(tr("Paused %1: task runs already running finish, no other starts").arg(label));
    self->m_history.reload();
}

QCoro::Task<> RunOperations::resumeTask(QPointer<RunOperations> self, QString id, QString label,
                                        quint64 generation)
{
    RunControl control(*self->m_database.session(), self->m_engine);
    FlowRun* run = nullptr;
    QString error;
    QString holder;
    try {
        run = co_await control.resume(id, identity());
        holder = control.lastHolder();
    } catch (const std::exception& e) {
        error = what(e);
    }
    if (!self)
        co_return;
    self->end(id);
    if (generation != self->m_database.generation())
        co_return;
    if (!error.isEmpty()) {
        self->fail(0, tr("Cannot resume %1: %2").arg(label, error));
        co_return;
    }
    Q_EMIT self->resumed(id, run);
    if (run)
        Q_EMIT self->message(tr("Resumed %1 in this app").arg(label));
    else if (!holder.isEmpty())
        Q_EMIT self->message(tr("Resumed %1: %2 goes on with it").arg(label, holder));
    else
        Q_EMIT self->message(tr("Resumed %1: the process that holds it goes on with it").arg(label));
    self->m_history.reload();
}

QCoro::Task<> RunOperations::rerunTask(QPointer<RunOperations> self, QString id, QString label,
                                       quint64 serial, quint64 generation)
{
    RunControl control(*self->m_database.session(), self->m_engine);
    RerunSource source;
    QString error;
    try {
        source = co_await control.rerunSource(id);
    } catch (const std::exception& e) {
        error = what(e);
    }
    if (!self || generation != self->m_database.generation())
        co_return;
    if (!error.isEmpty()) {
        self->fail(serial, tr("Cannot read the flow document of %1: %2").arg(label, error));
        co_return;
    }
    Q_EMIT self->rerunSourceRead(serial, id, source);
}

} // namespace flowdeck
