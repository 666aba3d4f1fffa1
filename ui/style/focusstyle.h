#pragma once

#include <QProxyStyle>

namespace flowdeck {

/**
 * The application's style with keyboard focus that can be seen: a focused list or table is framed in
 * the palette's highlight colour, and the focus rectangle of a button, check box or current cell is a
 * thick line in a colour that stands out from what it is drawn on, in light and dark palettes alike.
 */
class FocusStyle : public QProxyStyle {
    Q_OBJECT

public:
    //! Wraps \a base (owned), or the application's default style when null.
    explicit FocusStyle(QStyle* base = nullptr);
    ~FocusStyle() override;

    //! The width of the focus frame and rectangle, in device-independent pixels.
    static constexpr int FocusWidth = 2;

    void drawPrimitive(PrimitiveElement element, const QStyleOption* option, QPainter* painter,
                       const QWidget* widget = nullptr) const override;
    void drawControl(ControlElement element, const QStyleOption* option, QPainter* painter,
                     const QWidget* widget = nullptr) const override;
    int pixelMetric(PixelMetric metric, const QStyleOption* option = nullptr,
                    const QWidget* widget = nullptr) const override;
    void polish(QWidget* widget) override;
    using QProxyStyle::polish;
    void unpolish(QWidget* widget) override;
    using QProxyStyle::unpolish;

protected:
    bool eventFilter(QObject* watched, QEvent* event) override;
};

} // namespace flowdeck
