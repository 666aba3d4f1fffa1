#pragma once

#include <QString>

namespace flowdeck::test {

//! Absolute path of a file under the source tree (FLOWDECK_SOURCE_DIR, set by CTest).
QString sourcePath(const QString& relative);
//! The flowdeck executable under test (FLOWDECK_BINARY, set by CTest).
QString flowdeckBinary();

} // namespace flowdeck::test
