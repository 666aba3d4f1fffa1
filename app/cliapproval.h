#pragma once

#include <QCoro/QCoroTask>
#include <QStringList>

namespace flowdeck::cli {

class Output;

//! `flowdeck runs approve RUN TASK`: approves a task run that waits for approval.
QCoro::Task<int> approveCommand(QStringList args, Output& out);
//! `flowdeck runs reject RUN TASK [--reason TEXT]`: rejects it.
QCoro::Task<int> rejectCommand(QStringList args, Output& out);

} // namespace flowdeck::cli
