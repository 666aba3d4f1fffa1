#pragma once

#include <QJsonObject>
#include <QJsonValue>
#include <QList>
#include <QString>
#include <QStringList>

#include <optional>

namespace flowdeck {

//! The most task runs one flow run may have, over all its tasks (map and map_over included).
//! The engine keeps every task run of a flow run in memory (about 250 bytes each), so a flow
//! above this is refused when it is validated rather than left to fail allocating at start.
inline constexpr qint64 MaxTaskRunsPerFlowRun = 10'000'000;

//! The longest duration a flow may ask for, in seconds (about 115 days): "seconds", every field
//! named "*_s" ("timeout_s", "retry_delay_s", ...), and milliseconds ("*_ms") accordingly.
//! Longer ones would overflow the engine's clocks (at about 9.2e9 s) and end at once.
inline constexpr double MaxDurationSeconds = 1e7;

//! One error found while reading or validating a flow: where (a JSON path such as
//! "tasks[2].depends_on[0]") and what.
struct ValidationError {
    QString path;
    QString message;
    QString toString() const { return path.isEmpty() ? message : path + QStringLiteral(": ") + message; }
    bool operator==(const ValidationError&) const = default;
};
using ValidationErrors = QList<ValidationError>;

//! A named global concurrency or rate limit that a task run (or a whole flow run) occupies.
struct LimitUse {
    QString name;
    int occupy = 1; //!< slots taken at once
    //! A name without a limit fails the run (instead of running unthrottled with a warning).
    bool strict = false;
    bool operator==(const LimitUse&) const = default;
};

//! A task of a flow, as written. Parameters are already substituted; "{{map_index}}" is left in
//! place and resolved per task run.
struct TaskDef {
    QString id;
    QString kind;
    //! The kind's own fields (everything that is not a common field below).
    QJsonObject config;
    QStringList tags;
    //! Global limits held for the whole attempt ("concurrency").
    QList<LimitUse> concurrency;
    //! A rate limit taken before each attempt and never released: its slots decay ("rate_limit").
    std::optional<LimitUse> rateLimit;
    QStringList dependsOn;
    //! Fan out into this many task runs; nullopt when not mapped.
    std::optional<int> map;
    //! Map element-wise over this mapped upstream task (one run per upstream run).
    QString mapOver;
    int retries = 0;
    double retryDelaySeconds = 0.0;
    //! Per-attempt timeout; 0 means none.
    double timeoutSeconds = 0.0;
    //! True when some string in config contains "{{map_index}}".
    bool usesMapIndex = false;
    //! Index of this task in the flow's task list (its place in the file).
    int index = 0;
};

//! A flow: plain data. The executor runs it; nothing here runs anything.
struct FlowDefinition {
    QString name;
    QString description;
    //! Parameter defaults, then overrides applied at start.
    QJsonObject parameters;
    //! Seed for random choices; nullopt means one is drawn per flow run (and reported).
    std::optional<quint64> seed;
    QList<TaskDef> tasks;
    //! Global limits a flow run holds from its first task run's start until it ends ("concurrency").
    QList<LimitUse> concurrency;
    //! "max_active_runs": at most this many of its queued or scheduled flow runs active at once; 0: no cap.
    int maxActiveRuns = 0;
    //! "on_limit": "skip" ends a run over the cap CANCELLED; else it waits in SCHEDULED ("enqueue").
    bool skipOnLimit = false;
    //! Where it came from: a file path, or "code:NAME" for flows defined in C++.
    QString source;
    //! The document as written (before substitution), so it can be resolved again with other
    //! parameter values.
    QJsonObject document;

    int indexOf(const QString& taskId) const;
};

//! Whether \a tag can name a limit: non-empty, no whitespace, no control characters, no comma
//! (task runs store their tags comma-separated). Sets \a error to one line otherwise.
bool validTag(const QString& tag, QString* error);

//! Whether \a name can name a global concurrency limit (Prefect's rule: not empty, none of
//! "/ % & > <"; and, for the store, no whitespace, control characters or commas). Sets \a error to
//! one line otherwise.
bool validLimitName(const QString& name, QString* error);

} // namespace flowdeck
