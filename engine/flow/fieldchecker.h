#pragma once

#include "flow/flow.h"
#include "flow/taskkind.h"

#include <QJsonValue>
#include <QString>

namespace flowdeck::detail {

//! Checks JSON values against field specs and words the errors; appends every error it finds.
class FieldChecker {
public:
    explicit FieldChecker(ValidationErrors& errors)
        : m_errors(errors)
    {
    }

    void error(const QString& path, const QString& message) { m_errors.append({path, message}); }
    //! "expected EXPECTED, found a string".
    void typeError(const QString& path, const QString& expected, const QJsonValue& found);
    //! For integers: a number with a fraction is shown as it is ("found 1.5").
    void integerError(const QString& path, const QString& expected, const QJsonValue& found);
    //! "missing required field FIELD", with "for kind KIND" when \a kind is given.
    void missing(const QString& path, const QString& field, const QString& kind = {});
    //! Applies the inclusive bounds of \a spec; returns false when out of range.
    bool bounds(double d, const FieldSpec& spec, const QString& path);
    //! Checks \a value against \a spec; returns false when an error was added.
    bool field(const QJsonValue& value, const FieldSpec& spec, const QString& path);

private:
    void checkField(const QJsonValue& value, const FieldSpec& spec, const QString& path);
    void checkStringList(const QJsonValue& value, const QString& expected, const QString& path);
    void checkStringMap(const QJsonValue& value, const QString& expected, const QString& path);
    void checkNumberOrRange(const QJsonValue& value, const FieldSpec& spec, const QString& path);
    void checkIntegerOrList(const QJsonValue& value, const FieldSpec& spec, const QString& path);

    ValidationErrors& m_errors;
};

} // namespace flowdeck::detail
