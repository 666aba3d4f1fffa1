#pragma once

#include <QByteArray>
#include <QJsonValue>
#include <QList>
#include <QString>
#include <QStringView>

#include <functional>
#include <optional>

namespace flowdeck {

//! One step of a path into a JSON value: ".key" or "[index]".
struct PathStep {
    QString key;
    qsizetype index = -1; //!< >= 0 for "[index]"
    bool isIndex() const { return index >= 0; }
    bool operator==(const PathStep&) const = default;
};

/**
 * A "{{...}}" in a task's field that is resolved when a task run starts, not when the flow is read:
 * "{{tasks.ID.result.PATH}}", "{{upstream.result.PATH}}" (inside map_over), "{{item.PATH}}" (inside
 * for_each). "{{map_index}}" is handled apart (flow/substitution.h).
 */
struct Reference {
    enum class Source { TaskResult, UpstreamResult, Item };
    Source source = Source::TaskResult;
    QString task;          //!< TaskResult: the task whose result it reads
    bool knownTask = true; //!< false when no task of the flow has that id
    QList<PathStep> path;
    QString text; //!< as written between the braces, trimmed: "tasks.a.result.body"
};

//! True when \a name (the inside of "{{...}}", trimmed) is meant as a run-time reference rather than
//! a parameter: it begins with "tasks.", "upstream" or "item".
bool isReferenceName(QStringView name);

/**
 * Parses the inside of a "{{...}}" that isReferenceName(). A task id may contain dots: the id is the
 * longest prefix before ".result" for which \a isTask is true (or the first, with knownTask false).
 * Returns nullopt with \a error naming the place within the reference when it is malformed.
 */
std::optional<Reference> parseReference(QStringView inner, const std::function<bool(const QString&)>& isTask,
                                        QString* error);

//! A "{{...}}" found in a string: where it is and what is inside (trimmed).
struct Placeholder {
    qsizetype start = 0;
    qsizetype length = 0;
    QString inner;
};
//! The placeholders of \a text, in order (an unclosed "{{" is none).
QList<Placeholder> placeholders(const QString& text);

//! Calls \a onReference(inner, path) for every reference placeholder in the strings of \a value;
//! \a path is where the string is ("tasks[2].url", "tasks[2].command[1]").
void forEachReference(const QJsonValue& value, const QString& path,
                      const std::function<void(const QString& inner, const QString& path)>& onReference);

//! True when some string in \a value holds a reference placeholder.
bool containsReference(const QJsonValue& value);

//! Follows \a path into \a value. Returns nullopt with \a error naming the place that is missing
//! and what exists there (the keys of an object, the length of an array).
std::optional<QJsonValue> followPath(const QJsonValue& value, const QList<PathStep>& path,
                                     const QString& referenceText, QString* error);

//! Looks a reference up for a task run; nullopt with an error when it cannot be resolved.
using ReferenceLookup = std::function<std::optional<QJsonValue>(const Reference&, QString* error)>;

/**
 * \a value with every reference replaced through \a lookup: a string that is only a reference takes
 * the value with its JSON type; a reference inside a longer string is rendered as text (strings as
 * they are, other values as compact JSON). \a isTask tells task ids for parsing.
 */
std::optional<QJsonValue> renderReferences(const QJsonValue& value, const ReferenceLookup& lookup,
                                           const std::function<bool(const QString&)>& isTask, QString* error);

//! Any JSON value as compact JSON text (a string in quotes; null as "null").
QByteArray jsonBytes(const QJsonValue& value);
//! Parses any JSON value (a scalar too); nullopt on an error, with \a error saying where (line and
//! column) and what.
std::optional<QJsonValue> parseJsonValue(const QByteArray& text, QString* error);

} // namespace flowdeck
