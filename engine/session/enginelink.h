#pragma once

#include <QCoro/QCoroTask>
#include <QElapsedTimer>
#include <QObject>
#include <QPointer>

#include <memory>

class QTimer;

namespace flowdeck {

class Engine;
class Store;
class DatabaseCache;

/**
 * A store connected to an engine: the store observes the engine, makes its task runs wait for
 * durability and takes their concurrency slots. While connected it polls the database every half
 * second: the heartbeat of this process, the leases of its slots, the concurrency limits (applied
 * to the engine's limiter, so changes by other processes apply within a poll), cancel, pause and
 * resume requests written by other processes (`flowdeck runs cancel/pause/resume`), and approval
 * decisions (`flowdeck runs approve|reject`) while a task run of this engine waits for one.
 * Destroying it disconnects the two.
 */
class EngineLink : public QObject {
    Q_OBJECT
public:
    EngineLink(Store& store, Engine& engine, QObject* parent = nullptr);
    ~EngineLink() override;

    //! Reads the concurrency limits and applies them to the engine's limiter. Throws DatabaseError
    //! or PoolTimeout.
    QCoro::Task<> refreshLimits();

private:
    void poll();
    static QCoro::Task<> pollOnce(QPointer<EngineLink> self);
    //! Applies the cancel, pause and resume requests other processes wrote for this engine's runs.
    static QCoro::Task<> controlRequested(QPointer<EngineLink> self);
    //! Applies approval decisions written by other processes to the task runs waiting here.
    static QCoro::Task<> approvalsDecided(QPointer<EngineLink> self);

    Store& m_store;
    Engine& m_engine;
    //! Where the engine's tasks with "cache" find and keep their results.
    std::unique_ptr<DatabaseCache> m_cache;
    QTimer* m_pollTimer;
    QElapsedTimer m_beatClock;
    QElapsedTimer m_leaseClock;
    bool m_polling = false;
};

} // namespace flowdeck
