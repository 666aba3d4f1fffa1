// The Settings dialog: the blocking pool size, and limits set there are enforced, stored, or refused.
#include "context/appsettings.h"
#include "models/concurrencymodel.h"
#include "models/globallimitsmodel.h"
#include "pages/settingsdialog.h"
#include "run/engine.h"
#include "testutil.h"
#include "uitestutil.h"
#include "widgets/healthstrip.h"
#include "widgets/limitseditor.h"

#include <QAction>
#include <QDialogButtonBox>
#include <QJsonDocument>
#include <QLabel>
#include <QLineEdit>
#include <QPushButton>
#include <QScreen>
#include <QScrollArea>
#include <QSpinBox>
#include <QTabWidget>
#include <QTableView>
#include <QTemporaryDir>
#include <QTest>
#include <QTextDocumentFragment>

#include <algorithm>

using namespace flowdeck;
using namespace flowdeck::uitest;

namespace {

//! The most task runs of \a flow that were RUNNING at once, from the observer's transitions.
int maxRunningAtOnce(const test::RecordingObserver& recorded, const FlowRun* flow)
{
    int running = 0;
    int most = 0;
    for (const test::RecordedTransition& t : recorded.transitions) {
        if (t.flowRun != flow || !t.taskRun)
            continue;
        const bool was = !t.isNew && t.from == StateType::Running;
        const bool is = t.type == StateType::Running;
        if (is && !was)
            most = std::max(most, ++running);
        else if (was && !is)
            --running;
    }
    return most;
}

const char* TaggedFlow = R"({"name": "tagged", "tasks": [
    {"id": "work", "kind": "sleep", "seconds": 0.15, "map": 12, "tags": ["shared"]}]})";

//! The text a QLabel shows, as a user reads it (rich text rendered, plain text as is).
QString shownText(const QLabel* label)
{
    const bool rich = label->textFormat() == Qt::RichText
        || (label->textFormat() == Qt::AutoText && Qt::mightBeRichText(label->text()));
    return rich ? QTextDocumentFragment::fromHtml(label->text()).toPlainText() : label->text();
}

} // namespace

class TestSettingsDialog : public QObject, public Dashboard {
    Q_OBJECT

private Q_SLOTS:
    void initTestCase() { writeFlows(); }
    void init() { makeWindow(); }
    void cleanup() { tearDown(); }

    void settingsChangeBlockingPoolSize();
    void settingsLimitIsEnforcedAndStored();
    void invalidLimitIsRefused();
    void returnInLimitFieldsKeepsTheDialogOpen();
    void fitsSmallAndScaledScreens();
    void globalLimitsAreEditedAndStored();
};

void TestSettingsDialog::settingsChangeBlockingPoolSize()
{
    m_window->settingsAction()->trigger();
    auto* dialog = openDialog<SettingsDialog>(m_window.get());
    QVERIFY(dialog);
    QCOMPARE(dialog->blockingThreadsEditor()->value(), BlockingPool::DefaultThreads);
    dialog->blockingThreadsEditor()->setValue(7);
    dialog->loopLagThresholdEditor()->setValue(250);
    QCOMPARE(dialog->maxResultEditor()->value(), 1024); // 1 MB by default
    dialog->maxResultEditor()->setValue(64);
    QTest::mouseClick(dialog->findChild<QDialogButtonBox*>()->button(QDialogButtonBox::Ok), Qt::LeftButton);
    QTRY_VERIFY(!dialog->isVisible());
    QCOMPARE(m_context->engine().blockingPool().maxThreads(), 7);
    QCOMPARE(m_context->engine().loopMonitor().thresholdMs(), 250);
    QCOMPARE(appsettings::blockingThreads(), 7);
    QCOMPARE(m_context->engine().defaultMaxResultBytes(), 64 * 1024);
    m_window->healthStrip()->refresh();
    QVERIFY2(m_window->healthStrip()->text().contains(QStringLiteral("0/7 busy")),
             qPrintable(m_window->healthStrip()->text()));

    // A new session starts with the stored values.
    cleanup();
    makeWindow();
    QCOMPARE(m_context->engine().blockingPool().maxThreads(), 7);
    QCOMPARE(m_context->engine().loopMonitor().thresholdMs(), 250);
    QCOMPARE(m_context->engine().defaultMaxResultBytes(), 64 * 1024);
    appsettings::setBlockingThreads(BlockingPool::DefaultThreads);
    appsettings::setMaxResultBytes(Engine::DefaultMaxResultBytes);
    appsettings::setLoopLagThresholdMs(LoopMonitor::DefaultThresholdMs);
}

