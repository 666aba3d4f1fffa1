#include "flow/tasklist.h"

#include "flow/cachepolicy.h"
#include "flow/fieldchecker.h"
#include "flow/jsonpath.h"
#include "flow/jsontext.h"
#include "flow/referencecheck.h"
#include "flow/references.h"
#include "flow/substitution.h"
#include "flow/taskkind.h"

#include <QHash>
#include <QSet>

#include <algorithm>
#include <cmath>
#include <limits>

namespace flowdeck {

using namespace detail;

namespace {
bool isNameChar(QChar c)
{
    return (c >= u'a' && c <= u'z') || (c >= u'A' && c <= u'Z') || (c >= u'0' && c <= u'9') || c == u'_'
        || c == u'-' || c == u'.';
}

//! Fields every task may have, whatever its kind.
const QStringList& commonTaskFields()
{
    static const QStringList fields = {
        QStringLiteral("id"),          QStringLiteral("kind"),
        QStringLiteral("depends_on"),  QStringLiteral("tags"),
        QStringLiteral("map"),         QStringLiteral("map_over"),
        QStringLiteral("retries"),     QStringLiteral("retry_delay_s"),
        QStringLiteral("timeout_s"),   QStringLiteral("description"),
        QStringLiteral("concurrency"), QStringLiteral("rate_limit"),
        QStringLiteral("for_each"),    QStringLiteral("max_result_bytes"),
        QStringLiteral("cache"),
    };
    return fields;
}

//! One entry of "concurrency" or "rate_limit": a limit's name, or {"name", "occupy", "strict"}.
std::optional<LimitUse> parseLimitUse(const QJsonValue& value, const QString& path, FieldChecker& check)
{
    LimitUse use;
    QString namePath = path;
    QJsonValue name = value;
    if (value.isObject()) {
        const QJsonObject object = value.toObject();
        bool ok = true;
        for (auto it = object.begin(); it != object.end(); ++it) {
            if (it.key() != QStringLiteral("name") && it.key() != QStringLiteral("occupy")
                && it.key() != QStringLiteral("strict")) {
                check.error(childPath(path, it.key()),
                            QStringLiteral("unknown field %1 (a limit takes \"name\", \"occupy\" and "
                                           "\"strict\")")
                                .arg(quoted(it.key())));
                ok = false;
            }
        }
        namePath = childPath(path, QStringLiteral("name"));
        name = object.value(QStringLiteral("name"));
        if (name.isUndefined()) {
            check.missing(namePath, QStringLiteral("name"));
            ok = false;
        }
        const QString occupyKey = QStringLiteral("occupy");
        if (object.contains(occupyKey)) {
            FieldSpec spec{occupyKey, FieldType::Integer, false, 1.0, double(std::numeric_limits<int>::max()),
                           {}};
            if (check.field(object.value(occupyKey), spec, childPath(path, occupyKey)))
                use.occupy = object.value(occupyKey).toInt();
            else
                ok = false;
        }
        const QString strictKey = QStringLiteral("strict");
        if (object.contains(strictKey)) {
            if (object.value(strictKey).isBool())
                use.strict = object.value(strictKey).toBool();
            else {
                check.typeError(childPath(path, strictKey), QStringLiteral("true or false"),
                                object.value(strictKey));
                ok = false;
            }
        }
        if (!ok)
            return std::nullopt;
    } else if (!value.isString()) {
        check.typeError(path, QStringLiteral("a limit name (string) or an object with \"name\""), value);
        return std::nullopt;
    }
    if (!name.isString()) {
        check.typeError(namePath, QStringLiteral("a limit name (string)"), name);
        return std::nullopt;
    }
    QString why;
    if (!validLimitName(name.toString(), &why)) {
        check.error(namePath, QStringLiteral("invalid limit name %1: %2").arg(quoted(name.toString()), why));
        return std::nullopt;
    }
    use.name = name.toString();
    return use;
}

//! Reports every string in \a value (and every object key) that holds a NUL character: no command,
//! URL, header or other text a task uses can carry one (C strings would end there).
void checkNoNul(const QJsonValue& value, const QString& path, FieldChecker& check)
{
    const QChar nul(u'\0');
    if (value.isString()) {
        if (value.toString().contains(nul))
            check.error(path, QStringLiteral("must not contain a NUL character (\\u0000)"));
    } else if (value.isArray()) {
        const QJsonArray array = value.toArray();
        for (qsizetype i = 0; i < array.size(); ++i)
            checkNoNul(array.at(i), itemPath(path, i), check);
    } else if (value.isObject()) {
        const QJsonObject object = value.toObject();
        for (auto it = object.begin(); it != object.end(); ++it) {
            // A NUL is shown as "\\u0000" in the place, so the message itself never carries one.
            const QString child = childPath(path, QString(it.key()).replace(nul, QStringLiteral("\\u0000")));
            if (it.key().contains(nul))
                check.error(child, QStringLiteral("a field name must not contain a NUL character (\\u0000)"));
            checkNoNul(it.value(), child, check);
        }
    }
}

//! One task after parameter substitution, with the errors substitution found.
struct TaskInput {
    bool isObject = false;
    QJsonObject object;
    ValidationErrors substitutionErrors;
    //! Fields whose substitution failed; their values are not checked again.
    QSet<QString> failedFields;
    QString id;
    bool mapped = false;
    bool forEach = false;
};

struct Edge {
    int target = 0;
    QString path;
};

class TaskListResolver {
public:
    TaskListResolver(const TaskKindRegistry& kinds, const QJsonObject& parameters, ValidationErrors& errors)
        : m_kinds(kinds)
        , m_parameters(parameters)
        , m_errors(errors)
        , m_check(errors)
    {
    }

