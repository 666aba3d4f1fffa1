#pragma once

// Task kinds and helpers for the flow document tests: a kind with one field of every type and a
// kind without fields, registered once per test executable.

#include "flow/taskkind.h"

#include <QByteArray>
#include <QJsonArray>
#include <QJsonObject>
#include <QStringList>

namespace flowdeck::test {

//! Registers "probe" (one field of every type, and a cross-field rule) and "plain" (no fields).
void addTestKinds();
//! A flow document named "test" with \a tasks and \a parameters.
QByteArray flowWith(const QByteArray& tasks, const QByteArray& parameters = "{}");
QStringList errorTexts(const ValidationErrors& errors);
QJsonObject jsonObject(const QByteArray& json);
QJsonArray jsonArray(const QByteArray& json);

} // namespace flowdeck::test
