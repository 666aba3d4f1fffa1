#include "testutil.h"

#include <QDir>

namespace flowdeck::test {

QString sourcePath(const QString& relative)
{
    return QDir(qEnvironmentVariable("FLOWDECK_SOURCE_DIR", QStringLiteral(FLOWDECK_SOURCE_DIR_FALLBACK)))
        .filePath(relative);
}

QString flowdeckBinary()
{
    return qEnvironmentVariable("FLOWDECK_BINARY");
}

} // namespace flowdeck::test
