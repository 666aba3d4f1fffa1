#pragma once

#include <QHash>
#include <QString>
#include <QWidget>

#include <deque>

namespace flowdeck {

//! Occupied slots per global limit over the last minute: one line per limit, as a share of its limit,
//! from one sample a second (the Concurrency page feeds it).
class OccupancyChart : public QWidget {
    Q_OBJECT

public:
    static constexpr int Samples = 60;

    explicit OccupancyChart(QWidget* parent = nullptr);
    ~OccupancyChart() override;

    //! One second's sample: occupied slots and limit by limit name.
    void addSample(const QHash<QString, QPair<int, int>>& occupiedAndLimit);
    //! Oldest first; at most Samples.
    const std::deque<QHash<QString, QPair<int, int>>>& samples() const { return m_samples; }

    QSize sizeHint() const override;
    QSize minimumSizeHint() const override;

protected:
    void paintEvent(QPaintEvent* event) override;

private:
    std::deque<QHash<QString, QPair<int, int>>> m_samples;
};

} // namespace flowdeck
