#pragma once

#include <QStringList>

namespace flowdeck::cli {

//! `flowdeck concurrency-limit create|ls|inspect|reset|delete ...`: tag limits in the store.
int cmdConcurrencyLimit(const QStringList& args);

} // namespace flowdeck::cli
