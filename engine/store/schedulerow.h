#pragma once

#include <QJsonObject>
#include <QList>
#include <QString>

#include <optional>

namespace flowdeck {

class ScheduleSpec;
struct ScheduleExprError;

namespace schedules {

//! Missed fire times (no process was up) when a process plans again: none, only the latest, or all.
enum class Catchup { None, Latest, All };
//! What a due flow run does when its limit of active runs is reached (Prefect's ENQUEUE / CANCEL_NEW).
enum class OnLimit { Enqueue, Skip };

QString toString(Catchup catchup);
QString toString(OnLimit onLimit);
//! "none", "latest", "all"; false for anything else.
bool parseCatchup(const QString& text, Catchup* out);
//! "enqueue", "skip"; false for anything else.
bool parseOnLimit(const QString& text, OnLimit* out);

/**
 * A schedule as written by `schedule add` / `schedule update` or the dashboard's dialog: exactly one
 * of cron (with timezone) or intervalUs (with anchorUs and timezone). The flow document is kept with
 * it, so a later change of the flow's file changes nothing until the schedule is updated.
 */
struct ScheduleDraft {
    QString name;
    QString flowName;
    QString source;         //!< where the document came from (a file path, "catalog:NAME"), for people
    QJsonObject document;   //!< the flow document as written
    QJsonObject parameters; //!< the fixed parameter values the runs get
    QString cron;           //!< a cron expression, or empty for an interval
    QString timezone;       //!< an IANA id; empty: the local zone
    qint64 intervalUs = 0;  //!< > 0 for an interval schedule
    std::optional<qint64> anchorUs;
    int maxActiveRuns = 0; //!< 0: no limit (a "max_active_runs" in the document still applies)
    OnLimit onLimit = OnLimit::Enqueue;
    Catchup catchup = Catchup::Latest;
    bool active = true;

    //! The spec this draft fires on; nullopt with the error (field and value) when it is invalid.
    std::optional<ScheduleSpec> spec(ScheduleExprError* error = nullptr) const;
};

//! One schedule as listed: what it is, its next fire times and its last flow run.
struct ScheduleRow {
    QString id;
    ScheduleDraft draft;
    int version = 1; //!< grows with each update
    qint64 createdUs = 0;
    qint64 updatedUs = 0;
    //! The next fire times from now (3 unless asked otherwise); empty while paused.
    QList<qint64> nextFireUs;
    //! The last flow run that started or ended (not a planned one); empty id when none.
    QString lastRunId;
    QString lastRunState; //!< "COMPLETED", "FAILED", ...
    qint64 lastRunFireUs = 0;
    //! Flow runs of this schedule active now (running, or claimed and starting).
    int activeRuns = 0;

    const QString& name() const { return draft.name; }
    bool active() const { return draft.active; }
    //! "0 9 * * 1-5" or "every 15m".
    QString expressionText() const;
};

} // namespace schedules
} // namespace flowdeck