    QList<TaskDef> resolve(const QJsonArray& tasks)
    {
        m_inputs.reserve(tasks.size());
        for (qsizetype i = 0; i < tasks.size(); ++i)
            m_inputs.append(substitute(tasks.at(i), i));
        for (qsizetype i = 0; i < m_inputs.size(); ++i) {
            const TaskInput& input = m_inputs.at(i);
            if (input.isObject && !input.id.isEmpty() && !m_firstIndex.contains(input.id))
                m_firstIndex.insert(input.id, static_cast<int>(i));
        }

        QList<TaskDef> result;
        result.reserve(tasks.size());
        m_edges.resize(tasks.size());
        for (qsizetype i = 0; i < m_inputs.size(); ++i)
            result.append(resolveTask(static_cast<int>(i), tasks.at(i)));
        findCycles();
        return result;
    }

private:
    TaskInput substitute(const QJsonValue& value, qsizetype index)
    {
        TaskInput input;
        if (!value.isObject())
            return input;
        input.isObject = true;
        const QJsonObject raw = value.toObject();
        input.forEach = raw.contains(QStringLiteral("for_each"));
        input.mapped = raw.contains(QStringLiteral("map")) || raw.contains(QStringLiteral("map_over"))
            || input.forEach;

        ParameterSubstitution substitution(m_parameters, input.substitutionErrors);
        const QString path = taskPath(index);
        for (auto it = raw.begin(); it != raw.end(); ++it) {
            // A cache key may name the map index: each mapped run has its own entry.
            const bool typedCommon = commonTaskFields().contains(it.key())
                && it.key() != QStringLiteral("description") && it.key() != QStringLiteral("cache");
            if (!input.mapped) {
                substitution.setMapIndexAllowed(
                    false,
                    QStringLiteral("{{map_index}} can only be used in a mapped task (one with \"map\", "
                                   "\"map_over\" or \"for_each\")"));
            } else {
                substitution.setMapIndexAllowed(
                    !typedCommon,
                    QStringLiteral("{{map_index}} can only be used in the kind's fields, not in %1")
                        .arg(quoted(it.key())));
            }
            const qsizetype before = input.substitutionErrors.size();
            input.object.insert(it.key(), substitution.apply(it.value(), childPath(path, it.key())));
            if (input.substitutionErrors.size() > before)
                input.failedFields.insert(it.key());
        }
        const QJsonValue id = input.object.value(QStringLiteral("id"));
        if (id.isString())
            input.id = id.toString();
        return input;
    }

