#pragma once

#include <QString>

namespace flowdeck::detail {

// JSON paths that say where in a flow document an error is: "tasks[2].depends_on[0]".

//! "path.key", or "key" at the top level.
QString childPath(const QString& path, const QString& key);
//! "path[index]".
QString itemPath(const QString& path, qsizetype index);
//! "tasks[index]".
QString taskPath(qsizetype index);

} // namespace flowdeck::detail