void TestSettingsDialog::settingsLimitIsEnforcedAndStored()
{
    QTemporaryDir dir;
    const QString db = dir.filePath(QStringLiteral("limits.db"));
    QVERIFY(openDatabase(db));

    m_window->settingsAction()->trigger();
    auto* dialog = openDialog<SettingsDialog>(m_window.get());
    QVERIFY(dialog);
    dialog->showSection(SettingsDialog::LimitsSection);
    LimitsEditor* editor = dialog->limitsEditor();
    // Add: the tag and limit fields, then Set Limit.
    editor->tagEdit()->clear();
    QTest::keyClicks(editor->tagEdit(), QStringLiteral("shared"));
    editor->limitEdit()->clear();
    QTest::keyClicks(editor->limitEdit(), QStringLiteral("1"));
    QTest::mouseClick(editor->setButton(), Qt::LeftButton);
    QTRY_COMPARE_WITH_TIMEOUT(m_context->engine().limiter().limit(QStringLiteral("shared")).value_or(-1), 1,
                              10000);
    QTRY_COMPARE_WITH_TIMEOUT(editor->model()->rowOf(QStringLiteral("shared")), 0, 5000);

    // Edit: select the row (its values fill the fields), change the limit, Set Limit.
    clickRow(editor->view(), 0);
    QCOMPARE(editor->tagEdit()->text(), QStringLiteral("shared"));
    editor->limitEdit()->selectAll();
    QTest::keyClicks(editor->limitEdit(), QStringLiteral("3"));
    QTest::mouseClick(editor->setButton(), Qt::LeftButton);
    QTRY_COMPARE_WITH_TIMEOUT(m_context->engine().limiter().limit(QStringLiteral("shared")).value_or(-1), 3,
                              10000);
    QVERIFY(editor->messageLabel()->isVisible());
    QVERIFY2(editor->messageLabel()->text().contains(QStringLiteral("set to 3")),
             qPrintable(editor->messageLabel()->text()));
    QTest::mouseClick(dialog->findChild<QDialogButtonBox*>()->button(QDialogButtonBox::Ok), Qt::LeftButton);
    QTRY_VERIFY(!dialog->isVisible());

    // The limiter enforces the new value: at most 3 of the 12 tagged task runs at once, and 3 is
    // reached (the old value, 1, would keep it at 1).
    test::RecordingObserver recorded;
    m_context->engine().addObserver(&recorded);
    FlowRun* run = m_context->startFlow(QJsonDocument::fromJson(TaggedFlow).object(), QStringLiteral("test"),
                                        {}, nullptr);
    QVERIFY(run);
    QTRY_VERIFY_WITH_TIMEOUT(run->isTerminal(), 30000);
    m_context->engine().removeObserver(&recorded);
    QCOMPARE(toString(run->type), toString(StateType::Completed));
    QCOMPARE(maxRunningAtOnce(recorded, run), 3);

    // The store holds it after a restart: read by a pool of its own, and by a new session.
    cleanup();
    const QList<LimitRow> stored = storedLimits(db);
    QCOMPARE(stored.size(), 1);
    QCOMPARE(stored.first().tag, QStringLiteral("shared"));
    QCOMPARE(stored.first().limit, 3);
    makeWindow();
    QVERIFY(openDatabase(db));
    QTRY_COMPARE_WITH_TIMEOUT(m_context->engine().limiter().limit(QStringLiteral("shared")).value_or(-1), 3,
                              10000);
}

void TestSettingsDialog::invalidLimitIsRefused()
{
    QTemporaryDir dir;
    const QString db = dir.filePath(QStringLiteral("invalid.db"));
    QVERIFY(openDatabase(db));
    m_window->settingsAction()->trigger();
    auto* dialog = openDialog<SettingsDialog>(m_window.get());
    QVERIFY(dialog);
    dialog->showSection(SettingsDialog::LimitsSection);
    LimitsEditor* editor = dialog->limitsEditor();
    const struct {
        QString tag;
        QString limit;
        QString says;
    } cases[] = {
        {QStringLiteral("bad tag"), QStringLiteral("2"), QStringLiteral("whitespace")},
        {QString(), QStringLiteral("2"), QStringLiteral("empty")},
        {QStringLiteral("a,b"), QStringLiteral("2"), QStringLiteral("comma")},
        {QStringLiteral("ok"), QStringLiteral("-1"), QStringLiteral("non-negative integer")},
        {QStringLiteral("ok"), QStringLiteral("2.5"), QStringLiteral("non-negative integer")},
        {QStringLiteral("ok"), QStringLiteral("many"), QStringLiteral("non-negative integer")},
    };
    for (const auto& c : cases) {
        editor->tagEdit()->setText(c.tag);
        editor->limitEdit()->setText(c.limit);
        QTest::mouseClick(editor->setButton(), Qt::LeftButton);
        QVERIFY2(editor->messageLabel()->isVisible(), qPrintable(c.tag));
        QVERIFY2(editor->messageLabel()->text().contains(c.says), qPrintable(editor->messageLabel()->text()));
    }
    // In place: the limit cell refuses a negative value the same way.
    QVERIFY(m_context->limits().setLimit(QStringLiteral("real"), 2));
    QTRY_COMPARE_WITH_TIMEOUT(editor->model()->rowOf(QStringLiteral("real")), 0, 10000);
    const QModelIndex cell = editor->model()->index(0, ConcurrencyModel::LimitColumn);
    QVERIFY(!editor->model()->setData(cell, QStringLiteral("-4")));
    QVERIFY(editor->messageLabel()->text().contains(QStringLiteral("non-negative integer")));

    // Nothing changed: one limit, still 2, in the limiter, the table and the store.
    QTest::qWait(1200); // two store polls: a write, had there been one, would show
    QCOMPARE(editor->model()->rowCount(), 1);
    QCOMPARE(m_context->engine().limiter().usage().size(), 1);
    QCOMPARE(m_context->engine().limiter().limit(QStringLiteral("real")).value_or(-1), 2);
    const QList<LimitRow> stored = storedLimits(db);
    QCOMPARE(stored.size(), 1);
    QCOMPARE(stored.first().limit, 2);
    dialog->reject();
}

