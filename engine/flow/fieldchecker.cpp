#include "flow/fieldchecker.h"

#include "flow/jsonpath.h"
#include "flow/jsontext.h"

#include <QJsonArray>
#include <QJsonObject>

namespace flowdeck::detail {

namespace {

bool isInteger(const QJsonValue& value)
{
    return value.isDouble() && isIntegral(value.toDouble());
}

//! The largest value a field may hold as a duration, by its name: "seconds" and "*_s" in seconds,
//! "*_ms" in milliseconds; nullopt for fields that are not durations.
std::optional<double> durationMax(const QString& name)
{
    if (name == u"seconds" || name.endsWith(u"_s"))
        return MaxDurationSeconds;
    if (name.endsWith(u"_ms"))
        return MaxDurationSeconds * 1000.0;
    return std::nullopt;
}

} // namespace

void FieldChecker::typeError(const QString& path, const QString& expected, const QJsonValue& found)
{
    error(path, QStringLiteral("expected %1, found %2").arg(expected, describe(found)));
}

void FieldChecker::integerError(const QString& path, const QString& expected, const QJsonValue& found)
{
    const QString foundText = found.isDouble() ? formatNumber(found.toDouble()) : describe(found);
    error(path, QStringLiteral("expected %1, found %2").arg(expected, foundText));
}

void FieldChecker::missing(const QString& path, const QString& field, const QString& kind)
{
    if (kind.isEmpty())
        error(path, QStringLiteral("missing required field %1").arg(quoted(field)));
    else
        error(path, QStringLiteral("missing required field %1 for kind %2").arg(quoted(field), quoted(kind)));
}

bool FieldChecker::bounds(double d, const FieldSpec& spec, const QString& path)
{
    if (spec.min && d < *spec.min) {
        error(path,
              QStringLiteral("must be at least %1, found %2").arg(formatNumber(*spec.min), formatNumber(d)));
        return false;
    }
    if (spec.max && d > *spec.max) {
        error(path,
              QStringLiteral("must be at most %1, found %2").arg(formatNumber(*spec.max), formatNumber(d)));
        return false;
    }
    return true;
}

bool FieldChecker::field(const QJsonValue& value, const FieldSpec& spec, const QString& path)
{
    const qsizetype before = m_errors.size();
    // Every duration field gets the same upper bound, whichever kind declares it.
    const std::optional<double> longest = durationMax(spec.name);
    if (longest && (!spec.max || *spec.max > *longest)) {
        FieldSpec bounded = spec;
        bounded.max = longest;
        checkField(value, bounded, path);
    } else {
        checkField(value, spec, path);
    }
    return m_errors.size() == before;
}

void FieldChecker::checkField(const QJsonValue& value, const FieldSpec& spec, const QString& path)
{
    const QString expected = toString(spec.type);
    switch (spec.type) {
    case FieldType::Number:
        if (!value.isDouble())
            return typeError(path, expected, value);
        bounds(value.toDouble(), spec, path);
        return;
    case FieldType::Integer:
        if (!isInteger(value))
            return integerError(path, expected, value);
        bounds(value.toDouble(), spec, path);
        return;
    case FieldType::String:
        if (!value.isString())
            typeError(path, expected, value);
        return;
    case FieldType::Bool:
        if (!value.isBool())
            typeError(path, expected, value);
        return;
    case FieldType::StringList:
        return checkStringList(value, expected, path);
    case FieldType::StringMap:
        return checkStringMap(value, expected, path);
    case FieldType::NumberOrRange:
        return checkNumberOrRange(value, spec, path);
    case FieldType::IntegerOrList:
        return checkIntegerOrList(value, spec, path);
    case FieldType::StringOrObject:
        if (!value.isString() && !value.isObject())
            typeError(path, expected, value);
        return;
    case FieldType::Any:
        return;
    }
}

void FieldChecker::checkStringList(const QJsonValue& value, const QString& expected, const QString& path)
{
    if (!value.isArray())
        return typeError(path, expected, value);
    const QJsonArray array = value.toArray();
    for (qsizetype i = 0; i < array.size(); ++i) {
        if (!array.at(i).isString())
            typeError(itemPath(path, i), QStringLiteral("a string"), array.at(i));
    }
}

void FieldChecker::checkStringMap(const QJsonValue& value, const QString& expected, const QString& path)
{
    if (!value.isObject())
        return typeError(path, expected, value);
    const QJsonObject object = value.toObject();
    for (auto it = object.begin(); it != object.end(); ++it) {
        if (!it.value().isString())
            typeError(childPath(path, it.key()), QStringLiteral("a string"), it.value());
    }
}

void FieldChecker::checkNumberOrRange(const QJsonValue& value, const FieldSpec& spec, const QString& path)
{
    const QString expected = toString(spec.type);
    if (value.isDouble()) {
        bounds(value.toDouble(), spec, path);
        return;
    }
    if (!value.isArray())
        return typeError(path, expected, value);
    const QJsonArray array = value.toArray();
    if (array.size() != 2) {
        error(path,
              QStringLiteral("expected %1, found an array of %2 items").arg(expected).arg(array.size()));
        return;
    }
    bool ok = true;
    for (qsizetype i = 0; i < 2; ++i) {
        if (!array.at(i).isDouble()) {
            typeError(itemPath(path, i), QStringLiteral("a number"), array.at(i));
            ok = false;
        } else if (!bounds(array.at(i).toDouble(), spec, itemPath(path, i))) {
            ok = false;
        }
    }
    if (ok && array.at(0).toDouble() > array.at(1).toDouble()) {
        error(path,
              QStringLiteral("range minimum %1 is greater than maximum %2")
                  .arg(formatNumber(array.at(0).toDouble()), formatNumber(array.at(1).toDouble())));
    }
}

void FieldChecker::checkIntegerOrList(const QJsonValue& value, const FieldSpec& spec, const QString& path)
{
    const QString expected = toString(spec.type);
    if (isInteger(value)) {
        bounds(value.toDouble(), spec, path);
        return;
    }
    if (!value.isArray())
        return value.isDouble() ? integerError(path, expected, value) : typeError(path, expected, value);
    const QJsonArray array = value.toArray();
    for (qsizetype i = 0; i < array.size(); ++i) {
        if (!isInteger(array.at(i)))
            integerError(itemPath(path, i), QStringLiteral("an integer"), array.at(i));
        else
            bounds(array.at(i).toDouble(), spec, itemPath(path, i));
    }
}

} // namespace flowdeck::detail
