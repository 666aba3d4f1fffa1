#pragma once

#include <QStringList>

namespace flowdeck::cli {

//! `flowdeck run FLOW [--param NAME=VALUE]... [--json] [--db URL]`: runs a flow headless.
int cmdRun(const QStringList& args);

} // namespace flowdeck::cli
