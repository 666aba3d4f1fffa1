#pragma once

#include "models/modelroles.h"

#include <QList>
#include <QWidget>

namespace flowdeck {

/**
 * A progress bar painted with the style's progress bar, for figures that change several times a
 * second. Unlike QProgressBar, whose setValue() repaints synchronously (painting every pending
 * region of the window there and then), a new value only schedules a repaint.
 */
class ProgressWidget : public QWidget {
    Q_OBJECT

public:
    explicit ProgressWidget(QWidget* parent = nullptr);
    ~ProgressWidget() override;

    void setMaximum(qint64 maximum);
    void setValue(qint64 value);
    qint64 value() const { return m_value; }
    qint64 maximum() const { return m_maximum; }
    //! Parts painted after the value's, each in its colour (e.g. failed, crashed, cancelled task runs).
    void setParts(const QList<ProgressPart>& parts);
    const QList<ProgressPart>& parts() const { return m_parts; }
    //! The text shown; "%v" is the value and "%m" the maximum.
    void setFormat(const QString& format);
    QString text() const;

    QSize sizeHint() const override;
    QSize minimumSizeHint() const override;

protected:
    void paintEvent(QPaintEvent* event) override;

private:
    qint64 m_value = 0;
    qint64 m_maximum = 100;
    QString m_format = QStringLiteral("%v / %m");
    QList<ProgressPart> m_parts;
};

} // namespace flowdeck
