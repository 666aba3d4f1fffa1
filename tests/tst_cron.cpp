// Cron expressions and intervals against known fire times, in UTC and across the daylight-saving
// nights of Europe/Berlin and America/New_York; and every kind of bad input, named with its place.
#include "schedule/cronexpression.h"
#include "schedule/schedulespec.h"

#include <QTest>

using namespace flowdeck;

namespace {

//! An ISO 8601 time with its offset, as microseconds since the epoch.
qint64 at(const char* iso)
{
    const QDateTime t = QDateTime::fromString(QString::fromLatin1(iso), Qt::ISODate);
    Q_ASSERT(t.isValid());
    return t.toMSecsSinceEpoch() * 1000;
}

QStringList zoned(const ScheduleSpec& spec, const QList<qint64>& times)
{
    QStringList out;
    for (const qint64 us : times)
        out << isoWithOffset(spec.toZoned(us));
    return out;
}

QStringList list(std::initializer_list<const char*> items)
{
    QStringList out;
    for (const char* item : items)
        out << QString::fromLatin1(item);
    return out;
}

} // namespace

class TestCron : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void cronFireTimes_data();
    void cronFireTimes();
    void intervalFireTimes_data();
    void intervalFireTimes();
    void badInput_data();
    void badInput();
    void durations();
    void anchors();
    void neverFires();
};

