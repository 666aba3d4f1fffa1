#include "flow/subflows.h"

#include "flow/flowcatalog.h"
#include "flow/jsonpath.h"
#include "flow/jsontext.h"

#include <QDir>
#include <QFile>
#include <QFileInfo>
#include <QJsonArray>
#include <QJsonDocument>

namespace flowdeck {

using detail::quoted;

namespace {

constexpr int MaxSubflowDepth = 64;
const QString kCodePrefix = QStringLiteral("code:");

QString flowField()
{
    return QStringLiteral("flow");
}

//! How a flow is named in a chain: its file's name, or the code-defined flow's name.
QString chainName(const QString& source)
{
    return source.startsWith(kCodePrefix) ? source.mid(kCodePrefix.size()) : QFileInfo(source).fileName();
}

//! The subflow references of a document: (task index, "flow" value) for each task of kind "flow".
QList<std::pair<int, QString>> references(const QJsonObject& document)
{
    QList<std::pair<int, QString>> found;
    const QJsonArray tasks = document.value(QStringLiteral("tasks")).toArray();
    for (qsizetype i = 0; i < tasks.size(); ++i) {
        const QJsonObject task = tasks.at(i).toObject();
        const QJsonValue ref = task.value(flowField());
        // A reference that is a placeholder is known only once parameters are; it is checked then.
        if (task.value(QStringLiteral("kind")).toString() == subflowKindName() && ref.isString()
            && !ref.toString().contains(QStringLiteral("{{")))
            found.append({int(i), ref.toString()});
    }
    return found;
}

//! Depth-first over the subflows of \a document; \a chain holds the sources from the top flow down.
//! Returns the first chain that comes back to a flow already in it, or an empty list.
QStringList findCycle(const QJsonObject& document, QStringList& chain)
{
    if (chain.size() > MaxSubflowDepth)
        return chain;
    for (const auto& [index, ref] : references(document)) {
        Q_UNUSED(index)
        QString error;
        const auto target = findSubflow(ref, chain.last(), &error);
        if (!target)
            continue; // reported when that flow itself is validated or run
        if (chain.contains(target->source))
            return chain + QStringList{target->source};
        chain.append(target->source);
        const QStringList cycle = findCycle(target->document, chain);
        if (!cycle.isEmpty())
            return cycle;
        chain.removeLast();
    }
    return {};
}

} // namespace

QString subflowKindName()
{
    return flowField();
}

std::optional<SubflowTarget> findSubflow(const QString& reference, const QString& parentSource,
                                         QString* error)
{
    QString path = reference;
    if (QFileInfo(reference).isRelative() && !parentSource.isEmpty() && !parentSource.contains(u':')
        && QFileInfo(parentSource).isFile()) {
        path = QFileInfo(parentSource).absoluteDir().filePath(reference);
    }
    const QFileInfo file(path);
    if (file.isFile()) {
        QFile f(file.absoluteFilePath());
        if (!f.open(QIODevice::ReadOnly)) {
            *error
                = QStringLiteral("cannot read flow file %1: %2").arg(quoted(f.fileName()), f.errorString());
            return std::nullopt;
        }
        QJsonParseError parseError;
        const QJsonDocument doc = QJsonDocument::fromJson(f.readAll(), &parseError);
        if (!doc.isObject()) {
            *error = QStringLiteral("flow file %1 is not a JSON object%2")
                         .arg(quoted(file.absoluteFilePath()),
                              parseError.error != QJsonParseError::NoError
                                  ? QStringLiteral(": ") + parseError.errorString()
                                  : QString());
            return std::nullopt;
        }
        return SubflowTarget{doc.object(), file.canonicalFilePath()};
    }
    const QString name = reference.startsWith(kCodePrefix) ? reference.mid(kCodePrefix.size()) : reference;
    if (const auto doc = FlowCatalog::instance().find(name))
        return SubflowTarget{*doc, kCodePrefix + name};
    *error = QStringLiteral("no flow file %1 and no code-defined flow of that name").arg(quoted(path));
    return std::nullopt;
}

namespace detail {

void resolveSubflows(FlowDefinition& flow, ValidationErrors& errors)
{
    QJsonArray documentTasks = flow.document.value(QStringLiteral("tasks")).toArray();
    bool documentChanged = false;
    for (TaskDef& task : flow.tasks) {
        if (task.kind != subflowKindName() || !task.config.value(flowField()).isString())
            continue;
        const QString path = childPath(taskPath(task.index), flowField());
        const QString ref = task.config.value(flowField()).toString();
        QString error;
        const auto target = findSubflow(ref, flow.source, &error);
        if (!target) {
            errors.append({path, error});
            continue;
        }
        const QFileInfo sourceFile(flow.source);
        QStringList chain = {sourceFile.isFile() ? sourceFile.canonicalFilePath() : flow.source};
        if (target->source == chain.first()) {
            errors.append(
                {path, QStringLiteral("the flow runs itself: %1 -> %1").arg(chainName(target->source))});
            continue;
        }
        chain.append(target->source);
        const QStringList cycle = findCycle(target->document, chain);
        if (!cycle.isEmpty()) {
            QStringList names;
            for (const QString& source : cycle)
                names << chainName(source);
            errors.append({path,
                           cycle.size() > MaxSubflowDepth
                               ? QStringLiteral("subflows nest deeper than %1 levels: %2")
                                     .arg(MaxSubflowDepth)
                                     .arg(names.join(QStringLiteral(" -> ")))
                               : QStringLiteral("the flow contains itself through its subflows: %1")
                                     .arg(names.join(QStringLiteral(" -> ")))});
            continue;
        }
        // Stored runs (retries, queued runs) find the file again wherever they are resolved.
        if (!target->source.startsWith(kCodePrefix) && target->source != ref) {
            task.config.insert(flowField(), target->source);
            if (task.index < documentTasks.size() && documentTasks.at(task.index).isObject()) {
                QJsonObject written = documentTasks.at(task.index).toObject();
                if (written.value(flowField()).isString()
                    && !written.value(flowField()).toString().contains(QStringLiteral("{{"))) {
                    written.insert(flowField(), target->source);
                    documentTasks[task.index] = written;
                    documentChanged = true;
                }
            }
        }
    }
    if (documentChanged)
        flow.document.insert(QStringLiteral("tasks"), documentTasks);
}

} // namespace detail

} // namespace flowdeck