    bool hasField(const TaskInput& input, const QString& key) const
    {
        return input.object.contains(key) && !input.failedFields.contains(key);
    }

    TaskDef resolveTask(int index, const QJsonValue& raw)
    {
        TaskDef task;
        task.index = index;
        const QString path = taskPath(index);
        const TaskInput& input = m_inputs.at(index);
        if (!input.isObject) {
            m_check.typeError(path, QStringLiteral("an object"), raw);
            return task;
        }
        m_errors.append(input.substitutionErrors);
        const QJsonObject& object = input.object;
        for (auto it = object.begin(); it != object.end(); ++it) {
            if (!input.failedFields.contains(it.key()))
                checkNoNul(QJsonObject{{it.key(), it.value()}}, path, m_check);
        }

        resolveId(input, index, task);
        const TaskKind* kind = resolveKind(input, path, task);
        resolveDependencies(input, index, task);
        resolveTags(input, path, task);
        resolveLimits(input, path, task);
        resolveMapping(input, index, task);
        resolveRetries(input, path, task);
        if (hasField(input, QStringLiteral("cache"))) {
            task.cache = parseCachePolicy(object.value(QStringLiteral("cache")),
                                          childPath(path, QStringLiteral("cache")), m_check);
        }

        if (hasField(input, QStringLiteral("description"))) {
            const QJsonValue description = object.value(QStringLiteral("description"));
            if (!description.isString())
                m_check.typeError(childPath(path, QStringLiteral("description")), QStringLiteral("a string"),
                                  description);
        }

        if (kind)
            resolveConfig(input, path, *kind, task);
        resolveReferences(input, index, task);
        return task;
    }

    void resolveId(const TaskInput& input, int index, TaskDef& task)
    {
        const QString path = childPath(taskPath(index), QStringLiteral("id"));
        const QJsonValue id = input.object.value(QStringLiteral("id"));
        if (id.isUndefined()) {
            m_check.missing(path, QStringLiteral("id"));
            return;
        }
        if (input.failedFields.contains(QStringLiteral("id")))
            return;
        if (!id.isString()) {
            m_check.typeError(path, QStringLiteral("a string"), id);
            return;
        }
        task.id = id.toString();
        if (task.id.isEmpty()) {
            m_check.error(path, QStringLiteral("must not be empty"));
        } else if (!isValidName(task.id)) {
            m_check.error(path, QStringLiteral("invalid id %1: %2").arg(quoted(task.id), nameRule()));
        } else {
            const int first = m_firstIndex.value(task.id, index);
            if (first != index) {
                m_check.error(path,
                              QStringLiteral("duplicate id %1 (first used by %2)")
                                  .arg(quoted(task.id), taskPath(first)));
            }
        }
    }

    const TaskKind* resolveKind(const TaskInput& input, const QString& taskPathText, TaskDef& task)
    {
        const QString path = childPath(taskPathText, QStringLiteral("kind"));
        const QJsonValue kind = input.object.value(QStringLiteral("kind"));
        if (kind.isUndefined()) {
            m_check.missing(path, QStringLiteral("kind"));
            return nullptr;
        }
        if (input.failedFields.contains(QStringLiteral("kind")))
            return nullptr;
        if (!kind.isString()) {
            m_check.typeError(path, QStringLiteral("a string"), kind);
            return nullptr;
        }
        task.kind = kind.toString();
        const TaskKind* found = m_kinds.find(task.kind);
        if (!found) {
            QStringList known = m_kinds.names();
            known.sort();
            m_check.error(path,
                          QStringLiteral("unknown kind %1 (known kinds: %2)")
                              .arg(quoted(task.kind), known.join(QStringLiteral(", "))));
        }
        return found;
    }

    void resolveDependencies(const TaskInput& input, int index, TaskDef& task)
    {
        const QString key = QStringLiteral("depends_on");
        if (!hasField(input, key))
            return;
        forEachString(input.object.value(key), childPath(taskPath(index), key),
                      QStringLiteral("a list of task ids"), QStringLiteral("a task id (string)"),
                      [&](const QString& dependency, const QString& path) {
                          addDependency(input, index, task, dependency, path);
                      });
    }

