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

Q_SIGNALS:
    void received(int signal);

private:
    QSocketNotifier* m_notifier = nullptr;
};

} // namespace flowdeck