void TestCron::cronFireTimes_data()
{
    QTest::addColumn<QString>("expression");
    QTest::addColumn<QString>("zone");
    QTest::addColumn<QString>("from");
    QTest::addColumn<QStringList>("expected");

    const QString utc = QStringLiteral("UTC");
    // Every field form.
    QTest::newRow("step on *") << QStringLiteral("*/15 * * * *") << utc
                               << QStringLiteral("2027-01-01T00:07:00Z")
                               << list({"2027-01-01T00:15:00+00:00", "2027-01-01T00:30:00+00:00",
                                        "2027-01-01T00:45:00+00:00", "2027-01-01T01:00:00+00:00"});
    QTest::newRow("list") << QStringLiteral("5,10 3 * * *") << utc << QStringLiteral("2027-01-01T00:00:00Z")
                          << list({"2027-01-01T03:05:00+00:00", "2027-01-01T03:10:00+00:00",
                                   "2027-01-02T03:05:00+00:00"});
    QTest::newRow("range") << QStringLiteral("0 9-11 * * *") << utc << QStringLiteral("2027-01-01T10:30:00Z")
                           << list({"2027-01-01T11:00:00+00:00", "2027-01-02T09:00:00+00:00",
                                    "2027-01-02T10:00:00+00:00"});
    QTest::newRow("range with step") << QStringLiteral("10-50/20 * * * *") << utc
                                     << QStringLiteral("2027-01-01T00:00:00Z")
                                     << list({"2027-01-01T00:10:00+00:00", "2027-01-01T00:30:00+00:00",
                                              "2027-01-01T00:50:00+00:00", "2027-01-01T01:10:00+00:00"});
    QTest::newRow("start with step") << QStringLiteral("50/5 0 * * *") << utc
                                     << QStringLiteral("2027-01-01T00:00:00Z")
                                     << list({"2027-01-01T00:50:00+00:00", "2027-01-01T00:55:00+00:00",
                                              "2027-01-02T00:50:00+00:00"});
    QTest::newRow("month names") << QStringLiteral("0 0 1 jan,JUL *") << utc
                                 << QStringLiteral("2027-02-01T00:00:00Z")
                                 << list({"2027-07-01T00:00:00+00:00", "2028-01-01T00:00:00+00:00",
                                          "2028-07-01T00:00:00+00:00"});
    QTest::newRow("weekday names") << QStringLiteral("0 12 * * Mon-fri") << utc
                                   << QStringLiteral("2027-01-01T00:00:00Z")
                                   << list({"2027-01-01T12:00:00+00:00", "2027-01-04T12:00:00+00:00",
                                            "2027-01-05T12:00:00+00:00"});
    QTest::newRow("sunday as 7") << QStringLiteral("0 0 * * 7") << utc
                                 << QStringLiteral("2027-01-01T00:00:00Z")
                                 << list({"2027-01-03T00:00:00+00:00", "2027-01-10T00:00:00+00:00"});
    QTest::newRow("sunday as 0") << QStringLiteral("0 0 * * 0") << utc
                                 << QStringLiteral("2027-01-01T00:00:00Z")
                                 << list({"2027-01-03T00:00:00+00:00", "2027-01-10T00:00:00+00:00"});
    QTest::newRow("31st") << QStringLiteral("0 0 31 * *") << utc << QStringLiteral("2027-01-01T00:00:00Z")
                          << list({"2027-01-31T00:00:00+00:00", "2027-03-31T00:00:00+00:00",
                                   "2027-05-31T00:00:00+00:00", "2027-07-31T00:00:00+00:00"});
    QTest::newRow("29 February") << QStringLiteral("0 0 29 2 *") << utc
                                 << QStringLiteral("2027-01-01T00:00:00Z")
                                 << list({"2028-02-29T00:00:00+00:00", "2032-02-29T00:00:00+00:00"});
    // Both day fields restricted: either matches (Fridays and the 13th).
    QTest::newRow("day of month OR day of week")
        << QStringLiteral("0 0 13 * fri") << utc << QStringLiteral("2027-01-01T00:00:00Z")
        << list({"2027-01-08T00:00:00+00:00", "2027-01-13T00:00:00+00:00", "2027-01-15T00:00:00+00:00",
                 "2027-01-22T00:00:00+00:00"});
    // A day-of-month field starting with "*" counts as unrestricted: both must match (cron's rule).
    QTest::newRow("star step day of month AND day of week")
        << QStringLiteral("0 0 */10 * fri") << utc << QStringLiteral("2027-01-01T00:00:00Z")
        << list({"2027-05-21T00:00:00+00:00", "2027-06-11T00:00:00+00:00", "2027-10-01T00:00:00+00:00"});
    QTest::newRow("@hourly") << QStringLiteral("@hourly") << utc << QStringLiteral("2027-01-01T00:30:00Z")
                             << list({"2027-01-01T01:00:00+00:00", "2027-01-01T02:00:00+00:00"});
    QTest::newRow("@daily") << QStringLiteral("@daily") << utc << QStringLiteral("2027-01-01T00:30:00Z")
                            << list({"2027-01-02T00:00:00+00:00", "2027-01-03T00:00:00+00:00"});
    QTest::newRow("@weekly") << QStringLiteral("@weekly") << utc << QStringLiteral("2027-01-01T00:30:00Z")
                             << list({"2027-01-03T00:00:00+00:00", "2027-01-10T00:00:00+00:00"});
    QTest::newRow("@monthly") << QStringLiteral("@monthly") << utc << QStringLiteral("2027-01-01T00:30:00Z")
                              << list({"2027-02-01T00:00:00+00:00", "2027-03-01T00:00:00+00:00"});
    QTest::newRow("strictly after a fire time")
        << QStringLiteral("0 * * * *") << utc << QStringLiteral("2027-01-01T01:00:00Z")
        << list({"2027-01-01T02:00:00+00:00"});

    // Europe/Berlin, 2027-03-28: 02:00 CET becomes 03:00 CEST; 02:30 does not exist that night.
    const QString berlin = QStringLiteral("Europe/Berlin");
    QTest::newRow("Berlin spring forward, skipped time")
        << QStringLiteral("30 2 * * *") << berlin << QStringLiteral("2027-03-27T00:00:00+01:00")
        << list({"2027-03-27T02:30:00+01:00", "2027-03-29T02:30:00+02:00", "2027-03-30T02:30:00+02:00"});
    QTest::newRow("Berlin spring forward, every 30 minutes")
        << QStringLiteral("*/30 * * * *") << berlin << QStringLiteral("2027-03-28T01:00:00+01:00")
        << list({"2027-03-28T01:30:00+01:00", "2027-03-28T03:00:00+02:00", "2027-03-28T03:30:00+02:00"});
    // 2027-10-31: 03:00 CEST becomes 02:00 CET; 02:00-02:59 happen twice and run once.
    QTest::newRow("Berlin fall back, repeated time once")
        << QStringLiteral("30 2 * * *") << berlin << QStringLiteral("2027-10-30T12:00:00+02:00")
        << list({"2027-10-31T02:30:00+02:00", "2027-11-01T02:30:00+01:00"});
    QTest::newRow("Berlin fall back, every 30 minutes")
        << QStringLiteral("*/30 * * * *") << berlin << QStringLiteral("2027-10-31T01:00:00+02:00")
        << list({"2027-10-31T01:30:00+02:00", "2027-10-31T02:00:00+02:00", "2027-10-31T02:30:00+02:00",
                 "2027-10-31T03:00:00+01:00", "2027-10-31T03:30:00+01:00"});
    QTest::newRow("Berlin fall back, from inside the repeated hour")
        << QStringLiteral("45 2 * * *") << berlin << QStringLiteral("2027-10-31T02:50:00+01:00")
        << list({"2027-11-01T02:45:00+01:00"});

    // America/New_York, 2027-03-14: 02:00 EST becomes 03:00 EDT.
    const QString newYork = QStringLiteral("America/New_York");
    QTest::newRow("New York spring forward, skipped time")
        << QStringLiteral("30 2 * * *") << newYork << QStringLiteral("2027-03-13T00:00:00-05:00")
        << list({"2027-03-13T02:30:00-05:00", "2027-03-15T02:30:00-04:00"});
    QTest::newRow("New York spring forward, hourly")
        << QStringLiteral("0 * * * *") << newYork << QStringLiteral("2027-03-14T00:30:00-05:00")
        << list({"2027-03-14T01:00:00-05:00", "2027-03-14T03:00:00-04:00", "2027-03-14T04:00:00-04:00"});
    // 2027-11-07: 02:00 EDT becomes 01:00 EST.
    QTest::newRow("New York fall back, hourly")
        << QStringLiteral("0 * * * *") << newYork << QStringLiteral("2027-11-07T00:00:00-04:00")
        << list({"2027-11-07T01:00:00-04:00", "2027-11-07T02:00:00-05:00", "2027-11-07T03:00:00-05:00"});
    QTest::newRow("New York fall back, repeated time once")
        << QStringLiteral("15 1 * * *") << newYork << QStringLiteral("2027-11-07T00:00:00-04:00")
        << list({"2027-11-07T01:15:00-04:00", "2027-11-08T01:15:00-05:00"});
    QTest::newRow("New York fall back, from the second pass")
        << QStringLiteral("15 1 * * *") << newYork << QStringLiteral("2027-11-07T01:20:00-05:00")
        << list({"2027-11-08T01:15:00-05:00"});
}

