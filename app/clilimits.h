#pragma once

#include <QStringList>

namespace flowdeck::cli {

//! `flowdeck concurrency-limit create|ls|inspect|reset|delete ...`: tag limits in the store.
int cmdConcurrencyLimit(const QStringList& args);

//! `flowdeck gcl` (global-concurrency-limit) create|ls|inspect|update|enable|disable|reset|delete:
//! named global concurrency limits and rate limits in the store.
int cmdGlobalConcurrencyLimit(const QStringList& args);

} // namespace flowdeck::cli
