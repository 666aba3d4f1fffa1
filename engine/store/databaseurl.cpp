#include "store/databaseurl.h"

#include <QDir>
#include <QFileInfo>
#include <QRegularExpression>
#include <QStandardPaths>
#include <QUrl>

namespace flowdeck {

namespace {

const QString PostgresScheme = QStringLiteral("postgresql://");
const QString PostgresShortScheme = QStringLiteral("postgres://");
const QString SqliteScheme = QStringLiteral("sqlite:");

//! The text with the password of a postgres URL hidden, so that errors never echo a secret.
QString redactText(const QString& text)
{
    const qsizetype schemeEnd = text.indexOf(QStringLiteral("://"));
    if (schemeEnd < 0)
        return text;
    const qsizetype authorityStart = schemeEnd + 3;
    qsizetype authorityEnd = text.indexOf(u'/', authorityStart);
    if (authorityEnd < 0)
        authorityEnd = text.size();
    // An "@" after the first "/" means a user information holding a "/" (a password not
    // percent-encoded): where it ends is not certain, so everything between "//" and "@" is hidden.
    if (const qsizetype lastAt = text.lastIndexOf(u'@'); lastAt > authorityEnd)
        return text.left(authorityStart) + QStringLiteral("***") + text.mid(lastAt);
    const qsizetype at = text.lastIndexOf(u'@', authorityEnd - 1);
    if (at < authorityStart) {
        // No "@": "user:password" without a host reads as "host:port", and a password holding a "/"
        // runs on into the path. Whatever follows the first ":" may be a password: hidden.
        const qsizetype colon = text.indexOf(u':', authorityStart);
        return colon < 0 ? text : text.left(colon + 1) + QStringLiteral("***");
    }
    const qsizetype colon = text.indexOf(u':', authorityStart);
    if (colon < 0 || colon > at)
        return text;
    return text.left(colon + 1) + QStringLiteral("***") + text.mid(at);
}

bool fail(QString* error, const QString& text, const QString& reason)
{
    if (error)
        *error = QStringLiteral("invalid database URL \"%1\": %2").arg(redactText(text), reason);
    return false;
}

QString percentDecoded(const QString& s)
{
    return QUrl::fromPercentEncoding(s.toUtf8());
}

QString percentEncoded(const QString& s)
{
    return QString::fromUtf8(QUrl::toPercentEncoding(s));
}

bool parsePostgres(const QString& text, qsizetype schemeLength, DatabaseUrl& url, QString* error)
{
    const QString rest = text.mid(schemeLength);
    if (rest.contains(u'?'))
        return fail(error, text, QStringLiteral("query parameters (\"?...\") are not supported"));
    if (rest.contains(u'#'))
        return fail(error, text, QStringLiteral("a fragment (\"#...\") is not supported"));

    const qsizetype slash = rest.indexOf(u'/');
    const QString authority = slash < 0 ? rest : rest.left(slash);
    const QString dbPart = slash < 0 ? QString() : rest.mid(slash + 1);
    // Before anything is taken from the host or port: with a "/" in the user information the text
    // before it would be read as host and port, and a message could show a piece of the password.
    if (dbPart.contains(u'@'))
        return fail(error, text,
                    QStringLiteral("\"@\" after the host (write \"/\" in a user name or password as %2F, "
                                   "\"@\" as %40)"));

    const qsizetype at = authority.lastIndexOf(u'@');
    QString hostPort = authority;
    if (at >= 0) {
        const QString userInfo = authority.left(at);
        hostPort = authority.mid(at + 1);
        const qsizetype colon = userInfo.indexOf(u':');
        url.user = percentDecoded(colon < 0 ? userInfo : userInfo.left(colon));
        url.password = colon < 0 ? QString() : percentDecoded(userInfo.mid(colon + 1));
        if (url.user.isEmpty())
            return fail(error, text, QStringLiteral("empty user name before \"@\""));
    }

    QString portText;
    bool hasPort = false;
    if (hostPort.startsWith(u'[')) {
        const qsizetype close = hostPort.indexOf(u']');
        if (close < 0)
            return fail(error, text, QStringLiteral("unterminated \"[\" in the host"));
        url.host = hostPort.mid(1, close - 1);
        const QString after = hostPort.mid(close + 1);
        if (!after.isEmpty()) {
            if (!after.startsWith(u':'))
                return fail(error, text, QStringLiteral("unexpected \"%1\" after the host").arg(after));
            hasPort = true;
            portText = after.mid(1);
        }
    } else {
        const qsizetype colon = hostPort.lastIndexOf(u':');
        url.host = colon < 0 ? hostPort : hostPort.left(colon);
        if (colon >= 0) {
            hasPort = true;
            portText = hostPort.mid(colon + 1);
        }
    }
    url.host = percentDecoded(url.host);
    if (url.host.isEmpty())
        return fail(error, text, QStringLiteral("missing host"));

    if (hasPort) {
        static const QRegularExpression digits(QStringLiteral("^[0-9]{1,9}$"));
        // Not echoed: without an "@" this may be a password read as the port.
        if (!digits.match(portText).hasMatch())
            return fail(
                error, text,
                at >= 0 ? QStringLiteral("bad port \"%1\" (expected a number from 1 to 65535)").arg(portText)
                        : QStringLiteral("bad port (expected a number from 1 to 65535; a user "
                                         "and password go before \"@host\")"));
        const int port = portText.toInt();
        if (port < 1 || port > 65535)
            return fail(error, text,
                        QStringLiteral("bad port %1 (expected a number from 1 to 65535)").arg(port));
        url.port = port;
    }

    if (slash < 0 || dbPart.isEmpty())
        return fail(error, text, QStringLiteral("missing database name (\"/dbname\" after the host)"));
    url.database = percentDecoded(dbPart);
    if (url.database.contains(u'/'))
        return fail(error, text,
                    at >= 0 ? QStringLiteral("bad database name \"%1\" (contains \"/\")").arg(url.database)
                            : QStringLiteral("bad database name (contains \"/\")"));
    return true;
}

bool parseSqlitePath(const QString& text, const QString& rawPath, DatabaseUrl& url, QString* error)
{
    if (rawPath.trimmed().isEmpty())
        return fail(error, text, QStringLiteral("empty path"));
    // SQLite's in-memory database cannot hold a store that other processes read, and the path made
    // absolute would create a file named ":memory:" instead.
    if (rawPath.trimmed() == QLatin1String(":memory:"))
        return fail(error, text, QStringLiteral("an in-memory database is not supported (use a file path)"));
    if (rawPath.endsWith(u'/'))
        return fail(error, text, QStringLiteral("the path names a folder, not a file"));
    const QString path = QDir::cleanPath(QDir::current().absoluteFilePath(rawPath));
    if (QFileInfo(path).isDir())
        return fail(error, text, QStringLiteral("\"%1\" is a folder, not a file").arg(path));
    url.backend = DatabaseUrl::Backend::Sqlite;
    url.path = path;
    return true;
}

} // namespace

std::optional<DatabaseUrl> DatabaseUrl::parse(const QString& input, QString* error)
{
    const QString text = input.trimmed();
    DatabaseUrl url;
    if (text.isEmpty()) {
        fail(error, input, QStringLiteral("empty path"));
        return std::nullopt;
    }

    if (text.startsWith(PostgresScheme, Qt::CaseInsensitive)
        || text.startsWith(PostgresShortScheme, Qt::CaseInsensitive)) {
        const qsizetype schemeLength = text.indexOf(QStringLiteral("://")) + 3;
        url.backend = Backend::Postgres;
        if (!parsePostgres(text, schemeLength, url, error))
            return std::nullopt;
        return url;
    }

    if (text.startsWith(SqliteScheme, Qt::CaseInsensitive)) {
        // sqlite:///abs/path and sqlite:/abs/path are absolute; sqlite://rel and sqlite:rel are relative.
        QString rest = text.mid(SqliteScheme.size());
        if (rest.startsWith(QStringLiteral("//")))
            rest = rest.mid(2);
        if (rest.contains(u'?')) {
            fail(error, text, QStringLiteral("query parameters (\"?...\") are not supported"));
            return std::nullopt;
        }
        if (!parseSqlitePath(text, percentDecoded(rest), url, error))
            return std::nullopt;
        return url;
    }

    static const QRegularExpression scheme(QStringLiteral("^([A-Za-z][A-Za-z0-9+.-]*)://"));
    if (const QRegularExpressionMatch m = scheme.match(text); m.hasMatch()) {
        fail(error, text,
             QStringLiteral("unknown scheme \"%1\" (use a file path, sqlite:PATH or postgresql://...)")
                 .arg(m.captured(1)));
        return std::nullopt;
    }

    if (!parseSqlitePath(text, text, url, error))
        return std::nullopt;
    return url;
}

DatabaseUrl DatabaseUrl::defaultSqlite()
{
    QString folder = QStandardPaths::writableLocation(QStandardPaths::AppDataLocation);
    if (folder.isEmpty())
        folder = QDir::currentPath();
    QDir().mkpath(folder);
    DatabaseUrl url;
    url.backend = Backend::Sqlite;
    url.path = QDir(folder).filePath(QStringLiteral("flowdeck.db"));
    return url;
}

std::optional<DatabaseUrl> DatabaseUrl::fromCommandLine(const QString& dbOption, QString* error)
{
    if (!dbOption.isEmpty())
        return parse(dbOption, error);
    const QString fromEnv = qEnvironmentVariable("FLOWDECK_DB");
    if (!fromEnv.isEmpty()) {
        auto url = parse(fromEnv, error);
        if (!url && error)
            *error = QStringLiteral("FLOWDECK_DB: ") + *error;
        return url;
    }
    return defaultSqlite();
}

QString DatabaseUrl::redacted() const
{
    if (backend == Backend::Sqlite)
        return path;
    QString out = QStringLiteral("postgresql://");
    if (!user.isEmpty()) {
        out += percentEncoded(user);
        if (!password.isEmpty())
            out += QStringLiteral(":***");
        out += u'@';
    }
    out += host.contains(u':') ? u'[' + host + u']' : host;
    out += u':' + QString::number(port) + u'/' + percentEncoded(database);
    return out;
}

QSqlDatabase DatabaseUrl::addConnection(const QString& name) const
{
    QSqlDatabase db = QSqlDatabase::addDatabase(driverName(), name);
    if (isSqlite()) {
        db.setDatabaseName(path);
    } else {
        db.setHostName(host);
        db.setPort(port);
        db.setUserName(user);
        db.setPassword(password);
        db.setDatabaseName(database);
    }
    return db;
}

QString DatabaseUrl::driverName() const
{
    return backend == Backend::Sqlite ? QStringLiteral("QSQLITE") : QStringLiteral("QPSQL");
}

} // namespace flowdeck
