#include "flow/referencecheck.h"

#include "flow/jsontext.h"
#include "flow/references.h"

namespace flowdeck::detail {

QList<ResultUse> checkReferences(const QJsonValue& value, const QString& path, const ReferenceScope& scope,
                                 const std::function<bool(const QString&)>& isTask, ValidationErrors& errors)
{
    QList<ResultUse> uses;
    forEachReference(value, path, [&](const QString& inner, const QString& place) {
        QString error;
        const std::optional<Reference> reference = parseReference(inner, isTask, &error);
        if (!reference) {
            errors.append({place, error});
            return;
        }
        switch (reference->source) {
        case Reference::Source::TaskResult:
            if (!reference->knownTask) {
                errors.append({place,
                               QStringLiteral("\"{{%1}}\" names no task of this flow (no task named %2)")
                                   .arg(inner, quoted(reference->task))});
            } else if (!scope.ownId.isEmpty() && reference->task == scope.ownId) {
                errors.append({place,
                               QStringLiteral("task %1 cannot read its own result (\"{{%2}}\")")
                                   .arg(quoted(scope.ownId), inner)});
            } else {
                uses.append({reference->task, place});
            }
            return;
        case Reference::Source::UpstreamResult:
            if (scope.taskResultsOnly || !scope.mapOver) {
                errors.append({place,
                               QStringLiteral("\"{{%1}}\" can only be used in a task with \"map_over\" "
                                              "(it reads the matching upstream run's result)")
                                   .arg(inner)});
            }
            return;
        case Reference::Source::Item:
            if (scope.taskResultsOnly || !scope.forEach) {
                errors.append(
                    {place,
                     QStringLiteral("\"{{%1}}\" can only be used in a task with \"for_each\"").arg(inner)});
            }
            return;
        }
    });
    return uses;
}

bool isWholeReference(const QJsonValue& value)
{
    if (!value.isString())
        return false;
    const QString text = value.toString();
    const QList<Placeholder> found = placeholders(text);
    return found.size() == 1 && found.first().start == 0 && found.first().length == text.size()
        && isReferenceName(found.first().inner);
}

} // namespace flowdeck::detail