    void addDependency(const TaskInput& input, int index, TaskDef& task, const QString& dependency,
                       const QString& path)
    {
        if (task.dependsOn.contains(dependency)) {
            m_check.error(path, QStringLiteral("%1 is listed twice").arg(quoted(dependency)));
            return;
        }
        task.dependsOn.append(dependency);
        if (!input.id.isEmpty() && dependency == input.id)
            m_check.error(path, QStringLiteral("task %1 depends on itself").arg(quoted(dependency)));
        else if (!m_firstIndex.contains(dependency))
            m_check.error(path, QStringLiteral("no task named %1").arg(quoted(dependency)));
        else
            m_edges[index].append({m_firstIndex.value(dependency), path});
    }

    void resolveTags(const TaskInput& input, const QString& taskPathText, TaskDef& task)
    {
        const QString key = QStringLiteral("tags");
        if (!hasField(input, key))
            return;
        forEachString(input.object.value(key), childPath(taskPathText, key),
                      QStringLiteral("a list of strings"), QStringLiteral("a string"),
                      [&](const QString& tag, const QString& path) { addTag(task, tag, path); });
    }

    void resolveLimits(const TaskInput& input, const QString& taskPathText, TaskDef& task)
    {
        const QString concurrencyKey = QStringLiteral("concurrency");
        if (hasField(input, concurrencyKey))
            task.concurrency = parseLimitList(input.object.value(concurrencyKey),
                                              childPath(taskPathText, concurrencyKey), m_check);
        const QString rateKey = QStringLiteral("rate_limit");
        if (hasField(input, rateKey))
            task.rateLimit
                = parseLimitUse(input.object.value(rateKey), childPath(taskPathText, rateKey), m_check);
    }

    void addTag(TaskDef& task, const QString& tag, const QString& path)
    {
        // The same rule as `concurrency-limit create` (the store keeps a run's tags comma-separated).
        QString why;
        if (tag.isEmpty())
            m_check.error(path, QStringLiteral("a tag must not be empty"));
        else if (!validTag(tag, &why))
            m_check.error(path, QStringLiteral("invalid tag %1: %2").arg(quoted(tag), why));
        else
            task.tags.append(tag);
    }

    //! Calls onItem(text, path) for each string in the array \a value at \a path; reports a value
    //! that is not an array (\a expected) and each item that is not a string (\a itemExpected).
    template<typename OnItem>
    void forEachString(const QJsonValue& value, const QString& path, const QString& expected,
                       const QString& itemExpected, OnItem onItem)
    {
        if (!value.isArray()) {
            m_check.typeError(path, expected, value);
            return;
        }
        const QJsonArray array = value.toArray();
        for (qsizetype i = 0; i < array.size(); ++i) {
            const QString itemPathText = itemPath(path, i);
            if (array.at(i).isString())
                onItem(array.at(i).toString(), itemPathText);
            else
                m_check.typeError(itemPathText, itemExpected, array.at(i));
        }
    }

