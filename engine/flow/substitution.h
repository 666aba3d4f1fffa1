#pragma once

#include "flow/flow.h"

#include <QJsonObject>
#include <QJsonValue>
#include <QString>

namespace flowdeck {

//! Returns \a config with every "{{map_index}}" replaced; a string that is exactly
//! "{{map_index}}" becomes the integer.
QJsonObject substituteMapIndex(const QJsonObject& config, int mapIndex);

namespace detail {

//! "{{map_index}}": left in place by parameter substitution and resolved per task run.
QString mapIndexToken();
//! "map_index": the reserved placeholder name, which no parameter may take.
QString mapIndexName();
//! True for a string that is exactly "{{map_index}}".
bool isMapIndexToken(const QJsonValue& value);
//! What a field's value counts as for validation: exactly "{{map_index}}" is the integer 0.
QJsonValue validationValue(const QJsonValue& value);
//! True when some string in \a value contains "{{map_index}}".
bool containsMapIndex(const QJsonValue& value);

//! Replaces "{{name}}" placeholders in one task, reporting unknown parameters and misplaced
//! "{{map_index}}" at the place they occur.
class ParameterSubstitution {
public:
    ParameterSubstitution(const QJsonObject& parameters, ValidationErrors& errors)
        : m_parameters(parameters)
        , m_errors(errors)
    {
    }

    //! Where "{{map_index}}" is allowed; otherwise \a mapIndexError explains why not.
    void setMapIndexAllowed(bool allowed, const QString& mapIndexError)
    {
        m_mapIndexAllowed = allowed;
        m_mapIndexError = mapIndexError;
    }

    //! \a value with its placeholders replaced; \a path is where it is, for errors. A string that
    //! is exactly one "{{name}}" takes the parameter's value with its JSON type.
    QJsonValue apply(const QJsonValue& value, const QString& path);

private:
    QJsonValue applyToString(const QString& text, const QString& path);

    const QJsonObject& m_parameters;
    ValidationErrors& m_errors;
    bool m_mapIndexAllowed = false;
    QString m_mapIndexError;
};

} // namespace detail

} // namespace flowdeck
