#pragma once

#include <QWidget>

#include <vector>

namespace flowdeck {

//! Bars of the largest event-loop lag per second over the last minute, with the stall threshold
//! as a dashed line; bars above it are drawn in the failure colour.
class SparklineWidget : public QWidget {
    Q_OBJECT

public:
    explicit SparklineWidget(QWidget* parent = nullptr);
    ~SparklineWidget() override;

    //! \a values oldest first (ms), as LoopMonitor::lagPerSecond() returns them.
    void setValues(std::vector<double> values, double thresholdMs);
    const std::vector<double>& values() const { return m_values; }

    QSize sizeHint() const override;
    QSize minimumSizeHint() const override;

protected:
    void paintEvent(QPaintEvent* event) override;

private:
    std::vector<double> m_values;
    double m_threshold = 100;
};

} // namespace flowdeck