    void resolveMapping(const TaskInput& input, int index, TaskDef& task)
    {
        const QString taskPathText = taskPath(index);
        const QString mapKey = QStringLiteral("map");
        const QString mapOverKey = QStringLiteral("map_over");
        if (hasField(input, mapKey)) {
            const QString path = childPath(taskPathText, mapKey);
            const QJsonValue value = input.object.value(mapKey);
            FieldSpec spec{mapKey, FieldType::Integer, false, 0.0, double(MaxTaskRunsPerFlowRun), {}};
            if (m_check.field(value, spec, path))
                task.map = value.toInt();
        }
        resolveForEach(input, index, task);
        if (!hasField(input, mapOverKey))
            return;
        const QString path = childPath(taskPathText, mapOverKey);
        const QJsonValue value = input.object.value(mapOverKey);
        if (input.object.contains(mapKey)) {
            m_check.error(path, QStringLiteral("a task cannot have both \"map\" and \"map_over\""));
            return;
        }
        if (!value.isString()) {
            m_check.typeError(path, QStringLiteral("a task id (string)"), value);
            return;
        }
        task.mapOver = value.toString();
        if (!input.id.isEmpty() && task.mapOver == input.id) {
            m_check.error(path, QStringLiteral("task %1 cannot map over itself").arg(quoted(task.mapOver)));
            return;
        }
        const auto target = m_firstIndex.constFind(task.mapOver);
        if (target == m_firstIndex.constEnd()) {
            m_check.error(path, QStringLiteral("no task named %1").arg(quoted(task.mapOver)));
            return;
        }
        if (m_inputs.at(*target).forEach) {
            m_check.error(path,
                          QStringLiteral("task %1 has \"for_each\": its number of runs is known only at run "
                                         "time; read its results with \"for_each\": \"{{tasks.%1.result}}\" "
                                         "instead")
                              .arg(task.mapOver));
            return;
        }
        if (!m_inputs.at(*target).mapped) {
            m_check.error(path,
                          QStringLiteral("task %1 is not mapped (it has neither \"map\" nor \"map_over\")")
                              .arg(quoted(task.mapOver)));
            return;
        }
        m_edges[index].append({*target, path});
    }

    void resolveForEach(const TaskInput& input, int index, TaskDef& task)
    {
        const QString key = QStringLiteral("for_each");
        if (!hasField(input, key))
            return;
        const QString path = childPath(taskPath(index), key);
        const QJsonValue value = input.object.value(key);
        if (input.object.contains(QStringLiteral("map"))
            || input.object.contains(QStringLiteral("map_over"))) {
            m_check.error(path,
                          QStringLiteral("a task cannot have \"for_each\" with \"map\" or \"map_over\""));
            return;
        }
        if (!isWholeReference(value) || !value.toString().trimmed().startsWith(QStringLiteral("{{"))
            || !value.toString().contains(QStringLiteral("tasks."))) {
            m_check.error(path,
                          QStringLiteral("expected one reference to a task's result, such as "
                                         "\"{{tasks.ID.result.items}}\", found %1")
                              .arg(describe(value)));
            return;
        }
        task.forEach = value.toString();
    }

    //! References in the kind's fields and in for_each: each task result read is a dependency.
    void resolveReferences(const TaskInput& input, int index, TaskDef& task)
    {
        const QString path = taskPath(index);
        ReferenceScope scope;
        scope.ownId = input.id;
        scope.mapOver = input.object.contains(QStringLiteral("map_over"));
        scope.forEach = input.forEach;
        const auto isTask = [this](const QString& id) { return m_firstIndex.contains(id); };
        QList<ResultUse> uses;
        for (auto it = input.object.begin(); it != input.object.end(); ++it) {
            if (input.failedFields.contains(it.key()))
                continue;
            const bool common = commonTaskFields().contains(it.key());
            if (common && it.key() != QStringLiteral("for_each")) {
                if (it.key() != QStringLiteral("description") && containsReference(it.value())) {
                    m_check.error(childPath(path, it.key()),
                                  QStringLiteral("references to results can only be used in the kind's "
                                                 "fields and \"for_each\", not in %1")
                                      .arg(quoted(it.key())));
                }
                continue;
            }
            if (it.key() == QStringLiteral("for_each") && task.forEach.isEmpty())
                continue; // already reported
            uses += checkReferences(it.value(), childPath(path, it.key()), scope, isTask, m_errors);
            if (!common && containsReference(it.value()))
                task.usesReferences = true;
        }
        for (const ResultUse& use : std::as_const(uses)) {
            if (!task.resultsRead.contains(use.task))
                task.resultsRead.append(use.task);
            if (!task.dependsOn.contains(use.task)) {
                task.dependsOn.append(use.task);
                m_edges[index].append({m_firstIndex.value(use.task), use.path});
            }
        }
        task.readsUpstreamResult
            = scope.mapOver && !task.config.isEmpty() && containsUpstreamResult(QJsonValue(task.config));
        const QString maxKey = QStringLiteral("max_result_bytes");
        if (hasField(input, maxKey)) {
            const QJsonValue value = input.object.value(maxKey);
            FieldSpec spec{maxKey, FieldType::Integer, false, 0.0, 9.0e15, {}};
            if (m_check.field(value, spec, childPath(path, maxKey)))
                task.maxResultBytes = value.toInteger();
        }
    }

