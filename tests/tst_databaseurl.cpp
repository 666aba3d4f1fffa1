// DatabaseUrl: SQLite paths, PostgreSQL URLs, one-line errors, redaction and the --db/FLOWDECK_DB choice.
#include "store/databaseurl.h"

#include <QDir>
#include <QFileInfo>
#include <QStandardPaths>
#include <QTemporaryDir>
#include <QTest>

using namespace flowdeck;

namespace {

//! Restores an environment variable when the test ends, however it ends.
class EnvGuard {
public:
    explicit EnvGuard(const char* name)
        : m_name(name)
        , m_had(qEnvironmentVariableIsSet(name))
        , m_value(qgetenv(name))
    {
    }
    ~EnvGuard()
    {
        if (m_had)
            qputenv(m_name, m_value);
        else
            qunsetenv(m_name);
    }

private:
    const char* m_name;
    bool m_had;
    QByteArray m_value;
};

} // namespace

class TestDatabaseUrl : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void initTestCase();

    void sqlitePaths_data();
    void sqlitePaths();
    void postgresUrls_data();
    void postgresUrls();
    void errors_data();
    void errors();
    void errorsNeverShowThePassword();
    void folderIsRejected();
    void redacted();
    void driverNames();
    void defaultSqliteUnderAppData();
    void commandLineOptionWins();
    void environmentWhenNoOption();
    void defaultWhenNeither();
    void badEnvironmentNamesTheVariable();
};

void TestDatabaseUrl::initTestCase()
{
    QStandardPaths::setTestModeEnabled(true);
}

void TestDatabaseUrl::sqlitePaths_data()
{
    QTest::addColumn<QString>("text");
    QTest::addColumn<QString>("path");

    const QString cwd = QDir::currentPath();
    QTest::newRow("absolute") << QStringLiteral("/var/tmp/flows.db") << QStringLiteral("/var/tmp/flows.db");
    QTest::newRow("relative") << QStringLiteral("data/flows.db") << cwd + QStringLiteral("/data/flows.db");
    QTest::newRow("cleaned") << QStringLiteral("./a/../flows.db") << cwd + QStringLiteral("/flows.db");
    QTest::newRow("spaces trimmed") << QStringLiteral("  /tmp/x.db ") << QStringLiteral("/tmp/x.db");
    QTest::newRow("sqlite:///abs") << QStringLiteral("sqlite:///srv/flowdeck.db")
                                   << QStringLiteral("/srv/flowdeck.db");
    QTest::newRow("sqlite:/abs") << QStringLiteral("sqlite:/srv/flowdeck.db")
                                 << QStringLiteral("/srv/flowdeck.db");
    QTest::newRow("sqlite://rel") << QStringLiteral("sqlite://rel.db") << cwd + QStringLiteral("/rel.db");
    QTest::newRow("sqlite:rel") << QStringLiteral("sqlite:rel.db") << cwd + QStringLiteral("/rel.db");
    QTest::newRow("SQLITE: any case") << QStringLiteral("SQLite:///x/y.db") << QStringLiteral("/x/y.db");
    QTest::newRow("percent in sqlite URL")
        << QStringLiteral("sqlite:///tmp/my%20runs.db") << QStringLiteral("/tmp/my runs.db");
}

void TestDatabaseUrl::sqlitePaths()
{
    QFETCH(QString, text);
    QFETCH(QString, path);
    QString error;
    const auto url = DatabaseUrl::parse(text, &error);
    QVERIFY2(url, qPrintable(error));
    QVERIFY(url->isSqlite());
    QCOMPARE(url->backend, DatabaseUrl::Backend::Sqlite);
    QCOMPARE(url->path, path);
    QVERIFY(QFileInfo(url->path).isAbsolute());
}

