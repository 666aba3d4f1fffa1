#pragma once

#include <QDialog>

class QDialogButtonBox;
class QDoubleSpinBox;
class QGroupBox;
class QLabel;
class QLineEdit;
class QSpinBox;

namespace flowdeck {

class AppContext;
class LimitsEditor;

/**
 * Preferences (Ctrl+,). Engine settings, the pool's size / overflow / timeout and the database location
 * apply when accepted or applied and are kept in QSettings; the engine settings and the pool apply
 * live, a new database location too when no flow run is active (else at the next start, as the dialog
 * says). Concurrency limits are written to the run store at once, and validated first.
 */
class SettingsDialog : public QDialog {
    Q_OBJECT

public:
    explicit SettingsDialog(AppContext* context, QWidget* parent = nullptr);
    ~SettingsDialog() override;

    QSpinBox* blockingThreadsEditor() const { return m_threads; }
    QSpinBox* loopLagThresholdEditor() const { return m_threshold; }
    LimitsEditor* limitsEditor() const { return m_limits; }
    QLineEdit* databaseLocationEditor() const { return m_location; }
    //! What applying the database settings did, or why it was refused.
    QLabel* databaseNote() const { return m_databaseNote; }

    //! Applies every value to the running engine and stores it. Returns false (and changes
    //! nothing) when the database location is not valid.
    bool apply();
    void accept() override;

private:
    // The constructor's parts.
    QGroupBox* makeEngineGroup();
    QGroupBox* makeLimitsGroup();
    QGroupBox* makeDatabaseGroup();
    void setUpPoolEditors();
    //! Which database is in use (or would be), and from where.
    QString databaseStatus(const QString& source, const QString& current) const;
    QDialogButtonBox* makeButtons();

    void restoreDefaults();
    void showDatabaseNote(const QString& text, bool error);

    AppContext* m_context;
    QSpinBox* m_threads;
    QSpinBox* m_threshold;
    LimitsEditor* m_limits;
    QLineEdit* m_location;
    QSpinBox* m_poolSize;
    QSpinBox* m_poolOverflow;
    QDoubleSpinBox* m_poolTimeout;
    QLabel* m_databaseNote;
};

} // namespace flowdeck
