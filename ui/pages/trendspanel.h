#pragma once

#include <QGroupBox>

class QComboBox;
class QTimer;

namespace flowdeck {

class AppContext;
class Trends;
class TrendsWidget;

/**
 * The Health page's trends: flow runs per hour over the last 24 hours (or per day over 7 days) by
 * state, the slowest and most failing flows and tasks, and a task's duration over its last runs; read
 * from the run store off the GUI thread while shown, again when runs end, and exportable as PNG and CSV.
 */
class TrendsPanel : public QGroupBox {
    Q_OBJECT

public:
    static constexpr int DurationRuns = 30; //!< runs a task's duration is shown over
    static constexpr int RefreshDelayMs = 1000;

    explicit TrendsPanel(AppContext* context, QWidget* parent = nullptr);
    ~TrendsPanel() override;

    TrendsWidget* chart() const { return m_chart; }
    QComboBox* windowChoice() const { return m_window; }
    //! Reads the trends again (soon; requests within RefreshDelayMs are merged).
    void scheduleRefresh();
    //! Saves the picture / the numbers, asking where with a file dialog.
    void exportPng();
    void exportCsv();

protected:
    void showEvent(QShowEvent* event) override;

private:
    void refresh();

    AppContext* m_context;
    Trends* m_trends;
    TrendsWidget* m_chart;
    QComboBox* m_window;
    QTimer* m_refresh;
    QTimer* m_clock; //!< buckets move on with the clock
    quint64 m_serial = 0;
    quint64 m_durationsSerial = 0;
};

} // namespace flowdeck
