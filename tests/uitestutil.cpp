#include "uitestutil.h"

#include "context/flowlibrary.h"
#include "models/flowlistmodel.h"
#include "pages/flowspage.h"
#include "store/connectionpool.h"
#include "store/databaseurl.h"

#include <QAbstractItemView>
#include <QCoro/QCoroTask>
#include <QJsonDocument>
#include <QSqlQuery>
#include <QToolBar>
#include <QToolButton>

namespace flowdeck::uitest {

void writeFile(const QString& path, const QByteArray& text)
{
    QFile file(path);
    if (!file.open(QIODevice::WriteOnly | QIODevice::Truncate))
        qFatal("cannot write %s", qPrintable(path));
    file.write(text);
}

QToolButton* buttonFor(QWidget* page, QAction* action)
{
    for (QToolBar* bar : page->findChildren<QToolBar*>()) {
        if (auto* button = qobject_cast<QToolButton*>(bar->widgetForAction(action)))
            return button;
    }
    return nullptr;
}

void clickRow(QAbstractItemView* view, int row)
{
    const QModelIndex index = view->model()->index(row, 0);
    view->scrollTo(index);
    QTest::mouseClick(view->viewport(), Qt::LeftButton, {}, view->visualRect(index).center());
}

StoredRun storedRun(ConnectionPool& pool, const QString& flowName)
{
    auto reading = pool.run([flowName](QSqlDatabase& db) {
        QSqlQuery q(db);
        q.prepare(QStringLiteral("SELECT state, worker, document FROM flow_runs WHERE flow_name = ? "
                                 "ORDER BY created_at DESC LIMIT 1"));
        q.addBindValue(flowName);
        StoredRun r;
        if (q.exec() && q.next()) {
            r.state = q.value(0).toString();
            r.worker = q.value(1).toString();
            r.document = QJsonDocument::fromJson(q.value(2).toString().toUtf8()).object();
        }
        return r;
    });
    return QCoro::waitFor(reading);
}

void Dashboard::writeFlows()
{
    m_flows = flowlibrary::userFlowFolder();
    writeFile(m_flows + QStringLiteral("/quick.json"), R"({"name": "quick", "description": "A short flow.",
        "tasks": [{"id": "nap", "kind": "sleep", "seconds": 0.1}, {"id": "done", "kind": "noop", "depends_on": ["nap"]}]})");
    writeFile(m_flows + QStringLiteral("/slow.json"), R"({"name": "slow", "description": "Sleeps for 30 s.",
        "tasks": [{"id": "wait", "kind": "sleep", "seconds": 30, "map": 3}]})");
    writeFile(m_flows + QStringLiteral("/params.json"), R"({"name": "params",
        "parameters": {"n": 3, "delay": 0.05, "label": "x", "loud": false, "extra": [1, 2]},
        "tasks": [{"id": "work", "kind": "sleep", "seconds": "{{delay}}", "map": "{{n}}"}]})");
    writeFile(m_flows + QStringLiteral("/invalid.json"), R"({"name": "invalid",
        "tasks": [{"id": "load", "kind": "noop", "depends_on": ["lod"]}]})");
    writeFile(m_flows + QStringLiteral("/failing.json"), R"({"name": "failing",
        "tasks": [{"id": "boom", "kind": "fail", "message": "disk on fire"}]})");
}

void Dashboard::tearDown()
{
    if (m_context) {
        m_context->cancelAllAndWait(10000);
        m_context->database().closeAndWait(10000);
    }
    m_window.reset();
    m_context.reset();
}

bool Dashboard::openDatabase(const QString& path)
{
    if (!m_context->database().open(path))
        return false;
    return QTest::qWaitFor([&] { return m_context->database().state() != DatabaseState::Opening; }, 20000)
        && m_context->database().state() == DatabaseState::Open;
}

QList<LimitRow> Dashboard::storedLimits(const QString& path)
{
    QString error;
    const auto url = DatabaseUrl::parse(path, &error);
    if (!url)
        qFatal("%s", qPrintable(error));
    ConnectionPool pool(*url);
    auto reading = pool.run([](QSqlDatabase& db) { return listLimits(db); });
    return QCoro::waitFor(reading);
}

void Dashboard::makeWindow()
{
    m_context = std::make_unique<AppContext>();
    m_window = std::make_unique<MainWindow>(m_context.get(), MainWindow::Options{false});
    m_window->show();
    QApplication::setActiveWindow(m_window.get());
    QVERIFY(QTest::qWaitForWindowActive(m_window.get()));
    QTRY_COMPARE(m_window->flowsPage()->model()->pendingLoads(), 0);
}

int Dashboard::rowOf(const QString& fileName) const
{
    return m_window->flowsPage()->model()->rowOfSource(m_flows + QLatin1Char('/') + fileName);
}

FlowRun* Dashboard::startFile(const QString& fileName, const QJsonObject& overrides)
{
    const FlowEntry* entry = m_window->flowsPage()->model()->entryAt(rowOf(fileName));
    return entry ? m_context->startFlow(entry->document, entry->source, overrides, nullptr) : nullptr;
}

} // namespace flowdeck::uitest