    static bool containsUpstreamResult(const QJsonValue& value)
    {
        bool found = false;
        forEachReference(value, QString(), [&](const QString& inner, const QString&) {
            if (inner.startsWith(QStringLiteral("upstream")))
                found = true;
        });
        return found;
    }

    void resolveRetries(const TaskInput& input, const QString& taskPathText, TaskDef& task)
    {
        const QString retriesKey = QStringLiteral("retries");
        if (hasField(input, retriesKey)) {
            const QJsonValue value = input.object.value(retriesKey);
            FieldSpec spec{
                retriesKey, FieldType::Integer, false, 0.0, double(std::numeric_limits<int>::max()), {}};
            if (m_check.field(value, spec, childPath(taskPathText, retriesKey)))
                task.retries = value.toInt();
        }
        const QString delayKey = QStringLiteral("retry_delay_s");
        if (hasField(input, delayKey)) {
            const QJsonValue value = input.object.value(delayKey);
            FieldSpec spec{delayKey, FieldType::Number, false, 0.0, {}, {}};
            if (m_check.field(value, spec, childPath(taskPathText, delayKey)))
                task.retryDelaySeconds = value.toDouble();
        }
        const QString timeoutKey = QStringLiteral("timeout_s");
        if (hasField(input, timeoutKey)) {
            const QString path = childPath(taskPathText, timeoutKey);
            const QJsonValue value = input.object.value(timeoutKey);
            if (!value.isDouble())
                m_check.typeError(path, QStringLiteral("a number"), value);
            else if (!(value.toDouble() > 0.0))
                m_check.error(
                    path,
                    QStringLiteral("must be greater than 0, found %1").arg(formatNumber(value.toDouble())));
            else if (m_check.field(value, FieldSpec{timeoutKey, FieldType::Number, false, {}, {}, {}}, path))
                task.timeoutSeconds = value.toDouble();
        }
    }

    void resolveConfig(const TaskInput& input, const QString& taskPathText, const TaskKind& kind,
                       TaskDef& task)
    {
        const QList<FieldSpec> specs = kind.fields();
        QJsonObject forValidation;
        QStringList names;
        names.reserve(specs.size());
        for (const FieldSpec& spec : specs) {
            names.append(spec.name);
            const QString path = childPath(taskPathText, spec.name);
            if (!input.object.contains(spec.name)) {
                if (spec.required)
                    m_check.missing(path, spec.name, task.kind);
                continue;
            }
            const QJsonValue value = input.object.value(spec.name);
            task.config.insert(spec.name, value);
            forValidation.insert(spec.name, validationValue(value));
            if (input.failedFields.contains(spec.name) || isWholeReference(value))
                continue; // a whole reference takes its type at run time, where it is checked
            if (isMapIndexToken(value) && spec.type != FieldType::Any && spec.type != FieldType::Number
                && spec.type != FieldType::Integer && spec.type != FieldType::NumberOrRange
                && spec.type != FieldType::IntegerOrList) {
                m_check.error(path,
                              QStringLiteral("expected %1, found \"{{map_index}}\", which is an integer; "
                                             "put it inside a longer string to use it as text")
                                  .arg(toString(spec.type)));
                continue;
            }
            m_check.field(validationValue(value), spec, path);
        }
        for (auto it = input.object.begin(); it != input.object.end(); ++it) {
            if (commonTaskFields().contains(it.key()) || names.contains(it.key()))
                continue;
            const QString fields = names.isEmpty()
                ? QStringLiteral("it has no fields of its own")
                : QStringLiteral("its fields: ") + names.join(QStringLiteral(", "));
            m_check.error(childPath(taskPathText, it.key()),
                          QStringLiteral("unknown field %1 for kind %2 (%3)")
                              .arg(quoted(it.key()), quoted(task.kind), fields));
        }
        kind.validate(forValidation, taskPathText, m_errors);
        task.usesMapIndex = containsMapIndex(task.config);
    }

