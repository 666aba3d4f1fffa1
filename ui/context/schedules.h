#pragma once

#include "store/schedulerow.h"

#include <QCoro/QCoroTask>
#include <QList>
#include <QObject>
#include <QPointer>

#include <optional>

class QTimer;

namespace flowdeck {

class DatabaseConnection;

/**
 * Schedules as the dashboard lists and edits them: read from the store on its database threads (on
 * open, every few seconds while open, and after each write) and written there too, never on the GUI
 * thread. Without an open store there are none, and writes are refused.
 */
class Schedules : public QObject {
    Q_OBJECT

public:
    static constexpr int ReloadMs = 5000;
    //! Fire times read ahead per schedule.
    static constexpr int NextCount = 3;

    explicit Schedules(DatabaseConnection& database, QObject* parent = nullptr);
    ~Schedules() override;

    //! The schedules, by name; empty until read.
    const QList<schedules::ScheduleRow>& rows() const { return m_rows; }
    //! The schedule named \a name, or null.
    const schedules::ScheduleRow* find(const QString& name) const;
    //! The schedules that run flow \a flowName.
    QList<schedules::ScheduleRow> ofFlow(const QString& flowName) const;
    int count() const { return int(m_rows.size()); }
    int activeCount() const;
    //! True once the schedules of the open store have been read.
    bool isLoaded() const { return m_loaded; }
    //! True while writes can be made (the store is open).
    bool canWrite() const;

    //! Reads the schedules again (also done on open and every ReloadMs).
    void reload();
    /**
     * Adds \a draft (\a name empty) or replaces schedule \a name with it, on a database thread:
     * written() or writeFailed() follows. Returns false (nothing done) without an open store.
     */
    bool save(const QString& name, const schedules::ScheduleDraft& draft);
    //! Pauses or resumes schedule \a name; written() or writeFailed() follows.
    bool setActive(const QString& name, bool active);
    //! Deletes schedule \a name (its planned runs end cancelled, its past runs stay).
    bool remove(const QString& name);
    //! Pauses (false) or resumes (true) every schedule, as the tray's menu does.
    bool setAllActive(bool active);

Q_SIGNALS:
    //! rows() changed.
    void changed();
    //! A write of schedule \a name succeeded (the schedules are read again); the schedule service
    //! plans again.
    void written(const QString& name);
    //! A write of schedule \a name was refused: \a error says why (the field and value for a bad draft).
    void writeFailed(const QString& name, const QString& error);
    //! Something worth a line in the status bar.
    void message(const QString& text);

private:
    enum class Op { Save, Activate, Pause, Delete, All };
    static QCoro::Task<> readTask(QPointer<Schedules> self, quint64 generation);
    static QCoro::Task<> writeTask(QPointer<Schedules> self, Op op, QString name,
                                   schedules::ScheduleDraft draft, bool flag, quint64 generation);
    bool write(Op op, const QString& name, const schedules::ScheduleDraft& draft, bool flag);

    DatabaseConnection& m_database;
    QTimer* m_timer;
    QList<schedules::ScheduleRow> m_rows;
    bool m_loading = false;
    bool m_loaded = false;
    bool m_readAgain = false;
};

} // namespace flowdeck
