#pragma once

#include <QStringList>

namespace flowdeck::cli {

//! `flowdeck cache ls|clear ...`: the cached task results in the store.
int cmdCache(const QStringList& args);

} // namespace flowdeck::cli
