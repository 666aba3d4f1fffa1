#pragma once

#include <QObject>

class QSocketNotifier;

namespace flowdeck {

//! Turns SIGINT and SIGTERM into a Qt signal on the main thread (self-pipe; async-signal-safe).
class UnixSignals : public QObject {
    Q_OBJECT
public:
    explicit UnixSignals(QObject* parent = nullptr);
    ~UnixSignals() override;

    /**
     * The \a count-th SIGINT or SIGTERM (counted from this object's creation) ends the process at
     * once, in the signal handler, with exit code 128 + the signal: a way out that works whatever the
     * event loop is waiting for. 0 (the default): never.
     */
    void setExitAfter(int count);

Q_SIGNALS:
    void received(int signal);

private:
    QSocketNotifier* m_notifier = nullptr;
};

} // namespace flowdeck
