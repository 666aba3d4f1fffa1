// The dashboard by keyboard alone: Tab order, Enter, shortcuts, and a whole journey with key events only.
#include "help/helpdialog.h"
#include "models/concurrencymodel.h"
#include "pages/concurrencypage.h"
#include "pages/flowspage.h"
#include "pages/runpage.h"
#include "pages/runspage.h"
#include "uitestutil.h"
#include "widgets/limitseditor.h"
#include "widgets/startflowdialog.h"

#include <QAction>
#include <QFileDialog>
#include <QJsonDocument>
#include <QListWidget>
#include <QMenu>
#include <QMessageBox>
#include <QTableView>
#include <QTemporaryDir>
#include <QTest>
#include <QToolBar>
#include <QToolButton>
#include <QTreeView>

using namespace flowdeck;
using namespace flowdeck::uitest;

namespace {

//! The main window, where keys go when no window is active (offscreen, after a dialog closes,
//! nothing activates the window below it as a window manager would).
QWidget* g_mainWindow = nullptr;

//! Where a key press goes: the focused widget, else the active window.
QWidget* keyTarget()
{
    if (QWidget* focus = QApplication::focusWidget())
        return focus;
    if (QWidget* active = QApplication::activeWindow())
        return active;
    if (g_mainWindow) {
        QApplication::setActiveWindow(g_mainWindow); // as a window manager does when a dialog closes
        (void)QTest::qWaitForWindowActive(g_mainWindow);
    }
    return QApplication::focusWidget() ? QApplication::focusWidget() : g_mainWindow;
}

void press(int key, Qt::KeyboardModifiers modifiers = Qt::NoModifier)
{
    QWidget* target = keyTarget();
    QVERIFY(target);
    QTest::keyClick(target, Qt::Key(key), modifiers);
}

void type(const QString& text)
{
    QWidget* target = keyTarget();
    QVERIFY(target);
    QTest::keyClicks(target, text);
}

//! Presses Tab until \a reached holds for the focused widget (at most 60 times).
template<typename Predicate>
bool tabUntil(Predicate reached)
{
    for (int i = 0; i < 60; ++i) {
        if (QApplication::focusWidget() && reached(QApplication::focusWidget()))
            return true;
        QTest::keyClick(keyTarget(), Qt::Key_Tab);
    }
    return QApplication::focusWidget() && reached(QApplication::focusWidget());
}

bool named(QWidget* w, const char* name)
{
    return w->objectName() == QLatin1String(name);
}

} // namespace

class TestKeyboard : public QObject, public Dashboard {
    Q_OBJECT

private Q_SLOTS:
    void initTestCase() { writeFlows(); }
    void init() { makeWindow(); }
    void cleanup() { tearDown(); }

    void tabLeavesTablesAndReachesPageListAndToolbars();
    void enterOpensRunAndShortcutsAreInMenus();
    void journeyByKeyboardAlone();
};

void TestKeyboard::tabLeavesTablesAndReachesPageListAndToolbars()
{
    m_window->showPage(MainWindow::Page::Flows);
    QTableView* flows = m_window->flowsPage()->view();
    flows->setFocus();
    QTRY_VERIFY(flows->hasFocus());
    flows->setCurrentIndex(flows->model()->index(0, 0));
    const int row = flows->currentIndex().row();

    QTest::keyClick(flows, Qt::Key_Tab);
    QVERIFY2(!flows->hasFocus(), "Tab stayed in the table");
    QCOMPARE(flows->currentIndex().row(), row); // and did not move its row

    bool pageList = false;
    bool toolbarButton = false;
    for (int i = 0; i < 40; ++i) {
        QWidget* focus = QApplication::focusWidget();
        QVERIFY(focus);
        pageList |= named(focus, "pageList");
        toolbarButton |= qobject_cast<QToolButton*>(focus) && qobject_cast<QToolBar*>(focus->parentWidget());
        QTest::keyClick(focus, Qt::Key_Tab);
    }
    QVERIFY2(pageList, "the page list is not in the Tab order");
    QVERIFY2(toolbarButton, "no toolbar button is in the Tab order");

    // A page opened with its shortcut has its table under the keyboard.
    QTest::keySequence(m_window.get(), QKeySequence(Qt::CTRL | Qt::Key_2));
    QTRY_VERIFY(m_window->runsPage()->view()->hasFocus());
    QTest::keySequence(m_window.get(), QKeySequence(Qt::CTRL | Qt::Key_1));
    QTRY_VERIFY(flows->hasFocus());

    // Every table of every page lets Tab out.
    for (QAbstractItemView* view : m_window->findChildren<QAbstractItemView*>())
        QVERIFY2(!view->tabKeyNavigation(), qPrintable(view->objectName()));
}

