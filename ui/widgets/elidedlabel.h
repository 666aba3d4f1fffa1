#pragma once

#include <QFrame>
#include <QString>

namespace flowdeck {

//! One line of text that shrinks with its room: cut with "…" when narrower than the text (its owner
//! sets a tooltip with the whole). Never asks the window for the text's width as a minimum.
class ElidedLabel : public QFrame {
    Q_OBJECT

public:
    explicit ElidedLabel(QWidget* parent = nullptr);
    ~ElidedLabel() override;

    void setText(const QString& text);
    QString text() const { return m_text; }
    //! What is drawn now: the text, or its start and "…".
    QString shownText() const;

    QSize sizeHint() const override;
    QSize minimumSizeHint() const override;

protected:
    void paintEvent(QPaintEvent* event) override;

private:
    QString m_text;
};

} // namespace flowdeck
