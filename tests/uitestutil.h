#pragma once

// What the dashboard's GUI tests share: a window over a fresh AppContext with a few flow files, the
// clicks a user makes, and reads of the run store as another process would do them.

#include "context/appcontext.h"
#include "mainwindow.h"
#include "store/limitqueries.h"

#include <QApplication>
#include <QFile>
#include <QJsonObject>
#include <QList>
#include <QString>
#include <QTemporaryDir>
#include <QTest>

#include <memory>

class QAbstractItemView;
class QAction;
class QToolButton;
class QWidget;

namespace flowdeck {
class ConnectionPool;
} // namespace flowdeck

namespace flowdeck::uitest {

void writeFile(const QString& path, const QByteArray& text);
//! The tool button a toolbar shows for \a action, to click it like a user.
QToolButton* buttonFor(QWidget* page, QAction* action);
//! Clicks the first cell of top-level \a row, scrolled into view.
void clickRow(QAbstractItemView* view, int row);

//! The visible dialog of type T under \a parent, once one shows (else null after a few seconds).
template<typename T>
T* openDialog(QWidget* parent)
{
    T* found = nullptr;
    (void)QTest::qWaitFor([&] {
        for (T* dialog : parent->findChildren<T*>()) {
            if (dialog->isVisible())
                found = dialog;
        }
        return found != nullptr;
    });
    return found;
}

//! The newest stored flow run of a flow, read through \a pool.
struct StoredRun {
    QString state;
    QString worker;
    QJsonObject document;
};
StoredRun storedRun(ConnectionPool& pool, const QString& flowName);

/**
 * The dashboard as a user sees it: flow files quick, slow, params, invalid and failing in the user's
 * flow folder (writeFlows(), once), and per test a new context and main window (makeWindow()),
 * cancelled and closed by tearDown().
 */
class Dashboard {
protected:
    void writeFlows();
    void makeWindow();
    void tearDown();
    //! Opens the run store at \a path in the current context and waits until it is open.
    bool openDatabase(const QString& path);
    //! Reads the stored limits with a pool of its own, as another process would.
    static QList<LimitRow> storedLimits(const QString& path);
    //! Row of the Flows page's model for a file of the user's flow folder.
    int rowOf(const QString& fileName) const;
    //! Starts the flow of \a fileName in the user's flow folder, with parameter \a overrides.
    FlowRun* startFile(const QString& fileName, const QJsonObject& overrides = {});

    QString m_flows;
    std::unique_ptr<AppContext> m_context;
    std::unique_ptr<MainWindow> m_window;
};

//! Headless and with a private settings and data folder, before QApplication reads either; then
//! runs \a T's test functions.
template<typename T>
int runGuiTest(int argc, char** argv, const char* name)
{
    if (qEnvironmentVariableIsEmpty("QT_QPA_PLATFORM"))
        qputenv("QT_QPA_PLATFORM", "offscreen");
    QTemporaryDir home;
    qputenv("XDG_CONFIG_HOME", QFile::encodeName(home.filePath(QStringLiteral("config"))));
    qputenv("XDG_DATA_HOME", QFile::encodeName(home.filePath(QStringLiteral("data"))));
    QApplication app(argc, argv);
    QApplication::setOrganizationName(QStringLiteral("FlowdeckTest"));
    QApplication::setApplicationName(QString::fromLatin1(name));
    T test;
    return QTest::qExec(&test, argc, argv);
}

} // namespace flowdeck::uitest

//! main() of a GUI test: FLOWDECK_GUI_TEST_MAIN(TestRunsPage, "tst_runspage").
#define FLOWDECK_GUI_TEST_MAIN(TestClass, name)                                                              \
    int main(int argc, char** argv)                                                                          \
    {                                                                                                        \
        QTEST_SET_MAIN_SOURCE_PATH                                                                           \
        return flowdeck::uitest::runGuiTest<TestClass>(argc, argv, name);                                    \
    }
