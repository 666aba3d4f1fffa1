#pragma once

#include "flow/flow.h"

#include <QJsonObject>
#include <QList>
#include <QString>

#include <optional>

namespace flowdeck {

class FlowParser;

//! A flow the user can start: read from a file or defined in code, valid or not.
struct FlowEntry {
    enum class Origin { Example, Code, UserFolder, Folder, File };

    QString name;
    QString description;
    //! The FlowDefinition::source a run of it carries: a path, ":/flows/x.json" or "code:NAME".
    QString source;
    Origin origin = Origin::File;
    //! The document as written, to resolve again with other parameter values; empty when unreadable.
    QJsonObject document;
    QJsonObject parameters;
    int taskCount = 0;
    //! Task runs with the default parameters (map counts included); 0 when invalid.
    qint64 taskRunCount = 0;
    ValidationErrors errors;

    bool isValid() const { return errors.isEmpty(); }
};

//! Reading flows for the Flows page. Pure functions: safe on a worker thread once every task kind
//! is registered (the parser only reads the registry).
namespace flowlibrary {

//! The user's own flow folder: QStandardPaths::AppDataLocation + "/flows", created if missing.
QString userFlowFolder();

//! Reads and validates one flow file. An unreadable or invalid file still yields an entry, with
//! its errors and as much of its name and description as could be read.
FlowEntry loadFile(const FlowParser& parser, const QString& path, FlowEntry::Origin origin);
//! Every "*.json" file in \a folder (not recursive), sorted by file name.
QList<FlowEntry> loadFolder(const FlowParser& parser, const QString& folder, FlowEntry::Origin origin);
/**
 * The folder of the example flows for a binary in \a applicationDir: PREFIX/share/flowdeck/flows
 * beside PREFIX/bin when installed, else the source tree's resources/flows for a binary built from it,
 * else one of the XDG data folders' flowdeck/flows (/usr/local/share, /usr/share), else the copies
 * embedded in the application (":/flows").
 */
QString exampleFolder(const QString& applicationDir);
//! exampleFolder() of the running application.
QString exampleFolder();
//! The example flows, from exampleFolder(), so that their sources are paths the CLI takes too.
QList<FlowEntry> loadExamples(const FlowParser& parser);
//! The flows registered in FlowCatalog by code.
QList<FlowEntry> loadCatalog(const FlowParser& parser);

/**
 * Reads FLOW for `flowdeck --run FLOW`: a flow file, or the name of a code-defined flow, with its
 * default parameters. On failure returns nullopt and sets \a error (one line per problem).
 */
std::optional<FlowDefinition> loadForRun(const FlowParser& parser, const QString& what, QString* error);

} // namespace flowlibrary

} // namespace flowdeck