void TestSettingsDialog::returnInLimitFieldsKeepsTheDialogOpen()
{
    QTemporaryDir dir;
    QVERIFY(openDatabase(dir.filePath(QStringLiteral("return.db"))));
    m_window->settingsAction()->trigger();
    auto* dialog = openDialog<SettingsDialog>(m_window.get());
    QVERIFY(dialog);
    dialog->showSection(SettingsDialog::LimitsSection);
    LimitsEditor* editor = dialog->limitsEditor();

    // Return with a refused limit: the dialog stays, and says why.
    editor->tagEdit()->setText(QStringLiteral("shared"));
    editor->limitEdit()->setText(QStringLiteral("abc"));
    editor->limitEdit()->setFocus();
    QTest::keyClick(editor->limitEdit(), Qt::Key_Return);
    QTest::qWait(100); // a close, had there been one, is delivered by now
    QVERIFY(dialog->isVisible());
    QVERIFY(editor->messageLabel()->isVisible());
    QVERIFY2(shownText(editor->messageLabel()).contains(QStringLiteral("must be a non-negative integer")),
             qPrintable(editor->messageLabel()->text()));

    // Too large: the refusal names the maximum.
    editor->limitEdit()->setText(QStringLiteral("99999999999"));
    QTest::keyClick(editor->limitEdit(), Qt::Key_Return);
    QVERIFY(dialog->isVisible());
    QVERIFY2(shownText(editor->messageLabel()).contains(QStringLiteral("the maximum is 2147483647")),
             qPrintable(editor->messageLabel()->text()));

    // Return with a valid limit sets it, keeps the dialog open, and reads as plain words.
    editor->limitEdit()->setText(QStringLiteral("10"));
    QTest::keyClick(editor->limitEdit(), Qt::Key_Return);
    QTRY_COMPARE_WITH_TIMEOUT(m_context->engine().limiter().limit(QStringLiteral("shared")).value_or(-1), 10,
                              10000);
    QVERIFY(dialog->isVisible());
    const QString shown = shownText(editor->messageLabel());
    QVERIFY2(shown.contains(QStringLiteral("Limit of tag \"shared\" set to 10")), qPrintable(shown));
    QVERIFY2(!shown.contains(QStringLiteral("&quot;")), qPrintable(shown));
    dialog->reject();
}