void TestKeyboard::enterOpensRunAndShortcutsAreInMenus()
{
    FlowRun* run = m_context->startFlow(QJsonDocument::fromJson(R"({"name": "entered", "tasks": [
        {"id": "a", "kind": "noop"}]})")
                                            .object(),
                                        QStringLiteral("test"), {}, nullptr);
    QVERIFY(run);
    QTRY_VERIFY(run->isTerminal());
    m_window->showPage(MainWindow::Page::Runs);
    QTreeView* runs = m_window->runsPage()->view();
    QTRY_COMPARE(runs->model()->rowCount(), 1);
    m_window->runPage()->setFlowRun(nullptr);
    runs->setFocus();
    QTest::keyClick(runs, Qt::Key_Home);
    QTest::keyClick(runs, Qt::Key_Return);
    QCOMPARE(m_window->currentPage(), MainWindow::Page::Run);
    QCOMPARE(m_window->runPage()->flowRun(), run);

    // F1 opens the help; Shift+Del cancels the flow run the Run page shows; both are in the menus.
    QTest::keyClick(m_window.get(), Qt::Key_F1);
    auto* help = openDialog<HelpDialog>(m_window.get());
    QVERIFY(help);
    help->close();
    QCOMPARE(m_window->helpAction()->shortcut(), QKeySequence(QKeySequence::HelpContents));
    QVERIFY(!m_window->cancelFlowRunAction()->shortcut().isEmpty());
    QVERIFY(!m_window->cancelFlowRunAction()->associatedObjects().isEmpty());
    for (QAction* action : {m_window->helpAction(), m_window->cancelFlowRunAction()}) {
        bool inMenu = false;
        for (QObject* owner : action->associatedObjects())
            inMenu |= qobject_cast<QMenu*>(owner) != nullptr;
        QVERIFY2(inMenu, qPrintable(action->text()));
    }
}

void TestKeyboard::journeyByKeyboardAlone()
{
    g_mainWindow = m_window.get();
    QTemporaryDir dir;
    const QString file = dir.filePath(QStringLiteral("journey.json"));
    writeFile(file, R"({"name": "journey", "description": "Waits, to be cancelled.",
        "tasks": [{"id": "wait", "kind": "sleep", "seconds": 60, "map": 3, "tags": ["journey"]}]})");

    // Open a flow file: Ctrl+O, type its path, Enter.
    press(Qt::Key_O, Qt::ControlModifier);
    auto* files = openDialog<QFileDialog>(m_window.get());
    QVERIFY(files);
    QTRY_VERIFY(QApplication::focusWidget() && files->isAncestorOf(QApplication::focusWidget()));
    type(file);
    press(Qt::Key_Return);
    QTRY_VERIFY(m_window->flowsPage()->currentEntry()
                && m_window->flowsPage()->currentEntry()->name == QStringLiteral("journey"));

    // Start it: Ctrl+R, Enter on the Start dialog. The Run page opens on it.
    press(Qt::Key_R, Qt::ControlModifier);
    auto* start = openDialog<StartFlowDialog>(m_window.get());
    QVERIFY(start);
    QTRY_VERIFY(QApplication::activeWindow() == start);
    press(Qt::Key_Return);
    QTRY_COMPARE(m_window->currentPage(), MainWindow::Page::Run);
    FlowRun* run = m_window->runPage()->flowRun();
    QVERIFY(run);
    QCOMPARE(run->def.name, QStringLiteral("journey"));

    // Open it from the Runs page: Ctrl+2, Tab to the table, Home, Enter.
    press(Qt::Key_2, Qt::ControlModifier);
    QCOMPARE(m_window->currentPage(), MainWindow::Page::Runs);
    QVERIFY(tabUntil([](QWidget* w) { return named(w, "runsView"); }));
    QTRY_COMPARE(m_window->runsPage()->view()->model()->rowCount(), 1); // the table shows the run
    press(Qt::Key_Home);
    press(Qt::Key_Return);
    QCOMPARE(m_window->currentPage(), MainWindow::Page::Run);
    QCOMPARE(m_window->runPage()->flowRun(), run);

    // Cancel it: Shift+Del, Tab to "Cancel Run", Space.
    QTRY_VERIFY(m_window->cancelFlowRunAction()->isEnabled());
    press(Qt::Key_Delete, Qt::ShiftModifier);
    auto* confirm = openDialog<QMessageBox>(m_window->runPage());
    QVERIFY(confirm);
    QTRY_VERIFY(QApplication::activeWindow() == confirm);
    QVERIFY(tabUntil([](QWidget* w) { return named(w, "confirmButton"); }));
    press(Qt::Key_Space);
    QTRY_VERIFY_WITH_TIMEOUT(run->isTerminal(), 20000);
    QCOMPARE(toString(run->type), toString(StateType::Cancelled));

    // Change a limit: Ctrl+5, Tab to the tag field, type, Tab to the limit, type, Enter.
    press(Qt::Key_5, Qt::ControlModifier);
    QCOMPARE(m_window->currentPage(), MainWindow::Page::Concurrency);
    QVERIFY(tabUntil([](QWidget* w) { return named(w, "limitTag"); }));
    type(QStringLiteral("journey"));
    QVERIFY(tabUntil([](QWidget* w) { return named(w, "limitValue"); }));
    type(QStringLiteral("3"));
    press(Qt::Key_Return);
    ConcurrencyModel* limits = m_window->concurrencyPage()->editor()->model();
    QTRY_VERIFY_WITH_TIMEOUT(limits->rowAt(limits->rowOf(QStringLiteral("journey")))
                                 && limits->rowAt(limits->rowOf(QStringLiteral("journey")))->limit == 3,
                             20000);

    // Quit: Ctrl+Q (nothing runs any more, so nothing asks).
    press(Qt::Key_Q, Qt::ControlModifier);
    QTRY_VERIFY(!m_window->isVisible());
    g_mainWindow = nullptr;
}

FLOWDECK_GUI_TEST_MAIN(TestKeyboard, "tst_keyboard")

#include "tst_keyboard.moc"
