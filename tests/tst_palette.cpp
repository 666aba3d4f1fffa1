// A dark palette: icons and painted widgets take their colours from the palette.
#include "pages/runpage.h"
#include "pages/runspage.h"
#include "style/palette.h"
#include "uitestutil.h"
#include "widgets/timelinewidget.h"

#include <QAction>
#include <QDialog>
#include <QHBoxLayout>
#include <QImage>
#include <QJsonDocument>
#include <QPushButton>
#include <QSet>
#include <QStyle>
#include <QTest>
#include <QTreeView>

using namespace flowdeck;
using namespace flowdeck::uitest;

namespace {

double luminance(QRgb rgb)
{
    return (0.2126 * qRed(rgb) + 0.7152 * qGreen(rgb) + 0.0722 * qBlue(rgb)) / 255.0;
}

//! Mean luminance of an icon's visible pixels, weighted by their opacity.
double glyphLuminance(const QImage& image)
{
    double sum = 0;
    double weight = 0;
    for (int y = 0; y < image.height(); ++y) {
        for (int x = 0; x < image.width(); ++x) {
            const QRgb rgb = image.pixel(x, y);
            sum += luminance(rgb) * qAlpha(rgb);
            weight += qAlpha(rgb);
        }
    }
    return weight > 0 ? sum / weight : -1;
}

//! Pixels of \a widget painted exactly in \a color.
int pixelsOf(QWidget* widget, const QColor& color)
{
    const QImage image = widget->grab().toImage().convertToFormat(QImage::Format_RGB32);
    int count = 0;
    for (int y = 0; y < image.height(); ++y) {
        for (int x = 0; x < image.width(); ++x)
            count += image.pixel(x, y) == color.rgb() ? 1 : 0;
    }
    return count;
}

} // namespace

class TestPalette : public QObject, public Dashboard {
    Q_OBJECT

private Q_SLOTS:
    void initTestCase()
    {
        writeFlows();
        m_style = QApplication::style()->name();
    }
    void init() {}
    void cleanup()
    {
        tearDown();
        QApplication::setStyle(m_style);
        QApplication::setPalette(QApplication::style()->standardPalette());
    }

    void iconsReadOnBothPalettes_data();
    void iconsReadOnBothPalettes();
    void timelineLabelsReadOnDarkPalette();
    void recolouredIconsKeepTheirDetail();
    void keyboardFocusIsMarked_data() { iconsReadOnBothPalettes_data(); }
    void keyboardFocusIsMarked();

private:
    QString m_style;
};

void TestPalette::iconsReadOnBothPalettes_data()
{
    QTest::addColumn<QString>("palette");
    QTest::newRow("dark") << QStringLiteral("dark");
    QTest::newRow("light") << QStringLiteral("light");
}

void TestPalette::iconsReadOnBothPalettes()
{
    QFETCH(QString, palette);
    QVERIFY(applyPalette(palette));
    makeWindow();
    const double background = luminance(QApplication::palette().color(QPalette::Window).rgb());
    QList<QAction*> actions = {m_window->startAction(), m_window->cancelAction(), m_window->helpAction()};
    for (int i = 0; i < MainWindow::PageCount; ++i)
        actions << m_window->pageAction(MainWindow::Page(i));
    for (QAction* action : actions) {
        const QImage icon = action->icon().pixmap(22, 22).toImage().convertToFormat(QImage::Format_ARGB32);
        const double glyph = glyphLuminance(icon);
        QVERIFY2(glyph >= 0, qPrintable(action->text()));
        // Grey glyphs take the text colour; coloured icons keep their colour and read by it, with
        // less contrast in grey.
        const double needed = action == m_window->startAction() ? 0.4 : 0.2;
        QVERIFY2(std::abs(glyph - background) >= needed,
                 qPrintable(QStringLiteral("%1: icon luminance %2 on a background of %3")
                                .arg(action->text())
                                .arg(glyph)
                                .arg(background)));
    }
}

