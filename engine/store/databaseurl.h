#pragma once

#include <QSqlDatabase>
#include <QString>

#include <optional>

namespace flowdeck {

/**
 * Where the store lives: a SQLite file (a plain path, or sqlite:///abs/path) or a PostgreSQL
 * server (postgresql://user[:password]@host[:port]/dbname, "postgres://" also accepted).
 */
struct DatabaseUrl {
    enum class Backend { Sqlite, Postgres };

    Backend backend = Backend::Sqlite;
    QString path; //!< SQLite: absolute file path
    QString host; //!< PostgreSQL
    int port = 5432;
    QString user;
    QString password;
    QString database;

    //! Parses \a text; on failure returns nullopt and sets \a error to one line saying what is wrong.
    static std::optional<DatabaseUrl> parse(const QString& text, QString* error);
    //! The default: flowdeck.db under QStandardPaths::AppDataLocation (folder created if needed).
    static DatabaseUrl defaultSqlite();
    //! Resolves the choice of a command: --db value if given, else $FLOWDECK_DB, else the default.
    static std::optional<DatabaseUrl> fromCommandLine(const QString& dbOption, QString* error);

    //! For messages and logs: the password is never shown.
    QString redacted() const;
    //! Adds the Qt SQL connection \a name for this database (driver, file or server, user, database);
    //! not opened yet. The one place that turns a URL into a QSqlDatabase.
    QSqlDatabase addConnection(const QString& name) const;
    //! Qt SQL driver name: "QSQLITE" or "QPSQL".
    QString driverName() const;
    bool isSqlite() const { return backend == Backend::Sqlite; }
};

} // namespace flowdeck
