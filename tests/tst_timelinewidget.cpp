// The Run page's timeline: a large run is drawn aggregated.
#include "pages/runpage.h"
#include "uitestutil.h"
#include "widgets/timelinewidget.h"

#include <QElapsedTimer>
#include <QImage>
#include <QJsonDocument>
#include <QTest>
#include <QToolButton>

using namespace flowdeck;
using namespace flowdeck::uitest;

namespace {

int qSaturation(QRgb rgb)
{
    return QColor(rgb).hsvSaturation();
}

} // namespace

class TestTimelineWidget : public QObject, public Dashboard {
    Q_OBJECT

private Q_SLOTS:
    void initTestCase() { writeFlows(); }
    void init() { makeWindow(); }
    void cleanup() { tearDown(); }

    void timelineAggregatesLargeRuns();
    void everyTaskKeepsItsLabelInShortRows();
};

void TestTimelineWidget::timelineAggregatesLargeRuns()
{
    FlowRun* run = m_context->startFlow(QJsonDocument::fromJson(R"({"name": "many", "tasks": [
        {"id": "a", "kind": "noop", "map": 20000},
        {"id": "b", "kind": "sleep", "seconds": [0, 0.2], "map_over": "a"}]})")
                                            .object(),
                                        QStringLiteral("test"), {}, nullptr);
    QVERIFY(run);
    m_window->showRun(run);
    TimelineWidget* timeline = m_window->runPage()->timeline();
    QTRY_VERIFY_WITH_TIMEOUT(run->isTerminal(), 20000);
    m_context->flush();
    timeline->fitAll();
    QVERIFY(timeline->isAggregated()); // 40,000 rows, a few hundred pixels
    QElapsedTimer paint;
    paint.start();
    QImage image = timeline->viewport()->grab().toImage();
    const qint64 ms = paint.elapsed();
    qInfo("aggregated timeline of %lld task runs painted in %lld ms", run->totalTaskRuns, ms);
    QVERIFY(!image.isNull());
    // Coloured pixels: completed (green) and pending (grey) state density is drawn.
    // Every pixel right of the labels (a sparse sample missed the thin bars when the run was short).
    auto colouredPixels = [](const QImage& grabbed) {
        int coloured = 0;
        for (int y = 0; y < grabbed.height(); ++y) {
            for (int x = 160; x < grabbed.width(); ++x)
                coloured += qAlpha(grabbed.pixel(x, y)) == 255 && qSaturation(grabbed.pixel(x, y)) > 60;
        }
        return coloured;
    };
    // The aggregated image is computed in slices from a zero timer after the paint that needs it (never
    // inside paintEvent): on a loaded machine the first paints may still show the previous image.
    QTRY_VERIFY2_WITH_TIMEOUT(
        colouredPixels(image = timeline->viewport()->grab().toImage()) > 0,
        qPrintable(
            QStringLiteral("no state colour in a %1x%2 timeline").arg(image.width()).arg(image.height())),
        10000);

    const double before = timeline->pixelsPerSecond();
    QTest::mouseClick(m_window->runPage()->findChild<QToolButton*>(QStringLiteral("zoomIn")), Qt::LeftButton);
    QVERIFY(timeline->pixelsPerSecond() > before);
    QWheelEvent wheel(QPointF(300, 100), timeline->viewport()->mapToGlobal(QPointF(300, 100)), {},
                      QPoint(0, 120), Qt::NoButton, Qt::ControlModifier, Qt::NoScrollPhase, false);
    QApplication::sendEvent(timeline->viewport(), &wheel);
    QVERIFY(timeline->pixelsPerSecond() > before * 1.4);
    timeline->zoomRowsIn();
    timeline->zoomRowsIn();
    timeline->fitAll();
    QCOMPARE(timeline->pixelsPerSecond(), before);
}

void TestTimelineWidget::everyTaskKeepsItsLabelInShortRows()
{
    // The shape of etl-demo: one-run tasks next to each other, around a mapped one.
    FlowRun* run = m_context->startFlow(QJsonDocument::fromJson(R"({"name": "etl", "tasks": [
        {"id": "prepare", "kind": "noop"},
        {"id": "extract", "kind": "noop", "depends_on": ["prepare"]},
        {"id": "transform", "kind": "noop", "map": 8, "depends_on": ["extract"]},
        {"id": "load", "kind": "noop", "depends_on": ["transform"]},
        {"id": "report", "kind": "noop", "depends_on": ["load"]}]})")
                                            .object(),
                                        QStringLiteral("test"), {}, nullptr);
    QVERIFY(run);
    QTRY_VERIFY(run->isTerminal());
    m_context->flush();
    m_window->showRun(run);
    TimelineWidget* timeline = m_window->runPage()->timeline();
    // A small window (900x500): the timeline fits its 12 rows into less than 12 lines of text, one
    // label per task instead of one per task run.
    m_window->resize(900, 500);
    QTRY_VERIFY(timeline->viewport()->height() < 12 * timeline->fontMetrics().height());
    timeline->fitAll();
    const QStringList labels = timeline->rowLabels();
    QVERIFY2(labels.size() < 12, qPrintable(labels.join(QStringLiteral(", "))));
    for (const char* task : {"prepare", "extract", "transform (8)", "load", "report"})
        QVERIFY2(labels.contains(QString::fromLatin1(task)),
                 qPrintable(QStringLiteral("no label for %1 in: %2")
                                .arg(QString::fromLatin1(task), labels.join(QStringLiteral(", ")))));
    QVERIFY(!timeline->viewport()->grab().isNull());
}

FLOWDECK_GUI_TEST_MAIN(TestTimelineWidget, "tst_timelinewidget")

#include "tst_timelinewidget.moc"
