#pragma once

#include <QStringList>

namespace flowdeck::cli {

//! `flowdeck runs retry RUN [--queue] [--json]`: retries a FAILED, CRASHED or CANCELLED flow run.
int cmdRunsRetry(const QStringList& args);
//! `flowdeck runs rerun RUN [--param NAME=VALUE]... [--queue] [--json]`: a new run of the same flow.
int cmdRunsRerun(const QStringList& args);
//! `flowdeck runs pause RUN [--grace S]`: pauses a running flow run, wherever it runs.
int cmdRunsPause(const QStringList& args);
//! `flowdeck runs resume RUN [--queue] [--json]`: resumes a PAUSED flow run.
int cmdRunsResume(const QStringList& args);

} // namespace flowdeck::cli
