#pragma once

#include "context/storedlimits.h"
#include "store/limitqueries.h"
#include "store/limitrow.h"

#include <QList>

namespace flowdeck {

class DatabaseConnection;
class Engine;

/**
 * Named global concurrency limits and rate limits as the dashboard shows and edits them: in the store
 * when it is open (every process's slots and waiters, read on refresh(); changes applied to this
 * engine at once and to other processes within a second), else in this engine's limiter only.
 */
class GlobalLimits : public StoredLimits {
    Q_OBJECT

public:
    GlobalLimits(Engine& engine, DatabaseConnection& database, QObject* parent = nullptr);
    ~GlobalLimits() override;

    //! Checks a limit as typed: its name, its slots (0 to INT_MAX) and its decay (empty or a number
    //! >= 0). Returns an empty string when valid, else one line saying what and where.
    static QString validate(const QString& name, const QString& limit, const QString& decay,
                            GlobalLimitChange* change = nullptr);
    //! Creates (\a create) or changes limit \a name; false (nothing done) when the name is invalid.
    //! changed() or a database error follows.
    bool write(const QString& name, const GlobalLimitChange& change, bool create);
    bool remove(const QString& name);
    //! Frees the slots of runs that no longer run (the store's `gcl reset`); message() says how many.
    bool reset(const QString& name);
    //! Every global limit with its use (every process's when the store is open), by name.
    QList<GlobalLimitRow> rows() const;
    //! The store's view of \a name's holders and waiters (every process), asynchronously: inspected()
    //! follows. Nothing happens without a store.
    void inspect(const QString& name);

Q_SIGNALS:
    void inspected(const QString& name, const flowdeck::GlobalLimitRow& row);

private:
    enum class Op { Create, Update, Remove, Reset };
    void read() override;
    void forget() override { m_stored.clear(); }
    void write(const QString& name, const GlobalLimitChange& change, Op op);

    QList<GlobalLimitRow> m_stored;
};

} // namespace flowdeck
