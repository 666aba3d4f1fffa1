#include "flow/jsonpath.h"

namespace flowdeck::detail {

QString childPath(const QString& path, const QString& key)
{
    return path.isEmpty() ? key : path + u'.' + key;
}

QString itemPath(const QString& path, qsizetype index)
{
    return path + u'[' + QString::number(index) + u']';
}

QString taskPath(qsizetype index)
{
    return itemPath(QStringLiteral("tasks"), index);
}

} // namespace flowdeck::detail
