#pragma once

#include "context/storedlimits.h"
#include "run/runid.h"
#include "store/limitrow.h"

#include <QList>
#include <QSet>

#include <climits>

namespace flowdeck {

class DatabaseConnection;
class Engine;

//! One tag of the Concurrency page: its limit and its use in this process and across processes.
struct TagRow {
    QString tag;
    int limit = 0;
    int active = 0;        //!< slots held, by this process and others sharing the database
    int waiting = 0;       //!< task runs waiting for a slot, here and elsewhere
    int remoteActive = 0;  //!< of active, held by other processes
    int remoteWaiting = 0; //!< of waiting, in other processes
    bool operator==(const TagRow&) const = default;
};

/**
 * Tag concurrency limits as the dashboard edits and shows them: in the store when it is open (then
 * applied to this engine's limiter, and to other processes within a second), else in the limiter
 * only. Merges this process's limiter with the store's view of every process (read on refresh()).
 */
class TagLimits : public StoredLimits {
    Q_OBJECT

public:
    TagLimits(Engine& engine, DatabaseConnection& database, QObject* parent = nullptr);
    ~TagLimits() override;

    static constexpr qlonglong MaxLimit = INT_MAX; //!< the largest limit a tag can have

    //! Checks a limit as typed: the tag (non-empty, no whitespace, commas or control characters) and
    //! the limit (digits only, 0 to MaxLimit). Returns an empty string when valid, else one line saying why.
    static QString validateLimit(const QString& tag, const QString& limit, int* value = nullptr);
    //! Creates or changes the limit of \a tag. Returns false (and changes nothing) when \a tag or
    //! \a limit is invalid. changed() or a database error follows.
    bool setLimit(const QString& tag, int limit);
    bool removeLimit(const QString& tag);
    //! Frees the slots of \a tag held by task runs that no longer run (the store's `concurrency-limit
    //! reset`), on a database thread; wasReset() follows. False (nothing done) without a store.
    bool reset(const QString& tag);
    //! Every limited tag with its use, by tag: this process's limiter merged with the store's view.
    QList<TagRow> rows() const;
    //! The store's view of \a tag's holders and waiters (other processes included), asynchronously:
    //! inspected() follows. Nothing happens without a store.
    void inspect(const QString& tag);

    //! Records a tagged task run of this process: the store's slot holders and waiters that are not
    //! among them belong to other processes. On the engine's hot path: a set insert.
    void noteLocalTagged(const RunId& id) { m_localTagged.insert(id); }

Q_SIGNALS:
    void inspected(const QString& tag, const flowdeck::LimitRow& row);
    //! reset() freed \a freed slot rows of \a tag; -1 when the tag has no limit.
    void wasReset(const QString& tag, int freed);

private:
    void read() override;
    void forget() override { m_storeLimits.clear(); }
    void write(const QString& tag, int limit, bool remove);

    QList<LimitRow> m_storeLimits;
    QSet<RunId> m_localTagged;
};

} // namespace flowdeck
