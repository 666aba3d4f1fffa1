#pragma once

// What the executor tests share: task kinds that fail or sleep on request, and a fresh engine per
// test with an observer that records every transition.

#include "flow/taskkind.h"
#include "run/engine.h"
#include "testutil.h"

#include <QJsonObject>
#include <QJsonValue>
#include <QString>

#include <memory>

namespace flowdeck::test {

//! A field of any type, not required.
FieldSpec anyField(const QString& name);
//! {"seconds": value}: the config of the sleep and blocking kinds.
QJsonObject seconds(const QJsonValue& value);

/**
 * Registers, once per executable, "test_flaky" (fails its first fail_times attempts, then succeeds)
 * and "test_scaled_sleep" (sleeps index * step_s seconds, fails when index == fail_on).
 */
void addExecutorTestKinds();

//! An engine with a recording observer, made anew by setUpEngine() and drained by tearDownEngine().
class ExecutorFixture {
protected:
    void setUpEngine();
    void tearDownEngine();
    //! Starts a run and waits for it; warns when it did not end within \a timeoutMs.
    FlowRun* runToEnd(const FlowDefinition& def, int timeoutMs = 10000);
    //! Microseconds from \a t0 to the first transition of a task run into \a type.
    qint64 usUntil(qint64 t0, const QString& taskId, int mapIndex, StateType type) const;

    std::unique_ptr<Engine> m_engine;
    RecordingObserver m_rec;
};

} // namespace flowdeck::test
