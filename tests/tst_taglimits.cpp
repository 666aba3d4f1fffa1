// Tag limits as the dashboard edits them: validation of what is typed, the limiter alone without a
// database, and the store (then read back by another process) with one; what the stored tag and
// global limits say of a limit that is not there.
#include "context/appcontext.h"
#include "context/globallimits.h"
#include "context/taglimits.h"
#include "run/concurrencylimiter.h"
#include "run/engine.h"
#include "store/connectionpool.h"
#include "store/databaseurl.h"
#include "uitestutil.h"

#include <QCoro/QCoroTask>
#include <QSignalSpy>
#include <QTemporaryDir>
#include <QTest>

using namespace flowdeck;

class TestTagLimits : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void validateLimitSaysWhy();
    void withoutDatabaseTheLimiterOnly();
    void withDatabaseTheStore();
    void withDatabaseWhatIsNotThereIsSaid();
};

void TestTagLimits::validateLimitSaysWhy()
{
    int value = -1;
    QCOMPARE(TagLimits::validateLimit(QStringLiteral("gpu"), QStringLiteral(" 3 "), &value), QString());
    QCOMPARE(value, 3);
    QVERIFY(TagLimits::validateLimit(QStringLiteral("two words"), QStringLiteral("1"))
                .startsWith(QStringLiteral("Tag")));
    QVERIFY(TagLimits::validateLimit(QString(), QStringLiteral("1")).startsWith(QStringLiteral("Tag")));
    // Digits only: what a number parser would bend into another value is refused too.
    for (const QString& bad : {QStringLiteral("-1"), QStringLiteral("x"), QStringLiteral("1e9"),
                               QStringLiteral("+3"), QStringLiteral("0x10"), QStringLiteral("")})
        QVERIFY2(
            TagLimits::validateLimit(QStringLiteral("gpu"), bad).contains(QStringLiteral("non-negative")),
            qPrintable(bad));
    // Too large: the refusal names the maximum.
    QVERIFY(TagLimits::validateLimit(QStringLiteral("gpu"), QStringLiteral("99999999999"))
                .contains(QStringLiteral("maximum is 2147483647")));
    QCOMPARE(TagLimits::validateLimit(QStringLiteral("gpu"), QStringLiteral("2147483647"), &value),
             QString());
    QCOMPARE(value, 2147483647);
}

void TestTagLimits::withoutDatabaseTheLimiterOnly()
{
    AppContext context;
    TagLimits& limits = context.limits();
    QSignalSpy changed(&limits, &TagLimits::changed);
    QVERIFY(limits.setLimit(QStringLiteral("gpu"), 2));
    QVERIFY(!limits.setLimit(QStringLiteral("two words"), 2));
    QVERIFY(!limits.setLimit(QStringLiteral("gpu"), -1));
    QCOMPARE(changed.count(), 1);
    QCOMPARE(context.engine().limiter().limit(QStringLiteral("gpu")).value_or(-1), 2);
    const QList<TagRow> rows = limits.rows();
    QCOMPARE(rows.size(), 1);
    QCOMPARE(rows.first().tag, QStringLiteral("gpu"));
    QCOMPARE(rows.first().limit, 2);
    QVERIFY(limits.removeLimit(QStringLiteral("gpu")));
    QCOMPARE(changed.count(), 2);
    QVERIFY(limits.rows().isEmpty());
}

