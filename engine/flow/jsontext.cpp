#include "flow/jsontext.h"

#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QLocale>

#include <cmath>

namespace flowdeck::detail {

QString quoted(const QString& text)
{
    return u'"' + text + u'"';
}

bool isIntegral(double d)
{
    return std::isfinite(d) && std::trunc(d) == d;
}

QString formatNumber(double d)
{
    if (isIntegral(d) && std::abs(d) < 9.0e15)
        return QString::number(static_cast<qint64>(d));
    return QString::number(d, 'g', QLocale::FloatingPointShortest);
}

QString compactJson(const QJsonValue& value)
{
    if (value.isArray())
        return QString::fromUtf8(QJsonDocument(value.toArray()).toJson(QJsonDocument::Compact));
    if (value.isObject())
        return QString::fromUtf8(QJsonDocument(value.toObject()).toJson(QJsonDocument::Compact));
    return {};
}

QString valueText(const QJsonValue& value)
{
    switch (value.type()) {
    case QJsonValue::String:
        return value.toString();
    case QJsonValue::Double: {
        const double d = value.toDouble();
        if (isIntegral(d) && std::abs(d) < 9.2e18)
            return QString::number(value.toInteger());
        return formatNumber(d);
    }
    case QJsonValue::Bool:
        return value.toBool() ? QStringLiteral("true") : QStringLiteral("false");
    case QJsonValue::Array:
    case QJsonValue::Object:
        return compactJson(value);
    case QJsonValue::Null:
    case QJsonValue::Undefined:
        break;
    }
    return QStringLiteral("null");
}

QString describe(const QJsonValue& value)
{
    switch (value.type()) {
    case QJsonValue::Null:
        return QStringLiteral("null");
    case QJsonValue::Bool:
        return value.toBool() ? QStringLiteral("true") : QStringLiteral("false");
    case QJsonValue::Double:
        return QStringLiteral("a number");
    case QJsonValue::String:
        return QStringLiteral("a string");
    case QJsonValue::Array:
        return QStringLiteral("an array");
    case QJsonValue::Object:
        return QStringLiteral("an object");
    case QJsonValue::Undefined:
        break;
    }
    return QStringLiteral("nothing");
}

QString jsonTypeName(const QJsonValue& value)
{
    // As describe(), except that both booleans are one type and a missing value counts as null.
    if (value.isBool())
        return QStringLiteral("a bool");
    if (value.isUndefined())
        return QStringLiteral("null");
    return describe(value);
}

} // namespace flowdeck::detail
