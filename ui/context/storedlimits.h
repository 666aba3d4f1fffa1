#pragma once

#include "context/databaseconnection.h"
#include "store/connectionpool.h"

#include <QCoro/QCoroTask>
#include <QList>
#include <QObject>
#include <QPointer>
#include <QString>

#include <algorithm>
#include <exception>
#include <utility>

namespace flowdeck {

class Engine;

/**
 * What the dashboard's two kinds of limits (TagLimits, GlobalLimits) share: the store's view of them,
 * read again on refresh() one read at a time, and the coroutines that run their queries on a database
 * thread. Each coroutine holds a QPointer and the database's generation: a result for a holder since
 * deleted, or for a database since replaced, is dropped.
 */
class StoredLimits : public QObject {
    Q_OBJECT

public:
    ~StoredLimits() override;

    //! Reads the store's view of limits again (on the context's pulse); changed() follows if it moved.
    void refresh();

    //! The value of a limit as typed: false unless \a text (trimmed) is digits only, with no sign,
    //! exponent, separator or fraction that a number parser would bend into another value. A value
    //! too large for 64 bits is LLONG_MAX.
    static bool digitsValue(const QString& text, qlonglong* value);

Q_SIGNALS:
    //! A limit was written, or the store's view of limits was read again (rows() changed).
    void changed();
    //! Something worth a line in the status bar.
    void message(const QString& text);

protected:
    StoredLimits(Engine& engine, DatabaseConnection& database, QObject* parent);

    //! Starts a readTask() of the store's view (refresh() calls it, one read at a time).
    virtual void read() = 0;
    //! Forgets the store's view, before another database opens.
    virtual void forget() = 0;

    //! Reads rows with \a list on a database thread into \a stored; changed() when they differ by
    //! \a same. A failure is reported as failure(database description, what went wrong).
    template<typename Row, typename List, typename Same, typename Failure>
    static QCoro::Task<> readTask(QPointer<StoredLimits> self, List list, QList<Row>* stored, Same same,
                                  Failure failure);
    //! Runs \a job on a database thread and hands its result to \a done. A failure is reported as
    //! failure(description, what) unless the database was replaced meanwhile.
    template<typename Job, typename Done, typename Failure>
    static QCoro::Task<> queryTask(QPointer<StoredLimits> self, Job job, Done done, Failure failure);
    /**
     * Runs \a job, a write of the limit tables, on a database thread. Unless the store was replaced or
     * closed meanwhile: \a done with its result, then this engine's limiter reads the limits again
     * (other processes' do within a second), changed() when \a announce, and the store's view is read
     * again. A failure is reported as failure(description, what) while the holder lives.
     */
    template<typename Job, typename Done, typename Failure>
    static QCoro::Task<> writeTask(QPointer<StoredLimits> self, Job job, Done done, bool announce,
                                   Failure failure);

    Engine& m_engine;
    DatabaseConnection& m_database;

private:
    static QString what(const std::exception& e) { return QString::fromUtf8(e.what()); }
    bool current(quint64 generation) const { return generation == m_database.generation(); }

    bool m_loading = false;
};

template<typename Row, typename List, typename Same, typename Failure>
QCoro::Task<> StoredLimits::readTask(QPointer<StoredLimits> self, List list, QList<Row>* stored, Same same,
                                     Failure failure)
{
    const quint64 generation = self->m_database.generation();
    auto reading = self->m_database.pool()->run(std::move(list));
    try {
        QList<Row> rows = co_await reading;
        if (!self || !self->current(generation))
            co_return;
        self->m_loading = false;
        if (rows.size() == stored->size() && std::equal(rows.begin(), rows.end(), stored->begin(), same))
            co_return;
        *stored = std::move(rows);
        Q_EMIT self->changed();
    } catch (const std::exception& e) {
        if (self && self->current(generation)) {
            self->m_loading = false;
            self->m_database.reportError(failure(self->m_database.description(), what(e)));
        }
    }
}

template<typename Job, typename Done, typename Failure>
QCoro::Task<> StoredLimits::queryTask(QPointer<StoredLimits> self, Job job, Done done, Failure failure)
{
    const quint64 generation = self->m_database.generation();
    auto querying = self->m_database.pool()->run(std::move(job));
    try {
        auto result = co_await querying;
        if (!self || !self->current(generation))
            co_return;
        done(std::move(result));
    } catch (const std::exception& e) {
        if (self && self->current(generation))
            self->m_database.reportError(failure(self->m_database.description(), what(e)));
    }
}

template<typename Job, typename Done, typename Failure>
QCoro::Task<> StoredLimits::writeTask(QPointer<StoredLimits> self, Job job, Done done, bool announce,
                                      Failure failure)
{
    const quint64 generation = self->m_database.generation();
    auto writing = self->m_database.pool()->run(std::move(job));
    try {
        auto result = co_await writing;
        if (!self || !self->current(generation) || !self->m_database.store())
            co_return;
        done(std::move(result));
        auto refreshing = self->m_database.refreshLimits();
        co_await refreshing;
        if (!self || !self->current(generation))
            co_return;
        if (announce)
            Q_EMIT self->changed();
        self->m_loading = false;
        self->refresh();
    } catch (const std::exception& e) {
        if (self)
            self->m_database.reportError(failure(self->m_database.description(), what(e)));
    }
}

} // namespace flowdeck
