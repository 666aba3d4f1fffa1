#pragma once

#include <QDialog>

class QCheckBox;
class QDialogButtonBox;
class QDoubleSpinBox;
class QGroupBox;
class QLabel;
class QLineEdit;
class QPushButton;
class QSpinBox;
class QTabWidget;
class QTableView;

namespace flowdeck {

class AppContext;
class GlobalLimitsModel;
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
    //! The largest result a task run may end with when its task sets no "max_result_bytes", in KB.
    QSpinBox* maxResultEditor() const { return m_maxResult; }
    LimitsEditor* limitsEditor() const { return m_limits; }
    //! Global concurrency and rate limits: the table (limit, decay and enabled edit in place), the add
    //! form (name, limit, decay), delete, and the line saying what was refused.
    GlobalLimitsModel* globalModel() const { return m_globalModel; }
    QTableView* globalView() const { return m_globalView; }
    QLineEdit* globalNameEdit() const { return m_globalName; }
    QLineEdit* globalLimitEdit() const { return m_globalLimit; }
    QLineEdit* globalDecayEdit() const { return m_globalDecay; }
    QPushButton* globalAddButton() const { return m_globalAdd; }
    QPushButton* globalDeleteButton() const { return m_globalDelete; }
    QLabel* globalMessage() const { return m_globalMessage; }
    QLineEdit* databaseLocationEditor() const { return m_location; }
    //! Tray and notifications: leave the app in the tray when the window closes, and what notifies.
    QCheckBox* keepInTrayEditor() const { return m_keepInTray; }
    QCheckBox* notifyFailuresEditor() const { return m_notifyFailures; }
    QCheckBox* notifyCompletionsEditor() const { return m_notifyCompletions; }
    QCheckBox* notifyApprovalsEditor() const { return m_notifyApprovals; }
    //! What applying the database settings did, or why it was refused.
    QLabel* databaseNote() const { return m_databaseNote; }

    //! The sections, one tab each; each scrolls on its own, the buttons stay below them.
    enum Section { EngineSection, LimitsSection, DatabaseSection, TraySection, SectionCount };
    QTabWidget* sections() const { return m_sections; }
    void showSection(Section section);
    //! Sizes the dialog to its preferred size, or to \a available (a screen's room) when that is smaller.
    void fitTo(const QSize& available);

    //! Applies every value to the running engine and stores it. Returns false (and changes
    //! nothing) when the database location is not valid.
    bool apply();
    void accept() override;

protected:
    bool eventFilter(QObject* watched, QEvent* event) override;

private:
    // The constructor's parts.
    QGroupBox* makeEngineGroup();
    QGroupBox* makeLimitsGroup();
    QWidget* makeGlobalLimitsTab();
    //! Validates the global limit form and creates the limit, or says in globalMessage() why not.
    void addGlobalLimit();
    QGroupBox* makeDatabaseGroup();
    QGroupBox* makeTrayGroup();
    void setUpPoolEditors();
    //! Which database is in use (or would be), and from where.
    QString databaseStatus(const QString& source, const QString& current) const;
    QDialogButtonBox* makeButtons();
    //! \a content in a scroll area without a frame: a section that grows past a small screen scrolls.
    QWidget* scrolled(QWidget* content);

    void restoreDefaults();
    void showDatabaseNote(const QString& text, bool error);

    AppContext* m_context;
    QSpinBox* m_threads;
    QSpinBox* m_threshold;
    QSpinBox* m_maxResult;
    LimitsEditor* m_limits;
    GlobalLimitsModel* m_globalModel;
    QTableView* m_globalView;
    QLineEdit* m_globalName;
    QLineEdit* m_globalLimit;
    QLineEdit* m_globalDecay;
    QPushButton* m_globalAdd;
    QPushButton* m_globalDelete;
    QLabel* m_globalMessage;
    QLineEdit* m_location;
    QSpinBox* m_poolSize;
    QSpinBox* m_poolOverflow;
    QDoubleSpinBox* m_poolTimeout;
    QLabel* m_databaseNote;
    QCheckBox* m_keepInTray;
    QCheckBox* m_notifyFailures;
    QCheckBox* m_notifyCompletions;
    QCheckBox* m_notifyApprovals;
    QTabWidget* m_sections = nullptr;
};

} // namespace flowdeck
