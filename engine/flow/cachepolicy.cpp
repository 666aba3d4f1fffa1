#include "flow/cachepolicy.h"

#include "flow/fieldchecker.h"
#include "flow/jsonpath.h"
#include "flow/jsontext.h"

#include <QJsonObject>

namespace flowdeck::detail {

namespace {

QString inputsWord()
{
    return QStringLiteral("inputs");
}

QString expectedText()
{
    return QStringLiteral("\"inputs\" or an object with \"key\" (and \"expiration_s\")");
}

} // namespace

std::optional<CachePolicy> parseCachePolicy(const QJsonValue& value, const QString& path, FieldChecker& check)
{
    CachePolicy policy;
    if (value.isString()) {
        if (value.toString() != inputsWord()) {
            check.error(path,
                        QStringLiteral("expected %1, found the string %2")
                            .arg(expectedText(), quoted(value.toString())));
            return std::nullopt;
        }
        policy.inputs = true;
        return policy;
    }
    if (!value.isObject()) {
        check.typeError(path, expectedText(), value);
        return std::nullopt;
    }
    const QJsonObject object = value.toObject();
    bool ok = true;
    for (auto it = object.begin(); it != object.end(); ++it) {
        if (it.key() != u"key" && it.key() != u"expiration_s") {
            check.error(childPath(path, it.key()),
                        QStringLiteral("unknown field %1 (\"cache\" takes \"key\" and \"expiration_s\")")
                            .arg(quoted(it.key())));
            ok = false;
        }
    }
    const QString keyPath = childPath(path, QStringLiteral("key"));
    const QJsonValue key = object.value(QStringLiteral("key"));
    if (key.isUndefined()) {
        check.missing(keyPath, QStringLiteral("key"));
        ok = false;
    } else if (key.isString() && key.toString() == inputsWord()) {
        policy.inputs = true;
    } else if (!key.isString() || key.toString().trimmed().isEmpty()) {
        if (key.isString())
            check.error(keyPath, QStringLiteral("must not be empty"));
        else
            check.typeError(keyPath, QStringLiteral("a string"), key);
        ok = false;
    } else {
        policy.keyTemplate = key.toString();
    }
    const QString expirationKey = QStringLiteral("expiration_s");
    if (object.contains(expirationKey)) {
        const QString expirationPath = childPath(path, expirationKey);
        const QJsonValue expiration = object.value(expirationKey);
        if (!expiration.isDouble()) {
            check.typeError(expirationPath, QStringLiteral("a number"), expiration);
            ok = false;
        } else if (!(expiration.toDouble() > 0.0)) {
            check.error(
                expirationPath,
                QStringLiteral("must be greater than 0, found %1").arg(formatNumber(expiration.toDouble())));
            ok = false;
        } else if (check.field(expiration,
                               FieldSpec{expirationKey, FieldType::Number, false, {}, MaxDurationSeconds, {}},
                               expirationPath)) {
            policy.expirationSeconds = expiration.toDouble();
        } else {
            ok = false;
        }
    }
    if (!ok)
        return std::nullopt;
    return policy;
}

} // namespace flowdeck::detail