void TestDatabaseUrl::postgresUrls_data()
{
    QTest::addColumn<QString>("text");
    QTest::addColumn<QString>("user");
    QTest::addColumn<QString>("password");
    QTest::addColumn<QString>("host");
    QTest::addColumn<int>("port");
    QTest::addColumn<QString>("database");

    QTest::newRow("full") << QStringLiteral("postgresql://flow:s3cret@db.example.org:6543/flowdeck")
                          << QStringLiteral("flow") << QStringLiteral("s3cret")
                          << QStringLiteral("db.example.org") << 6543 << QStringLiteral("flowdeck");
    QTest::newRow("default port") << QStringLiteral("postgresql://flow@localhost/runs")
                                  << QStringLiteral("flow") << QString() << QStringLiteral("localhost")
                                  << 5432 << QStringLiteral("runs");
    QTest::newRow("postgres://") << QStringLiteral("postgres://u:p@127.0.0.1:5433/d") << QStringLiteral("u")
                                 << QStringLiteral("p") << QStringLiteral("127.0.0.1") << 5433
                                 << QStringLiteral("d");
    QTest::newRow("percent-decoded") << QStringLiteral("postgresql://us%40er:p%3Aa%2Fss%40@h/d%20b")
                                     << QStringLiteral("us@er") << QStringLiteral("p:a/ss@")
                                     << QStringLiteral("h") << 5432 << QStringLiteral("d b");
    QTest::newRow("ipv6") << QStringLiteral("postgresql://u@[::1]:7000/d") << QStringLiteral("u") << QString()
                          << QStringLiteral("::1") << 7000 << QStringLiteral("d");
    QTest::newRow("no user") << QStringLiteral("postgresql://localhost/d") << QString() << QString()
                             << QStringLiteral("localhost") << 5432 << QStringLiteral("d");
    QTest::newRow("port bounds") << QStringLiteral("postgresql://u@h:65535/d") << QStringLiteral("u")
                                 << QString() << QStringLiteral("h") << 65535 << QStringLiteral("d");
    QTest::newRow("scheme case") << QStringLiteral("PostgreSQL://u@h:1/d") << QStringLiteral("u") << QString()
                                 << QStringLiteral("h") << 1 << QStringLiteral("d");
}

void TestDatabaseUrl::postgresUrls()
{
    QFETCH(QString, text);
    QString error;
    const auto url = DatabaseUrl::parse(text, &error);
    QVERIFY2(url, qPrintable(error));
    QVERIFY(!url->isSqlite());
    QCOMPARE(url->backend, DatabaseUrl::Backend::Postgres);
    QTEST(url->user, "user");
    QTEST(url->password, "password");
    QTEST(url->host, "host");
    QTEST(url->port, "port");
    QTEST(url->database, "database");
}

void TestDatabaseUrl::errors_data()
{
    QTest::addColumn<QString>("text");
    QTest::addColumn<QString>("message");

    QTest::newRow("missing host") << QStringLiteral(
        "postgresql://x@/db") << QStringLiteral("invalid database URL \"postgresql://x@/db\": missing host");
    QTest::newRow("missing host, port only")
        << QStringLiteral("postgresql://x@:5432/db")
        << QStringLiteral("invalid database URL \"postgresql://x@:5432/db\": missing host");
    QTest::newRow("unknown scheme")
        << QStringLiteral("mysql://u@h/db")
        << QStringLiteral("invalid database URL \"mysql://u@h/db\": unknown scheme \"mysql\" "
                          "(use a file path, sqlite:PATH or postgresql://...)");
    QTest::newRow("port 0") << QStringLiteral("postgresql://u@h:0/db")
                            << QStringLiteral("invalid database URL \"postgresql://u@h:0/db\": "
                                              "bad port 0 (expected a number from 1 to 65535)");
    QTest::newRow("port too big") << QStringLiteral("postgresql://u@h:65536/db")
                                  << QStringLiteral("invalid database URL \"postgresql://u@h:65536/db\": "
                                                    "bad port 65536 (expected a number from 1 to 65535)");
    QTest::newRow("port not a number")
        << QStringLiteral("postgresql://u@h:fast/db")
        << QStringLiteral("invalid database URL \"postgresql://u@h:fast/db\": "
                          "bad port \"fast\" (expected a number from 1 to 65535)");
    QTest::newRow("port empty") << QStringLiteral("postgresql://u@h:/db")
                                << QStringLiteral("invalid database URL \"postgresql://u@h:/db\": "
                                                  "bad port \"\" (expected a number from 1 to 65535)");
    QTest::newRow("no database") << QStringLiteral("postgresql://u@h")
                                 << QStringLiteral("invalid database URL \"postgresql://u@h\": "
                                                   "missing database name (\"/dbname\" after the host)");
    QTest::newRow("empty database") << QStringLiteral("postgresql://u@h:5432/")
                                    << QStringLiteral("invalid database URL \"postgresql://u@h:5432/\": "
                                                      "missing database name (\"/dbname\" after the host)");
    QTest::newRow("query string") << QStringLiteral("postgresql://u@h/db?sslmode=require")
                                  << QStringLiteral(
                                         "invalid database URL \"postgresql://u@h/db?sslmode=require\": "
                                         "query parameters (\"?...\") are not supported");
    QTest::newRow("empty") << QString() << QStringLiteral("invalid database URL \"\": empty path");
    QTest::newRow("blank") << QStringLiteral("   ")
                           << QStringLiteral("invalid database URL \"   \": empty path");
    QTest::newRow("sqlite: without path")
        << QStringLiteral("sqlite:") << QStringLiteral("invalid database URL \"sqlite:\": empty path");
    QTest::newRow("sqlite:/// without path") << QStringLiteral("sqlite:///")
                                             << QStringLiteral("invalid database URL \"sqlite:///\": "
                                                               "the path names a folder, not a file");
    QTest::newRow("in-memory") << QStringLiteral(":memory:")
                               << QStringLiteral("invalid database URL \":memory:\": "
                                                 "an in-memory database is not supported (use a file path)");
    QTest::newRow("sqlite:in-memory")
        << QStringLiteral("sqlite::memory:")
        << QStringLiteral("invalid database URL \"sqlite::memory:\": "
                          "an in-memory database is not supported (use a file path)");
    QTest::newRow("trailing slash") << QStringLiteral("/no/such/folder/")
                                    << QStringLiteral("invalid database URL \"/no/such/folder/\": "
                                                      "the path names a folder, not a file");
}

