#pragma once

#include <QStringList>

namespace flowdeck::cli {

//! `flowdeck runs ls|show|logs|cancel ...`: reads the store and writes cancel requests.
int cmdRuns(const QStringList& args);

} // namespace flowdeck::cli