void TestPalette::timelineLabelsReadOnDarkPalette()
{
    QVERIFY(applyPalette(QStringLiteral("dark")));
    makeWindow();
    FlowRun* run = m_context->startFlow(QJsonDocument::fromJson(R"({"name": "rows", "tasks": [
        {"id": "first", "kind": "noop"}, {"id": "second", "kind": "noop", "depends_on": ["first"]},
        {"id": "third", "kind": "noop", "depends_on": ["second"]}]})")
                                            .object(),
                                        QStringLiteral("test"), {}, nullptr);
    QVERIFY(run);
    QTRY_VERIFY(run->isTerminal());
    m_context->flush();
    m_window->resize(1000, 700);
    m_window->showRun(run);
    TimelineWidget* timeline = m_window->runPage()->timeline();
    timeline->fitAll();
    QTRY_VERIFY(timeline->viewport()->height() > 100);
    const QImage image = timeline->viewport()->grab().toImage().convertToFormat(QImage::Format_ARGB32);
    const double gutter = luminance(timeline->palette().color(QPalette::Window).rgb());
    // Each row's label (the first rows, left of the plot) and the header have text pixels that
    // stand out from the gutter's background.
    const int header = 0;
    const int rows[] = {header, 1, 2, 3};
    const double dpr = image.devicePixelRatio();
    for (int row : rows) {
        int top = 0;
        int bottom = 0;
        if (row == header) {
            top = 0;
            bottom = int(16 * dpr);
        } else {
            // Rows start below the axis; find each one from the widget's own hit test.
            top = -1;
            for (int py = 0; py < timeline->viewport()->height(); ++py) {
                if (timeline->rowAt(QPoint(200, py)) == row - 1) {
                    if (top < 0)
                        top = py;
                    bottom = py;
                }
            }
            QVERIFY2(top >= 0, qPrintable(QStringLiteral("row %1 is not shown").arg(row - 1)));
            top = int(top * dpr);
            bottom = int((bottom + 1) * dpr);
        }
        int contrasting = 0;
        for (int y = top; y < std::min(bottom, image.height()); ++y) {
            for (int x = int(6 * dpr); x < int(120 * dpr); ++x)
                contrasting += std::abs(luminance(image.pixel(x, y)) - gutter) > 0.4;
        }
        QVERIFY2(contrasting > 5, qPrintable(QStringLiteral("no readable label in row %1").arg(row)));
    }
}

void TestPalette::recolouredIconsKeepTheirDetail()
{
    // On the dark palette the page list's pictures (a computer, a book) are redrawn light, in shades,
    // not as flat silhouettes that all look alike.
    QVERIFY(applyPalette(QStringLiteral("dark")));
    makeWindow();
    for (int i = 0; i < MainWindow::PageCount; ++i) {
        QAction* action = m_window->pageAction(MainWindow::Page(i));
        const QImage icon = action->icon().pixmap(32, 32).toImage().convertToFormat(QImage::Format_ARGB32);
        QSet<QRgb> shades;
        for (int y = 0; y < icon.height(); ++y) {
            for (int x = 0; x < icon.width(); ++x) {
                if (qAlpha(icon.pixel(x, y)) == 255)
                    shades.insert(icon.pixel(x, y));
            }
        }
        QVERIFY2(shades.size() >= 4,
                 qPrintable(QStringLiteral("%1: %2 shades").arg(action->text()).arg(shades.size())));
    }
}

void TestPalette::keyboardFocusIsMarked()
{
    QFETCH(QString, palette);
    QVERIFY(applyPalette(palette));
    makeWindow();
    m_window->resize(1000, 700);
    m_window->showPage(MainWindow::Page::Runs);
    QApplication::setActiveWindow(m_window.get());
    QVERIFY(QTest::qWaitForWindowActive(m_window.get()));

    // A focused table is framed in the highlight colour, all round; without focus it is not.
    QAbstractItemView* view = m_window->runsPage()->view();
    const QColor highlight = view->palette().color(QPalette::Active, QPalette::Highlight);
    view->clearFocus();
    QTRY_VERIFY(!view->hasFocus());
    const int unfocused = pixelsOf(view, highlight);
    view->setFocus(Qt::TabFocusReason);
    QTRY_VERIFY(view->hasFocus());
    const int perimeter = 2 * (view->width() + view->height());
    const int focused = pixelsOf(view, highlight);
    QVERIFY2(focused - unfocused >= 2 * perimeter - 16,
             qPrintable(QStringLiteral("%1 highlight pixels focused, %2 not, around %3")
                            .arg(focused)
                            .arg(unfocused)
                            .arg(perimeter)));

    // A button reached by Tab has a focus rectangle in the highlight colour.
    QDialog dialog(m_window.get());
    auto* first = new QPushButton(QStringLiteral("First"), &dialog);
    auto* second = new QPushButton(QStringLiteral("Second"), &dialog);
    auto* row = new QHBoxLayout(&dialog);
    row->addWidget(first);
    row->addWidget(second);
    dialog.show();
    QApplication::setActiveWindow(&dialog);
    QVERIFY(QTest::qWaitForWindowActive(&dialog));
    first->setFocus();
    const int before = pixelsOf(second, highlight);
    QTest::keyClick(&dialog, Qt::Key_Tab);
    QTRY_VERIFY(second->hasFocus());
    const int after = pixelsOf(second, highlight);
    QVERIFY2(after - before >= second->width() + second->height(),
             qPrintable(QStringLiteral("%1 highlight pixels focused, %2 not").arg(after).arg(before)));
}

FLOWDECK_GUI_TEST_MAIN(TestPalette, "tst_palette")

#include "tst_palette.moc"