void TestCron::cronFireTimes()
{
    QFETCH(QString, expression);
    QFETCH(QString, zone);
    QFETCH(QString, from);
    QFETCH(QStringList, expected);
    ScheduleExprError error;
    const std::optional<ScheduleSpec> spec = ScheduleSpec::cron(expression, zone, &error);
    QVERIFY2(spec, qPrintable(error.message()));
    QCOMPARE(zoned(*spec, spec->nextFireTimes(at(from.toLatin1().constData()), int(expected.size()))),
             expected);
}

void TestCron::intervalFireTimes_data()
{
    QTest::addColumn<QString>("every");
    QTest::addColumn<QString>("anchor");
    QTest::addColumn<QString>("zone");
    QTest::addColumn<QString>("from");
    QTest::addColumn<QStringList>("expected");

    QTest::newRow("15m, default anchor on the quarter hours")
        << QStringLiteral("15m") << QString() << QStringLiteral("UTC")
        << QStringLiteral("2027-01-01T10:07:12Z")
        << list({"2027-01-01T10:15:00+00:00", "2027-01-01T10:30:00+00:00"});
    QTest::newRow("90s from an anchor")
        << QStringLiteral("1m30s") << QStringLiteral("2027-01-01T10:00:10") << QStringLiteral("UTC")
        << QStringLiteral("2027-01-01T10:00:00Z")
        << list({"2027-01-01T10:00:10+00:00", "2027-01-01T10:01:40+00:00", "2027-01-01T10:03:10+00:00"});
    // Hours are elapsed time: across the Berlin spring-forward night they are one real hour apart.
    QTest::newRow("1h across Berlin spring forward")
        << QStringLiteral("1h") << QStringLiteral("2027-03-28T00:00") << QStringLiteral("Europe/Berlin")
        << QStringLiteral("2027-03-28T00:00:00+01:00")
        << list({"2027-03-28T01:00:00+01:00", "2027-03-28T03:00:00+02:00", "2027-03-28T04:00:00+02:00"});
    QTest::newRow("1h across Berlin fall back")
        << QStringLiteral("1h") << QStringLiteral("2027-10-31T00:00") << QStringLiteral("Europe/Berlin")
        << QStringLiteral("2027-10-31T01:00:00+02:00")
        << list({"2027-10-31T02:00:00+02:00", "2027-10-31T02:00:00+01:00", "2027-10-31T03:00:00+01:00"});
    // Days keep the anchor's local time of day.
    QTest::newRow("1d across Berlin spring forward")
        << QStringLiteral("1d") << QStringLiteral("2027-03-26T09:00") << QStringLiteral("Europe/Berlin")
        << QStringLiteral("2027-03-27T10:00:00+01:00")
        << list({"2027-03-28T09:00:00+02:00", "2027-03-29T09:00:00+02:00"});
    QTest::newRow("1d at a skipped time")
        << QStringLiteral("1d") << QStringLiteral("2027-03-26T02:30") << QStringLiteral("Europe/Berlin")
        << QStringLiteral("2027-03-26T12:00:00+01:00")
        << list({"2027-03-27T02:30:00+01:00", "2027-03-29T02:30:00+02:00"});
    QTest::newRow("1d across New York fall back")
        << QStringLiteral("1d") << QStringLiteral("2027-11-06T12:00") << QStringLiteral("America/New_York")
        << QStringLiteral("2027-11-06T12:00:00-04:00")
        << list({"2027-11-07T12:00:00-05:00", "2027-11-08T12:00:00-05:00"});
    QTest::newRow("2d") << QStringLiteral("2d") << QStringLiteral("2027-01-01T06:00") << QStringLiteral("UTC")
                        << QStringLiteral("2027-01-04T00:00:00Z")
                        << list({"2027-01-05T06:00:00+00:00", "2027-01-07T06:00:00+00:00"});
}

