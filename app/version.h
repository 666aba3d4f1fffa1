#pragma once

#include <QString>

namespace flowdeck {

//! What `flowdeck --version` prints: Flowdeck's version and commit, the Qt and SQLite versions.
QString versionText();

} // namespace flowdeck
