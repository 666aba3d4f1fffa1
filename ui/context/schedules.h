#pragma once

#include <QObject>

namespace flowdeck {

class DatabaseConnection;

/**
 * Schedules as the dashboard shows and edits them: read from the store on its database threads
 * (on open, after each write, and every few seconds), written there too.
 */
class Schedules : public QObject {
    Q_OBJECT

public:
    explicit Schedules(DatabaseConnection& database, QObject* parent = nullptr);
    ~Schedules() override;

    //! Schedules in the store, and how many of them are active.
    int count() const { return m_count; }
    int activeCount() const { return m_active; }
    //! Pauses (false) or resumes (true) every schedule.
    void setAllActive(bool active);

Q_SIGNALS:
    //! The schedules were read again and differ.
    void changed();
    //! Something worth a line in the status bar.
    void message(const QString& text);

private:
    DatabaseConnection& m_database;
    int m_count = 0;
    int m_active = 0;
};

} // namespace flowdeck