void TestSettingsDialog::fitsSmallAndScaledScreens()
{
    // A 900x600 screen at QT_SCALE_FACTOR=2 has 450x300 logical pixels, less a title bar: the dialog
    // opens within that room, its sections scroll, and OK / Apply / Cancel stay in view.
    const QSize screen(450, 300);
    m_window->settingsAction()->trigger();
    auto* dialog = openDialog<SettingsDialog>(m_window.get());
    QVERIFY(dialog);
    // As opened on this (offscreen) screen: within its room.
    const QSize available = dialog->screen()->availableGeometry().size();
    QVERIFY2(dialog->width() <= available.width() && dialog->height() <= available.height(),
             qPrintable(QStringLiteral("%1x%2 on %3x%4")
                            .arg(dialog->width())
                            .arg(dialog->height())
                            .arg(available.width())
                            .arg(available.height())));
    dialog->fitTo(screen);
    QTest::qWait(0);
    QVERIFY2(dialog->width() <= screen.width() && dialog->height() <= screen.height() - 40,
             qPrintable(QStringLiteral("%1x%2").arg(dialog->width()).arg(dialog->height())));
    auto* buttons = dialog->findChild<QDialogButtonBox*>();
    QVERIFY(buttons);
    for (QAbstractButton* button : buttons->buttons()) {
        const QRect inDialog(button->mapTo(dialog, QPoint(0, 0)), button->size());
        QVERIFY2(button->isVisible() && dialog->rect().contains(inDialog), qPrintable(button->text()));
    }
    // Every section can be reached and scrolls to its last control.
    for (int i = 0; i < SettingsDialog::SectionCount; ++i) {
        dialog->showSection(SettingsDialog::Section(i));
        QTest::qWait(0);
        auto* area = qobject_cast<QScrollArea*>(dialog->sections()->currentWidget());
        QVERIFY2(area && area->widget(), qPrintable(dialog->sections()->tabText(i)));
        const QRect shown(area->mapTo(dialog, QPoint(0, 0)), area->size());
        QVERIFY2(dialog->rect().contains(shown), qPrintable(dialog->sections()->tabText(i)));
        QVERIFY(area->widget()->height() >= area->widget()->minimumSizeHint().height());
    }
    // The limit field, squeezed beside the tag, still shows what it is for.
    dialog->showSection(SettingsDialog::LimitsSection);
    QTest::qWait(0);
    auto* limit = dialog->findChild<QLineEdit*>(QStringLiteral("limitValue"));
    QVERIFY(limit);
    QVERIFY2(limit->width() >= limit->fontMetrics().horizontalAdvance(limit->placeholderText()) + 12,
             qPrintable(QString::number(limit->width())));
    dialog->reject();
}

void TestSettingsDialog::globalLimitsAreEditedAndStored()
{
    QTemporaryDir dir;
    QVERIFY(openDatabase(dir.filePath(QStringLiteral("global.db"))));
    m_window->settingsAction()->trigger();
    auto* dialog = openDialog<SettingsDialog>(m_window.get());
    QVERIFY(dialog);
    dialog->showSection(SettingsDialog::LimitsSection);
    GlobalLimitsModel* model = dialog->globalModel();
    ConcurrencyLimiter& limiter = m_context->engine().limiter();

    // Added with the form; a bad decay is refused with its reason and nothing is written.
    dialog->globalNameEdit()->setText(QStringLiteral("api"));
    dialog->globalLimitEdit()->setText(QStringLiteral("5"));
    dialog->globalDecayEdit()->setText(QStringLiteral("-1"));
    QTest::mouseClick(dialog->globalAddButton(), Qt::LeftButton);
    QVERIFY2(dialog->globalMessage()->text().contains(QStringLiteral("Decay \"-1\"")),
             qPrintable(dialog->globalMessage()->text()));
    QCOMPARE(model->rowCount(), 0);
    // Return in a field adds it, and the dialog stays open.
    dialog->globalDecayEdit()->setText(QStringLiteral("0.5"));
    dialog->globalDecayEdit()->setFocus();
    QTest::keyClick(dialog->globalDecayEdit(), Qt::Key_Return);
    QVERIFY(dialog->isVisible());
    QTRY_VERIFY_WITH_TIMEOUT(limiter.globalLimit(QStringLiteral("api")).has_value(), 10000);
    QCOMPARE(limiter.globalLimit(QStringLiteral("api"))->limit, 5);
    QCOMPARE(limiter.globalLimit(QStringLiteral("api"))->slotDecayPerSecond, 0.5);
    QTRY_COMPARE_WITH_TIMEOUT(model->rowOf(QStringLiteral("api")), 0, 10000);

    // Changed in place: refused when not an integer, taken otherwise.
    QVERIFY(!model->setData(model->index(0, GlobalLimitsModel::LimitColumn), QStringLiteral("many")));
    QVERIFY(dialog->globalMessage()->text().contains(QStringLiteral("integer")));
    QVERIFY(model->setData(model->index(0, GlobalLimitsModel::LimitColumn), 9));
    QTRY_COMPARE_WITH_TIMEOUT(limiter.globalLimit(QStringLiteral("api"))->limit, 9, 10000);

    // Deleted with the selected row.
    dialog->globalView()->setCurrentIndex(model->index(0, 0));
    QTRY_VERIFY(dialog->globalDeleteButton()->isEnabled());
    QTest::mouseClick(dialog->globalDeleteButton(), Qt::LeftButton);
    QTRY_VERIFY_WITH_TIMEOUT(!limiter.globalLimit(QStringLiteral("api")), 10000);
    QTRY_COMPARE(model->rowCount(), 0);
    dialog->reject();
}

FLOWDECK_GUI_TEST_MAIN(TestSettingsDialog, "tst_settingsdialog")
#include "tst_settingsdialog.moc"
