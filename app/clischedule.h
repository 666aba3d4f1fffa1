#pragma once

#include <QStringList>

namespace flowdeck::cli {

//! `flowdeck schedule add|ls|pause|resume|delete|update|next`: schedules stored in the database, fired
//! by the dashboard and every worker.
int cmdSchedule(const QStringList& args);

} // namespace flowdeck::cli