    //! Depth-first search over depends_on and map_over edges; every back edge closes one cycle,
    //! reported at that edge.
    void findCycles()
    {
        enum Color : quint8 { White, Grey, Black };
        const qsizetype count = m_edges.size();
        QList<Color> colors(count, White);
        QList<qsizetype> nextEdge(count, 0);
        QList<int> stack;
        struct Found {
            int task;
            qsizetype edge;
            ValidationError error;
        };
        QList<Found> found;
        for (int start = 0; start < count; ++start) {
            if (colors.at(start) != White)
                continue;
            colors[start] = Grey;
            stack.append(start);
            while (!stack.isEmpty()) {
                const int node = stack.constLast();
                if (nextEdge.at(node) == m_edges.at(node).size()) {
                    colors[node] = Black;
                    stack.removeLast();
                    continue;
                }
                const qsizetype edgeIndex = nextEdge[node]++;
                const Edge& edge = m_edges.at(node).at(edgeIndex);
                if (colors.at(edge.target) == White) {
                    colors[edge.target] = Grey;
                    stack.append(edge.target);
                } else if (colors.at(edge.target) == Grey) {
                    QStringList ids;
                    for (qsizetype i = stack.lastIndexOf(edge.target); i < stack.size(); ++i)
                        ids.append(m_inputs.at(stack.at(i)).id);
                    ids.append(m_inputs.at(edge.target).id);
                    found.append({node,
                                  edgeIndex,
                                  {edge.path,
                                   QStringLiteral("dependency cycle: ") + ids.join(QStringLiteral(" -> "))}});
                }
            }
        }
        std::stable_sort(found.begin(), found.end(), [](const Found& a, const Found& b) {
            return a.task != b.task ? a.task < b.task : a.edge < b.edge;
        });
        for (const Found& cycle : std::as_const(found))
            m_errors.append(cycle.error);
    }

    const TaskKindRegistry& m_kinds;
    const QJsonObject& m_parameters;
    ValidationErrors& m_errors;
    FieldChecker m_check;
    QList<TaskInput> m_inputs;
    QHash<QString, int> m_firstIndex;
    QList<QList<Edge>> m_edges;
};

} // namespace

namespace detail {

bool isValidName(const QString& name)
{
    return !name.isEmpty() && std::all_of(name.cbegin(), name.cend(), isNameChar);
}

QString nameRule()
{
    return QStringLiteral("use only letters, digits, \"_\", \"-\" and \".\"");
}

//! "concurrency": a list of limit entries, each name once.
QList<LimitUse> parseLimitList(const QJsonValue& value, const QString& path, FieldChecker& check)
{
    QList<LimitUse> uses;
    if (!value.isArray()) {
        check.typeError(path, QStringLiteral("a list of limit names or {\"name\", \"occupy\"} objects"),
                        value);
        return uses;
    }
    const QJsonArray array = value.toArray();
    for (qsizetype i = 0; i < array.size(); ++i) {
        const QString entryPath = itemPath(path, i);
        const std::optional<LimitUse> use = parseLimitUse(array.at(i), entryPath, check);
        if (!use)
            continue;
        const bool twice
            = std::any_of(uses.cbegin(), uses.cend(), [&](const LimitUse& u) { return u.name == use->name; });
        if (twice)
            check.error(entryPath, QStringLiteral("limit %1 is listed twice").arg(quoted(use->name)));
        else
            uses.append(*use);
    }
    return uses;
}

} // namespace detail

QList<TaskDef> resolveTaskList(const TaskKindRegistry& kinds, const QJsonObject& parameters,
                               const QJsonArray& tasks, ValidationErrors& errors)
{
    TaskListResolver resolver(kinds, parameters, errors);
    return resolver.resolve(tasks);
}

} // namespace flowdeck