void TestCron::intervalFireTimes()
{
    QFETCH(QString, every);
    QFETCH(QString, anchor);
    QFETCH(QString, zone);
    QFETCH(QString, from);
    QFETCH(QStringList, expected);
    ScheduleExprError error;
    const std::optional<qint64> duration = ScheduleSpec::parseDuration(every, &error);
    QVERIFY2(duration, qPrintable(error.message()));
    std::optional<qint64> anchorUs;
    if (!anchor.isEmpty()) {
        anchorUs = ScheduleSpec::parseAnchor(anchor, zone, &error);
        QVERIFY2(anchorUs, qPrintable(error.message()));
    }
    const std::optional<ScheduleSpec> spec = ScheduleSpec::interval(*duration, anchorUs, zone, &error);
    QVERIFY2(spec, qPrintable(error.message()));
    QCOMPARE(zoned(*spec, spec->nextFireTimes(at(from.toLatin1().constData()), int(expected.size()))),
             expected);
}

void TestCron::badInput_data()
{
    QTest::addColumn<QString>("expression");
    QTest::addColumn<QString>("zone");
    QTest::addColumn<QString>("field");
    QTest::addColumn<QString>("value");
    QTest::addColumn<int>("position");

    QTest::newRow("minute out of range")
        << QStringLiteral("61 * * * *") << QString() << QStringLiteral("minute") << QStringLiteral("61") << 0;
    QTest::newRow("hour out of range")
        << QStringLiteral("0 24 * * *") << QString() << QStringLiteral("hour") << QStringLiteral("24") << 2;
    QTest::newRow("day of month 0") << QStringLiteral("0 0 0 * *") << QString()
                                    << QStringLiteral("day of month") << QStringLiteral("0") << 4;
    QTest::newRow("month 13") << QStringLiteral("0 0 1 13 *") << QString() << QStringLiteral("month")
                              << QStringLiteral("13") << 6;
    QTest::newRow("month name") << QStringLiteral("0 0 1 foo *") << QString() << QStringLiteral("month")
                                << QStringLiteral("foo") << 6;
    QTest::newRow("day of week 8") << QStringLiteral("0 0 * * 1,8") << QString()
                                   << QStringLiteral("day of week") << QStringLiteral("8") << 10;
    QTest::newRow("step 0") << QStringLiteral("*/0 * * * *") << QString() << QStringLiteral("minute")
                            << QStringLiteral("*/0") << 0;
    QTest::newRow("backwards range") << QStringLiteral("0 5-1 * * *") << QString() << QStringLiteral("hour")
                                     << QStringLiteral("5-1") << 2;
    QTest::newRow("empty list item") << QStringLiteral("1,,2 * * * *") << QString()
                                     << QStringLiteral("minute") << QStringLiteral("1,,2") << 2;
    QTest::newRow("three fields") << QStringLiteral("* * *") << QString() << QStringLiteral("expression")
                                  << QStringLiteral("* * *") << 0;
    QTest::newRow("six fields") << QStringLiteral("0 0 * * * *") << QString() << QStringLiteral("expression")
                                << QStringLiteral("0 0 * * * *") << 0;
    QTest::newRow("unknown nickname") << QStringLiteral("@often") << QString() << QStringLiteral("expression")
                                      << QStringLiteral("@often") << 0;
    QTest::newRow("unknown zone") << QStringLiteral("0 0 * * *") << QStringLiteral("Mars/Olympus_Mons")
                                  << QStringLiteral("timezone") << QStringLiteral("Mars/Olympus_Mons") << -1;
}

