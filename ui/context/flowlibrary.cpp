#include "context/flowlibrary.h"

#include "flow/flowcatalog.h"
#include "flow/flowparser.h"

#include <QCoreApplication>
#include <QDir>
#include <QFile>
#include <QFileInfo>
#include <QHash>
#include <QJsonArray>
#include <QJsonDocument>
#include <QStandardPaths>

namespace flowdeck::flowlibrary {

namespace {

qint64 countTaskRuns(const FlowDefinition& flow)
{
    QHash<QString, qint64> counts;
    // map_over may name a task later in the file: resolve counts until nothing changes.
    for (int pass = 0; pass < flow.tasks.size(); ++pass) {
        bool changed = false;
        for (const TaskDef& task : flow.tasks) {
            const qint64 n = task.mapOver.isEmpty() ? task.map.value_or(1) : counts.value(task.mapOver, 0);
            if (counts.value(task.id, -1) != n) {
                counts.insert(task.id, n);
                changed = true;
            }
        }
        if (!changed)
            break;
    }
    qint64 total = 0;
    for (qint64 n : std::as_const(counts))
        total += n;
    return total;
}

void fillFromDefinition(FlowEntry& entry, const FlowDefinition& flow)
{
    entry.name = flow.name;
    entry.description = flow.description;
    entry.document = flow.document;
    entry.parameters = flow.parameters;
    entry.taskCount = int(flow.tasks.size());
    entry.taskRunCount = countTaskRuns(flow);
}

//! What can be read of a document that does not validate.
void fillFromDocument(FlowEntry& entry, const QJsonObject& document)
{
    const QString name = document.value(QStringLiteral("name")).toString();
    if (!name.isEmpty())
        entry.name = name;
    entry.description = document.value(QStringLiteral("description")).toString();
    entry.document = document;
    entry.parameters = document.value(QStringLiteral("parameters")).toObject();
    entry.taskCount = int(document.value(QStringLiteral("tasks")).toArray().size());
}

FlowEntry fromDocument(const FlowParser& parser, const QJsonObject& document, const QString& source,
                       FlowEntry::Origin origin)
{
    FlowEntry entry;
    entry.source = source;
    entry.origin = origin;
    ValidationErrors errors;
    if (const auto flow = parser.resolve(document, source, errors)) {
        fillFromDefinition(entry, *flow);
    } else {
        fillFromDocument(entry, document);
        entry.errors = errors;
    }
    return entry;
}

} // namespace

QString userFlowFolder()
{
    const QString folder
        = QStandardPaths::writableLocation(QStandardPaths::AppDataLocation) + QStringLiteral("/flows");
    QDir().mkpath(folder);
    return folder;
}

FlowEntry loadFile(const FlowParser& parser, const QString& path, FlowEntry::Origin origin)
{
    FlowEntry entry;
    entry.source = path;
    entry.origin = origin;
    entry.name = QFileInfo(path).completeBaseName();
    QFile file(path);
    if (!file.open(QIODevice::ReadOnly)) {
        entry.errors.append({QString(),
                             QCoreApplication::translate("flowdeck", "cannot read %1: %2")
                                 .arg(QDir::toNativeSeparators(path), file.errorString())});
        return entry;
    }
    const QByteArray json = file.readAll();
    ValidationErrors errors;
    if (const auto flow = parser.parse(json, path, errors)) {
        fillFromDefinition(entry, *flow);
        return entry;
    }
    entry.errors = errors;
    const QJsonDocument document = QJsonDocument::fromJson(json);
    if (document.isObject())
        fillFromDocument(entry, document.object());
    return entry;
}

QList<FlowEntry> loadFolder(const FlowParser& parser, const QString& folder, FlowEntry::Origin origin)
{
    QList<FlowEntry> entries;
    const QDir dir(folder);
    const QStringList files
        = dir.entryList({QStringLiteral("*.json")}, QDir::Files | QDir::Readable, QDir::Name);
    for (const QString& file : files)
        entries.append(loadFile(parser, dir.filePath(file), origin));
    return entries;
}

QString exampleFolder(const QString& applicationDir)
{
    QStringList candidates{applicationDir + QStringLiteral("/../share/flowdeck/flows")};
#ifdef FLOWDECK_SOURCE_FLOWS_DIR
    candidates << QStringLiteral(FLOWDECK_SOURCE_FLOWS_DIR);
#endif
    candidates << QStandardPaths::locateAll(QStandardPaths::GenericDataLocation,
                                            QStringLiteral("flowdeck/flows"),
                                            QStandardPaths::LocateDirectory);
    for (const QString& candidate : std::as_const(candidates)) {
        const QDir dir(candidate);
        if (dir.exists() && !dir.entryList({QStringLiteral("*.json")}, QDir::Files).isEmpty())
            return dir.canonicalPath();
    }
    return QStringLiteral(":/flows");
}

QString exampleFolder()
{
    return exampleFolder(QCoreApplication::applicationDirPath());
}

QList<FlowEntry> loadExamples(const FlowParser& parser)
{
    return loadFolder(parser, exampleFolder(), FlowEntry::Origin::Example);
}

QList<FlowEntry> loadCatalog(const FlowParser& parser)
{
    QList<FlowEntry> entries;
    for (const QString& name : FlowCatalog::instance().names()) {
        if (const auto document = FlowCatalog::instance().find(name))
            entries.append(
                fromDocument(parser, *document, QStringLiteral("code:") + name, FlowEntry::Origin::Code));
    }
    return entries;
}

std::optional<FlowDefinition> loadForRun(const FlowParser& parser, const QString& what, QString* error)
{
    FlowEntry entry;
    if (QFileInfo::exists(what)) {
        entry = loadFile(parser, what, FlowEntry::Origin::File);
    } else if (const auto document = FlowCatalog::instance().find(what)) {
        entry = fromDocument(parser, *document, QStringLiteral("code:") + what, FlowEntry::Origin::Code);
    } else {
        *error = QCoreApplication::translate("flowdeck", "no flow file or code-defined flow named \"%1\"")
                     .arg(what);
        return std::nullopt;
    }
    ValidationErrors errors = entry.errors;
    std::optional<FlowDefinition> flow;
    if (errors.isEmpty())
        flow = parser.resolve(entry.document, entry.source, errors);
    if (!flow) {
        QStringList lines;
        for (const ValidationError& e : errors)
            lines << what + QStringLiteral(": ") + e.toString();
        *error = lines.join(QLatin1Char('\n'));
    }
    return flow;
}

} // namespace flowdeck::flowlibrary
