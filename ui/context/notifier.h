#pragma once

#include <QElapsedTimer>
#include <QObject>
#include <QSet>
#include <QString>

#include <vector>

class QTimer;

namespace flowdeck {

class AppContext;
struct FlowRun;
struct UpdateBatch;

//! One desktop notification, as the tray shows it.
struct Notification {
    enum class Kind { Failed, Completed, Approval, Summary };
    Kind kind = Kind::Failed;
    QString title;
    QString text;
    //! The flow run a click opens (its full id); empty for a summary of several.
    QString runId;
    //! Of a summary: how many flow runs failed among what it sums up (a click then shows them).
    int failures = 0;
};

//! What the tray icon shows: whether runs are active, whether something failed unseen.
struct TrayState {
    enum class Status { Idle, Running, Failed };
    Status status = Status::Idle;
    int activeRuns = 0;
    int unseenFailures = 0;
    QString toolTip;
    bool operator==(const TrayState&) const = default;
};

//! Where the notifier's decisions go: the tray adapter (QSystemTrayIcon), or a test's recorder.
class NotificationSink {
public:
    virtual ~NotificationSink() = default;
    virtual void showNotification(const Notification& notification) = 0;
    virtual void showTrayState(const TrayState& state) = 0;
};

//! Which events notify (Settings).
struct NotifyOptions {
    bool failures = true;
    bool completions = false;
    bool approvals = true;
};

/**
 * Decides what the desktop is told: flow runs that failed or crashed (and, if chosen, completed),
 * approvals that begin to wait, here and in other processes sharing the database (seen by the run
 * history's poll), each once. Reads the app's coalesced display tick and pulse, never a signal per
 * transition. Rate-limited: events are gathered for GatherMs, and notifications are at least
 * MinGapMs apart; several events at once give one summary. Without a sink (no tray on this desktop)
 * it records and shows nothing.
 */
class Notifier : public QObject {
    Q_OBJECT

public:
    static constexpr int GatherMs = 1000;
    static constexpr int MinGapMs = 10000;

    explicit Notifier(AppContext& context, QObject* parent = nullptr);
    ~Notifier() override;

    //! Null: no tray or notification service; nothing is shown.
    void setSink(NotificationSink* sink);
    NotificationSink* sink() const { return m_sink; }
    void setOptions(const NotifyOptions& options) { m_options = options; }
    const NotifyOptions& options() const { return m_options; }
    //! For tests: shorter windows than GatherMs and MinGapMs.
    void setTiming(int gatherMs, int minGapMs);

    //! The user looked at the window: failures so far are seen (the tray drops its failure mark).
    void acknowledge();
    //! The last notification was clicked: openRun() for one run, openFailedRuns() for a summary.
    void activate();
    const TrayState& trayState() const { return m_state; }

Q_SIGNALS:
    void openRun(flowdeck::FlowRun* run);
    void openFailedRuns();

private:
    struct Event {
        Notification::Kind kind;
        QString flowName;
        QString runId;
        QString detail; //!< first failure, or the approval's task and prompt
    };

    void apply(const UpdateBatch& batch);
    void considerHistory();
    void consider(const FlowRun& run);
    void checkLocalApprovals();
    void checkStoredApprovals();
    void noteApproval(const FlowRun& run, const QString& taskRunId, const QString& task, int mapIndex,
                      const QString& prompt);
    void add(Event event);
    void flush();
    void updateTrayState();
    Notification single(const Event& event) const;
    Notification summary() const;

    AppContext& m_context;
    NotificationSink* m_sink = nullptr;
    NotifyOptions m_options;
    QTimer* m_timer;
    QElapsedTimer m_sinceShown;
    int m_gatherMs = GatherMs;
    int m_minGapMs = MinGapMs;
    qint64 m_sinceUs; //!< runs of other processes that ended before this are old news
    std::vector<Event> m_pending;
    QSet<QString> m_seen; //!< "run id:end time" of runs told, task run ids of approvals told
    Notification m_last;
    int m_unseenFailures = 0;
    TrayState m_state;
};

} // namespace flowdeck