void TestCron::badInput()
{
    QFETCH(QString, expression);
    QFETCH(QString, zone);
    QFETCH(QString, field);
    QFETCH(QString, value);
    QFETCH(int, position);
    ScheduleExprError error;
    QVERIFY(!ScheduleSpec::cron(expression, zone, &error));
    QCOMPARE(error.field, field);
    QCOMPARE(error.value, value);
    QCOMPARE(error.position, position);
    QVERIFY2(error.message().contains(field) && error.message().contains(u'"' + value + u'"'),
             qPrintable(error.message()));
}

void TestCron::durations()
{
    QCOMPARE(ScheduleSpec::parseDuration(QStringLiteral("30s")), 30'000'000);
    QCOMPARE(ScheduleSpec::parseDuration(QStringLiteral("15m")), 900'000'000);
    QCOMPARE(ScheduleSpec::parseDuration(QStringLiteral("2h")), qint64(7'200'000'000));
    QCOMPARE(ScheduleSpec::parseDuration(QStringLiteral("1d")), qint64(86'400'000'000));
    QCOMPARE(ScheduleSpec::parseDuration(QStringLiteral("1h30m")), qint64(5'400'000'000));
    QCOMPARE(ScheduleSpec::durationText(900'000'000), QStringLiteral("15m"));
    QCOMPARE(ScheduleSpec::durationText(5'400'000'000), QStringLiteral("1h30m"));
    for (const char* bad : {"15", "15x", "m", "", "0s", "-5m", "1.5h"}) {
        ScheduleExprError error;
        QVERIFY2(!ScheduleSpec::parseDuration(QString::fromLatin1(bad), &error), bad);
        QCOMPARE(error.field, QStringLiteral("duration"));
    }
}

void TestCron::anchors()
{
    const QString berlin = QStringLiteral("Europe/Berlin");
    QCOMPARE(ScheduleSpec::parseAnchor(QStringLiteral("2027-03-29T02:30"), berlin),
             at("2027-03-29T02:30:00+02:00"));
    QCOMPARE(ScheduleSpec::parseAnchor(QStringLiteral("2027-03-29T02:30:00-05:00"), berlin),
             at("2027-03-29T02:30:00-05:00"));
    QCOMPARE(ScheduleSpec::parseAnchor(QStringLiteral("2027-01-02"), berlin),
             at("2027-01-02T00:00:00+01:00"));
    ScheduleExprError error;
    QVERIFY(!ScheduleSpec::parseAnchor(QStringLiteral("2027-03-28T02:30"), berlin, &error));
    QCOMPARE(error.field, QStringLiteral("anchor"));
    QVERIFY(!ScheduleSpec::parseAnchor(QStringLiteral("tomorrow"), berlin, &error));
    QCOMPARE(error.value, QStringLiteral("tomorrow"));
}

void TestCron::neverFires()
{
    const std::optional<ScheduleSpec> spec
        = ScheduleSpec::cron(QStringLiteral("0 0 31 2 *"), QStringLiteral("UTC"));
    QVERIFY(spec);
    QVERIFY(!spec->nextAfter(at("2027-01-01T00:00:00Z")));
}

QTEST_GUILESS_MAIN(TestCron)
#include "tst_cron.moc"