void TestTagLimits::withDatabaseTheStore()
{
    QTemporaryDir dir;
    const QString path = dir.filePath(QStringLiteral("limits.db"));
    AppContext context;
    QVERIFY(context.database().open(path));
    QTRY_COMPARE_WITH_TIMEOUT(int(context.database().state()), int(DatabaseState::Open), 20000);
    TagLimits& limits = context.limits();
    QSignalSpy changed(&limits, &TagLimits::changed);
    QVERIFY(limits.setLimit(QStringLiteral("net"), 4));
    QTRY_VERIFY(changed.count() >= 1);
    QTRY_COMPARE(context.engine().limiter().limit(QStringLiteral("net")).value_or(-1), 4);

    // As another process reads it.
    ConnectionPool other(*DatabaseUrl::parse(path, nullptr));
    auto reading = other.run([](QSqlDatabase& db) { return listLimits(db); });
    const QList<LimitRow> stored = QCoro::waitFor(reading);
    QCOMPARE(stored.size(), 1);
    QCOMPARE(stored.first().tag, QStringLiteral("net"));
    QCOMPARE(stored.first().limit, 4);

    QSignalSpy inspected(&limits, &TagLimits::inspected);
    limits.inspect(QStringLiteral("net"));
    QTRY_COMPARE(inspected.count(), 1);
    QCOMPARE(inspected.first().at(0).toString(), QStringLiteral("net"));
    QVERIFY(context.database().closeAndWait(10000));
}

// The messages follow the store's answer to each write; the limiter follows the store.
void TestTagLimits::withDatabaseWhatIsNotThereIsSaid()
{
    QTemporaryDir dir;
    AppContext context;
    QVERIFY(context.database().open(dir.filePath(QStringLiteral("messages.db"))));
    QTRY_COMPARE_WITH_TIMEOUT(int(context.database().state()), int(DatabaseState::Open), 20000);

    TagLimits& tags = context.limits();
    QSignalSpy tagMessages(&tags, &TagLimits::message);
    QSignalSpy resets(&tags, &TagLimits::wasReset);
    QVERIFY(tags.removeLimit(QStringLiteral("nothing")));
    QTRY_COMPARE(tagMessages.count(), 1);
    QCOMPARE(tagMessages.at(0).at(0).toString(), QStringLiteral("Tag \"nothing\" has no limit"));
    QVERIFY(tags.reset(QStringLiteral("nothing")));
    QTRY_COMPARE(resets.count(), 1);
    QCOMPARE(resets.at(0).at(1).toInt(), -1);
    QCOMPARE(tagMessages.count(), 2);
    QCOMPARE(tagMessages.at(1).at(0).toString(), QStringLiteral("Tag \"nothing\" has no limit"));

    GlobalLimits& global = context.globalLimits();
    QSignalSpy globalMessages(&global, &GlobalLimits::message);
    GlobalLimitChange change;
    change.limit = 2;
    QVERIFY(global.write(QStringLiteral("g"), change, true));
    QTRY_VERIFY_WITH_TIMEOUT(context.engine().limiter().globalLimit(QStringLiteral("g")), 10000);
    QTRY_COMPARE(global.rows().size(), 1);
    QCOMPARE(global.rows().first().limit, 2);
    QVERIFY(global.write(QStringLiteral("g"), change, true));
    QTRY_COMPARE(globalMessages.count(), 1);
    QCOMPARE(globalMessages.at(0).at(0).toString(), QStringLiteral("Global limit \"g\" exists already"));
    QVERIFY(global.reset(QStringLiteral("g")));
    QTRY_COMPARE(globalMessages.count(), 2);
    QCOMPARE(globalMessages.at(1).at(0).toString(),
             QStringLiteral("Freed 0 slot row(s) of global limit \"g\""));
    QVERIFY(global.remove(QStringLiteral("g")));
    QTRY_VERIFY_WITH_TIMEOUT(!context.engine().limiter().globalLimit(QStringLiteral("g")), 10000);
    QTRY_VERIFY(global.rows().isEmpty());
    QVERIFY(global.remove(QStringLiteral("g")));
    QTRY_COMPARE(globalMessages.count(), 3);
    QCOMPARE(globalMessages.at(2).at(0).toString(), QStringLiteral("There is no global limit \"g\""));
    QVERIFY(context.database().closeAndWait(10000));
}

FLOWDECK_GUI_TEST_MAIN(TestTagLimits, "tst_taglimits")

#include "tst_taglimits.moc"