void TestDatabaseUrl::errors()
{
    QFETCH(QString, text);
    QFETCH(QString, message);
    QString error;
    QVERIFY(!DatabaseUrl::parse(text, &error));
    QCOMPARE(error, message);
    QVERIFY(!error.contains(u'\n'));
    QVERIFY(!DatabaseUrl::parse(text, nullptr)); // no error pointer needed
}

void TestDatabaseUrl::errorsNeverShowThePassword()
{
    QString error;
    QVERIFY(!DatabaseUrl::parse(QStringLiteral("postgresql://u:hunter2@h:99999/db"), &error));
    QCOMPARE(error,
             QStringLiteral("invalid database URL \"postgresql://u:***@h:99999/db\": "
                            "bad port 99999 (expected a number from 1 to 65535)"));
    QVERIFY(!DatabaseUrl::parse(QStringLiteral("mysql://root:hunter2@h/db"), &error));
    QVERIFY2(!error.contains(QLatin1String("hunter2")), qPrintable(error));
    QVERIFY2(error.contains(QLatin1String("root:***@h")), qPrintable(error));

    // A "/" in the password: nothing between "//" and "@" is shown, nor a "port" read from there.
    QVERIFY(!DatabaseUrl::parse(QStringLiteral("postgresql://user:S3cr3t/Pa55@host/db"), &error));
    QCOMPARE(error,
             QStringLiteral("invalid database URL \"postgresql://***@host/db\": \"@\" after the host "
                            "(write \"/\" in a user name or password as %2F, \"@\" as %40)"));
    for (const QString& text : {QStringLiteral("postgresql://user:S3cr3t/Pa55@host:0/db"),
                                QStringLiteral("postgres://user:S3cr3t/Pa/55@host/db?sslmode=require"),
                                QStringLiteral("postgresql://user:S3cr3t/Pa55@[::1/db"),
                                QStringLiteral("mysql://user:S3cr3t/Pa55@h/db"),
                                QStringLiteral("postgresql://user:S3cr3t/Pa55@host/db#frag")}) {
        QVERIFY(!DatabaseUrl::parse(text, &error));
        QVERIFY2(!error.contains(QLatin1String("S3cr3t")) && !error.contains(QLatin1String("Pa")),
                 qPrintable(error));
        QVERIFY2(error.contains(QLatin1String("://***@")), qPrintable(error));
    }
    // No "@" at all: "user:password" reads as "host:port", and a "/" in the password runs on into the
    // database name; nothing after the first ":" is shown, nor a "port" or database name read there.
    for (const QString& text :
         {QStringLiteral("postgresql://user:S3cr3t/Pa55host/db"), QStringLiteral("postgresql://user:S3cr3t"),
          QStringLiteral("postgres://user:12345/Pa55/db"),
          QStringLiteral("postgresql://user:S3cr3t/Pa55host/db?x=1")}) {
        QVERIFY(!DatabaseUrl::parse(text, &error));
        QVERIFY2(!error.contains(QLatin1String("S3cr3t")) && !error.contains(QLatin1String("Pa55"))
                     && !error.contains(QLatin1String("12345")),
                 qPrintable(error));
        QVERIFY2(error.contains(QLatin1String("://user:***\"")), qPrintable(error));
    }
    QVERIFY(!DatabaseUrl::parse(QStringLiteral("postgresql://user:S3cr3t/Pa55host/db"), &error));
    QCOMPARE(error,
             QStringLiteral("invalid database URL \"postgresql://user:***\": bad port (expected a "
                            "number from 1 to 65535; a user and password go before \"@host\")"));
    // Percent-encoded, the same password is accepted.
    const auto url = DatabaseUrl::parse(QStringLiteral("postgresql://user:S3cr3t%2FPa55@host/db"), &error);
    QVERIFY2(url, qPrintable(error));
    QCOMPARE(url->password, QStringLiteral("S3cr3t/Pa55"));
    QCOMPARE(url->host, QStringLiteral("host"));
}

