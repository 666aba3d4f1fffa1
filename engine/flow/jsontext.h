#pragma once

#include <QJsonValue>
#include <QString>

namespace flowdeck::detail {

// How JSON values read in validation messages and in substituted text.

//! \a text in double quotes.
QString quoted(const QString& text);
//! True for a finite number without a fractional part.
bool isIntegral(double d);
//! Integers without a fraction or exponent, other numbers in their shortest exact form.
QString formatNumber(double d);
//! An array or object as one line of JSON; empty for other values.
QString compactJson(const QJsonValue& value);
//! The text a value takes when substituted inside a longer string (arrays and objects as compact JSON).
QString valueText(const QJsonValue& value);
//! "a string", "an array", ... for "found ..." in messages.
QString describe(const QJsonValue& value);
//! The JSON type name used to compare a parameter's default with an override.
QString jsonTypeName(const QJsonValue& value);

} // namespace flowdeck::detail
