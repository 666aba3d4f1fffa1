#include "flow/substitution.h"

#include "flow/jsonpath.h"
#include "flow/jsontext.h"
#include "flow/references.h"

#include <QJsonArray>
#include <QRegularExpression>

#include <algorithm>

namespace flowdeck {

namespace detail {

namespace {

//! "{{name}}" or "{{ name }}"; the name uses the same characters as task ids.
const QRegularExpression& placeholderPattern()
{
    static const QRegularExpression pattern(QStringLiteral("\\{\\{\\s*([A-Za-z0-9_.\\-]+)\\s*\\}\\}"));
    return pattern;
}

bool replaceMapIndex(QJsonValue& value, const QString& text)
{
    switch (value.type()) {
    case QJsonValue::String: {
        QString string = value.toString();
        if (!string.contains(mapIndexToken()))
            return false;
        value = string.replace(mapIndexToken(), text);
        return true;
    }
    case QJsonValue::Array: {
        QJsonArray array = value.toArray();
        bool changed = false;
        for (qsizetype i = 0; i < array.size(); ++i) {
            QJsonValue item = array.at(i);
            if (replaceMapIndex(item, text)) {
                array.replace(i, item);
                changed = true;
            }
        }
        if (changed)
            value = array;
        return changed;
    }
    case QJsonValue::Object: {
        QJsonObject object = value.toObject();
        bool changed = false;
        for (auto it = object.begin(); it != object.end(); ++it) {
            QJsonValue item = it.value();
            if (replaceMapIndex(item, text)) {
                it.value() = item;
                changed = true;
            }
        }
        if (changed)
            value = object;
        return changed;
    }
    default:
        return false;
    }
}

} // namespace

QString mapIndexToken()
{
    return QStringLiteral("{{map_index}}");
}

QString mapIndexName()
{
    return QStringLiteral("map_index");
}

bool isMapIndexToken(const QJsonValue& value)
{
    return value.isString() && value.toString() == mapIndexToken();
}

QJsonValue validationValue(const QJsonValue& value)
{
    return isMapIndexToken(value) ? QJsonValue(0) : value;
}

bool containsMapIndex(const QJsonValue& value)
{
    switch (value.type()) {
    case QJsonValue::String:
        return value.toString().contains(mapIndexToken());
    case QJsonValue::Array: {
        const QJsonArray array = value.toArray();
        return std::any_of(array.begin(), array.end(),
                           [](const QJsonValue& item) { return containsMapIndex(item); });
    }
    case QJsonValue::Object: {
        const QJsonObject object = value.toObject();
        return std::any_of(object.begin(), object.end(),
                           [](const QJsonValue& item) { return containsMapIndex(item); });
    }
    default:
        return false;
    }
}

QJsonValue ParameterSubstitution::apply(const QJsonValue& value, const QString& path)
{
    switch (value.type()) {
    case QJsonValue::String:
        return applyToString(value.toString(), path);
    case QJsonValue::Array: {
        QJsonArray array = value.toArray();
        for (qsizetype i = 0; i < array.size(); ++i) {
            const QJsonValue item = array.at(i);
            if (item.isString() || item.isArray() || item.isObject())
                array.replace(i, apply(item, itemPath(path, i)));
        }
        return array;
    }
    case QJsonValue::Object: {
        QJsonObject object = value.toObject();
        for (auto it = object.begin(); it != object.end(); ++it) {
            const QJsonValue item = it.value();
            if (item.isString() || item.isArray() || item.isObject())
                it.value() = apply(item, childPath(path, it.key()));
        }
        return object;
    }
    default:
        return value;
    }
}

QJsonValue ParameterSubstitution::applyToString(const QString& text, const QString& path)
{
    if (!text.contains(QStringLiteral("{{")))
        return text;
    QString result;
    qsizetype last = 0;
    auto matches = placeholderPattern().globalMatch(text);
    while (matches.hasNext()) {
        const QRegularExpressionMatch match = matches.next();
        const QString name = match.captured(1);
        const bool whole = match.capturedStart() == 0 && match.capturedLength() == text.size();
        result += QStringView(text).mid(last, match.capturedStart() - last);
        last = match.capturedEnd();
        if (isReferenceName(name)) {
            result += match.captured(0); // resolved per task run (flow/references.h)
        } else if (name == mapIndexName()) {
            if (!m_mapIndexAllowed)
                m_errors.append({path, m_mapIndexError});
            result += mapIndexToken();
        } else if (m_parameters.contains(name)) {
            const QJsonValue value = m_parameters.value(name);
            if (whole)
                return value;
            result += valueText(value);
        } else {
            m_errors.append({path, QStringLiteral("unknown parameter %1").arg(quoted(name))});
            result += match.captured(0);
        }
    }
    result += QStringView(text).mid(last);
    return result;
}

} // namespace detail

QJsonObject substituteMapIndex(const QJsonObject& config, int mapIndex)
{
    QJsonObject result = config;
    QString text;
    for (auto it = config.begin(); it != config.end(); ++it) {
        QJsonValue value = it.value();
        if (value.isString() && value.toString() == detail::mapIndexToken()) {
            result.insert(it.key(), mapIndex);
            continue;
        }
        if (text.isEmpty())
            text = QString::number(mapIndex);
        if (detail::replaceMapIndex(value, text))
            result.insert(it.key(), value);
    }
    return result;
}

} // namespace flowdeck