void TestDatabaseUrl::folderIsRejected()
{
    QTemporaryDir dir;
    QVERIFY(dir.isValid());
    QString error;
    QVERIFY(!DatabaseUrl::parse(dir.path(), &error));
    QCOMPARE(error,
             QStringLiteral("invalid database URL \"%1\": \"%1\" is a folder, not a file").arg(dir.path()));
    QVERIFY(!DatabaseUrl::parse(QStringLiteral("sqlite://") + dir.path(), &error));
    QVERIFY2(error.endsWith(QStringLiteral("is a folder, not a file")), qPrintable(error));
}

void TestDatabaseUrl::redacted()
{
    auto redact = [](const QString& text) {
        QString error;
        const auto url = DatabaseUrl::parse(text, &error);
        return url ? url->redacted() : error;
    };
    QCOMPARE(redact(QStringLiteral("postgresql://flow:s3cret@db:6543/runs")),
             QStringLiteral("postgresql://flow:***@db:6543/runs"));
    QCOMPARE(redact(QStringLiteral("postgres://flow@db/runs")),
             QStringLiteral("postgresql://flow@db:5432/runs"));
    QCOMPARE(redact(QStringLiteral("postgresql://a%40b:x@[::1]/d")),
             QStringLiteral("postgresql://a%40b:***@[::1]:5432/d"));
    QCOMPARE(redact(QStringLiteral("/tmp/x.db")), QStringLiteral("/tmp/x.db"));
}

void TestDatabaseUrl::driverNames()
{
    QCOMPARE(DatabaseUrl::parse(QStringLiteral("/tmp/x.db"), nullptr)->driverName(),
             QStringLiteral("QSQLITE"));
    QCOMPARE(DatabaseUrl::parse(QStringLiteral("postgresql://u@h/d"), nullptr)->driverName(),
             QStringLiteral("QPSQL"));
}

void TestDatabaseUrl::defaultSqliteUnderAppData()
{
    const QString folder = QStandardPaths::writableLocation(QStandardPaths::AppDataLocation);
    QVERIFY(!folder.isEmpty());
    QDir(folder).removeRecursively();
    const DatabaseUrl url = DatabaseUrl::defaultSqlite();
    QVERIFY(url.isSqlite());
    QCOMPARE(url.path, QDir(folder).filePath(QStringLiteral("flowdeck.db")));
    QVERIFY2(QFileInfo(folder).isDir(), "the folder is created");
}

void TestDatabaseUrl::commandLineOptionWins()
{
    EnvGuard guard("FLOWDECK_DB");
    qputenv("FLOWDECK_DB", "postgresql://env@h/d");
    QString error;
    const auto url = DatabaseUrl::fromCommandLine(QStringLiteral("/tmp/option.db"), &error);
    QVERIFY2(url, qPrintable(error));
    QCOMPARE(url->path, QStringLiteral("/tmp/option.db"));

    QVERIFY(!DatabaseUrl::fromCommandLine(QStringLiteral("postgresql://u@/d"), &error));
    QCOMPARE(error, QStringLiteral("invalid database URL \"postgresql://u@/d\": missing host"));
}

void TestDatabaseUrl::environmentWhenNoOption()
{
    EnvGuard guard("FLOWDECK_DB");
    qputenv("FLOWDECK_DB", "postgresql://env@h/d");
    QString error;
    const auto url = DatabaseUrl::fromCommandLine(QString(), &error);
    QVERIFY2(url, qPrintable(error));
    QCOMPARE(url->backend, DatabaseUrl::Backend::Postgres);
    QCOMPARE(url->user, QStringLiteral("env"));
}

void TestDatabaseUrl::defaultWhenNeither()
{
    EnvGuard guard("FLOWDECK_DB");
    qputenv("FLOWDECK_DB", "");
    QString error;
    auto url = DatabaseUrl::fromCommandLine(QString(), &error);
    QVERIFY2(url, qPrintable(error));
    QCOMPARE(url->path, DatabaseUrl::defaultSqlite().path);
    qunsetenv("FLOWDECK_DB");
    url = DatabaseUrl::fromCommandLine(QString(), &error);
    QVERIFY2(url, qPrintable(error));
    QCOMPARE(url->path, DatabaseUrl::defaultSqlite().path);
}

void TestDatabaseUrl::badEnvironmentNamesTheVariable()
{
    EnvGuard guard("FLOWDECK_DB");
    qputenv("FLOWDECK_DB", "postgresql://u@h:0/d");
    QString error;
    QVERIFY(!DatabaseUrl::fromCommandLine(QString(), &error));
    QCOMPARE(error,
             QStringLiteral("FLOWDECK_DB: invalid database URL \"postgresql://u@h:0/d\": "
                            "bad port 0 (expected a number from 1 to 65535)"));
}

QTEST_GUILESS_MAIN(TestDatabaseUrl)
#include "tst_databaseurl.moc"
