#pragma once

#include "flow/flow.h"

#include <QCoro/QCoroTask>
#include <QJsonValue>
#include <QList>
#include <QString>

#include <exception>
#include <memory>
#include <optional>
#include <vector>

namespace flowdeck {

class TaskContext;

//! The JSON type a kind's field accepts.
enum class FieldType {
    Number,  //!< any JSON number
    Integer, //!< a JSON number without a fractional part
    String,
    Bool,
    StringList,    //!< array of strings
    StringMap,     //!< object whose values are strings
    NumberOrRange, //!< a number, or [min, max] with min <= max
    IntegerOrList, //!< an integer, or an array of integers
    StringOrObject,
    Any,
};
QString toString(FieldType type);

//! One field a kind accepts, for validation before anything runs.
struct FieldSpec {
    QString name;
    FieldType type = FieldType::Any;
    bool required = false;
    std::optional<double> min; //!< inclusive bound for numbers (each end of a range, each list item)
    std::optional<double> max;
    QString help;
};

//! What one attempt of a task run produced.
struct TaskOutcome {
    bool ok = true;
    QString message;
    QJsonValue result;

    static TaskOutcome success(QJsonValue result = {}, QString message = {})
    {
        return {true, std::move(message), std::move(result)};
    }
    static TaskOutcome failure(QString message) { return {false, std::move(message), {}}; }
};

//! Thrown out of an await when the task run was cancelled or timed out. Kinds let it propagate.
class TaskInterrupted : public std::exception {
public:
    const char* what() const noexcept override { return "task run interrupted"; }
};

/**
 * A kind of task: what a task with `"kind": name()` does. Built-in kinds are registered by the
 * engine; applications register their own at start-up with TaskKindRegistry::add().
 */
class TaskKind {
public:
    virtual ~TaskKind() = default;
    virtual QString name() const = 0;
    //! One line for people (shown in the dashboard and `--help`).
    virtual QString summary() const = 0;
    //! The kind's own fields; anything else in the task is an "unknown field" error.
    virtual QList<FieldSpec> fields() const = 0;
    //! Checks beyond single fields (for example "either seconds or cpu_ms"). \a path is "tasks[N]".
    virtual void validate(const QJsonObject& config, const QString& path, ValidationErrors& errors) const
    {
        Q_UNUSED(config)
        Q_UNUSED(path)
        Q_UNUSED(errors)
    }
    //! True for kinds that block the event loop on purpose (loop_block); the dashboard labels them.
    virtual bool blocksEventLoop() const { return false; }
    //! Runs one attempt. Runs on the engine's event loop; blocking work goes through
    //! TaskContext::runBlocking(). Awaits throw TaskInterrupted when the run is cancelled or times out.
    virtual QCoro::Task<TaskOutcome> run(TaskContext& ctx) const = 0;
};

//! The kinds known to this process. Built-ins are added on first use of instance().
class TaskKindRegistry {
public:
    static TaskKindRegistry& instance();
    //! Adds or replaces a kind. Call at start-up, before flows are validated.
    void add(std::unique_ptr<TaskKind> kind);
    const TaskKind* find(const QString& name) const;
    QStringList names() const;

private:
    TaskKindRegistry();
    std::vector<std::unique_ptr<TaskKind>> m_kinds;
};

//! Registers the built-in kinds; defined with them in engine/kinds/builtinkinds.cpp.
void registerBuiltinKinds(TaskKindRegistry& registry);

} // namespace flowdeck
