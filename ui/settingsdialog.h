#pragma once

#include <QDialog>

class QSpinBox;

namespace flowdeck {

class AppContext;

/**
 * Preferences (Ctrl+,). Engine settings apply live when accepted or applied, and are kept in
 * QSettings. The concurrency limits (issue 4, stored in the run store) and the database location
 * and pool size / overflow / timeout (issue 3) get their own groups here when those land.
 */
class SettingsDialog : public QDialog {
    Q_OBJECT

public:
    explicit SettingsDialog(AppContext* context, QWidget* parent = nullptr);
    ~SettingsDialog() override;

    QSpinBox* blockingThreadsEditor() const { return m_threads; }
    QSpinBox* loopLagThresholdEditor() const { return m_threshold; }

    //! Applies every value to the running engine and stores it.
    void apply();
    void accept() override;

private:
    void restoreDefaults();

    AppContext* m_context;
    QSpinBox* m_threads;
    QSpinBox* m_threshold;
};

} // namespace flowdeck
