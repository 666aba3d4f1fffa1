#include "flow/references.h"

#include "flow/jsonpath.h"
#include "flow/jsontext.h"

#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QJsonParseError>

#include <cmath>

namespace flowdeck {

using namespace detail;

namespace {

const QString TasksPrefix = QStringLiteral("tasks.");
const QString ResultWord = QStringLiteral(".result");

bool isKeyChar(QChar c)
{
    return c != u'.' && c != u'[' && c != u']' && c != u'{' && c != u'}' && c != u'"' && !c.isSpace();
}

QString malformed(QStringView inner, qsizetype at, const QString& what)
{
    return QStringLiteral("malformed reference \"{{%1}}\" at character %2: %3")
        .arg(inner.toString())
        .arg(at + 1)
        .arg(what);
}

//! Parses ".key" and "[index]" steps of \a inner from \a pos on.
bool parsePath(QStringView inner, qsizetype pos, QList<PathStep>& path, QString* error)
{
    while (pos < inner.size()) {
        const QChar c = inner.at(pos);
        if (c == u'.') {
            qsizetype end = pos + 1;
            while (end < inner.size() && isKeyChar(inner.at(end)))
                ++end;
            if (end == pos + 1) {
                *error = malformed(inner, pos + 1, QStringLiteral("expected a key after \".\""));
                return false;
            }
            path.append({inner.mid(pos + 1, end - pos - 1).toString(), -1});
            pos = end;
        } else if (c == u'[') {
            qsizetype end = pos + 1;
            while (end < inner.size() && inner.at(end).isDigit())
                ++end;
            if (end == pos + 1 || end >= inner.size() || inner.at(end) != u']') {
                *error = malformed(inner, end < inner.size() ? end : pos,
                                   QStringLiteral("expected an index in digits and \"]\" after \"[\""));
                return false;
            }
            bool ok = false;
            const qsizetype index = inner.mid(pos + 1, end - pos - 1).toLongLong(&ok);
            if (!ok || index > std::numeric_limits<int>::max()) {
                *error = malformed(inner, pos + 1, QStringLiteral("the index is too large"));
                return false;
            }
            path.append({QString(), index});
            pos = end + 1;
        } else {
            *error = malformed(inner, pos,
                               QStringLiteral("expected \".key\" or \"[index]\", found \"%1\"").arg(c));
            return false;
        }
    }
    return true;
}

QString stepsText(const QString& referenceText, const QList<PathStep>& path, qsizetype count)
{
    Q_UNUSED(referenceText)
    QString text;
    for (qsizetype i = 0; i < count; ++i) {
        const PathStep& step = path.at(i);
        text += step.isIndex() ? QStringLiteral("[%1]").arg(step.index) : u'.' + step.key;
    }
    return text;
}

bool renderValue(QJsonValue& value, const ReferenceLookup& lookup,
                 const std::function<bool(const QString&)>& isTask, QString* error);

std::optional<QJsonValue> renderString(const QString& text, const ReferenceLookup& lookup,
                                       const std::function<bool(const QString&)>& isTask, QString* error,
                                       bool* changed)
{
    *changed = false;
    if (!text.contains(QStringLiteral("{{")))
        return QJsonValue(text);
    const QList<Placeholder> found = placeholders(text);
    QString out;
    qsizetype last = 0;
    for (const Placeholder& p : found) {
        if (!isReferenceName(p.inner))
            continue;
        const std::optional<Reference> reference = parseReference(p.inner, isTask, error);
        if (!reference)
            return std::nullopt;
        const std::optional<QJsonValue> value = lookup(*reference, error);
        if (!value)
            return std::nullopt;
        *changed = true;
        if (p.start == 0 && p.length == text.size())
            return *value; // the whole field: the value keeps its JSON type
        out += QStringView(text).mid(last, p.start - last);
        out += valueText(*value);
        last = p.start + p.length;
    }
    out += QStringView(text).mid(last);
    return QJsonValue(out);
}

bool renderValue(QJsonValue& value, const ReferenceLookup& lookup,
                 const std::function<bool(const QString&)>& isTask, QString* error)
{
    switch (value.type()) {
    case QJsonValue::String: {
        bool changed = false;
        std::optional<QJsonValue> rendered = renderString(value.toString(), lookup, isTask, error, &changed);
        if (!rendered)
            return false;
        if (changed)
            value = *rendered;
        return true;
    }
    case QJsonValue::Array: {
        QJsonArray array = value.toArray();
        bool changed = false;
        for (qsizetype i = 0; i < array.size(); ++i) {
            QJsonValue item = array.at(i);
            if (!containsReference(item))
                continue;
            if (!renderValue(item, lookup, isTask, error))
                return false;
            array.replace(i, item);
            changed = true;
        }
        if (changed)
            value = array;
        return true;
    }
    case QJsonValue::Object: {
        QJsonObject object = value.toObject();
        bool changed = false;
        for (auto it = object.begin(); it != object.end(); ++it) {
            QJsonValue item = it.value();
            if (!containsReference(item))
                continue;
            if (!renderValue(item, lookup, isTask, error))
                return false;
            it.value() = item;
            changed = true;
        }
        if (changed)
            value = object;
        return true;
    }
    default:
        return true;
    }
}

} // namespace

bool isReferenceName(QStringView name)
{
    return name.startsWith(TasksPrefix) || name == u"tasks" || name.startsWith(u"upstream") || name == u"item"
        || name.startsWith(u"item.") || name.startsWith(u"item[");
}

std::optional<Reference> parseReference(QStringView inner, const std::function<bool(const QString&)>& isTask,
                                        QString* error)
{
    Reference reference;
    reference.text = inner.toString();
    qsizetype pathStart = 0;
    if (inner.startsWith(TasksPrefix)) {
        const QStringView rest = inner.mid(TasksPrefix.size());
        QList<qsizetype> candidates;
        for (qsizetype p = rest.indexOf(ResultWord); p >= 0; p = rest.indexOf(ResultWord, p + 1)) {
            const qsizetype after = p + ResultWord.size();
            if (after == rest.size() || rest.at(after) == u'.' || rest.at(after) == u'[')
                candidates.append(p);
        }
        if (candidates.isEmpty()) {
            *error = malformed(inner, TasksPrefix.size(),
                               QStringLiteral("expected \"tasks.ID.result\", then an optional path such as "
                                              "\".body.items[0]\""));
            return std::nullopt;
        }
        qsizetype chosen = -1;
        for (qsizetype p : std::as_const(candidates)) {
            if (p > 0 && isTask(rest.left(p).toString())) {
                chosen = p;
                break;
            }
        }
        if (chosen < 0) {
            chosen = candidates.first();
            reference.knownTask = false;
        }
        if (chosen == 0) {
            *error = malformed(inner, TasksPrefix.size(), QStringLiteral("the task id is missing"));
            return std::nullopt;
        }
        reference.source = Reference::Source::TaskResult;
        reference.task = rest.left(chosen).toString();
        pathStart = TasksPrefix.size() + chosen + ResultWord.size();
    } else if (inner.startsWith(u"upstream")) {
        const QString word = QStringLiteral("upstream.result");
        if (!inner.startsWith(word)
            || (inner.size() > word.size() && inner.at(word.size()) != u'.'
                && inner.at(word.size()) != u'[')) {
            *error
                = malformed(inner, 0, QStringLiteral("expected \"upstream.result\", then an optional path"));
            return std::nullopt;
        }
        reference.source = Reference::Source::UpstreamResult;
        pathStart = word.size();
    } else if (inner == u"item" || inner.startsWith(u"item.") || inner.startsWith(u"item[")) {
        reference.source = Reference::Source::Item;
        pathStart = 4;
    } else {
        *error = malformed(inner, 0,
                           QStringLiteral("expected \"tasks.ID.result\", \"upstream.result\" or \"item\""));
        return std::nullopt;
    }
    if (!parsePath(inner, pathStart, reference.path, error))
        return std::nullopt;
    return reference;
}

QList<Placeholder> placeholders(const QString& text)
{
    QList<Placeholder> found;
    qsizetype from = 0;
    for (;;) {
        const qsizetype open = text.indexOf(QStringLiteral("{{"), from);
        if (open < 0)
            break;
        const qsizetype close = text.indexOf(QStringLiteral("}}"), open + 2);
        if (close < 0)
            break;
        found.append({open, close + 2 - open, text.mid(open + 2, close - open - 2).trimmed()});
        from = close + 2;
    }
    return found;
}

void forEachReference(const QJsonValue& value, const QString& path,
                      const std::function<void(const QString& inner, const QString& path)>& onReference)
{
    switch (value.type()) {
    case QJsonValue::String: {
        const QString text = value.toString();
        if (!text.contains(QStringLiteral("{{")))
            return;
        for (const Placeholder& p : placeholders(text)) {
            if (isReferenceName(p.inner))
                onReference(p.inner, path);
        }
        return;
    }
    case QJsonValue::Array: {
        const QJsonArray array = value.toArray();
        for (qsizetype i = 0; i < array.size(); ++i)
            forEachReference(array.at(i), itemPath(path, i), onReference);
        return;
    }
    case QJsonValue::Object: {
        const QJsonObject object = value.toObject();
        for (auto it = object.begin(); it != object.end(); ++it)
            forEachReference(it.value(), childPath(path, it.key()), onReference);
        return;
    }
    default:
        return;
    }
}

bool containsReference(const QJsonValue& value)
{
    bool found = false;
    forEachReference(value, QString(), [&](const QString&, const QString&) { found = true; });
    return found;
}

std::optional<QJsonValue> followPath(const QJsonValue& value, const QList<PathStep>& path,
                                     const QString& referenceText, QString* error)
{
    QJsonValue at = value;
    for (qsizetype i = 0; i < path.size(); ++i) {
        const PathStep& step = path.at(i);
        const QString where = stepsText(referenceText, path, i);
        const QString place = where.isEmpty() ? QStringLiteral("the top") : quoted(where);
        if (step.isIndex()) {
            if (!at.isArray()) {
                *error = QStringLiteral("reference \"{{%1}}\" does not resolve: %2 is %3, not an array")
                             .arg(referenceText, place, describe(at));
                return std::nullopt;
            }
            const QJsonArray array = at.toArray();
            if (step.index >= array.size()) {
                *error = QStringLiteral("reference \"{{%1}}\" does not resolve: index %2 is out of range; %3 "
                                        "has %4 elements")
                             .arg(referenceText)
                             .arg(step.index)
                             .arg(place)
                             .arg(array.size());
                return std::nullopt;
            }
            at = array.at(step.index);
        } else {
            if (!at.isObject()) {
                *error = QStringLiteral("reference \"{{%1}}\" does not resolve: %2 is %3, not an object with "
                                        "key %4")
                             .arg(referenceText, place, describe(at), quoted(step.key));
                return std::nullopt;
            }
            const QJsonObject object = at.toObject();
            const auto it = object.constFind(step.key);
            if (it == object.constEnd()) {
                QStringList keys = object.keys();
                *error = QStringLiteral("reference \"{{%1}}\" does not resolve: no key %2 at %3; keys there: "
                                        "%4")
                             .arg(referenceText, quoted(step.key), place,
                                  keys.isEmpty() ? QStringLiteral("none") : keys.join(QStringLiteral(", ")));
                return std::nullopt;
            }
            at = it.value();
        }
    }
    return at;
}

std::optional<QJsonValue> renderReferences(const QJsonValue& value, const ReferenceLookup& lookup,
                                           const std::function<bool(const QString&)>& isTask, QString* error)
{
    QJsonValue rendered = value;
    if (!renderValue(rendered, lookup, isTask, error))
        return std::nullopt;
    return rendered;
}

QByteArray jsonBytes(const QJsonValue& value)
{
    switch (value.type()) {
    case QJsonValue::Array:
        return QJsonDocument(value.toArray()).toJson(QJsonDocument::Compact);
    case QJsonValue::Object:
        return QJsonDocument(value.toObject()).toJson(QJsonDocument::Compact);
    case QJsonValue::Null:
    case QJsonValue::Undefined:
        return QByteArrayLiteral("null");
    case QJsonValue::Bool:
        return value.toBool() ? QByteArrayLiteral("true") : QByteArrayLiteral("false");
    case QJsonValue::Double: {
        const double d = value.toDouble();
        if (isIntegral(d) && std::abs(d) < 9.0e15)
            return QByteArray::number(qint64(d));
        [[fallthrough]];
    }
    default: {
        const QByteArray wrapped = QJsonDocument(QJsonArray{value}).toJson(QJsonDocument::Compact);
        return wrapped.mid(1, wrapped.size() - 2);
    }
    }
}

std::optional<QJsonValue> parseJsonValue(const QByteArray& text, QString* error)
{
    // Wrapped in an array so that scalars parse too; offsets are moved back by the bracket.
    QJsonParseError parseError;
    const QJsonDocument document = QJsonDocument::fromJson('[' + text + ']', &parseError);
    if (parseError.error == QJsonParseError::NoError && document.array().size() == 1)
        return document.array().at(0);
    qsizetype offset = std::clamp<qsizetype>(parseError.offset - 1, 0, text.size());
    QString what = parseError.errorString();
    if (parseError.error == QJsonParseError::NoError) {
        what = document.array().isEmpty() ? QStringLiteral("no JSON value")
                                          : QStringLiteral("more than one value");
        offset = 0;
    }
    const qsizetype line = text.left(offset).count('\n') + 1;
    const qsizetype lineStart = offset > 0 ? text.lastIndexOf('\n', offset - 1) + 1 : 0;
    const qsizetype column = QString::fromUtf8(text.mid(lineStart, offset - lineStart)).size() + 1;
    *error = QStringLiteral("invalid JSON at line %1, column %2: %3").arg(line).arg(column).arg(what);
    return std::nullopt;
}

} // namespace flowdeck
