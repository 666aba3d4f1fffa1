#pragma once

#include "flow/flow.h"

#include <QByteArray>
#include <QJsonObject>
#include <QString>

#include <optional>

namespace flowdeck {

class TaskKindRegistry;

/**
 * Reads flow documents (JSON) into FlowDefinition and validates them before anything runs.
 * Every error is reported, each with its place ("tasks[2].depends_on[0]: no task named \"lod\"").
 */
class FlowParser {
public:
    explicit FlowParser(const TaskKindRegistry& kinds);

    //! Parses JSON text; syntax errors are reported with line and column.
    std::optional<FlowDefinition> parse(const QByteArray& json, const QString& source,
                                        ValidationErrors& errors, const QJsonObject& overrides = {}) const;
    //! Reads and parses a file; an unreadable file is one error naming the path.
    std::optional<FlowDefinition> parseFile(const QString& path, ValidationErrors& errors,
                                            const QJsonObject& overrides = {}) const;
    //! Validates a document and resolves parameters (defaults, then \a overrides).
    std::optional<FlowDefinition> resolve(const QJsonObject& document, const QString& source,
                                          ValidationErrors& errors, const QJsonObject& overrides = {}) const;

    /**
     * Turns a command-line "NAME=VALUE" into an override, converting VALUE to the JSON type of
     * the parameter's default (number, bool, string; arrays and objects as JSON). Returns false
     * with a one-line \a error for a missing '=', an unknown parameter, or a value of the wrong type.
     */
    static bool parseOverride(const QString& text, const QJsonObject& defaults, QJsonObject& overrides,
                              QString* error);

private:
    const TaskKindRegistry& m_kinds;
};

} // namespace flowdeck
